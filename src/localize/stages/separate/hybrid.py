"""Combinations: DeepFilterNet3 for the speech, a model learned from the gaps for the music.

DFN3 hears speech well but leaves holes in the music it removes with it; the music model
predicts what the music looked like under the dialogue, from the dialogue-free parts of
the same episode. A Wiener gain between the two gives the bed.
"""

from __future__ import annotations

import numpy as np

from localize.stages.separate.registry import SEPARATORS
from localize.stages.separate.base import RATE, Episode, SpectralSeparator
from localize.stages.separate.dfn import speech_spectrum
from localize.stages.separate.spectral import N_FFT, band_matrix

# Fewer gap frames than this (about 2 s) and the gaps cannot stand for the episode's music.
MIN_POOL_FRAMES = 94


def speech_gain_complement(music: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """Wiener music gain ``music / (music + speech)``, exactly 1 wherever no speech is estimated
    (so a bin the music model missed is never removed on the music model's word alone)."""
    return 1.0 - speech / (music + speech + 1e-20)


def dfn_speech_magnitude(episode: Episode) -> np.ndarray:
    """|DFN3 speech| on the VAD's speech frames, zero elsewhere (gaps keep their breaths and sighs)."""
    voice = np.abs(speech_spectrum(episode))
    voice[:, ~episode.speech_frames()] = 0.0
    return voice


@SEPARATORS.register("dfn-repet")
class DfnRepetSeparator(SpectralSeparator):
    """DFN3 speech + music predicted by repetition from the gap frames (see :mod:`.repet`)."""

    name = "dfn-repet"

    def __init__(self, neighbours: int = 10, context: int = 2, speech_weight: float = 1.5,
                 refinements: int = 1, low_hz: float = 250.0, low_floor: float = 0.1) -> None:
        self.neighbours = neighbours
        self.context = context
        self.speech_weight = speech_weight
        self.refinements = refinements
        self.low_hz = low_hz
        self.low_floor = low_floor

    def music_gain(self, episode: Episode) -> np.ndarray:
        from localize.stages.separate.repet import music_magnitude

        spec = episode.spec
        magnitude = episode.magnitude
        speech = speech_spectrum(episode)
        voice = dfn_speech_magnitude(episode)
        residual = np.abs(spec - speech)
        bands = band_matrix(spec.shape[0], RATE)
        pool = np.flatnonzero(~episode.speech_frames())
        pool_magnitude, neighbours = magnitude, self.neighbours
        if len(pool) < MIN_POOL_FRAMES:
            # Dialogue wall to wall: fall back to repetition over DFN3's residual everywhere. Those
            # spectra hold holes and speech remnants, so the median takes twice as many neighbours.
            pool, pool_magnitude, neighbours = np.arange(episode.frames), residual, 2 * self.neighbours
        pool_features = bands @ pool_magnitude
        query = bands @ residual
        # DFN3 lets bass and kick drum into its speech estimate below the voice's pitch, where a
        # voice has little energy: weigh the speech less there (from low_floor at 0 Hz to 1 at low_hz).
        freqs = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
        voice = voice * (self.low_floor + (1.0 - self.low_floor) * np.clip(freqs / self.low_hz, 0.0, 1.0))[:, None]
        gain = np.ones_like(magnitude)
        for _ in range(1 + self.refinements):
            music = music_magnitude(query, pool_features, pool_magnitude, pool, neighbours, self.context)
            # The speech estimate may not exceed what the music model leaves of the mix.
            speech_part = np.minimum(np.maximum(magnitude - music, 0.0), voice)
            gain = speech_gain_complement(music, self.speech_weight * speech_part)
            query = bands @ (magnitude * gain)
        return gain


@SEPARATORS.register("dfn-nmf")
class DfnNmfSeparator(SpectralSeparator):
    """DFN3 speech as a fixed part of a KL-NMF model whose music basis is learned on the gaps."""

    name = "dfn-nmf"

    def __init__(self, components: int = 40, iterations: int = 120, speech_weight: float = 2.0) -> None:
        self.components = components
        self.iterations = iterations
        self.speech_weight = speech_weight

    def music_gain(self, episode: Episode) -> np.ndarray:
        from localize.stages.separate.nmf import EPS, band_limit, kl_nmf, music_basis

        voice = dfn_speech_magnitude(episode)
        gap = np.flatnonzero(~episode.speech_frames())
        residual = np.abs(episode.spec - speech_spectrum(episode))
        if len(gap) < MIN_POOL_FRAMES:
            # Not enough music alone to learn a basis: DFN3's own mask.
            return residual ** 2 / (residual ** 2 + voice ** 2 + 1e-20)
        top = band_limit()
        v = episode.magnitude[:top]
        wm = music_basis(v, gap, self.components, self.iterations)
        h = np.full((self.components, v.shape[1]), float(v.mean()) + EPS, dtype=np.float32)
        _, h = kl_nmf(v, wm, h, self.iterations, fixed=voice[:top])
        music = np.empty_like(voice)
        music[:top] = wm @ h
        # Above the modelled band, DFN3's residual stands for the music.
        music[top:] = residual[top:]
        return speech_gain_complement(music, self.speech_weight * voice)
