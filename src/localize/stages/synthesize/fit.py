"""Fit a synthesised line into its time slot, and the DSP that needs: WSOLA time
stretching and pitch shifting.

Order of remedies (sped-up dubs are the top complaint about dubbing tools): after the
translation's shorter rendering, the TTS's own speed parameter (kept modest), then the
silence next to the line, and only then a bounded pitch-preserving stretch. Every line
reports how much of each it needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from localize.errors import ConfigError
from localize.locales import Locale, speech_length
from localize.stages.synthesize.base import Speech, Voice, VoiceBackend


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


# Defaults for the fitting remedies. A TTS speed beyond ~1.2 starts to sound rushed; the
# borrowed silence stays inside the +-0.5 s a viewer (and the sync check) tolerates.
MAX_SPEED = 1.2
MAX_STRETCH = 1.25
BORROW_GAP_MS = 150
MAX_BORROW_BEFORE_MS = 250
MAX_BORROW_AFTER_MS = 500


@dataclass(frozen=True)
class Slot:
    """Where a line may sound, in episode ms.

    ``start_ms``..``end_ms`` is the actor's own line; ``earliest_ms``..``latest_ms`` adds the
    silence around it that may be borrowed (``earliest_ms <= start_ms``, ``latest_ms >= end_ms``).
    """

    start_ms: int
    end_ms: int
    earliest_ms: int
    latest_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ConfigError(f"slot must be positive, got {self.end_ms - self.start_ms} ms")
        if not self.earliest_ms <= self.start_ms < self.end_ms <= self.latest_ms:
            raise ConfigError(f"borrowed room {self.earliest_ms}..{self.latest_ms} ms must contain the line "
                              f"{self.start_ms}..{self.end_ms} ms")

    @property
    def line_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def room_ms(self) -> int:
        return self.latest_ms - self.earliest_ms


def plan_slot(start_ms: int, end_ms: int, prev_end_ms: int, next_start_ms: int, *,
              gap_ms: int = BORROW_GAP_MS, max_before_ms: int = MAX_BORROW_BEFORE_MS,
              max_after_ms: int = MAX_BORROW_AFTER_MS) -> Slot:
    """The slot of a line spoken ``start_ms``..``end_ms``, with the silence it may borrow.

    After the line: up to ``max_after_ms``, stopping ``gap_ms`` before the next line
    (``next_start_ms``; the episode's end for the last line). Before it: up to
    ``max_before_ms``, stopping ``gap_ms`` after where the previous dub clip really ends
    (``prev_end_ms``, which may itself be borrowed time). Overlapping neighbours leave no room.
    """
    end_ms = max(end_ms, start_ms + 1)
    latest = max(end_ms, min(end_ms + max_after_ms, next_start_ms - gap_ms))
    earliest = min(start_ms, max(start_ms - max_before_ms, prev_end_ms + gap_ms, 0))
    return Slot(start_ms, end_ms, earliest, latest)


def spoken_units(text: str) -> int:
    """What a line's spoken length scales with: its letters and digits (spaces and punctuation barely count)."""
    return max(1, sum(ch.isalnum() for ch in text))


class SpeakingPace:
    """How long each voice takes per letter, learnt from the lines it has spoken in this run.

    :func:`fit_to_slot` uses it to start a line that will clearly be too long at the speed it
    will end up needing, instead of speaking it at 1.0 first and again faster: on a Spanish
    episode 9 of 25 synthesis calls were such second tries. Before a voice has spoken,
    ``chars_per_second`` (the language's speaking rate, :attr:`Locale.chars_per_second`)
    is the guess; without it such a line starts at 1.0.
    """

    def __init__(self, chars_per_second: float | None = None) -> None:
        self.chars_per_second = chars_per_second
        self._ms_per_unit: dict[Voice, list[float]] = {}

    def observe(self, voice: Voice, text: str, speed: float, duration_ms: int) -> None:
        """Record one synthesis: ``text`` at ``speed`` lasted ``duration_ms``."""
        self._ms_per_unit.setdefault(voice, []).append(duration_ms * speed / spoken_units(text))

    def predict_ms(self, voice: Voice, text: str) -> int | None:
        """The expected length of ``text`` at speed 1.0; None when there is nothing to go on."""
        seen = self._ms_per_unit.get(voice)
        if seen:
            return round(float(np.median(seen)) * spoken_units(text))
        if self.chars_per_second:
            return round(1000 * speech_length(text) / self.chars_per_second)
        return None


@dataclass
class FittedLine:
    """A line's audio after fitting.

    ``speed`` is the TTS speed parameter used, ``stretch`` the extra time-stretch tempo,
    ``borrowed_before_ms``/``borrowed_after_ms`` the silence taken around the line, and
    ``start_ms`` where the clip must be placed (the line's start minus what was borrowed
    before it; 0-based when the slot was given as a plain length).
    """

    speech: Speech
    speed: float
    stretch: float
    fits: bool
    duration_ms: int
    start_ms: int = 0
    borrowed_before_ms: int = 0
    borrowed_after_ms: int = 0


def fit_to_slot(backend: VoiceBackend, text: str, voice: Voice, locale: Locale, slot: Slot | int,
                max_speed: float = MAX_SPEED, max_stretch: float = MAX_STRETCH,
                pace: SpeakingPace | None = None) -> FittedLine:
    """Synthesise ``text`` into ``slot``, applying the remedies in order, each only as far as needed.

    1. (A shorter rendering comes from the translation stage, before this.)
    2. Speak at speed 1.0; if longer than the actor's line, re-speak faster, up to
       ``max_speed`` (one corrective retry: the TTS's duration is not exactly 1/speed).
    3. Borrow the silence after the line, then before it, within the slot's room.
    4. Time-stretch what still overflows the room, up to ``max_stretch`` (WSOLA, pitch kept).
    ``fits`` is False when all of it cannot bring the line inside the room; the caller then
    needs a shorter translation. ``slot`` as a plain int is a length with no room to borrow.
    With ``pace``, a line predicted to run more than 5 % long starts at the predicted speed,
    skipping the speed-1.0 rendering that would only have measured it.
    """
    if not isinstance(slot, Slot):
        if slot <= 0:
            raise ConfigError(f"slot must be positive, got {slot} ms")
        slot = Slot(0, int(slot), 0, int(slot))
    if max_speed < 1.0 or max_stretch < 1.0:
        raise ConfigError("max_speed and max_stretch must be at least 1.0")
    line_ms, room_ms = slot.line_ms, slot.room_ms

    def speak(at: float) -> Speech:
        spoken = backend.synthesize(text, voice, locale, speed=at)
        if pace is not None:
            pace.observe(voice, text, at, spoken.duration_ms)
        return spoken

    speed = 1.0
    predicted = pace.predict_ms(voice, text) if pace is not None else None
    if predicted is not None and predicted > line_ms * 1.05:
        # No margin here, unlike the correction below: a guess that overshoots would speed the line
        # up for nothing, one that falls short is corrected like any other long line.
        speed = min(max_speed, predicted / line_ms)
    speech = speak(speed)
    for _ in range(2):
        if speech.duration_ms <= line_ms or speed >= max_speed:
            break
        # 2 % margin: without it the retry usually lands a little long.
        wanted = min(max_speed, speed * speech.duration_ms / line_ms * 1.02)
        if wanted <= speed + 1e-3:
            break
        speed = wanted
        speech = speak(speed)

    stretch = 1.0
    if speech.duration_ms > room_ms:
        stretch = min(max_stretch, speech.duration_ms / room_ms)
        # Aim at the exact sample count so rounding never leaves the line 1 ms over.
        target = len(speech.samples) / stretch
        if stretch < max_stretch:
            target = min(target, room_ms * speech.rate / 1000)
            stretch = len(speech.samples) / target
        speech = Speech(time_stretch(speech.samples, speech.rate, stretch), speech.rate)

    duration = speech.duration_ms
    overflow = max(0, duration - line_ms)
    after = min(overflow, slot.latest_ms - slot.end_ms)
    before = min(overflow - after, slot.start_ms - slot.earliest_ms)
    return FittedLine(speech=speech, speed=round(speed, 4), stretch=round(stretch, 4),
                      fits=duration <= room_ms, duration_ms=duration, start_ms=slot.start_ms - before,
                      borrowed_before_ms=before, borrowed_after_ms=after)
