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


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuvj420p", "yuv422p"])
@pytest.mark.parametrize("top,rows", [(48, 32), (0, 32), (96, 32)])
def test_a_band_laid_over_its_source_gives_every_frame_bit_exact(tmp_path, pix_fmt, top, rows):
    """The clean picture is the source with a lossless band over some rows: frame n meets frame n,
    no pixel format is converted (full range stays full range), rows outside the band are the source's."""
    folder = tmp_path / "it's a [band], 01"  # characters the filtergraph must escape
    folder.mkdir()
    source = folder / "source.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x128:rate=30000/1001:duration=1",
                    "-pix_fmt", pix_fmt, "-c:v", "libx264", "-crf", "30", str(source)], check=True)
    info = ffmpeg.probe(source)
    fmt, decoded_as = probe_frame_format(source, info)
    sy = fmt.shift[1]
    originals = [bytes(buf) for buf in FrameDecoder(source, fmt, decoded_as, "the test")]
    band = folder / "band.mkv"

    def argv_for(tmp):
        return ffmpeg.encode_raw_lossless_h264_argv(tmp, width=fmt.width, height=rows, pix_fmt=decoded_as,
                                                    fps_num=info.fps_num, fps_den=info.fps_den,
                                                    full_range=fmt.full_range)

    painted = []
    with encode_frames(band, argv_for, "encoding the band") as write:
        for index, original in enumerate(originals):
            frame = bytearray(original)
            planes = fmt.planes(frame)
            planes[0][top:top + rows] = (index * 7) % 256  # a band unlike the source, different per frame
            painted.append(bytes(frame))
            write(b"".join(p[a:b].tobytes() for p, (a, b) in
                           zip(planes, ((top, top + rows), (top >> sy, (top + rows) >> sy),
                                        (top >> sy, (top + rows) >> sy)))))
    patch = ffmpeg.BandPatch(source, band, top, rows, fmt.width, fmt.height, info.fps_num, info.fps_den)
    assert ffmpeg.BandPatch.from_dict(patch.to_dict()) == patch
    composed = [bytes(buf) for buf in FrameDecoder(source, fmt, decoded_as, "the test", band=patch)]
    assert len(composed) == len(originals) == 30
    assert composed == painted
