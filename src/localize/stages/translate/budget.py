"""Length budgets: how many characters a translated line may take so it can be voiced in its slot.

A line's budget is its slot in seconds times the target language's speakable
characters per second (:attr:`Locale.chars_per_second`, characters as ``len()``
counts them, spaces and punctuation included). The slot is the time the actor
spoke the line **plus the silence after it, up to the next line**, less the
breath the voice stage keeps before the next line (``BORROW_GAP_MS``) and at most
:data:`MAX_BORROW_MS`: the voice stage may let a dub clip run into that same
silence (``localize.stages.synthesize.fit``, ``MAX_BORROW_AFTER_MS``), so a budget cut to the
bare duration would shorten lines that already fit. The cap keeps a dub from
running far past the mouth movements in a long pause. The up-to-250 ms the voice
stage may also borrow *before* a line is left out, as slack.
"""

from __future__ import annotations

from collections.abc import Sequence

from localize.locales import Locale

MIN_BUDGET_CHARS = 8      # even a 300 ms "嗯？" may be voiced as "What?"
MAX_BORROW_MS = 500       # silence a line may run into, at most (the voice stage's MAX_BORROW_AFTER_MS)
DEFAULT_GAP_MS = 150      # kept free before the next line (the voice stage's BORROW_GAP_MS)


def slot_ms(start_ms: int, end_ms: int, next_start_ms: int | None, *, gap_ms: int = DEFAULT_GAP_MS,
            max_borrow_ms: int = MAX_BORROW_MS) -> int:
    """The time a line's dub may take: its duration plus the following silence (capped), never less than its duration.

    ``next_start_ms`` is where the next line (or the media) starts; ``None`` borrows nothing.
    """
    duration = max(0, end_ms - start_ms)
    if next_start_ms is None:
        return duration
    borrowed = min(max_borrow_ms, max(0, next_start_ms - gap_ms - end_ms))
    return duration + borrowed


def char_budget(slot: int, locale: Locale) -> int:
    """Characters that ``locale``'s voice speaks in ``slot`` milliseconds, at least :data:`MIN_BUDGET_CHARS`."""
    return max(MIN_BUDGET_CHARS, int(slot / 1000 * locale.chars_per_second))


def line_budgets(timings: Sequence[tuple[int, int]], locale: Locale, media_end_ms: int | None = None, *,
                 gap_ms: int = DEFAULT_GAP_MS, max_borrow_ms: int = MAX_BORROW_MS) -> list[int]:
    """Budgets for lines given as ``(start_ms, end_ms)`` in time order; the last borrows up to ``media_end_ms``."""
    out = []
    for index, (start, end) in enumerate(timings):
        following = timings[index + 1][0] if index + 1 < len(timings) else media_end_ms
        out.append(char_budget(slot_ms(start, end, following, gap_ms=gap_ms, max_borrow_ms=max_borrow_ms), locale))
    return out
