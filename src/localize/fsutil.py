"""File helpers: atomic outputs and content hashes."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from localize.errors import OutputError

# What the system says when a folder cannot take a write: full, over quota, read-only, too big.
WRITE_REFUSED = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}

def glob_escape(text: str) -> str:
    """``text`` as a literal inside a glob pattern."""
    import glob

    return glob.escape(text)


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
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in WRITE_REFUSED:
            raise OutputError.cannot_write(final.parent, exc) from None
        raise
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
        self._lock: int | None = None  # held while the folder is in use; a stale folder has none
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
                sweep_stale_staging(self.root, self.label)
                self.folder = Path(tempfile.mkdtemp(prefix=f".{self.label}.", suffix=".part", dir=self.root))
                self._lock = _hold_lock(self.folder)
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
        written = [(staged, final) for staged, final in self._finals.items() if staged.is_file()]
        blocked = [final for _, final in written if final.exists() and not final.is_file()]
        if blocked:  # checked before anything moves: the previous set stays whole
            self.discard()
            raise OutputError(f"cannot write {blocked[0]}: something that is not a file is in the way")
        # (final, where its previous file waits, whether the new file is in place yet)
        moved: list[list] = []
        try:
            for staged, final in written:
                give_usual_mode(staged)
                final.parent.mkdir(parents=True, exist_ok=True)
                previous = staged.with_name(f".{staged.name}.previous") if final.is_file() else None
                entry = [final, previous, False]
                moved.append(entry)  # first: a signal may land between any two lines
                if previous is not None:
                    os.replace(final, previous)
                os.replace(staged, final)
                entry[2] = True
        except BaseException as exc:
            for final, previous, placed in reversed(moved):  # half a set is no delivery
                if placed and previous is None:
                    final.unlink(missing_ok=True)
                elif previous is not None and previous.exists():
                    os.replace(previous, final)
                # else nothing of this entry moved yet: the previous file is still in place
            if isinstance(exc, OSError):
                raise OutputError.cannot_write(self.root, exc) from None
            raise
        finally:
            self.discard()
        return [final for final, _, _ in moved]

    def discard(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def _hold_lock(folder: Path) -> int:
    """Lock ``folder`` (the folder itself, so nothing is added inside it) while the descriptor is open."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def sweep_stale_staging(root: Path, label: str) -> None:
    """Remove staging folders of ``label`` that no live process holds: what a killed run left."""
    import fcntl

    for folder in Path(root).glob(f".{glob_escape(label)}.*.part"):
        try:
            if time.time() - folder.stat().st_mtime < 60:
                continue  # just made: its maker may not hold the lock yet
        except OSError:
            continue
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # another run is writing there
        else:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)


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


def free_space(folder: Path) -> str:
    """The free space of the file system holding ``folder``, for error messages ("1.2 MB")."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "unknown space"
    return f"{free / 1e6:.1f} MB"


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
