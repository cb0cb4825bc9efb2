"""Export: encode the final picture with the mix and the target subtitles, atomically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import ffmpeg
from ..ffmpeg import VideoEncoding
from ..fsutil import atomic_path
from ..locales import Locale
from . import subtitles as subtitle_stage

VERSION = "1"
AI_LABEL = "AI-generated: dubbed voices, translation and subtitles made by localize"


@dataclass
class ExportJob:
    """One market's render: inputs in the work dir, final outputs under their contract names."""

    picture: Path
    audio: Path
    subtitles_ass: Path
    cues: list[subtitle_stage.Cue]
    locale: Locale
    width: int
    height: int
    title: str
    video_out: Path
    srt_out: Path
    encoding: VideoEncoding


def export(job: ExportJob) -> dict:
    """Render the MP4 (subtitles burned in, AI label in the metadata) and the SRT sidecar."""
    with atomic_path(job.video_out) as tmp_video:
        argv = ffmpeg.render_argv(job.picture, job.audio, tmp_video, subtitles=job.subtitles_ass, fonts_dir=None,
                                  encoding=job.encoding, metadata={"comment": AI_LABEL, "title": job.title},
                                  audio_language=job.locale.iso639_2)
        ffmpeg.run(argv, what=f"rendering {job.locale.tag}")
    subtitle_stage.write_subtitles(job.cues, job.locale, job.width, job.height, job.srt_out, "srt")
    return {"video": str(job.video_out), "srt": str(job.srt_out)}
