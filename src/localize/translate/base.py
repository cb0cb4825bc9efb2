"""Translation requests, the backend interface, and the validate-retry-fallback loop.

Backends only turn source lines into candidate text; everything that decides
whether a line is acceptable (and what to do when it is not) lives here, so a new
backend (an HTTP endpoint, a bigger local model) gets the same guarantees:
no line is dropped, every line is checked, glossary terms always appear.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import LocalizeError
from ..locales import Locale
from ..registry import Registry
from .glossary import Glossary, enforce_terms
from .validate import code_of, severity, validate_line

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # per backend and line: a first try plus two retries told what was wrong


@dataclass
class TranslationRequest:
    """Lines of one episode to translate into one market's language."""

    lines: list[str]
    locale: Locale
    glossary: Glossary = field(default_factory=Glossary)
    speakers: list[str] | None = None
    budgets_chars: list[int] | None = None

    def budget(self, index: int) -> int | None:
        """The length budget of line ``index`` in characters, if one was given."""
        if not self.budgets_chars or index >= len(self.budgets_chars):
            return None
        value = self.budgets_chars[index]
        return int(value) if value and value > 0 else None

    def terms(self) -> dict[str, str]:
        """The glossary as it applies to this request's locale."""
        return self.glossary.for_locale(self.locale.tag)


@dataclass
class TranslatedLine:
    """The kept translation of one line and how it was obtained.

    ``problems`` lists what is still wrong after every retry and fallback (empty
    means the line passed every check), including ``glossary-fixed`` and
    ``glossary-forced`` notes where a term was put in by rule rather than by the
    model; ``seconds`` is the backend time spent on the line.
    """

    text: str
    backend: str
    attempts: int
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Translator(ABC):
    """A translation backend. One module per backend, registered in :data:`TRANSLATORS`."""

    name: str = "base"

    @abstractmethod
    def translate(self, request: TranslationRequest, indices: list[int], feedback: dict[int, str]) -> dict[int, str]:
        """Translate ``request.lines[i]`` for each ``i`` in ``indices`` (ascending).

        ``feedback[i]``, when present, says why the previous attempt at line ``i``
        was rejected, so the backend can state it in its prompt or decode
        differently. Lines the backend cannot translate may be left out of the
        result. A :class:`LocalizeError` means the backend as a whole is unusable
        (model missing); any other exception is treated as a failure of these lines.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Free what the backend holds (models, connections)."""


TRANSLATORS: Registry[Translator] = Registry("translation")


@dataclass
class _Best:
    text: str = ""
    backend: str = "none"
    problems: list[str] = field(default_factory=lambda: ["empty: no backend produced a translation"])


def _call(backend: Translator, request: TranslationRequest, index: int,
          feedback: dict[int, str]) -> tuple[str | None, str | None, float]:
    """Run one backend on one line; returns (text, error, seconds). Only a LocalizeError escapes."""
    started = time.perf_counter()
    try:
        text = backend.translate(request, [index], {index: feedback[index]} if index in feedback else {}).get(index)
        return text, None, time.perf_counter() - started
    except LocalizeError:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad line must not stop the episode
        log.warning("%s failed on line %d: %s: %s", backend.name, index, type(exc).__name__, exc)
        return None, f"error: {backend.name} failed: {type(exc).__name__}: {exc}", time.perf_counter() - started


def translate_lines(request: TranslationRequest, backends: Sequence[str] = ("gemma",), *,
                    max_attempts: int = MAX_ATTEMPTS) -> list[TranslatedLine]:
    """Translate every line of ``request``, validating each and retrying or falling back.

    Each backend in ``backends`` gets up to ``max_attempts`` tries per failing line,
    each told what was wrong last time; lines still failing go to the next backend.
    The best attempt is kept for every line; missing glossary terms are then put in
    by rule. Raises the backends' :class:`LocalizeError` only when no backend could
    run at all.
    """
    n = len(request.lines)
    terms = request.terms()
    best: dict[int, _Best] = {i: _Best() for i in range(n)}
    attempts = [0] * n
    seconds = [0.0] * n
    pending = [i for i in range(n) if request.lines[i].strip()]
    for i in range(n):
        if i not in pending:  # blank source: nothing to say, nothing to check
            best[i] = _Best(text="", backend="none", problems=[])
    unusable: list[LocalizeError] = []
    for name in backends:
        if not pending:
            break
        try:
            backend = TRANSLATORS.create(name)
        except LocalizeError as exc:
            log.warning("translation backend %s unavailable: %s", name, exc)
            unusable.append(exc)
            continue
        feedback: dict[int, str] = {}
        broken = False
        for _ in range(max_attempts):
            if not pending:
                break
            still: list[int] = []
            for position, i in enumerate(pending):
                try:
                    text, error, spent = _call(backend, request, i, feedback)
                except LocalizeError as exc:
                    log.warning("translation backend %s failed: %s", name, exc)
                    unusable.append(exc)
                    still.extend(pending[position:])  # the next backend takes over from this line
                    broken = True
                    break
                attempts[i] += 1
                seconds[i] += spent
                if isinstance(text, str) and text.strip():
                    text = " ".join(text.split())
                    problems = validate_line(text, request.lines[i], request.locale, terms, request.budget(i))
                else:
                    text = ""
                    problems = [error or f"empty: {name} gave no usable output"]
                if best[i].backend == "none" or severity(problems) < severity(best[i].problems):
                    best[i] = _Best(text=text, backend=name, problems=problems)
                if problems:
                    feedback[i] = "; ".join(problems)
                    still.append(i)
            pending = still
            if broken:
                break
    if pending and unusable and all(best[i].backend == "none" for i in pending):
        # No backend produced anything at all: a missing model is the user's to fix, say so.
        raise unusable[0]
    results: list[TranslatedLine] = []
    for i in range(n):
        kept = best[i]
        text, problems = kept.text, kept.problems
        if text and any(code_of(p) == "glossary" for p in problems):
            # Last resort: the glossary is a contract, so put the terms in by rule and say so.
            text, notes = enforce_terms(text, request.lines[i], terms)
            problems = validate_line(text, request.lines[i], request.locale, terms, request.budget(i)) + notes
        results.append(TranslatedLine(text=text, backend=kept.backend, attempts=attempts[i],
                                      problems=problems, seconds=round(seconds[i], 3)))
    return results
