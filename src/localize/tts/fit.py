"""Fit a synthesised line into its time slot, and the DSP that needs: WSOLA time
stretching and pitch shifting.

Order of remedies (sped-up dubs are the top complaint about dubbing tools): first the
TTS's own speed parameter, which keeps the voice natural, then a bounded
pitch-preserving stretch. Every line reports how much of each it needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import ConfigError
from ..locales import Locale
from .base import Speech, Voice, VoiceBackend


def time_stretch(samples: np.ndarray, rate: int, tempo: float, *, frame_ms: float = 25.0,
                 search_ms: float = 8.0) -> np.ndarray:
    """Change duration by 1/``tempo`` without changing pitch (WSOLA).

    ``tempo`` 1.25 makes the sound 25 % faster (output length = input / 1.25). Frames
    of ``frame_ms`` are overlap-added at half-frame steps; each next frame is taken
    from within ``search_ms`` of its nominal input position where it best continues
    the previous one (normalised cross-correlation), which keeps pitch periods intact.
    """
    x = np.asarray(samples, dtype=np.float32)
    if tempo <= 0:
        raise ConfigError(f"time-stretch tempo must be positive, got {tempo}")
    out_len = round(len(x) / tempo)
    if abs(tempo - 1.0) < 1e-6 or len(x) == 0:
        return x.copy()
    n = max(16, int(rate * frame_ms / 1000) // 2 * 2)
    hop_out = n // 2
    hop_in = hop_out * tempo
    delta = max(1, int(rate * search_ms / 1000))
    window = np.hanning(n + 1)[:n].astype(np.float32)  # periodic Hann: sums to 1 at 50 % overlap

    # Pad so every search window and continuation stays inside the signal.
    padded = np.concatenate([np.zeros(delta, np.float32), x, np.zeros(n + 2 * delta + hop_out, np.float32)])
    energy = np.concatenate([[0.0], np.cumsum(padded.astype(np.float64) ** 2)])

    frames = out_len // hop_out + 2
    out = np.zeros(frames * hop_out + n, dtype=np.float32)
    norm = np.zeros_like(out)
    pos = delta  # position (in padded) of the frame just written
    for k in range(frames):
        if k:
            nominal = delta + round(k * hop_in)
            natural = padded[pos + hop_out: pos + hop_out + n]  # what would follow seamlessly
            lo = nominal - delta
            region = padded[lo: nominal + delta + n]
            corr = np.correlate(region, natural, mode="valid")
            cand_energy = energy[lo + n: lo + n + len(corr)] - energy[lo: lo + len(corr)]
            score = corr / np.sqrt(np.maximum(cand_energy, 1e-9))
            pos = lo + int(np.argmax(score)) if np.any(cand_energy > 1e-9) else nominal
        start = k * hop_out
        out[start: start + n] += padded[pos: pos + n] * window
        norm[start: start + n] += window
    out = out / np.maximum(norm, 1e-3)
    return out[:out_len].astype(np.float32)


def pitch_shift(samples: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """Shift pitch (and formants with it) by ``semitones``, keeping the duration.

    Stretch in time by the pitch ratio, then resample back to the original length.
    Moving the formants along with the pitch is wanted here: it makes a derived voice
    sound like a bigger or smaller person, not the same person humming higher.
    """
    if abs(semitones) < 1e-3 or len(samples) == 0:
        return np.asarray(samples, dtype=np.float32)
    from scipy.signal import resample_poly

    ratio = Fraction(2 ** (semitones / 12)).limit_denominator(200)
    stretched = time_stretch(samples, rate, 1 / float(ratio))
    shifted = resample_poly(stretched, ratio.denominator, ratio.numerator).astype(np.float32)
    # Rounding in the ratio leaves a few samples over or under.
    if len(shifted) >= len(samples):
        return shifted[: len(samples)]
    return np.concatenate([shifted, np.zeros(len(samples) - len(shifted), np.float32)])


@dataclass
class FittedLine:
    """A line's audio after fitting: the TTS ``speed`` and the extra ``stretch`` tempo applied."""

    speech: Speech
    speed: float
    stretch: float
    fits: bool
    duration_ms: int


def fit_to_slot(backend: VoiceBackend, text: str, voice: Voice, locale: Locale, slot_ms: int,
                max_speed: float = 1.3, max_stretch: float = 1.25) -> FittedLine:
    """Synthesise ``text`` so it lasts at most ``slot_ms``, using as little speed-up as possible.

    1. Speak at speed 1.0; done if it fits.
    2. Re-speak faster, up to ``max_speed`` (one corrective retry, since the TTS's
       duration is not exactly proportional to 1/speed).
    3. Time-stretch what is still too long, up to ``max_stretch``.
    ``fits`` is False when even both bounds cannot bring the line inside the slot; the
    caller then needs a shorter translation or more room.
    """
    if slot_ms <= 0:
        raise ConfigError(f"slot must be positive, got {slot_ms} ms")
    if max_speed < 1.0 or max_stretch < 1.0:
        raise ConfigError("max_speed and max_stretch must be at least 1.0")

    speed = 1.0
    speech = backend.synthesize(text, voice, locale, speed=1.0)
    for _ in range(2):
        if speech.duration_ms <= slot_ms or speed >= max_speed:
            break
        # 2 % margin: without it the retry usually lands a little long.
        wanted = min(max_speed, speed * speech.duration_ms / slot_ms * 1.02)
        if wanted <= speed + 1e-3:
            break
        speed = wanted
        speech = backend.synthesize(text, voice, locale, speed=speed)

    stretch = 1.0
    if speech.duration_ms > slot_ms:
        stretch = min(max_stretch, speech.duration_ms / slot_ms)
        # Aim at the exact sample count so rounding never leaves the line 1 ms over.
        target = len(speech.samples) / stretch
        if stretch < max_stretch:
            target = min(target, slot_ms * speech.rate / 1000)
            stretch = len(speech.samples) / target
        speech = Speech(time_stretch(speech.samples, speech.rate, stretch), speech.rate)

    return FittedLine(speech=speech, speed=round(speed, 4), stretch=round(stretch, 4),
                      fits=speech.duration_ms <= slot_ms, duration_ms=speech.duration_ms)
