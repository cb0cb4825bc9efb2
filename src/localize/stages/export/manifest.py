"""Delivery manifests: what was delivered, with checksums, durations, tracks and measured loudness.

A manifest is JSON beside the files it lists (paths are relative to its folder). It is written
last, atomically, so its presence means the set it lists is complete; :func:`verify_manifest`
checks that the files are still there and unchanged.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localize import __version__, ffmpeg
from localize.errors import LocalizeError
from localize.fsutil import file_digest, write_json_atomic

if TYPE_CHECKING:
    from localize.locales import Locale
    from localize.stages.export.profiles import ExportProfile

MANIFEST_VERSION = 1
# Files ffprobe describes (tracks, duration); others get only size and checksum.
PROBED = (".mp4", ".m4v", ".mov", ".m3u8", ".srt", ".vtt", ".jpg", ".jpeg")
# Files whose loudness is measured: what a viewer hears.
MEASURED = (".mp4", ".m4v", ".mov")


def _tracks(data: dict) -> list[dict[str, Any]]:
    tracks = []
    for stream in data.get("streams") or []:
        kind = stream.get("codec_type")
        tags = stream.get("tags") or {}
        track: dict[str, Any] = {"type": kind, "codec": stream.get("codec_name")}
        if kind == "video":
            track.update(width=stream.get("width"), height=stream.get("height"),
                         fps=stream.get("avg_frame_rate") or stream.get("r_frame_rate"),
                         pix_fmt=stream.get("pix_fmt"), profile=stream.get("profile"))
        elif kind == "audio":
            track.update(sample_rate=int(stream.get("sample_rate") or 0), channels=stream.get("channels"),
                         bit_rate=int(stream["bit_rate"]) if str(stream.get("bit_rate", "")).isdigit() else None)
        if tags.get("language"):
            track["language"] = tags["language"]
        tracks.append({k: v for k, v in track.items() if v is not None})
    return tracks


def describe_file(path: Path, role: str, base: Path, *, measure: bool = True) -> dict[str, Any]:
    """One manifest entry: relative path, role, bytes, sha256, and for media its duration and tracks."""
    path = Path(path)
    entry: dict[str, Any] = {"path": path.relative_to(base).as_posix(), "role": role, "bytes": path.stat().st_size,
                             "sha256": file_digest(path)}
    if path.suffix.lower() in PROBED:
        try:
            data = ffmpeg.probe_json(path)
        except LocalizeError:
            data = {}
        duration = (data.get("format") or {}).get("duration")
        if duration not in (None, "N/A") and path.suffix.lower() not in (".jpg", ".jpeg"):
            entry["duration"] = round(float(duration), 3)
        tracks = _tracks(data)
        if tracks:
            entry["tracks"] = tracks
        audible = path.suffix.lower() in MEASURED or (role == "audio" and path.suffix.lower() == ".m3u8")
        if measure and audible and any(t["type"] == "audio" for t in tracks):
            entry["loudness"] = ffmpeg.measure_loudness(path)
    return entry


def write_manifest(path: Path, files: Mapping[str, Path | list[Path]], *, profile: ExportProfile,
                   locales: list[Locale], series: str = "", episode: str = "", visible_label: str | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Describe ``files`` (role -> path or paths) in a manifest at ``path``; returns what was written."""
    path = Path(path)
    base = path.parent
    entries = []
    for role, value in files.items():
        for item in value if isinstance(value, list) else [value]:
            entries.append(describe_file(Path(item), role, base))
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "tool": {"name": "localize", "version": __version__},
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "profile": profile.name,
        "series": series,
        "episode": episode,
        "locales": [loc.tag for loc in locales],
        "ai_generated": True,
        "ai_label": profile.label.text,
        "ai_label_metadata_keys": list(profile.label.metadata_keys),
        "visible_label": visible_label,
        "loudness_target": {"integrated_lufs": profile.target_lufs, "true_peak_db": profile.true_peak_db},
        **(extra or {}),
        "files": entries,
    }
    write_json_atomic(path, manifest)
    return manifest


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def verify_manifest(path: Path, *, checksums: bool = False) -> list[str]:
    """Problems with the set a manifest lists (missing, resized or, with ``checksums``, changed files).

    An empty list means the delivery is complete and intact.
    """
    path = Path(path)
    try:
        manifest = load_manifest(path)
    except (OSError, ValueError) as exc:
        return [f"{path.name}: unreadable manifest ({exc})"]
    problems = []
    for entry in manifest.get("files") or []:
        item = path.parent / entry["path"]
        if not item.is_file():
            problems.append(f"{entry['path']}: missing")
        elif item.stat().st_size != entry.get("bytes"):
            problems.append(f"{entry['path']}: size changed")
        elif checksums and file_digest(item) != entry.get("sha256"):
            problems.append(f"{entry['path']}: content changed")
    if not manifest.get("files"):
        problems.append(f"{path.name}: lists no files")
    return problems
