"""The voice stage's shared types: voices, speech, the backend interface and casting."""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from localize.errors import ConfigError, UnspeakableText
from localize.locales import Locale
from localize.registry import Registry

GENDERS = ("male", "female")


@dataclass(frozen=True)
class Voice:
    """One character voice of one backend.

    ``name`` is a Kokoro voice id (``jf_alpha``), a Kokoro blend (``jm_kumo:0.7+jf_alpha:0.3``)
    or an espeak-ng variant (``m3``). ``pitch`` shifts the voice by that many semitones.
    """

    backend: str
    name: str
    gender: str
    pitch: float = 0.0

    @property
    def label(self) -> str:
        """A short human-readable id, e.g. ``kokoro:jm_kumo-2st``."""
        shift = f"{self.pitch:+g}st" if self.pitch else ""
        return f"{self.backend}:{self.name}{shift}"


@dataclass
class Speech:
    """Mono float32 samples in [-1, 1] at ``rate`` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def duration_ms(self) -> int:
        return round(1000 * len(self.samples) / self.rate)


class VoiceBackend(ABC):
    """A text-to-speech engine. One module per backend registers it in :data:`VOICES`."""

    name: str = ""

    @abstractmethod
    def supports(self, locale: Locale) -> bool:
        """Whether this backend can speak ``locale``'s language."""

    @abstractmethod
    def voices(self) -> list[Voice]:
        """The curated voices, at least three per gender, in casting order."""

    @abstractmethod
    def synthesize(self, text: str, voice: Voice, locale: Locale, speed: float = 1.0) -> Speech:
        """Speak ``text``; ``speed`` > 1 talks faster. Leading/trailing silence is trimmed."""

    def voice_f0_hz(self, voice: Voice) -> float | None:
        """The voice's typical median F0 in Hz, for casting by pitch; None when not known."""
        return None

    def identity(self) -> str | None:
        """What this backend's output depends on besides its inputs (model files, version), as a
        string; ``None`` (the default) when unknown, and then its speech is never kept across runs."""
        return None

    def close(self) -> None:
        """Release resources held by this backend (nothing by default)."""


VOICES: Registry[VoiceBackend] = Registry("voice")


def check_text(text: str) -> str:
    """Collapse whitespace; empty text is a :class:`ConfigError` (silence would hide a bug upstream)."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise UnspeakableText("cannot synthesise an empty line; the segment has no translated text")
    return cleaned


def check_speed(speed: float) -> float:
    if not 0.25 <= speed <= 4.0:
        raise ConfigError(f"speech speed {speed} is out of range (0.25..4.0)")
    return float(speed)


def trim_silence(samples: np.ndarray, rate: int, *, threshold_db: float = -40.0,
                 pad_ms: int = 30) -> np.ndarray:
    """Cut leading and trailing silence.

    A 10 ms frame counts as sound when its RMS is within ``threshold_db`` of the
    loudest frame (and above -60 dBFS); ``pad_ms`` is kept around the sound so soft
    onsets and final consonants survive.
    """
    frame = max(1, rate // 100)
    n = len(samples) // frame
    if n == 0:
        return samples
    rms = np.sqrt(np.mean(np.square(samples[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))
    floor = max(rms.max() * 10 ** (threshold_db / 20), 10 ** (-60 / 20))
    loud = np.flatnonzero(rms > floor)
    if loud.size == 0:
        return samples[:0]
    pad = int(rate * pad_ms / 1000)
    start = max(0, loud[0] * frame - pad)
    end = min(len(samples), (loud[-1] + 1) * frame + pad)
    return samples[start:end]


def join_speech(parts: list[np.ndarray], rate: int, pause_ms: int) -> np.ndarray:
    """Concatenate parts with ``pause_ms`` of silence between them."""
    gap = np.zeros(int(rate * pause_ms / 1000), dtype=np.float32)
    out: list[np.ndarray] = []
    for i, part in enumerate(parts):
        if i:
            out.append(gap)
        out.append(part.astype(np.float32, copy=False))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def backend_for(locale: Locale, preferred: str = "kokoro") -> VoiceBackend:
    """The ``preferred`` backend if it speaks ``locale``, else espeak-ng (which speaks them all)."""
    backend = VOICES.create(preferred)
    if backend.supports(locale) or preferred == "espeak":
        return backend
    backend.close()
    fallback = VOICES.create("espeak")
    if not fallback.supports(locale):
        raise ConfigError(f"no voice backend speaks {locale.tag} (espeak-ng has no voice {locale.espeak_voice!r})")
    return fallback


def assign_voices(speakers: list[tuple[str, str]], backend: VoiceBackend) -> dict[str, Voice]:
    """Cast a distinct voice for each ``(speaker id, gender)``, in order.

    Each gender draws from the backend's voices of that gender; ``unknown`` draws
    from whichever pool has more voices left. When a pool runs dry, new voices are
    derived from it by pitch offsets, so two characters never share a voice and no
    man is given a woman's voice. The same input always yields the same cast.
    """
    pools: dict[str, list[Voice]] = {g: [v for v in backend.voices() if v.gender == g] for g in GENDERS}
    for gender, pool in pools.items():
        if not pool:
            raise ConfigError(f"voice backend {backend.name!r} has no {gender} voices")
    taken: set[Voice] = set()
    cast: dict[str, Voice] = {}
    for speaker, gender in speakers:
        if speaker in cast:
            continue
        gender = gender.lower()
        if gender not in GENDERS:
            left = {g: sum(v not in taken for v in pools[g]) for g in GENDERS}
            gender = "male" if left["male"] >= left["female"] else "female"
        voice = next(v for v in _candidates(pools[gender]) if v not in taken)
        taken.add(voice)
        cast[speaker] = voice
    return cast


# Pitch offsets (semitones) for derived voices once a pool is used up: small enough to
# keep a man sounding male and a woman female, big enough to tell apart.
_DERIVED_OFFSETS = (-1.5, 1.5, -2.5, 2.5)


def _candidates(pool: list[Voice]) -> Iterator[Voice]:
    """The pool's voices, then pitch-offset copies of them, without end."""
    yield from pool
    for round_ in itertools.count():
        scale = 1 + round_ // len(_DERIVED_OFFSETS)
        offset = _DERIVED_OFFSETS[round_ % len(_DERIVED_OFFSETS)] * scale
        for base in pool:
            yield replace(base, pitch=base.pitch + offset)
