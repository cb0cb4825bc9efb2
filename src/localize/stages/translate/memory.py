"""Translation memory per series: a repeated line reuses its translation, a human edit wins for good.

One JSON file per series (e.g. ``glossaries/<series>.tm.json``)::

    {"version": 1, "entries": {"en-US": {"你被开除了。": {"text": "You're fired.", "origin": "human",
                                                       "episode": "ep03", "updated": 1763712000}}}}

Keys are the source line with whitespace removed. ``origin`` is ``machine`` for
an accepted backend translation and ``human`` for an edit imported from an SRT
or a JSON report; a machine result never overwrites a human entry.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from localize.errors import ConfigError, InputError
from localize.fsutil import atomic_path

HUMAN, MACHINE = "human", "machine"


def normalize(source: str) -> str:
    """The memory key of a source line: no whitespace, so ASR spacing differences still match."""
    return re.sub(r"\s+", "", source)


@dataclass
class MemoryEntry:
    """One remembered translation."""

    text: str
    origin: str = MACHINE
    episode: str | None = None
    updated: float = 0.0


class TranslationMemory:
    """A series' remembered translations, per locale, backed by one JSON file (written on :meth:`save`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.entries: dict[str, dict[str, MemoryEntry]] = {}
        if self.path and self.path.is_file():
            self._read()

    def _read(self) -> None:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            for tag, block in data.get("entries", {}).items():
                self.entries[tag] = {key: MemoryEntry(**value) for key, value in block.items()}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"translation memory {self.path} is unreadable: {exc}") from None

    def get(self, locale: str, source: str) -> MemoryEntry | None:
        """The remembered translation of ``source`` for ``locale``, if any."""
        return self.entries.get(locale, {}).get(normalize(source))

    def put(self, locale: str, source: str, text: str, origin: str = MACHINE, episode: str | None = None) -> bool:
        """Remember ``text``; returns False (and keeps the old one) when a machine result would replace a human edit."""
        key = normalize(source)
        if not key or not text.strip():
            return False
        block = self.entries.setdefault(locale, {})
        old = block.get(key)
        if old and old.origin == HUMAN and origin != HUMAN:
            return False
        block[key] = MemoryEntry(text=text.strip(), origin=origin, episode=episode, updated=time.time())
        return True

    def __len__(self) -> int:
        return sum(len(block) for block in self.entries.values())

    def save(self) -> None:
        """Write the memory atomically (no-op without a path)."""
        if not self.path:
            return
        data = {"version": 1, "entries": {tag: {k: asdict(v) for k, v in sorted(block.items())}
                                          for tag, block in sorted(self.entries.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            Path(tmp).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def import_edits(edited: Path, memory: TranslationMemory, locale: str, sources: list[str] | Path | None = None,
                 episode: str | None = None) -> int:
    """Record the human edits in ``edited`` into ``memory``; return how many entries changed.

    ``edited`` is either a JSON report (``segments[]`` with ``source_text`` and
    ``text``) or an SRT file; an SRT holds only the translations, so ``sources``
    gives the source lines event by event (a list, or the source-language SRT).
    A line counts as edited when it differs from what the memory already holds.
    """
    edited = Path(edited)
    if not edited.is_file():
        raise InputError(f"edited file not found: {edited}")
    pairs: list[tuple[str, str]]
    if edited.suffix.lower() == ".json":
        try:
            data = json.loads(edited.read_text(encoding="utf-8"))
            pairs = [(seg["source_text"], seg["text"]) for seg in data["segments"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{edited}: not a report with segments[].source_text/text ({exc})") from None
    else:
        targets = _srt_texts(edited)
        if sources is None:
            raise InputError(f"{edited}: an edited SRT needs the source lines it translates")
        source_lines = _srt_texts(Path(sources)) if isinstance(sources, (str, Path)) else list(sources)
        if len(source_lines) != len(targets):
            raise InputError(f"{edited}: {len(targets)} events but {len(source_lines)} source lines")
        pairs = list(zip(source_lines, targets))
    # Compare against the memory as it was before this file: a repeated line left as the machine
    # wrote it must not undo an edit made to another occurrence of it.
    before = {key: entry.text for key, entry in memory.entries.get(locale, {}).items()}
    changed = 0
    for source, text in pairs:
        text = " ".join(str(text).split())
        if text and before.get(normalize(source)) != text and memory.put(locale, source, text, HUMAN, episode):
            changed += 1
    return changed


def _srt_texts(path: Path) -> list[str]:
    from localize.stages.translate.subfile import load_subtitles
    from localize.stages.translate.validate import join_lines

    return [join_lines(event.plaintext.split("\n")) for event in load_subtitles(path).events]
