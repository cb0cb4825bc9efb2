"""Shared fixtures, made once per test session: ``sample_episode`` (the default 84 s episode),
``short_episode`` (4 lines, ~16 s) and ``warm_work`` (one real `localize` run of the short episode,
whose work dir later runs copy so that its finished stages are cache hits)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
SHORT_SCRIPT = DATA / "delivery_short.yaml"
SERIES_GLOSSARY = Path(__file__).resolve().parents[1] / "glossaries" / "ceo-romance.yaml"


def run_cli(*args, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m localize ARGS`` in a real subprocess, progress off."""
    result = subprocess.run([sys.executable, "-m", "localize", *map(str, args)], capture_output=True, text=True,
                            env={**os.environ, "LOCALIZE_PROGRESS": "0"})
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture
def one_torch_thread():
    """One torch thread for tiny models: on a shared 2-core machine, small convs get slower, not faster, with more."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def localize_cli():
    """:func:`run_cli`, for tests outside this folder's helpers."""
    return run_cli


@pytest.fixture
def series_glossary() -> Path:
    """The sample series' glossary (names, terms, honorifics)."""
    return SERIES_GLOSSARY


def need_tools() -> None:
    missing = [tool for tool in ("ffmpeg", "ffprobe", "espeak-ng") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH")


_state: dict[str, object] = {}


@pytest.fixture(scope="session")
def sample_episode(tmp_path_factory):
    """The default sample episode (samples/episode01.yaml), generated once into a session tmp dir.

    A failed generation is remembered, so every test that needs the episode fails at once with
    the same error instead of regenerating it (pytest re-runs a session fixture that raised).
    """
    if "episode" in _state:
        return _state["episode"]
    if "error" in _state:
        pytest.fail(f"sample episode generation failed earlier: {_state['error']}", pytrace=False)
    missing = [tool for tool in ("ffmpeg", "ffprobe", "espeak-ng") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the sample episode needs {', '.join(missing)} on PATH")

    from localize.sample import generate_sample

    try:
        episode = generate_sample(tmp_path_factory.mktemp("sample"))
    except Exception as exc:
        _state["error"] = f"{type(exc).__name__}: {exc}"
        raise
    _state["episode"] = episode
    return episode


@pytest.fixture(scope="session")
def short_episode(tmp_path_factory):
    """The 4-line (~16 s) sample episode of tests/data/delivery_short.yaml."""
    need_tools()
    from localize.sample import generate_sample

    return generate_sample(tmp_path_factory.mktemp("short"), SHORT_SCRIPT, name="ep01")


@dataclass(frozen=True)
class WarmWork:
    """A work root holding every stage of the short episode for en-US (with the series glossary)."""

    root: Path
    episode: Path
    digest: str

    def seed(self, work_root: Path, stem: str) -> None:
        """Make ``work_root`` hold the same cached stages for an episode file named ``stem`` (same content)."""
        source = self.root / f"{self.episode.stem}-{self.digest[:12]}"
        target = Path(work_root) / f"{stem}-{self.digest[:12]}"
        if not target.exists():
            shutil.copytree(source, target)


@pytest.fixture(scope="session")
def warm_work(short_episode, tmp_path_factory) -> WarmWork:
    """One real `localize` run of the short episode to en-US; its work dir is reused by later runs."""
    from localize.fsutil import file_digest

    base = tmp_path_factory.mktemp("warm")
    root = base / "work"
    run_cli(short_episode.video, "--to", "en-US", "--out", base / "out", "--work-dir", root,
                 "--glossary", SERIES_GLOSSARY)
    return WarmWork(root=root, episode=short_episode.video, digest=file_digest(short_episode.video))
