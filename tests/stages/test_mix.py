"""Ducking and loudness: measured with BS.1770 (pyloudnorm) on real signals."""

import numpy as np

from localize.stages.mix import MixOptions, integrated_lufs, mix, smooth_gate, true_peak_db

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
