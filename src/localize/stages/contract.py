"""The one contract every pipeline stage follows, and the runner that caches stages by it.

A :class:`Stage` declares what it is (name, version), what artifacts it needs and the one it
gives, and which settings it reads. The :class:`Runner` forms every cache key from those
declarations alone: the keys of the needed artifacts, the declared settings' values (a file
setting by its content), the stage's version, the market for a per-market stage, and what the
stage declares it reads from outside the graph (``external``). No key is written by hand.

A stage's ``run`` sees only what it declared: ``ctx.inputs`` holds the needed artifacts and
``ctx.settings`` raises on a setting the stage did not declare, so a forgotten input fails
loudly instead of silently serving a stale artifact.

Per-line work inside a stage goes through :meth:`StageContext.unit`: each unit (a voice clip,
say) is cached on its own inputs, so a changed line redoes that line alone.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localize.fsutil import digest_of, file_digest, write_json_atomic
from localize.model import from_dict, to_dict
from localize.models import keeping_loaded, trim_heap
from localize.workdir import StageRecord, WorkDir

if TYPE_CHECKING:
    from localize.locales import Locale


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline, declared.

    ``gives`` names the artifact it makes (stored as ``<name>[.<locale>].json`` in the work
    dir); ``needs`` the artifacts it reads; ``settings`` the option names it reads (dotted
    for nested options). ``output`` is the artifact's dataclass (``None``: plain JSON data).
    ``files`` lists the files an artifact's data refers to (relative to the work dir or
    absolute): a missing one makes the stage run again. ``external`` returns what the stage
    reads from outside the graph (a user-edited cast file, market rule files); it is part of
    the key. ``release`` frees the stage's models once it has run. With ``keyed_by_output``
    the artifact's key, which later stages' keys are made from, is the digest of its data: a
    stage that runs again (its outside input was rewritten) but gives the same result leaves its
    dependents cached. Only for artifacts whose data says everything they mean (no files).
    """

    name: str
    version: str
    gives: str
    run: Callable[[StageContext], Any]
    needs: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    output: type | None = None
    per_market: bool = False
    files: Callable[[Any], Iterable[str | Path]] | None = None
    external: Callable[[StageContext], Any] | None = None
    release: Callable[[], None] | None = None
    keyed_by_output: bool = False
    summary: str = ""

    def record_name(self, locale: Locale | None) -> str:
        """The stage's name in reports and its artifact's file name: ``translate.en-US`` per market."""
        return f"{self.name}.{locale.tag}" if self.per_market and locale is not None else self.name


class UndeclaredSetting(AttributeError):
    """A stage read a setting it did not declare (a programming error, caught by tests)."""


class SettingsView:
    """The pipeline options as one stage may see them: only its declared settings."""

    def __init__(self, options: Any, stage: Stage) -> None:
        self._options = options
        self._stage = stage

    def __getattr__(self, name: str) -> Any:
        declared = self._stage.settings
        if name not in declared and not any(s.startswith(name + ".") for s in declared):
            raise UndeclaredSetting(f"stage {self._stage.name!r} reads setting {name!r} without declaring it")
        return getattr(self._options, name)


def setting_value(options: Any, dotted: str) -> Any:
    """``options.a.b`` for ``"a.b"``."""
    value = options
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def fingerprint(value: Any) -> Any:
    """What a setting's value contributes to a key: a file by its content, a folder by its listing,
    an object with ``cache_key()`` by that, anything else as it is."""
    if isinstance(value, Path):
        if value.is_file():
            return ["file", file_digest(value)]
        if value.is_dir():
            return ["dir", str(value), sorted((str(p.relative_to(value)), p.stat().st_size, p.stat().st_mtime_ns)
                                              for p in value.rglob("*") if p.is_file())]
        return ["missing", str(value)]
    if hasattr(value, "cache_key") and callable(value.cache_key):
        return value.cache_key()
    if isinstance(value, (list, tuple)):
        return [fingerprint(v) for v in value]
    return value


