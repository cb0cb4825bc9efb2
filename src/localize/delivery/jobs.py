"""A crash-safe job store in SQLite: one job per (file name, content hash, market, profile).

The watch folder keeps it in ``OUT/.localize-jobs.sqlite``. Jobs are claimed in an immediate
(write-locking) transaction, so two watchers never take the same job. A job records its owner
(host, pid and the process's start time); a watcher that starts finds jobs left 'running' by a
process that no longer exists (``kill -9``, a crash, a reboot) and puts them back in the queue.
Because the key holds the content hash, a file that changes is a new job, while the same
file seen again is not. Every change of state is also appended to ``events``, so tests and
operators can count how often a job really completed.

States: pending -> running -> done | failed | superseded; running -> pending (retry, release).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1
STATES = ("pending", "running", "done", "failed", "superseded")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    locale TEXT NOT NULL,
    profile TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    owner TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    error TEXT,
    outputs TEXT,
    UNIQUE (name, digest, locale, profile)
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, next_try);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL,
    at REAL NOT NULL,
    event TEXT NOT NULL,
    owner TEXT,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS files (
    name TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Job:
    """One file x market to process."""

    id: int
    name: str
    digest: str
    locale: str
    profile: str
    state: str
    attempts: int
    next_try: float
    owner: str | None
    error: str | None


_COLUMNS = "id, name, digest, locale, profile, state, attempts, next_try, owner, error"


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _process_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()[0]


def owner_token(pid: int | None = None) -> str:
    """``host:pid:start`` naming this process (or ``pid``) as a job's owner."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or '?'}"


def owner_alive(token: str | None) -> bool:
    """Whether the process named by ``token`` still runs (a zombie or a reused pid counts as dead)."""
    if not token:
        return False
    try:
        host, pid_text, start = token.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another machine's watcher on a shared folder: not ours to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _process_state(pid) in ("Z", "X"):
        return False
    current = _process_start(pid)
    return start == "?" or current is None or current == start


