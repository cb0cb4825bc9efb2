"""Executors: choosing one, Ray missing, the series' shared files under concurrency, and a real
two-node Ray cluster losing its worker node halfway through a 3-episode x 2-market series."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from localize.delivery.choose import choose_executor, make_executor
from localize.delivery.executors import LocalExecutor
from localize.errors import UsageError

from delivery_helpers import ENV, SERIES_GLOSSARY, SPANISH

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"


def test_executor_is_chosen_by_name_then_address():
    assert choose_executor(None, None, environ={}) == "local"
    assert choose_executor(None, None, environ={"RAY_ADDRESS": "10.0.0.5:6379"}) == "ray"
    assert choose_executor(None, "head:6379", environ={}) == "ray"
    assert choose_executor("local", "head:6379", environ={"RAY_ADDRESS": "x"}) == "local"
    assert isinstance(make_executor("local"), LocalExecutor)
    with pytest.raises(UsageError, match="unknown executor backend 'spark'; choose one of: local, ray"):
        make_executor("spark")


def _localize_without_ray(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in a process where ``import ray`` fails, as on a machine without the extra."""
    code = ("import sys; sys.modules['ray'] = None\n"  # None in sys.modules: `import ray` raises ImportError
            "from localize.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                          env={**ENV, "PYTHONPATH": str(SRC), "RAY_ADDRESS": ""})


def test_executor_ray_without_ray_is_one_line_error(tmp_path, short_episode):
    result = _localize_without_ray(str(short_episode.video), "--to", "en-US", "--out", str(tmp_path / "out"),
                                   "--executor", "ray", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "localize: error: the ray executor needs Ray, which is not installed: "
        "pip install 'localize[ray]' (ray[default]==2.60.0)"]
    assert not (tmp_path / "out").exists()  # refused before any work
    (tmp_path / "localize.yaml").write_text("executor: ray\n")  # the config says the same
    result = _localize_without_ray(str(tmp_path / "series"), "--to", "en-US", cwd=tmp_path)
    assert result.returncode == 2 and "needs Ray" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_memory_saves_from_two_writers_keep_both(tmp_path):
    """Two renders of a series translating at once: neither loses the other's lines (the file is merged under a lock)."""
    from localize.stages.translate.memory import HUMAN, MACHINE, TranslationMemory

    path = tmp_path / "translation-memory.json"
    first, second = TranslationMemory(path), TranslationMemory(path)
    first.put("en-US", "你好", "Hello", MACHINE)
    second.put("en-US", "再见", "Goodbye", MACHINE)
    second.put("es-MX", "你好", "Hola", HUMAN)
    first.save()
    second.save()
    third = TranslationMemory(path)
    assert third.get("en-US", "你好").text == "Hello" and third.get("en-US", "再见").text == "Goodbye"
    first.put("es-MX", "你好", "Buenas", MACHINE)  # a machine line never replaces a human one on disk
    first.save()
    assert TranslationMemory(path).get("es-MX", "你好").text == "Hola"


def test_file_lock_serialises_processes(tmp_path):
    """The lock the cast and the memory take holds across processes (and is dropped when its holder dies)."""
    from localize.fsutil import file_lock

    target = tmp_path / "cast.yaml"
    code = ("import sys, time; sys.path.insert(0, sys.argv[2]); from localize.fsutil import file_lock\n"
            "with file_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(target), str(SRC)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        got = threading.Event()

        def take() -> None:
            with file_lock(target):
                got.set()

        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        assert not got.wait(1.0)  # the other process holds it
        holder.kill()  # kill -9: the kernel drops the lock
        assert got.wait(10.0)
    finally:
        holder.kill()
        holder.wait()


def test_staging_left_by_killed_attempts_is_swept_once_their_tasks_ended(tmp_path):
    from localize.delivery.ray_executor import remove_staging_leftovers
    from localize.fsutil import staged_outputs

    (tmp_path / ".ep01.en-US.k3j2.part").mkdir()  # what a killed attempt leaves (just now: younger than 60 s)
    (tmp_path / ".ep01.es-MX.a1b2.part").mkdir()
    (tmp_path / ".ep011.en-US.zz.part").mkdir()
    with staged_outputs(tmp_path, "ep01.en-US") as staging:
        staging.path(tmp_path / "ep01.en-US.srt").write_text("1\n")
        assert remove_staging_leftovers(tmp_path, ["ep01.en-US"], lambda _: None) == 1  # not the live one
    assert (tmp_path / "ep01.en-US.srt").read_text() == "1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ep01.es-MX.a1b2.part", ".ep011.en-US.zz.part",
                                                          "ep01.en-US.srt"]


# --------------------------------------------------------------------------- the real cluster

RAY_COMMAND = Path(sys.executable).parent / "ray"  # the venv's, which PATH may not hold


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None or not RAY_COMMAND.exists():
        return False
    probe = subprocess.run(["unshare", "-n", "-p", "-f", "--mount-proc", "sh", "-c", "ip link set lo up"],
                           capture_output=True)
    return probe.returncode == 0


def _srt_text(path: Path) -> list[str]:
    import pysubs2

    return [event.plaintext for event in pysubs2.load(str(path))]


def _segments(report: Path) -> list[dict]:
    return json.loads(report.read_text(encoding="utf-8"))["segments"]


def _seed_series(root: Path, short_episode, warm_work, stems: list[str]) -> tuple[Path, Path]:
    """A series folder of copies of the short episode, and a work root whose analysis is warm.

    The series' translation memory holds a person's Spanish for every line, so es-MX needs no
    translation model; every market still casts, voices, mixes and encodes for real.
    """
    series = root / "ceo-romance"
    series.mkdir(parents=True)
    work = root / "work"
    for stem in stems:
        shutil.copy(short_episode.video, series / f"{stem}.mp4")
        warm_work.seed(work, stem)
    fused = json.loads(next(work.glob("*/fuse.json")).read_text(encoding="utf-8"))["data"]["segments"]
    assert len(fused) == len(SPANISH)
    from localize.stages.translate.memory import HUMAN, TranslationMemory

    memory = TranslationMemory(work / "translation-memory.json")
    for segment, text in zip(fused, SPANISH):
        memory.put("es-MX", segment["source_text"], text, HUMAN)
    memory.save()
    return series, work


@pytest.mark.skipif(not _can_unshare(), reason="needs unshare (a private network namespace, as root), ip and Ray")
def test_series_on_a_ray_cluster_survives_losing_a_node(tmp_path, short_episode, warm_work):
    """3 episodes x 2 markets on a head + a worker node (1 CPU each, 127.0.0.1); kill -9 the worker node
    halfway. Then: one complete output set per episode x market, identical to a local run, no staging left."""
    locales = ["en-US", "es-MX"]
    stems = ["ep01", "ep02", "ep03"]
    series, work = _seed_series(tmp_path / "cluster", short_episode, warm_work, stems)
    out = tmp_path / "cluster" / "out"
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths must stay short
    spec = {"series": str(series), "out": str(out), "work": str(work), "glossary": str(SERIES_GLOSSARY),
            "locales": locales, "kill_after": 2, "ray_tmp": str(ray_tmp), "logs": str(tmp_path / "logs"),
            "result": str(tmp_path / "result.json")}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE)]),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    env.pop("RAY_ADDRESS", None)
    try:
        run = subprocess.run(["unshare", "-n", "-p", "-f", "--mount-proc", "sh", "-c",
                              f"ip link set lo up && exec {sys.executable} {HERE / 'ray_failover.py'} "
                              f"{tmp_path / 'spec.json'}"], capture_output=True, text=True, env=env, timeout=1800)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    result = json.loads((tmp_path / "result.json").read_text())

    # The worker node died under a running render, and Ray ran that render again.
    killed = result["killed"]
    assert killed, f"the worker node was never killed mid-render: {result['log']}"
    assert result["attempts"][killed["task"]] >= 2, result["attempts"]
    names = {f"analyse:{s}" for s in stems} | {f"render:{s}:{t}" for s in stems for t in locales}
    assert names <= set(result["attempts"])  # ray list tasks shows every task by its name
    summary = result["summary"]
    assert [(e["episode"], e["status"]) for e in summary["episodes"]] == [(s, "done") for s in stems], summary
    renders = [o for o in result["outcomes"] if o["locale"]]
    assert sorted((Path(o["episode"]).stem, o["locale"]) for o in renders) == [(s, t) for s in stems for t in locales]
    # Each worker process loaded each model at most once, however many tasks it ran.
    assert all(n <= 1 for o in result["outcomes"] for n in o["details"].get("model_loads", {}).values()), \
        [o["details"].get("model_loads") for o in result["outcomes"]]
    assert not any(o["details"].get("analysis_rerun") for o in renders)  # the shared work dir was used

    # Exactly one complete output set per episode x market, nothing half-written, nothing staged.
    expected = {f"{s}.{t}.{ext}" for s in stems for t in locales for ext in ("mp4", "srt", "json", "html")}
    delivered = {p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert delivered == expected | {"ceo-romance.batch.json"}
    assert not [p for p in out.rglob("*") if ".part" in p.name], "a staging folder or temporary was left"

    # The same as a local run of the same episode and markets (the three episodes are one content).
    local_series, local_work = _seed_series(tmp_path / "local", short_episode, warm_work, ["ep01"])
    local_out = tmp_path / "local" / "out"
    subprocess.run([sys.executable, "-m", "localize", str(local_series / "ep01.mp4"), *sum((["--to", t] for t in locales), []),
                    "--out", str(local_out), "--work-dir", str(local_work), "--glossary", str(SERIES_GLOSSARY)],
                   check=True, capture_output=True, env={**ENV, "PYTHONPATH": str(SRC)})
    for tag in locales:
        reference_srt = _srt_text(local_out / f"ep01.{tag}.srt")
        reference_segments = _segments(local_out / f"ep01.{tag}.json")
        assert reference_srt and len(reference_segments) == len(SPANISH)
        for stem in stems:
            assert _srt_text(out / f"{stem}.{tag}.srt") == reference_srt, (stem, tag)
            assert _segments(out / f"{stem}.{tag}.json") == reference_segments, (stem, tag)
