"""Scale-out bench: episode-markets per hour on the local executor and on Ray with 1 and 2 worker
processes, and what Ray costs per task.

    unshare -n sh -c 'ip link set lo up && PYTHONPATH=src python bench/scale.py --episodes 4'

(``unshare -n`` keeps the Ray instance on loopback in a private network namespace; as root. Without
it the bench runs the same, with Ray on the machine's own address.)

What runs:

1. one cold local run of the short sample episode (tests/data/delivery_short.yaml) to en-US:
   the analysis and one market from nothing, timed per stage;
2. ``--episodes`` copies of it whose work dirs hold that analysis and the series' translation
   memory (so the translation comes from the memory, not Gemma) but no market artifacts: every
   market render casts, voices (Kokoro), mixes and encodes for real;
3. those episode x markets on the ``local`` executor, then on ``ray`` with 1 and 2 CPUs (one
   worker process per CPU; each render task declares 1 CPU), each from a fresh output folder and
   fresh market artifacts;
4. Ray's bare cost per task: a no-op task's round trip (submit, schedule, run, fetch) against a
   plain call.

Writes ``bench/results/scale.json`` and prints a table. Figures vary with the machine's load; the
README turns them into nodes and hours for a season.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHORT_SCRIPT = REPO / "tests" / "data" / "delivery_short.yaml"
GLOSSARY = REPO / "glossaries" / "ceo-romance.yaml"


def market_free_copy(warm_work: Path, target: Path) -> None:
    """``warm_work`` without any market's artifacts: the analysis stays, every render starts over."""
    shutil.copytree(warm_work, target)
    shutil.rmtree(target / "units", ignore_errors=True)
    for path in target.iterdir():  # translate.en-US.json, dub.en-US/, mix.en-US.wav, market-picture...en-US...
        if any(f".{tag}" in path.name for tag in ("en-US", "es-MX")):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def prepare(root: Path, episodes: int) -> dict:
    """The cold run, and the series folder of copies with its warm analysis."""
    from localize.fsutil import file_digest
    from localize.pipeline import PipelineOptions, load_report, localize_episode
    from localize.sample import generate_sample

    sample = generate_sample(root / "sample", SHORT_SCRIPT, name="ep01")
    work = root / "warm"
    options = PipelineOptions(work_root=work, glossary=GLOSSARY)
    started = time.perf_counter()
    report = load_report(localize_episode(sample.video, ["en-US"], root / "cold-out", options)[0])
    cold = round(time.perf_counter() - started, 1)
    analysis_stages = ("ingest", "separate", "transcribe", "hardsubs", "unsubtitle", "fuse", "diarize")
    stages = {s["stage"]: s["seconds"] for s in report["stages"]}
    digest = file_digest(sample.video)
    return {"video": str(sample.video), "digest": digest, "work": str(work), "cold_seconds": cold,
            "duration_s": report["source"]["duration"], "stages": stages,
            "analysis_seconds": round(sum(v for k, v in stages.items() if k in analysis_stages), 1),
            "render_seconds": round(sum(v for k, v in stages.items() if k not in analysis_stages), 1)}


def series_copy(root: Path, prepared: dict, episodes: int, name: str) -> tuple[Path, Path]:
    series = root / name / "ceo-romance"
    work = root / name / "work"
    if series.parent.exists():
        shutil.rmtree(series.parent)
    series.mkdir(parents=True)
    warm = next(Path(prepared["work"]).glob(f"ep01-{prepared['digest'][:12]}"))
    for i in range(1, episodes + 1):
        stem = f"ep{i:02d}"
        shutil.copy(prepared["video"], series / f"{stem}.mp4")
        market_free_copy(warm, work / f"{stem}-{prepared['digest'][:12]}")
    shutil.copy(Path(prepared["work"]) / "translation-memory.json", work / "translation-memory.json")
    return series, work


