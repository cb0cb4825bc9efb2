"""Kokoro-82M with the real int8 model: intelligibility (Whisper round trip), voice
genders by pitch, speed, chunking and errors."""

from __future__ import annotations

import itertools
import re
import time

import numpy as np
import pytest

from localize.errors import ConfigError, UnspeakableText
from localize.locales import get_locale
from localize.stages.synthesize import Speech, Voice, kokoro
from localize.stages.synthesize.kokoro import CAST, RATE, KokoroBackend

EN = get_locale("en-US")
TWO_SENTENCES = "I never thought I would see you again. Why did you come back after all these years?"


@pytest.fixture(scope="module")
def backend() -> KokoroBackend:
    backend = KokoroBackend()
    backend.synthesize("Warm up.", CAST[0], EN)  # loading the session is not synthesis time
    return backend


@pytest.fixture(scope="module")
def spoken(backend):
    """TWO_SENTENCES per voice at speed 1.0, with wall and CPU seconds, made once per module."""
    cache: dict[Voice, tuple[Speech, float, float]] = {}

    def get(voice: Voice) -> tuple[Speech, float, float]:
        if voice not in cache:
            wall, cpu = time.perf_counter(), time.process_time()
            speech = backend.synthesize(TWO_SENTENCES, voice, EN)
            cache[voice] = (speech, time.perf_counter() - wall, time.process_time() - cpu)
        return cache[voice]
    return get


@pytest.fixture(scope="module")
def whisper():
    from faster_whisper import WhisperModel

    from localize.models import whisper_base

    return WhisperModel(str(whisper_base()), device="cpu", compute_type="int8", cpu_threads=2)


def words(text: str) -> list[str]:
    return re.sub(r"[^\w' ]", " ", text.lower()).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance over the reference length."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[:], i
        for j, h in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (r != h))
    return row[-1] / max(1, len(ref))


def transcribe(model, samples: np.ndarray, language: str) -> str:
    from scipy.signal import resample_poly

    audio16k = resample_poly(samples, 2, 3).astype(np.float32)  # 24 kHz -> Whisper's 16 kHz
    segments, _ = model.transcribe(audio16k, language=language, beam_size=5)
    return " ".join(s.text for s in segments)


def median_f0(samples: np.ndarray, rate: int) -> float:
    import pyworld as pw
    x = samples.astype(np.float64)
    f0, t = pw.dio(x, rate, f0_floor=60.0, f0_ceil=500.0, frame_period=10.0)
    f0 = pw.stonemask(x, f0, t, rate)
    voiced = f0[f0 > 0]
    return float(np.median(voiced))


def test_wer_helper():
    assert wer("the cat sat", "the cat sat") == 0
    assert wer("the cat sat", "a cat sat down") == pytest.approx(2 / 3)


@pytest.mark.parametrize("voice", [CAST[1], CAST[0], CAST[2]], ids=lambda v: v.label)
def test_english_whisper_round_trip(spoken, whisper, voice):
    speech = spoken(voice)[0]
    heard = transcribe(whisper, speech.samples, "en")
    error = wer(TWO_SENTENCES, heard)
    print(f"\n{voice.label}: WER {error:.3f} heard {heard!r}")
    assert error <= 0.2


def test_spanish_whisper_round_trip(backend, whisper):
    text = "No quiero volver a verte nunca más. Esta casa ya no es tuya."
    speech = backend.synthesize(text, CAST[1], get_locale("es-MX"))
    heard = transcribe(whisper, speech.samples, "es")
    error = wer(text, heard)
    print(f"\nes-MX: WER {error:.3f} heard {heard!r}")
    assert error <= 0.25


def test_male_voices_are_clearly_lower_than_female(backend):
    f0 = {}
    for voice in backend.voices():
        speech = backend.synthesize("I am telling you the truth.", voice, EN)
        f0[voice] = median_f0(speech.samples, speech.rate)
    print("\n" + "\n".join(f"{v.label:40s} {v.gender:6s} {hz:6.1f} Hz" for v, hz in f0.items()))
    male = sorted(hz for v, hz in f0.items() if v.gender == "male")
    female = sorted(hz for v, hz in f0.items() if v.gender == "female")
    assert len(male) >= 3 and len(female) >= 3
    # At least 4 semitones between the highest man and the lowest woman.
    assert male[-1] * 2 ** (4 / 12) < female[0]
    assert male[-1] < 165 and female[0] > 180
    # The derived men are not one voice: each sits over a semitone from the next.
    assert all(b / a > 2 ** (1 / 12) for a, b in itertools.pairwise(male))


def test_real_time_factor(spoken):
    speech, wall, cpu = spoken(CAST[1])
    seconds = speech.duration_ms / 1000
    print(f"\nKokoro: {speech.duration_ms} ms of audio in {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"(RTF {wall / seconds:.2f} wall, {cpu / seconds:.2f} CPU-s per s)")
    assert 2500 < speech.duration_ms < 8000
    # CPU time, not wall time, so a busy machine does not fail the test: about 0.8-1.2
    # CPU-s per second of audio with 2 threads.
    assert cpu / seconds < 3.0


def test_speed_shortens_and_silence_is_trimmed(backend, spoken):
    voice = CAST[1]
    normal = spoken(voice)[0]
    fast = backend.synthesize(TWO_SENTENCES, voice, EN, speed=1.3)
    assert fast.duration_ms / normal.duration_ms == pytest.approx(1 / 1.3, rel=0.12)
    frame = RATE // 100
    rms = np.sqrt(np.mean(normal.samples[: len(normal.samples) // frame * frame].reshape(-1, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 0.01)
    assert loud[0] <= 6 and len(rms) - 1 - loud[-1] <= 6  # at most ~60 ms of edge silence


def test_long_text_is_chunked(backend, spoken, monkeypatch):
    voice = CAST[0]
    whole = spoken(voice)[0]
    monkeypatch.setattr(kokoro, "MAX_TOKENS", 40)  # force cuts at the sentence end and between words
    parts = backend.synthesize(TWO_SENTENCES, voice, EN)
    assert parts.duration_ms == pytest.approx(whole.duration_ms, rel=0.2)


def test_errors(backend):
    with pytest.raises(UnspeakableText, match="empty"):
        backend.synthesize("   ", CAST[0], EN)
    with pytest.raises(UnspeakableText, match="nothing pronounceable"):
        backend.synthesize("...!? 🙂", CAST[0], EN)
    with pytest.raises(ConfigError, match="Kokoro does not cover th-TH"):
        backend.synthesize("สวัสดี", CAST[0], get_locale("th-TH"))
    with pytest.raises(ConfigError, match="unknown Kokoro voice"):
        backend.synthesize("Hello.", Voice("kokoro", "af_heart", "female"), EN)
    assert not backend.supports(get_locale("id-ID")) and backend.supports(get_locale("pt-BR"))
