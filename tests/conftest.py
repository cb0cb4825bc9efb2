"""Shared fixtures. `sample_episode` is the generated default episode, made once per test session."""

from __future__ import annotations

import shutil

import pytest

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