def run_executor(root: Path, prepared: dict, episodes: int, locales: list[str], name: str, executor) -> dict:
    from localize.delivery.batch import run_series
    from localize.pipeline import PipelineOptions

    series, work = series_copy(root, prepared, episodes, name)
    outcomes = []

    class Recorder:
        def __init__(self, inner):
            self.inner, self.name = inner, inner.name

        def run(self, items, out_dir, options, on_outcome):
            def record(outcome):
                outcomes.append(outcome)
                on_outcome(outcome)
            return self.inner.run(items, out_dir, options, record)

    options = PipelineOptions(work_root=work, glossary=GLOSSARY)
    started = time.perf_counter()
    summary = run_series(series, locales, root / name / "out", options, executor=Recorder(executor),
                         log=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    wall = time.perf_counter() - started
    done = sum(1 for o in outcomes if o.locale and o.status == "done")
    assert summary.counts["failed"] == 0, summary.to_json()
    renders = [o.seconds for o in outcomes if o.locale]
    loads = [o.details.get("model_loads") for o in outcomes if o.details.get("model_loads")]
    return {"wall_seconds": round(wall, 1), "episode_markets": done,
            "per_hour": round(done * 3600 / wall, 1),
            "render_task_seconds": sorted(round(s, 1) for s in renders), "model_loads": loads}


def noop() -> int:
    return 1


def ray_task_overhead(ray, count: int = 200) -> dict:
    """A no-op task's round trip on Ray against a plain call (median of ``count``, after a warm-up)."""
    import statistics

    remote = ray.remote(num_cpus=1)(noop)
    ray.get([remote.remote() for _ in range(8)])  # worker processes started
    one_by_one = []
    for _ in range(count):
        started = time.perf_counter()
        ray.get(remote.remote())
        one_by_one.append(time.perf_counter() - started)
    started = time.perf_counter()
    ray.get([remote.remote() for _ in range(count)])
    batched = (time.perf_counter() - started) / count
    started = time.perf_counter()
    for _ in range(count):
        noop()
    plain = (time.perf_counter() - started) / count
    return {"sequential_ms": round(statistics.median(one_by_one) * 1000, 2), "pipelined_ms": round(batched * 1000, 2),
            "plain_call_us": round(plain * 1e6, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=4, help="copies of the short episode in the series")
    parser.add_argument("--locales", default="en-US", help="comma-separated markets (from the memory: en-US)")
    parser.add_argument("--root", type=Path, default=REPO / "build" / "bench-scale")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "scale.json")
    args = parser.parse_args()
    os.environ.setdefault("LOCALIZE_PROGRESS", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    root = args.root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    locales = [tag.strip() for tag in args.locales.split(",") if tag.strip()]
    print("cold local run (analysis + en-US from nothing) ...", file=sys.stderr, flush=True)
    prepared = prepare(root, args.episodes)
    results: dict = {"machine": {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()},
                     "episodes": args.episodes, "locales": locales, "cold_run": prepared, "runs": {}}

    from localize.delivery.executors import LocalExecutor
    from localize.delivery.ray_executor import RayExecutor

    print("local executor ...", file=sys.stderr, flush=True)
    results["runs"]["local"] = run_executor(root, prepared, args.episodes, locales, "local", LocalExecutor())
    for cpus in (1, 2):
        print(f"ray, {cpus} worker process(es) ...", file=sys.stderr, flush=True)
        executor = RayExecutor(num_cpus=cpus)
        try:
            started = time.perf_counter()
            executor.connect()
            startup = round(time.perf_counter() - started, 1)
            run = run_executor(root, prepared, args.episodes, locales, f"ray{cpus}", executor)
            run["ray_start_seconds"] = startup
            if cpus == 1:
                run["noop_task"] = ray_task_overhead(executor.ray)
            results["runs"][f"ray-{cpus}"] = run
        finally:
            executor.close()
    local, ray1 = results["runs"]["local"], results["runs"]["ray-1"]
    tasks = ray1["episode_markets"]
    results["ray_overhead_per_render_s"] = round((ray1["wall_seconds"] - local["wall_seconds"]) / max(tasks, 1), 2)
    results["machine"]["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\ncold run of a {prepared['duration_s']:.0f} s episode: {prepared['cold_seconds']} s "
          f"(analysis {prepared['analysis_seconds']} s, one market {prepared['render_seconds']} s)")
    print(f"{'executor':<10}{'workers':>8}{'wall s':>9}{'ep-markets':>11}{'per hour':>10}")
    for name, run in results["runs"].items():
        workers = 1 if name in ("local", "ray-1") else 2
        print(f"{name:<10}{workers:>8}{run['wall_seconds']:>9}{run['episode_markets']:>11}{run['per_hour']:>10}")
    noop_cost = ray1["noop_task"]
    print(f"ray no-op task: {noop_cost['sequential_ms']} ms one at a time, {noop_cost['pipelined_ms']} ms pipelined "
          f"(plain call {noop_cost['plain_call_us']} us); end to end {results['ray_overhead_per_render_s']} s "
          f"more per render than local")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
