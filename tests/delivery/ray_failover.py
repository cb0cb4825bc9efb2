"""Run a series on a real two-node Ray cluster and kill the worker node halfway (helper of test_ray_executor).

Run inside a private network and PID namespace, where loopback is the only interface and every
process dies with this one::

    unshare -n -p -f --mount-proc sh -c 'ip link set lo up && exec python ray_failover.py ARGS.json'

It starts ``ray start --head`` and a second node with ``ray start --address``, 1 CPU each, runs
``run_series`` on the ``ray`` executor, and as soon as at least ``kill_after`` renders have
finished while a render runs on the second node, sends SIGKILL to that node's every process
(the ``ray start`` process, its raylet and the worker processes under it). It writes what
happened (the killed task, task attempts from Ray's state API, the outcomes, the summary) to
the result file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

PORT = 6390
DASHBOARD_PORT = 8270


def start_node(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(["ray", "start", "--block", "--num-cpus", "1", "--node-ip-address", "127.0.0.1", *args],
                            env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)


def kill_tree(pid: int) -> list[int]:
    """SIGKILL ``pid`` and every process under it, all at once (as a dying machine would go)."""
    import psutil

    root = psutil.Process(pid)
    victims = [root, *root.children(recursive=True)]
    for proc in victims:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    return [p.pid for p in victims]


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    logs = Path(spec["logs"])
    logs.mkdir(parents=True, exist_ok=True)
    # Token auth off: the cluster lives in a private network namespace nothing else can reach, and a
    # token in ~/.ray (which any other Ray start on the machine may rewrite) would race with it.
    quiet = {"RAY_USAGE_STATS_ENABLED": "0", "LOCALIZE_PROGRESS": "0", "RAY_AUTH_MODE": "disabled"}
    env = {**os.environ, **quiet}
    os.environ.update(quiet)
    started = time.monotonic()
    head = start_node(["--head", "--port", str(PORT), "--dashboard-host", "127.0.0.1", "--dashboard-port",
                       str(DASHBOARD_PORT), "--temp-dir", spec["ray_tmp"]], logs / "head.log", env)
    import ray

    address = f"127.0.0.1:{PORT}"
    deadline = time.monotonic() + 600
    while True:
        status = subprocess.run(["ray", "status", "--address", address], capture_output=True, text=True, env=env)
        if status.returncode == 0:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"the head never answered: {status.stderr[-1500:]}")
        time.sleep(0.5)
    worker = start_node(["--address", address], logs / "worker.log", env)
    ray.init(address=address, log_to_driver=False)
    worker_node = None
    for _ in range(600):
        alive = [n for n in ray.nodes() if n["Alive"]]
        if len(alive) == 2:
            head_id = ray.get_runtime_context().get_node_id()  # the driver's node: the head
            worker_node = next(n["NodeID"] for n in alive if n["NodeID"] != head_id)
            break
        time.sleep(0.5)
    assert worker_node, "the second node never joined"
    cluster_seconds = time.monotonic() - started

    from ray.util.state import list_tasks

    from localize.delivery.batch import run_series
    from localize.delivery.ray_executor import RayExecutor
    from localize.cli import _pipeline_options
    from localize.config import load_settings

    killed: dict = {}
    errors: list[str] = []
    stop = threading.Event()
    state_api = f"http://127.0.0.1:{DASHBOARD_PORT}"  # the state API is served by the head's dashboard

    def killer() -> None:
        while not stop.is_set():
            try:
                tasks = list_tasks(address=state_api, filters=[("name", "!=", "")], limit=1000,
                                   raise_on_missing_output=False)
            except Exception as exc:  # noqa: BLE001 - the state API may lag; look again
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                time.sleep(0.5)
                continue
            renders_done = {t.name for t in tasks if t.name.startswith("render:") and t.state == "FINISHED"}
            running = [t for t in tasks if t.name.startswith("render:") and t.state == "RUNNING"
                       and t.node_id == worker_node]
            if len(renders_done) >= spec["kill_after"] and running:
                killed.update(task=running[0].name, renders_done=sorted(renders_done), at=time.monotonic() - started,
                              pids=kill_tree(worker.pid))
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()
    outcomes = []

    class Recording(RayExecutor):
        def run(self, work, out_dir, options, on_outcome):
            def record(outcome):
                outcomes.append(outcome)
                on_outcome(outcome)
            return super().run(work, out_dir, options, record)

    # The options `localize SERIES --work-dir W --glossary G` would run with (the reference run is that command).
    options = _pipeline_options(load_settings(), work_dir=Path(spec["work"]), glossary=Path(spec["glossary"]))
    lines: list[str] = []
    summary = run_series(Path(spec["series"]), spec["locales"], Path(spec["out"]), options,
                         executor=Recording(address=address, log=lines.append), log=lines.append)
    stop.set()
    watcher.join(timeout=5)
    tasks = list_tasks(address=state_api, filters=[("name", "!=", "")], limit=1000, raise_on_missing_output=False)
    attempts: dict[str, int] = {}
    for task in tasks:
        attempts[task.name] = max(attempts.get(task.name, 0), task.attempt_number + 1)
    result = {"cluster_seconds": round(cluster_seconds, 1), "seconds": round(time.monotonic() - started, 1),
              "killed": killed, "attempts": attempts, "log": lines, "state_api_errors": errors[-5:],
              "outcomes": [{**dataclasses.asdict(o), "episode": str(o.episode), "report": str(o.report)}
                           for o in outcomes],
              "summary": summary.to_json()}
    Path(spec["result"]).write_text(json.dumps(result, indent=1, default=str))
    ray.shutdown()
    head.send_signal(signal.SIGTERM)
    try:
        head.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_tree(head.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
