"""Jobs over HTTP: ``POST /api/jobs`` queues an episode x markets, ``GET /api/jobs/{id}`` follows it.

A FastAPI :class:`~fastapi.APIRouter` (:func:`jobs_router`), so it can be mounted into any app
(``localize serve`` mounts it alone; the review desk can mount it beside its own routes).

- ``POST /api/jobs`` with ``{"episode": PATH, "locales": ["en-US", ...], "profile": NAME}``:
  ``PATH`` is relative to the allowed input root (or absolute inside it); symlinks are resolved
  first, so nothing outside the root can be named. An episode outside the root is a 403, a missing
  one a 404, a bad locale or profile a 422, each with a one-line ``detail``. Returns ``{"id": ...}``
  (202).
- ``GET /api/jobs/{id}``: ``state`` (queued, running, done, failed), the error, and per market the
  delivered files (from the market's report).
- ``GET /api/jobs/{id}/files/{locale}/{role}``: one delivered file (``video``, ``srt``, ``report``...).
- ``GET /api/jobs``: every job, newest first.

Outputs go to ``OUT/<the episode's folder under the root>/`` with the pipeline's names. Jobs run on
the executor given (``local``: in order, one at a time; ``ray``: several at once on the cluster).
Each job's record is kept in ``OUT/.localize-http-jobs/<id>.json``; a server restarted after a
crash queues its unfinished jobs again (the work dirs make finished stages free).

Security: with a token (``LOCALIZE_REVIEW_TOKEN``, required to bind anything but loopback) every
request must carry it (``X-Review-Token`` or ``Authorization: Bearer``), else 401; without one,
only loopback ``Host`` headers are served (no DNS rebinding from a web page).
"""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations, and the
# request model lives inside jobs_router (pydantic is imported only when the API is served).
import dataclasses
import hmac
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localize.errors import LocalizeError
from localize.fsutil import write_json_atomic

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from localize.delivery.executors import Executor
    from localize.pipeline import PipelineOptions

TOKEN_ENV = "LOCALIZE_REVIEW_TOKEN"
TOKEN_HEADER = "x-review-token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
RECORDS = ".localize-http-jobs"
STATES = ("queued", "running", "done", "failed")


