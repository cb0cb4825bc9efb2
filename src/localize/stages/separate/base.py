"""What every spectral backend shares: reading the stage's inputs, the mid/side STFT, writing the stems.

A backend computes one gain (the music share of each time-frequency bin of the mid channel);
the bed is the mix filtered by it and the dialogue is the rest of the mid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localize.audio import read_wav, resample, to_mono, write_wav
from localize.errors import InputError
from localize.stages.separate.registry import Separator, Stems
from localize.stages.separate import spectral

RATE = 48000
DIALOGUE_RATE = 16000


@dataclass
class Episode:
    """The mix as the backends see it: channels, mid/side, the mid's spectrogram and the VAD track."""

    mix: np.ndarray
    analysis: np.ndarray
    mid: np.ndarray
    side: np.ndarray | None
    spec: np.ndarray
    _speech: np.ndarray | None = field(default=None, repr=False)
    # Intermediate results shared between the parts of one backend (e.g. DFN3's estimate).
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def magnitude(self) -> np.ndarray:
        """|spec|, computed once; callers must not modify it."""
        if "magnitude" not in self.cache:
            self.cache["magnitude"] = np.abs(self.spec)
        return self.cache["magnitude"]

    @property
    def frames(self) -> int:
        return self.spec.shape[1]

    def speech_frames(self) -> np.ndarray:
        """STFT frames that Silero VAD marks as speech (computed once)."""
        if self._speech is None:
            from localize.stages.separate.vad import frame_mask, speech_spans

            self._speech = frame_mask(speech_spans(self.analysis, DIALOGUE_RATE), self.frames,
                                      spectral.HOP / RATE, spectral.N_FFT / RATE)
        return self._speech


def read_mix(mix_48k: Path, analysis_16k: Path) -> tuple[np.ndarray, int]:
    """The mix and its rate, after checking that both stage inputs exist and the mix is not empty."""
    for path in (mix_48k, analysis_16k):
        if not Path(path).is_file():
            raise InputError(f"{path}: audio for separation not found")
    mix, rate = read_wav(mix_48k)
    if mix.size == 0:
        raise InputError(f"{mix_48k}: empty audio")
    return mix, rate


def load_episode(mix_48k: Path, analysis_16k: Path) -> Episode:
    """Read the stage inputs; the mix is brought to 48 kHz and the analysis track to 16 kHz mono."""
    mix, rate = read_mix(mix_48k, analysis_16k)
    mix = resample(mix, rate, RATE)
    analysis, analysis_rate = read_wav(analysis_16k)
    analysis = resample(to_mono(analysis), analysis_rate, DIALOGUE_RATE)
    mid, side = spectral.mid_side(mix)
    return Episode(mix=mix, analysis=analysis, mid=mid, side=side, spec=spectral.stft(mid))


class SpectralSeparator(Separator):
    """Base of the mask-based backends: subclasses implement :meth:`music_gain`."""

    name = "spectral"

    def music_gain(self, episode: Episode) -> np.ndarray:
        """The music share (0..1) of each bin of ``episode.spec``."""
        raise NotImplementedError

    def split(self, episode: Episode) -> tuple[np.ndarray, np.ndarray]:
        """(bed with the mix's shape at 48 kHz, mono dialogue at 48 kHz)."""
        gain = np.clip(self.music_gain(episode), 0.0, 1.0).astype(np.float32)
        bed = spectral.apply_gain(episode.mix, gain, episode.mid, episode.side)
        dialogue = spectral.istft(episode.spec * (1.0 - gain), len(episode.mid))
        return bed, dialogue

    def separate(self, mix_48k: Path, analysis_16k: Path, out_dir: Path) -> Stems:
        episode = load_episode(mix_48k, analysis_16k)
        bed, dialogue = self.split(episode)
        frames, source_rate = read_wav_header(mix_48k)
        bed_name, dialogue_name = f"bed.{self.name}.48k.wav", f"dialogue.{self.name}.16k.wav"
        # Same rate and length as the mix, so the bed lines up sample for sample with it.
        write_wav(Path(out_dir) / bed_name, fit_length(resample(bed, RATE, source_rate), frames), source_rate)
        write_wav(Path(out_dir) / dialogue_name, resample(dialogue, RATE, DIALOGUE_RATE), DIALOGUE_RATE)
        return Stems(dialogue=dialogue_name, bed=bed_name, backend=self.name, bed_has_dialogue=False)


def read_wav_header(path: Path) -> tuple[int, int]:
    """(frames, sample rate) of a sound file without reading it."""
    import soundfile as sf

    info = sf.info(str(path))
    return int(info.frames), int(info.samplerate)


def fit_length(samples: np.ndarray, frames: int) -> np.ndarray:
    """Trim or zero-pad along time to exactly ``frames``."""
    if len(samples) >= frames:
        return samples[:frames]
    pad = [(0, frames - len(samples))] + [(0, 0)] * (samples.ndim - 1)
    return np.pad(samples, pad)
