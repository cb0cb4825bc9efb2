"""A Wav2Lip generator whose parameter names and shapes match the public checkpoints.

The public ``wav2lip.pth`` and ``wav2lip_gan.pth`` files hold
``{"state_dict": {"module.<name>": tensor, ...}, ...}`` (saved from a DataParallel model).
Our module tree reproduces the original one name for name: the 7 face-encoder blocks,
the 13-layer audio encoder, the 7 face-decoder blocks with skip connections and the
output block. Every conv is wrapped in a module whose ``conv_block`` is
``Sequential(conv, BatchNorm2d)``, followed by ReLU, with an optional identity residual.

Inputs: ``mel`` (B, 1, 80, 16) and ``face`` (B, 6, 96, 96), the face being the BGR crop with
its lower half zeroed, concatenated with the unmasked reference crop, scaled to [0, 1].
Output: (B, 3, 96, 96) BGR in [0, 1].

torch is imported lazily (inside functions) so importing :mod:`localize.stages.lipsync` stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localize.errors import ModelError

FACE_SIZE = 96
MEL_STEPS = 16
CHECKPOINT_HELP = (
    "Wav2Lip weights are not shipped with localize (their licence is non-commercial and no "
    "PyPI package carries them). Download wav2lip.pth or wav2lip_gan.pth from the Wav2Lip "
    "project (github.com/Rudrabha/Wav2Lip, 'Getting the weights') and pass it with "
    "--lipsync-checkpoint PATH or set lipsync_checkpoint in the config"
)

# Layer plans, as (cin, cout, kernel, stride, padding, residual). Verified against the
# original models/wav2lip.py; spatial sizes in the comments are for a 96x96 face.
_FACE_ENCODER: list[list[tuple]] = [
    [(6, 16, 7, 1, 3, False)],                                                    # 96
    [(16, 32, 3, 2, 1, False)] + [(32, 32, 3, 1, 1, True)] * 2,                   # 48
    [(32, 64, 3, 2, 1, False)] + [(64, 64, 3, 1, 1, True)] * 3,                   # 24
    [(64, 128, 3, 2, 1, False)] + [(128, 128, 3, 1, 1, True)] * 2,                # 12
    [(128, 256, 3, 2, 1, False)] + [(256, 256, 3, 1, 1, True)] * 2,               # 6
    [(256, 512, 3, 2, 1, False), (512, 512, 3, 1, 1, True)],                      # 3
    [(512, 512, 3, 1, 0, False), (512, 512, 1, 1, 0, False)],                     # 1
]
# The audio encoder squeezes 80x16 mel frames to 1x1: strides (3,1), 3, (3,2), then a valid 3x3.
_AUDIO_ENCODER: list[tuple] = [
    (1, 32, 3, 1, 1, False), (32, 32, 3, 1, 1, True), (32, 32, 3, 1, 1, True),
    (32, 64, 3, (3, 1), 1, False), (64, 64, 3, 1, 1, True), (64, 64, 3, 1, 1, True),
    (64, 128, 3, 3, 1, False), (128, 128, 3, 1, 1, True), (128, 128, 3, 1, 1, True),
    (128, 256, 3, (3, 2), 1, False), (256, 256, 3, 1, 1, True),
    (256, 512, 3, 1, 0, False), (512, 512, 1, 1, 0, False),
]
# Decoder blocks: an optional transposed conv (cin, cout, kernel, stride, padding, output_padding)
# then plain convs. The input channels grow because each block's output is concatenated with
# the matching encoder feature map before the next block.
_FACE_DECODER: list[tuple[tuple | None, list[tuple]]] = [
    (None, [(512, 512, 1, 1, 0, False)]),                                          # 1
    ((1024, 512, 3, 1, 0, 0), [(512, 512, 3, 1, 1, True)]),                        # 3
    ((1024, 512, 3, 2, 1, 1), [(512, 512, 3, 1, 1, True)] * 2),                    # 6
    ((768, 384, 3, 2, 1, 1), [(384, 384, 3, 1, 1, True)] * 2),                     # 12
    ((512, 256, 3, 2, 1, 1), [(256, 256, 3, 1, 1, True)] * 2),                     # 24
    ((320, 128, 3, 2, 1, 1), [(128, 128, 3, 1, 1, True)] * 2),                     # 48
    ((160, 64, 3, 2, 1, 1), [(64, 64, 3, 1, 1, True)] * 2),                        # 96
]


def _modules() -> dict[str, type]:
    """Build the module classes on first use (they subclass torch.nn.Module)."""
    global _CLASSES
    if _CLASSES is not None:
        return _CLASSES
    import torch
    from torch import nn

    class Conv2d(nn.Module):
        """conv + BatchNorm + ReLU, with an identity shortcut when ``residual``."""

        def __init__(self, cin: int, cout: int, kernel_size: int, stride: Any, padding: int,
                     residual: bool = False) -> None:
            super().__init__()
            self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel_size, stride, padding),
                                            nn.BatchNorm2d(cout))
            self.act = nn.ReLU()
            self.residual = residual

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.conv_block(x)
            if self.residual:
                out = out + x
            return self.act(out)

    class Conv2dTranspose(nn.Module):
        """transposed conv + BatchNorm + ReLU (upsampling in the decoder)."""

        def __init__(self, cin: int, cout: int, kernel_size: int, stride: int, padding: int,
                     output_padding: int = 0) -> None:
            super().__init__()
            self.conv_block = nn.Sequential(
                nn.ConvTranspose2d(cin, cout, kernel_size, stride, padding, output_padding),
                nn.BatchNorm2d(cout))
            self.act = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(self.conv_block(x))

    class Wav2Lip(nn.Module):
        """The Wav2Lip generator (single-frame form: B faces, B mel windows)."""

        def __init__(self) -> None:
            super().__init__()
            self.face_encoder_blocks = nn.ModuleList(
                nn.Sequential(*(Conv2d(*spec[:5], residual=spec[5]) for spec in block))
                for block in _FACE_ENCODER)
            self.audio_encoder = nn.Sequential(*(Conv2d(*spec[:5], residual=spec[5]) for spec in _AUDIO_ENCODER))
            blocks = []
            for up, convs in _FACE_DECODER:
                layers: list[nn.Module] = [Conv2dTranspose(*up)] if up is not None else []
                layers += [Conv2d(*spec[:5], residual=spec[5]) for spec in convs]
                blocks.append(nn.Sequential(*layers))
            self.face_decoder_blocks = nn.ModuleList(blocks)
            # 80 = 64 decoder channels + 16 from the first encoder block.
            self.output_block = nn.Sequential(Conv2d(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid())

        def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
            """``mel`` (B, 1, 80, 16), ``face`` (B, 6, 96, 96) -> (B, 3, 96, 96) in [0, 1]."""
            feats = []
            x = face
            for block in self.face_encoder_blocks:
                x = block(x)
                feats.append(x)
            x = self.audio_encoder(mel)
            for block in self.face_decoder_blocks:
                x = torch.cat((block(x), feats.pop()), dim=1)
            return self.output_block(x)

    _CLASSES = {"Conv2d": Conv2d, "Conv2dTranspose": Conv2dTranspose, "Wav2Lip": Wav2Lip}
    return _CLASSES


_CLASSES: dict[str, type] | None = None


def build_wav2lip():
    """A randomly initialised Wav2Lip generator (a ``torch.nn.Module``) in eval mode."""
    return _modules()["Wav2Lip"]().eval()


def checkpoint_state(model) -> dict:
    """``model``'s weights in the public checkpoint layout: ``{"state_dict": {"module.<k>": v}}``."""
    return {"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}


def _strip_prefix(state: dict) -> dict:
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}


