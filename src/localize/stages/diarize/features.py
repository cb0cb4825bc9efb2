"""What the diarizer knows about each line: a Resemblyzer voice print, its pitch and its speaking rate.

The pitch comes from one WORLD DIO pass over the whole stem (about 1 s of CPU for a minute and a
half at ``speed=2``; Harvest, which the voice-matching code still uses, costs ~10x that). DIO
slips an octave down on frames where leftover music bass is louder than the voice (on the dev
seeds' separated stems whole lines read 71-101 Hz for women at 213-225 Hz), never up, so only the
line's louder frames count and the line's pitch is their upper quartile, not their median: it
held every such line within a semitone of the speaker's other lines.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from localize.audio import ms_to_samples
from localize.model import Segment

FRAME_MS = 10
# The line's pitch is this percentile of its voiced frames' F0 (see the module note).
LINE_F0_PERCENTILE = 75
# Frames more than this far under the line's loudest frame are pauses or music, not voice.
VOICE_FLOOR_DB = -25.0
# preprocess_wav trims silence; under this much speech the untrimmed clip is embedded instead.
MIN_TRIMMED_S = 0.25
# Resemblyzer windows (1.6 s each) started per second of a line. Its default, 1.3, overlaps them by
# half; 0.8 overlaps them by a fifth and halves the encoder's work for long lines.
PARTIALS_PER_S = 0.8
# At most this many windows per line, spread over it: the encoder's LSTM is nearly all the
# diarizer's CPU, and a voice print settles after a few windows.
MAX_WINDOWS = 4
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass
class LineFeatures:
    """One line's voice print (unit vector), pitch (0 = unvoiced), speaking rate and length."""

    embedding: np.ndarray
    f0_hz: float
    syllables_per_s: float  # 0 when the text is unknown or holds no Han characters
    seconds: float

    @property
    def semitones(self) -> float:
        """F0 in semitones above 55 Hz (nan when unvoiced), so differences read in semitones."""
        return 12 * float(np.log2(self.f0_hz / 55.0)) if self.f0_hz > 0 else float("nan")


@functools.lru_cache(maxsize=1)
def voice_encoder():
    """The Resemblyzer encoder (weights ship in its wheel), loaded once per process."""
    from resemblyzer import VoiceEncoder

    return VoiceEncoder(device="cpu", verbose=False)


def embed(samples: np.ndarray, rate: int, partials_per_s: float = 1.3) -> np.ndarray:
    """A unit-length speaker embedding of a stretch of speech: the mean of Resemblyzer's 1.6 s
    windows over it, ``partials_per_s`` of them a second (one padded window for a shorter stretch)."""
    vector = voice_encoder().embed_utterance(_speech_16k(samples, rate), rate=partials_per_s)
    return vector / (np.linalg.norm(vector) + 1e-9)


def _speech_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """The clip as Resemblyzer wants it: 16 kHz, volume-normalised, long silences trimmed (the raw
    clip when trimming leaves under :data:`MIN_TRIMMED_S`)."""
    from resemblyzer import preprocess_wav

    wav = preprocess_wav(samples.astype(np.float32), source_sr=rate)
    if wav.size < 16000 * MIN_TRIMMED_S:
        from localize.audio import resample

        wav = resample(samples.astype(np.float32), rate, 16000)
    return wav


def line_embeddings(clips: list[np.ndarray], rate: int) -> np.ndarray:
    """(n, 256) unit voice prints of ``clips``: the mean of up to :data:`MAX_WINDOWS` Resemblyzer
    windows each, all lines' windows run through the encoder in one batch."""
    import torch
    from resemblyzer.audio import wav_to_mel_spectrogram

    encoder = voice_encoder()
    windows, owners = [], []
    for index, clip in enumerate(clips):
        wav = _speech_16k(clip, rate)
        wav_slices, mel_slices = encoder.compute_partial_slices(len(wav), PARTIALS_PER_S, 0.75)
        if wav_slices[-1].stop > len(wav):
            wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
        mel = wav_to_mel_spectrogram(wav)
        keep = np.unique(np.linspace(0, len(mel_slices) - 1, min(MAX_WINDOWS, len(mel_slices))).round().astype(int))
        windows.extend(mel[mel_slices[k]] for k in keep)
        owners.extend([index] * len(keep))
    with torch.no_grad():
        partials = encoder(torch.from_numpy(np.stack(windows)).to(encoder.device)).cpu().numpy()
    owners_array = np.array(owners)
    prints = np.stack([partials[owners_array == i].mean(axis=0) for i in range(len(clips))])
    return prints / (np.linalg.norm(prints, axis=1, keepdims=True) + 1e-9)


def f0_track(samples: np.ndarray, rate: int) -> np.ndarray:
    """F0 in Hz every :data:`FRAME_MS` ms over the whole stem (0 where unvoiced)."""
    import pyworld

    x = np.ascontiguousarray(samples, dtype=np.float64)
    f0, times = pyworld.dio(x, rate, f0_floor=60.0, f0_ceil=500.0, frame_period=FRAME_MS, speed=2)
    return pyworld.stonemask(x, f0, times, rate)


def line_f0(track: np.ndarray, samples: np.ndarray, rate: int, start_ms: int, end_ms: int) -> float:
    """The upper-quartile F0 of the line's voiced frames within :data:`VOICE_FLOOR_DB` of its loudest frame."""
    first, last = start_ms // FRAME_MS, min(len(track), -(-end_ms // FRAME_MS))
    if last <= first:
        return 0.0
    hop = rate * FRAME_MS // 1000
    last = min(last, len(samples) // hop)
    if last <= first:
        return 0.0
    chunk = samples[first * hop:last * hop].astype(np.float64).reshape(last - first, hop)
    energy = np.mean(chunk ** 2, axis=1) + 1e-12
    loud = 10 * np.log10(energy) > 10 * np.log10(energy.max()) + VOICE_FLOOR_DB
    f0 = track[first:last][loud]
    f0 = f0[f0 > 0]
    return float(np.percentile(f0, LINE_F0_PERCENTILE)) if f0.size >= 3 else 0.0


def speaking_rate(text: str, seconds: float) -> float:
    """Han characters (one syllable each) per second of the line; 0 when unknown."""
    syllables = len(_HAN.findall(text or ""))
    return syllables / seconds if syllables >= 2 and seconds > 0 else 0.0


def line_features(segments: list[Segment], samples: np.ndarray, rate: int) -> list[LineFeatures]:
    """Features of every segment of a mono stem."""
    track = f0_track(samples, rate)
    clips = []
    for segment in segments:
        clip = samples[ms_to_samples(segment.start_ms, rate):ms_to_samples(segment.end_ms, rate)]
        clips.append(clip if clip.size >= rate // 20 else np.zeros(rate // 20, dtype=np.float32))  # under 50 ms
    prints = line_embeddings(clips, rate)
    result = []
    for segment, vector in zip(segments, prints):
        seconds = max(segment.end_ms - segment.start_ms, 1) / 1000
        result.append(LineFeatures(embedding=vector,
                                   f0_hz=line_f0(track, samples, rate, segment.start_ms, segment.end_ms),
                                   syllables_per_s=speaking_rate(segment.source_text, seconds), seconds=seconds))
    return result
