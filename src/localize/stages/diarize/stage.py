"""The diarize stage, declared: the transcript and dialogue stem in, a speaker per line out."""

from __future__ import annotations

from localize.audio import read_wav, to_mono
from localize.stages.contract import Stage, StageContext
from localize.stages.diarize import VERSION, Diarization, diarize, release


def _run(ctx: StageContext) -> Diarization:
    samples, rate = read_wav(ctx.work.path(ctx.inputs["stems"].dialogue))
    return diarize(ctx.inputs["transcript"].segments, to_mono(samples), rate, ctx.settings.num_speakers)


STAGE = Stage(name="diarize", version=VERSION, gives="diarization", needs=("transcript", "stems"),
              settings=("num_speakers",), output=Diarization, run=_run, release=release,
              summary="who speaks each line (Resemblyzer voice prints + pitch, clustered)")