def _extract_state(obj: Any, path: Path) -> dict:
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        return obj["state_dict"]
    if isinstance(obj, dict) and obj and all(hasattr(v, "shape") for v in obj.values()):
        return obj  # a bare state dict
    raise ModelError(f"{path}: not a Wav2Lip checkpoint (expected a dict with a 'state_dict' of tensors)")


def check_state(model, state: dict, path: Path) -> None:
    """Raise :class:`ModelError` naming the first missing, unexpected or mis-shaped key."""
    expected = model.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise ModelError(f"{path}: not a Wav2Lip generator checkpoint: key {key!r} is missing "
                             f"(expected shape {tuple(tensor.shape)}); is it the SyncNet or discriminator?")
        got = tuple(state[key].shape)
        if got != tuple(tensor.shape):
            raise ModelError(f"{path}: key {key!r} has shape {got}, the Wav2Lip generator expects "
                             f"{tuple(tensor.shape)}")
    extra = [k for k in state if k not in expected]
    if extra:
        raise ModelError(f"{path}: unexpected key {extra[0]!r} (shape {tuple(state[extra[0]].shape)}, "
                         f"expected no such key); not a Wav2Lip generator checkpoint")


def load_wav2lip(path: Path | str | None, device: str = "cpu"):
    """Load a Wav2Lip or Wav2Lip-GAN generator checkpoint with strict key and shape matching.

    Accepts the public layout (``state_dict`` with a ``module.`` prefix) and bare state dicts.
    A missing file, an unreadable file or any key/shape mismatch raises :class:`ModelError`
    with the offending key and both shapes. Returns the model in eval mode on ``device``.
    """
    if path is None:
        raise ModelError(f"no lip-sync checkpoint given. {CHECKPOINT_HELP}")
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"lip-sync checkpoint {path} not found. {CHECKPOINT_HELP}")
    import pickle

    import torch

    try:
        # weights_only: a checkpoint is data, never code to run.
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: cannot read the checkpoint ({first}); is it a complete Wav2Lip .pth?") from None
    state = _strip_prefix(_extract_state(obj, path))
    model = build_wav2lip()
    check_state(model, state, path)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def parameter_count(model) -> int:
    """Number of trainable parameters (BatchNorm running statistics excluded)."""
    return sum(p.numel() for p in model.parameters())
