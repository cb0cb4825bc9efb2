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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localize.errors import LocalizeError
from localize.locales import Locale
from localize.registry import Registry
from localize.stages.translate.glossary import Glossary, enforce_terms
from localize.stages.translate.markets import MarketRules
from localize.stages.translate.punctuation import local_punctuation
from localize.stages.translate.validate import code_of, severity, validate_line

if TYPE_CHECKING:
    from localize.stages.translate.memory import TranslationMemory

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # per backend and line: a first try plus two retries told what was wrong
# A line whose only fault is its length (after the rule-based condensing) gets one "shorter"
# retry per backend. Before this cap, 16 of the 48 eval lines took three Gemma calls (190 of
# 319 s of translation) and 10 still ended over budget; every extra market pays that again.
MAX_SHORTEN_RETRIES = 1


@dataclass
class TranslationRequest:
    """Lines of one episode to translate into one market's language.

    ``market`` holds the market's rules (currency, titles, slang, register); left
    out, the shipped rules for ``locale`` are loaded (``use_market=False`` turns that
    off, then only the series glossary applies).
    """

    lines: list[str]
    locale: Locale
    glossary: Glossary = field(default_factory=Glossary)
    speakers: list[str] | None = None
    budgets_chars: list[int] | None = None
    market: MarketRules | None = None
    use_market: bool = True

    def __post_init__(self) -> None:
        # The market's rule file is found by locale, so every caller (the pipeline included) gets it.
        if self.market is None and self.use_market:
            from localize.stages.translate.markets import load_market

            self.market = load_market(self.locale.tag)

    def budget(self, index: int) -> int | None:
        """The length budget of line ``index`` in characters, if one was given."""
        if not self.budgets_chars or index >= len(self.budgets_chars):
            return None
        value = self.budgets_chars[index]
        return int(value) if value and value > 0 else None

    def terms(self) -> dict[str, str]:
        """Fixed renderings for this request: market titles and kinship, overridden by the series glossary."""
        from localize.stages.translate.names import given_names

        # Names the script repeats as nicknames (晚晚) are held fixed too, so no model reads them as words.
        merged = given_names(self.lines)
        merged.update(self.market.terms_for(self.lines) if self.market else {})
        merged.update(self.glossary.for_locale(self.locale.tag))
        return merged

    def source(self, index: int) -> str:
        """Line ``index`` as a model should read it: amounts and slang already rendered per the market rules."""
        line = self.lines[index].strip()
        return self.market.prepare(line) if self.market else line

    def check(self, index: int, text: str, terms: dict[str, str]) -> list[str]:
        """Every problem with ``text`` as the translation of line ``index``: generic checks, then market rules."""
        from localize.stages.translate.numbers import amount_problems

        source = self.lines[index]
        problems = validate_line(text, source, self.locale, terms, self.budget(index))
        if self.market and text.strip():
            problems += self.market.check(text, source)
        if text.strip() and (self.market is None or self.market.currency.policy == "keep"):
            # Converting markets check their money figures in market.check; the rest keep the source's.
            problems += amount_problems(text, source)
        return problems

    def figures(self, index: int) -> list[str]:
        """The figures line ``index`` must state, as this market writes them ("50,000", "125,000")."""
        from localize.stages.translate.numbers import figure, source_amounts

        source = self.lines[index]
        if self.market is not None and self.market.currency.policy != "keep":
            return [number for _, _, number in self.market.figures(source)]
        return [figure(value, self.locale.tag) for value in dict.fromkeys(source_amounts(source))]


@dataclass
class TranslatedLine:
    """The kept translation of one line and how it was obtained.

    ``problems`` lists what is still wrong after every retry and fallback (empty
    means the line passed every check), including ``glossary-fixed`` and
    ``glossary-forced`` notes where a term was put in by rule rather than by the
    model; ``seconds`` is the backend time spent on the line. ``confidence`` is the
    kept attempt's mean token log-probability under its model (None when the backend
    does not measure one); below the backend's threshold the line carries a
    ``low-confidence`` problem, so reviews can start with it.
    """

    text: str
    backend: str
    attempts: int
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    confidence: float | None = None


