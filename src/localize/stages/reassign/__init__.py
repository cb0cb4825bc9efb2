"""Speaker overrides from review: a person says who really speaks a line.

The review desk writes them to ``<work>/review.speakers.json`` (``{"<segment id>": "<speaker
id>"}``); :func:`apply_overrides` puts them over diarization's labels. Diarization itself never
runs again for them: the overrides are a cheap stage after it (see :mod:`.stage`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from localize.errors import ConfigError
from localize.fsutil import write_json_atomic
from localize.model import Segment
from localize.stages.diarize import Diarization

VERSION = "1"
OVERRIDES_FILE = "review.speakers.json"


def overrides_path(work_root: Path) -> Path:
    """The episode's speaker overrides, in its work dir (one per episode: who speaks is not per market)."""
    return Path(work_root) / OVERRIDES_FILE


def load_overrides(path: Path) -> dict[int, str]:
    """Segment id -> speaker id; a missing file is no overrides."""
    if not Path(path).is_file():
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {int(segment): str(speaker) for segment, speaker in data.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"speaker overrides {path} are unreadable: {exc}") from None


def save_overrides(path: Path, overrides: dict[int, str]) -> None:
    """Write the overrides atomically, in segment order."""
    write_json_atomic(Path(path), {str(k): v for k, v in sorted(overrides.items())})


def apply_overrides(diarization: Diarization, segments: list[Segment], overrides: dict[int, str]) -> Diarization:
    """Diarization with each overridden line given to its reviewed speaker (the speakers' line counts follow).

    An override naming a speaker this episode does not have is an error: a line can only go to
    someone who speaks in the episode.
    """
    if not overrides:
        return diarization
    known = {s.id for s in diarization.speakers}
    labels = list(diarization.labels)
    confidence = list(getattr(diarization, "confidence", []) or [])
    for index, segment in enumerate(segments):
        speaker = overrides.get(segment.id)
        if speaker is None:
            continue
        if speaker not in known:
            raise ConfigError(f"line {segment.id} is reassigned to {speaker!r}, who does not speak in this episode "
                              f"(speakers: {', '.join(sorted(known))})")
        labels[index] = speaker
        if index < len(confidence):
            confidence[index] = 1.0  # a person said so
    speakers = [dataclasses.replace(s, segments=labels.count(s.id)) for s in diarization.speakers]
    changes = {"labels": labels, "speakers": speakers}
    if confidence:
        changes["confidence"] = confidence
    return dataclasses.replace(diarization, **changes)
