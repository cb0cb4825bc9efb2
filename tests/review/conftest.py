"""Fixtures of the review desk tests: a real localized short episode in a folder of its own."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest


SERIES_GLOSSARY = Path(__file__).resolve().parents[2] / "glossaries" / "ceo-romance.yaml"


def localize_into(warm_work, short_episode, base: Path, *, own_work_dir: bool = False) -> Path:
    """Localize the short episode to en-US into ``base/out`` (its stages cached from ``warm_work``), the work
    dirs in ``base/work`` or, with ``own_work_dir``, in the output folder's default ``.localize-work``."""
    out = base / "out"
    work = out / ".localize-work" if own_work_dir else base / "work"
    warm_work.seed(work, short_episode.video.stem)
    cast_root = out if own_work_dir else work  # the series cast, as a real series folder keeps it
    if (warm_work.root / "voices").is_dir() and not (cast_root / "voices").exists():
        shutil.copytree(warm_work.root / "voices", cast_root / "voices")
    work_option = [] if own_work_dir else ["--work-dir", str(work)]
    result = subprocess.run([sys.executable, "-m", "localize", str(short_episode.video), "--to", "en-US", "--out",
                             str(out), *work_option, "--glossary", str(SERIES_GLOSSARY)],
                            capture_output=True, text=True, env={**os.environ, "LOCALIZE_PROGRESS": "0"})
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture
def localized(warm_work, short_episode, tmp_path) -> Path:
    """A series output folder holding ``ep01.en-US`` (mp4, srt, json, html), for a test that changes it."""
    return localize_into(warm_work, short_episode, tmp_path)


@pytest.fixture
def localized_with_own_work_dir(warm_work, short_episode, tmp_path) -> Path:
    """The same in ``tmp_path/studio/out``, its work dirs in the output folder's ``.localize-work``."""
    return localize_into(warm_work, short_episode, tmp_path / "studio", own_work_dir=True)


@pytest.fixture(scope="module")
def localized_readonly(warm_work, short_episode, tmp_path_factory) -> Path:
    """The same, shared by the tests of a module that do not render."""
    return localize_into(warm_work, short_episode, tmp_path_factory.mktemp("desk"))


@contextlib.contextmanager
def serving(app):
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yields its base URL."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the desk did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def live_server():
    """:func:`serving`, for tests that need the desk on a real socket."""
    return serving
