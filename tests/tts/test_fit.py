"""Fitting lines into slots, and the WSOLA / pitch-shift DSP underneath."""

from __future__ import annotations

import numpy as np
import pytest

from localize.errors import ConfigError
from localize.locales import get_locale
from localize.tts import VOICES, Voice, fit_to_slot, pitch_shift, time_stretch

RATE = 24000


def tone(f0: float = 150.0, seconds: float = 3.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.2 * np.sin(2 * np.pi * 2 * f0 * t + 1.0)
            + 0.1 * np.sin(2 * np.pi * 3 * f0 * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("tempo", [0.8, 1.1, 1.25, 1.5])
def test_time_stretch_changes_length_not_pitch(tempo):
    x = tone()
    y = time_stretch(x, RATE, tempo)
    assert len(y) == round(len(x) / tempo)
    assert peak_hz(y) == pytest.approx(150.0, abs=1.0)
    # No overlap-add dips or bumps: the steady tone keeps its level.
    assert np.abs(y[2000:-2000]).max() == pytest.approx(np.abs(x).max(), rel=0.05)


@pytest.mark.parametrize("semitones", [-4.0, -2.0, 2.0])
def test_pitch_shift_moves_pitch_keeps_length(semitones):
    x = tone()
    y = pitch_shift(x, RATE, semitones)
    assert len(y) == len(x)
    assert peak_hz(y) == pytest.approx(150.0 * 2 ** (semitones / 12), rel=0.01)


def test_time_stretch_rejects_bad_tempo():
    with pytest.raises(ConfigError):
        time_stretch(tone(), RATE, 0.0)


@pytest.fixture(scope="module")
def espeak_line():
    backend = VOICES.create("espeak")
    locale = get_locale("id-ID")
    voice = Voice("espeak", "m3", "male")
    text = "Kamu tidak pernah mengerti betapa aku mencintaimu selama ini."
    natural = backend.synthesize(text, voice, locale).duration_ms
    return backend, locale, voice, text, natural


def test_fit_keeps_natural_speed_when_it_fits(espeak_line):
    backend, locale, voice, text, natural = espeak_line
    fitted = fit_to_slot(backend, text, voice, locale, slot_ms=natural + 500)
    assert (fitted.speed, fitted.stretch, fitted.fits) == (1.0, 1.0, True)
    assert fitted.duration_ms == natural == fitted.speech.duration_ms


def test_fit_speeds_up_within_bounds(espeak_line):
    backend, locale, voice, text, natural = espeak_line
    slot = int(natural * 0.85)
    fitted = fit_to_slot(backend, text, voice, locale, slot_ms=slot)
    assert fitted.fits and fitted.duration_ms <= slot
    assert 1.0 < fitted.speed <= 1.3
    assert 1.0 <= fitted.stretch <= 1.25
    assert fitted.duration_ms > slot * 0.8  # not squeezed far more than needed


def test_fit_stretches_after_max_speed(espeak_line):
    backend, locale, voice, text, natural = espeak_line
    slot = int(natural * 0.65)  # 1.3 speed alone cannot reach it; 1.3 x 1.25 = 1.63 can
    fitted = fit_to_slot(backend, text, voice, locale, slot_ms=slot)
    assert fitted.speed == 1.3
    assert 1.0 < fitted.stretch <= 1.25
    assert fitted.fits and fitted.duration_ms <= slot


def test_fit_reports_lines_that_cannot_fit(espeak_line):
    backend, locale, voice, text, natural = espeak_line
    slot = int(natural * 0.4)
    fitted = fit_to_slot(backend, text, voice, locale, slot_ms=slot)
    assert (fitted.speed, fitted.stretch, fitted.fits) == (1.3, 1.25, False)
    assert fitted.duration_ms > slot
    assert fitted.duration_ms == fitted.speech.duration_ms


def test_fit_rejects_empty_slot(espeak_line):
    backend, locale, voice, text, _ = espeak_line
    with pytest.raises(ConfigError):
        fit_to_slot(backend, text, voice, locale, slot_ms=0)
