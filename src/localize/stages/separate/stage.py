"""The separate stage, declared: the episode's audio in, a dialogue stem and a background stem out."""

from __future__ import annotations

from localize.stages.contract import Stage, StageContext
from localize.stages.separate import VERSION
from localize.stages.separate.registry import SEPARATORS, Stems

# Backends configured by a file, and the setting that names it.
FILE_SETTING = {"file": "bed_file", "demucs": "separator_model"}


def _run(ctx: StageContext) -> Stems:
    name = ctx.settings.separator
    options = {"path": getattr(ctx.settings, FILE_SETTING[name])} if name in FILE_SETTING else {}
    separator = SEPARATORS.create(name, **options)
    media = ctx.inputs["media"]
    return separator.separate(ctx.work.path(media.audio_mix), ctx.work.path(media.audio_analysis), ctx.work.root)


STAGE = Stage(name="separate", version=VERSION, gives="stems", needs=("media",),
              settings=("separator", "bed_file", "separator_model"), output=Stems, run=_run,
              files=lambda data: (data["dialogue"], data["bed"]),
              summary="split dialogue from music and effects (--separator)")
