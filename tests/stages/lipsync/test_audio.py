"""Wav2Lip's mel front end, checked against librosa running the original recipe."""

from __future__ import annotations

import numpy as np
import pytest

from localize.stages.lipsync.audio import (WAV2LIP_MEL, hz_to_mel, mel_filterbank, mel_start, mel_to_hz, mel_window,
                                    mel_windows, melspectrogram)


def speechlike(seconds: float = 1.5, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * rate)) / rate
    voiced = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
    return (0.2 * voiced * envelope + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def test_hparams_match_the_original():
    p = WAV2LIP_MEL
    assert (p.sample_rate, p.n_fft, p.hop, p.win, p.n_mels) == (16000, 800, 200, 800, 80)
    assert (p.fmin, p.fmax, p.preemphasis) == (55, 7600, 0.97)
    assert (p.ref_level_db, p.min_level_db, p.max_abs_value) == (20, -100, 4)
    assert p.frames_per_second == 80


def test_mel_scale_is_slaney():
    assert hz_to_mel(1000.0) == pytest.approx(15.0)
    assert hz_to_mel(200.0) == pytest.approx(3.0)
    hz = np.array([55.0, 700.0, 1000.0, 4000.0, 7600.0])
    assert np.allclose(mel_to_hz(hz_to_mel(hz)), hz)


def test_filterbank_matches_librosa():
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(16000, 800, 80, 55, 7600)
    ref = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    assert ours.shape == (80, 401)
    assert np.abs(ours - ref).max() < 1e-6 * ref.max()


def test_melspectrogram_matches_original_recipe():
    librosa = pytest.importorskip("librosa")
    from scipy.signal import lfilter

    wav = speechlike()
    # The original: librosa 0.7 stft (centre, reflect padding, hann) of the preemphasised signal,
    # magnitude -> mel -> 20 log10 (floor 1e-5) - 20 dB -> [-4, 4].
    spec = np.abs(librosa.stft(y=lfilter([1, -0.97], [1], wav), n_fft=800, hop_length=200, win_length=800,
                               pad_mode="reflect"))
    db = 20 * np.log10(np.maximum(1e-5, librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55,
                                                             fmax=7600) @ spec)) - 20
    ref = np.clip(8 * (db + 100) / 100 - 4, -4, 4)
    ours = melspectrogram(wav)
    assert ours.shape == ref.shape == (80, 1 + len(wav) // 200)
    assert np.abs(ours - ref).max() < 1e-4
    assert ours.dtype == np.float32


def test_range_and_silence():
    assert np.all(melspectrogram(np.zeros(16000, np.float32)) == -4.0)
    loud = melspectrogram(np.clip(20 * speechlike(), -1, 1))
    assert -4.0 < loud.min() and 1.0 < loud.max() <= 4.0
    short = melspectrogram(np.zeros(100, np.float32))
    assert short.shape[0] == 80 and short.shape[1] >= 1


def test_window_indexing_follows_wav2lip():
    # 80 mel frames per second: int(80 * i / fps).
    assert [mel_start(i, 25.0) for i in range(6)] == [0, 3, 6, 9, 12, 16]
    assert [mel_start(i, 30.0) for i in (0, 1, 2, 3, 30)] == [0, 2, 5, 8, 80]
    mel = np.arange(80 * 100, dtype=np.float32).reshape(80, 100)
    assert np.array_equal(mel_window(mel, 5, 25.0), mel[:, 16:32])
    # Past the end: the last full window, as Wav2Lip's inference does.
    assert np.array_equal(mel_window(mel, 40, 25.0), mel[:, 84:100])
    stacked = mel_windows(mel, [0, 5, 40], 25.0)
    assert stacked.shape == (3, 1, 80, 16) and stacked.dtype == np.float32
    assert np.array_equal(stacked[1, 0], mel[:, 16:32])
    # Shorter than one window: padded with silence.
    tiny = mel_window(np.zeros((80, 5), np.float32), 0, 25.0)
    assert tiny.shape == (80, 16) and np.all(tiny[:, 5:] == -4.0)
