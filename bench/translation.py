"""Benchmark the translation stage on the hand-made microdrama eval set.

Prints chrF against the reference translations, glossary compliance (from the
model alone and after the rule-based repair), the share of lines with Chinese
left in them, the share over their length budget (and which lines), model calls
and seconds per line; ``--json`` writes the same summary and every line.

    python bench/translation.py                    # the whole set, gemma, en-US
    python bench/translation.py --limit 10 -v      # first 10 lines, show each
    python bench/translation.py --no-substitute    # prompt without glossary pre-substitution
    python bench/translation.py --backend seq2seq  # another registered backend (openai, seq2seq)
    python bench/translation.py --backend qwen2.5-coder-1.5b --json out.json   # the llama backend's preset
    python bench/translation.py --backend llama --model my-model.gguf

Also reported: amounts right (lines stating an amount whose figure the translation
gives, per the market's currency rule) and the low-confidence flag's precision and
recall against the lines whose own chrF is below ``--bad-chrf`` (30).

Length budgets (``--budget``): each line is given the duration a Chinese speaker
needs for it (``--zh-cps`` Han characters a second, plus 0.25 s per comma), then

- ``pipeline`` (default): the budget the pipeline's translate stage computes and
  flags against. Lines are laid end to end with the pause after each drawn as the
  sample generator draws them (localize/sample/draw.py: a quarter with none, the
  rest 150-1200 ms; seeded, so every run and backend gets the same), and the budgets
  come from ``line_budgets`` (localize/stages/translate/budget.py) with the voice
  stage's gap and borrow limits, exactly as ``stages/translate/stage.py`` calls it:
  a line may run into the silence after it, up to 500 ms, keeping 150 ms free.
- ``strict``: the line's own duration only, no silence borrowed (the budget this
  bench used before; stricter than anything the pipeline enforces).

Both are then times the locale's speakable characters a second (en-US: 16.5,
measured on Kokoro; see localize/locales.py) and counted with ``speech_length``, as
the pipeline counts. ``over_budget_pct`` is against the chosen budget;
``over_strict_budget_pct`` and ``over_budget_at_max_speed_pct`` (longer than the voice
stage can fit even at its top TTS speed, 1.2x, before any time-stretch) are printed
alongside.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def read_tsv(path: Path) -> list[tuple[str, str]]:
    """(source, reference) pairs; lines starting with # are comments."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            zh, ref = line.split("\t")
            rows.append((zh.strip(), ref.strip()))
    return rows


def speech_budget(zh: str, zh_cps: float, target_cps: float) -> int:
    """Characters a line may take: the time the Chinese line is spoken in, at the target's speaking rate.

    The time is its Han characters at ``zh_cps`` plus 0.25 s per internal pause (comma,
    full stop, ellipsis), the floor of 8 characters being the pipeline's.
    """
    return max(8, int(zh_seconds(zh, zh_cps) * target_cps))


def zh_seconds(zh: str, zh_cps: float) -> float:
    """How long a Chinese actor takes for ``zh``: its Han characters at ``zh_cps`` plus 0.25 s per internal pause."""
    import re

    han = len(re.findall(r"[\u3400-\u9fff]", zh))
    pauses = len(re.findall(r"[，。！？、…；,!?]", zh.rstrip("。！？!?…")))
    return han / zh_cps + 0.25 * pauses


