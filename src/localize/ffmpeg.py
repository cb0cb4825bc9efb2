"""The one place that knows ffmpeg's command line.

Builders return argv lists (unit-tested without running ffmpeg); :func:`run`
and :func:`probe` execute them and turn failures into :class:`ToolError` or
:class:`InputError`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import InputError, ToolError

BASE_ARGS = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ToolError(f"{name} not found on PATH; install ffmpeg (Debian: apt-get install ffmpeg)")
    return found


def ffmpeg_argv(*args: str) -> list[str]:
    """Prefix ``args`` with the ffmpeg binary and our quiet, non-interactive flags."""
    return ["ffmpeg", *BASE_ARGS, *args]


def probe_argv(path: Path) -> list[str]:
    return ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]


def extract_audio_argv(src: Path, dst: Path, *, rate: int, channels: int) -> list[str]:
    """Decode the first audio stream to 16-bit PCM WAV at ``rate`` Hz."""
    return ffmpeg_argv("-i", str(src), "-map", "0:a:0", "-vn", "-ac", str(channels), "-ar", str(rate),
                       "-c:a", "pcm_s16le", "-f", "wav", str(dst))


def filter_path(path: Path) -> str:
    """Escape a path for use as a filter option value (``subtitles=``, ``ass=``).

    Two levels apply: the option value inside the filter (``\\``, ``'`` and ``:``)
    and the filtergraph itself (``,;[]`` and ``'``).
    """
    text = str(path)
    for char in "\\':":
        text = text.replace(char, "\\" + char)
    for char in "\\',;[]":
        text = text.replace(char, "\\" + char)
    return text


@dataclass(frozen=True)
class VideoEncoding:
    """How the localized picture is encoded."""

    codec: str = "libx264"
    crf: int = 20
    preset: str = "veryfast"
    pix_fmt: str = "yuv420p"
    audio_codec: str = "aac"
    audio_bitrate: str = "192k"
    audio_rate: int = 48000

    def args(self) -> list[str]:
        return ["-c:v", self.codec, "-crf", str(self.crf), "-preset", self.preset, "-pix_fmt", self.pix_fmt,
                "-c:a", self.audio_codec, "-b:a", self.audio_bitrate, "-ar", str(self.audio_rate)]


def render_argv(video: Path, audio: Path, dst: Path, *, subtitles: Path | None, fonts_dir: Path | None,
                encoding: VideoEncoding, metadata: dict[str, str] | None = None,
                extra_filters: list[str] | None = None, audio_language: str | None = None) -> list[str]:
    """Replace ``video``'s audio with ``audio`` and burn ``subtitles`` (ASS) into the picture.

    The output keeps the source's frame rate and size; ``-shortest`` is avoided so
    the duration follows the video stream.
    """
    filters = list(extra_filters or [])
    if subtitles is not None:
        sub = f"ass={filter_path(subtitles)}"
        if fonts_dir is not None:
            sub += f":fontsdir={filter_path(fonts_dir)}"
        filters.append(sub)
    argv = ["-i", str(video), "-i", str(audio), "-map", "0:v:0", "-map", "1:a:0"]
    if filters:
        argv += ["-vf", ",".join(filters)]
    argv += encoding.args()
    for key, value in (metadata or {}).items():
        argv += ["-metadata", f"{key}={value}"]
    if audio_language:
        argv += ["-metadata:s:a:0", f"language={audio_language}"]
    argv += ["-movflags", "+faststart", "-f", "mp4", str(dst)]
    return ffmpeg_argv(*argv)


def run(argv: list[str], *, what: str) -> None:
    """Run an ffmpeg/ffprobe argv; raise :class:`ToolError` naming ``what`` on failure."""
    argv = [_binary(argv[0]), *argv[1:]]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise ToolError(f"ffmpeg failed while {what}: {last}")


@dataclass(frozen=True)
class MediaInfo:
    """What ingest needs to know about an input file. Times are integer milliseconds."""

    duration_ms: int
    width: int
    height: int
    fps_num: int
    fps_den: int
    video_codec: str
    has_audio: bool
    audio_codec: str | None
    audio_channels: int
    audio_rate: int
    rotation: int
    format_name: str

    @property
    def fps(self) -> float:
        return self.fps_num / self.fps_den

    @property
    def frame_ms(self) -> float:
        return 1000.0 * self.fps_den / self.fps_num


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            return int(side["rotation"]) % 360
    tag = (stream.get("tags") or {}).get("rotate")
    return int(tag) % 360 if tag else 0


def parse_probe(data: dict) -> MediaInfo:
    """Turn ffprobe's JSON into :class:`MediaInfo`; raise :class:`InputError` when unusable."""
    streams = data.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not (s.get("disposition") or {}).get("attached_pic")), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None:
        raise InputError("no video stream found")
    rate = video.get("avg_frame_rate") or video.get("r_frame_rate") or "0/1"
    try:
        fps = Fraction(rate)
    except (ValueError, ZeroDivisionError):
        fps = Fraction(0)
    if fps <= 0:
        fps = Fraction(video.get("r_frame_rate") or "0/1")
    if fps <= 0:
        raise InputError("video stream has no usable frame rate")
    duration = data.get("format", {}).get("duration") or video.get("duration")
    if duration is None:
        raise InputError("cannot determine the duration (truncated file?)")
    duration_ms = int(round(float(duration) * 1000))
    if duration_ms <= 0:
        raise InputError("the input has zero duration")
    return MediaInfo(
        duration_ms=duration_ms,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        fps_num=fps.numerator,
        fps_den=fps.denominator,
        video_codec=str(video.get("codec_name")),
        has_audio=audio is not None,
        audio_codec=audio.get("codec_name") if audio else None,
        audio_channels=int(audio.get("channels") or 0) if audio else 0,
        audio_rate=int(audio.get("sample_rate") or 0) if audio else 0,
        rotation=_rotation(video),
        format_name=str(data.get("format", {}).get("format_name", "")),
    )


def probe(path: Path) -> MediaInfo:
    """Probe ``path`` with ffprobe."""
    argv = probe_argv(path)
    argv[0] = _binary("ffprobe")
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["unreadable"])[-1]
        raise InputError(f"{path.name}: not a readable media file ({reason})")
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: ffprobe returned no usable data") from exc
    try:
        return parse_probe(data)
    except InputError as exc:
        raise InputError(f"{path.name}: {exc}") from None


