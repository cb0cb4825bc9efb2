"""How well the doubled given names (晚晚, 豆豆) are found in the translation sets.

A doubled syllable in a line is a true name when its pinyin (晚晚 -> "Wanwan", 安安 -> "Anan" or
"An'an") appears in the line's English reference; the sets write every doubled given name that
way. The detector, ``localize.stages.translate.names.given_names``, reads each set as one
episode, as the translation bench does. Prints per set the names found, the true ones, the wrong ones and the
missed ones, with precision and recall over all sets.

    PYTHONPATH=src python bench/names.py [tests/data/translation_*.zh-en.tsv ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from translation import ROOT, read_tsv

from localize.stages.translate.markets import surname_pinyin
from localize.stages.translate.names import _DOUBLED_RE, given_names


def true_names(rows: list[tuple[str, str]]) -> set[str]:
    """The doubled syllables whose pinyin name appears in the reference of a line that holds them."""
    names = set()
    for zh, ref in rows:
        for match in _DOUBLED_RE.finditer(zh):
            syllable = surname_pinyin(match.group(1))
            # An'an or Anan: references write a vowel-initial second syllable either way.
            if syllable != match.group(1) and re.search(rf"\b{syllable}['’]?{syllable.lower()}\b", ref):
                names.add(match.group(0))
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tsv", nargs="*", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sets = args.tsv or sorted((ROOT / "tests" / "data").glob("translation_*.zh-en.tsv"))
    report, found_total, right_total, true_total = {}, 0, 0, 0
    for path in sets:
        rows = read_tsv(path)
        found, truth = set(given_names([zh for zh, _ in rows])), true_names(rows)
        report[path.name] = {"found": sorted(found), "wrong": sorted(found - truth), "missed": sorted(truth - found)}
        found_total, right_total, true_total = found_total + len(found), right_total + len(found & truth), \
            true_total + len(truth)
        print(f"{path.name:40} found {len(found):2}  true {len(truth):2}  wrong {' '.join(sorted(found - truth)) or '-'}"
              f"  missed {' '.join(sorted(truth - found)) or '-'}")
    precision = 100 * right_total / found_total if found_total else 100.0
    recall = 100 * right_total / true_total if true_total else 100.0
    print(f"precision {precision:.1f} % ({right_total}/{found_total})  recall {recall:.1f} % ({right_total}/{true_total})")
    if args.json:
        args.json.write_text(json.dumps({"sets": report, "precision_pct": round(precision, 1),
                                         "recall_pct": round(recall, 1)}, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
