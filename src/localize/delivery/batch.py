"""Series batches: ``localize SERIES_DIR --to ...`` localizes every episode of a folder.

Episodes run in natural order (ep2 before ep10) with the series' glossary
(``glossaries/<series>.yaml`` if there is one and no ``--glossary`` was given). A batch can be
stopped at any point and started again: an episode whose outputs for a market are complete
(its report and every delivered file are there, made from the same source content) is skipped,
and the per-episode work directory makes any finished stage of an interrupted episode free.
A JSON summary (``OUT/<series>.batch.json``) is rewritten atomically after every episode.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localize.errors import InputError, UsageError
from localize.fsutil import file_digest, write_json_atomic

if TYPE_CHECKING:
    from localize.delivery.executors import Executor
    from localize.locales import Locale
    from localize.pipeline import PipelineOptions
    from localize.stages.export.profiles import ExportProfile

EPISODE_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".ts", ".mts", ".flv")
# Names that browsers, copy tools and editors give files still being written or locked.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".opdownload", ".swp", ".!qb")
PARTIAL_PREFIXES = (".", "~$", "~")


def is_partial_name(name: str) -> bool:
    """True for names of files that are hidden, temporary or still downloading."""
    lower = name.lower()
    return lower.startswith(PARTIAL_PREFIXES) or lower.endswith(PARTIAL_SUFFIXES) or ".part." in lower


def is_episode_name(name: str) -> bool:
    """A finished video file's name (not a partial/temporary one)."""
    return not is_partial_name(name) and Path(name).suffix.lower() in EPISODE_SUFFIXES


def natural_key(name: str) -> tuple:
    """Sort key treating digit runs as numbers: ep2 < ep10, 第9集 < 第10集."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                 for part in re.split(r"(\d+)", name) if part)


def find_episodes(series_dir: Path) -> list[Path]:
    """The episode files directly inside ``series_dir``, in natural order."""
    series_dir = Path(series_dir)
    if not series_dir.is_dir():
        raise InputError(f"{series_dir}: not a folder")
    return sorted((p for p in series_dir.iterdir() if p.is_file() and is_episode_name(p.name)),
                  key=lambda p: natural_key(p.name))


def find_glossary(series_dir: Path, search: list[Path] | None = None) -> Path | None:
    """``glossaries/<series>.yaml`` from the current folder, beside the series folder or inside it."""
    series_dir = Path(series_dir).resolve()
    roots = search if search is not None else [Path.cwd(), series_dir.parent, series_dir]
    for root in roots:
        for suffix in (".yaml", ".yml"):
            candidate = Path(root) / "glossaries" / f"{series_dir.name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def market_outputs(episode: Path, locale: Locale, out_dir: Path, profile: ExportProfile | None) -> dict[str, Path]:
    """Where one market's outputs of ``episode`` go (the pipeline's own naming)."""
    if profile is None:
        from localize.pipeline import output_paths

        return output_paths(Path(out_dir), Path(episode).stem, locale)
    return profile.output_paths(Path(out_dir), Path(episode), locale)


def market_complete(episode: Path, locale: Locale, out_dir: Path, profile: ExportProfile | None,
                    digest: str) -> bool:
    """True when this market's outputs are all there and were made from this content of ``episode``."""
    outputs = market_outputs(episode, locale, out_dir, profile)
    try:
        report = json.loads(outputs["report"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if (report.get("source") or {}).get("sha256") != digest or report.get("locale") != locale.tag:
        return False
    files = [outputs["video"], outputs["srt"]] if profile is None else profile.delivered(outputs, locale)
    if not all(Path(f).is_file() for f in files):
        return False
    if profile is not None and profile.manifest:
        from localize.stages.export.manifest import load_manifest, verify_manifest

        try:
            if load_manifest(outputs["manifest"]).get("profile") != profile.name:
                return False
        except (OSError, ValueError):
            return False
        return not verify_manifest(outputs["manifest"])
    return True


@dataclass
class EpisodeResult:
    """How one episode went: done, skipped (already complete) or failed, per market."""

    episode: str
    path: str
    status: str
    seconds: float = 0.0
    markets: dict[str, str] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class BatchSummary:
    """The whole batch; written as JSON after every episode."""

    series: str
    series_dir: str
    out_dir: str
    locales: list[str]
    profile: str
    glossary: str | None
    started: str
    finished: str | None = None
    seconds: float = 0.0
    interrupted: bool = False
    episodes: list[EpisodeResult] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"done": 0, "skipped": 0, "failed": 0}
        for result in self.episodes:
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "counts": self.counts}


def summary_path(out_dir: Path, series_dir: Path) -> Path:
    from localize.stages.export.profiles import safe_component

    return Path(out_dir) / f"{safe_component(Path(series_dir).resolve().name)}.batch.json"


