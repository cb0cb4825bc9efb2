"""``nmf`` backend: a music dictionary learned from the dialogue-free gaps, speech is what it cannot explain.

KL-divergence NMF on the mid channel's magnitude spectrogram: the music basis is learned on
the frames Silero VAD marks as speech-free; on speech frames the magnitude is modelled as
music basis + a free speech basis (whose activations are zero outside speech), and the two
reconstructions give a Wiener gain.
"""

from __future__ import annotations

import numpy as np

from localize.stages.separate.registry import SEPARATORS
from localize.stages.separate.base import Episode, SpectralSeparator
from localize.stages.separate.spectral import N_FFT

EPS = 1e-9
# Above this the spectra hold little of either source's identity and cost most of the time.
MAX_HZ = 12000.0


def kl_nmf(v: np.ndarray, w: np.ndarray, h: np.ndarray, iterations: int, learn: slice | None = None,
           fixed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative-update NMF minimising KL(v | w h + fixed).

    ``learn`` selects the basis columns that are updated (None: the basis stays fixed);
    ``fixed`` is an optional known non-negative part of the model. Zeros in ``h`` stay zero.
    """
    extra = 0.0 if fixed is None else fixed
    for _ in range(iterations):
        ratio = v / (w @ h + extra + EPS)
        h *= (w.T @ ratio) / (w.sum(axis=0)[:, None] + EPS)
        if learn is not None:
            ratio = v / (w @ h + extra + EPS)
            w[:, learn] *= (ratio @ h[learn].T) / (h[learn].sum(axis=1)[None, :] + EPS)
    return w, h


def music_basis(magnitude: np.ndarray, gap: np.ndarray, components: int, iterations: int,
                seed: int = 0) -> np.ndarray:
    """A (bins x components) music dictionary learned on the gap frames."""
    rng = np.random.default_rng(seed)
    v = magnitude[:, gap]
    scale = float(v.mean()) + EPS
    w = rng.uniform(0.1, 1.0, (v.shape[0], components)).astype(np.float32) * scale
    h = rng.uniform(0.1, 1.0, (components, v.shape[1])).astype(np.float32)
    w, _ = kl_nmf(v, w, h, iterations, learn=slice(None))
    return w / (w.sum(axis=0, keepdims=True) + EPS)


def band_limit(rate: int = 48000) -> int:
    """Number of STFT bins below :data:`MAX_HZ`."""
    return int(MAX_HZ / (rate / N_FFT)) + 1


@SEPARATORS.register("nmf")
class NmfSeparator(SpectralSeparator):
    """Semi-supervised NMF: fixed music basis from the gaps, free speech basis on the speech frames."""

    name = "nmf"

    def __init__(self, music_components: int = 40, speech_components: int = 30, iterations: int = 120) -> None:
        self.music_components = music_components
        self.speech_components = speech_components
        self.iterations = iterations

    def music_gain(self, episode: Episode) -> np.ndarray:
        speech = episode.speech_frames()
        gap = np.flatnonzero(~speech)
        gain = np.ones(episode.spec.shape, dtype=np.float32)
        if speech.sum() == 0:
            return gain
        if len(gap) < 2 * self.music_components:
            # No music to learn from: nothing distinguishes music from speech, keep the mix.
            return gain
        top = band_limit()
        v = episode.magnitude[:top]
        wm = music_basis(v, gap, self.music_components, self.iterations)
        rng = np.random.default_rng(1)
        scale = float(v.mean()) + EPS
        ws = rng.uniform(0.1, 1.0, (top, self.speech_components)).astype(np.float32) * scale
        w = np.concatenate([wm, ws], axis=1)
        h = rng.uniform(0.1, 1.0, (w.shape[1], v.shape[1])).astype(np.float32) * scale
        h[self.music_components:, ~speech] = 0.0
        w, h = kl_nmf(v, w, h, self.iterations, learn=slice(self.music_components, None))
        music = (w[:, :self.music_components] @ h[:self.music_components]) ** 2
        voice = (w[:, self.music_components:] @ h[self.music_components:]) ** 2
        gain[:top] = music / (music + voice + EPS)
        # Above the modelled band, follow the band's mean gain per frame.
        gain[top:] = gain[top - 200: top].mean(axis=0, keepdims=True)
        return gain
