"""The subtitles stage, declared: the translations in, the market's cues and styled ASS out."""

from __future__ import annotations

import dataclasses

from localize.model import from_dict
from localize.stages.contract import Stage, StageContext
from localize.stages.subtitles import VERSION, Cue, Placement, build_cues, write_subtitles


def picture_size(media) -> tuple[int, int]:
    """The displayed width and height (a rotated source shows turned)."""
    return (media.height, media.width) if media.rotation in (90, 270) else (media.width, media.height)


def translated_segments(ctx: StageContext) -> list:
    """The transcript's segments carrying their translations."""
    return [dataclasses.replace(seg, text=line["text"])
            for seg, line in zip(ctx.inputs["transcript"].segments, ctx.inputs["translations"])]


def cues_of(data: dict) -> list[Cue]:
    """The cues of a subtitles artifact."""
    return [from_dict(Cue, cue) for cue in data["cues"]]


def _run(ctx: StageContext) -> dict:
    locale = ctx.locale
    width, height = picture_size(ctx.inputs["media"].media)
    cues = build_cues(translated_segments(ctx), locale)
    band = ctx.inputs["hardsub"].band
    placement = Placement.from_band(band) if band is not None else None
    ass = ctx.work.path(f"subtitles.{locale.tag}.ass")
    write_subtitles(cues, locale, width, height, ass, "ass", placement=placement)
    return {"ass": ass.name, "cues": [dataclasses.asdict(cue) for cue in cues], "width": width, "height": height}


STAGE = Stage(name="subtitles", version=VERSION, gives="subtitles",
              needs=("translations", "transcript", "media", "hardsub"), per_market=True, run=_run,
              files=lambda data: (data["ass"],),
              summary="cut the translations into cues (line and reading-speed rules), styled in the Chinese band")