class JobRejected(Exception):
    """A job request the server refuses: an HTTP status and a one-line reason."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass
class HttpJob:
    """One submitted episode x markets."""

    id: str
    episode: str
    locales: list[str]
    profile: str | None
    out_dir: str
    state: str = "queued"
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # locale -> role -> path

    def public(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class JobService:
    """Validates, records and runs HTTP jobs on an executor."""

    def __init__(self, input_root: Path, out_dir: Path, options: "PipelineOptions", executor: "Executor", *,
                 profiles_dir: Path | None = None, concurrency: int | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.input_root = Path(input_root).resolve()
        self.out_dir = Path(out_dir).resolve()
        self.options = options
        self.executor = executor
        self.profiles_dir = profiles_dir
        self.log = log or (lambda line: print(f"localize serve: {line}", file=sys.stderr, flush=True))
        if not self.input_root.is_dir():
            raise LocalizeError(f"{input_root}: the input root is not a folder")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._jobs: dict[str, HttpJob] = {}
        self._lock = threading.Lock()
        workers = concurrency or (1 if executor.name == "local" else 4)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="localize-job")
        self._load_records()

    # --- submitting ----------------------------------------------------------------------------

    def episode_path(self, requested: str) -> Path:
        """``requested`` as a file inside the input root, or :class:`JobRejected`."""
        from localize.delivery.batch import is_episode_name

        if not isinstance(requested, str) or not requested.strip() or "\x00" in requested:
            raise JobRejected(422, "episode: give a path under the input root")
        candidate = Path(requested)
        resolved = (candidate if candidate.is_absolute() else self.input_root / candidate).resolve()
        if resolved != self.input_root and self.input_root not in resolved.parents:
            raise JobRejected(403, f"episode {requested!r} is outside the allowed input root")
        if not resolved.is_file():
            raise JobRejected(404, f"episode {requested!r}: no such file under the input root")
        if not is_episode_name(resolved.name):
            raise JobRejected(422, f"episode {requested!r} is not a video file")
        return resolved

    def submit(self, episode: str, locales: list[str], profile: str | None = None) -> HttpJob:
        """Check the request and queue it; :class:`JobRejected` says what is wrong."""
        from localize.locales import get_locale
        from localize.stages.export.profiles import load_profile

        path = self.episode_path(episode)
        if not locales:
            raise JobRejected(422, "locales: give at least one market, e.g. [\"en-US\"]")
        try:
            tags = list(dict.fromkeys(get_locale(str(tag)).tag for tag in locales))
            if profile is not None and (not isinstance(profile, str) or "/" in profile or "\\" in profile):
                raise JobRejected(422, f"profile {profile!r}: give a profile name, not a path")
            loaded = load_profile(profile, profiles_dir=self.profiles_dir) if profile is not None else None
        except LocalizeError as exc:
            raise JobRejected(422, str(exc)) from None
        job = HttpJob(id=uuid.uuid4().hex[:16], episode=str(path), locales=tags,
                      profile=loaded.name if loaded is not None else None,
                      out_dir=str(self.out_dir / path.parent.relative_to(self.input_root)))
        with self._lock:
            self._jobs[job.id] = job
        self._save(job)
        self._pool.submit(self._run, job, loaded)
        self.log(f"job {job.id}: {path.name} -> {', '.join(tags)} queued")
        return job

    # --- running -------------------------------------------------------------------------------

    def _run(self, job: HttpJob, profile=None) -> None:
        from localize.pipeline import load_report

        options = self.options if profile is None else dataclasses.replace(self.options, profile=profile)
        self._update(job, state="running", started=time.time())
        try:
            reports = self.executor.localize(Path(job.episode), job.locales, Path(job.out_dir), options)
            outputs = {}
            for tag, report in zip(job.locales, reports):
                listed = load_report(report).get("outputs") or {}
                outputs[tag] = {role: str(p) for role, p in listed.items() if Path(p).exists()}
        except LocalizeError as exc:
            self._update(job, state="failed", finished=time.time(), error=" ".join(str(exc).split()))
        except Exception as exc:  # noqa: BLE001 - a bug fails this job, not the server
            import traceback

            traceback.print_exc()
            self._update(job, state="failed", finished=time.time(), error=f"internal error: {type(exc).__name__}: {exc}")
        else:
            self._update(job, state="done", finished=time.time(), outputs=outputs)
        self.log(f"job {job.id}: {job.state}" + (f" ({job.error})" if job.error else ""))

    def _update(self, job: HttpJob, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)
        self._save(job)

    def _save(self, job: HttpJob) -> None:
        write_json_atomic(self.out_dir / RECORDS / f"{job.id}.json", job.public())

    def _load_records(self) -> None:
        """Jobs of an earlier server; the unfinished ones are queued again."""
        from localize.stages.export.profiles import load_profile

        folder = self.out_dir / RECORDS
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                job = HttpJob(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            self._jobs[job.id] = job
            if job.state in ("queued", "running"):
                job.state, job.started = "queued", None
                try:
                    profile = load_profile(job.profile, profiles_dir=self.profiles_dir) if job.profile else None
                except LocalizeError as exc:
                    self._update(job, state="failed", error=str(exc))
                    continue
                self._pool.submit(self._run, job, profile)
                self.log(f"job {job.id}: queued again (the server stopped before it finished)")

    # --- reading -------------------------------------------------------------------------------

    def get(self, job_id: str) -> "HttpJob | None":
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> "list[HttpJob]":
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.submitted, reverse=True)

    def output_file(self, job_id: str, locale: str, role: str) -> Path | None:
        """A file the job delivered (only those its report lists, inside the output folder)."""
        job = self.get(job_id)
        path = (job.outputs.get(locale) or {}).get(role) if job is not None else None
        if path is None:
            return None
        resolved = Path(path).resolve()
        if self.out_dir not in resolved.parents or not resolved.is_file():
            return None
        return resolved

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def token_allowed(offered: str | None, token: str | None) -> bool:
    return token is None or (offered is not None and hmac.compare_digest(offered.encode(), token.encode()))


def jobs_router(service: JobService, token: str | None = None) -> "APIRouter":
    """The jobs API as a router; with ``token`` every route needs it, without one only loopback Hosts."""
    from fastapi import APIRouter, Depends, HTTPException, Request
    from fastapi.responses import FileResponse
    from pydantic import BaseModel, ConfigDict

    class JobRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        episode: str
        locales: list[str]
        profile: str | None = None

    def guard(request: Request) -> None:
        if token is None:
            host = request.headers.get("host", "")
            name = host if host.endswith("]") else host.rsplit(":", 1)[0]
            if name not in LOOPBACK_HOSTS:
                raise HTTPException(400, "unexpected Host header")
            return
        offered = request.headers.get(TOKEN_HEADER)
        auth = request.headers.get("authorization", "")
        if offered is None and auth.lower().startswith("bearer "):
            offered = auth[7:].strip()
        if not token_allowed(offered, token):
            raise HTTPException(401, "missing or wrong token (X-Review-Token or Authorization: Bearer)")

    router = APIRouter(prefix="/api/jobs", tags=["jobs"], dependencies=[Depends(guard)])

    @router.post("", status_code=202)
    def submit(body: JobRequest) -> dict:
        try:
            job = service.submit(body.episode, body.locales, body.profile)
        except JobRejected as exc:
            raise HTTPException(exc.status, exc.detail) from None
        return {"id": job.id, "state": job.state, "url": f"/api/jobs/{job.id}"}

    @router.get("")
    def listing() -> dict:
        return {"jobs": [job.public() for job in service.all()]}

    @router.get("/{job_id}")
    def status(job_id: str) -> dict:
        job = service.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job.public()

    @router.get("/{job_id}/files/{locale}/{role}")
    def output_file(job_id: str, locale: str, role: str):
        path = service.output_file(job_id, locale, role)
        if path is None:
            raise HTTPException(404, f"job {job_id!r} delivered no {role!r} for {locale!r}")
        return FileResponse(path, filename=path.name)

    return router


def create_app(service: JobService, token: str | None = None) -> "FastAPI":
    """A FastAPI app serving only the jobs API (``localize serve``)."""
    from fastapi import FastAPI

    from localize import __version__

    app = FastAPI(title="localize jobs", version=__version__)
    app.include_router(jobs_router(service, token))
    return app


def check_bind(host: str, token: str | None) -> None:
    """Anything but loopback needs a token: raise :class:`LocalizeError` otherwise."""
    from localize.errors import UsageError

    if host not in LOOPBACK_HOSTS and not token:
        raise UsageError(f"binding {host} exposes the server beyond this machine: set {TOKEN_ENV} "
                         f"(every request must then carry it), or bind 127.0.0.1")
