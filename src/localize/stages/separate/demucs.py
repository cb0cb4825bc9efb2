"""``demucs`` backend: a Demucs, HDemucs or HTDemucs separator loaded from a checkpoint the user gives.

No separator weights ship with the project and none can be downloaded at run time, so the user
points at a file: ``--separator-model PATH`` or ``separator_model:`` in the config.

Why Demucs's own classes rather than a TorchScript/ONNX contract: ``demucs>=4.1`` installs without
torchaudio and without touching the pinned CPU torch (its model, state and apply modules need
only torch, julius and einops), so checkpoints in Demucs's package format load as they are:

- a ``.th`` file as Demucs's ``save_model`` and its pretrained repositories write it, a dict
  ``{"klass": <model class>, "args": [...], "kwargs": {...}, "state": <state dict>}``
  (extra keys such as ``training_args`` are ignored);
- a bag of models: Demucs's ``.yaml`` (``models:`` signatures, optional ``weights`` and
  ``segment``) with each ``<signature>.th`` or ``<signature>-<checksum>.th`` beside it.

The checkpoint is unpickled with ``weights_only=True``, allowing only Demucs's model classes and
``fractions.Fraction``: loading a file cannot run code from it.

Contract: the model runs at its own ``samplerate`` and ``audio_channels``. The mix is resampled
to it, normalised as Demucs's own tools do, and processed in chunks of ``chunk_s`` seconds
crossfaded over ``overlap_s`` so memory stays flat however long the episode (inside a chunk
Demucs's ``apply_model`` splits into the model's training segment with 25 % overlap). The
dialogue is the model's voice source (the first of :data:`VOICE_SOURCES` it has); the bed is the
mix minus that dialogue, at the mix's rate and channel count. So ``bed + dialogue == mix``
exactly, and whatever the model assigns to no voice source (music, effects, ambience) stays
in the bed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from localize.audio import resample, to_mono, write_wav
from localize.errors import ModelError
from localize.stages.separate.registry import SEPARATORS, Separator, Stems
from localize.stages.separate.base import DIALOGUE_RATE, fit_length, read_mix

# Source names that hold the dialogue, in order of preference.
VOICE_SOURCES = ("vocals", "speech", "dialog", "dialogue", "voice")
HOW_TO = "pass --separator-model PATH (or set separator_model in the config) to a Demucs .th checkpoint or bag .yaml"


@dataclass
class LoadedModel:
    """A Demucs model (or bag of models) ready to run, and what it expects."""

    model: Any
    sources: tuple[str, ...]
    samplerate: int
    audio_channels: int
    voice: int  # index of the dialogue source in ``sources``


def _demucs_classes() -> list:
    try:
        from demucs.demucs import Demucs
        from demucs.hdemucs import HDemucs
        from demucs.htdemucs import HTDemucs
    except ImportError as exc:
        raise ModelError(f"the demucs separator needs the demucs package (pip install 'demucs>=4.1'): {exc}") from None
    return [Demucs, HDemucs, HTDemucs]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def load_checkpoint(path: Path) -> Any:
    """One Demucs model from a ``.th`` package, unpickled with only Demucs's classes allowed."""
    import fractions

    import torch

    classes = _demucs_classes()
    try:
        with torch.serialization.safe_globals([*classes, fractions.Fraction]):
            package = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle, zip or allowlist error: all mean "not a Demucs package"
        raise ModelError(f"{path}: not a loadable Demucs checkpoint ({_one_line(exc)}); {HOW_TO}") from None
    if not isinstance(package, dict) or not {"klass", "args", "kwargs", "state"} <= set(package):
        raise ModelError(f"{path}: not a Demucs package (a dict with klass, args, kwargs and state); {HOW_TO}")
    klass = package["klass"]
    if klass not in classes:
        raise ModelError(f"{path}: model class {klass!r} is not a Demucs separator; {HOW_TO}")
    if isinstance(package["state"], dict) and package["state"].get("__quantized"):
        # Demucs would need diffq here, and exits the process when it is missing.
        raise ModelError(f"{path}: DiffQ-quantized Demucs checkpoints are not supported; {HOW_TO} (not quantized)")
    try:
        from demucs.states import load_model

        model = load_model({**package, "kwargs": dict(package["kwargs"])}, strict=False)
    except Exception as exc:
        raise ModelError(f"{path}: Demucs checkpoint does not fit its model ({_one_line(exc)}); {HOW_TO}") from None
    return model.eval()


def load_bag(path: Path) -> Any:
    """A Demucs bag of models from its ``.yaml``; the ``.th`` files sit beside it."""
    import yaml
    from demucs.apply import BagOfModels

    try:
        spec = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        names = [str(name) for name in spec["models"]]
    except Exception as exc:
        raise ModelError(f"{path}: not a Demucs bag (a YAML with a models: list) ({_one_line(exc)}); {HOW_TO}") \
            from None
    models = []
    for name in names:
        found = [Path(path).parent / f"{name}.th", *sorted(Path(path).parent.glob(f"{name}-*.th"))]
        found = [candidate for candidate in found if candidate.is_file()]
        if not found:
            raise ModelError(f"{path}: bag member {name}.th not found beside it; {HOW_TO}")
        models.append(load_checkpoint(found[0]))
    try:
        return BagOfModels(models, spec.get("weights"), spec.get("segment"))
    except Exception as exc:  # members with different sources, rates or channels
        raise ModelError(f"{path}: inconsistent Demucs bag ({_one_line(exc)}); {HOW_TO}") from None


