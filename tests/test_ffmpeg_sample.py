"""argv builders added for the sample generator: checked without running ffmpeg."""

from pathlib import Path

import pytest

from localize import ffmpeg


def test_concat_stills_list_repeats_the_last_picture_and_quotes_paths():
    text = ffmpeg.concat_stills_list([(Path("/w/a.ppm"), 1500), (Path("/w/it's.ppm"), 2040)])
    lines = text.splitlines()
    assert lines[0] == "ffconcat version 1.0"
    assert lines[1:5] == ["file '/w/a.ppm'", "duration 1.500", "file '/w/it'\\''s.ppm'", "duration 2.040"]
    assert lines[5] == "file '/w/it'\\''s.ppm'" and len(lines) == 6
    with pytest.raises(ValueError):
        ffmpeg.concat_stills_list([])


def test_stills_video_argv_encodes_vertical_h264_aac_with_faststart():
    argv = ffmpeg.stills_video_argv(Path("list.ffconcat"), Path("mix.wav"), Path("out.mp4"), width=1080,
                                    height=1920, fps=30, duration_ms=83900, subtitles=Path("/t/a:b.ass"),
                                    pan_margin=40, encoding=ffmpeg.VideoEncoding(preset="ultrafast"),
                                    metadata={"title": "t"})
    assert argv[0] == "ffmpeg" and argv[-1] == "out.mp4"
    assert argv[argv.index("-f") + 1] == "concat" and argv[argv.index("-safe") + 1] == "0"
    assert argv[argv.index("-map") + 1] == "0:v:0" and "1:a:0" in argv
    vf = argv[argv.index("-vf") + 1]
    assert vf.startswith("format=yuv420p,fps=30,crop=1080:1920:")  # convert once per picture, then pan
    assert "ass=" + ffmpeg.filter_path(Path("/t/a:b.ass")) in vf
    assert argv[argv.index("-c:v") + 1] == "libx264" and argv[argv.index("-preset") + 1] == "ultrafast"
    assert argv[argv.index("-pix_fmt") + 1] == "yuv420p"
    assert argv[argv.index("-c:a") + 1] == "aac" and argv[argv.index("-ar") + 1] == "48000"
    assert argv[argv.index("-ac") + 1] == "2" and argv[argv.index("-r") + 1] == "30"
    assert argv[argv.index("-t") + 1] == "83.900"
    assert argv[argv.index("-movflags") + 1] == "+faststart"
    assert "title=t" in argv


def test_stills_video_argv_without_pan_or_subtitles():
    argv = ffmpeg.stills_video_argv(Path("l"), Path("a.wav"), Path("o.mp4"), width=1080, height=1920, fps=30,
                                    duration_ms=1000, subtitles=None)
    vf = argv[argv.index("-vf") + 1]
    assert "crop" not in vf and "ass=" not in vf


def test_extract_frame_argv_seeks_then_takes_one_frame():
    argv = ffmpeg.extract_frame_argv(Path("in.mp4"), Path("f.png"), at_ms=12345)
    assert argv.index("-ss") < argv.index("-i")
    assert argv[argv.index("-ss") + 1] == "12.345"
    assert argv[argv.index("-frames:v") + 1] == "1" and argv[-1] == "f.png"
