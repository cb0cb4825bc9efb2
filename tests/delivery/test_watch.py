"""The watch folder: stability, retries, failure records, and a real watcher process killed with -9."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from localize.delivery.jobs import JobStore
from localize.stages.export.manifest import verify_manifest
from localize.stages.export.profiles import DEFAULT_LABEL
from localize.delivery.watch import STORE_NAME, StabilityTracker, WatchOptions, Watcher
from localize.errors import InputError, ToolError
from localize.pipeline import PipelineOptions

from delivery_helpers import ENV, LOCALIZE, SERIES_GLOSSARY, probe, streams


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_stability_needs_quiet_size_and_mtime():
    tracker = StabilityTracker(settle_seconds=2.0)
    now = 1000.0
    assert not tracker.observe("a.mp4", 10, int(999.5e9), now)  # written half a second ago
    assert not tracker.observe("a.mp4", 20, int(1001e9), now + 1)  # still growing
    assert not tracker.observe("a.mp4", 20, int(1001e9), now + 2.5)
    assert tracker.observe("a.mp4", 20, int(1001e9), now + 3.1)  # quiet for 2 s
    assert tracker.observe("old.mp4", 5, int(10e9), now)  # untouched for ages: ready at first sight
    assert not tracker.observe("empty.mp4", 0, int(10e9), now)
    assert not tracker.observe("future.mp4", 5, int(5000e9), now)  # clock skew: wait on our own clock
    assert tracker.observe("future.mp4", 5, int(5000e9), now + 2.1)
    tracker.forget_missing({"a.mp4"})
    assert set(tracker.seen) == {"a.mp4"}


class FakeRunner:
    """Stands in for the pipeline: records calls, fails as told, writes one output file."""

    def __init__(self, failures: dict[tuple[str, str], list[Exception]] | None = None) -> None:
        self.failures = failures or {}
        self.calls: list[tuple[str, str]] = []

    def __call__(self, episode: Path, locales, out_dir: Path, options):
        self.calls.append((episode.name, locales[0]))
        queue = self.failures.get((episode.name, locales[0])) or []
        if queue:
            raise queue.pop(0)
        report = out_dir / f"{episode.stem}.{locales[0]}.json"
        report.write_text(json.dumps({"source": episode.read_bytes().decode(errors="replace")}))
        return [report]


def make_watcher(tmp_path, runner, **kw) -> Watcher:
    options = WatchOptions(in_dir=tmp_path / "in", out_dir=tmp_path / "out", locales=("en-US", "es-MX"),
                           pipeline=PipelineOptions(), poll_seconds=0.05, settle_seconds=0.0, once=True,
                           backoff_seconds=0.05, **kw)
    (tmp_path / "in").mkdir(exist_ok=True)
    return Watcher(options, runner=runner, log=lambda _: None)


def test_transient_failures_are_retried_with_backoff(tmp_path):
    runner = FakeRunner({("a.mp4", "en-US"): [ToolError("ffmpeg failed while rendering"), OSError("disk hiccup")]})
    watcher = make_watcher(tmp_path, runner, max_attempts=3)
    (tmp_path / "in" / "a.mp4").write_bytes(b"content-a")
    summary = watcher.run()
    assert summary.done == 2 and summary.retried == 2 and summary.failed == 0
    assert runner.calls.count(("a.mp4", "en-US")) == 3 and runner.calls.count(("a.mp4", "es-MX")) == 1
    with JobStore(tmp_path / "out" / STORE_NAME) as store:
        assert {job.state for job in store.jobs()} == {"done"}
        events = [event for _, event, _ in store.events(1)]
        assert events == ["queued", "claimed", "retry", "claimed", "retry", "claimed", "done"]
    assert not (tmp_path / "out" / "failed").exists()
    snapshots = tmp_path / "out" / ".localize-watch"
    assert not snapshots.exists() or not any(snapshots.iterdir())


def test_permanent_and_exhausted_failures_leave_a_one_line_record(tmp_path):
    runner = FakeRunner({("bad.mp4", "en-US"): [InputError("bad.mp4: not a readable media file (Invalid data)")],
                         ("flaky.mp4", "en-US"): [ToolError("ffmpeg crashed")] * 5,
                         ("flaky.mp4", "es-MX"): [ToolError("disk full")] * 5})
    watcher = make_watcher(tmp_path, runner, max_attempts=2)
    for name in ("bad.mp4", "flaky.mp4"):
        (tmp_path / "in" / name).write_bytes(name.encode())
    summary = watcher.run()
    bad = (tmp_path / "out" / "failed" / "bad.mp4.txt").read_text().splitlines()
    assert bad == ["bad.mp4: not a readable media file (Invalid data)"]
    assert runner.calls.count(("bad.mp4", "es-MX")) == 0  # an unusable input fails every market at once
    flaky = (tmp_path / "out" / "failed" / "flaky.mp4.txt").read_text().splitlines()
    assert flaky == ["en-US: gave up after 2 attempts: ffmpeg crashed; es-MX: gave up after 2 attempts: disk full"]
    assert summary.failed == 3


def test_changed_file_is_processed_again_and_removing_a_record_retries(tmp_path):
    runner = FakeRunner({("a.mp4", "en-US"): [InputError("a.mp4: truncated")]})
    watcher = make_watcher(tmp_path, runner)
    source = tmp_path / "in" / "a.mp4"
    source.write_bytes(b"v1")
    watcher.run()
    assert (tmp_path / "out" / "failed" / "a.mp4.txt").exists() and runner.calls == [("a.mp4", "en-US")]
    make_watcher(tmp_path, runner).run()  # same content, record still there: nothing happens
    assert runner.calls == [("a.mp4", "en-US")]
    (tmp_path / "out" / "failed" / "a.mp4.txt").unlink()  # the user asks for another try
    make_watcher(tmp_path, runner).run()
    assert runner.calls[1:] == [("a.mp4", "en-US"), ("a.mp4", "es-MX")]
    source.write_bytes(b"v2, a new cut")
    os.utime(source, (time.time() - 60, time.time() - 60))
    make_watcher(tmp_path, runner).run()
    assert runner.calls[3:] == [("a.mp4", "en-US"), ("a.mp4", "es-MX")]
    assert json.loads((tmp_path / "out" / "a.en-US.json").read_text())["source"] == "v2, a new cut"
    with JobStore(tmp_path / "out" / STORE_NAME) as store:
        assert sorted((job.digest[:6], job.locale, job.state) for job in store.jobs()) == sorted(
            [(hashlib.sha256(b"v1").hexdigest()[:6], "en-US", "done"), (hashlib.sha256(b"v1").hexdigest()[:6],
                                                                        "es-MX", "done"),
             (hashlib.sha256(b"v2, a new cut").hexdigest()[:6], "en-US", "done"),
             (hashlib.sha256(b"v2, a new cut").hexdigest()[:6], "es-MX", "done")])


def test_watch_refuses_same_folder_and_missing_folder(tmp_path):
    from localize.errors import UsageError

    options = WatchOptions(in_dir=tmp_path, out_dir=tmp_path, locales=("en-US",), pipeline=PipelineOptions())
    with pytest.raises(UsageError):
        Watcher(options).run()
    options = WatchOptions(in_dir=tmp_path / "nope", out_dir=tmp_path / "o", locales=("en-US",),
                           pipeline=PipelineOptions())
    with pytest.raises(InputError):
        Watcher(options).run()


def test_cli_help_names_the_delivery_options():
    watch = subprocess.run([*LOCALIZE, "watch", "--help"], capture_output=True, text=True, env=ENV)
    assert watch.returncode == 0 and "--once" in watch.stdout and "--profile" in watch.stdout
    run = subprocess.run([*LOCALIZE, "run", "--help"], capture_output=True, text=True, env=ENV)
    assert run.returncode == 0 and "--profile" in run.stdout and "SERIES" in run.stdout


# --- the real thing: `python -m localize watch` as a process -----------------------------------

def _watch_argv(inbox: Path, out: Path, work: Path, *extra: str) -> list[str]:
    return [*LOCALIZE, "watch", str(inbox), "--to", "en-US", "--out", str(out), "--profile", "tiktok",
            "--work-dir", str(work), "--glossary", str(SERIES_GLOSSARY), "--poll", "0.3", "--settle", "2.5",
            "--backoff", "1", *extra]


def _slow_copy(source: Path, target: Path, chunks: int = 10, pause: float = 0.5) -> None:
    data = source.read_bytes()
    step = len(data) // chunks + 1
    with open(target, "wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start:start + step])
            handle.flush()
            time.sleep(pause)


def _delivered(out: Path) -> set[str]:
    """Final outputs: everything but hidden files and folders and failure records."""
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(out).parts) and p.parts[-2] != "failed"}


def test_watcher_process_survives_kill_9_without_duplicates_or_losses(warm_work, short_episode, tmp_path):
    inbox, out, work = tmp_path / "inbox", tmp_path / "out", tmp_path / "work"
    inbox.mkdir()
    for stem in ("ep01", "ep02"):
        warm_work.seed(work, stem)  # the analysis and voices are cache hits; mix and export run for real
    ignored = {".hidden.mp4": b"hidden", "ep09.mp4.part": b"partial", "ep08.mp4.crdownload": b"partial",
               "~$ep07.mp4": b"lock", "ep06.tmp": b"tmp"}
    for name, body in ignored.items():
        (inbox / name).write_bytes(body)
    log = open(tmp_path / "watch1.log", "w")
    watcher = subprocess.Popen(_watch_argv(inbox, out, work), stdout=log, stderr=subprocess.STDOUT, env=ENV)
    try:
        shutil.copy(short_episode.video, inbox / "ep01.mp4")
        (inbox / "corrupt.mp4").write_bytes(os.urandom(300_000))
        copier = threading.Thread(target=_slow_copy, args=(short_episode.video, inbox / "ep02.mp4"))
        copier.start()
        # Kill the watcher outright while ep01's outputs are being written (their hidden staging folder exists).
        deadline = time.monotonic() + 300
        while not any(p.name.startswith(".ep01.") and ".part" in p.name for p in out.glob(".*")):
            assert watcher.poll() is None, (tmp_path / "watch1.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "watch1.log").read_text()
            time.sleep(0.1)
        os.kill(watcher.pid, signal.SIGKILL)
        watcher.wait()
        copier.join()
    finally:
        if watcher.poll() is None:
            watcher.kill()
        log.close()
    db = sqlite3.connect(out / STORE_NAME)
    running = db.execute("SELECT name FROM jobs WHERE state='running'").fetchall()
    assert running == [("ep01.mp4",)]  # left behind by the dead process
    assert not (out / "ep01.en-US.tiktok.mp4").exists()  # and no half video under the final name
    db.close()
    inputs = {p.name: sha(p) for p in inbox.iterdir()}
    mtimes = {p.name: p.stat().st_mtime_ns for p in inbox.iterdir()}

    restarted = subprocess.run(_watch_argv(inbox, out, work, "--once"), capture_output=True, text=True, env=ENV,
                               timeout=900)
    assert restarted.returncode == 0, restarted.stderr[-4000:]
    assert "picked up again" in restarted.stderr

    # Exactly one output set per good file and market; nothing else, nothing partial.
    expected = {f"{stem}.en-US.tiktok.{suffix}" for stem in ("ep01", "ep02")
                for suffix in ("mp4", "jpg", "manifest.json", "json", "html")}
    assert _delivered(out) == expected
    assert not [p for p in out.rglob("*") if ".part" in p.name or ".old-" in p.name]
    assert not [p for p in (out / ".localize-watch").rglob("*") if p.is_file()]  # snapshots dropped
    for stem in ("ep01", "ep02"):
        video = out / f"{stem}.en-US.tiktok.mp4"
        data = probe(video)
        v = streams(data, "video")[0]
        assert (v["width"], v["height"]) == (1080, 1920)
        assert abs(float(data["format"]["duration"]) - short_episode.duration_ms / 1000) < 0.1
        assert data["format"]["tags"]["comment"] == DEFAULT_LABEL
        assert verify_manifest(out / f"{stem}.en-US.tiktok.manifest.json", checksums=True) == []
    # The corrupt file: one failure record with a one-line reason; the ignored names: nothing at all.
    assert sorted(p.name for p in (out / "failed").iterdir()) == ["corrupt.mp4.txt"]
    reason = (out / "failed" / "corrupt.mp4.txt").read_text().splitlines()
    assert len(reason) == 1 and "corrupt.mp4" in reason[0] and "not a readable media file" in reason[0]
    # The job store: one job per file x market, each completed once, ep02 only ever seen whole.
    with JobStore(out / STORE_NAME) as store:
        jobs = {(job.name, job.locale): job for job in store.jobs()}
        assert set(jobs) == {("ep01.mp4", "en-US"), ("ep02.mp4", "en-US"), ("corrupt.mp4", "en-US")}
        assert jobs[("ep02.mp4", "en-US")].digest == sha(short_episode.video)
        assert [jobs[k].state for k in sorted(jobs)] == ["failed", "done", "done"]
        for key in (("ep01.mp4", "en-US"), ("ep02.mp4", "en-US")):
            events = [event for _, event, _ in store.events(jobs[key].id)]
            assert events.count("done") == 1, events
        assert "recovered" in [event for _, event, _ in store.events(jobs[("ep01.mp4", "en-US")].id)]
    # Inputs: byte-identical, untouched, nothing added to the watch folder.
    assert {p.name: sha(p) for p in inbox.iterdir()} == inputs
    assert {p.name: p.stat().st_mtime_ns for p in inbox.iterdir()} == mtimes
    assert inputs["ep02.mp4"] == inputs["ep01.mp4"] == sha(short_episode.video)

    # SIGTERM mid-job stops cleanly: the job goes back to the queue, no partial output stays.
    shutil.copy(short_episode.video, inbox / "ep03.mp4")
    warm_work.seed(work, "ep03")
    log = open(tmp_path / "watch3.log", "w")
    watcher = subprocess.Popen(_watch_argv(inbox, out, work), stdout=log, stderr=subprocess.STDOUT, env=ENV)
    try:
        deadline = time.monotonic() + 300
        while not any(p.name.startswith(".ep03.") and ".part" in p.name for p in out.glob(".*")):
            assert watcher.poll() is None and time.monotonic() < deadline, (tmp_path / "watch3.log").read_text()
            time.sleep(0.1)
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=60) == 0, (tmp_path / "watch3.log").read_text()
    finally:
        if watcher.poll() is None:
            watcher.kill()
        log.close()
    text = (tmp_path / "watch3.log").read_text()
    assert "stopped" in text
    assert not [p for p in out.rglob("*") if ".part" in p.name and ".localize-work" not in str(p)]
    assert not (out / "ep03.en-US.tiktok.mp4").exists()
    with JobStore(out / STORE_NAME) as store:
        ep03 = [job for job in store.jobs("ep03.mp4")]
        assert [(job.state, job.attempts) for job in ep03] == [("pending", 0)]
        assert [event for _, event, _ in store.events(ep03[0].id)][-1] == "released"
