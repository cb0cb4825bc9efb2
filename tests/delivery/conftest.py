"""Fixtures of the delivery tests: a short generated episode, an odd-shaped source, a warm work dir.

``short_episode`` and ``warm_work`` (one real run of it, reused by copies) are in tests/conftest.py;
tests that run the real CLI (batch, watch folder) start from a copy of that work directory, so their
runs are real pipeline runs whose finished stages are cache hits, and only mixing/export runs again.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest



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