def model_path(path: Path | str | None) -> Path:
    """The given checkpoint or bag path, expanded; a one-line :class:`ModelError` when none or missing."""
    if path is None or str(path) == "":
        raise ModelError(f"the demucs separator needs a model: {HOW_TO}")
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"{path}: Demucs model not found; {HOW_TO}")
    return path


def load(path: Path | str | None) -> LoadedModel:
    """Load a Demucs checkpoint or bag; every failure is a one-line :class:`ModelError`."""
    path = model_path(path)
    model = load_bag(path) if path.suffix.lower() in (".yaml", ".yml") else load_checkpoint(path)
    sources = tuple(str(name) for name in model.sources)
    voice = next((sources.index(name) for name in VOICE_SOURCES if name in sources), None)
    if voice is None:
        raise ModelError(f"{path}: the model's sources {', '.join(sources)} include no voice source "
                         f"({', '.join(VOICE_SOURCES)}); {HOW_TO}")
    return LoadedModel(model=model, sources=sources, samplerate=int(model.samplerate),
                       audio_channels=int(model.audio_channels), voice=voice)


def overlap_add(process: Callable[[np.ndarray], np.ndarray], audio: np.ndarray, chunk: int,
                overlap: int) -> np.ndarray:
    """Run ``process`` ([channels, n] -> [channels, n]) over ``audio`` in chunks, crossfading the overlaps.

    The crossfade weights are normalised, so a process that is linear and time-invariant gives
    exactly what one pass over the whole signal would.
    """
    channels, length = audio.shape
    chunk = max(1, min(chunk, length))
    overlap = max(0, min(overlap, chunk // 2))
    out = np.zeros((channels, length), dtype=np.float64)
    total = np.zeros(length, dtype=np.float64)
    start = 0
    while True:
        end = min(length, start + chunk)
        piece = np.asarray(process(audio[:, start:end]), dtype=np.float64)
        weight = np.ones(end - start)
        if start > 0:
            ramp = min(overlap, end - start)
            weight[:ramp] = np.linspace(0.0, 1.0, ramp + 2)[1:-1]
        if end < length and overlap:
            weight[-overlap:] = np.minimum(weight[-overlap:], np.linspace(1.0, 0.0, overlap + 2)[1:-1])
        out[:, start:end] += piece * weight
        total[start:end] += weight
        if end >= length:
            break
        start += chunk - overlap
    return (out / np.maximum(total, 1e-12)).astype(np.float32)


def _channels(samples: np.ndarray, count: int) -> np.ndarray:
    """[channels, n] brought to ``count`` channels (down-mixed to mono, then repeated if they differ)."""
    if samples.shape[0] == count:
        return samples
    return np.repeat(samples.mean(axis=0, keepdims=True), count, axis=0)


@SEPARATORS.register("demucs")
class DemucsSeparator(Separator):
    """A Demucs-family separator from ``path`` (see the module docstring for the contract)."""

    name = "demucs"

    def __init__(self, path: Path | str | None = None, chunk_s: float = 60.0, overlap_s: float = 2.0) -> None:
        # Checked now, so a bad path fails before ingest rather than after it; loaded on first use.
        self.path = model_path(path)
        self.chunk_s = chunk_s
        self.overlap_s = overlap_s
        self._loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:
            self._loaded = load(self.path)
        return self._loaded

    def voice(self, mix: np.ndarray, rate: int) -> np.ndarray:
        """The model's dialogue estimate of ``mix`` ((n,) or (n, channels) at ``rate``), same shape and rate."""
        import torch
        from demucs.apply import apply_model

        loaded = self.loaded
        frames = len(mix)
        channels = mix.reshape(frames, -1).T  # [channels, n]
        audio = resample(_channels(channels, loaded.audio_channels).T, rate, loaded.samplerate).T
        # Demucs models are trained on mixes normalised by the mono track's mean and deviation.
        reference = audio.mean(axis=0)
        centre, scale = float(reference.mean()), float(reference.std()) + 1e-8

        def run(piece: np.ndarray) -> np.ndarray:
            tensor = torch.from_numpy(np.ascontiguousarray((piece - centre) / scale, dtype=np.float32))[None]
            with torch.no_grad():
                stems = apply_model(loaded.model, tensor, shifts=0, split=True, overlap=0.25, progress=False,
                                    device="cpu")
            return stems[0, loaded.voice].numpy() * scale  # the voice of the centred mix: any DC stays in the bed

        voice = overlap_add(run, audio, int(self.chunk_s * loaded.samplerate),
                            int(self.overlap_s * loaded.samplerate))
        voice = fit_length(resample(voice.T, loaded.samplerate, rate), frames).T  # back to [channels, n]
        voice = _channels(voice, channels.shape[0])
        return voice[0] if mix.ndim == 1 else voice.T

    def split(self, mix: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
        """(bed, dialogue), both shaped like ``mix`` at ``rate``; ``bed + dialogue == mix``."""
        dialogue = self.voice(mix, rate)
        return (mix - dialogue).astype(np.float32), dialogue.astype(np.float32)

    def separate(self, mix_48k: Path, analysis_16k: Path, out_dir: Path) -> Stems:
        mix, rate = read_mix(mix_48k, analysis_16k)
        bed, dialogue = self.split(mix, rate)
        bed_name, dialogue_name = f"bed.{self.name}.48k.wav", f"dialogue.{self.name}.16k.wav"
        write_wav(Path(out_dir) / bed_name, bed, rate)
        write_wav(Path(out_dir) / dialogue_name, resample(to_mono(dialogue), rate, DIALOGUE_RATE), DIALOGUE_RATE)
        return Stems(dialogue=dialogue_name, bed=bed_name, backend=self.name, bed_has_dialogue=False)