@dataclass
class UnitStats:
    """How many per-line units a stage made and how many it took from the cache."""

    made: int = 0
    cached: int = 0


@dataclass
class StageContext:
    """What a running stage may use: its declared inputs and settings, the market, the work dir."""

    stage: Stage
    work: WorkDir
    inputs: Mapping[str, Any]
    settings: SettingsView
    locale: Locale | None
    episode: Path
    runtime: Mapping[str, Any] = field(default_factory=dict)
    units: UnitStats = field(default_factory=UnitStats)

    def unit(self, kind: str, inputs: Any, make: Callable[[str], Any],
             files: Callable[[Any], Iterable[str]] = lambda data: ()) -> tuple[Any, str]:
        """A piece of per-line work cached on its own ``inputs`` (plus the stage's version).

        Returns ``(data, key)``. ``make(key)`` runs only when no unit of this kind was made from
        the same inputs, or one of the files its data names (relative to the work dir) is gone.
        """
        key = digest_of(self.stage.name, self.stage.version, kind, inputs)
        path = self.work.path(f"units/{kind}/{key[:2]}/{key}.json")
        data = self.work.load_file(path, key)
        if data is not None and all(self.work.path(name).exists() for name in files(data)):
            self.units.cached += 1
            return data, key
        data = make(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"unit": kind, "key": key, "data": data})
        self.units.made += 1
        return data, key


def encode(stage: Stage, value: Any) -> Any:
    """An artifact as JSON data."""
    if stage.output is None:
        return value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return to_dict(value)


def decode(stage: Stage, data: Any) -> Any:
    """An artifact back from its JSON data."""
    if stage.output is None:
        return data
    if hasattr(stage.output, "from_dict"):
        return stage.output.from_dict(data)
    return from_dict(stage.output, data)


@dataclass(frozen=True)
class Graph:
    """Stages in the order they run; each stage's needs are given by earlier stages or the runner."""

    name: str
    stages: tuple[Stage, ...]
    given: tuple[str, ...] = ()  # artifacts that come from outside the graph (the source, the analysis)

    def __post_init__(self) -> None:
        known = set(self.given)
        for stage in self.stages:
            missing = [need for need in stage.needs if need not in known]
            if missing:
                raise ValueError(f"graph {self.name}: stage {stage.name!r} needs {missing}, which nothing before it gives")
            if stage.gives in known:
                raise ValueError(f"graph {self.name}: artifact {stage.gives!r} is given twice")
            known.add(stage.gives)

    def dependents(self, artifact: str) -> set[str]:
        """The stages that need ``artifact``, directly or through another stage."""
        reached, names = {artifact}, set()
        for stage in self.stages:
            if reached.intersection(stage.needs):
                reached.add(stage.gives)
                names.add(stage.name)
        return names


