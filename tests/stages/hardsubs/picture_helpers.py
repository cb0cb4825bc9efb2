"""Shared by the subtitle-removal tests: the clean picture as one plain video file."""

from __future__ import annotations

from pathlib import Path

from localize import ffmpeg


def whole_picture(patch: ffmpeg.BandPatch, path: Path) -> Path:
    """Write the band laid over its source as one lossless video at ``path`` (what every reader of
    the clean picture sees), so a test can decode it like any video."""
    ffmpeg.run(ffmpeg.clean_picture_argv(patch, path), what="laying the band over the source")
    return path
