"""The ``ray`` executor: episode analyses and market renders as Ray tasks across a cluster.

Per episode, one task ``analyse:<stem>`` runs the analysis graph into the episode's work dir;
per episode x market, one task ``render:<stem>:<locale>`` takes the analysis task's result as
its argument (so Ray starts it only after the analysis), loads the analysis artifacts from the
same work dir (cache hits: nothing is recomputed) and runs the market graph. ``ray list tasks``
and the dashboard show the names. The work dir and the outputs must be on a path every node
sees (``--work-dir`` and ``--out`` on a shared mount); a render that finds it had to redo part
of the analysis says so (``details["analysis_rerun"]``, printed as a warning), which is the sign
of a work dir that is not shared.

- Each task declares ``num_cpus`` and ``memory``; Ray places it on a node with room.
- Worker processes are reused from task to task and keep their models
  (:func:`localize.models.keep_loaded`): a model loads once per worker process, never per task.
  ``details["model_loads"]`` counts the loads each process has made so far.
- Outputs are staged as in a local run (:func:`localize.fsutil.staged_outputs`): a task killed
  with its worker leaves only a hidden staging folder, which is removed once every task of the
  run has ended, and never half a delivery. A task whose worker or node died is retried
  (``max_retries``); a task that fails on its own (a bad input, a bug) is reported, not retried.
- The series' shared files (the voice cast, the translation memory) are locked while they are
  read and rewritten, so episodes rendered at once do not lose each other's updates.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localize.delivery.executors import (EXECUTORS, RAY_ADDRESS_ENV, EpisodeWork, Executor, OnOutcome, Outcome,
                                         failure, log_outcome, worker_label)
from localize.errors import LocalizeError, ToolError, UsageError

if TYPE_CHECKING:
    from localize.pipeline import PipelineOptions

GIB = 1024 ** 3
# Peak resident memory measured on the short sample episode (bench/scale.py): analysis holds
# Whisper, DeepFilterNet, PP-OCR and Resemblyzer; a render Kokoro, Resemblyzer and an x264 encode.
ANALYSIS_MEMORY = int(2.5 * GIB)
RENDER_MEMORY = int(2 * GIB)

# Loaders whose lru_cache counts how often this process loaded the model (module, function).
MODEL_LOADERS = (("whisper", "localize.stages.transcribe", "_whisper"),
                 ("pp-ocr", "localize.stages.hardsubs.detect", "ocr_engine"),
                 ("resemblyzer", "localize.stages.diarize", "voice_encoder"),
                 ("gemma", "localize.stages.translate.gemma", "_load"),
                 ("kokoro", "localize.stages.synthesize.kokoro", "_session"))


def import_ray():
    """The ``ray`` module, or a one-line :class:`UsageError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError("the ray executor needs Ray, which is not installed: "
                         "pip install 'localize[ray]' (ray[default]==2.60.0)") from None
    return ray


def model_loads() -> dict[str, int]:
    """How many times this process has loaded each model so far (only modules already imported)."""
    loads = {}
    for name, module, function in MODEL_LOADERS:
        loader = getattr(sys.modules.get(module), function, None)
        if loader is not None and hasattr(loader, "cache_info"):
            loads[name] = loader.cache_info().misses
    return loads


def _node_id() -> str:
    try:
        import ray

        return ray.get_runtime_context().get_node_id()[:12]
    except Exception:  # noqa: BLE001 - only a label
        return ""


def worker_mode() -> None:
    """How a worker process that runs task after task, episodes of a series at once, behaves.

    Models stay loaded between tasks; the series cast is saved as soon as an episode is cast
    (under the file's lock), not after its market is delivered: a save that late would write back
    a cast read before other episodes added their characters, and drop them.
    """
    from localize.models import keep_loaded
    from localize.stages.cast import save_when_cast

    keep_loaded()
    save_when_cast()


def analyse_task(episode: str, out_dir: str, options: PipelineOptions, digest: str) -> Outcome:
    """Ray task body: the analysis graph of ``episode`` into its work dir; the stage records come back."""
    from localize.pipeline import analyse, work_dir_for

    worker_mode()
    started = time.perf_counter()
    path = Path(episode)
    work = None
    try:
        work = work_dir_for(path, digest, Path(out_dir), options)
        analyse(path, options, work, digest)
    except BaseException as exc:  # noqa: BLE001 - reported to the driver; a dying worker never gets here
        if work is not None:
            work.discard_if_unused()  # a run that failed before its first artifact leaves no work folder
        return failure(path, None, exc, started, node=_node_id())
    return Outcome(episode=path, locale=None, status="done", seconds=round(time.perf_counter() - started, 2),
                   worker=worker_label(),
                   details={"node": _node_id(), "model_loads": model_loads(),
                            "records": [dataclasses.asdict(r) for r in work.records]})


def render_task(episode: str, locale: str, out_dir: str, options: PipelineOptions, digest: str,
                analysed: Outcome) -> Outcome:
    """Ray task body: one market of ``episode`` from its analysis (cache hits in the shared work dir)."""
    from localize.locales import get_locale
    from localize.pipeline import analyse, render_market, work_dir_for
    from localize.workdir import StageRecord

    worker_mode()
    started = time.perf_counter()
    path = Path(episode)
    if analysed.status != "done":
        return Outcome(episode=path, locale=locale, status="failed", error=f"analysis failed: {analysed.error}",
                       error_kind=analysed.error_kind, worker=worker_label(), details={"node": _node_id()})
    try:
        work = work_dir_for(path, digest, Path(out_dir), options)
        analysis = analyse(path, options, work, digest)
        rerun = [r.stage for r in work.records if not r.cached]
        # The report lists the analysis as it really ran (in the analyse task), not this reload.
        work.records = [StageRecord(**record) for record in analysed.details["records"]]
        report = render_market(path, analysis, get_locale(locale), Path(out_dir), options, work)
    except BaseException as exc:  # noqa: BLE001 - reported to the driver; a dying worker never gets here
        return failure(path, locale, exc, started, node=_node_id())
    return Outcome(episode=path, locale=locale, status="done", seconds=round(time.perf_counter() - started, 2),
                   report=report, worker=worker_label(),
                   details={"node": _node_id(), "model_loads": model_loads(), "analysis_rerun": rerun})


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """Analyses and renders as Ray tasks (see the module docstring).

    ``address``: the cluster (``host:port``; default ``$RAY_ADDRESS``, else a Ray instance started
    here with ``num_cpus`` CPUs). ``cpus``: CPUs each task declares; ``max_retries``: attempts
    after a worker or node dies.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, cpus: float = 1,
                 analysis_memory: int = ANALYSIS_MEMORY, render_memory: int = RENDER_MEMORY, max_retries: int = 3,
                 log: Callable[[str], None] | None = None, **_ignored: Any) -> None:
        self.ray = import_ray()
        self.address = address or os.environ.get(RAY_ADDRESS_ENV) or None
        self.num_cpus = num_cpus
        self.cpus = cpus
        self.memory = {"analyse": analysis_memory, "render": render_memory}
        self.max_retries = max_retries
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._started_here = False
        self._remotes: dict[str, Any] = {}

    def connect(self) -> None:
        """Join the cluster at ``address`` (or start a Ray instance in this process)."""
        ray = self.ray
        if ray.is_initialized():
            return
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=True)
            else:
                # "local": a new instance even where an earlier cluster left its address behind.
                ray.init(address="local", num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=True)
                self._started_here = True
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a new local instance"
            raise ToolError(f"cannot start Ray on {where}: {' '.join(str(exc).split())[:300]}") from None

    def close(self) -> None:
        if self._started_here and self.ray.is_initialized():
            self.ray.shutdown()
            self._started_here = False

    def _submit(self, function, kind: str, name: str, *args: Any):
        """Submit one named task declaring its CPUs and memory; a worker's death retries it."""
        remote = self._remotes.get(kind)
        if remote is None:
            remote = self._remotes[kind] = self.ray.remote(function)
        return remote.options(name=name, num_cpus=self.cpus, memory=self.memory[kind],
                              max_retries=self.max_retries, retry_exceptions=False).remote(*args)

    def run(self, work: Sequence[EpisodeWork], out_dir: Path, options: PipelineOptions,
            on_outcome: OnOutcome) -> None:
        from localize.fsutil import file_digest
        from localize.locales import get_locale
        from localize.pipeline import check_options, ensure_writable
        from localize.stages.ingest import check_readable

        ray = self.ray
        check_options(options)  # a bad option fails here, in one line, before any task starts
        out_dir = Path(out_dir).absolute()
        out_dir.mkdir(parents=True, exist_ok=True)
        ensure_writable(out_dir)
        options = options.absolute()  # a worker's current folder is not the caller's
        self.connect()
        pending: dict[Any, tuple[Path, str | None]] = {}
        # One market once, however often it was asked for (two renders of it would race for its files).
        work = [EpisodeWork(item.episode, tuple(dict.fromkeys(get_locale(t).tag for t in item.locales)))
                for item in work]
        total = sum(1 + len(item.locales) for item in work)
        finished = 0
        for item in work:
            episode = Path(item.episode).absolute()
            started = time.perf_counter()
            try:
                check_readable(episode)
                digest = file_digest(episode)
            except (LocalizeError, OSError) as exc:
                finished += 1 + len(item.locales)
                on_outcome(failure(episode, None, exc if isinstance(exc, LocalizeError) else
                                   LocalizeError(f"{episode}: {exc}"), started))
                continue
            analysed = self._submit(analyse_task, "analyse", f"analyse:{episode.stem}",
                                    str(episode), str(out_dir), options, digest)
            pending[analysed] = (episode, None)
            for tag in item.locales:
                ref = self._submit(render_task, "render", f"render:{episode.stem}:{tag}",
                                   str(episode), tag, str(out_dir), options, digest, analysed)
                pending[ref] = (episode, tag)
        labels = [f"{episode.stem}.{tag}" for episode, tag in pending.values() if tag]
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                episode, tag = pending.pop(ready[0])
                outcome = self._outcome(ready[0], episode, tag)
                finished += 1
                log_outcome(outcome, finished, total, self.log)
                rerun = outcome.details.get("analysis_rerun")
                if rerun:
                    self.log(f"localize: warning: {outcome.task} re-ran {', '.join(rerun)}: is the work dir "
                             f"on a path every node sees?")
                on_outcome(outcome)
        except BaseException:
            for ref in pending:  # an interrupted driver takes its tasks down with it
                ray.cancel(ref, force=True)
            raise
        finally:
            if not pending:
                remove_staging_leftovers(out_dir, labels, self.log)

    def _outcome(self, ref, episode: Path, tag: str | None) -> Outcome:
        """The task's own outcome, or a failure when Ray gave up on it (its retries all died)."""
        ray = self.ray
        started = time.perf_counter()
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as exc:
            text = " ".join(str(exc).split())[:300]
            return failure(episode, tag, LocalizeError(f"the Ray task was lost: {type(exc).__name__}: {text}"),
                           started)


def remove_staging_leftovers(out_dir: Path, labels: Sequence[str], log: Callable[[str], None]) -> int:
    """Remove the staging folders that killed attempts left for ``labels`` (call once all their tasks ended)."""
    from localize.fsutil import sweep_stale_staging

    removed = 0
    for label in sorted(set(labels)):
        removed += len(sweep_stale_staging(out_dir, label, min_age=0))
    if removed:
        log(f"localize: removed {removed} staging folder(s) left by killed task attempts")
    return removed
