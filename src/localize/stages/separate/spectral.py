"""Shared spectral tools: STFT/ISTFT, mid/side handling and the Wiener-style bed filter."""

from __future__ import annotations

import numpy as np

# 4096 points at 48 kHz (85 ms, 11.7 Hz bins): fine enough to pass music between speech harmonics.
N_FFT = 4096
HOP = 1024


def _window(n_fft: int) -> np.ndarray:
    return np.hanning(n_fft + 1)[:-1].astype(np.float32)


def stft(signal: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Complex spectrogram (bins, frames) of a mono signal; frames are centred, padded by ``n_fft // 2``."""
    signal = np.asarray(signal, dtype=np.float32)
    pad = n_fft // 2
    padded = np.pad(signal, (pad, pad + hop))
    frames = 1 + (len(padded) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    return np.fft.rfft(padded[idx] * _window(n_fft), axis=1).T.astype(np.complex64)


def istft(spec: np.ndarray, length: int, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Inverse of :func:`stft` (weighted overlap-add), trimmed to ``length`` samples."""
    window = _window(n_fft)
    frames = spec.shape[1]
    chunks = np.fft.irfft(spec.T, n=n_fft, axis=1).astype(np.float32) * window
    total = n_fft + hop * (frames - 1)
    out = np.zeros(total, dtype=np.float32)
    norm = np.zeros(total, dtype=np.float32)
    for i in range(frames):
        out[i * hop: i * hop + n_fft] += chunks[i]
        norm[i * hop: i * hop + n_fft] += window ** 2
    out /= np.maximum(norm, 1e-8)
    pad = n_fft // 2
    return out[pad: pad + length]


def mid_side(mix: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split stereo into mid and side; mono passes through with no side.

    Dialogue is mixed to the centre, so the side channel holds music only and is kept whole.
    """
    if mix.ndim == 1:
        return mix.astype(np.float32), None
    if mix.shape[1] == 1:
        return mix[:, 0].astype(np.float32), None
    if mix.shape[1] != 2:
        # More than two channels: treat the downmix as the mid and leave the rest to the mask.
        return mix.mean(axis=1).astype(np.float32), None
    return ((mix[:, 0] + mix[:, 1]) / 2).astype(np.float32), ((mix[:, 0] - mix[:, 1]) / 2).astype(np.float32)


def apply_gain(mix: np.ndarray, gain: np.ndarray, mid: np.ndarray, side: np.ndarray | None) -> np.ndarray:
    """The bed: the mix with ``gain`` (bins x frames, the music share of the mid) applied.

    Stereo: the gain filters the mid only and the side comes back untouched. Mono and
    other layouts: every channel is filtered by the same gain. The result has the mix's shape.
    """
    if side is not None:
        bed_mid = istft(stft(mid) * gain, len(mid))
        return np.stack([bed_mid + side, bed_mid - side], axis=1).astype(np.float32)
    if mix.ndim == 1:
        return istft(stft(mix) * gain, len(mix))
    return np.stack([istft(stft(mix[:, ch]) * gain, len(mix)) for ch in range(mix.shape[1])], axis=1)


def band_matrix(n_bins: int, rate: int, bands: int = 96, fmin: float = 40.0, fmax: float = 16000.0) -> np.ndarray:
    """A (bands x bins) averaging matrix over log-spaced bands, to compare spectra cheaply."""
    freqs = np.fft.rfftfreq(2 * (n_bins - 1), 1.0 / rate)
    edges = np.geomspace(fmin, min(fmax, rate / 2), bands + 1)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        row = ((freqs >= lo) & (freqs < hi)).astype(np.float32)
        if not row.any():
            row[int(np.argmin(np.abs(freqs - lo)))] = 1.0
        rows.append(row / row.sum())
    return np.unique(np.array(rows), axis=0)


def wiener_gain(speech_power: np.ndarray, music_power: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Music gain ``Pm / (Pm + Ps)``, never below ``floor``."""
    gain = music_power / np.maximum(music_power + speech_power, 1e-20)
    return np.maximum(gain, floor).astype(np.float32)