def concat_stills_list(stills: list[tuple[Path, int]]) -> str:
    """Text of an ffmpeg concat-demuxer list that shows each (picture, duration_ms) in turn.

    The last picture is listed twice: the demuxer ignores the final entry's duration otherwise.
    """
    if not stills:
        raise ValueError("no pictures to list")

    def quoted(path: Path) -> str:
        return "'" + str(path).replace("'", "'\\''") + "'"

    lines = ["ffconcat version 1.0"]
    for path, duration_ms in stills:
        lines += [f"file {quoted(path)}", f"duration {duration_ms / 1000:.3f}"]
    lines.append(f"file {quoted(stills[-1][0])}")
    return "\n".join(lines) + "\n"


def stills_video_argv(concat_list: Path, audio: Path, dst: Path, *, width: int, height: int, fps: int,
                      duration_ms: int, subtitles: Path | None, pan_margin: int = 0,
                      encoding: VideoEncoding | None = None, metadata: dict[str, str] | None = None) -> list[str]:
    """Encode a slideshow of pictures (a concat list) with ``audio`` into an MP4 of exactly ``duration_ms``.

    Pictures may be ``pan_margin`` pixels larger than the frame on each side; the frame then drifts
    slowly across them so the picture is never static. ``subtitles`` (ASS) are burned in by libass.
    """
    encoding = encoding or VideoEncoding()
    # Convert before the frame-rate filter duplicates frames: once per picture, not once per frame.
    filters = ["format=yuv420p", f"fps={fps}"]
    if pan_margin > 0:
        m = int(pan_margin)
        # Two slow sines of different periods: a gentle handheld-like drift, never a loop the eye catches.
        filters.append(f"crop={width}:{height}:x='{m}+{m}*sin(2*PI*t/17)':y='{m}+{m}*sin(2*PI*t/23)'")
    if subtitles is not None:
        filters.append(f"ass={filter_path(subtitles)}")
    filters += ["setsar=1"]
    argv = ["-f", "concat", "-safe", "0", "-i", str(concat_list), "-i", str(audio),
            "-map", "0:v:0", "-map", "1:a:0", "-vf", ",".join(filters), "-r", str(fps), *encoding.args(),
            "-ac", "2", "-t", f"{duration_ms / 1000:.3f}"]
    for key, value in (metadata or {}).items():
        argv += ["-metadata", f"{key}={value}"]
    argv += ["-movflags", "+faststart", "-f", "mp4", str(dst)]
    return ffmpeg_argv(*argv)


def extract_frame_argv(src: Path, dst: Path, *, at_ms: int) -> list[str]:
    """Decode the single video frame shown at ``at_ms`` into a picture (format from ``dst``'s suffix)."""
    # -ss before -i seeks fast and, with re-decoding from the keyframe, frame-accurately.
    return ffmpeg_argv("-ss", f"{at_ms / 1000:.3f}", "-i", str(src), "-map", "0:v:0", "-frames:v", "1",
                       "-update", "1", str(dst))


def video_format_argv(path: Path) -> list[str]:
    """ffprobe argv printing the first video stream's pixel format, colour matrix and range as JSON."""
    return ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
            "stream=pix_fmt,color_space,color_range,width,height", "-print_format", "json", str(path)]


def decode_raw_video_argv(src: Path, *, pix_fmt: str) -> list[str]:
    """Decode ``src``'s first video stream to raw planar frames of ``pix_fmt`` on stdout.

    ``-fps_mode passthrough`` hands over every decoded frame once: no duplicates, no drops.
    """
    return ffmpeg_argv("-i", str(src), "-map", "0:v:0", "-an", "-sn", "-fps_mode", "passthrough",
                       "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1")


def encode_raw_video_argv(dst: Path, *, width: int, height: int, pix_fmt: str, fps_num: int, fps_den: int,
                          audio_from: Path | None = None, full_range: bool = False) -> list[str]:
    """Encode raw planar frames from stdin losslessly (FFV1 in Matroska), copying ``audio_from``'s audio.

    The raw bytes are declared as the plain (non-``j``) format with the right range tag, so the
    encoder stores them as they are, with no range conversion.
    """
    plain = pix_fmt.replace("yuvj", "yuv")
    argv = ["-f", "rawvideo", "-pix_fmt", plain, "-s", f"{width}x{height}", "-framerate", f"{fps_num}/{fps_den}",
            "-color_range", "pc" if full_range else "tv", "-i", "pipe:0"]
    if audio_from is not None:
        argv += ["-i", str(audio_from), "-map", "0:v:0", "-map", "1:a:0?", "-c:a", "copy"]
    else:
        argv += ["-map", "0:v:0"]
    argv += ["-c:v", "ffv1", "-level", "3", "-pix_fmt", plain, "-f", "matroska", str(dst)]
    return ffmpeg_argv(*argv)
