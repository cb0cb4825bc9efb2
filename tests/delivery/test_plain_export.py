"""The plain export (no delivery profile) with its picture encoded early, beside the voices."""

from __future__ import annotations

import dataclasses
import subprocess

from delivery_helpers import export_job, probe, streams


def _frame_hashes(path) -> list[str]:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [line.rsplit(",", 1)[-1].strip() for line in out.splitlines() if not line.startswith("#")]


def test_an_early_picture_encode_gives_the_file_a_one_pass_render_gives(odd_source, tmp_path):
    from localize.stages import export as export_stage
    from localize.stages.export.profiles import load_profile

    # A profile only to build the job's inputs; the plain export is the job without one.
    job, _texts = export_job(odd_source, load_profile("reelshort"), "en-US", tmp_path / "out", tmp_path / "work")
    plain = dataclasses.replace(job, profile=None, work_dir=tmp_path / "work", video_out=tmp_path / "one-pass.mp4",
                                srt_out=tmp_path / "one-pass.srt", outputs={})
    export_stage.export(plain)
    task = export_stage.start_picture(plain)
    assert task is not None and task.wait().is_file()
    early = dataclasses.replace(plain, video_out=tmp_path / "early.mp4", srt_out=tmp_path / "early.srt",
                                picture_task=export_stage.start_picture(plain))  # found done: no second encode
    export_stage.export(early)
    one, two = probe(tmp_path / "one-pass.mp4"), probe(tmp_path / "early.mp4")
    assert [s["codec_name"] for s in streams(two, "video")] == ["h264"]
    assert [s["codec_name"] for s in streams(two, "audio")] == ["aac"]
    assert two["format"]["tags"]["comment"] == one["format"]["tags"]["comment"]
    assert abs(float(two["format"]["duration"]) - float(one["format"]["duration"])) < 0.05
    # The same x264 settings on the same frames with the same subtitles burned: the same pictures.
    assert _frame_hashes(tmp_path / "early.mp4") == _frame_hashes(tmp_path / "one-pass.mp4")
    assert (tmp_path / "early.srt").read_text() == (tmp_path / "one-pass.srt").read_text()
