"""Where the pipeline's work runs: in this process (``local``) or on a Ray cluster (``ray``).

An executor takes episodes, each with the markets to render, and reports one :class:`Outcome` per
piece of work as it finishes. Series batches (:mod:`.batch`), a single episode with several
markets (``localize EP --to A --to B``), the watch folder and the jobs API all go through one.
Executors are named in :data:`EXECUTORS`; ``--executor``, the ``executor`` setting or
``$RAY_ADDRESS`` choose one (:func:`localize.delivery.choose.make_executor`).

The ``ray`` executor (:mod:`.ray_executor`) runs one task per episode analysis
(``analyse:<stem>``) and one per episode x market render (``render:<stem>:<locale>``), the
render depending on its analysis. Tasks share nothing but the file system: the work dirs and
the outputs must sit on a path every node sees.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localize.errors import LocalizeError
from localize.registry import Registry

if TYPE_CHECKING:
    from localize.pipeline import PipelineOptions

RAY_ADDRESS_ENV = "RAY_ADDRESS"


@dataclass(frozen=True)
class EpisodeWork:
    """One episode and the markets to render it into."""

    episode: Path
    locales: tuple[str, ...]


@dataclass
class Outcome:
    """How one piece of work ended.

    ``locale`` is None for an episode's analysis (``ray``) or for a whole episode that failed
    before any market (``local``). ``status`` is ``done`` or ``failed``; ``error`` the one-line
    reason and ``error_kind`` the :class:`LocalizeError` class name (``internal`` for a bug).
    ``worker`` says where it ran (``host:pid``); ``details`` holds executor-specific facts
    (the Ray node, the model loads of the worker process, stages re-run on a node).
    """

    episode: Path
    locale: str | None
    status: str
    seconds: float = 0.0
    report: Path | None = None
    error: str | None = None
    error_kind: str | None = None
    worker: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        """The task's name: ``analyse:<stem>`` or ``render:<stem>:<locale>``."""
        stem = Path(self.episode).stem
        return f"render:{stem}:{self.locale}" if self.locale else f"analyse:{stem}"


OnOutcome = Callable[[Outcome], None]
# localize_episode's signature: (episode, locales, out_dir, options) -> report paths.
EpisodeRunner = Callable[[Path, list[str], Path, "PipelineOptions"], list[Path]]


class Executor:
    """Runs episodes x markets somewhere. Subclasses register in :data:`EXECUTORS`."""

    name = "executor"

    def run(self, work: Sequence[EpisodeWork], out_dir: Path, options: PipelineOptions,
            on_outcome: OnOutcome) -> None:
        """Run every episode's analysis and markets; ``on_outcome`` is called as each piece ends.

        A failing episode is reported and the others go on; only an interrupt or a lost cluster raises.
        """
        raise NotImplementedError

    def localize(self, episode: Path, locales: list[str], out_dir: Path, options: PipelineOptions) -> list[Path]:
        """One episode into ``locales`` (as :func:`localize.pipeline.localize_episode`): the report
        paths, or the first failure raised as a :class:`LocalizeError`."""
        outcomes: list[Outcome] = []
        self.run([EpisodeWork(Path(episode), tuple(locales))], out_dir, options, outcomes.append)
        raise_first_failure(outcomes)
        by_locale = {o.locale: o.report for o in outcomes if o.locale and o.report}
        return [by_locale[tag] for tag in locales if tag in by_locale]

    def close(self) -> None:
        """Let go of what the executor holds (a cluster connection)."""


EXECUTORS: Registry[Executor] = Registry("executor")


def raise_first_failure(outcomes: Sequence[Outcome]) -> None:
    """Raise the first failed outcome's error as the :class:`LocalizeError` subclass it was."""
    import localize.errors as errors

    for outcome in outcomes:
        if outcome.status == "failed":
            kind = getattr(errors, outcome.error_kind or "", None)
            cls = kind if isinstance(kind, type) and issubclass(kind, LocalizeError) else LocalizeError
            raise cls(outcome.error or "failed")


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def failure(episode: Path, locale: str | None, exc: BaseException, started: float, **details: Any) -> Outcome:
    """The outcome of work that raised ``exc`` (a bug gets its traceback printed)."""
    if isinstance(exc, LocalizeError):
        error, kind = str(exc), type(exc).__name__
    else:
        traceback.print_exc()
        error, kind = f"internal error: {type(exc).__name__}: {exc}", "internal"
    return Outcome(episode=Path(episode), locale=locale, status="failed", seconds=round(time.perf_counter() - started, 2),
                   error=" ".join(error.split()), error_kind=kind, worker=worker_label(), details=details)


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """Everything in this process, one episode after another (analysis once, then each market)."""

    name = "local"

    def __init__(self, runner: EpisodeRunner | None = None, **_ignored: Any) -> None:
        self.runner = runner

    def run(self, work: Sequence[EpisodeWork], out_dir: Path, options: PipelineOptions,
            on_outcome: OnOutcome) -> None:
        runner = self.runner
        if runner is None:
            from localize.pipeline import localize_episode as runner
        for item in work:
            started = time.perf_counter()
            try:
                reports = runner(item.episode, list(item.locales), Path(out_dir), options)
            except LocalizeError as exc:
                on_outcome(failure(item.episode, None, exc, started))
                continue
            except Exception as exc:  # noqa: BLE001 - one broken episode must not stop the others
                on_outcome(failure(item.episode, None, exc, started))
                continue
            seconds = round(time.perf_counter() - started, 2)
            for locale, report in zip(item.locales, reports):
                on_outcome(Outcome(episode=item.episode, locale=locale, status="done", seconds=seconds,
                                   report=Path(report), worker=worker_label()))

    def localize(self, episode: Path, locales: list[str], out_dir: Path, options: PipelineOptions) -> list[Path]:
        if self.runner is not None:
            return self.runner(Path(episode), list(locales), Path(out_dir), options)
        from localize.pipeline import localize_episode

        return localize_episode(Path(episode), list(locales), Path(out_dir), options)  # its errors as they are


def log_outcome(outcome: Outcome, done: int, total: int, log: Callable[[str], None] | None = None) -> None:
    """One progress line per finished task: ``localize: [3/9] render:ep01:en-US done in 12.3 s on host:pid``."""
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    where = outcome.details.get("node") or outcome.worker
    how = f"failed ({outcome.error})" if outcome.status == "failed" else f"done in {outcome.seconds:.1f} s"
    log(f"localize: [{done}/{total}] {outcome.task} {how}" + (f" on {where}" if where else ""))
