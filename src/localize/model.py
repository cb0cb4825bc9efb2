"""The data model shared by the stages. Every time is an integer millisecond."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


def to_dict(obj: Any) -> Any:
    """Turn a dataclass tree into JSON-ready dicts and lists."""
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


def from_dict(cls: type[T], data: Any) -> T:
    """Rebuild a dataclass (and nested dataclasses and lists of them) from :func:`to_dict` output."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if value is None:
        return None
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value)
    if origin is list and args:
        return [_convert(args[0], v) for v in value]
    if origin is dict and len(args) == 2:
        return {k: _convert(args[1], v) for k, v in value.items()}
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _convert(inner[0], value)
    return value


@dataclass
class Word:
    start_ms: int
    end_ms: int
    text: str
    probability: float = 1.0


@dataclass
class Segment:
    """One spoken line: its timing, who said it, what was said and its translation."""

    id: int
    start_ms: int
    end_ms: int
    source_text: str
    speaker: str = "S1"
    words: list[Word] = field(default_factory=list)
    text: str = ""
    origin: str = "asr"
    speaker_confidence: float | None = None  # 0-1, set by diarization (None before it)

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass
class Transcript:
    """The episode's lines in the source ``language`` (the configured one).

    ``heard_language``/``language_probability``: what Whisper's language identification heard, with
    its confidence; ``speech_ms``: how much speech it had to go on. ``language_note`` says why a
    disagreement was not taken as a wrong-language input.
    """

    language: str
    segments: list[Segment]
    language_probability: float = 1.0
    heard_language: str = ""
    speech_ms: int = 0
    language_note: str = ""


def with_speakers(segments: list[Segment], labels: list[str], confidence: list[float] | None = None) -> list[Segment]:
    """Copies of ``segments``, each labelled with its speaker (and how sure that is) from diarization."""
    sure = confidence or [None] * len(labels)
    return [dataclasses.replace(segment, speaker=label, speaker_confidence=level)
            for segment, label, level in zip(segments, labels, sure)]
