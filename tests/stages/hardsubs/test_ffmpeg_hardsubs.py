"""The hard-subtitle argv builders in localize.ffmpeg (no ffmpeg run)."""

from __future__ import annotations

from pathlib import Path

from localize import ffmpeg


def test_decode_raw_region_argv_crops_scales_and_selects():
    argv = ffmpeg.decode_raw_region_argv(Path("in.mp4"), pix_fmt="bgr24", crop=(0, 1174, 1080, 190),
                                         size=(520, 92), every=15)
    assert argv[:2] == ["ffmpeg", "-hide_banner"] and argv[-1] == "pipe:1"
    assert argv[argv.index("-fps_mode") + 1] == "passthrough"
    assert argv[argv.index("-pix_fmt") + 1] == "bgr24" and argv[argv.index("-f") + 1] == "rawvideo"
    # Selection first (frame numbers are the decoder's), then the crop, then the scaling.
    assert argv[argv.index("-vf") + 1] == "select=not(mod(n\\,15)),crop=1080:190:0:1174,scale=520:92:flags=area"
    assert "-an" in argv and argv[argv.index("-map") + 1] == "0:v:0"


def test_decode_raw_region_argv_without_filters_decodes_every_frame():
    argv = ffmpeg.decode_raw_region_argv(Path("in.mp4"), pix_fmt="gray")
    assert "-vf" not in argv and argv[argv.index("-pix_fmt") + 1] == "gray"


def test_encode_raw_lossless_h264_argv():
    argv = ffmpeg.encode_raw_lossless_h264_argv(Path("out.mkv"), width=1080, height=1920, pix_fmt="yuvj420p",
                                                fps_num=30000, fps_den=1001, full_range=True)
    assert argv[-1] == "out.mkv" and argv[argv.index("-f", argv.index("pipe:0")) + 1] == "matroska"
    assert argv[argv.index("-c:v") + 1] == "libx264" and argv[argv.index("-qp") + 1] == "0"
    assert argv[argv.index("-s") + 1] == "1080x1920" and argv[argv.index("-framerate") + 1] == "30000/1001"
    assert "yuvj420p" not in argv and argv[argv.index("-color_range") + 1] == "pc"
    assert "-c:a" not in argv and argv.count("-i") == 1
