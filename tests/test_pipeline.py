"""The pipeline's caching on a real run: what a changed line or a changed setting makes run again."""

from __future__ import annotations

import json

import pysubs2


def stage_runs(report: dict) -> dict[str, dict]:
    return {stage["stage"]: stage for stage in report["stages"]}


def test_an_edited_line_revoices_that_line_alone_and_a_setting_reruns_its_dependents(warm_work, short_episode,
                                                                                     tmp_path, monkeypatch, localize_cli, series_glossary):
    from localize.graph import MARKET

    work, out = tmp_path / "work", tmp_path / "out"
    warm_work.seed(work, short_episode.video.stem)
    args = (short_episode.video, "--to", "en-US", "--out", out, "--work-dir", work, "--glossary", series_glossary)
    localize_cli(*args)
    report_path = out / f"{short_episode.video.stem}.en-US.json"
    report = json.loads(report_path.read_text(encoding="utf-8"))

    # A person rewrites one line in the report; the next run takes it as a human edit.
    edited = report["segments"][1]
    edited["text"] = "Are you quite certain of it?"
    report_path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    localize_cli(*args)
    again = json.loads(report_path.read_text(encoding="utf-8"))
    runs = stage_runs(again)
    analysis = ("ingest", "separate", "transcribe", "hardsubs", "unsubtitle", "fuse", "diarize")
    assert all(runs[name]["cached"] for name in analysis), runs
    assert not runs["translate.en-US"]["cached"] and runs["cast.en-US"]["cached"]
    assert runs["synthesize.en-US"]["units_made"] == 1
    assert runs["synthesize.en-US"]["units_cached"] == len(again["segments"]) - 1
    assert [s["text"] for s in again["segments"]] == [s["text"] for s in report["segments"]]
    assert again["segments"][1]["translation_backend"] == "memory:human"
    srt = pysubs2.load(str(out / f"{short_episode.video.stem}.en-US.srt"))
    assert "certain of it" in " ".join(event.plaintext.replace("\n", " ") for event in srt)

    # A declared setting of the mix: the mix and what depends on it run, nothing else.
    monkeypatch.setenv("LOCALIZE_TARGET_LUFS", "-16")
    localize_cli(*args)
    louder = json.loads(report_path.read_text(encoding="utf-8"))
    ran = {name.split(".")[0] for name, stage in stage_runs(louder).items() if not stage["cached"]}
    assert ran == {"mix"} | MARKET.dependents("mix") == {"mix", "lipsync", "export"}
    assert abs(louder["loudness"]["lufs"] + 16) <= 1


def test_a_rerun_through_relative_folders_is_all_cache_hits_and_a_moved_episode_keeps_them(
        warm_work, short_episode, tmp_path, monkeypatch, localize_cli, series_glossary):
    """`--out` and `--work-dir` relative to where localize runs (as `make demo` gives them): the removed
    subtitle band was recorded through that relative path, looked for inside the work dir on the next
    run, missed, and the removal ran again on every run; so did the export and the casting, whose
    files (the delivered outputs, the series cast) were recorded the same way.

    Then the episode is moved: the work dir is keyed by content, so its records are met again, and
    they must not send the export to the episode's old path."""
    import shutil

    monkeypatch.chdir(tmp_path)
    name = short_episode.video.name
    (tmp_path / "shoot").mkdir()
    shutil.copy2(short_episode.video, tmp_path / "shoot" / name)
    warm_work.seed(tmp_path / "work", short_episode.video.stem)
    removal = next((tmp_path / "work").glob("*/unsubtitle.json"))
    removal.unlink()  # the removal runs here, through the relative work dir
    removal.with_name("ingest.json").unlink()  # so does the ingest, of the episode where it is now
    options = ("--to", "en-US", "--out", "out", "--work-dir", "work", "--glossary", series_glossary)
    localize_cli(f"shoot/{name}", *options)
    report_path = tmp_path / "out" / f"{short_episode.video.stem}.en-US.json"
    first = stage_runs(json.loads(report_path.read_text(encoding="utf-8")))
    assert not first["unsubtitle"]["cached"]
    assert json.loads(removal.read_text(encoding="utf-8"))["data"]["patch"] is not None  # a band was removed

    localize_cli(f"shoot/{name}", *options)
    again = stage_runs(json.loads(report_path.read_text(encoding="utf-8")))
    assert all(run["cached"] for run in again.values()), {name: run["cached"] for name, run in again.items()}

    # The series folder moves whole (its name is the series, whose cast the casting reads).
    (tmp_path / "archive").mkdir()
    (tmp_path / "shoot").rename(tmp_path / "archive" / "shoot")
    video = tmp_path / "out" / f"{short_episode.video.stem}.en-US.mp4"
    video.unlink()  # the export must read the picture again, from where the episode now is
    localize_cli(f"archive/shoot/{name}", *options)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    moved = stage_runs(report)
    assert [stage for stage, run in moved.items() if not run["cached"]] == ["export.en-US"]
    assert video.stat().st_size > 0
    # The review desk re-renders from the report, started from anywhere.
    assert report["source"]["path"] == str(tmp_path / "archive" / "shoot" / name)
    assert report["outputs"]["video"] == str(video) and report["work_dir"] == str(removal.parent)
