"""``deepfilter`` backend: DeepFilterNet3's speech estimate turned into a Wiener-style bed mask."""

from __future__ import annotations

import numpy as np

from localize.stages.separate.registry import SEPARATORS
from localize.stages.separate.base import Episode, SpectralSeparator
from localize.stages.separate.spectral import stft


def speech_spectrum(episode: Episode) -> np.ndarray:
    """STFT of DFN3's speech estimate of the mid channel (computed once per episode)."""
    if "dfn" not in episode.cache:
        from localize.stages.separate import deepfilter

        episode.cache["dfn"] = stft(deepfilter.model().enhance(episode.mid).speech)
    return episode.cache["dfn"]


@SEPARATORS.register("deepfilter")
class DeepFilterSeparator(SpectralSeparator):
    """bed = mix x (1 - speech mask), the mask being |S|^2 / (|S|^2 + |X - S|^2) for DFN3's estimate S."""

    name = "deepfilter"

    def music_gain(self, episode: Episode) -> np.ndarray:
        speech = speech_spectrum(episode)
        voice = np.abs(speech) ** 2
        rest = np.abs(episode.spec - speech) ** 2
        return rest / (rest + voice + 1e-20)
