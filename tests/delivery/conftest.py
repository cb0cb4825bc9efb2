"""Fixtures of the delivery tests: a short generated episode, an odd-shaped source, a warm work dir.

The pipeline's expensive stages (separation, ASR, diarization, translation, voices) are run
once per session on the short episode (``warm_work``); tests that run the real CLI (batch,
watch folder) start from a copy of that work directory, so their runs are real pipeline runs
whose finished stages are cache hits, and only mixing/export (what delivery changes) runs again.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"
SHORT_SCRIPT = DATA / "delivery_short.yaml"
SERIES_GLOSSARY = Path(__file__).resolve().parents[2] / "glossaries" / "ceo-romance.yaml"


def need_tools() -> None:
    missing = [tool for tool in ("ffmpeg", "ffprobe", "espeak-ng") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH")


@pytest.fixture(scope="session")
def short_episode(tmp_path_factory):
    """The 4-line (~16 s) sample episode of tests/data/delivery_short.yaml."""
    need_tools()
    from localize.sample import generate_sample

    return generate_sample(tmp_path_factory.mktemp("short"), SHORT_SCRIPT, name="ep01")


@dataclass(frozen=True)
class OddSource:
    """An 8 s cut of the short episode at 960x1440 (2:3) and 50 fps, to show the size and rate policies."""

    video: Path
    mix: Path  # dialogue + music of the same 8 s, 48 kHz stereo float WAV
    truth: dict
    duration_ms: int


@pytest.fixture(scope="session")
def odd_source(short_episode, tmp_path_factory) -> OddSource:
    from localize import ffmpeg
    from localize.audio import read_wav, write_wav

    out = tmp_path_factory.mktemp("odd")
    video = out / "odd.mp4"
    ffmpeg.run(ffmpeg.ffmpeg_argv("-i", str(short_episode.video), "-t", "8", "-an",
                                  "-vf", "scale=960:1440:force_original_aspect_ratio=increase,crop=960:1440,fps=50",
                                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video)),
               what="making the odd-shaped source")
    dialogue, rate = read_wav(short_episode.dialogue)
    music, _ = read_wav(short_episode.music)
    mix = out / "odd.mix.wav"
    write_wav(mix, (dialogue + music)[: 8 * rate], rate)
    truth = json.loads(short_episode.truth.read_text(encoding="utf-8"))
    return OddSource(video=video, mix=mix, truth=truth, duration_ms=8000)


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

    from delivery_helpers import run_localize

    base = tmp_path_factory.mktemp("warm")
    root = base / "work"
    run_localize(short_episode.video, "--to", "en-US", "--out", base / "out", "--work-dir", root,
                 "--glossary", SERIES_GLOSSARY)
    return WarmWork(root=root, episode=short_episode.video, digest=file_digest(short_episode.video))


