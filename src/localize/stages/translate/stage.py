"""The translate stage, declared: the speaker-labelled transcript in, one translation per line out.

Lines go through the series' translation memory (``translation-memory.json`` beside the
episodes' work folders): a person's edit of a line is final, and is part of this stage's key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from localize.fsutil import file_digest
from localize.model import with_speakers
from localize.stages.contract import Stage, StageContext, fingerprint
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


def _market_rules() -> list[str]:
    from localize.stages.translate.markets import markets_dir

    folder = markets_dir()
    return [file_digest(f) for f in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []


def _external(ctx: StageContext) -> dict:
    return {"human_edits": _human_edits(ctx), "market_rules": _market_rules()}


def _run(ctx: StageContext) -> list[dict]:
    """The machine translation of the episode is one cached unit keyed without the human edits, which
    go on top: a person's edit of one line (the review desk) never sends the other lines to the model again."""
    from localize.stages.translate import TranslationRequest, load_glossary
    from localize.stages.translate.budget import line_budgets
    from localize.stages.translate.memory import normalize

    segments = with_speakers(ctx.inputs["transcript"].segments, ctx.inputs["speakers"].labels)
    # Budget slot = the line plus the silence after it that the voice stage may borrow.
    budgets = line_budgets([(seg.start_ms, seg.end_ms) for seg in segments], ctx.locale,
                           ctx.inputs["media"].media.duration_ms, gap_ms=BORROW_GAP_MS,
                           max_borrow_ms=MAX_BORROW_AFTER_MS)
    request = TranslationRequest(lines=[s.source_text for s in segments], locale=ctx.locale,
                                 glossary=load_glossary(ctx.settings.glossary),
                                 speakers=[s.speaker for s in segments], budgets_chars=budgets)
    inputs = {"lines": request.lines, "speakers": request.speakers, "budgets": budgets, "locale": ctx.locale.tag,
              "glossary": fingerprint(ctx.settings.glossary), "translators": list(ctx.settings.translators),
              "translator_model": fingerprint(ctx.settings.translator_model),
              "market_rules": _market_rules()}
    machine, _key = ctx.unit("machine", inputs, lambda key: _machine_translations(ctx, request))
    human = _human_edits(ctx)
    terms = request.terms()
    lines = []
    for index, line in enumerate(machine):
        text = human.get(normalize(request.lines[index]))
        if text:  # a human edit is final whatever the checks say; they are still reported
            line = {**line, "text": text, "backend": "memory:human", "attempts": 0,
                    "problems": request.check(index, text, terms), "seconds": 0.0}
        lines.append(line)
    return lines


def _machine_translations(ctx: StageContext, request) -> list[dict]:
    """Every line translated by the backends (or from the memory's machine entries), human edits left out."""
    from localize.stages.translate import translate_lines
    from localize.stages.translate.memory import HUMAN, MACHINE, TranslationMemory

    path = memory_path_in(ctx.work)
    machine_only = TranslationMemory(path)
    machine_only.path = None  # never saved as it is: it lacks the human entries
    machine_only.entries = {tag: {k: e for k, e in block.items() if e.origin != HUMAN}
                            for tag, block in machine_only.entries.items()}
    before = {tag: dict(block) for tag, block in machine_only.entries.items()}
    model = ctx.settings.translator_model
    lines = translate_lines(request, ctx.settings.translators, memory=machine_only,
                            episode=ctx.inputs["media"].digest[:12],
                            options={"llama": {"model": model}} if model else None)
    memory = TranslationMemory(path)  # read again: a person may have saved an edit meanwhile
    changed = False
    for tag, block in machine_only.entries.items():
        for key, entry in block.items():
            if before.get(tag, {}).get(key) is not entry:
                changed |= memory.put(tag, key, entry.text, MACHINE, entry.episode)
    if changed:
        memory.save()
    return [dataclasses.asdict(line) for line in lines]


def release_models() -> None:
    """Free the translation models this process loaded (Gemma alone holds ~1.5 GB, which the voices
    and the mix then have); a later market loads them again from the page cache in seconds. Only
    backend modules already imported are asked, so releasing never imports one."""
    import sys

    for name in ("gemma", "llama", "seq2seq"):
        module = sys.modules.get(f"localize.stages.translate.{name}")
        if module is not None:
            module.unload()


STAGE = Stage(name="translate", version=VERSION, gives="translations", needs=("transcript", "speakers", "media"),
              settings=("translators", "glossary", "translator_model"), per_market=True, run=_run, external=_external,
              release=release_models,
              summary="translate each line with context, glossary and market rules, within its length budget")