def pipeline_budgets(lines: list[str], zh_cps: float, locale, seed: int = 16) -> list[int]:
    """The budgets the pipeline would give ``lines`` laid end to end with sample-generator pauses between them."""
    import random

    from localize.stages.synthesize.fit import BORROW_GAP_MS, MAX_BORROW_AFTER_MS
    from localize.stages.translate.budget import line_budgets

    rng = random.Random(seed)
    timings, cursor = [], 0
    for zh in lines:
        start = cursor
        end = start + max(1, round(1000 * zh_seconds(zh, zh_cps)))
        timings.append((start, end))
        # The sample generator's pause before a line (localize/sample/draw.py, draw_script).
        cursor = end + (0 if rng.random() < 0.25 else rng.randint(150, 1200))
    return line_budgets(timings, locale, cursor, gap_ms=BORROW_GAP_MS, max_borrow_ms=MAX_BORROW_AFTER_MS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tsv", type=Path, default=ROOT / "tests/data/translation_eval.zh-en.tsv")
    parser.add_argument("--glossary", type=Path, default=ROOT / "glossaries/ceo-romance.yaml")
    parser.add_argument("--locale", default="en-US")
    parser.add_argument("--limit", type=int, default=0, help="only the first N lines")
    parser.add_argument("--context", type=int, default=0, help="previous lines given to gemma as context")
    parser.add_argument("--no-substitute", action="store_true", help="do not pre-substitute glossary terms")
    parser.add_argument("--attempts", type=int, default=3, help="tries per line before giving up")
    parser.add_argument("--shorten-retries", type=int, default=None,
                        help="model retries for a line only too long after the rules (default: the library's)")
    parser.add_argument("--json", type=Path, help="also write the per-line results here")
    parser.add_argument("--backend", default="gemma", help="registered backend to bench (default gemma)")
    parser.add_argument("--no-market", action="store_true", help="do not apply glossaries/markets rules")
    parser.add_argument("--model", help="GGUF file for --backend llama")
    parser.add_argument("--bad-chrf", type=float, default=30.0, help="a line below this chrF counts as bad")
    parser.add_argument("--zh-cps", type=float, default=4.5, help="Chinese speaking rate for budgets (0: none)")
    parser.add_argument("--budget", choices=("pipeline", "strict"), default="pipeline",
                        help="length budgets: the pipeline's (with the silence after a line) or strict (none)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every line")
    args = parser.parse_args(argv)

    import sacrebleu

    from localize.locales import get_locale
    from localize.stages.translate import TRANSLATORS, TranslationRequest, load_glossary, translate_lines
    from localize.stages.translate.gemma import GemmaTranslator, _load, _settings
    from localize.stages.translate.validate import has_han

    logging.basicConfig(level=logging.ERROR)
    rows = read_tsv(args.tsv)[: args.limit or None]
    locale = get_locale(args.locale)
    glossary = load_glossary(args.glossary)
    backend = args.backend
    started = time.perf_counter()
    if backend == "gemma":
        backend = "gemma-bench"
        TRANSLATORS.register(backend)(
            lambda: GemmaTranslator(context=args.context, substitute=not args.no_substitute))
        _load(*_settings())
    load_s = time.perf_counter() - started
    strict = [speech_budget(zh, args.zh_cps, locale.chars_per_second) for zh, _ in rows] if args.zh_cps else None
    budgets = strict
    if args.zh_cps and args.budget == "pipeline":
        budgets = pipeline_budgets([zh for zh, _ in rows], args.zh_cps, locale)
    request = TranslationRequest([zh for zh, _ in rows], locale, glossary, budgets_chars=budgets,
                                 use_market=not args.no_market)
    terms = request.terms()
    started = time.perf_counter()
    extra = {} if args.shorten_retries is None else {"shorten_retries": args.shorten_retries}
    if args.model:
        extra["options"] = {backend: {"model": args.model}}
    results = translate_lines(request, [backend], max_attempts=args.attempts, **extra)
    total_s = time.perf_counter() - started

    from localize.stages.translate.glossary import contains_term, find_terms

    hyps = [r.text for r in results]
    needs = [i for i, (zh, _) in enumerate(rows) if find_terms(zh, terms)]
    # Lines the glossary repair had to touch: the model alone did not get their terms right.
    forced = {i for i, r in enumerate(results) if any(p.startswith(("glossary-forced", "glossary-fixed"))
                                                      for p in r.problems)}
    final_ok = [i for i in needs
                if all(contains_term(hyps[i], terms[t]) for t in find_terms(rows[i][0], terms))]
    per_line = [r.seconds for r in results]
    from localize.locales import speech_length
    from localize.stages.synthesize.fit import MAX_SPEED
    from localize.stages.translate.numbers import source_amounts

    refs = [ref for _, ref in rows]

    def over_pct(texts: list[str], limits: list[int] | None, speed: float = 1.0) -> float | None:
        """Share of ``texts`` longer than their budget (counted as the pipeline counts), at TTS ``speed``."""
        if not limits:
            return None
        return round(100 * sum(speech_length(t) > b * speed for t, b in zip(texts, limits)) / len(texts), 1)
    line_chrf = [sacrebleu.sentence_chrf(h, [ref]).score for h, ref in zip(hyps, refs)]
    # Amounts: lines that state one; right when no amount/currency check fails on the kept text.
    amount_lines = [i for i, (zh, _) in enumerate(rows) if source_amounts(zh)]
    amounts_ok = [i for i in amount_lines
                  if not any(p.split(":")[0] in ("amount", "currency") for p in request.check(i, hyps[i], terms))]
    flagged = {i for i, r in enumerate(results) if any(p.startswith("low-confidence") for p in r.problems)}
    bad = {i for i, score in enumerate(line_chrf) if score < args.bad_chrf}
    report = {
        "lines": len(rows),
        "backend": args.backend,
        "market": not args.no_market,
        "locale": locale.tag,
        "context": args.context,
        "shorten_retries": "backend's own" if args.shorten_retries is None else args.shorten_retries,
        "substitute": not args.no_substitute,
        "chrF": round(sacrebleu.corpus_chrf(hyps, [[ref for _, ref in rows]]).score, 1),
        "glossary_lines": len(needs),
        "glossary_compliance_model_pct": round(100 * (len(needs) - len(forced & set(needs))) / max(1, len(needs)), 1),
        "glossary_compliance_final_pct": round(100 * len(final_ok) / max(1, len(needs)), 1),
        "leftover_chinese_pct": round(100 * sum(has_han(h) for h in hyps) / len(rows), 1),
        "budget": args.budget if budgets else None,
        "over_budget_pct": over_pct(hyps, budgets),
        "references_over_budget_pct": over_pct(refs, budgets),
        "over_strict_budget_pct": over_pct(hyps, strict),
        "references_over_strict_budget_pct": over_pct(refs, strict),
        "over_budget_at_max_speed_pct": over_pct(hyps, budgets, MAX_SPEED),
        "condensed_pct": round(100 * sum(any(p.startswith("condensed") for p in r.problems) for r in results)
                               / len(rows), 1),
        "clean_pct": round(100 * sum(not r.problems for r in results) / len(rows), 1),
        "amount_lines": len(amount_lines),
        "amounts_right_pct": round(100 * len(amounts_ok) / max(1, len(amount_lines)), 1),
        "lines_with_confidence": sum(r.confidence is not None for r in results),
        "low_confidence_flagged": len(flagged),
        f"lines_chrF_below_{args.bad_chrf:g}": len(bad),
        "flag_precision_pct": round(100 * len(flagged & bad) / len(flagged), 1) if flagged else None,
        "flag_recall_pct": round(100 * len(flagged & bad) / len(bad), 1) if bad else None,
        "chars_per_second": locale.chars_per_second,
        "mean_attempts": round(statistics.mean(r.attempts for r in results), 2),  # model calls per line
        "seconds_per_line_mean": round(statistics.mean(per_line), 2),
        "seconds_per_line_median": round(statistics.median(per_line), 2),
        "wall_seconds": round(total_s, 1),
        "wall_seconds_per_line": round(total_s / max(1, len(rows)), 2),
        "model_load_seconds": round(load_s, 1),
    }
    if args.verbose:
        for (zh, ref), r in zip(rows, results):
            flag = "" if not r.problems else f"  <- {'; '.join(r.problems)}"
            print(f"{r.seconds:5.1f}s x{r.attempts} {zh}\n      hyp: {r.text}\n      ref: {ref}{flag}")
    for key, value in report.items():
        print(f"{key:32s} {value}")
    for (zh, _), r, b in zip(rows, results, budgets or []):
        if b and speech_length(r.text) > b:
            print(f"over budget: {speech_length(r.text)}/{b} {r.text!r} ({zh})")
    if args.json:
        args.json.write_text(json.dumps({"summary": report, "lines": [
            {"zh": zh, "ref": ref, "hyp": r.text, "budget": b, "attempts": r.attempts, "problems": r.problems,
             "seconds": r.seconds, "confidence": r.confidence, "chrF": round(score, 1)}
            for (zh, ref), r, score, b in zip(rows, results, line_chrf, budgets or [None] * len(rows))]}, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