Runner = Callable[[Path, list[str], Path, "PipelineOptions"], list[Path]]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def run_series(series_dir: Path, locales: list[str], out_dir: Path, options: PipelineOptions, *,
               runner: Runner | None = None, executor: Executor | None = None,
               log: Callable[[str], None] | None = None) -> BatchSummary:
    """Localize every episode of ``series_dir`` into ``locales``; returns (and writes) the summary.

    One episode's failure is recorded and the batch goes on. The work runs on ``executor``
    (default: :class:`~localize.delivery.executors.LocalExecutor` over ``runner``, which defaults
    to :func:`localize.pipeline.localize_episode`); on the ``ray`` executor every episode's
    analysis and markets run at once across the cluster and episodes finish in any order.
    """
    from localize.delivery.executors import EpisodeWork, LocalExecutor
    from localize.locales import get_locale

    executor = executor or LocalExecutor(runner)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    series_dir = Path(series_dir)
    out_dir = Path(out_dir)
    if series_dir.is_dir() and out_dir.resolve() == series_dir.resolve():
        raise UsageError(f"{series_dir}: write the outputs to another folder (--out), not among the episodes")
    targets = [get_locale(tag) for tag in locales]
    episodes = find_episodes(series_dir)
    if not episodes:
        raise InputError(f"{series_dir}: no episodes (video files) found")
    glossary = options.glossary
    if glossary is None:
        glossary = find_glossary(series_dir)
        if glossary is not None:
            options = dataclasses.replace(options, glossary=glossary)
            log(f"localize: series glossary {glossary}")
    profile = options.profile
    summary = BatchSummary(series=series_dir.resolve().name, series_dir=str(series_dir), out_dir=str(out_dir),
                           locales=[t.tag for t in targets], profile=profile.name if profile else "plain",
                           glossary=str(glossary) if glossary else None, started=_now())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = summary_path(out_dir, series_dir)
    started = time.perf_counter()
    tracker = _SeriesTracker(summary, episodes, targets, out_dir, options, log,
                             lambda: _write_summary(summary, target, started))
    try:
        plan = []
        for episode in episodes:
            missing = tracker.plan(episode)
            if missing:
                plan.append(EpisodeWork(episode, tuple(t.tag for t in missing)))
        if plan:
            executor.run(plan, out_dir, options, tracker.on_outcome)
    except BaseException:
        summary.interrupted = True
        raise
    finally:
        summary.finished = _now()
        _write_summary(summary, target, started)
    return summary


def _write_summary(summary: BatchSummary, target: Path, started: float) -> None:
    summary.seconds = round(time.perf_counter() - started, 1)
    write_json_atomic(target, summary.to_json())


class _SeriesTracker:
    """Turns the executor's outcomes (an analysis, a market, a failed episode) into episode results."""

    def __init__(self, summary: BatchSummary, episodes: list[Path], targets: list[Locale], out_dir: Path,
                 options: PipelineOptions, log: Callable[[str], None], save: Callable[[], None]) -> None:
        self.summary, self.targets, self.out_dir, self.options = summary, targets, out_dir, options
        self.log, self.save = log, save
        self.order = {episode.resolve(): index for index, episode in enumerate(episodes)}
        self.total = len(episodes)
        self.open: dict[Path, EpisodeResult] = {}
        self.digests: dict[Path, str | None] = {}

    def plan(self, episode: Path) -> list[Locale]:
        """The markets of ``episode`` still to make; an episode with none (or unreadable) is recorded now."""
        result = EpisodeResult(episode=episode.stem, path=str(episode), status="done")
        try:
            digest = file_digest(episode)
        except OSError as exc:
            result.status, result.error = "failed", f"{episode}: {exc.strerror or exc}"
            self._close(episode, result)
            return []
        self.digests[episode.resolve()] = digest
        missing = [t for t in self.targets if not market_complete(episode, t, self.out_dir, self.options.profile,
                                                                   digest)]
        for t in self.targets:
            result.markets[t.tag] = "pending" if t in missing else "skipped"
        if not missing:
            result.status = "skipped"
            self._close(episode, result)
        else:
            self.open[episode.resolve()] = result
        return missing

    def on_outcome(self, outcome) -> None:
        key = Path(outcome.episode).resolve()
        result = self.open.get(key)
        if result is None:
            return
        result.seconds = round(result.seconds + outcome.seconds, 1)
        if outcome.status == "failed":
            result.error = result.error or outcome.error
        if outcome.locale is None:
            if outcome.status != "failed":
                return  # the analysis is done; the markets follow
            digest = self.digests.get(key)
            for t in self.targets:  # markets finished before the failure are complete and stay so
                if result.markets.get(t.tag) == "pending":
                    complete = digest is not None and market_complete(Path(outcome.episode), t, self.out_dir,
                                                                      self.options.profile, digest)
                    result.markets[t.tag] = "done" if complete else "failed"
        else:
            result.markets[outcome.locale] = "done" if outcome.status == "done" else "failed"
            if outcome.report is not None:
                result.reports.append(str(outcome.report))
        if "pending" in result.markets.values():
            self.save()
            return
        if "failed" in result.markets.values():
            result.status = "failed"
        self._close(Path(result.path), result)

    def _close(self, episode: Path, result: EpisodeResult) -> None:
        self.open.pop(episode.resolve(), None)
        self.summary.episodes.append(result)
        self.summary.episodes.sort(key=lambda r: self.order.get(Path(r.path).resolve(), 0))
        self.save()
        self.log(f"localize: [{len(self.summary.episodes)}/{self.total}] {episode.name}: {result.status}"
                 + (f" ({result.error})" if result.error else f" in {result.seconds:.1f} s"))
