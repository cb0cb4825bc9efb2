"""The reassign stage, declared: diarization plus the reviewed speaker overrides in, the speakers out.

The overrides file is this stage's outside input, so reassigning a line re-runs only this cheap
stage and what reads speakers; diarization stays cached. Keyed by its output: with no override
(or one that changes nothing) every later stage stays cached.
"""

from __future__ import annotations

from localize.stages.contract import Stage, StageContext
from localize.stages.diarize import Diarization
from localize.stages.reassign import VERSION, apply_overrides, load_overrides, overrides_path


def _external(ctx: StageContext) -> dict:
    return {str(k): v for k, v in sorted(load_overrides(overrides_path(ctx.work.root)).items())}


def _run(ctx: StageContext) -> Diarization:
    overrides = load_overrides(overrides_path(ctx.work.root))
    return apply_overrides(ctx.inputs["diarization"], ctx.inputs["transcript"].segments, overrides)


STAGE = Stage(name="reassign", version=VERSION, gives="speakers", needs=("diarization", "transcript"),
              output=Diarization, run=_run, external=_external, keyed_by_output=True,
              summary="who speaks each line, after a person's reassignments in the review desk")
