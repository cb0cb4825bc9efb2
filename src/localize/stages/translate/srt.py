"""Translate a subtitle file event by event, keeping every event and its timing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from localize.errors import InputError, UsageError
from localize.fsutil import atomic_path
from localize.locales import Locale
from localize.stages.translate.base import TranslationRequest, translate_lines
from localize.stages.translate.budget import line_budgets
from localize.stages.translate.glossary import Glossary
from localize.stages.translate.memory import TranslationMemory
from localize.stages.translate.validate import join_lines

log = logging.getLogger(__name__)


def translate_srt(src: Path, dst: Path, locale: Locale, glossary: Glossary,
                  backends: Sequence[str] = ("gemma",), memory: TranslationMemory | None = None,
                  budgets: bool = True) -> int:
    """Translate the subtitle file ``src`` into ``dst`` (SRT); return the number of events.

    Every input event gives exactly one output event with the same start and end;
    a multi-line event is translated as one sentence. With ``budgets``, each event's
    length budget comes from its timing (:func:`~localize.stages.translate.budget.line_budgets`).
    ``dst`` is written atomically and ``src`` is never touched. With ``memory``,
    remembered lines are reused and new clean ones added (the caller saves it).
    """
    from localize.stages.translate.subfile import load_subtitles

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise InputError(f"subtitle file not found: {src}")
    if dst.exists() and dst.resolve() == src.resolve():
        raise UsageError(f"output {dst} would overwrite the input subtitles")
    subs = load_subtitles(src)
    events = list(subs.events)
    sources = [join_lines(event.plaintext.split("\n")) for event in events]
    # Events are in file order; the budget's "next line" needs time order.
    order = sorted(range(len(events)), key=lambda k: (events[k].start, events[k].end))
    slots = line_budgets([(events[k].start, events[k].end) for k in order], locale) if budgets else None
    limits = [0] * len(events)
    for position, k in enumerate(order if slots else []):
        limits[k] = slots[position]
    results = translate_lines(TranslationRequest(lines=sources, locale=locale, glossary=glossary,
                                                 budgets_chars=limits if slots else None), backends,
                              memory=memory, episode=src.stem)
    for number, (event, result) in enumerate(zip(events, results), start=1):
        event.plaintext = result.text
        if result.problems:
            log.warning("%s event %d: %s", src.name, number, "; ".join(result.problems))
    with atomic_path(dst) as tmp:
        subs.save(str(tmp), encoding="utf-8", format_="srt")
    return len(events)
