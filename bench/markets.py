"""Benchmark multi-market runs: what does each market after the first cost?

Analysis (ingest, separation, ASR, diarization) runs once per episode; every market then
translates, voices, mixes and exports from it. This runs the real pipeline in one process,
the way `localize EPISODE --to A --to B --to C` does, on a cold work directory, and times:

- first  = analysis + the first market (what a single-market run costs),
- each later market on its own, and its ratio to the first (target: <= 0.40),
- each market's time per stage, so the figure says where the time goes.

    .venv/bin/python bench/markets.py [--episode EP.mp4] [--to en-US --to es-MX --to pt-BR]
                                       [--profile generic-mp4] [--out build/bench-markets]

Without --episode it generates the short delivery test episode (tests/data/delivery_short.yaml).
Results go to OUT/markets.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episode", type=Path, default=None)
    parser.add_argument("--to", dest="locales", action="append", default=None)
    parser.add_argument("--profile", default="generic-mp4")
    parser.add_argument("--out", type=Path, default=Path("build/bench-markets"))
    args = parser.parse_args()
    os.environ.setdefault("LOCALIZE_PROGRESS", "0")
    locales = args.locales or ["en-US", "es-MX", "pt-BR"]

    from localize.delivery.profiles import load_profile
    from localize.fsutil import file_digest
    from localize.locales import get_locale
    from localize.pipeline import PipelineOptions, analyse, render_market
    from localize.workdir import WorkDir

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    episode = args.episode
    if episode is None:
        episode = out / "short.mp4"
        if not episode.exists():
            from localize.sample import generate_sample

            generate_sample(out, ROOT / "tests" / "data" / "delivery_short.yaml", name="short")
    results = out / "results"
    shutil.rmtree(results, ignore_errors=True)
    work_root = Path(tempfile.mkdtemp(prefix="localize-bench-markets-"))
    profile = load_profile(args.profile)
    options = PipelineOptions(work_root=work_root, profile=profile)
    try:
        digest = file_digest(episode)
        work = WorkDir(work_root / f"{episode.stem}-{digest[:12]}")
        started = time.perf_counter()
        analysis = analyse(episode, options, work, digest)
        analysis_seconds = time.perf_counter() - started
        analysis_records = list(work.records)
        markets = []
        for locale in map(get_locale, locales):
            work.records = []
            started = time.perf_counter()
            render_market(episode, analysis, locale, results, options, work)
            seconds = time.perf_counter() - started
            lines = json.loads(work.path(f"translate.{locale.tag}.json").read_text(encoding="utf-8"))["data"]
            synth = json.loads(work.path(f"synthesize.{locale.tag}.json").read_text(encoding="utf-8"))["data"]
            stages = {r.stage.split(".")[0]: r.seconds for r in work.records}
            backend_seconds = sum(line["seconds"] for line in lines)
            markets.append({
                "locale": locale.tag, "seconds": round(seconds, 1), "stages": stages,
                # Where translation time goes: model calls (all attempts) vs. the rest (load, prompt cache).
                "translation": {"lines": len(lines), "attempts": [line["attempts"] for line in lines],
                                "model_seconds": round(backend_seconds, 1),
                                "other_seconds": round(stages.get("translate", 0) - backend_seconds, 1)},
                "voice": {"backend": synth["backend"], "lines": len(synth["lines"])},
            })
    finally:
        shutil.rmtree(work_root, ignore_errors=True)

    first = analysis_seconds + markets[0]["seconds"]
    for market in markets[1:]:
        market["ratio_to_first"] = round(market["seconds"] / first, 3)
    worst = max((m["ratio_to_first"] for m in markets[1:]), default=0.0)
    figures = {
        "episode": str(episode), "profile": profile.name, "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "analysis_seconds": round(analysis_seconds, 1),
        "analysis_stages": {r.stage: r.seconds for r in analysis_records},
        "first_market_seconds": round(first, 1),
        "markets": markets,
        "worst_ratio": worst,
        "target_ratio": TARGET_RATIO,
        "meets_target": worst <= TARGET_RATIO,
    }
    print(f"analysis {analysis_seconds:7.1f} s  ({', '.join(f'{r.stage} {r.seconds:.1f}' for r in analysis_records)})")
    for i, market in enumerate(markets):
        ratio = "" if i == 0 else f"  ratio {market['ratio_to_first']:.2f}"
        stages = ", ".join(f"{name} {sec:.1f}" for name, sec in market["stages"].items())
        tr = market["translation"]
        print(f"{market['locale']:<6} {market['seconds']:7.1f} s{ratio}  ({stages}); translation: "
              f"{tr['lines']} lines, attempts {tr['attempts']}, model {tr['model_seconds']} s, "
              f"other {tr['other_seconds']} s")
    print(f"first market (analysis + {markets[0]['locale']}): {first:.1f} s; worst later ratio {worst:.2f} "
          f"(target <= {TARGET_RATIO:.2f}: {'met' if worst <= TARGET_RATIO else 'NOT met'})")
    (out / "markets.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    sys.exit(0)


if __name__ == "__main__":
    main()
