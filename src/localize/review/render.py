"""Render one reviewed market again: the same pipeline functions as ``localize``, under the options of
the market's last run, so only what the edits changed runs (stale lines re-voiced, then mix and export).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from localize.errors import InputError
from localize.review.desk import ReportRef, ReviewDesk
from localize.review.runs import load_run_options


@dataclass
class RenderResult:
    """What a render did: the report it wrote, how many lines it voiced anew, how long it took."""

    report: Path
    lines_revoiced: int
    seconds: float
    stages_run: list[str]


def render_report(desk: ReviewDesk, ref: ReportRef) -> RenderResult:
    """Run the market graph of ``ref`` again (analysis from its cache); the outputs replace the old ones
    together at the end, so a failed or interrupted render leaves the previous ones in place."""
    import time

    from localize.fsutil import file_digest
    from localize.locales import get_locale
    from localize.pipeline import analyse, render_market
    from localize.workdir import WorkDir

    started = time.perf_counter()
    episode = Path(ref.data["source"]["path"])
    if not episode.is_file():
        raise InputError(f"the episode {episode} that {ref.id} was made from is gone")
    digest = file_digest(episode)
    if digest != ref.data["source"]["sha256"]:
        raise InputError(f"{episode} changed since {ref.id} was made: run `localize` on it again")
    options = load_run_options(ref.work_root, ref.locale)
    desk.sync_memory(ref)
    work = WorkDir(ref.work_root)
    analysis = analyse(episode, options, work, digest)
    analysis_records = list(work.records)
    work.records = list(analysis_records)
    report_path = render_market(episode, analysis, get_locale(ref.locale), ref.path.parent, options, work)
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    stages = {stage["stage"]: stage for stage in report["stages"]}
    synth = stages.get(f"synthesize.{ref.locale}", {})
    return RenderResult(report=Path(report_path), lines_revoiced=int(synth.get("units_made", 0)),
                        seconds=round(time.perf_counter() - started, 3),
                        stages_run=[name for name, stage in stages.items() if not stage["cached"]])


def as_dict(result: RenderResult) -> dict:
    return {**dataclasses.asdict(result), "report": str(result.report)}
