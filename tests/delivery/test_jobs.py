"""The SQLite job store: exactly-once claims, crash recovery by owner process, content-keyed jobs."""

from __future__ import annotations

import subprocess
import sys
import threading

from localize.delivery.jobs import JobStore, owner_alive, owner_token


def test_jobs_are_keyed_by_name_content_market_and_profile(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert len(store.add("ep1.mp4", "aaa", ["en-US", "es-MX"], "tiktok")) == 2
        assert store.add("ep1.mp4", "aaa", ["en-US", "es-MX"], "tiktok") == []  # seen again: nothing new
        assert len(store.add("ep1.mp4", "bbb", ["en-US"], "tiktok")) == 1  # changed content: a new job
        assert len(store.add("ep1.mp4", "aaa", ["en-US"], "hls")) == 1  # another profile: another delivery
        assert store.counts() == {"pending": 4}


def test_claims_are_exclusive_across_connections(tmp_path):
    path = tmp_path / "jobs.sqlite"
    with JobStore(path) as store:
        store.add("ep.mp4", "d", [f"m{i}" for i in range(40)], "p")
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        with JobStore(path) as mine:
            while (job := mine.claim(f"host:{n}:1")) is not None:
                with lock:
                    claimed.append(job.id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == list(range(1, 41))  # each job once, none lost


def test_running_jobs_of_a_dead_process_are_recovered(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live_token = owner_token()
    dead_token = owner_token(dead.pid).rsplit(":", 1)[0] + ":12345"
    assert owner_alive(live_token) and not owner_alive(dead_token)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        store.add("a.mp4", "d1", ["en-US", "es-MX"], "p")
        first = store.claim(dead_token)
        second = store.claim(live_token)
        recovered = store.recover()
        assert [job.id for job in recovered] == [first.id]
        assert store.get(first.id).state == "pending" and store.get(first.id).attempts == 0
        assert store.get(second.id).state == "running"  # a live owner keeps its job
        # A settled job can only be settled by its owner while it is running.
        assert not store.finish(first)
        again = store.claim(live_token)
        assert again.id == first.id and store.finish(again)
        events = [event for job_id, event, _ in store.events(first.id)]
        assert events == ["queued", "claimed", "recovered", "claimed", "done"]


def test_a_reused_pid_is_not_mistaken_for_the_owner():
    token = owner_token()
    host, pid, start = token.rsplit(":", 2)
    assert owner_alive(token)
    assert not owner_alive(f"{host}:{pid}:{int(start) + 1}")  # same pid, another process start


def test_retry_backoff_release_and_file_level_failure(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as store:
        store.add("bad.mp4", "d", ["en-US", "es-MX", "pt-BR"], "p")
        job = store.claim("h:1:1", now=0)
        assert store.retry(job, "ffmpeg crashed", delay=100)
        assert store.claim("h:1:1", now=50) is not None  # another market is due
        assert store.next_due() is not None
        job = store.get(job.id)
        assert job.state == "pending" and job.attempts == 1 and job.error == "ffmpeg crashed"
        other = store.get(2)
        assert store.release(other) and store.get(2).attempts == 0 and store.get(2).state == "pending"
        running = store.claim("h:1:1")
        assert store.fail(running, "corrupt")
        store.fail_pending("bad.mp4", "d", "corrupt")
        assert store.counts() == {"failed": 3}
        assert store.open_jobs("bad.mp4", "d") == 0


def test_file_digests_are_remembered_by_size_and_mtime(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as store:
        store.remember_file("a.mp4", 10, 111, "digest-a")
        assert store.known_digest("a.mp4", 10, 111) == "digest-a"
        assert store.known_digest("a.mp4", 11, 111) is None
        store.remember_file("a.mp4", 11, 112, "digest-b")
        assert store.known_digest("a.mp4", 11, 112) == "digest-b"
