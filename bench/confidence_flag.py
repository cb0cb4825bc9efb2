"""Choose a low-confidence threshold on one bench run and measure the flag on others.

Reads the per-line JSON that ``bench/translation.py --json`` writes (each line's
``confidence``, its mean token log-probability, and its own ``chrF``). A line is
*bad* when its chrF is below ``--bad-chrf``; a line is *flagged* when its confidence
is below the threshold. The threshold is the one with the best F1 on ``--calibrate``
(the 48-line eval set), then applied unchanged to each ``--measure`` file (held-out sets).

    python bench/confidence_flag.py --calibrate gemma-eval.json --measure gemma-unseen.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load(path: Path) -> list[tuple[float | None, float]]:
    """(confidence, chrF) per line."""
    return [(line.get("confidence"), line["chrF"]) for line in json.loads(path.read_text())["lines"]]


def score(rows: list[tuple[float | None, float]], threshold: float, bad_chrf: float) -> dict:
    """Precision and recall (in %) of "confidence < threshold" for "chrF < bad_chrf"."""
    flagged = {i for i, (conf, _) in enumerate(rows) if conf is not None and conf < threshold}
    bad = {i for i, (_, chrf) in enumerate(rows) if chrf < bad_chrf}
    hit = len(flagged & bad)
    precision = 100 * hit / len(flagged) if flagged else 0.0
    recall = 100 * hit / len(bad) if bad else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": round(threshold, 3), "lines": len(rows), "bad": len(bad), "flagged": len(flagged),
            "precision_pct": round(precision, 1), "recall_pct": round(recall, 1), "f1": round(f1, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibrate", type=Path, required=True, help="bench JSON the threshold is chosen on")
    parser.add_argument("--measure", type=Path, nargs="*", default=[], help="bench JSON files to measure on")
    parser.add_argument("--bad-chrf", type=float, default=30.0)
    args = parser.parse_args(argv)
    rows = load(args.calibrate)
    candidates = sorted({conf for conf, _ in rows if conf is not None})
    if not candidates:
        print("no line has a confidence", file=sys.stderr)
        return 1
    # Flag strictly below a midpoint between observed values, so the choice does not hinge on ties.
    cuts = [(a + b) / 2 for a, b in zip(candidates, candidates[1:])] + [candidates[-1] + 1e-6]
    best = max((score(rows, cut, args.bad_chrf) for cut in cuts), key=lambda s: (s["f1"], -s["flagged"]))
    print(json.dumps({"calibrated_on": str(args.calibrate), **best}))
    for path in args.measure:
        print(json.dumps({"measured_on": str(path), **score(load(path), best["threshold"], args.bad_chrf)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
