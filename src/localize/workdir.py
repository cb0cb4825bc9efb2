"""An episode's work directory: JSON artifacts, each stored with the cache key it was made under.

Keys are formed by :class:`localize.stages.contract.Runner` from each stage's declarations;
this module only stores and finds artifacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localize.fsutil import write_json_atomic

WORK_FOLDER = ".localize-work"  # the default work root: a folder of the output folder


def work_file(work_root: Path, recorded: str) -> Path:
    """The file a record names, in ``work_root``: records name files of their work dir by name, so
    the folder can move; records made before that hold whole paths, whose names this keeps."""
    return Path(work_root) / Path(recorded).name

@dataclass
class StageRecord:
    """How one stage went in this run, for the report.

    ``units_made``/``units_cached``: the stage's per-line units (voice clips) made anew and
    taken from the cache. ``cpu_seconds`` is the process's CPU time (and its waited-for children's)
    while the stage ran: stages that ran at the same time share theirs. ``started_at`` is seconds
    since the run began.
    """

    stage: str
    seconds: float
    cached: bool
    key: str
    units_made: int = 0
    units_cached: int = 0
    cpu_seconds: float = 0.0
    started_at: float = 0.0


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

    def artifact(self, stage: str) -> Path:
        """Where the artifact of ``stage`` (``translate.en-US``, say) is stored."""
        return self.root / f"{stage}.json"

    def load_file(self, path: Path, key: str) -> Any | None:
        """The data stored in ``path`` if it was made with ``key``, else ``None``."""
        try:
            stored = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(stored, dict) or stored.get("key") != key:
            return None
        return stored.get("data")

    def load(self, stage: str, key: str) -> Any | None:
        """The stored data of ``stage`` if it was made with ``key``, else ``None``."""
        return self.load_file(self.artifact(stage), key)

    def discard_if_unused(self) -> None:
        """Remove the folder (and an emptied parent) when no stage finished in it: a run that failed
        before its first artifact leaves nothing behind."""
        import shutil

        if not self.root.is_dir() or any(self.root.glob("*.json")):
            return
        shutil.rmtree(self.root, ignore_errors=True)
        try:
            self.root.parent.rmdir()  # only when empty
        except OSError:
            pass

    def save(self, stage: str, key: str, data: Any) -> None:
        write_json_atomic(self.artifact(stage), {"stage": stage, "key": key, "data": data})
