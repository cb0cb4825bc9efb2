"""The transcribe stage, declared: the dialogue stem in, timed Chinese segments with words out."""

from __future__ import annotations

from localize.errors import SilentInputError
from localize.model import Transcript
from localize.stages.contract import Stage, StageContext
from localize.stages.transcribe import TRANSCRIBERS, VERSION


def _run(ctx: StageContext) -> Transcript:
    options = ctx.settings.transcribe
    transcriber = TRANSCRIBERS.create(options.model)
    try:
        return transcriber.transcribe(ctx.work.path(ctx.inputs["stems"].dialogue), options,
                                      ctx.inputs["media"].media.duration_ms)
    except SilentInputError:  # said of the input, not of the work file the stage read
        raise SilentInputError(f"{ctx.episode.name}: no speech found; nothing to dub") from None
    finally:
        transcriber.close()


STAGE = Stage(name="transcribe", version=VERSION, gives="asr", needs=("stems", "media"), settings=("transcribe",),
              output=Transcript, run=_run, summary="Whisper on the dialogue stem, word timestamps and VAD")
