"""Series batches: natural order, the series glossary, one bad episode, resuming, the summary."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from localize.delivery import batch
from localize.stages.export.profiles import DEFAULT_LABEL
from localize.errors import InputError
from localize.pipeline import PipelineOptions

from delivery_helpers import SERIES_GLOSSARY, ebur128, fps_of, probe, run_localize, streams


def test_natural_order_and_partial_names(tmp_path):
    names = ["ep10.mp4", "ep2.mp4", "ep1.mov", "第10集.mp4", "第9集.mp4", ".ep3.mp4", "ep4.mp4.part", "ep5.tmp",
             "ep6.mp4.crdownload", "~$ep7.mp4", "notes.txt", ".ep8.x.part.mp4"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.mp4").mkdir()
    found = [p.name for p in batch.find_episodes(tmp_path)]
    assert found == ["ep1.mov", "ep2.mp4", "ep10.mp4", "第9集.mp4", "第10集.mp4"]
    assert batch.natural_key("ep2") < batch.natural_key("ep10") < batch.natural_key("ep10b")
    with pytest.raises(InputError):
        batch.find_episodes(tmp_path / "missing")


def test_series_glossary_is_found_beside_or_inside(tmp_path):
    series = tmp_path / "shows" / "ceo-romance"
    series.mkdir(parents=True)
    assert batch.find_glossary(series, search=[tmp_path / "shows", series]) is None
    inside = series / "glossaries" / "ceo-romance.yml"
    inside.parent.mkdir()
    inside.write_text("terms: {}\n")
    assert batch.find_glossary(series, search=[tmp_path / "shows", series]) == inside
    beside = tmp_path / "shows" / "glossaries" / "ceo-romance.yaml"
    beside.parent.mkdir()
    beside.write_text("terms: {}\n")
    assert batch.find_glossary(series, search=[tmp_path / "shows", series]) == beside  # earlier root wins


def test_run_series_goes_on_after_a_bad_episode_and_records_interruptions(tmp_path):
    series = tmp_path / "drama"
    series.mkdir()
    for name in ("e3.mp4", "e1.mp4", "e20.mp4", "e2.mp4"):
        (series / name).write_bytes(name.encode())
    (tmp_path / "glossaries").mkdir()
    (tmp_path / "glossaries" / "drama.yaml").write_text("terms: {}\n")
    seen: list[tuple[str, str | None]] = []

    def runner(episode, locales, out_dir, options):
        seen.append((episode.name, options.glossary and Path(options.glossary).name))
        if episode.name == "e2.mp4":
            raise InputError(f"{episode.name}: not a readable media file")
        if episode.name == "e20.mp4":
            raise KeyboardInterrupt
        return [out_dir / f"{episode.stem}.{locales[0]}.json"]

    with pytest.raises(KeyboardInterrupt):
        batch.run_series(series, ["en-US"], tmp_path / "out", PipelineOptions(), runner=runner, log=lambda _: None)
    assert seen == [("e1.mp4", "drama.yaml"), ("e2.mp4", "drama.yaml"), ("e3.mp4", "drama.yaml"),
                    ("e20.mp4", "drama.yaml")]
    summary = json.loads((tmp_path / "out" / "drama.batch.json").read_text())
    assert summary["interrupted"] is True and summary["glossary"].endswith("drama.yaml")
    assert [(e["episode"], e["status"]) for e in summary["episodes"]] == [("e1", "done"), ("e2", "failed"),
                                                                          ("e3", "done")]
    assert "not a readable media file" in summary["episodes"][1]["error"]
    assert summary["counts"] == {"done": 2, "skipped": 0, "failed": 1}
    from localize.errors import UsageError

    with pytest.raises(UsageError, match="another folder"):
        batch.run_series(series, ["en-US"], series, PipelineOptions(), runner=runner, log=lambda _: None)


@pytest.mark.slow
def test_series_batch_cli_real_run_and_resume(warm_work, short_episode, tmp_path):
    """`localize SERIES_DIR --to en-US --profile dramabox`: real runs, a corrupt episode, then a resumed batch."""
    series = tmp_path / "ceo-romance"
    series.mkdir()
    for name in ("ep10.mp4", "ep2.mp4"):
        shutil.copy(short_episode.video, series / name)
    (series / "ep3.mp4").write_bytes(os.urandom(50_000))  # corrupt: fails, the batch goes on
    (series / ".ep4.mp4.part").write_bytes(b"still downloading")  # ignored
    (tmp_path / "glossaries").mkdir()
    shutil.copy(SERIES_GLOSSARY, tmp_path / "glossaries" / "ceo-romance.yaml")
    work = tmp_path / "work"
    for stem in ("ep2", "ep10"):
        warm_work.seed(work, stem)  # same content as the warm episode: its stages are cache hits
    inputs = {p.name: p.read_bytes() for p in series.iterdir()}
    out = tmp_path / "out"

    result = run_localize(series, "--to", "en-US", "--out", out, "--profile", "dramabox", "--work-dir", work,
                          cwd=tmp_path, check=False)
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == \
        f"localize: error: 1 of 3 episodes failed; see {out / 'ceo-romance.batch.json'}"
    summary = json.loads((out / "ceo-romance.batch.json").read_text(encoding="utf-8"))
    assert [(e["episode"], e["status"]) for e in summary["episodes"]] == [("ep2", "done"), ("ep3", "failed"),
                                                                          ("ep10", "done")]
    assert summary["glossary"] == str(tmp_path / "glossaries" / "ceo-romance.yaml")
    assert summary["profile"] == "dramabox" and summary["interrupted"] is False
    for stem in ("ep2", "ep10"):
        folder = out / "ceo-romance" / "en-US"  # dramabox names: {series}/{locale}/{episode}
        video = folder / f"{stem}.mp4"
        data = probe(video)
        v, a = streams(data, "video")[0], streams(data, "audio")[0]
        assert (v["width"], v["height"]) == (1080, 1920) and fps_of(v) == pytest.approx(30)
        assert a["codec_name"] == "aac" and int(a["sample_rate"]) == 48000 and a["channels"] == 2
        assert streams(data, "subtitle") == [] and data["format"]["tags"]["description"] == DEFAULT_LABEL
        loud = ebur128(video)
        assert abs(loud["integrated_lufs"] + 16) <= 1.0 and loud["true_peak_db"] <= -1.4, loud
        assert (folder / f"{stem}.srt").is_file() and (folder / f"{stem}.vtt").is_file()
        report = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
        cached = {s["stage"]: s["cached"] for s in report["stages"]}
        assert cached["transcribe"] and cached["translate.en-US"]  # the glossary matched: same translation key
        assert not cached["mix.en-US"]  # the profile's -16 LUFS target remixed
        assert abs(report["loudness"]["lufs"] + 16) <= 0.3
    # Resume: drop one episode's video as an interrupted run would have; the rerun redoes only it.
    kept = out / "ceo-romance" / "en-US" / "ep2.mp4"
    kept_mtime = kept.stat().st_mtime_ns
    (out / "ceo-romance" / "en-US" / "ep10.mp4").unlink()
    run_localize(series, "--to", "en-US", "--out", out, "--profile", "dramabox", "--work-dir", work, cwd=tmp_path,
                 check=False)
    summary = json.loads((out / "ceo-romance.batch.json").read_text(encoding="utf-8"))
    assert [(e["episode"], e["status"]) for e in summary["episodes"]] == [("ep2", "skipped"), ("ep3", "failed"),
                                                                          ("ep10", "done")]
    assert kept.stat().st_mtime_ns == kept_mtime
    assert (out / "ceo-romance" / "en-US" / "ep10.mp4").is_file()
    assert {p.name: p.read_bytes() for p in series.iterdir()} == inputs  # inputs untouched
    assert not [p for p in out.rglob("*") if ".part" in p.name and ".localize-work" not in str(p)]


def test_run_series_takes_outcomes_in_any_order_from_an_executor(tmp_path):
    """A cluster finishes markets out of order and per task: each episode closes when its last market does."""
    from localize.delivery.executors import Executor, Outcome

    series = tmp_path / "drama"
    series.mkdir()
    for name in ("e1.mp4", "e2.mp4", "e3.mp4"):
        (series / name).write_bytes(name.encode())

    class OutOfOrder(Executor):
        name = "test"

        def run(self, work, out_dir, options, on_outcome):
            by_stem = {w.episode.stem: w.episode for w in work}
            assert [w.locales for w in work] == [("en-US", "es-MX")] * 3
            on_outcome(Outcome(by_stem["e3"], None, "done"))
            on_outcome(Outcome(by_stem["e2"], None, "failed", error="e2: not a readable media file",
                               error_kind="InputError"))
            on_outcome(Outcome(by_stem["e3"], "es-MX", "done", seconds=2.0, report=out_dir / "e3.es-MX.json"))
            on_outcome(Outcome(by_stem["e1"], None, "done"))
            on_outcome(Outcome(by_stem["e1"], "en-US", "failed", error="internal error: boom", error_kind="internal"))
            on_outcome(Outcome(by_stem["e3"], "en-US", "done", seconds=3.0, report=out_dir / "e3.en-US.json"))
            on_outcome(Outcome(by_stem["e1"], "es-MX", "done", report=out_dir / "e1.es-MX.json"))

    lines: list[str] = []
    summary = batch.run_series(series, ["en-US", "es-MX"], tmp_path / "out", PipelineOptions(),
                               executor=OutOfOrder(), log=lines.append)
    assert [(e.episode, e.status, e.markets) for e in summary.episodes] == [
        ("e1", "failed", {"en-US": "failed", "es-MX": "done"}),
        ("e2", "failed", {"en-US": "failed", "es-MX": "failed"}),
        ("e3", "done", {"en-US": "done", "es-MX": "done"})]
    assert summary.episodes[0].error == "internal error: boom" and summary.episodes[2].seconds == 5.0
    assert [line.split(":")[1].strip() for line in lines] == ["[1/3] e2.mp4", "[2/3] e3.mp4", "[3/3] e1.mp4"]
    written = json.loads((tmp_path / "out" / "drama.batch.json").read_text())
    assert written["counts"] == {"done": 1, "skipped": 0, "failed": 2}
