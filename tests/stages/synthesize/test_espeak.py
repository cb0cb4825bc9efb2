"""espeak-ng fallback voices, for the markets Kokoro does not cover."""

from __future__ import annotations

import numpy as np
import pytest

from localize.errors import ToolError, UnspeakableText
from localize.locales import get_locale
from localize.stages.synthesize import Voice, backend_for
from localize.stages.synthesize import phonemes as ph
from localize.stages.synthesize.espeak import EspeakBackend, espeak_argv, installed_voices

LINES = {
    "id-ID": "Aku tidak akan pernah memaafkanmu.",
    "th-TH": "ฉันจะไม่มีวันให้อภัยคุณ",
    "ar-SA": "لن أسامحك أبدا",
}


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


@pytest.mark.parametrize("tag", sorted(LINES))
def test_fallback_speaks_uncovered_markets(tag):
    locale = get_locale(tag)
    backend = backend_for(locale)
    assert backend.name == "espeak"
    speech = backend.synthesize(LINES[tag], backend.voices()[0], locale)
    assert speech.rate == 22050
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert 800 < speech.duration_ms < 5000
    assert rms_db(speech.samples) > -30  # real speech, not a whisper of noise
    assert np.abs(speech.samples).max() <= 1.0


def test_speed_maps_to_words_per_minute():
    locale = get_locale("id-ID")
    backend = EspeakBackend()
    voice = Voice("espeak", "f3", "female")
    slow = backend.synthesize(LINES["id-ID"], voice, locale, speed=1.0).duration_ms
    fast = backend.synthesize(LINES["id-ID"], voice, locale, speed=1.5).duration_ms
    assert fast < slow * 0.8
    assert espeak_argv("hi", voice, locale, 1.5)[5:7] == ["-s", "262"]


def test_argv_carries_variant_and_pitch():
    argv = espeak_argv("-halo", Voice("espeak", "m1", "male", pitch=-2.0), get_locale("id-ID"))
    assert argv == ["espeak-ng", "-v", "id+m1", "-p", "38", "-s", "175", "--stdout", "--", "-halo"]


def test_empty_text_is_an_error():
    with pytest.raises(UnspeakableText, match="empty"):
        EspeakBackend().synthesize("  \n", Voice("espeak", "m3", "male"), get_locale("id-ID"))


def test_missing_binary_is_a_tool_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    installed_voices.cache_clear()
    try:
        with pytest.raises(ToolError, match="espeak-ng not found"):
            EspeakBackend().synthesize("halo", Voice("espeak", "m3", "male"), get_locale("id-ID"))
    finally:
        monkeypatch.undo()
        installed_voices.cache_clear()
        ph.espeak_ipa.cache_clear()
