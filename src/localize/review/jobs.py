"""Render jobs of the review desk: one background worker thread runs them in order.

One report is never rendered twice at once: asking again while its render is queued or running
is refused (the web app answers 409). Renders of different reports queue behind each other, as
the machine has the CPU for one at a time.
"""

from __future__ import annotations

import itertools
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field


class AlreadyRendering(Exception):
    """The report already has a render queued or running."""

    def __init__(self, job: "Job") -> None:
        super().__init__(f"{job.report} is already being rendered (job {job.id})")
        self.job = job


@dataclass
class Job:
    id: str
    report: str
    state: str = "queued"  # queued | running | done | failed
    lines_revoiced: int | None = None
    error: str | None = None
    result: dict = field(default_factory=dict)

    def public(self) -> dict:
        return {"job": self.id, "report": self.report, "state": self.state,
                "lines_revoiced": self.lines_revoiced, "error": self.error, **self.result}


class RenderQueue:
    """Runs ``work(report_id) -> dict`` (with ``lines_revoiced``) for each submitted report, one at a time."""

    def __init__(self, work: Callable[[str], dict]) -> None:
        self._work = work
        self._jobs: dict[str, Job] = {}
        self._active: dict[str, Job] = {}  # report -> its queued or running job
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._thread = threading.Thread(target=self._loop, name="review-render", daemon=True)
        self._thread.start()

    def submit(self, report: str) -> Job:
        with self._lock:
            if report in self._active:
                raise AlreadyRendering(self._active[report])
            job = Job(id=str(next(self._ids)), report=report)
            self._jobs[job.id] = job
            self._active[report] = job
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def busy(self, report: str) -> bool:
        """Whether ``report`` has a render queued or running."""
        return report in self._active

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            job.state = "running"
            try:
                result = self._work(job.report)
                job.lines_revoiced = int(result.get("lines_revoiced", 0))
                job.result = {k: v for k, v in result.items() if k in ("seconds", "stages_run")}
                job.state = "done"
            except Exception as exc:  # the job says why; the worker goes on with the next
                job.error = f"{type(exc).__name__}: {exc}"
                job.state = "failed"
                traceback.print_exc(file=sys.stderr)
            finally:
                with self._lock:
                    self._active.pop(job.report, None)

    def close(self, timeout: float | None = None) -> None:
        """Stop the worker after the jobs already queued."""
        self._queue.put(None)
        self._thread.join(timeout)
