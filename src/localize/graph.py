"""The pipeline as data: the analysis graph (once per episode) and the market graph (once per market).

Every entry point (one episode, series batches, the watch folder, the review desk, the Ray
executor) runs these two graphs through :class:`localize.stages.contract.Runner`; ``localize
graph`` prints them.
"""

from __future__ import annotations

from localize.stages.cast import stage as cast
from localize.stages.contract import Graph
from localize.stages.diarize import stage as diarize
from localize.stages.export import stage as export
from localize.stages.hardsubs import stage as hardsubs
from localize.stages.ingest import stage as ingest
from localize.stages.lipsync import stage as lipsync
from localize.stages.mix import stage as mix
from localize.stages.naturalness import stage as naturalness
from localize.stages.reassign import stage as reassign
from localize.stages.separate import stage as separate
from localize.stages.subtitles import stage as subtitles
from localize.stages.synthesize import stage as synthesize
from localize.stages.transcribe import stage as transcribe
from localize.stages.translate import stage as translate

ANALYSIS = Graph("analysis", (ingest.STAGE, separate.STAGE, transcribe.STAGE, hardsubs.HARDSUBS, hardsubs.UNSUBTITLE,
                              hardsubs.FUSE, diarize.STAGE, reassign.STAGE), given=("source",))

# The subtitles come right after the translation: the picture's encode can start from them
# while the voices are made.
MARKET = Graph("market", (translate.STAGE, subtitles.STAGE, cast.STAGE, synthesize.STAGE, mix.STAGE,
                          naturalness.STAGE, lipsync.STAGE, export.STAGE),
               given=("source", *(stage.gives for stage in ANALYSIS.stages)))

GRAPHS = (ANALYSIS, MARKET)
