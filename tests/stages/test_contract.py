"""The stage contract: keys come from declarations alone, stale stages and their dependents run, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from localize.locales import get_locale
from localize.stages.contract import Graph, Runner, Stage, UndeclaredSetting, describe
from localize.workdir import WorkDir


@dataclass(frozen=True)
class Options:
    separator: str = "a"
    model: Path | None = None
    loudness: float = -14.0


@dataclass
class Calls:
    names: list[str] = field(default_factory=list)


def make_graphs(calls: Calls):
    def stage(name, gives, needs=(), settings=(), **extra):
        def run(ctx):
            calls.names.append(ctx.stage.record_name(ctx.locale))
            values = [ctx.inputs[n] for n in needs] + [getattr(ctx.settings, s) for s in settings]
            return {"from": [str(v) for v in values]}
        return Stage(name=name, version="1", gives=gives, needs=needs, settings=settings, run=run, **extra)

    analysis = Graph("analysis", (stage("ingest", "media", ("source",)),
                                  stage("separate", "stems", ("media",), ("separator", "model")),
                                  stage("transcribe", "asr", ("stems",))), given=("source",))
    market = Graph("market", (stage("translate", "translations", ("asr",), per_market=True),
                              stage("mix", "mix", ("translations", "stems"), ("loudness",), per_market=True),
                              stage("export", "delivery", ("mix", "media"), per_market=True)),
                   given=("source", "media", "stems", "asr"))
    return analysis, market


def run_all(work: WorkDir, options: Options, calls: Calls, source_digest: str = "d1") -> Runner:
    analysis, market = make_graphs(calls)
    runner = Runner(work, options, Path("episode.mp4"))
    runner.give("source", source_digest, source_digest)
    runner.run(analysis)
    for tag in ("en-US", "es-MX"):
        runner.run(market, locale=get_locale(tag))
    return runner


def test_second_run_is_all_cache_hits(tmp_path):
    work, calls = WorkDir(tmp_path), Calls()
    run_all(work, Options(), calls)
    assert len(calls.names) == 3 + 2 * 3
    calls.names.clear()
    work.records.clear()
    run_all(work, Options(), calls)
    assert calls.names == []
    assert all(record.cached for record in work.records)


def test_changed_setting_reruns_its_stage_and_dependents_only(tmp_path):
    work, calls = WorkDir(tmp_path), Calls()
    run_all(work, Options(), calls)
    analysis, market = make_graphs(Calls())
    calls.names.clear()
    run_all(work, Options(separator="b"), calls)
    expected = {"separate"} | analysis.dependents("stems") | market.dependents("stems") | market.dependents("asr")
    assert {name.split(".")[0] for name in calls.names} == expected == {"separate", "transcribe", "translate", "mix",
                                                                       "export"}
    calls.names.clear()
    run_all(work, Options(separator="b", loudness=-16.0), calls)
    assert sorted(calls.names) == ["export.en-US", "export.es-MX", "mix.en-US", "mix.es-MX"]


def test_changed_input_reruns_everything_after_it(tmp_path):
    work, calls = WorkDir(tmp_path), Calls()
    run_all(work, Options(), calls)
    calls.names.clear()
    run_all(work, Options(), calls, source_digest="d2")
    assert len(calls.names) == 9


def test_a_file_setting_is_keyed_by_its_content(tmp_path):
    model = tmp_path / "model.bin"
    model.write_bytes(b"one")
    work, calls = WorkDir(tmp_path / "work"), Calls()
    run_all(work, Options(model=model), calls)
    calls.names.clear()
    run_all(work, Options(model=model), calls)
    assert calls.names == []
    model.write_bytes(b"two")
    run_all(work, Options(model=model), calls)
    assert "separate" in calls.names


def test_reading_an_undeclared_setting_fails_loudly(tmp_path):
    sneaky = Stage(name="sneaky", version="1", gives="x", run=lambda ctx: ctx.settings.loudness,
                   settings=("separator",))
    runner = Runner(WorkDir(tmp_path), Options(), Path("e.mp4"))
    with pytest.raises(UndeclaredSetting, match="sneaky.*loudness"):
        runner.run(Graph("g", (sneaky,)))


def test_inputs_are_only_the_declared_needs(tmp_path):
    seen = {}
    first = Stage(name="first", version="1", gives="a", run=lambda ctx: 1)
    second = Stage(name="second", version="1", gives="b", needs=(), run=lambda ctx: seen.update(ctx.inputs) or 2)
    Runner(WorkDir(tmp_path), Options(), Path("e.mp4")).run(Graph("g", (first, second)))
    assert seen == {}


def test_graph_refuses_a_need_that_nothing_gives():
    lonely = Stage(name="lonely", version="1", gives="b", needs=("nowhere",), run=lambda ctx: None)
    with pytest.raises(ValueError, match="lonely.*nowhere"):
        Graph("g", (lonely,))


def test_missing_file_of_an_artifact_forces_a_rerun(tmp_path):
    work = WorkDir(tmp_path)
    runs = []

    def write(ctx):
        runs.append(1)
        ctx.work.path("out.wav").write_bytes(b"x")
        return {"file": "out.wav"}

    graph = Graph("g", (Stage(name="w", version="1", gives="w", run=write, files=lambda data: (data["file"],)),))
    Runner(work, Options(), Path("e.mp4")).run(graph)
    Runner(work, Options(), Path("e.mp4")).run(graph)
    work.path("out.wav").unlink()
    Runner(work, Options(), Path("e.mp4")).run(graph)
    assert len(runs) == 2


def test_units_are_cached_on_their_own_inputs(tmp_path):
    work = WorkDir(tmp_path)
    made = []
    texts = ["one", "two", "three"]

    def voice(ctx):
        out = []
        for text in texts:
            data, _ = ctx.unit("clip", {"text": text}, lambda key, text=text: made.append(text) or {"said": text})
            out.append(data["said"])
        return out

    graph = Graph("g", (Stage(name="voice", version="1", gives="dub", settings=("loudness",), run=voice),))
    Runner(work, Options(), Path("e.mp4")).run(graph)
    texts[1] = "TWO"
    made.clear()
    work.records.clear()
    artifacts = Runner(work, Options(loudness=-16.0), Path("e.mp4")).run(graph)
    assert made == ["TWO"] and artifacts["dub"] == ["one", "TWO", "three"]
    assert (work.records[0].units_made, work.records[0].units_cached) == (1, 2)


def test_keyed_by_output_stops_reruns_at_an_unchanged_result(tmp_path):
    external = {"n": 0}
    later = []
    cast = Stage(name="cast", version="1", gives="cast", run=lambda ctx: {"voice": "v1"},
                 external=lambda ctx: external["n"], keyed_by_output=True)
    synth = Stage(name="synth", version="1", gives="dub", needs=("cast",), run=lambda ctx: later.append(1) or 1)
    graph = Graph("g", (cast, synth))
    work = WorkDir(tmp_path)
    Runner(work, Options(), Path("e.mp4")).run(graph)
    external["n"] = 1  # the cast file was rewritten with the same content
    work.records.clear()
    Runner(work, Options(), Path("e.mp4")).run(graph)
    assert [r.cached for r in work.records] == [False, True] and later == [1]


def test_the_real_graphs_are_consistent_and_described():
    from localize.graph import ANALYSIS, GRAPHS, MARKET

    rows = describe(GRAPHS)
    names = [row["stage"] for row in rows]
    assert names[:len(ANALYSIS.stages)] == ["ingest", "separate", "transcribe", "hardsubs", "unsubtitle", "fuse",
                                            "diarize", "reassign"]
    assert set(names) == {s.name for s in ANALYSIS.stages} | {s.name for s in MARKET.stages}
    assert all(row["summary"] for row in rows)
    assert MARKET.dependents("dub") == {"mix", "naturalness", "lipsync", "export"}
    # Every market stage is per market, every analysis stage runs once.
    assert all(s.per_market for s in MARKET.stages) and not any(s.per_market for s in ANALYSIS.stages)



def _branches(barrier, seen: list[str], fail: str | None = None):
    """ingest, then a picture branch and a sound branch that only meet at the end."""
    def stage(name, gives, needs):
        def run(ctx):
            if name in ("hardsubs", "separate"):
                barrier.wait(timeout=20)  # both branches must be inside their first stage at once
            if name == fail:
                raise RuntimeError(f"{name} broke")
            seen.append(name)
            return {"from": sorted(ctx.inputs)}
        return Stage(name=name, version="1", gives=gives, needs=needs, run=run)

    return Graph("analysis", (stage("ingest", "media", ("source",)), stage("separate", "stems", ("media",)),
                              stage("transcribe", "asr", ("stems",)), stage("hardsubs", "hardsub", ("media",)),
                              stage("unsubtitle", "picture", ("hardsub",)),
                              stage("fuse", "transcript", ("asr", "hardsub"))), given=("source",))


def test_independent_branches_run_at_the_same_time(tmp_path):
    import threading

    seen: list[str] = []
    runner = Runner(WorkDir(tmp_path), Options(), Path("episode.mp4"), workers=2)
    runner.give("source", "d1", "d1")
    artifacts = runner.run(_branches(threading.Barrier(2), seen))
    assert artifacts["transcript"] == {"from": ["asr", "hardsub"]}
    assert seen.index("fuse") > max(seen.index("transcribe"), seen.index("hardsubs")) and seen[0] == "ingest"
    overlapping = {r.stage: r for r in runner.work.records}
    # The records agree (times are kept to the millisecond, so a stage that ends within it ties).
    assert overlapping["separate"].started_at <= overlapping["hardsubs"].started_at + overlapping["hardsubs"].seconds
    # One worker runs the same graph stage after stage, to the same artifacts (from the cache now).
    again = Runner(WorkDir(tmp_path), Options(), Path("episode.mp4"), workers=1)
    again.give("source", "d1", "d1")
    assert again.run(_branches(threading.Barrier(1), []))["transcript"] == artifacts["transcript"]


def test_a_failing_branch_stops_its_dependents_and_raises_after_the_other_branch_ends(tmp_path):
    import threading

    seen: list[str] = []
    runner = Runner(WorkDir(tmp_path), Options(), Path("episode.mp4"), workers=2)
    runner.give("source", "d1", "d1")
    with pytest.raises(RuntimeError, match="hardsubs broke"):
        runner.run(_branches(threading.Barrier(2), seen, fail="hardsubs"))
    assert "unsubtitle" not in seen and "fuse" not in seen and "separate" in seen
    assert not (tmp_path / "hardsubs.json").exists() and (tmp_path / "separate.json").exists()


def _picture_and_market(release, fail: bool = False):
    """An analysis whose picture stage waits for ``release`` (set by the market's first stage)."""
    def stage(name, gives, needs, body=None, **extra):
        def run(ctx):
            if body:
                body()
            return {"from": sorted(ctx.inputs)}
        return Stage(name=name, version="1", gives=gives, needs=needs, run=run, **extra)

    def remove_subtitles():
        assert release.wait(timeout=20), "the market never started beside the picture"
        if fail:
            raise RuntimeError("removal broke")

    analysis = Graph("analysis", (stage("ingest", "media", ("source",)),
                                  stage("unsubtitle", "picture", ("media",), remove_subtitles)), given=("source",))
    market = Graph("market", (stage("translate", "translations", ("media",), release.set, per_market=True),
                              stage("export", "delivery", ("translations", "picture"), per_market=True)),
                   given=("source", "media", "picture"))
    return analysis, market


def test_a_background_stage_runs_on_beside_the_next_graph(tmp_path):
    import threading

    analysis, market = _picture_and_market(threading.Event())
    runner = Runner(WorkDir(tmp_path), Options(), Path("episode.mp4"), workers=2)
    runner.give("source", "d1", "d1")
    runner.run(analysis, background=("picture",))
    assert "picture" not in runner.artifacts  # still being made
    out = runner.for_options(Options()).run(market, locale=get_locale("en-US"))
    assert out["delivery"] == {"from": ["picture", "translations"]}
    assert runner.artifact("picture") == {"from": ["media"]}


def test_a_failed_background_stage_fails_what_needs_it(tmp_path):
    import threading

    analysis, market = _picture_and_market(threading.Event(), fail=True)
    runner = Runner(WorkDir(tmp_path), Options(), Path("episode.mp4"), workers=2)
    runner.give("source", "d1", "d1")
    runner.run(analysis, background=("picture",))
    with pytest.raises(RuntimeError, match="removal broke"):
        runner.for_options(Options()).run(market, locale=get_locale("en-US"))
    with pytest.raises(RuntimeError, match="removal broke"):
        runner.artifact("picture")
