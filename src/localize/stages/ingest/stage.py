"""The ingest stage, declared: the source file in, its media facts and extracted audio out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localize.stages.contract import Stage, StageContext
from localize.stages.ingest import VERSION, IngestResult, ingest


@dataclass(frozen=True)
class Source:
    """The episode file the run started from, with its content digest (the key of everything after)."""

    path: str
    digest: str


def _run(ctx: StageContext) -> IngestResult:
    source: Source = ctx.inputs["source"]
    return ingest(ctx.episode, source.digest, ctx.work)


STAGE = Stage(name="ingest", version=VERSION, gives="media", needs=("source",), output=IngestResult, run=_run,
              files=lambda data: (data["audio_analysis"], data["audio_mix"],
                                  *([Path(data["picture"]).name] if data.get("conformed") else [])),
              summary="probe and validate the episode; extract 16 kHz mono and 48 kHz audio; conform a VFR or odd-sized picture")
