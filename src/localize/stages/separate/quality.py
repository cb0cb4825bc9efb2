"""Separation quality figures: SI-SDR against a true stem and the speech Whisper still hears in a bed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant SDR in dB; multichannel signals are compared as one long signal.

    Both are made zero-mean and trimmed to the shorter length first.
    """
    n = min(len(estimate), len(reference))
    est = np.asarray(estimate[:n], dtype=np.float64).ravel()
    ref = np.asarray(reference[:n], dtype=np.float64).ravel()
    est, ref = est - est.mean(), ref - ref.mean()
    alpha = np.dot(est, ref) / max(np.dot(ref, ref), 1e-20)
    target = alpha * ref
    noise = est - target
    return float(10.0 * np.log10(max(np.dot(target, target), 1e-20) / max(np.dot(noise, noise), 1e-20)))


@dataclass
class SpeechLeft:
    """How much of the script Whisper recovers from an audio file."""

    heard: str
    matched: int
    total: int

    @property
    def ratio(self) -> float:
        return self.matched / max(1, self.total)


def matched_chars(script: str, heard: str) -> tuple[int, int]:
    """Script characters that reappear in ``heard`` (each heard character used once), and the script's total."""
    from collections import Counter

    from localize.metrics import han_chars

    ref = han_chars(script)
    pool = Counter(han_chars(heard))
    matched = 0
    for char in ref:
        if pool[char] > 0:
            pool[char] -= 1
            matched += 1
    return matched, len(ref)


_WHISPER = None


def whisper_model():
    """faster-whisper base (int8, CPU), loaded once per process; free with :func:`release_whisper`."""
    global _WHISPER
    if _WHISPER is None:
        from faster_whisper import WhisperModel

        from localize.models import whisper_base

        _WHISPER = WhisperModel(str(whisper_base()), device="cpu", compute_type="int8", cpu_threads=2)
    return _WHISPER


def release_whisper() -> None:
    global _WHISPER
    _WHISPER = None


def speech_left(audio: Path, script: str) -> SpeechLeft:
    """Run Whisper base (zh, no VAD so quiet residue is not skipped) on ``audio``; count script characters heard.

    Each script character counts at most as often as it appears in the transcript, so a
    hallucinated common character cannot match the whole script.
    """
    import zhconv

    segments, _info = whisper_model().transcribe(str(audio), language="zh", beam_size=5, vad_filter=False,
                                                 condition_on_previous_text=False)
    heard = zhconv.convert("".join(s.text for s in segments), "zh-cn")
    matched, total = matched_chars(script, heard)
    return SpeechLeft(heard=heard, matched=matched, total=total)
