"""``harmonic`` backend: remove the voice's harmonics along its pitch track (WORLD/pyworld).

The pitch comes from the 16 kHz analysis track (DIO + StoneMask); on voiced frames inside
the VAD's speech spans every bin near a multiple of F0 is removed from the bed. Unvoiced
consonants stay; music between the harmonics stays too.
"""

from __future__ import annotations

import numpy as np

from localize.stages.separate.registry import SEPARATORS
from localize.stages.separate.base import DIALOGUE_RATE, RATE, Episode, SpectralSeparator
from localize.stages.separate.spectral import HOP, N_FFT


def pitch_track(analysis: np.ndarray, frames: int, rate: int = DIALOGUE_RATE) -> np.ndarray:
    """F0 in Hz (0 when unvoiced) at each STFT frame centre."""
    import pyworld

    signal = np.asarray(analysis, dtype=np.float64)
    period_ms = 1000.0 * HOP / RATE
    f0, times = pyworld.dio(signal, rate, f0_floor=70.0, f0_ceil=500.0, frame_period=period_ms)
    f0 = pyworld.stonemask(signal, f0, times, rate)
    out = np.zeros(frames)
    out[: min(frames, len(f0))] = f0[:frames]
    return out


def harmonic_comb(f0: np.ndarray, n_bins: int, width_bins: float = 1.5, max_hz: float = 8000.0) -> np.ndarray:
    """(bins x frames) weight 0..1 of how close each bin is to a harmonic of that frame's F0.

    The comb widens with the harmonic number when the pitch moves within a frame (Mandarin
    tones glide), since a gliding harmonic smears across bins.
    """
    freqs = np.fft.rfftfreq(2 * (n_bins - 1), 1.0 / RATE)
    comb = np.zeros((n_bins, len(f0)), dtype=np.float32)
    glide = np.abs(np.gradient(f0)) if len(f0) > 1 else np.zeros_like(f0)
    bin_hz = RATE / N_FFT
    for t in np.flatnonzero(f0 > 0):
        harmonic = np.maximum(1.0, np.round(freqs / f0[t]))
        sigma = np.sqrt((width_bins * bin_hz) ** 2 + (harmonic * glide[t]) ** 2)
        weight = np.exp(-0.5 * ((freqs - harmonic * f0[t]) / sigma) ** 2)
        weight[(freqs < 0.5 * f0[t]) | (freqs > max_hz)] = 0.0
        comb[:, t] = weight
    return comb


@SEPARATORS.register("harmonic")
class HarmonicSeparator(SpectralSeparator):
    """Harmonic removal along the WORLD pitch track, inside the VAD's speech spans."""

    name = "harmonic"

    def music_gain(self, episode: Episode) -> np.ndarray:
        f0 = pitch_track(episode.analysis, episode.frames)
        f0[~episode.speech_frames()] = 0.0
        return 1.0 - harmonic_comb(f0, episode.spec.shape[0])
