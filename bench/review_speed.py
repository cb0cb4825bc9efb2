"""Review desk speed: re-rendering one edited line against a full render of the market.

    PYTHONPATH=src .venv/bin/python bench/review_speed.py --episode DIR/episode.mp4 --out OUT [--locale en-US]

``OUT`` must already hold a finished ``localize EPISODE --to LOCALE --out OUT`` run (its work dir
in ``OUT/.localize-work``). The bench then measures, on the same machine and the same episode:

1. **full market render**: a copy of the work dir without any of the market's artifacts, voice
   clips, translation memory or cast file, rendered with ``localize`` in a scratch folder (the
   analysis stays cached: it is shared by every market and not part of a market's render);
2. **one edited line**: the desk's edit of one line's text in ``OUT`` (a human edit, as the page
   or ``--import`` makes it), then the desk's render of that market (:func:`render_report`).

Prints one JSON object with both wall times, their ratio, and how many lines each voiced.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def full_market_render(episode: Path, out: Path, locale: str, scratch: Path) -> dict:
    from localize.review.desk import ReviewDesk

    ref = ReviewDesk(out).report(f"{episode.stem}.{locale}")
    if scratch.exists():
        shutil.rmtree(scratch)
    work = scratch / "work" / ref.work_root.name
    shutil.copytree(ref.work_root, work, ignore=shutil.ignore_patterns(
        f"*.{locale}.json", f"*.{locale}.wav", f"dub.{locale}", f"*.{locale}.*", "units", "review.*"))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "localize", str(episode), "--to", locale, "--out", str(scratch / "out"),
                    "--work-dir", str(scratch / "work")], check=True, env={**os.environ, "LOCALIZE_PROGRESS": "0"})
    seconds = time.perf_counter() - started
    report = json.loads((scratch / "out" / f"{episode.stem}.{locale}.json").read_text(encoding="utf-8"))
    synth = next(s for s in report["stages"] if s["stage"] == f"synthesize.{locale}")
    return {"seconds": round(seconds, 1), "lines_voiced": synth.get("units_made", 0),
            "stages_run": [s["stage"] for s in report["stages"] if not s["cached"]]}


def one_line_render(episode: Path, out: Path, locale: str, line_index: int) -> dict:
    from localize.review.desk import ReviewDesk
    from localize.review.render import render_report

    desk = ReviewDesk(out)
    ref = desk.report(f"{episode.stem}.{locale}")
    segment = ref.data["segments"][line_index]
    desk.edit(ref, segment["id"], text=f"{segment['text'].rstrip('.!?')}, I promise.")
    started = time.perf_counter()
    result = render_report(desk, ref)
    return {"seconds": round(time.perf_counter() - started, 1), "lines_revoiced": result.lines_revoiced,
            "line": segment["id"], "stages_run": result.stages_run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episode", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--locale", default="en-US")
    parser.add_argument("--line", type=int, default=1, help="Index of the line to edit.")
    parser.add_argument("--scratch", type=Path, default=Path("build/bench-review"))
    parser.add_argument("--line-only", action="store_true", help="Measure the one-line render alone.")
    args = parser.parse_args()
    full = None if args.line_only else full_market_render(args.episode, args.out, args.locale, args.scratch)
    one = one_line_render(args.episode, args.out, args.locale, args.line)
    print(json.dumps({"full_market_render": full, "one_line_render": one,
                      "ratio": round(one["seconds"] / full["seconds"], 3) if full else None}, indent=1))


if __name__ == "__main__":
    main()
