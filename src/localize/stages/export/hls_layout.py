"""Where an HLS package keeps each rendition: shared by the packager and the profiles' completeness checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localize.locales import Locale

PLAYLIST = "index.m3u8"


def video_dir(package: Path) -> Path:
    return Path(package) / "video"


def audio_dir(package: Path, locale: Locale) -> Path:
    return Path(package) / f"audio-{locale.tag}"


def subs_dir(package: Path, locale: Locale) -> Path:
    return Path(package) / f"subs-{locale.tag}"


def rendition_playlists(package: Path, locale: Locale, *, subtitles: bool = True) -> list[Path]:
    """The media playlists one market's export leaves in ``package`` (for completeness checks)."""
    playlists = [video_dir(package) / PLAYLIST, audio_dir(package, locale) / PLAYLIST]
    return playlists + ([subs_dir(package, locale) / PLAYLIST] if subtitles else [])
