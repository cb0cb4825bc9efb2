"""Mix: lay the dub over the background, duck the background under it, and hit the market loudness."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio import db_to_gain, ms_to_samples, resample

VERSION = "1"


@dataclass(frozen=True)
class MixOptions:
    """Loudness target (BS.1770 integrated) and ducking behaviour."""

    target_lufs: float = -14.0
    true_peak_db: float = -1.0
    duck_db: float = -12.0
    attack_ms: int = 80
    release_ms: int = 400
    # Headroom under the true-peak ceiling so AAC encoding does not push peaks over it.
    peak_margin_db: float = 0.7


@dataclass
class PlacedClip:
    """A dub clip (mono float32) and where it starts in the episode."""

    start_ms: int
    samples: np.ndarray
    rate: int


def place_clips(clips: list[PlacedClip], length: int, rate: int) -> np.ndarray:
    """Sum clips into one mono track of ``length`` samples at ``rate``."""
    track = np.zeros(length, dtype=np.float32)
    for clip in clips:
        data = resample(clip.samples, clip.rate, rate)
        start = ms_to_samples(clip.start_ms, rate)
        end = min(length, start + len(data))
        if end > start:
            track[start:end] += data[: end - start]
    return track


def smooth_gate(active: np.ndarray, rate: int, attack_ms: int, release_ms: int) -> np.ndarray:
    """Turn a 0/1 activity mask into a smooth 0..1 curve with separate attack and release.

    Runs on a 10 ms grid, then interpolates, so the curve has no sample-level ripple (no pumping).
    """
    hop = max(1, rate // 100)
    frames = int(np.ceil(len(active) / hop))
    padded = np.zeros(frames * hop, dtype=np.float32)
    padded[: len(active)] = active
    frame_active = padded.reshape(frames, hop).max(axis=1)
    attack = 1.0 - np.exp(-10.0 / max(attack_ms, 1))
    release = 1.0 - np.exp(-10.0 / max(release_ms, 1))
    curve = np.empty(frames, dtype=np.float32)
    level = 0.0
    # Look ahead by the attack time so the duck is fully down when the line starts.
    lead = max(1, attack_ms // 10)
    ahead = np.concatenate([frame_active[lead:], np.zeros(lead, dtype=np.float32)])
    target = np.maximum(frame_active, ahead)
    for i, goal in enumerate(target):
        coeff = attack if goal > level else release
        level += coeff * (goal - level)
        curve[i] = level
    positions = (np.arange(len(active)) + 0.5) / hop - 0.5
    return np.interp(positions, np.arange(frames), curve).astype(np.float32)


def activity(track: np.ndarray, rate: int, threshold_db: float = -45.0) -> np.ndarray:
    """1 where a mono track has signal above ``threshold_db`` (10 ms frames), else 0."""
    hop = max(1, rate // 100)
    frames = int(np.ceil(len(track) / hop))
    padded = np.zeros(frames * hop, dtype=np.float32)
    padded[: len(track)] = np.abs(track)
    peak = padded.reshape(frames, hop).max(axis=1)
    mask = (peak > db_to_gain(threshold_db)).astype(np.float32)
    return np.repeat(mask, hop)[: len(track)]


def spans_mask(spans: list[tuple[int, int]], length: int, rate: int) -> np.ndarray:
    mask = np.zeros(length, dtype=np.float32)
    for start_ms, end_ms in spans:
        mask[ms_to_samples(start_ms, rate):ms_to_samples(end_ms, rate)] = 1.0
    return mask


def integrated_lufs(samples: np.ndarray, rate: int) -> float:
    """BS.1770 integrated loudness (pyloudnorm); -inf for silence."""
    import pyloudnorm

    data = samples if samples.ndim == 2 else samples[:, None]
    return float(pyloudnorm.Meter(rate).integrated_loudness(data))


def true_peak_db(samples: np.ndarray, rate: int) -> float:
    """True peak in dBTP from 4x oversampling (BS.1770 annex 2)."""
    over = resample(samples, rate, rate * 4)
    peak = float(np.max(np.abs(over))) if over.size else 0.0
    return 20.0 * np.log10(peak) if peak > 1e-9 else -120.0


def limit_true_peak(samples: np.ndarray, rate: int, ceiling_db: float) -> np.ndarray:
    """A look-ahead peak limiter on the oversampled signal, with smooth gain recovery."""
    ceiling = db_to_gain(ceiling_db)
    over = resample(samples, rate, rate * 4)
    peaks = np.abs(over) if over.ndim == 1 else np.abs(over).max(axis=1)
    peaks = peaks.reshape(len(samples), 4).max(axis=1)  # resample_poly gives exactly 4x the samples
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9))
    # Hold the minimum over a 5 ms window, then smooth so the gain never jumps.
    window = max(1, rate // 200)
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    held = minimum_filter1d(needed, size=2 * window + 1)
    gain = np.minimum(uniform_filter1d(held, size=window), needed)
    gain = minimum_filter1d(gain, size=3)
    return samples * (gain[:, None] if samples.ndim == 2 else gain)


def normalize_loudness(samples: np.ndarray, rate: int, options: MixOptions) -> tuple[np.ndarray, dict]:
    """Bring ``samples`` to the target loudness with true peaks under the ceiling."""
    ceiling = options.true_peak_db - options.peak_margin_db
    out = samples
    for _ in range(4):
        loudness = integrated_lufs(out, rate)
        if not np.isfinite(loudness):
            break
        out = out * db_to_gain(options.target_lufs - loudness)
        if true_peak_db(out, rate) > ceiling:
            out = limit_true_peak(out, rate, ceiling)
        if abs(integrated_lufs(out, rate) - options.target_lufs) < 0.2:
            break
    out = np.clip(out, -db_to_gain(ceiling), db_to_gain(ceiling))
    return out.astype(np.float32), {"lufs": round(integrated_lufs(out, rate), 2),
                                    "true_peak_db": round(true_peak_db(out, rate), 2)}


def mix(bed: np.ndarray, dub: np.ndarray, rate: int, options: MixOptions,
        duck_spans: list[tuple[int, int]] = ()) -> tuple[np.ndarray, dict]:
    """Duck ``bed`` (mono or stereo) under ``dub`` (mono) and the given spans, add the dub, normalise."""
    active = np.maximum(activity(dub, rate), spans_mask(list(duck_spans), len(dub), rate))
    curve = smooth_gate(active, rate, options.attack_ms, options.release_ms)
    bed_gain = 1.0 - (1.0 - db_to_gain(options.duck_db)) * curve
    if bed.ndim == 2:
        mixed = bed * bed_gain[:, None] + dub[:, None]
    else:
        mixed = bed * bed_gain + dub
    return normalize_loudness(mixed, rate, options)