class JobStore:
    """The SQLite job queue. Use one store per thread; every method commits before it returns."""

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")  # readers (status, tests) never block the watcher
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
        with self._write():
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "JobStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, kind, value, tb) -> None:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _write(self) -> "JobStore._Tx":
        """An immediate transaction: it takes the write lock first, so claims never race."""
        return JobStore._Tx(self.db)

    def _event(self, job_id: int, event: str, owner: str | None = None, detail: str | None = None) -> None:
        self.db.execute("INSERT INTO events (job_id, at, event, owner, detail) VALUES (?, ?, ?, ?, ?)",
                        (job_id, time.time(), event, owner, detail))

    # --- files ---------------------------------------------------------------------------------

    def known_digest(self, name: str, size: int, mtime_ns: int) -> str | None:
        """The content hash recorded for ``name`` when it had this size and modification time."""
        row = self.db.execute("SELECT digest FROM files WHERE name=? AND size=? AND mtime_ns=?",
                              (name, size, mtime_ns)).fetchone()
        return row[0] if row else None

    def remember_file(self, name: str, size: int, mtime_ns: int, digest: str) -> None:
        with self._write() as db:
            db.execute("INSERT INTO files (name, size, mtime_ns, digest) VALUES (?, ?, ?, ?) ON CONFLICT(name) "
                       "DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, digest=excluded.digest",
                       (name, size, mtime_ns, digest))

    # --- jobs ----------------------------------------------------------------------------------

    def add(self, name: str, digest: str, locales: Iterable[str], profile: str) -> list[int]:
        """Queue ``name`` (with content ``digest``) for each market; returns the ids of the new jobs only."""
        new = []
        now = time.time()
        with self._write() as db:
            for locale in locales:
                cur = db.execute("INSERT OR IGNORE INTO jobs (name, digest, locale, profile, created) "
                                 "VALUES (?, ?, ?, ?, ?)", (name, digest, locale, profile, now))
                if cur.rowcount:
                    new.append(int(cur.lastrowid))
                    self._event(int(cur.lastrowid), "queued")
        return new

    def recover(self, alive: Callable[[str | None], bool] = owner_alive) -> list[Job]:
        """Put jobs left 'running' by dead processes back in the queue; returns them."""
        with self._write() as db:
            stale = [Job(*row) for row in db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state='running'")
                     if not alive(row[8])]
            for job in stale:
                # The attempt that died is not held against the job: the crash was the watcher's.
                db.execute("UPDATE jobs SET state='pending', owner=NULL, next_try=0, attempts=MAX(attempts-1, 0) "
                           "WHERE id=? AND state='running'", (job.id,))
                self._event(job.id, "recovered", job.owner, "owner process is gone")
        return stale

    def live_owners(self, alive: Callable[[str | None], bool] = owner_alive) -> set[str]:
        """Owners of running jobs that are still alive (other watchers at work)."""
        rows = self.db.execute("SELECT DISTINCT owner FROM jobs WHERE state='running'").fetchall()
        return {row[0] for row in rows if alive(row[0])}

    def claim(self, owner: str, now: float | None = None) -> Job | None:
        """Take the oldest pending job that is due, marking it running under ``owner``."""
        now = time.time() if now is None else now
        with self._write() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state='pending' AND next_try<=? "
                             "ORDER BY next_try, id LIMIT 1", (now,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET state='running', owner=?, started=?, attempts=attempts+1 WHERE id=?",
                       (owner, now, row[0]))
            self._event(row[0], "claimed", owner)
        return self.get(row[0])

    def get(self, job_id: int) -> Job:
        return Job(*self.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id=?", (job_id,)).fetchone())

    def _settle(self, job: Job, state: str, event: str, *, error: str | None = None, outputs: str | None = None,
                next_try: float = 0.0, undo_attempt: bool = False) -> bool:
        """Move a running job owned by ``job.owner`` to ``state``; False if it is no longer ours."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE jobs SET state=?, finished=?, error=?, outputs=COALESCE(?, outputs), next_try=?, "
                "owner=CASE WHEN ?='running' THEN owner ELSE NULL END, "
                "attempts=CASE WHEN ? THEN MAX(attempts-1, 0) ELSE attempts END "
                "WHERE id=? AND state='running' AND owner IS ?",
                (state, time.time(), error, outputs, next_try, state, int(undo_attempt), job.id, job.owner))
            if cur.rowcount:
                self._event(job.id, event, job.owner, error)
            return bool(cur.rowcount)

    def finish(self, job: Job, outputs: str | None = None) -> bool:
        """Mark ``job`` done (``outputs``: JSON text of what it produced)."""
        return self._settle(job, "done", "done", outputs=outputs)

    def retry(self, job: Job, error: str, delay: float) -> bool:
        """A transient failure: back to pending, due again in ``delay`` seconds."""
        return self._settle(job, "pending", "retry", error=error, next_try=time.time() + delay)

    def fail(self, job: Job, error: str) -> bool:
        """A permanent failure."""
        return self._settle(job, "failed", "failed", error=error)

    def release(self, job: Job, reason: str = "stopped") -> bool:
        """Give ``job`` back untouched (the watcher was asked to stop); the attempt does not count."""
        return self._settle(job, "pending", "released", error=reason, undo_attempt=True, next_try=0.0)

    def supersede(self, job: Job, reason: str) -> bool:
        """The file changed (or went away) before ``job`` ran: a newer job covers it."""
        return self._settle(job, "superseded", "superseded", error=reason)

    def fail_pending(self, name: str, digest: str, error: str) -> list[int]:
        """Fail every pending job of this file content (an unusable input fails every market alike)."""
        with self._write() as db:
            ids = [row[0] for row in db.execute("SELECT id FROM jobs WHERE name=? AND digest=? AND state='pending'",
                                                (name, digest))]
            for job_id in ids:
                db.execute("UPDATE jobs SET state='failed', error=?, finished=? WHERE id=?", (error, time.time(),
                                                                                              job_id))
                self._event(job_id, "failed", None, error)
        return ids

    # --- queries -------------------------------------------------------------------------------

    def jobs(self, name: str | None = None) -> list[Job]:
        sql = f"SELECT {_COLUMNS} FROM jobs" + (" WHERE name=?" if name is not None else "") + " ORDER BY id"
        return [Job(*row) for row in self.db.execute(sql, (name,) if name is not None else ())]

    def open_jobs(self, name: str, digest: str) -> int:
        """Jobs of this file content that are not finished (pending or running)."""
        return int(self.db.execute("SELECT COUNT(*) FROM jobs WHERE name=? AND digest=? "
                                   "AND state IN ('pending', 'running')", (name, digest)).fetchone()[0])

    def states(self, name: str, digest: str) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT state FROM jobs WHERE name=? AND digest=?", (name, digest))]

    def counts(self) -> dict[str, int]:
        return {state: n for state, n in self.db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")}

    def next_due(self) -> float | None:
        """When the earliest pending job becomes due (None: nothing pending)."""
        row = self.db.execute("SELECT MIN(next_try) FROM jobs WHERE state='pending'").fetchone()
        return row[0] if row and row[0] is not None else None

    def events(self, job_id: int | None = None) -> list[tuple[int, str, str | None]]:
        """(job id, event, owner) in order."""
        sql = "SELECT job_id, event, owner FROM events" + (" WHERE job_id=?" if job_id is not None else "")
        return list(self.db.execute(sql + " ORDER BY id", (job_id,) if job_id is not None else ()))
