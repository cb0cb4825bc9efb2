"""A synthetic music bed for the sample episode, made with numpy alone.

Melodramatic minor-key loop: soft pads, a bass line, an arpeggio and light
percussion, arranged in sections so the texture changes over time, in stereo.
It is deterministic for a given seed, so the "true" background stem of a
sample episode is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Four-chord loops in A minor, as MIDI note numbers (root position triads plus a colour tone).
_PROGRESSIONS = [
    [(57, 60, 64, 67), (53, 57, 60, 64), (48, 52, 55, 59), (55, 59, 62, 66)],  # Am7 Fmaj7 Cmaj7 G
    [(50, 53, 57, 60), (57, 60, 64, 67), (52, 56, 59, 62), (57, 60, 64, 69)],  # Dm7 Am7 E7 Am
    [(53, 57, 60, 64), (55, 59, 62, 67), (52, 55, 59, 64), (57, 60, 64, 69)],  # Fmaj7 G Em Am
]

# Which layers play in each section: (pad, bass, arpeggio, percussion).
_SECTIONS = [(1, 0, 0, 0), (1, 1, 0, 0), (1, 1, 1, 0), (1, 1, 1, 1), (1, 1, 0, 1), (1, 0, 1, 0)]


@dataclass(frozen=True)
class MusicPlan:
    """Tempo and form of a music bed. One chord lasts one bar of four beats."""

    bpm: float = 84.0
    bars_per_section: int = 4
    seed: int = 0

    @property
    def bar_s(self) -> float:
        return 4 * 60.0 / self.bpm


def _hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


_TABLE_SIZE = 4096


def _wavetable(harmonics: int) -> np.ndarray:
    """One period of a soft saw-like tone: harmonics falling off as 1/k^1.5."""
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE * 2 * np.pi
    return sum(np.sin(k * phase) / k**1.5 for k in range(1, harmonics + 1))


def _osc(freq: float, t: np.ndarray, table: np.ndarray, phase: float = 0.0) -> np.ndarray:
    """Read ``table`` at ``freq`` Hz: one multiply and one lookup per sample, far cheaper than
    summing sines (the notes here stay low enough that the table's harmonics do not alias)."""
    index = ((freq * t + phase) * _TABLE_SIZE).astype(np.int64) % _TABLE_SIZE
    return table[index]


def _envelope(n: int, rate: int, attack: float, release: float) -> np.ndarray:
    env = np.ones(n, dtype=np.float64)
    a = min(n, int(attack * rate))
    r = min(n - a, int(release * rate))
    if a:
        env[:a] = np.linspace(0.0, 1.0, a)
    if r:
        env[n - r:] = np.linspace(1.0, 0.0, r)
    return env


def _add(buf: np.ndarray, start: int, sig: np.ndarray) -> None:
    end = min(len(buf), start + len(sig))
    if end > start >= 0:
        buf[start:end] += sig[: end - start]


def music_bed(n_samples: int, rate: int = 48000, plan: MusicPlan | None = None) -> np.ndarray:
    """Synthesise ``n_samples`` of stereo music at ``rate`` Hz; float32 (n, 2), peak normalised to 0.9."""
    from scipy.signal import butter, oaconvolve, sosfilt

    plan = plan or MusicPlan()
    rng = np.random.default_rng(plan.seed)
    left = np.zeros(n_samples, dtype=np.float64)
    right = np.zeros(n_samples, dtype=np.float64)
    bar = plan.bar_s
    beat = bar / 4
    n_bars = int(np.ceil(n_samples / rate / bar)) + 1
    order = rng.permutation(len(_PROGRESSIONS))
    section_order = [0] + list(rng.permutation(np.arange(1, len(_SECTIONS))))

    pad_l = np.zeros(n_samples)
    pad_r = np.zeros(n_samples)
    table = _wavetable(6)
    pads: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
    for b in range(n_bars):
        section = _SECTIONS[section_order[(b // plan.bars_per_section) % len(section_order)]]
        prog = _PROGRESSIONS[order[(b // (2 * plan.bars_per_section)) % len(order)]]
        chord = prog[b % 4]
        start = int(b * bar * rate)
        if start >= n_samples:
            break
        # Pad: each note slightly detuned left and right, overlapping the next bar for a legato swell.
        if chord not in pads:  # chords repeat, so each is rendered once
            length = int((bar + 0.6) * rate)
            t = np.arange(length) / rate
            env = 0.16 * _envelope(length, rate, attack=0.5, release=0.9)
            pads[chord] = (env * sum(_osc(_hz(note) * 0.998, t, table, rng.uniform()) for note in chord),
                           env * sum(_osc(_hz(note) * 1.002, t, table, rng.uniform()) for note in chord))
        _add(pad_l, start, pads[chord][0])
        _add(pad_r, start, pads[chord][1])
        if section[1]:  # bass: root, two notes per bar, plucked
            for half in range(2):
                note = chord[0] - 12 - (12 if chord[0] >= 55 else 0)
                length = int(2 * beat * rate)
                t = np.arange(length) / rate
                f = _hz(note + (7 if half and b % 2 else 0))
                sig = (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) * np.exp(-t * 2.2)
                sig *= _envelope(length, rate, 0.008, 0.05)
                _add(left, start + int(half * 2 * beat * rate), 0.55 * sig)
                _add(right, start + int(half * 2 * beat * rate), 0.55 * sig)
        if section[2]:  # arpeggio: eighth notes over the chord, an octave up, panned left/right
            pattern = [0, 1, 2, 3, 2, 1, 2, 3] if b % 2 == 0 else [0, 2, 1, 3, 0, 2, 3, 1]
            length = int(0.7 * rate)
            t = np.arange(length) / rate
            for i, idx in enumerate(pattern):
                f = _hz(chord[idx] + 12)
                sig = (np.sin(2 * np.pi * f * t) + 0.25 * np.sin(6 * np.pi * f * t)) * np.exp(-t * 6.0)
                sig *= _envelope(length, rate, 0.004, 0.05)
                pan = 0.3 if i % 2 else 0.7
                at = start + int(i * beat / 2 * rate)
                _add(left, at, 0.22 * pan * sig)
                _add(right, at, 0.22 * (1 - pan) * sig)
        if section[3]:  # percussion: soft kick on 1 and 3, brushed hat on off-beats
            klen = int(0.35 * rate)
            t = np.arange(klen) / rate
            freq = 45 + 80 * np.exp(-t * 25)
            kick = np.sin(2 * np.pi * np.cumsum(freq) / rate) * np.exp(-t * 9)
            for k in (0, 2):
                _add(left, start + int(k * beat * rate), 0.5 * kick)
                _add(right, start + int(k * beat * rate), 0.5 * kick)
            hlen = int(0.06 * rate)
            for k in range(4):
                hat = rng.standard_normal(hlen) * np.exp(-np.arange(hlen) / rate * 60)
                at = start + int((k + 0.5) * beat * rate)
                _add(left, at, 0.05 * hat)
                _add(right, at, 0.035 * hat)

    # Pads are dark and breathe slowly; everything gets a little room.
    sos = butter(2, 1800, btype="low", fs=rate, output="sos")
    lfo = 0.8 + 0.2 * np.sin(2 * np.pi * np.arange(n_samples) / rate / 7.3)
    left += sosfilt(sos, pad_l) * lfo
    right += sosfilt(sos, pad_r) * lfo
    hat_hp = butter(2, 40, btype="high", fs=rate, output="sos")  # no DC or subsonic rumble
    left = sosfilt(hat_hp, left)
    right = sosfilt(hat_hp, right)
    ir_len = int(1.2 * rate)
    decay = np.exp(-np.arange(ir_len) / rate * 4.0)
    ir_l = rng.standard_normal(ir_len) * decay * 0.02
    ir_r = rng.standard_normal(ir_len) * decay * 0.02
    left = left + oaconvolve(left, ir_l)[:n_samples]
    right = right + oaconvolve(right, ir_r)[:n_samples]

    out = np.stack([left, right], axis=1)
    fade_in = min(n_samples, int(1.0 * rate))
    fade_out = min(n_samples, int(2.0 * rate))
    out[:fade_in] *= np.linspace(0.0, 1.0, fade_in)[:, None]
    out[n_samples - fade_out:] *= np.linspace(1.0, 0.0, fade_out)[:, None]
    peak = float(np.max(np.abs(out))) or 1.0
    return (out * (0.9 / peak)).astype(np.float32)