def process_cpu_seconds() -> float:
    """CPU time of this process and of the child processes it has waited for (ffmpeg), user + system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def default_workers() -> int:
    """How many stages run at once: ``LOCALIZE_WORKERS``, else 2 (one per core on a 2-core laptop;
    the stages' own thread pools fill what is left)."""
    try:
        return max(1, int(os.environ.get("LOCALIZE_WORKERS", "2")))
    except ValueError:
        return 2


@dataclass
class _Background:
    """A stage left running when its graph's :meth:`Runner.run` returned, and the runner it writes into."""

    owner: Runner
    done: threading.Event
    error: BaseException | None = None


class Runner:
    """Runs graphs over one episode's work dir, keyed by the stages' declarations.

    ``artifacts`` and ``keys`` hold every artifact made or loaded so far (the analysis stays
    while each market's graph runs). ``on_stage(name, None)`` is told when a stage starts and
    ``on_stage(name, record)`` when it ends (from the stage's thread when stages run at once).
    """

    def __init__(self, work: WorkDir, options: Any, episode: Path,
                 on_stage: Callable[[str, StageRecord | None], None] | None = None,
                 workers: int | None = None) -> None:
        self.work = work
        self.workers = default_workers() if workers is None else workers
        self.started = time.perf_counter()
        # Shared with the runners made by for_options: one episode runs at most `workers` stages at
        # once, and a stage left running in the background is found from any of them.
        self._slots = threading.Semaphore(max(1, self.workers))
        self._background: dict[str, _Background] = {}
        self.options = options
        self.episode = Path(episode)
        self.on_stage = on_stage
        self.artifacts: dict[str, Any] = {}
        self.keys: dict[str, str] = {}

    def for_options(self, options: Any) -> Runner:
        """A runner with the same artifacts so far, under other options (a market's profile changes the mix)."""
        runner = Runner(self.work, options, self.episode, self.on_stage, self.workers)
        runner.started, runner._slots, runner._background = self.started, self._slots, self._background
        runner.artifacts, runner.keys = dict(self.artifacts), dict(self.keys)
        return runner

    def artifact(self, name: str) -> Any:
        """The artifact ``name``, waiting for it when its stage still runs in the background."""
        if name not in self.artifacts and name in self._background:
            pending = self._background[name]
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            self.artifacts[name], self.keys[name] = pending.owner.artifacts[name], pending.owner.keys[name]
        return self.artifacts[name]

    def give(self, name: str, value: Any, key: str) -> None:
        """Provide an artifact from outside the graphs (the source file, by its digest)."""
        self.artifacts[name] = value
        self.keys[name] = key

    def key_of(self, stage: Stage, ctx: StageContext) -> str:
        """The cache key of ``stage``: formed from its declarations only."""
        parts = {
            "version": stage.version,
            "needs": {need: self.keys[need] for need in stage.needs},
            "settings": {name: fingerprint(setting_value(self.options, name)) for name in stage.settings},
            "market": ctx.locale.tag if stage.per_market and ctx.locale is not None else None,
            "external": stage.external(ctx) if stage.external else None,
        }
        return digest_of(stage.name, parts)

    def run(self, graph: Graph, *, locale: Locale | None = None, runtime: Mapping[str, Any] | None = None,
            after: Mapping[str, Callable[[Any], None]] | None = None,
            background: Iterable[str] = ()) -> dict[str, Any]:
        """Run ``graph`` (stale stages compute, the rest load); returns every artifact by name.

        Each stage starts as soon as its needs are ready, up to ``workers`` stages at once (the
        picture's stages beside the sound's). ``after[stage name]`` is called with that stage's
        artifact as soon as it is ready (to start work that overlaps later stages); it must not
        wait for other stages. ``runtime`` holds objects a stage uses but that do not change its
        result (staged output paths, a background encode). The stages giving the artifacts named
        in ``background`` may still be running when this returns: :meth:`artifact` (and any later
        stage that needs them) waits for them. A failing stage stops the stages not yet started;
        the others finish before the error is raised, so nothing writes into the work dir after
        ``run`` ends (but the background stages).
        """
        later = set(background)
        if self.workers <= 1:
            for stage in graph.stages:
                self._finish(stage, *self._run_stage(stage, locale, runtime), after)
            return self.artifacts
        done = {stage.gives: threading.Event() for stage in graph.stages}
        failures: list[BaseException] = []
        for name in later:
            self._background[name] = _Background(owner=self, done=done[name])

        def work(stage: Stage) -> None:
            try:
                for need in stage.needs:
                    if need in done:
                        done[need].wait()
                    else:
                        self.artifact(need)  # a stage of an earlier graph still running (not holding a slot)
                if failures:
                    return  # an earlier stage failed (a need of this one among them, perhaps): this one does not start
                with self._slots:
                    if failures:
                        return
                    value, key = self._run_stage(stage, locale, runtime)
                self._finish(stage, value, key, after)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
                failures.append(exc)
                if stage.gives in later:
                    self._background[stage.gives].error = exc
            finally:
                done[stage.gives].set()

        threads = [(stage, threading.Thread(target=work, args=(stage,), name=f"stage-{stage.name}", daemon=True))
                   for stage in graph.stages]
        for _stage, thread in threads:
            thread.start()
        for stage, thread in threads:  # an interrupt (Ctrl-C) lands here; the daemon threads end with the process
            while stage.gives not in later and thread.is_alive():
                thread.join(0.2)
        if failures:
            raise failures[0]
        return self.artifacts

    def _finish(self, stage: Stage, value: Any, key: str, after: Mapping[str, Callable[[Any], None]] | None) -> None:
        self.artifacts[stage.gives], self.keys[stage.gives] = value, key
        if after and stage.name in after:
            after[stage.name](value)

    def _run_stage(self, stage: Stage, locale: Locale | None,
                   runtime: Mapping[str, Any] | None) -> tuple[Any, str]:
        """Load ``stage``'s artifact when its key matches, else run it; returns (artifact, its key for dependents)."""
        ctx = StageContext(stage=stage, work=self.work, inputs={n: self.artifact(n) for n in stage.needs},
                           settings=SettingsView(self.options, stage), locale=locale, episode=self.episode,
                           runtime=runtime or {})
        name = stage.record_name(locale)
        if self.on_stage is not None:
            self.on_stage(name, None)
        started, cpu_started = time.perf_counter(), process_cpu_seconds()
        key = self.key_of(stage, ctx)
        data = self.work.load(name, key)
        cached = data is not None and self._files_present(stage, data)
        if cached:
            value = decode(stage, data)
        else:
            try:
                value = stage.run(ctx)
            finally:
                if stage.release is not None and not keeping_loaded():
                    stage.release()
                    trim_heap()
            data = encode(stage, value)
            self.work.save(name, key, data)
            value = decode(stage, data)  # what later stages get is what a cached run gives them
        record = StageRecord(name, round(time.perf_counter() - started, 3), cached, key,
                             units_made=ctx.units.made, units_cached=ctx.units.cached,
                             cpu_seconds=round(process_cpu_seconds() - cpu_started, 3),
                             started_at=round(started - self.started, 3))
        self.work.records.append(record)
        if self.on_stage is not None:
            self.on_stage(name, record)
        return value, digest_of(stage.gives, data) if stage.keyed_by_output else key

    def rekey(self, stage: Stage, *, locale: Locale | None = None, runtime: Mapping[str, Any] | None = None) -> None:
        """Store ``stage``'s current artifact again under the key its outside input gives now.

        For a stage whose own result was written to that outside input after it ran (the cast stage's
        casting, saved to the cast file once the market is delivered): the artifact matches the file
        it wrote, so the next run finds it instead of casting again.
        """
        ctx = StageContext(stage=stage, work=self.work, inputs={n: self.artifacts[n] for n in stage.needs},
                           settings=SettingsView(self.options, stage), locale=locale, episode=self.episode,
                           runtime=runtime or {})
        self.work.save(stage.record_name(locale), self.key_of(stage, ctx), encode(stage, self.artifacts[stage.gives]))

    def _files_present(self, stage: Stage, data: Any) -> bool:
        if stage.files is None:
            return True
        return all((Path(name) if Path(name).is_absolute() else self.work.path(str(name))).exists()
                   for name in stage.files(data))


def describe(graphs: Iterable[Graph]) -> list[dict]:
    """Each stage of ``graphs``: what it needs, gives and reads, for ``localize graph``."""
    rows = []
    for graph in graphs:
        for stage in graph.stages:
            rows.append({"graph": graph.name, "stage": stage.name, "version": stage.version,
                         "needs": list(stage.needs), "gives": stage.gives, "settings": list(stage.settings),
                         "external": stage.external is not None, "per_market": stage.per_market,
                         "summary": stage.summary})
    return rows

