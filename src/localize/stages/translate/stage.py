"""The translate stage, declared: the speaker-labelled transcript in, one translation per line out.

Lines go through the series' translation memory (``translation-memory.json`` beside the
episodes' work folders): a person's edit of a line is final, and is part of this stage's key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from localize.fsutil import file_digest
from localize.model import with_speakers
from localize.stages.contract import Stage, StageContext
from localize.stages.synthesize.fit import BORROW_GAP_MS, MAX_BORROW_AFTER_MS
from localize.workdir import WorkDir

VERSION = "4"  # 4: amounts and doubled names checked, run-ons and refusals retried, confidence


def memory_path_in(work: WorkDir) -> Path:
    """The series' translation memory: one per output folder, beside the episodes' work folders."""
    return work.root.parent / "translation-memory.json"


def _human_edits(ctx: StageContext) -> dict[str, str]:
    from localize.stages.translate.memory import TranslationMemory, normalize

    memory = TranslationMemory(memory_path_in(ctx.work))
    entries = memory.entries.get(ctx.locale.tag, {})
    sources = {normalize(s.source_text) for s in ctx.inputs["transcript"].segments}
    return {k: e.text for k, e in sorted(entries.items()) if e.origin == "human" and k in sources}


def _external(ctx: StageContext) -> dict:
    from localize.stages.translate.markets import markets_dir

    folder = markets_dir()
    market_files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    return {"human_edits": _human_edits(ctx), "market_rules": [file_digest(f) for f in market_files]}


def _run(ctx: StageContext) -> list[dict]:
    from localize.stages.translate import TranslationRequest, load_glossary, translate_lines
    from localize.stages.translate.budget import line_budgets
    from localize.stages.translate.memory import TranslationMemory

    segments = with_speakers(ctx.inputs["transcript"].segments, ctx.inputs["speakers"].labels)
    memory = TranslationMemory(memory_path_in(ctx.work))
    # Budget slot = the line plus the silence after it that the voice stage may borrow.
    budgets = line_budgets([(seg.start_ms, seg.end_ms) for seg in segments], ctx.locale,
                           ctx.inputs["media"].media.duration_ms, gap_ms=BORROW_GAP_MS,
                           max_borrow_ms=MAX_BORROW_AFTER_MS)
    request = TranslationRequest(lines=[s.source_text for s in segments], locale=ctx.locale,
                                 glossary=load_glossary(ctx.settings.glossary),
                                 speakers=[s.speaker for s in segments], budgets_chars=budgets)
    model = ctx.settings.translator_model
    lines = translate_lines(request, ctx.settings.translators, memory=memory,
                            episode=ctx.inputs["media"].digest[:12],
                            options={"llama": {"model": model}} if model else None)
    memory.save()
    return [dataclasses.asdict(line) for line in lines]


STAGE = Stage(name="translate", version=VERSION, gives="translations", needs=("transcript", "speakers", "media"),
              settings=("translators", "glossary", "translator_model"), per_market=True, run=_run, external=_external,
              summary="translate each line with context, glossary and market rules, within its length budget")
