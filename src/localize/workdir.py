"""An episode's work directory: JSON artifacts, each stored with its cache key.

A stage's key covers its inputs, its settings and its version, so a stage runs
again only when one of those changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localize.fsutil import digest_of, write_json_atomic


@dataclass
class StageRecord:
    """How one stage went in this run, for the report."""

    stage: str
    seconds: float
    cached: bool
    key: str


@dataclass
class WorkDir:
    """The folder holding one episode's artifacts."""

    root: Path
    records: list[StageRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """A file inside the work directory (audio, subtitles) named by the caller."""
        return self.root / name

    def _artifact(self, stage: str) -> Path:
        return self.root / f"{stage}.json"

    def load(self, stage: str, key: str) -> Any | None:
        """The stored data of ``stage`` if it was made with ``key``, else ``None``."""
        try:
            stored = json.loads(self._artifact(stage).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if stored.get("key") != key:
            return None
        return stored.get("data")

    def save(self, stage: str, key: str, data: Any) -> None:
        write_json_atomic(self._artifact(stage), {"stage": stage, "key": key, "data": data})

    def run(self, stage: str, key_parts: tuple, compute: Callable[[], Any],
            files: tuple[str, ...] = ()) -> tuple[Any, str]:
        """Return ``stage``'s data, computing it only when its key changed.

        ``files`` names artifacts the stage writes beside its JSON; a missing one
        forces a re-run. Returns ``(data, key)``; the key feeds later stages' keys.
        """
        key = digest_of(stage, *key_parts)
        started = time.perf_counter()
        data = self.load(stage, key)
        cached = data is not None and all(self.path(name).exists() for name in files)
        if not cached:
            data = compute()
            self.save(stage, key, data)
        self.records.append(StageRecord(stage, round(time.perf_counter() - started, 3), cached, key))
        return data, key
