"""File helpers: atomic outputs and content hashes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from localize.errors import OutputError


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` only on success.

    The temporary name keeps ``final``'s suffix so tools that pick a format by
    extension still work, and starts with a dot so watchers ignore it.
    """
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".part{final.suffix}", dir=final.parent)
    except OSError as exc:
        raise OutputError.cannot_write(final.parent, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():
            give_usual_mode(tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class StagedOutputs:
    """Outputs that appear together or not at all.

    Each final path gets a stand-in under one hidden folder beside them (same relative place, same
    name, so a manifest written there names its neighbours as they will be named). :meth:`commit`
    moves them into place in the order they were asked for; a failure or an interrupt before or
    during the moves leaves the files that were there before, as they were.
    """

    def __init__(self, root: Path, label: str = "outputs") -> None:
        self.root = Path(root)
        self.label = label
        self.folder: Path | None = None
        self._finals: dict[Path, Path] = {}  # staged -> final, in the order asked for

    def path(self, final: Path) -> Path:
        """Where to write ``final`` now; paths outside the root are returned unchanged."""
        final = Path(final)
        try:
            relative = final.relative_to(self.root)
        except ValueError:
            return final
        if self.folder is None:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                self.folder = Path(tempfile.mkdtemp(prefix=f".{self.label}.", suffix=".part", dir=self.root))
            except OSError as exc:
                raise OutputError.cannot_write(self.root, exc) from None
        staged = self.folder / relative
        staged.parent.mkdir(parents=True, exist_ok=True)
        self._finals[staged] = final
        return staged

    def paths(self, finals: dict[str, Path]) -> dict[str, Path]:
        return {role: self.path(final) for role, final in finals.items()}

    def final(self, path: str | Path) -> Path:
        """The final name of a staged path (any other path as it is)."""
        return self._finals.get(Path(path), Path(path))

    def commit(self) -> list[Path]:
        """Move every staged file that was written into place; returns the final paths moved.

        Files the set replaces are kept aside until the last move, so an interrupted commit puts
        them back: the folder holds the previous set or the new one.
        """
        moved: list[tuple[Path, Path | None]] = []  # (final, where its previous file waits)
        try:
            for staged, final in self._finals.items():
                if not staged.is_file():
                    continue  # asked for, not written (an output the run did not make)
                give_usual_mode(staged)
                final.parent.mkdir(parents=True, exist_ok=True)
                previous = staged.with_name(f".{staged.name}.previous") if final.is_file() else None
                moved.append((final, previous))  # first: a signal may land between any two lines
                if previous is not None:
                    os.replace(final, previous)
                os.replace(staged, final)
        except BaseException as exc:
            for final, previous in reversed(moved):  # half a set is no delivery
                if previous is None:
                    final.unlink(missing_ok=True)
                elif previous.exists():
                    os.replace(previous, final)
                # else the previous file was never moved: it is still in place
            if isinstance(exc, OSError):
                raise OutputError.cannot_write(self.root, exc) from None
            raise
        finally:
            self.discard()
        return [final for final, _ in moved]

    def discard(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def staging_leftovers(root: Path, label: str = "outputs") -> list[Path]:
    """Staging folders of ``label`` under ``root`` left by runs that were killed before their commit.

    Only call this when no run of ``label`` can still be writing (after every task of it ended).
    """
    import glob

    return sorted(p for p in Path(root).glob(f".{glob.escape(label)}.*.part") if p.is_dir())


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s hidden ``.NAME.lock`` beside it (processes and, on NFS, machines).

    The kernel drops the lock when its holder dies (``kill -9`` included), so a crash never leaves it held.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def staged_outputs(root: Path, label: str = "outputs") -> Iterator[StagedOutputs]:
    """A :class:`StagedOutputs` committed when the block succeeds, discarded when it raises."""
    stage = StagedOutputs(root, label)
    try:
        yield stage
    except BaseException:
        stage.discard()
        raise
    stage.commit()


def current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    current = os.umask(0)
    os.umask(current)
    return current


def give_usual_mode(path: Path) -> None:
    """Give a temporary the mode a plain new file or folder would get.

    mkstemp and mkdtemp make private (0600/0700) entries; a deliverable is read by other users
    and, for an HLS package, served to players.
    """
    os.chmod(path, (0o777 if Path(path).is_dir() else 0o666) & ~current_umask())


def write_text_atomic(final: Path, text: str) -> None:
    with atomic_path(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(final: Path, data: Any) -> None:
    write_text_atomic(final, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def digest_of(*parts: Any) -> str:
    """A stable SHA-256 over JSON-serialisable parts (dataclasses via ``default=``)."""
    import dataclasses

    def default(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj):
            return dataclasses.asdict(obj)
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"cannot hash {type(obj).__name__}")

    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
