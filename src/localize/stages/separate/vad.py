"""Where the dialogue is: Silero VAD (shipped inside faster-whisper) on the 16 kHz analysis track."""

from __future__ import annotations

import numpy as np


def speech_spans(analysis: np.ndarray, rate: int = 16000) -> list[tuple[float, float]]:
    """Speech spans in seconds. Padded a little so the gaps between them hold no speech tails."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    from localize.audio import resample

    audio = resample(np.asarray(analysis, dtype=np.float32), rate, 16000)
    stamps = get_speech_timestamps(audio, VadOptions(threshold=0.4, min_silence_duration_ms=200, speech_pad_ms=120))
    return [(s["start"] / 16000, s["end"] / 16000) for s in stamps]


def frame_mask(spans: list[tuple[float, float]], frames: int, hop_s: float, window_s: float) -> np.ndarray:
    """True for STFT frames (centred every ``hop_s``, ``window_s`` long) that overlap a span."""
    mask = np.zeros(frames, dtype=bool)
    half = window_s / 2
    for start, end in spans:
        first = max(0, int(np.floor((start - half) / hop_s)))
        last = min(frames - 1, int(np.ceil((end + half) / hop_s)))
        if last >= first:
            mask[first: last + 1] = True
    return mask
