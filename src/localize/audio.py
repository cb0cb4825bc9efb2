"""Small audio helpers over numpy arrays: read, write, resample, levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from localize.errors import OutputError
from localize.fsutil import atomic_path, free_space


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a WAV as float32, shape (frames,) for mono or (frames, channels)."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    return data, int(rate)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write float samples as 16-bit PCM WAV, atomically, clipping to [-1, 1]."""
    import soundfile as sf

    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    with atomic_path(Path(path)) as tmp:
        try:
            sf.write(str(tmp), clipped, rate, subtype="PCM_16", format="WAV")
        except sf.LibsndfileError as exc:  # libsndfile says only "System error" for a full disk
            raise OutputError(f"cannot write {Path(path).name} in {Path(path).parent}: {exc} "
                              f"({free_space(Path(path).parent)} free)") from None


def to_mono(samples: np.ndarray) -> np.ndarray:
    return samples.mean(axis=1) if samples.ndim == 2 else samples


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling (scipy), exact for integer rate ratios."""
    if rate_in == rate_out:
        return samples.astype(np.float32, copy=False)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    return resample_poly(samples, rate_out // g, rate_in // g, axis=0).astype(np.float32)


def ms_to_samples(ms: int, rate: int) -> int:
    return int(round(ms * rate / 1000))


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def rms_db(samples: np.ndarray) -> float:
    """RMS level in dBFS; -120 for silence."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 1e-6 else -120.0
