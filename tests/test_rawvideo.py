"""Raw planar frames: layout arithmetic, and decoding a real clip frame by frame."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from localize import ffmpeg
from localize.errors import ToolError
from localize.rawvideo import (FrameDecoder, FrameFormat, encode_frames, matrix_for, probe_frame_format,
                               supported_pix_fmt)


def test_frame_layout():
    fmt = FrameFormat(360, 640)
    assert fmt.frame_bytes == 360 * 640 * 3 // 2
    buf = bytearray(np.arange(fmt.frame_bytes, dtype=np.uint32).astype(np.uint8).tobytes())
    y, u, v = fmt.planes(buf)
    assert y.shape == (640, 360) and u.shape == v.shape == (320, 180)
    y[0, 0] = 7  # views, not copies: writing a plane writes the frame
    assert buf[0] == 7
    odd = FrameFormat(7, 5)
    assert odd.chroma_size == (3, 4) and odd.frame_bytes == 35 + 2 * 12
    assert FrameFormat(8, 8, "yuv444p").frame_bytes == 192
    assert FrameFormat(8, 8, "yuv422p").chroma_size == (8, 4)


def test_matrix_choice():
    assert matrix_for("bt709", 480) == "bt709"
    assert matrix_for("smpte170m", 1920) == "bt601"
    assert matrix_for(None, 1920) == "bt709" and matrix_for("unknown", 480) == "bt601"
    assert supported_pix_fmt("yuvj420p") and not supported_pix_fmt("yuv420p10le") and not supported_pix_fmt(None)


def test_resolved_names_the_missing_program(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolError, match="ffprobe not found"):
        ffmpeg.resolved(["ffprobe", "-v", "error"])


def test_decoder_yields_every_frame_of_a_real_clip(tmp_path):
    clip = tmp_path / "clip.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=34x18:rate=10:duration=1",
                    "-pix_fmt", "yuv422p", "-c:v", "ffv1", str(clip)], check=True)
    info = ffmpeg.probe(clip)
    fmt, pix_fmt = probe_frame_format(clip, info)
    assert (fmt.width, fmt.height, pix_fmt) == (34, 18, "yuv422p") and fmt.matrix == "bt601"
    frames = list(FrameDecoder(clip, fmt, pix_fmt, "a test"))
    assert len(frames) == 10 and all(len(f) == fmt.frame_bytes for f in frames)
    assert frames[0] != frames[5]  # testsrc2 moves


def test_decoder_failure_is_one_line_tool_error(tmp_path):
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(b"\x1aE\xdf\xa3" + b"\0" * 64)
    decoder = FrameDecoder(broken, FrameFormat(16, 16), "yuv420p", "a test")
    with pytest.raises(ToolError, match="decoding the video for a test"):
        list(decoder)


def test_encode_frames_writes_atomically_and_reports_a_dead_encoder(tmp_path):
    fmt = FrameFormat(16, 16)
    good = tmp_path / "out.mkv"

    def ffv1(tmp):
        return ffmpeg.encode_raw_video_argv(tmp, width=16, height=16, pix_fmt="yuv420p", fps_num=10, fps_den=1,
                                            full_range=False)

    with encode_frames(good, ffv1, "a test encode") as write:
        for value in range(5):
            write(bytes([value * 40]) * fmt.frame_bytes)
    assert ffmpeg.probe(good).width == 16

    broken = tmp_path / "broken.mkv"
    with pytest.raises(ToolError, match="while a test encode"):
        with encode_frames(broken, lambda tmp: [*ffv1(tmp)[:-1], "-c:v", "no-such-codec", str(tmp)],
                           "a test encode") as write:
            for _ in range(200):
                write(b"\0" * fmt.frame_bytes)
    assert not broken.exists() and list(tmp_path.iterdir()) == [good]
