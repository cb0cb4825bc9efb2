"""Benchmark multi-market runs: what does each market after the first cost?

Analysis (ingest, separation, ASR, diarization) runs once per episode; every market then
translates, voices, mixes and exports from it. This runs the real pipeline in one process,
the way `localize EPISODE --to A --to B --to C` does, on a cold work directory, and times:

- first  = analysis + the first market (what a single-market run costs),
- each later market on its own, and its ratio to the first (target: <= 0.40),
- each market's time per stage, so the figure says where the time goes.

Beside wall time it records CPU seconds (this process and its finished ffmpeg children) per
market and per stage, and the load average: on a shared machine the wall-time ratio moves with
other people's work, the CPU ratio much less.

    .venv/bin/python bench/markets.py [--episode EP.mp4 | --sample SAMPLE.yaml] [--to en-US --to es-MX ...]
                                       [--profile generic-mp4] [--out build/bench-markets]

Without --episode it generates an episode from --sample (default: the short delivery test
episode, tests/data/delivery_short.yaml; samples/episode01.yaml is the 84 s demo episode).
Results go to OUT/markets.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.40


def cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children (ffmpeg)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episode", type=Path, default=None)
    parser.add_argument("--sample", type=Path, default=ROOT / "tests" / "data" / "delivery_short.yaml")
    parser.add_argument("--to", dest="locales", action="append", default=None)
    parser.add_argument("--profile", default="generic-mp4")
    parser.add_argument("--out", type=Path, default=Path("build/bench-markets"))
    args = parser.parse_args()
    os.environ.setdefault("LOCALIZE_PROGRESS", "0")
    locales = args.locales or ["en-US", "es-MX", "pt-BR"]

    from localize.stages.export.profiles import load_profile
    from localize.fsutil import file_digest
    from localize.locales import get_locale
    from localize.pipeline import PipelineOptions, analyse, render_market
    from localize.workdir import WorkDir

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    episode = args.episode
    if episode is None:
        name = "short" if args.sample.name == "delivery_short.yaml" else args.sample.stem
        episode = out / f"{name}.mp4"
        if not episode.exists():
            from localize.sample import generate_sample

            generate_sample(out, args.sample, name=name)
    results = out / "results"
    shutil.rmtree(results, ignore_errors=True)
    work_root = Path(tempfile.mkdtemp(prefix="localize-bench-markets-"))
    profile = load_profile(args.profile)
    options = PipelineOptions(work_root=work_root, profile=profile)
    # CPU seconds per stage: WorkDir.run wrapped here only (the pipeline records wall time).
    stage_cpu: dict[str, float] = {}
    plain_run = WorkDir.run

    def counted_run(self, stage, *rest, **kwargs):  # noqa: ANN001, ANN202
        before = cpu_seconds()
        try:
            return plain_run(self, stage, *rest, **kwargs)
        finally:
            stage_cpu[stage] = round(cpu_seconds() - before, 2)

    WorkDir.run = counted_run
    # Casting a series' new characters (voices scored against the actors, once per series, saved in
    # the cast file) happens inside the first market: timed apart so both ratios can be given.
    from localize.stages import cast as cast_module

    casting: list[float] = []
    casting_cpu: list[float] = []
    plain_cast = cast_module.cast_episode

    def timed_cast(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        started, cpu_started = time.perf_counter(), cpu_seconds()
        try:
            return plain_cast(*args, **kwargs)
        finally:
            casting.append(time.perf_counter() - started)
            casting_cpu.append(cpu_seconds() - cpu_started)

    cast_module.cast_episode = timed_cast
    try:
        digest = file_digest(episode)
        work = WorkDir(work_root / f"{episode.stem}-{digest[:12]}")
        started, cpu_started = time.perf_counter(), cpu_seconds()
        analysis = analyse(episode, options, work, digest)
        analysis_seconds = time.perf_counter() - started
        analysis_cpu = cpu_seconds() - cpu_started
        analysis_records = list(work.records)
        markets = []
        for locale in map(get_locale, locales):
            work.records = []
            casting.clear()
            casting_cpu.clear()
            load_before = os.getloadavg()[0]
            started, cpu_started = time.perf_counter(), cpu_seconds()
            render_market(episode, analysis, locale, results, options, work)
            seconds = time.perf_counter() - started
            cpu = cpu_seconds() - cpu_started
            lines = json.loads(work.path(f"translate.{locale.tag}.json").read_text(encoding="utf-8"))["data"]
            synth = json.loads(work.path(f"synthesize.{locale.tag}.json").read_text(encoding="utf-8"))["data"]
            stages = {r.stage.split(".")[0]: r.seconds for r in work.records}
            backend_seconds = sum(line["seconds"] for line in lines)
            markets.append({
                "locale": locale.tag, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
                "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "stages": stages,
                # Time outside the cached stages: subtitles, the lip-sync check, the report.
                "other_seconds": round(seconds - sum(stages.values()), 1),
                "casting_seconds": round(sum(casting), 1),  # part of other_seconds
                "casting_cpu_seconds": round(sum(casting_cpu), 1),
                "stage_cpu_seconds": {r.stage.split(".")[0]: stage_cpu.get(r.stage, 0.0) for r in work.records},
                # Where translation time goes: model calls (all attempts) vs. the rest (load, prompt cache).
                "translation": {"lines": len(lines), "attempts": [line["attempts"] for line in lines],
                                "model_seconds": round(backend_seconds, 1),
                                "other_seconds": round(stages.get("translate", 0) - backend_seconds, 1)},
                "voice": {"backend": synth["backend"], "lines": len(synth["lines"])},
            })
    finally:
        WorkDir.run = plain_run
        cast_module.cast_episode = plain_cast
        shutil.rmtree(work_root, ignore_errors=True)

    first = analysis_seconds + markets[0]["seconds"]
    first_cpu = analysis_cpu + markets[0]["cpu_seconds"]
    # The same figure for an episode whose characters are already cast (the series' later episodes).
    first_cast_known = first - markets[0]["casting_seconds"]
    first_cpu_cast_known = first_cpu - markets[0]["casting_cpu_seconds"]
    for market in markets[1:]:
        market["ratio_to_first"] = round(market["seconds"] / first, 3)
        market["ratio_to_first_cast_known"] = round((market["seconds"] - market["casting_seconds"])
                                                    / first_cast_known, 3)
        market["cpu_ratio_to_first"] = round(market["cpu_seconds"] / first_cpu, 3)
        market["cpu_ratio_to_first_cast_known"] = round((market["cpu_seconds"] - market["casting_cpu_seconds"])
                                                        / first_cpu_cast_known, 3)
    worst = max((m["ratio_to_first"] for m in markets[1:]), default=0.0)
    figures = {
        "episode": str(episode), "profile": profile.name, "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "analysis_seconds": round(analysis_seconds, 1),
        "analysis_stages": {r.stage: r.seconds for r in analysis_records},
        "analysis_cpu_seconds": round(analysis_cpu, 1),
        "analysis_stage_cpu_seconds": {r.stage: stage_cpu.get(r.stage, 0.0) for r in analysis_records},
        "first_market_seconds": round(first, 1),
        "first_market_cpu_seconds": round(first_cpu, 1),
        "markets": markets,
        "worst_ratio": worst,
        "worst_ratio_cast_known": max((m["ratio_to_first_cast_known"] for m in markets[1:]), default=0.0),
        "worst_cpu_ratio": max((m["cpu_ratio_to_first"] for m in markets[1:]), default=0.0),
        "worst_cpu_ratio_cast_known": max((m["cpu_ratio_to_first_cast_known"] for m in markets[1:]), default=0.0),
        "target_ratio": TARGET_RATIO,
        "meets_target": worst <= TARGET_RATIO,
    }
    analysis_stages = ", ".join(f"{r.stage} {r.seconds:.1f}" for r in analysis_records)
    print(f"analysis {analysis_seconds:7.1f} s, cpu {analysis_cpu:.1f} s  ({analysis_stages})")
    for i, market in enumerate(markets):
        ratio = "" if i == 0 else (f"  ratio {market['ratio_to_first']:.2f} (cpu {market['cpu_ratio_to_first']:.2f}, "
                                   f"cast known {market['ratio_to_first_cast_known']:.2f}, "
                                   f"cpu cast known {market['cpu_ratio_to_first_cast_known']:.2f})")
        stages = ", ".join(f"{name} {sec:.1f}" for name, sec in market["stages"].items())
        tr = market["translation"]
        print(f"{market['locale']:<6} {market['seconds']:7.1f} s, cpu {market['cpu_seconds']:.1f} s{ratio}  "
              f"({stages}, other {market['other_seconds']} incl. casting {market['casting_seconds']}; "
              f"load {market['load_average_1min']}); translation: "
              f"{tr['lines']} lines, attempts {tr['attempts']}, model {tr['model_seconds']} s, "
              f"other {tr['other_seconds']} s")
    verdict = "met" if worst <= TARGET_RATIO else "NOT met"
    print(f"first market (analysis + {markets[0]['locale']}): {first:.1f} s "
          f"(casting {markets[0]['casting_seconds']} s); worst later ratio {worst:.2f}, "
          f"cast known {figures['worst_ratio_cast_known']:.2f}, cpu {figures['worst_cpu_ratio']:.2f}, "
          f"cpu cast known {figures['worst_cpu_ratio_cast_known']:.2f} "
          f"(target <= {TARGET_RATIO:.2f}: {verdict})")
    (out / "markets.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    sys.exit(0)


if __name__ == "__main__":
    main()