class Translator(ABC):
    """A translation backend. One module per backend, registered in :data:`TRANSLATORS`."""

    name: str = "base"
    # How many lines one call may take. Batching is what makes a local model fast on a CPU (one
    # pass over the weights serves every line) and saves an endpoint round trips; 1 = line by line.
    batch_size: int = 1
    # Below this mean token log-probability a line is flagged ``low-confidence``; None: never flagged.
    low_confidence: float | None = None
    # "Shorter" retries for a line only too long; None: MAX_SHORTEN_RETRIES. A backend whose
    # retry is cheap and sees its rejected answer (llama) may take more.
    shorten_retries: int | None = None

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

    def confidence(self, index: int) -> float | None:
        """The mean token log-probability of the last text given for line ``index``, if measured."""
        return None


TRANSLATORS: Registry[Translator] = Registry("translation")


@dataclass
class _Best:
    text: str = ""
    backend: str = "none"
    problems: list[str] = field(default_factory=lambda: ["empty: no backend produced a translation"])
    notes: list[str] = field(default_factory=list)  # what the rules changed (not problems: they do not rank)
    confidence: float | None = None
    threshold: float | None = None


def _call(backend: Translator, request: TranslationRequest, indices: list[int],
          feedback: dict[int, str]) -> dict[int, tuple[str | None, str | None, float]]:
    """Run one backend on some lines; (text, error, seconds) per line. Only a LocalizeError escapes.

    A batch's time is shared evenly among its lines. When a batch fails, its lines are
    tried one by one, so one line the backend chokes on does not fail the others.
    """
    started = time.perf_counter()
    try:
        texts = backend.translate(request, indices, {i: feedback[i] for i in indices if i in feedback})
        share = (time.perf_counter() - started) / len(indices)
        return {i: (texts.get(i), None, share) for i in indices}
    except LocalizeError:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad line must not stop the episode
        if len(indices) > 1:
            log.warning("%s failed on a batch of %d lines (%s); trying them one by one", backend.name,
                        len(indices), type(exc).__name__)
            return {i: result for i in indices for result in _call(backend, request, [i], feedback).values()}
        log.warning("%s failed on line %d: %s: %s", backend.name, indices[0], type(exc).__name__, exc)
        return {indices[0]: (None, f"error: {backend.name} failed: {type(exc).__name__}: {exc}",
                             time.perf_counter() - started)}


def rank_candidate(request: TranslationRequest, index: int, text: str, problems: list[str]) -> tuple[int, int, int]:
    """Sort key for a line's candidates, lower is better: its worst problem, how many, then how far over budget.

    The last breaks ties between attempts that are all too long: the one that overruns
    least leaves the voice stage the least to absorb.
    """
    from localize.locales import speech_length

    budget = request.budget(index)
    over = max(0, speech_length(text) - budget) if budget and text else 0
    return (*severity(problems), over)


def _feedback(problems: list[str], budget: int | None) -> str:
    """What the backend is told on a retry; an over-budget line gets a plain "shorter" instruction."""
    notes = list(problems)
    if budget and any(code_of(p) in ("over-budget", "too-long") for p in problems):
        # Small models count words better than characters; 6 characters a word is a safe side
        # of English and Spanish speech (5.2 and 5.8 with the space).
        notes.append(f"say it shorter, in at most {budget} characters (about {max(2, budget // 6)} words), "
                     "keeping names and meaning")
    return "; ".join(notes)


