"""Raw planar YUV frames piped out of ffmpeg: their layout, and a frame-by-frame decoder.

Shared by the stages that rewrite pixels in place (hard-subtitle removal, lip-sync): both
decode to the source's own 8-bit planar YUV so untouched pixels pass through bit-exact.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from localize import ffmpeg
from localize.errors import InputError
from localize.fsutil import atomic_path

# (chroma subsampling shift x, shift y) of the 8-bit planar formats kept as they are.
_SUBSAMPLING = {"yuv420p": (1, 1), "yuvj420p": (1, 1), "yuv422p": (1, 0), "yuvj422p": (1, 0),
                "yuv444p": (0, 0), "yuvj444p": (0, 0)}


@dataclass(frozen=True)
class FrameFormat:
    """How one raw planar frame is laid out and what its numbers mean."""

    width: int
    height: int
    pix_fmt: str = "yuv420p"
    matrix: str = "bt709"
    full_range: bool = False

    @property
    def shift(self) -> tuple[int, int]:
        return _SUBSAMPLING[self.pix_fmt]

    @property
    def chroma_size(self) -> tuple[int, int]:
        """(height, width) of each chroma plane (ffmpeg rounds up for odd sizes)."""
        sx, sy = self.shift
        return -(-self.height // (1 << sy)), -(-self.width // (1 << sx))

    @property
    def frame_bytes(self) -> int:
        ch, cw = self.chroma_size
        return self.width * self.height + 2 * ch * cw

    def planes(self, buffer: bytes | bytearray | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Y, U, V views (no copy) of one raw frame."""
        flat = np.frombuffer(buffer, dtype=np.uint8) if not isinstance(buffer, np.ndarray) else buffer
        ch, cw = self.chroma_size
        luma = self.width * self.height
        y = flat[:luma].reshape(self.height, self.width)
        u = flat[luma:luma + ch * cw].reshape(ch, cw)
        v = flat[luma + ch * cw:luma + 2 * ch * cw].reshape(ch, cw)
        return y, u, v


def supported_pix_fmt(pix_fmt: str | None) -> bool:
    """Whether frames of ``pix_fmt`` can be processed without converting them first."""
    return pix_fmt in _SUBSAMPLING


def matrix_for(color_space: str | None, height: int) -> str:
    """The colour matrix to assume: the stream's tag, else BT.709 for HD and BT.601 below (players do the same)."""
    space = (color_space or "").lower()
    if space in ("bt709",):
        return "bt709"
    if space in ("bt470bg", "smpte170m", "bt601", "fcc"):
        return "bt601"
    if space.startswith("bt2020"):
        return "bt2020"
    return "bt709" if height >= 720 else "bt601"


def probe_frame_format(video: Path, info: ffmpeg.MediaInfo) -> tuple[FrameFormat, str]:
    """The raw frame layout to decode ``video`` to, and the pix_fmt to ask of the decoder."""
    proc = subprocess.run(ffmpeg.resolved(ffmpeg.video_format_argv(video)), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, errors="replace")
    stream = {}
    if proc.returncode == 0:
        try:
            stream = (json.loads(proc.stdout).get("streams") or [{}])[0]
        except (json.JSONDecodeError, IndexError):
            stream = {}
    pix_fmt = stream.get("pix_fmt")
    if not supported_pix_fmt(pix_fmt):
        pix_fmt = "yuv420p"  # other formats (10-bit, RGB) are converted once, by ffmpeg
    width, height = int(stream.get("width") or info.width), int(stream.get("height") or info.height)
    if info.rotation in (90, 270):  # ffmpeg auto-rotates while decoding
        width, height = height, width
    full = pix_fmt.startswith("yuvj") or stream.get("color_range") == "pc"
    return FrameFormat(width, height, pix_fmt, matrix_for(stream.get("color_space"), height), full), pix_fmt


class FrameDecoder:
    """Raw frames of ``video`` from ffmpeg, one writable bytearray per frame.

    ``band``: the subtitle removal's band, laid over ``video`` (the clean picture's frames).
    ``purpose`` completes the error messages ("... while decoding the video for <purpose>").
    Iterating to the end checks ffmpeg's exit status; :meth:`close` stops it early.
    """

    def __init__(self, video: Path, fmt: FrameFormat, pix_fmt: str, purpose: str,
                 band: ffmpeg.BandPatch | None = None) -> None:
        self.purpose = purpose
        self._stderr = tempfile.TemporaryFile()
        filters = band.filters() if band is not None else None
        self.proc = subprocess.Popen(ffmpeg.resolved(ffmpeg.decode_raw_video_argv(video, pix_fmt=pix_fmt,
                                                                                  video_filters=filters)),
                                     stdout=subprocess.PIPE, stderr=self._stderr)
        self.size = fmt.frame_bytes

    def __iter__(self) -> Iterator[bytearray]:
        assert self.proc.stdout is not None
        while True:
            buf = bytearray(self.size)
            got = self.proc.stdout.readinto(buf)
            if not got:
                break
            while got < self.size:
                more = self.proc.stdout.readinto(memoryview(buf)[got:])
                if not more:
                    raise InputError(f"the video ended in the middle of a frame while decoding it for {self.purpose}")
                got += more
            yield buf
        self.close(check=True)

    def close(self, check: bool = False) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if check and self.proc.returncode != 0:
            self._stderr.seek(0)
            raise ffmpeg.failure(f"decoding the video for {self.purpose}", self._stderr.read())
        self._stderr.close()


@contextmanager
def encode_frames(out_video: Path, argv_for: Callable[[Path], list[str]], what: str) -> Iterator[Callable]:
    """Feed raw frames to an ffmpeg encoder writing ``out_video`` atomically; yields the write function.

    ``argv_for(tmp)`` builds the encoder's argv for the temporary output. If the encoder dies, the
    broken pipe ends the body quietly and its failure is raised as a one-line :class:`ToolError`
    ("ffmpeg failed while <what>: ..."), leaving nothing under the final name.
    """
    with atomic_path(out_video) as tmp, tempfile.TemporaryFile() as stderr:
        encoder = subprocess.Popen(ffmpeg.resolved(argv_for(tmp)), stdin=subprocess.PIPE, stderr=stderr)
        assert encoder.stdin is not None
        try:
            yield encoder.stdin.write
        except BrokenPipeError:
            pass
        finally:
            ffmpeg.close_encoder(encoder, stderr, what)
