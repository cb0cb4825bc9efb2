"""Translation into the Southeast Asian and Middle Eastern markets, through ``localize translate``.

Two steps, so the translation itself is the shipped command on a subtitle file:

    # 1. the eval set's Chinese column as an SRT, each line timed as a Chinese speaker says it
    python bench/markets_translation.py srt /tmp/eval.zh.srt
    # 2. translate it (any backend) ...
    localize translate /tmp/eval.zh.srt --to th-TH --glossary glossaries/ceo-romance.yaml --out /tmp/eval.th.srt
    # 3. ... and score the output
    python bench/markets_translation.py score /tmp/eval.th.srt --to th-TH [--json out.json]

The score: chrF (sacrebleu, character 6-grams, the metric that suits unsegmented Thai) on the
lines that have a reference in tests/data/translation_eval.zh-th-ar-vi.tsv (written for this
project, names per glossaries/ceo-romance.yaml and the market rules), lines with Chinese left,
lines without the target script's letters, and glossary compliance (every glossary and
market-rule name the source line holds is in its translation).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from translation import read_tsv  # noqa: E402

EVAL_TSV = ROOT / "tests" / "data" / "translation_eval.zh-en.tsv"
REFERENCES_TSV = ROOT / "tests" / "data" / "translation_eval.zh-th-ar-vi.tsv"
GLOSSARY = ROOT / "glossaries" / "ceo-romance.yaml"
ZH_CHARS_PER_SECOND = 4.5   # a Chinese actor's pace, as bench/translation.py budgets lines
GAP_MS = 600

# Letters of the script each market writes in; a line without any is in the wrong script.
TARGET_SCRIPT = {
    "thai": re.compile(r"[\u0e01-\u0e5b]"),
    "arabic": re.compile(r"[\u0621-\u064a]"),
    "latin": re.compile(r"[A-Za-z\u00c0-\u024f\u1ea0-\u1ef9]"),
}
# Vietnamese: letters only Vietnamese uses (ơ, ư, đ and the stacked tone marks), so English drift shows.
VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯ\u1ea0-\u1ef9]")


def references(tag: str) -> dict[str, str]:
    """Chinese line -> the reference translation written for ``tag``."""
    with open(REFERENCES_TSV, encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return {row["zh"]: row[tag] for row in rows if row.get(tag)}


def write_srt(out: Path) -> int:
    """The eval set's Chinese lines as an SRT, each timed as spoken (Han characters at 4.5/s + pauses)."""
    import pysubs2

    subs = pysubs2.SSAFile()
    start = 1000
    for zh, _ in read_tsv(EVAL_TSV):
        han = len(re.findall(r"[\u3400-\u9fff]", zh))
        pauses = len(re.findall(r"[，。！？、…；,!?]", zh.rstrip("。！？!?…")))
        duration = int(1000 * (han / ZH_CHARS_PER_SECOND + 0.25 * pauses))
        subs.append(pysubs2.SSAEvent(start=start, end=start + duration, text=zh))
        start += duration + GAP_MS
    subs.save(str(out), format_="srt")
    return len(subs)


def in_script(text: str, tag: str) -> bool:
    """True when ``text`` is written in ``tag``'s script (Vietnamese: with its own letters)."""
    from localize.locales import get_locale

    if tag.startswith("vi"):
        return bool(VIETNAMESE.search(text))
    return bool(TARGET_SCRIPT[get_locale(tag).script].search(text))


def score(translated: Path, tag: str) -> dict:
    """chrF against the written references, Chinese left, script and glossary compliance of ``translated``."""
    import pysubs2
    import sacrebleu

    from localize.locales import get_locale
    from localize.stages.translate import TranslationRequest, load_glossary
    from localize.stages.translate.glossary import contains_term, find_terms
    from localize.stages.translate.validate import has_han

    sources = [zh for zh, _ in read_tsv(EVAL_TSV)]
    hyps = [" ".join(event.plaintext.split()) for event in pysubs2.load(str(translated), encoding="utf-8")]
    if len(hyps) != len(sources):
        raise SystemExit(f"{translated}: {len(hyps)} events, the eval set has {len(sources)}")
    refs = references(tag)
    scored = [(hyp, refs[zh]) for zh, hyp in zip(sources, hyps) if zh in refs]
    terms = TranslationRequest(sources, get_locale(tag), load_glossary(GLOSSARY)).terms()
    needs = [(i, find_terms(zh, terms)) for i, zh in enumerate(sources) if find_terms(zh, terms)]
    missing = [(sources[i], hyps[i], [terms[t] for t in found if not contains_term(hyps[i], terms[t])])
               for i, found in needs]
    missing = [m for m in missing if m[2]]
    return {
        "locale": tag, "lines": len(hyps), "reference_lines": len(scored),
        "chrF": round(sacrebleu.corpus_chrf([h for h, _ in scored], [[r for _, r in scored]]).score, 1),
        "chinese_left": sum(has_han(h) for h in hyps),
        "not_in_target_script": [h for h in hyps if not in_script(h, tag)],
        "glossary_lines": len(needs),
        "glossary_compliance_pct": round(100 * (len(needs) - len(missing)) / max(1, len(needs)), 1),
        "glossary_missing": missing,
        "pairs": [{"hyp": h, "ref": r} for h, r in scored],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("srt", help="write the eval set's Chinese column as an SRT")
    make.add_argument("out", type=Path)
    check = commands.add_parser("score", help="score a translated SRT against the written references")
    check.add_argument("translated", type=Path)
    check.add_argument("--to", dest="tag", required=True)
    check.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.command == "srt":
        print(f"{write_srt(args.out)} lines -> {args.out}")
        return 0
    result = score(args.translated, args.tag)
    for key, value in result.items():
        if key != "pairs":
            print(f"{key:24s} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
