"""Jobs over HTTP: `localize serve` (uvicorn on 127.0.0.1) takes a job, runs it, serves its outputs,
and refuses episodes outside the input root, bad locales and bad profiles; the token rule."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from delivery_helpers import ENV, SERIES_GLOSSARY

SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict | bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            status = response.status
            kind = response.headers.get("content-type", "")
    except urllib.error.HTTPError as exc:
        payload, status, kind = exc.read(), exc.code, exc.headers.get("content-type", "")
    return status, json.loads(payload) if "json" in kind else payload


class Server:
    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "localize", "serve", *args, "--port", str(self.port)],
                                     env={**ENV, "PYTHONPATH": str(SRC), **(env or {})},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError(self.proc.stdout.read())
                time.sleep(0.2)
        self.stop()
        raise AssertionError("the server did not start")

    def stop(self) -> str:
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out or ""


def test_jobs_api_submit_poll_fetch_and_refuse(tmp_path, short_episode, warm_work):
    root = tmp_path / "inbox"
    (root / "ceo-romance").mkdir(parents=True)
    episode = root / "ceo-romance" / "ep07.mp4"
    shutil.copy(short_episode.video, episode)
    outside = tmp_path / "elsewhere.mp4"
    shutil.copy(short_episode.video, outside)
    (root / "ceo-romance" / "escape.mp4").symlink_to(outside)  # a link out of the root is outside too
    work = tmp_path / "work"
    warm_work.seed(work, "ep07")  # its analysis and en-US market are cache hits: the export runs for real
    out = tmp_path / "out"
    server = Server("--input-root", str(root), "--out", str(out), "--work-dir", str(work),
                    "--glossary", str(SERIES_GLOSSARY))
    try:
        jobs = f"{server.url}/api/jobs"
        for body, status, words in [
            ({"episode": str(outside), "locales": ["en-US"]}, 403, "outside the allowed input root"),
            ({"episode": "../elsewhere.mp4", "locales": ["en-US"]}, 403, "outside the allowed input root"),
            ({"episode": "ceo-romance/escape.mp4", "locales": ["en-US"]}, 403, "outside the allowed input root"),
            ({"episode": "ceo-romance/ep99.mp4", "locales": ["en-US"]}, 404, "no such file"),
            ({"episode": "ceo-romance/ep07.mp4", "locales": ["xx-YY"]}, 422, "unknown locale 'xx-YY'"),
            ({"episode": "ceo-romance/ep07.mp4", "locales": []}, 422, "at least one market"),
            ({"episode": "ceo-romance/ep07.mp4", "locales": ["en-US"], "profile": "vhs"}, 422,
             "unknown export profile 'vhs'"),
            ({"episode": "ceo-romance/ep07.mp4", "locales": ["en-US"], "profile": "/etc/passwd"}, 422,
             "not a path"),
        ]:
            got, payload = _call("POST", jobs, body)
            assert got == status and words in payload["detail"], (body, got, payload)
        assert _call("GET", f"{jobs}/nope")[0] == 404
        assert _call("GET", jobs, headers={"Host": "evil.example:80"})[0] == 400  # no DNS rebinding

        status, payload = _call("POST", jobs, {"episode": "ceo-romance/ep07.mp4", "locales": ["en-US"],
                                               "profile": "generic-mp4"})
        assert status == 202, payload
        job_id = payload["id"]
        deadline = time.monotonic() + 600
        while True:
            status, job = _call("GET", f"{jobs}/{job_id}")
            assert status == 200 and job["state"] in ("queued", "running", "done"), job
            if job["state"] == "done" or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert job["state"] == "done", job
        assert job["episode"] == str(episode.resolve()) and job["locales"] == ["en-US"]
        files = job["outputs"]["en-US"]
        assert Path(files["video"]) == (out / "ceo-romance" / "ep07.en-US.mp4").resolve()
        status, srt = _call("GET", f"{jobs}/{job_id}/files/en-US/srt")
        assert status == 200 and srt == Path(files["srt"]).read_bytes() and b"-->" in srt
        status, video = _call("GET", f"{jobs}/{job_id}/files/en-US/video")
        assert status == 200 and video[4:8] == b"ftyp"
        status, report = _call("GET", f"{jobs}/{job_id}/files/en-US/report")
        assert status == 200 and report["locale"] == "en-US" and report["segments"]
        assert _call("GET", f"{jobs}/{job_id}/files/en-US/bed")[0] == 404  # not delivered: not served
        assert [j["id"] for j in _call("GET", jobs)[1]["jobs"]] == [job_id]
    finally:
        log = server.stop()
    assert "queued" in log and "done" in log, log
    assert episode.read_bytes() == short_episode.video.read_bytes()  # the input is only read


def test_serve_needs_a_token_off_loopback_and_then_on_every_request(tmp_path):
    (tmp_path / "in").mkdir()
    refused = subprocess.run([sys.executable, "-m", "localize", "serve", "--input-root", str(tmp_path / "in"),
                              "--out", str(tmp_path / "out"), "--host", "0.0.0.0"], capture_output=True, text=True,
                             env={**ENV, "PYTHONPATH": str(SRC), "LOCALIZE_REVIEW_TOKEN": ""})
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("localize: error: binding 0.0.0.0 exposes the server")
    server = Server("--input-root", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                    env={"LOCALIZE_REVIEW_TOKEN": "s3cret"})
    try:
        jobs = f"{server.url}/api/jobs"
        assert _call("GET", jobs)[0] == 401
        assert _call("GET", jobs, headers={"X-Review-Token": "wrong"})[0] == 401
        assert _call("POST", jobs, {"episode": "x.mp4", "locales": ["en-US"]})[0] == 401
        assert _call("GET", jobs, headers={"X-Review-Token": "s3cret"}) == (200, {"jobs": []})
        assert _call("GET", jobs, headers={"Authorization": "Bearer s3cret"})[0] == 200
    finally:
        server.stop()
