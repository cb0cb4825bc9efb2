"""Ducking and loudness: measured with BS.1770 (pyloudnorm) on real signals."""

import numpy as np
import pytest

from localize.stages.mix import (DUB_LINE_DBFS, PROSODY_MAX_DB, MixOptions, active_level_db, apply_prosody,
                                 integrated_lufs, line_energies, mix, smooth_gate, true_peak_db)

RATE = 48000


def _music(seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    tone = level * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 330 * t))
    return np.stack([tone, 0.8 * tone], axis=1).astype(np.float32)


def _voice_burst(seconds: float, start: float, length: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    track = np.zeros(int(seconds * RATE), dtype=np.float32)
    a, b = int(start * RATE), int((start + length) * RATE)
    t = np.arange(b - a) / RATE
    track[a:b] = 0.5 * np.sin(2 * np.pi * 180 * t) * (1 + 0.3 * rng.standard_normal(b - a)).clip(0, 2)
    return track


def test_mix_hits_target_loudness_and_true_peak():
    out, figures = mix(_music(12), _voice_burst(12, 3, 4), RATE, MixOptions())
    assert abs(integrated_lufs(out, RATE) + 14.0) < 0.5
    assert true_peak_db(out, RATE) <= -1.0
    assert figures["true_peak_db"] <= -1.0
    assert out.shape[1] == 2  # stereo bed keeps its image


def test_mix_ducks_the_bed_under_the_dub_only():
    music = _music(12)
    out, _ = mix(music, np.zeros(len(music), dtype=np.float32), RATE, MixOptions(), duck_spans=[(4000, 8000)])
    ratio_db = 20 * np.log10(np.abs(out[5 * RATE:7 * RATE, 0]).mean() / np.abs(out[1 * RATE:3 * RATE, 0]).mean())
    assert -14.0 < ratio_db < -10.0  # about the -12 dB duck
    assert np.allclose(out[:, 1], 0.8 * out[:, 0], atol=1e-3)  # channel balance kept


def test_gate_is_smooth_no_pumping():
    active = np.zeros(RATE * 4, dtype=np.float32)
    active[RATE:2 * RATE] = 1
    curve = smooth_gate(active, RATE, attack_ms=80, release_ms=400)
    step = np.abs(np.diff(curve)).max()
    assert step < 0.01  # no jump bigger than 1% per sample
    assert curve[int(1.5 * RATE)] > 0.95 and curve[int(3.8 * RATE)] < 0.05


# --- prosody: the original line's energy carried into the dub, on real (espeak-ng) speech ---

@pytest.fixture(scope="module")
def spoken():
    """Three espeak-ng lines at the stem rate: two at conversation level, one shouted (+9 dB)."""
    from localize.audio import resample
    from localize.locales import get_locale
    from localize.stages.synthesize import VOICES, Voice

    backend = VOICES.create("espeak")
    locale = get_locale("en-US")
    texts = ["I told you to wait for me at the door.", "Why did you never call me back?",
             "Get out of my house right now!"]
    source = [backend.synthesize(t, Voice("espeak", "f3", "female"), locale) for t in texts]
    dub = [backend.synthesize(t, Voice("espeak", "m3", "male"), locale) for t in texts]
    lines = [resample(s.samples, s.rate, RATE) for s in source]
    return lines, dub


def test_line_energies_find_the_shouted_line(spoken):
    lines, _ = spoken
    levels_db = [-24.0, -24.0, -15.0]
    stem = np.zeros(12 * RATE, dtype=np.float32)
    spans = []
    for k, (line, level) in enumerate(zip(lines, levels_db)):
        start = (1 + 4 * k) * RATE
        scaled = line * 10 ** ((level - active_level_db(line, RATE)) / 20)
        stem[start:start + len(scaled)] = scaled
        spans.append((start * 1000 // RATE, (start + len(scaled)) * 1000 // RATE))
    stem += (1e-4 * np.random.default_rng(1).standard_normal(len(stem))).astype(np.float32)  # room noise
    energies = line_energies(stem, RATE, spans)
    assert energies[0] == pytest.approx(0.0, abs=0.3)
    assert energies[2] == pytest.approx(9.0, abs=0.5)


def test_apply_prosody_keeps_a_shouted_line_loud_and_bounded(spoken):
    _, dub = spoken
    out = [apply_prosody(s.samples, s.rate, energy) for s, energy in zip(dub, [0.0, -3.0, 9.0])]
    levels = [active_level_db(clip, s.rate) for (clip, _), s in zip(out, dub)]
    assert levels[0] == pytest.approx(DUB_LINE_DBFS, abs=0.2)
    assert levels[1] - levels[0] == pytest.approx(-3.0, abs=0.3)
    # +9 dB measured, bounded to +6 dB (or less if the peak would clip).
    assert 4.0 <= levels[2] - levels[0] <= PROSODY_MAX_DB + 0.2
    assert max(np.abs(clip).max() for clip, _ in out) <= 0.98 + 1e-6
    for (clip, gain_db), s in zip(out, dub):  # the reported gain is the gain applied
        assert active_level_db(clip, s.rate) - active_level_db(s.samples, s.rate) == pytest.approx(gain_db, abs=0.05)


def test_apply_prosody_leaves_silence_alone():
    clip, gain = apply_prosody(np.zeros(RATE, dtype=np.float32), RATE, 5.0)
    assert gain == 0.0 and not clip.any()
    assert line_energies(np.zeros(RATE, dtype=np.float32), RATE, [(0, 500)]) == [0.0]
