"""Mix: lay the dub over the background, duck the background under it, and hit the market loudness."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from localize.audio import db_to_gain, ms_to_samples, resample

VERSION = "3"

# Prosody transfer: every dub clip is levelled to DUB_LINE_DBFS (active-speech RMS), then given
# its original line's level relative to the episode's median line, bounded to +-PROSODY_MAX_DB
# so a mis-measured line (music bleed, a whisper) cannot blow up or vanish.
DUB_LINE_DBFS = -26.0  # low enough that +6 dB on speech (crest ~18 dB) stays below full scale
PROSODY_MAX_DB = 6.0
# Levelling a clip never moves it by more than this (a near-silent clip is not amplified into noise).
MAX_LEVELLING_DB = 20.0


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
    # Mix the dialogue stem's non-verbal vocals (gasps, sobs, laughter) outside the lines back into the bed.
    keep_nonverbal: bool = False


@dataclass
class PlacedClip:
    """A dub clip (mono float32) and where it starts in the episode."""

    start_ms: int
    samples: np.ndarray
    rate: int


def active_level_db(samples: np.ndarray, rate: int, *, threshold_db: float = -35.0) -> float:
    """Active-speech level in dBFS: RMS over the 20 ms frames within ``threshold_db`` of the
    loudest one (and above -60 dBFS), so pauses inside a line do not lower it. -inf for silence."""
    x = np.asarray(samples, dtype=np.float64)
    frame = max(1, rate // 50)
    n = len(x) // frame
    if n == 0:
        return float("-inf")
    power = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    floor = max(power.max() * 10 ** (threshold_db / 10), 10 ** (-60 / 10))
    keep = power > floor
    return float(10 * np.log10(power[keep].mean())) if keep.any() else float("-inf")


def line_energies(dialogue: np.ndarray, rate: int, spans: list[tuple[int, int]]) -> list[float]:
    """Each span's active level on the (mono) dialogue stem, in dB relative to the median line.

    Lines with no measurable speech get 0 dB (no change) and are left out of the median.
    """
    levels = [active_level_db(dialogue[ms_to_samples(a, rate):ms_to_samples(b, rate)], rate) for a, b in spans]
    finite = [level for level in levels if np.isfinite(level)]
    if not finite:
        return [0.0] * len(spans)
    median = float(np.median(finite))
    return [round(level - median, 2) if np.isfinite(level) else 0.0 for level in levels]


def apply_prosody(clip: np.ndarray, rate: int, energy_db: float, *, max_db: float = PROSODY_MAX_DB,
                  reference_dbfs: float = DUB_LINE_DBFS) -> tuple[np.ndarray, float]:
    """Level ``clip`` to ``reference_dbfs`` plus the original line's relative ``energy_db``
    (bounded to +-``max_db``); returns the clip and the gain applied in dB.

    The gain is lowered where it would push a sample past full scale.
    """
    level = active_level_db(clip, rate)
    if not np.isfinite(level):
        return clip.astype(np.float32, copy=False), 0.0
    wanted = reference_dbfs + float(np.clip(energy_db, -max_db, max_db))
    gain_db = float(np.clip(wanted - level, -MAX_LEVELLING_DB, MAX_LEVELLING_DB))
    peak = float(np.max(np.abs(clip))) if len(clip) else 0.0
    if peak > 0:
        gain_db = min(gain_db, 20 * np.log10(0.98 / peak))
    return (clip * db_to_gain(gain_db)).astype(np.float32), round(gain_db, 2)


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


def oversampled_peaks(samples: np.ndarray, rate: int) -> np.ndarray:
    """Per sample, the largest magnitude among its four 4x-oversampled values over all channels."""
    n = len(samples)
    peaks = np.zeros(n, dtype=np.float32)
    # Channel by channel and phase by phase: numpy reduces a short last axis (2 channels, 4 phases)
    # several times slower than it takes elementwise maxima of whole arrays.
    for channel in np.asarray(samples, dtype=np.float32).reshape(n, -1).T:
        over = resample(np.ascontiguousarray(channel), rate, rate * 4)  # exactly 4x the samples
        for phase in range(4):
            np.maximum(peaks, np.abs(over[phase::4]), out=peaks)
    return peaks


def _peak_db(peaks: np.ndarray) -> float:
    peak = float(np.max(peaks)) if peaks.size else 0.0
    return 20.0 * np.log10(peak) if peak > 1e-9 else -120.0


def true_peak_db(samples: np.ndarray, rate: int) -> float:
    """True peak in dBTP from 4x oversampling (BS.1770 annex 2)."""
    return _peak_db(oversampled_peaks(samples, rate))


def limit_true_peak(samples: np.ndarray, rate: int, ceiling_db: float, peaks: np.ndarray | None = None) -> np.ndarray:
    """A look-ahead peak limiter on the oversampled signal, with smooth gain recovery.

    ``peaks`` is :func:`oversampled_peaks` of ``samples`` when the caller has it already.
    """
    ceiling = db_to_gain(ceiling_db)
    if peaks is None:
        peaks = oversampled_peaks(samples, rate)
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9))
    # Hold the minimum over a 5 ms window, then smooth so the gain never jumps.
    window = max(1, rate // 200)
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    held = minimum_filter1d(needed, size=2 * window + 1)
    gain = np.minimum(uniform_filter1d(held, size=window), needed)
    gain = minimum_filter1d(gain, size=3)
    return samples * (gain[:, None] if samples.ndim == 2 else gain)


def normalize_loudness(samples: np.ndarray, rate: int, options: MixOptions) -> tuple[np.ndarray, dict]:
    """Bring ``samples`` to the target loudness with true peaks under the ceiling.

    A plain gain moves loudness and peaks by exactly its dB, so only the limiter's output
    is measured again (oversampling and gating cost about a second each on an episode).
    """
    ceiling = options.true_peak_db - options.peak_margin_db
    out = samples
    loudness = integrated_lufs(out, rate)
    peaks: np.ndarray | None = None
    for _ in range(4):
        if not np.isfinite(loudness):
            break
        gain = db_to_gain(options.target_lufs - loudness)
        out, loudness = out * gain, options.target_lufs
        peaks = peaks * gain if peaks is not None else oversampled_peaks(out, rate)
        if _peak_db(peaks) > ceiling:
            out = limit_true_peak(out, rate, ceiling, peaks)
            loudness, peaks = integrated_lufs(out, rate), None
        if abs(loudness - options.target_lufs) < 0.2:
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


def nonverbal_vocals(dialogue: np.ndarray, rate: int, line_spans: list[tuple[int, int]], *, margin_ms: int = 250,
                     fade_ms: int = 40, below_speech_db: float = 30.0, floor_db: float = -55.0,
                     min_event_ms: int = 80) -> np.ndarray:
    """The vocal events of a mono dialogue stem that lie outside every line span, faded in and out.

    Lines (widened by ``margin_ms``, so no dubbed word's edge leaks through) are dubbed over and
    are never kept. Elsewhere, 10 ms frames louder than ``below_speech_db`` under the stem's speech
    level (its 95th-percentile frame inside the lines) and than ``floor_db`` dBFS count as
    vocal: this keeps gasps, sobs and laughter but not the separator's faint music residue.
    Events shorter than ``min_event_ms`` are dropped; each one ramps over ``fade_ms``.
    Returns a track shaped like ``dialogue``: the stem where kept, zero elsewhere.
    """
    from scipy.ndimage import binary_closing, binary_dilation, binary_erosion, uniform_filter1d

    dialogue = np.asarray(dialogue, dtype=np.float32)
    hop = max(1, rate // 100)
    frames = int(np.ceil(len(dialogue) / hop))
    if frames == 0:
        return np.zeros_like(dialogue)
    padded = np.zeros(frames * hop, dtype=np.float64)
    padded[: len(dialogue)] = dialogue
    level = 10 * np.log10(np.mean(padded.reshape(frames, hop) ** 2, axis=1) + 1e-12)
    hop_ms = 1000 * hop / rate
    lines = np.zeros(frames, dtype=bool)
    for start_ms, end_ms in line_spans:
        first = max(0, int((start_ms - margin_ms) // hop_ms))
        lines[first: max(first, int(np.ceil((end_ms + margin_ms) / hop_ms)))] = True
    speech = np.percentile(level[lines], 95) if lines.any() else np.percentile(level, 95)
    allowed = ~lines
    events = (level > max(speech - below_speech_db, floor_db)) & allowed
    # Bridge the short dips inside one sob or laugh, then drop clicks.
    events = binary_closing(events, structure=np.ones(5, dtype=bool)) & allowed
    padded_events = np.concatenate([[False], events, [False]])
    edges = np.flatnonzero(np.diff(padded_events.astype(np.int8)))
    for start, end in zip(edges[::2], edges[1::2]):
        if (end - start) * hop_ms < min_event_ms:
            events[start:end] = False
    # Widen by half a fade (within the allowed frames), then ramp: the fade lies inside the widened event.
    half = max(1, int(round(fade_ms / hop_ms / 2)))
    structure = np.ones(2 * half + 1, dtype=bool)
    widened = binary_dilation(events, structure=structure) & allowed
    core = binary_erosion(widened, structure=structure, border_value=0)
    gain = uniform_filter1d(core.astype(np.float32), size=2 * half + 1, mode="constant")
    gain[~widened] = 0.0
    positions = (np.arange(len(dialogue)) + 0.5) / hop - 0.5
    return (dialogue * np.interp(positions, np.arange(frames), gain)).astype(np.float32)


def add_nonverbal(bed: np.ndarray, rate: int, dialogue: np.ndarray, dialogue_rate: int,
                  line_spans: list[tuple[int, int]]) -> tuple[np.ndarray, int]:
    """``bed`` (mono or stereo) with :func:`nonverbal_vocals` of the mono ``dialogue`` stem mixed in,
    centred; returns the bed and the kept events' total length in ms."""
    from localize.audio import to_mono

    vocals = nonverbal_vocals(to_mono(dialogue), dialogue_rate, line_spans)
    kept_ms = int(np.count_nonzero(vocals) * 1000 / dialogue_rate)
    vocals = resample(vocals, dialogue_rate, rate)
    track = np.zeros(len(bed), dtype=np.float32)
    track[: min(len(bed), len(vocals))] = vocals[: len(bed)]
    return (bed + (track[:, None] if bed.ndim == 2 else track)).astype(np.float32), kept_ms
