"""The review desk's web app (FastAPI): the JSON API, the page, and the output folder's media.

Security, in order of the request's path through the app:

- a body over :data:`MAX_BODY_BYTES` is refused (413) before it is read in full;
- with a token (``LOCALIZE_REVIEW_TOKEN``; required to bind anything but loopback), every
  request must carry it: header ``X-Review-Token``, ``Authorization: Bearer``, or ``?token=``
  (a ``<video src>`` cannot send headers); otherwise 401;
- on loopback without a token, only loopback Host headers are served (a web page elsewhere
  cannot reach the desk through DNS rebinding);
- ``/media/...`` serves regular files under the output folder only: the path is resolved
  (symlinks included) and must stay inside it; hidden entries (the work dir, staging) are not
  served;
- an unknown report, line, speaker or job is a 404; a malformed body a 422.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from localize.errors import LocalizeError
from localize.review.desk import BadEdit, ReportRef, ReviewDesk, UnknownItem
from localize.review.jobs import AlreadyRendering, RenderQueue

MAX_BODY_BYTES = 64 * 1024  # edits are a few hundred bytes; nothing large is uploaded over HTTP
STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
TOKEN_HEADER = "x-review-token"


class SegmentEdit(BaseModel):
    """``PATCH /api/reports/{id}/segments/{segment_id}``: any of text, speaker, approved."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, max_length=2000)
    speaker: str | None = Field(default=None, max_length=200)
    approved: bool | None = None


class CharacterEdit(BaseModel):
    """``PATCH /api/reports/{id}/speakers/{speaker}``: a new voice (and pitch) and/or a new name."""

    model_config = ConfigDict(extra="forbid")
    voice: str | None = Field(default=None, max_length=200)
    pitch: float | None = Field(default=None, ge=-24, le=24)
    name: str | None = Field(default=None, max_length=200)


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approved: bool = True


class BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes with 413, declared or streamed.

    The body is read here (at most ``limit`` + one chunk) and handed on from memory, so the app
    never starts on a body that turns out too large.
    """

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _plain(send, 413, "request body too large")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await _plain(send, 413, "request body too large")
            if not message.get("more_body"):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


class Guard:
    """ASGI middleware: the token (when set) on every request, and loopback Host headers when asked."""

    def __init__(self, app, token: str | None, hosts: tuple[str, ...] | None) -> None:
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        if self.hosts is not None:
            host = headers.get("host", "")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in self.hosts:
                return await _plain(send, 400, "unexpected Host header")
        if self.token is not None and not self._carries_token(scope, headers):
            return await _plain(send, 401, "missing or wrong review token")
        return await self.app(scope, receive, send)

    def _carries_token(self, scope, headers: dict[str, str]) -> bool:
        from urllib.parse import parse_qs

        offered = headers.get(TOKEN_HEADER)
        auth = headers.get("authorization", "")
        if offered is None and auth.lower().startswith("bearer "):
            offered = auth[7:].strip()
        if offered is None:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            offered = (query.get("token") or [None])[0]
        return offered is not None and hmac.compare_digest(offered.encode(), self.token.encode())


async def _plain(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def media_url(desk: ReviewDesk, path: Path | str | None) -> str | None:
    """The ``/media/`` URL of a file under the output folder (None for anything outside it)."""
    if not path:
        return None
    try:
        relative = Path(path).resolve().relative_to(desk.out_dir)
    except ValueError:
        return None
    return "/media/" + quote(relative.as_posix())


def safe_media_path(out_dir: Path, requested: str) -> Path | None:
    """``requested`` under ``out_dir`` as a regular, visible file that resolves inside it, else None."""
    parts = Path(requested).parts
    if not parts or any(part in ("..", "") or part.startswith(".") for part in parts) or Path(requested).is_absolute():
        return None
    candidate = (out_dir / requested).resolve()
    try:
        candidate.relative_to(out_dir)
    except ValueError:  # a symlink that leads out of the folder
        return None
    return candidate if candidate.is_file() else None


def line_audio(source: Path, start_s: float, end_s: float) -> bytes:
    """The audio of ``source`` between two times, as WAV (ffmpeg)."""
    result = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{max(start_s, 0):.3f}", "-to", f"{end_s:.3f}",
                             "-i", str(source), "-vn", "-ac", "1", "-ar", "24000", "-f", "wav", "-"],
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise HTTPException(500, f"cannot cut the line's audio: {result.stderr.decode(errors='replace')[-300:]}")
    return result.stdout


def create_app(out_dir: Path, *, token: str | None = None, loopback_only: bool = True,
               renderer=None) -> FastAPI:
    """The desk over ``out_dir``. ``renderer(desk, ref) -> dict`` renders a report (default: the pipeline)."""
    from localize.review.render import as_dict, render_report

    desk = ReviewDesk(out_dir)
    render = renderer or (lambda d, ref: as_dict(render_report(d, ref)))
    jobs = RenderQueue(lambda report_id: render(desk, desk.report(report_id)))
    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        jobs.close(timeout=1)

    app = FastAPI(title="localize review desk", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.desk, app.state.jobs = desk, jobs

    def find(report_id: str) -> ReportRef:
        try:
            return desk.report(report_id)
        except UnknownItem as exc:
            raise HTTPException(404, str(exc)) from None

    def not_while_rendering(ref: ReportRef) -> None:
        if jobs.busy(ref.id):
            raise HTTPException(409, f"{ref.id} is being rendered; edit it when the render is done")

    @app.exception_handler(UnknownItem)
    async def _unknown(_request: Request, exc: UnknownItem):
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(BadEdit)
    async def _bad(_request: Request, exc: BadEdit):
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(LocalizeError)
    async def _localize_error(_request: Request, exc: LocalizeError):
        return JSONResponse({"detail": str(exc)}, status_code=500)

    def listing(ref: ReportRef) -> dict[str, Any]:
        return {"id": ref.id, "episode": ref.episode, "locale": ref.locale, "report": media_url(desk, ref.path),
                "video": media_url(desk, ref.video), "qc": media_url(desk, ref.path.with_suffix(".html")),
                "rendering": jobs.busy(ref.id), **desk.summary(ref)}

    @app.get("/api/reports")
    def list_reports() -> list[dict]:
        return [listing(ref) for ref in desk.reports()]

    @app.get("/api/reports/{report_id}")
    def get_report(report_id: str) -> dict:
        ref = find(report_id)
        video = ref.video
        version = video.stat().st_mtime_ns if video and video.exists() else 0
        return {**ref.data, "segments": desk.lines(ref), "characters": desk.characters(ref),
                "review": {**listing(ref), "video_version": version}}

    @app.patch("/api/reports/{report_id}/segments/{segment_id}")
    def edit_segment(report_id: str, segment_id: int, edit: SegmentEdit) -> dict:
        ref = find(report_id)
        not_while_rendering(ref)
        return desk.edit(ref, segment_id, text=edit.text, speaker=edit.speaker, approved=edit.approved)

    @app.post("/api/reports/{report_id}/approve")
    def approve(report_id: str, approval: Approval = Body(default_factory=Approval)) -> dict:
        ref = find(report_id)
        return {"approved": desk.approve_all(ref, approval.approved)}

    @app.patch("/api/reports/{report_id}/speakers/{speaker}")
    def edit_character(report_id: str, speaker: str, edit: CharacterEdit) -> dict:
        ref = find(report_id)
        if speaker not in {s["id"] for s in ref.data.get("speakers", [])} and \
                speaker not in desk.characters(ref).values():
            raise HTTPException(404, f"{speaker!r} does not speak in {ref.episode}")
        not_while_rendering(ref)
        result: dict[str, Any] = {}
        if edit.voice is not None:
            result.update(desk.set_voice(ref, speaker, edit.voice, edit.pitch))
        if edit.name is not None:
            result.update(desk.rename(ref, result.get("speaker", speaker), edit.name))
        return result

    @app.get("/api/reports/{report_id}/voices")
    def voices(report_id: str) -> list[dict]:
        from localize.stages.synthesize import VOICES

        ref = find(report_id)
        try:
            backend = VOICES.create(ref.data["backends"]["voice"])
        except Exception:  # a backend that needs a model folder: the cast's voices still show
            return []
        try:
            return [{"name": v.name, "gender": getattr(v, "gender", None), "pitch": v.pitch} for v in backend.voices()]
        finally:
            backend.close()

    @app.post("/api/reports/{report_id}/render")
    def start_render(report_id: str) -> JSONResponse:
        ref = find(report_id)
        try:
            job = jobs.submit(ref.id)
        except AlreadyRendering as exc:
            return JSONResponse({"detail": str(exc), "job": exc.job.id}, status_code=409)
        return JSONResponse({"job": job.id}, status_code=202)

    @app.get("/api/jobs/{job_id}")
    def get_job(job_id: str) -> dict:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job.public()

    @app.get("/api/reports/{report_id}/segments/{segment_id}/audio/{which}")
    def segment_audio(report_id: str, segment_id: int, which: str) -> Response:
        ref = find(report_id)
        segment = ref.segment(segment_id)
        if which == "original":
            source, start, end = Path(ref.data["source"]["path"]), segment["start"], segment["end"]
        elif which == "dub" and ref.video is not None:
            source, start = ref.video, segment.get("dub_start", segment["start"])
            end = max(segment.get("dub_end") or segment["end"], start + 0.1)
        else:
            raise HTTPException(404, f"no {which!r} audio")
        if not source.is_file():
            raise HTTPException(404, f"{source.name} is gone")
        return Response(line_audio(source, start, end), media_type="audio/wav",
                        headers={"Cache-Control": "no-store"})

    @app.get("/media/{requested:path}")
    def media(requested: str) -> FileResponse:
        path = safe_media_path(desk.out_dir, requested)
        if path is None:
            raise HTTPException(404, "no such file")
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request) -> HTMLResponse:
        html = (STATIC / "desk.html").read_text(encoding="utf-8")
        offered = request.query_params.get("token")
        if token is not None and offered:  # the Guard checked it; the page's own files must carry it too
            for name in ("desk.css", "desk.js"):
                html = html.replace(f"static/{name}", f"static/{name}?token={quote(offered)}")
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}")
    def static(name: str) -> FileResponse:
        path = safe_media_path(STATIC, name)
        if path is None:
            raise HTTPException(404, "no such file")
        return FileResponse(path)

    guarded = Guard(app, token, LOOPBACK_HOSTS if loopback_only and token is None else None)
    limited = BodyLimit(guarded, MAX_BODY_BYTES)
    limited.fastapi = app  # the desk and its jobs: limited.fastapi.state
    return limited  # type: ignore[return-value]
