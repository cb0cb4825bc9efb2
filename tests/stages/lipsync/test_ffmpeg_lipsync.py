"""The lip-sync argv builders in localize.ffmpeg (no ffmpeg run)."""

from __future__ import annotations

from pathlib import Path

from localize import ffmpeg


def test_video_format_argv():
    argv = ffmpeg.video_format_argv(Path("in.mp4"))
    assert argv[0] == "ffprobe" and argv[-1] == "in.mp4"
    assert argv[argv.index("-select_streams") + 1] == "v:0"
    assert "pix_fmt" in argv[argv.index("-show_entries") + 1] and "color_space" in argv[argv.index("-show_entries") + 1]


def test_decode_raw_video_argv_passes_every_frame():
    argv = ffmpeg.decode_raw_video_argv(Path("in.mp4"), pix_fmt="yuvj420p")
    assert argv[:2] == ["ffmpeg", "-hide_banner"] and argv[-1] == "pipe:1"
    assert argv[argv.index("-fps_mode") + 1] == "passthrough"
    assert argv[argv.index("-pix_fmt") + 1] == "yuvj420p"
    assert argv[argv.index("-f") + 1] == "rawvideo" and argv[argv.index("-map") + 1] == "0:v:0"
    assert "-an" in argv


def test_encode_raw_video_argv_is_lossless_and_keeps_the_rate():
    argv = ffmpeg.encode_raw_video_argv(Path("out.mkv"), width=360, height=640, pix_fmt="yuv420p",
                                        fps_num=30000, fps_den=1001)
    assert argv[-1] == "out.mkv" and argv[argv.index("-f", argv.index("pipe:0")) + 1] == "matroska"
    assert argv[argv.index("-s") + 1] == "360x640"
    assert argv[argv.index("-framerate") + 1] == "30000/1001"
    assert argv[argv.index("-c:v") + 1] == "ffv1"
    assert argv[argv.index("-color_range") + 1] == "tv"
    assert "-c:a" not in argv and argv.count("-i") == 1


def test_encode_raw_video_argv_full_range_and_audio():
    argv = ffmpeg.encode_raw_video_argv(Path("out.mkv"), width=8, height=8, pix_fmt="yuvj420p", fps_num=25,
                                        fps_den=1, audio_from=Path("src.mp4"), full_range=True)
    # The j-format bytes are declared as the plain format: no range conversion on the way in.
    assert "yuvj420p" not in argv and argv[argv.index("-pix_fmt") + 1] == "yuv420p"
    assert argv[argv.index("-color_range") + 1] == "pc"
    assert "src.mp4" in argv and argv[argv.index("-c:a") + 1] == "copy" and "1:a:0?" in argv
