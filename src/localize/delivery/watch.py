"""A watch folder: ``localize watch IN --to LOCALE ... --out OUT [--profile P]``.

Every poll the watcher lists IN (top level only). A video file becomes a job once its size and
modification time have stopped changing for ``settle_seconds``; hidden, temporary and
still-downloading names (``.x``, ``*.part``, ``*.tmp``, ``*.crdownload``, ``~$x``...) and
empty files are ignored. Each file x market is a job in ``OUT/.localize-jobs.sqlite``
(:mod:`.jobs`), keyed by the file's content hash: a file seen again is not redone, a changed
file is done again.

A job works on a private snapshot of the input (copied under ``OUT/.localize-watch/``, hashed
while copying), so the input is only ever read, and a file replaced mid-run cannot mix two
versions. Outputs are written by the pipeline, atomically. Failures:

- permanent (the input is unusable, a config is wrong): the job fails and ``OUT/failed/<file>.txt``
  holds the one-line reason; deleting that file queues the file again;
- transient (ffmpeg, disk, a model, anything unexpected): retried with exponential backoff, and
  after ``max_attempts`` recorded as a permanent failure.

A watcher killed outright (``kill -9``, power loss) leaves its job 'running'; the next one to
start sees the owner process is gone and queues it again; the work-dir cache makes the stages
already finished free. SIGTERM and SIGINT stop cleanly: the job in hand is given back untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from localize.errors import ConfigError, InputError, LocalizeError, UsageError
from localize.fsutil import atomic_path, write_text_atomic
from localize.delivery.batch import is_episode_name
from localize.delivery.jobs import Job, JobStore, owner_token

if TYPE_CHECKING:
    from localize.pipeline import PipelineOptions

STORE_NAME = ".localize-jobs.sqlite"
SNAPSHOTS = ".localize-watch"
FAILED = "failed"
# Errors that say the input or the setup is wrong: trying again cannot help.
PERMANENT = (InputError, ConfigError, UsageError)


class WatchStopped(BaseException):
    """Raised inside a job when SIGTERM/SIGINT arrives, so the job unwinds (temporary files removed)."""


@dataclass
class WatchOptions:
    """What to watch, what to make, and how patient to be."""

    in_dir: Path
    out_dir: Path
    locales: tuple[str, ...]
    pipeline: PipelineOptions
    poll_seconds: float = 2.0
    settle_seconds: float = 5.0
    once: bool = False
    max_attempts: int = 4
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 1800.0

    @property
    def profile_name(self) -> str:
        return self.pipeline.profile.name if self.pipeline.profile is not None else "plain"


@dataclass
class WatchSummary:
    """What one watcher run did."""

    done: int = 0
    failed: int = 0
    retried: int = 0
    superseded: int = 0
    recovered: int = 0
    stopped: bool = False
    failures: dict[str, str] = field(default_factory=dict)


Runner = Callable[[Path, list[str], Path, "PipelineOptions"], list[Path]]


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float


class StabilityTracker:
    """Decides when a file has stopped changing: same size and mtime, and the mtime ``settle`` old.

    The mtime rule lets a file that was already complete when the watcher started go at once,
    while one still being written waits until its writer has been quiet for ``settle`` seconds.
    """

    def __init__(self, settle_seconds: float) -> None:
        self.settle = settle_seconds
        self.seen: dict[str, _Seen] = {}

    def observe(self, name: str, size: int, mtime_ns: int, now: float) -> bool:
        """Record a look at ``name``; True when it is stable (and not empty)."""
        prev = self.seen.get(name)
        if prev is None or (prev.size, prev.mtime_ns) != (size, mtime_ns):
            self.seen[name] = prev = _Seen(size, mtime_ns, now)
        if size <= 0:
            return False
        mtime = mtime_ns / 1e9
        quiet_since = min(prev.since, mtime) if mtime <= now else prev.since  # a future mtime: trust only our eyes
        return now - quiet_since >= self.settle

    def forget_missing(self, present: set[str]) -> None:
        for name in list(self.seen):
            if name not in present:
                del self.seen[name]


def _log(line: str) -> None:
    print(f"localize watch: {line}", file=sys.stderr, flush=True)


class Watcher:
    """One watcher process. :meth:`run` loops until stopped (or, with ``once``, until idle)."""

    def __init__(self, options: WatchOptions, *, runner: Runner | None = None,
                 log: Callable[[str], None] = _log) -> None:
        self.options = options
        self.in_dir = Path(options.in_dir)
        self.out_dir = Path(options.out_dir)
        self.runner = runner
        self.log = log
        self.owner = owner_token()
        self.tracker = StabilityTracker(options.settle_seconds)
        self.summary = WatchSummary()
        self._stop = False
        self._in_job = False
        self._unsettled = False
        self._said_empty: set[str] = set()  # 0-byte files already reported

    # --- signals -------------------------------------------------------------------------------

    def _on_signal(self, signum, _frame) -> None:
        self._stop = True
        if self._in_job:
            self._in_job = False  # raise once; unwinding code must not be interrupted again
            raise WatchStopped(signal.Signals(signum).name)

    def request_stop(self) -> None:
        self._stop = True

    # --- main loop -----------------------------------------------------------------------------

    def run(self) -> WatchSummary:
        """Watch until SIGTERM/SIGINT (or, with ``once``, until nothing is left to do)."""
        if not self.in_dir.is_dir():
            raise InputError(f"{self.in_dir}: no such folder to watch")
        if self.in_dir.resolve() == self.out_dir.resolve():
            raise UsageError("the watch folder and --out must be different folders")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            with JobStore(self.out_dir / STORE_NAME) as store:
                self.store = store
                recovered = store.recover()
                self.summary.recovered = len(recovered)
                for job in recovered:
                    self.log(f"{job.name} {job.locale}: picked up again (its watcher process is gone)")
                if not store.live_owners() - {self.owner}:
                    self._remove_leftovers()
                self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.summary

    def _loop(self) -> None:
        options = self.options
        while not self._stop:
            self.scan()
            job = self.store.claim(self.owner)
            if job is not None:
                self.process(job)
                continue
            if options.once and not self._unsettled:
                due = self.store.next_due()
                if due is None:
                    return
                self._sleep(max(0.05, min(due - time.time(), options.poll_seconds)))
                continue
            self._sleep(options.poll_seconds)
        self.summary.stopped = True

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop and time.monotonic() < end:
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))

    # --- discovery -----------------------------------------------------------------------------

    def scan(self) -> None:
        """Queue every stable episode file of the watch folder (each market once per content)."""
        now = time.time()
        present: set[str] = set()
        unsettled = False
        try:
            entries = list(os.scandir(self.in_dir))
        except OSError as exc:
            self.log(f"cannot list {self.in_dir}: {exc.strerror or exc}")
            return
        for entry in sorted(entries, key=lambda e: e.name):
            if not is_episode_name(entry.name):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except OSError:
                continue
            present.add(entry.name)
            if stat.st_size == 0:
                # A placeholder: it becomes a candidate once something is written to it.
                if entry.name not in self._said_empty:
                    self._said_empty.add(entry.name)
                    self.log(f"{entry.name}: empty (0 bytes); waiting for its content")
                continue
            self._said_empty.discard(entry.name)
            if not self.tracker.observe(entry.name, stat.st_size, stat.st_mtime_ns, now):
                unsettled = True
                continue
            digest = self.store.known_digest(entry.name, stat.st_size, stat.st_mtime_ns)
            if digest is None:
                try:
                    digest = _hash_file(Path(entry.path))
                    after = os.stat(entry.path)
                except OSError:
                    unsettled = True
                    continue
                if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                    unsettled = True  # it changed while we read it: look again next time
                    continue
                self.store.remember_file(entry.name, stat.st_size, stat.st_mtime_ns, digest)
            new = self.store.add(entry.name, digest, self.options.locales, self.options.profile_name)
            if new:
                self.log(f"{entry.name}: queued for {', '.join(self.options.locales)}")
            self._requeue_if_record_removed(entry.name, digest)
        self.tracker.forget_missing(present)
        self._unsettled = unsettled

    def _requeue_if_record_removed(self, name: str, digest: str) -> None:
        """A user deleting ``failed/<name>.txt`` asks for another try of that file's failed jobs."""
        if (self.out_dir / FAILED / f"{name}.txt").exists():
            return
        failed = [job for job in self.store.jobs(name) if job.digest == digest and job.state == "failed"]
        if failed and not self.store.open_jobs(name, digest):
            with self.store._write() as db:
                for job in failed:
                    db.execute("UPDATE jobs SET state='pending', attempts=0, next_try=0, error=NULL WHERE id=?",
                               (job.id,))
                    self.store._event(job.id, "requeued", None, "failure record removed")
            self.log(f"{name}: failure record removed; trying again")

    # --- one job -------------------------------------------------------------------------------

    def snapshot_path(self, job: Job) -> Path:
        # Keep the watch folder's name as the parent: the pipeline names the series after it.
        return self.out_dir / SNAPSHOTS / job.digest[:16] / self.in_dir.resolve().name / job.name

    def _snapshot(self, job: Job) -> Path | None:
        """A private copy of the job's input with the job's content, or None if the file changed or left."""
        target = self.snapshot_path(job)
        if target.is_file():
            return target
        source = self.in_dir / job.name
        digest = hashlib.sha256()
        try:
            with open(source, "rb") as src, atomic_path(target) as tmp:
                with open(tmp, "wb") as dst:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        dst.write(block)
                if digest.hexdigest() != job.digest:
                    raise _Changed()
        except (_Changed, FileNotFoundError):
            return None
        return target

    def process(self, job: Job) -> None:
        """Run one claimed job to done, retry, failure or release."""
        started = time.monotonic()
        runner = self.runner
        if runner is None:
            from localize.pipeline import localize_episode as runner
        try:
            self._in_job = True
            if self._stop:
                raise WatchStopped("stop requested")
            snapshot = self._snapshot(job)
            if snapshot is None:
                self._in_job = False
                self.store.supersede(job, "the file changed or was removed before it was processed")
                self.summary.superseded += 1
                self.log(f"{job.name} {job.locale}: skipped, the file changed or went away")
                self._cleanup(job)
                return
            reports = runner(snapshot, [job.locale], self.out_dir, self.options.pipeline)
            self._in_job = False
        except WatchStopped:
            self._in_job = False
            self.store.release(job)
            self.log(f"{job.name} {job.locale}: stopped; it will run again on the next start")
            return
        except PERMANENT as exc:
            self._in_job = False
            self._fail(job, str(exc), file_level=isinstance(exc, InputError))
            return
        except Exception as exc:  # noqa: BLE001 - transient or unknown: retry with backoff
            self._in_job = False
            reason = str(exc) if isinstance(exc, LocalizeError) else f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, (LocalizeError, OSError)):
                traceback.print_exc()
            if job.attempts >= self.options.max_attempts:
                self._fail(job, f"gave up after {job.attempts} attempts: {reason}", file_level=False)
                return
            delay = min(self.options.backoff_seconds * 2 ** (job.attempts - 1), self.options.backoff_max_seconds)
            self.store.retry(job, reason, delay)
            self.summary.retried += 1
            self.log(f"{job.name} {job.locale}: attempt {job.attempts} failed ({reason}); retrying in {delay:.0f} s")
            return
        self.store.finish(job, json.dumps([str(r) for r in reports]))
        self.summary.done += 1
        self.log(f"{job.name} {job.locale}: done in {time.monotonic() - started:.1f} s")
        self._cleanup(job)

    def _fail(self, job: Job, reason: str, *, file_level: bool) -> None:
        reason = " ".join(reason.split()) or "unknown error"
        self.store.fail(job, reason)
        self.summary.failed += 1
        if file_level:  # the same input fails every market alike: do not run the others
            self.store.fail_pending(job.name, job.digest, reason)
        # One line per file: the reason, or each failed market's reason when they differ.
        failed = [(j.locale, j.error or "") for j in self.store.jobs(job.name)
                  if j.digest == job.digest and j.state == "failed"]
        reasons = {error for _, error in failed}
        line = reason if file_level and reasons == {reason} else "; ".join(f"{loc}: {err}" for loc, err in failed)
        self.summary.failures[job.name] = line
        write_text_atomic(self.out_dir / FAILED / f"{job.name}.txt", line + "\n")
        self.log(f"{job.name} {job.locale}: failed: {reason}")
        self._cleanup(job)

    def _cleanup(self, job: Job) -> None:
        """Once no job of this content is open: drop its snapshot; if all went well, its failure record."""
        if self.store.open_jobs(job.name, job.digest):
            return
        shutil.rmtree(self.snapshot_path(job).parent.parent, ignore_errors=True)
        states = self.store.states(job.name, job.digest)
        if states and all(state == "done" for state in states):
            (self.out_dir / FAILED / f"{job.name}.txt").unlink(missing_ok=True)

    def _remove_leftovers(self) -> None:
        """Delete temporary files a killed process left in OUT (no live watcher is writing now).

        Only hidden names made by our atomic writers (``.x.part...``, ``.x.old-PID``) are touched,
        and never anything inside the watch folder, should it sit inside OUT.
        """
        removed = 0
        watched = self.in_dir.resolve()
        for path in sorted(self.out_dir.rglob(".*"), key=lambda p: len(p.parts)):
            name = path.name
            if ".part" not in name and ".old-" not in name or not os.path.lexists(path):
                continue  # (a staging folder's contents went with it)
            if path.resolve() == watched or watched in path.resolve().parents:
                continue
            try:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed += 1
            except OSError:
                continue
        if removed:
            self.log(f"removed {removed} temporary file(s) left by an interrupted run")


class _Changed(Exception):
    pass


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def watch(options: WatchOptions, *, runner: Runner | None = None,
          log: Callable[[str], None] = _log) -> WatchSummary:
    """Run a watcher over ``options.in_dir``; see the module docstring."""
    return Watcher(options, runner=runner, log=log).run()