def translate_lines(request: TranslationRequest, backends: Sequence[str] = ("gemma",), *,
                    max_attempts: int = MAX_ATTEMPTS, memory: TranslationMemory | None = None,
                    episode: str | None = None, shorten_retries: int | None = None,
                    options: Mapping[str, dict[str, Any]] | None = None) -> list[TranslatedLine]:
    """Translate every line of ``request``, validating each and retrying or falling back.

    Lines found in ``memory`` (a series' :class:`~localize.stages.translate.memory.TranslationMemory`)
    are reused as they are, human edits first. Each backend in ``backends`` gets up
    to ``max_attempts`` tries per failing line, each told what was wrong last time;
    lines still failing go to the next backend. A line over its length budget is
    first condensed by rule (:mod:`.condense`), and only when that is not enough is
    the backend asked for a shorter version, ``shorten_retries`` times at most
    (default: the backend's own :attr:`Translator.shorten_retries`, else
    :data:`MAX_SHORTEN_RETRIES`; 0 leaves length to the rules alone). Of candidates
    all too long, the one that overruns least is kept.
    The best attempt is kept for every line; missing glossary terms are then put in
    by rule. A line still over budget keeps its ``over-budget`` problem (reported,
    never cut, never sped up). ``options[name]`` are keyword arguments for backend
    ``name`` (``{"llama": {"model": "x.gguf"}}``). Clean new translations are added to ``memory``
    (saved by the caller). Raises the backends' :class:`LocalizeError` only when no
    backend could run at all.
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
    remembered: set[int] = set()
    if memory is not None:
        for i in list(pending):
            entry = memory.get(request.locale.tag, request.lines[i])
            if entry is None:
                continue
            problems = request.check(i, entry.text, terms)
            # A human edit is final whatever the checks say; a machine entry must still pass them
            # (the glossary or the budget may have changed since it was stored).
            if entry.origin == "human" or not problems:
                best[i] = _Best(text=entry.text, backend=f"memory:{entry.origin}", problems=problems)
                remembered.add(i)
                pending.remove(i)
    unusable: list[LocalizeError] = []
    for name in backends:
        if not pending:
            break
        try:
            backend = TRANSLATORS.create(name, **(options or {}).get(name, {}))
        except LocalizeError as exc:
            log.warning("translation backend %s unavailable: %s", name, exc)
            unusable.append(exc)
            continue
        feedback: dict[int, str] = {}
        shortened = dict.fromkeys(pending, 0)
        shorten_cap = shorten_retries if shorten_retries is not None else (
            MAX_SHORTEN_RETRIES if backend.shorten_retries is None else backend.shorten_retries)
        handed_on: list[int] = []  # retries here cannot help: the next backend gets them
        broken = False
        for _ in range(max_attempts):
            if not pending:
                break
            still: list[int] = []
            for first in range(0, len(pending), max(1, backend.batch_size)):
                batch = pending[first:first + max(1, backend.batch_size)]
                try:
                    answers = _call(backend, request, batch, feedback)
                except LocalizeError as exc:
                    log.warning("translation backend %s failed: %s", name, exc)
                    unusable.append(exc)
                    still.extend(pending[first:])  # the next backend takes over from this batch
                    broken = True
                    break
                for i in batch:
                    text, error, spent = answers[i]
                    attempts[i] += 1
                    seconds[i] += spent
                    notes: list[str] = []
                    if isinstance(text, str) and text.strip():
                        text, run_on = one_line(text)
                        text = local_punctuation(text, request.locale)
                        problems = request.check(i, text, terms) + run_on
                        # The rules first: they cost nothing, a model retry costs seconds.
                        text, problems, notes = condense_line(request, i, text, problems, terms)
                    else:
                        text = ""
                        problems = [error or f"empty: {name} gave no usable output"]
                    if best[i].backend == "none" or (rank_candidate(request, i, text, problems)
                                                     < rank_candidate(request, i, best[i].text, best[i].problems)):
                        best[i] = _Best(text=text, backend=name, problems=problems, notes=notes,
                                        confidence=backend.confidence(i) if text else None,
                                        threshold=backend.low_confidence)
                    if not problems:
                        continue
                    if all(code_of(p) == "over-budget" for p in problems):
                        if shortened[i] >= shorten_cap:
                            handed_on.append(i)
                            continue
                        shortened[i] += 1
                    feedback[i] = _feedback(problems, request.budget(i))
                    still.append(i)
            pending = still
            if broken:
                break
        pending = sorted(set(pending) | set(handed_on))
    if pending and unusable and all(best[i].backend == "none" for i in pending):
        # No backend produced anything at all: a missing model is the user's to fix, say so.
        raise unusable[0]
    results: list[TranslatedLine] = []
    for i in range(n):
        kept = best[i]
        text, problems = kept.text, kept.problems
        if i not in remembered:
            text, problems, notes = _repair(request, i, text, problems, terms)
            forced = any(note.startswith("glossary-forced") for note in kept.notes + notes)
            if memory is not None and text and not problems and not forced:
                memory.put(request.locale.tag, request.lines[i], text, "machine", episode)
            problems = problems + kept.notes + notes
            if kept.confidence is not None and kept.threshold is not None and kept.confidence < kept.threshold:
                problems.append(f"low-confidence: mean token log-prob {kept.confidence:.2f} below "
                                f"{kept.threshold:.2f}")
        results.append(TranslatedLine(text=text, backend=kept.backend, attempts=attempts[i], problems=problems,
                                      seconds=round(seconds[i], 3),
                                      confidence=None if kept.confidence is None else round(kept.confidence, 3)))
    return results


def one_line(text: str) -> tuple[str, list[str]]:
    """The answer as one line, and a ``run-on`` problem when it held more than one.

    A dub line is one utterance: a second line is a note, an alternative or the next
    line run on. Its first line is kept as a candidate (a later attempt or backend may
    do better), and the problem makes the retry say what was wrong.
    """
    parts = [part.strip() for part in text.strip().splitlines() if part.strip()]
    if len(parts) <= 1:
        return " ".join(text.split()), []
    return " ".join(parts[0].split()), [f"run-on: the answer had {len(parts)} lines; give one line only"]


def condense_line(request: TranslationRequest, i: int, text: str, problems: list[str],
                  terms: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """Shorten an over-budget ``text`` by rule (see :mod:`.condense`); returns (text, problems, notes).

    The shorter text is kept only when it is no worse by every other check; glossary
    renderings the line needs are never removed, and nothing is cut mid-word.
    """
    from localize.stages.translate.condense import condense
    from localize.stages.translate.glossary import find_terms

    budget = request.budget(i)
    if not (text and budget and any(code_of(p) == "over-budget" for p in problems)):
        return text, problems, []
    keep = [terms[t] for t in find_terms(request.lines[i], terms)]
    short = condense(text, budget, request.locale.language, keep, source=request.lines[i])
    if not short.steps:
        return text, problems, []
    checked = request.check(i, short.text, terms)
    if severity(checked) > severity(problems):
        return text, problems, []
    return short.text, checked, [f"condensed: {', '.join(short.steps)} to fit {budget} characters"]


def _repair(request: TranslationRequest, i: int, text: str, problems: list[str],
            terms: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """Rule-based last resorts on the kept line: put missing glossary terms in, then condense it again.

    Returns (text, problems, notes). A line still over its budget afterwards keeps its
    ``over-budget`` problem, so it is reported, never silently truncated.
    """
    notes: list[str] = []
    if text and any(code_of(p) == "glossary" for p in problems):
        # The glossary is a contract, so put the terms in by rule and say so.
        text, notes = enforce_terms(text, request.lines[i], terms)
        problems = request.check(i, text, terms)
    if text and request.market and any(code_of(p) == "currency" for p in problems):
        kept = request.market.keep_currency(text)
        checked = request.check(i, kept, terms) if kept != text else problems
        if severity(checked) < severity(problems):
            text, problems = kept, checked
            notes.append(f"currency-fixed: the amount was put back in {request.market.currency.unit} by rule")
    if text and any(code_of(p) in ("amount", "currency") for p in problems):
        text, problems, fixed = _fix_figure(request, i, text, problems, terms)
        notes += fixed
    text, problems, condensed = condense_line(request, i, text, problems, terms)
    return text, problems, notes + condensed


def _fix_figure(request: TranslationRequest, i: int, text: str, problems: list[str],
                terms: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """Put the right figure in where the model wrote one wrong one (两百万 said "20,000").

    Only when exactly one figure the line must state is missing and exactly one figure in
    the text is unaccounted for; the result must pass every check the old text passed.
    """
    from localize.stages.translate.numbers import replace_figure, spoken_numbers, stated_values

    wanted = request.figures(i)
    stated = stated_values(text)
    missing = [f for f in wanted if not stated_values(f) & stated]
    if len(missing) != 1:
        return text, problems, []
    # Other numbers the line says (三年 -> "3 years") are not the wrong figure.
    allowed = {v for f in wanted if f != missing[0] for v in stated_values(f)} | spoken_numbers(request.lines[i])
    fixed = replace_figure(text, missing[0], allowed, request.locale.language)
    if fixed is None:
        return text, problems, []
    checked = request.check(i, fixed, terms)
    if severity(checked) >= severity(problems):
        return text, problems, []
    return fixed, checked, [f"amount-fixed: the figure was put in by rule as {missing[0]}"]
