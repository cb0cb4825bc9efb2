"""How natural a dub sounds: DNSMOS (Microsoft's non-intrusive speech-quality model, no reference needed).

The ONNX models ship inside the ``speechmos`` wheel (MIT): ``sig_bak_ovr.onnx`` scores signal,
background and overall quality on ITU-T P.835's 1-5 scale, ``model_v8.onnx`` a P.808 MOS. DNSMOS
works on 16 kHz mono in 9 s windows; shorter clips are repeated up to a window (speechmos's own
rule), so a single dubbed line gets a score too. :func:`score` is what the benches and the QC page
call; :func:`episode` scores every line and the whole dub track.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import asdict, dataclass

import numpy as np

from localize.errors import ModelError

RATE = 16000
_INPUT_SECONDS = 9.01  # speechmos's window (INPUT_LENGTH)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Naturalness:
    """DNSMOS scores, 1 (bad) to 5 (excellent): ``overall`` (P.835 OVRL), ``signal``, ``background``, ``p808``."""

    overall: float
    signal: float
    background: float
    p808: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in asdict(self).items()}


@functools.lru_cache(maxsize=1)
def _model(threads: int = 2):
    try:
        import onnxruntime as ort
        from speechmos import dnsmos
    except ImportError as exc:
        raise ModelError(f"DNSMOS needs the speechmos wheel (pip install speechmos): {exc}") from None
    import os

    folder = os.path.join(os.path.dirname(dnsmos.__file__), "dnsmos_models")
    model = dnsmos.DNSMOS(os.path.join(folder, "sig_bak_ovr.onnx"), os.path.join(folder, "model_v8.onnx"))
    options = ort.SessionOptions()  # speechmos opens its sessions on every core; we keep to ``threads``
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    model.onnx_sess = ort.InferenceSession(model.primary_model_path, options, providers=["CPUExecutionProvider"])
    model.p808_onnx_sess = ort.InferenceSession(os.path.join(folder, "model_v8.onnx"), options,
                                                providers=["CPUExecutionProvider"])
    return model


def score(samples: np.ndarray, rate: int, windows: int | None = None) -> Naturalness:
    """DNSMOS of mono ``samples`` (float, [-1, 1]) at ``rate`` Hz; resampled to 16 kHz.

    speechmos scores every 9 s window at 1 s hops, and repeats a short clip (doubling it) to
    reach a window first: a 3 s line becomes 12 s and is scored three times over, each window
    the same clip shifted. ``windows`` caps the windows scored (the clip, repeated, cut to that
    many): ``windows=1`` scores a short dubbed line once, a third of the work for the same
    sound.
    """
    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    if audio.size < rate // 10 or not np.any(audio):
        raise ValueError("DNSMOS needs at least 0.1 s of sound")
    if rate != RATE:
        from scipy.signal import resample_poly

        divisor = np.gcd(RATE, int(rate))
        audio = resample_poly(audio, RATE // divisor, int(rate) // divisor).astype(np.float32)
    audio = np.clip(audio, -1.0, 1.0)
    if windows is not None:
        # speechmos scores floor(seconds) - 9 windows of 9.01 s (hops of 1 s): 9 + n seconds give n.
        keep = (math.floor(_INPUT_SECONDS) + max(1, windows)) * RATE
        if audio.size < keep:
            audio = np.tile(audio, -(-keep // audio.size))
        audio = audio[:keep]
    with _LOCK:
        result = _model()(audio, RATE, False)
    return Naturalness(float(result["ovrl_mos"]), float(result["sig_mos"]), float(result["bak_mos"]),
                       float(result["p808_mos"]))


def episode(lines: list[np.ndarray], rate: int, track: np.ndarray | None = None) -> dict:
    """Per-line scores and the episode's: the mean over lines, and the whole ``track`` when given."""
    per_line = [score(clip, rate) for clip in lines]
    report = {"lines": [s.to_dict() for s in per_line]}
    if per_line:
        report["mean"] = {k: round(float(np.mean([getattr(s, k) for s in per_line])), 3)
                          for k in ("overall", "signal", "background", "p808")}
    if track is not None:
        report["track"] = score(track, rate).to_dict()
    return report
