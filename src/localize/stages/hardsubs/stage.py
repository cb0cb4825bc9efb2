"""The burned-in subtitle stages, declared: read the band (hardsubs), remove it from the picture
(unsubtitle), and fuse what was read with the ASR timing (fuse)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from localize.model import Transcript
from localize.stages.contract import Stage, StageContext
from localize.stages.hardsubs import VERSION, HardsubAnalysis, analyse_hardsubs, fuse, remove_hardsubs

CLEAN_PICTURE = "picture.clean.mkv"


@dataclass
class Picture:
    """The picture every market exports: the episode's own, or a copy with its Chinese text removed."""

    video: str
    removed: bool


def _read(ctx: StageContext) -> HardsubAnalysis:
    return analyse_hardsubs(ctx.episode, ctx.inputs["media"].media.duration_ms, ctx.settings.hardsubs)


def _remove(ctx: StageContext) -> Picture:
    clean = remove_hardsubs(ctx.episode, ctx.inputs["hardsub"], ctx.work.path(CLEAN_PICTURE), ctx.settings.hardsubs)
    return Picture(video=str(clean), removed=True) if clean is not None else \
        Picture(video=str(ctx.episode), removed=False)


def _fuse(ctx: StageContext) -> Transcript:
    asr: Transcript = ctx.inputs["asr"]
    events = ctx.inputs["hardsub"].events
    if not events:
        return asr
    segments = fuse(asr.segments, events)
    for index, segment in enumerate(segments):
        segment.id = index
    return dataclasses.replace(asr, segments=segments)


HARDSUBS = Stage(name="hardsubs", version=VERSION, gives="hardsub", needs=("source", "media"), settings=("hardsubs",),
                 output=HardsubAnalysis, run=_read, summary="find the burned-in subtitle band and read it (OCR)")
UNSUBTITLE = Stage(name="unsubtitle", version=VERSION, gives="picture", needs=("source", "hardsub"),
                   settings=("hardsubs",), output=Picture, run=_remove,
                   files=lambda data: (data["video"],),
                   summary="remove the burned-in text from the picture (temporal, inpaint, blur or box)")
FUSE = Stage(name="fuse", version=VERSION, gives="transcript", needs=("asr", "hardsub"), output=Transcript, run=_fuse,
             summary="the burned-in text with the ASR timing: the script each line really says")
