"""Wav2Lip's audio front end: the normalised log-mel spectrogram and its per-frame windows.

Numbers from the original ``hparams.py``/``audio.py`` (librosa 0.7 era):
16 kHz; preemphasis 0.97 (``lfilter([1, -0.97], [1])``); STFT n_fft 800, hop 200, win 800,
periodic Hann window, centred frames with reflect padding; magnitude (not power);
80 Slaney mel bands from 55 to 7600 Hz with Slaney area normalisation; dB with a floor of
-100 dB, minus ref_level_db 20; then mapped from [-100, 0] dB to [-4, 4] and clipped.
No loudness rescaling is applied at inference (``rescale`` is a training-data option).

Hop 200 at 16 kHz gives 80 mel frames per second; each video frame ``i`` gets the 16 mel
frames starting at ``int(80 * i / fps)`` (0.2 s), the last window when that runs past the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MelParams:
    """Wav2Lip's mel settings (defaults are the values every public checkpoint was trained with)."""

    sample_rate: int = 16000
    n_fft: int = 800
    hop: int = 200
    win: int = 800
    n_mels: int = 80
    fmin: float = 55.0
    fmax: float = 7600.0
    preemphasis: float = 0.97
    ref_level_db: float = 20.0
    min_level_db: float = -100.0
    max_abs_value: float = 4.0

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop


WAV2LIP_MEL = MelParams()
MEL_STEPS = 16


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mel per 200 Hz), logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    linear = hz / f_sp
    log = min_log_mel + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep
    return np.where(hz >= min_log_hz, log, linear)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular Slaney mel filters, area-normalised, shape (n_mels, 1 + n_fft // 2).

    Same construction as librosa's default (``htk=False, norm='slaney'``): n_mels + 2 points
    evenly spaced in mel, triangles over the FFT bin frequencies, each scaled by
    2 / (upper edge - lower edge) in Hz so every filter has roughly unit area.
    """
    bins = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def _stft_magnitude(samples: np.ndarray, n_fft: int, hop: int, win: int) -> np.ndarray:
    """|STFT| with centred frames (reflect padding) and a periodic Hann window; (1 + n_fft//2, frames)."""
    pad = n_fft // 2
    if len(samples) <= pad:
        # reflect padding needs more samples than the pad; a too-short clip is padded with zeros first.
        samples = np.pad(samples, (0, pad + 1 - len(samples)))
    padded = np.pad(samples, (pad, pad), mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)
    if win < n_fft:  # centre a shorter window inside the FFT frame
        left = (n_fft - win) // 2
        window = np.pad(window, (left, n_fft - win - left))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
    return np.abs(np.fft.rfft(frames * window, axis=1)).T


_BASIS_CACHE: dict[MelParams, np.ndarray] = {}


def melspectrogram(samples: np.ndarray, params: MelParams = WAV2LIP_MEL) -> np.ndarray:
    """Wav2Lip's normalised log-mel spectrogram of mono ``samples`` at ``params.sample_rate``.

    Returns float32 (n_mels, frames) in [-max_abs_value, max_abs_value], about 80 frames/s.
    """
    from scipy.signal import lfilter

    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples, got shape {x.shape}")
    x = lfilter([1.0, -params.preemphasis], [1.0], x)
    magnitude = _stft_magnitude(x, params.n_fft, params.hop, params.win)
    basis = _BASIS_CACHE.get(params)
    if basis is None:
        basis = _BASIS_CACHE[params] = mel_filterbank(params.sample_rate, params.n_fft, params.n_mels,
                                                      params.fmin, params.fmax).astype(np.float64)
    mel = basis @ magnitude
    floor = 10.0 ** (params.min_level_db / 20.0)
    db = 20.0 * np.log10(np.maximum(floor, mel)) - params.ref_level_db
    scaled = 2.0 * params.max_abs_value * (db - params.min_level_db) / (-params.min_level_db) - params.max_abs_value
    return np.clip(scaled, -params.max_abs_value, params.max_abs_value).astype(np.float32)


def mel_start(frame_index: int, fps: float, params: MelParams = WAV2LIP_MEL) -> int:
    """First mel frame of video frame ``frame_index``: ``int(80 * i / fps)`` as Wav2Lip trains and infers."""
    return int(params.frames_per_second * frame_index / fps)


def mel_window(mel: np.ndarray, frame_index: int, fps: float, steps: int = MEL_STEPS,
               params: MelParams = WAV2LIP_MEL) -> np.ndarray:
    """The (n_mels, steps) window for one video frame; the last full window past the end."""
    if mel.shape[1] < steps:
        mel = np.pad(mel, ((0, 0), (0, steps - mel.shape[1])), constant_values=-params.max_abs_value)
    start = min(mel_start(frame_index, fps, params), mel.shape[1] - steps)
    return mel[:, start:start + steps]


def mel_windows(mel: np.ndarray, frame_indices: list[int] | np.ndarray, fps: float, steps: int = MEL_STEPS,
                params: MelParams = WAV2LIP_MEL) -> np.ndarray:
    """Stacked windows for ``frame_indices``: float32 (N, 1, n_mels, steps), ready for the generator."""
    out = np.empty((len(frame_indices), 1, mel.shape[0], steps), dtype=np.float32)
    for row, index in enumerate(frame_indices):
        out[row, 0] = mel_window(mel, int(index), fps, steps, params)
    return out
