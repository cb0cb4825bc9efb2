"""The one place that knows ffmpeg's command line.

Builders return argv lists (unit-tested without running ffmpeg); :func:`run`
and :func:`probe` execute them and turn failures into :class:`ToolError` or
:class:`InputError`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from localize.errors import InputError, LocalizeError, OutputError, ToolError

BASE_ARGS = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ToolError(f"{name} not found on PATH; install ffmpeg (Debian: apt-get install ffmpeg)")
    return found


def resolved(argv: list[str]) -> list[str]:
    """``argv`` with its program name (``ffmpeg``/``ffprobe``) replaced by the binary's full path.

    Raises :class:`ToolError` with an install hint when the program is missing.
    """
    return [_binary(argv[0]), *argv[1:]]


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

    def video_args(self) -> list[str]:
        return ["-c:v", self.codec, "-crf", str(self.crf), "-preset", self.preset, "-pix_fmt", self.pix_fmt]

    def audio_args(self) -> list[str]:
        return ["-c:a", self.audio_codec, "-b:a", self.audio_bitrate, "-ar", str(self.audio_rate)]

    def args(self) -> list[str]:
        return [*self.video_args(), *self.audio_args()]


@dataclass(frozen=True)
class BandPatch:
    """The clean picture: ``source`` with rows ``top`` to ``top + rows`` taken from ``band``, a lossless
    video of those rows alone.

    The subtitle removal writes only the band it changed (172 of 1920 rows on the demo), not a lossless
    copy of every frame; whatever reads the clean picture puts the band back over the source with
    :meth:`filters`, bit-exact: both streams are re-stamped frame by frame on one time base (so frame
    ``n`` meets frame ``n``) and stacked with ``vstack``, which converts no pixel format (``overlay``
    turned full-range frames into limited-range ones).
    """

    source: Path
    band: Path
    top: int
    rows: int
    width: int
    height: int
    fps_num: int
    fps_den: int

    def filters(self) -> list[str]:
        """The head of a ``-vf`` chain (one input, one output) giving the clean picture, frame for frame."""
        stamp = f"settb={self.fps_den}/{self.fps_num},setpts=N"
        below = self.height - self.top - self.rows
        parts, labels = [], []
        if self.top > 0:
            parts.append(f"[lz_main_top]crop={self.width}:{self.top}:0:0[lz_top]")
            labels.append("[lz_top]")
        labels.append("[lz_band]")
        if below > 0:
            parts.append(f"[lz_main_bottom]crop={self.width}:{below}:0:{self.top + self.rows}[lz_bottom]")
            labels.append("[lz_bottom]")
        outs = "".join(f"[lz_main_{name}]" for name, used in (("top", self.top > 0), ("bottom", below > 0)) if used)
        head = f"{stamp},split={len(labels) - 1}{outs}" if len(labels) > 1 else f"{stamp},nullsink"
        band = f"movie={filter_path(self.band)},{stamp}[lz_band]"
        stack = f"{''.join(labels)}vstack=inputs={len(labels)}" if len(labels) > 1 else "[lz_band]null"
        return [";".join([head, *parts, band, stack])]

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "source": str(self.source), "band": str(self.band)}

    @classmethod
    def from_dict(cls, data: dict) -> BandPatch:
        return cls(**{**data, "source": Path(data["source"]), "band": Path(data["band"])})


def clean_picture_argv(patch: BandPatch, dst: Path) -> list[str]:
    """The clean picture as one lossless file (x264 ``-qp 0`` in Matroska, picture only), for tools
    that need a plain video: benches, tests, a person's own check."""
    return ffmpeg_argv("-i", str(patch.source), "-map", "0:v:0", "-an", "-sn", "-vf", patch.filters()[0],
                       "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", "-f", "matroska", str(dst))


def write_clean_picture(patch: BandPatch, dst: Path) -> Path:
    """Write :func:`clean_picture_argv`'s file at ``dst`` and return ``dst``."""
    run(clean_picture_argv(patch, dst), what="laying the subtitle band over the source")
    return dst


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
    return ffmpeg_argv(*argv, *mp4_output_args(dst, metadata, audio_language))


def mp4_output_args(dst: Path, metadata: dict[str, str] | None, audio_language: str | None) -> list[str]:
    """Metadata, the audio language tag and a fast-start MP4 muxer writing ``dst``."""
    args: list[str] = []
    for key, value in (metadata or {}).items():
        args += ["-metadata", f"{key}={value}"]
    if audio_language:
        args += ["-metadata:s:a:0", f"language={audio_language}"]
    return [*args, "-movflags", "+faststart", "-f", "mp4", str(dst)]


# What ffmpeg prints when the output side, not the input or ffmpeg itself, is at fault.
_OUTPUT_FAULTS = ("No space left on device", "Disk quota exceeded", "Read-only file system", "File too large")


def failure(what: str, stderr: str | bytes) -> LocalizeError:
    """The error for a failed ffmpeg run: :class:`OutputError` when the disk refused its writes (full,
    read-only), else :class:`ToolError` with ffmpeg's last line."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    for fault in _OUTPUT_FAULTS:
        if fault in text:
            return OutputError(f"cannot write while {what}: {fault.lower()}")
    last = (text.strip().splitlines() or ["no message"])[-1]
    return ToolError(f"ffmpeg failed while {what}: {last}")


def run(argv: list[str], *, what: str) -> None:
    """Run an ffmpeg/ffprobe argv; raise :func:`failure`'s error naming ``what`` when it fails."""
    proc = subprocess.run(resolved(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    if proc.returncode != 0:
        raise failure(what, proc.stderr)


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
    nominal_fps: str = ""  # the stream's r_frame_rate ("30/1"): its frames' base rate, for VFR input

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
    container = str(data.get("format", {}).get("format_name", ""))
    if container.endswith("_pipe") or container == "image2":
        raise InputError(f"a still image ({video.get('codec_name')}), not a video")
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
        nominal_fps=str(video.get("r_frame_rate") or ""),
    )


def probe(path: Path) -> MediaInfo:
    """Probe ``path`` with ffprobe."""
    try:
        return parse_probe(probe_json(path))
    except InputError as exc:
        if str(exc).startswith(f"{path.name}:"):
            raise
        raise InputError(f"{path.name}: {exc}") from None


def frame_times(path: Path) -> list[float]:
    """Presentation times (s) of the first video stream's packets, in time order."""
    proc = subprocess.run(resolved(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                    "packet=pts_time", "-of", "csv=p=0", str(path)]),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    if proc.returncode != 0:
        raise failure(f"reading the frame times of {Path(path).name}", proc.stderr)
    times = []
    for line in proc.stdout.split():
        try:
            times.append(float(line.strip(",")))
        except ValueError:
            continue  # N/A
    return sorted(times)


def is_variable_rate(path: Path, nominal_fps: float) -> bool:
    """Whether the frames of ``path`` are not evenly spaced at ``nominal_fps`` (a gap or a burst of
    more than half a frame)."""
    times = frame_times(path)
    if len(times) < 3 or nominal_fps <= 0:
        return False
    frame = 1.0 / nominal_fps
    return any(abs((b - a) - frame) > frame / 2 for a, b in zip(times, times[1:]))


def conform_picture_argv(src: Path, dst: Path, *, fps: str, pad_even: bool) -> list[str]:
    """The picture of ``src`` as a lossless constant-rate intermediate: frames repeated at their source
    times to ``fps`` (a rational like ``30/1``), padded to even sizes when ``pad_even``; no audio."""
    filters = ["pad=ceil(iw/2)*2:ceil(ih/2)*2"] if pad_even else []
    return ffmpeg_argv("-i", str(src), "-map", "0:v:0", "-an", "-sn", "-dn", *(["-vf", ",".join(filters)] if filters else []),
                       "-fps_mode", "cfr", "-r", fps, "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
                       str(dst))


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


def raw_rgb_video_argv(dst: Path, *, width: int, height: int, fps: int, duration_ms: int, audio: Path | None,
                       subtitles: Path | None, encoding: VideoEncoding,
                       metadata: dict[str, str] | None = None) -> list[str]:
    """Encode raw RGB frames from stdin into an MP4 of exactly ``duration_ms``, ``subtitles`` (ASS) burned in.

    The same frames piped in twice, with and without ``subtitles``, give a video and its clean plate
    that differ only where the subtitles are (and by the encoder's own noise).
    """
    argv = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", str(fps), "-i", "pipe:0"]
    if audio is not None:
        argv += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0"]
    filters = ["format=yuv420p"] + ([f"ass={filter_path(subtitles)}"] if subtitles is not None else []) + ["setsar=1"]
    argv += ["-vf", ",".join(filters), "-r", str(fps), *encoding.args()]
    if audio is None:
        argv += ["-an"]
    else:
        argv += ["-ac", "2"]
    argv += ["-t", f"{duration_ms / 1000:.3f}"]
    return ffmpeg_argv(*argv, *mp4_output_args(dst, metadata, None))


def extract_frame_argv(src: Path, dst: Path, *, at_ms: int) -> list[str]:
    """Decode the single video frame shown at ``at_ms`` into a picture (format from ``dst``'s suffix)."""
    # -ss before -i seeks fast and, with re-decoding from the keyframe, frame-accurately.
    return ffmpeg_argv("-ss", f"{at_ms / 1000:.3f}", "-i", str(src), "-map", "0:v:0", "-frames:v", "1",
                       "-update", "1", str(dst))


def video_format_argv(path: Path) -> list[str]:
    """ffprobe argv printing the first video stream's pixel format, colour matrix and range as JSON."""
    return ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
            "stream=pix_fmt,color_space,color_range,width,height", "-print_format", "json", str(path)]


def decode_raw_video_argv(src: Path, *, pix_fmt: str, video_filters: list[str] | None = None) -> list[str]:
    """Decode ``src``'s first video stream (through ``video_filters``) to raw planar frames of ``pix_fmt`` on stdout.

    ``-fps_mode passthrough`` hands over every decoded frame once: no duplicates, no drops.
    """
    filters = ["-vf", ",".join(video_filters)] if video_filters else []
    return ffmpeg_argv("-i", str(src), "-map", "0:v:0", "-an", "-sn", *filters, "-fps_mode", "passthrough",
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


def decode_raw_region_argv(src: Path, *, pix_fmt: str, crop: tuple[int, int, int, int] | None = None,
                           size: tuple[int, int] | None = None, every: int = 1) -> list[str]:
    """Decode ``src``'s first video stream to raw ``pix_fmt`` frames on stdout, cut down on the way.

    ``every``: keep only frames 0, every, 2*every, ... (decoding still sees every frame, so the
    kept ones are exact frame numbers); ``crop``: (x, y, width, height) in the decoded picture;
    ``size``: (width, height) to scale the (cropped) picture to, with area averaging.
    """
    filters = []
    if every > 1:
        filters.append(f"select=not(mod(n\\,{int(every)}))")
    if crop is not None:
        x, y, w, h = (int(v) for v in crop)
        filters.append(f"crop={w}:{h}:{x}:{y}")
    if size is not None:
        filters.append(f"scale={int(size[0])}:{int(size[1])}:flags=area")
    argv = ["-i", str(src), "-map", "0:v:0", "-an", "-sn", "-fps_mode", "passthrough"]
    if filters:
        argv += ["-vf", ",".join(filters)]
    return ffmpeg_argv(*argv, "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1")


# --- delivery: export profiles, covers, HLS, loudness ------------------------------------------

def fit_frame_filters(*, resize: str, width: int, height: int, fps: float | None = None) -> list[str]:
    """Filters that cap the frame rate (``fps``, when given) and fit the picture to ``width`` x ``height``.

    ``resize``: ``keep`` (no change), ``scale`` (fill the frame, cropping the overflow) or ``pad``
    (fit inside the frame, black bars). Frame-rate conversion comes first so later filters see
    fewer frames.
    """
    filters = [f"fps={fps:g}"] if fps else []
    if resize == "scale":
        filters += [f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=lanczos",
                    f"crop={width}:{height}"]
    elif resize == "pad":
        filters += [f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2:flags=lanczos",
                    f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black"]
    elif resize != "keep":
        raise ValueError(f"unknown resize policy {resize!r}")
    return filters


def video_codec_args(*, codec: str, preset: str, pix_fmt: str, crf: int | None = None, bitrate: str | None = None,
                     maxrate: str | None = None, h264_profile: str | None = None,
                     gop_frames: int | None = None) -> list[str]:
    """Encoder arguments for libx264/libx265: CRF (optionally VBV-capped by ``maxrate``) or a target bit rate."""
    args = ["-c:v", codec, "-preset", preset, "-pix_fmt", pix_fmt]
    if bitrate is not None:
        args += ["-b:v", bitrate, "-maxrate", bitrate, "-bufsize", _double_rate(bitrate)]
    else:
        args += ["-crf", str(crf if crf is not None else 20)]
        if maxrate is not None:
            args += ["-maxrate", maxrate, "-bufsize", _double_rate(maxrate)]
    if h264_profile and codec == "libx264":
        args += ["-profile:v", h264_profile]
    if codec == "libx265":
        args += ["-tag:v", "hvc1"]  # the tag Apple players need to open HEVC in MP4
    if gop_frames:
        # A fixed GOP with no scene-cut keyframes: every segment boundary lands on a keyframe.
        args += ["-g", str(gop_frames), "-keyint_min", str(gop_frames), "-sc_threshold", "0"]
    return args


def _double_rate(rate: str) -> str:
    """Twice a bit rate written like ``4M`` or ``2500k`` (a VBV buffer of two seconds)."""
    number, unit = (rate[:-1], rate[-1]) if rate[-1] in "kKmM" else (rate, "")
    value = float(number) * 2
    return f"{value:g}{unit}"


def audio_codec_args(*, codec: str, bitrate: str, rate: int, channels: int | None = None) -> list[str]:
    """Audio encoder arguments; ``channels`` None keeps the input's layout."""
    args = ["-c:a", codec, "-b:a", bitrate, "-ar", str(rate)]
    if channels:
        args += ["-ac", str(channels)]
    return args


def export_argv(picture: Path, audio: Path, dst: Path, *, video_filters: list[str], video_args: list[str],
                audio_args: list[str], metadata: dict[str, str] | None = None, audio_language: str | None = None,
                soft_subtitles: Path | None = None, subtitle_language: str | None = None,
                subtitle_title: str | None = None) -> list[str]:
    """An MP4 of ``picture`` with ``audio`` as its sound, filtered and encoded per a delivery profile.

    ``soft_subtitles`` (SRT) becomes a ``mov_text`` track with ``subtitle_language`` (ISO 639-2).
    The source's own metadata and chapters are dropped so only ours (title, AI label) remain.
    """
    argv = ["-i", str(picture), "-i", str(audio)]
    if soft_subtitles is not None:
        argv += ["-i", str(soft_subtitles)]
    argv += ["-map", "0:v:0", "-map", "1:a:0"]
    if soft_subtitles is not None:
        argv += ["-map", "2:s:0"]
    argv += ["-map_metadata", "-1", "-map_chapters", "-1"]
    if video_filters:
        argv += ["-vf", ",".join(video_filters)]
    argv += [*video_args, *audio_args]
    if soft_subtitles is not None:
        argv += ["-c:s", "mov_text"]
        if subtitle_language:
            argv += ["-metadata:s:s:0", f"language={subtitle_language}"]
        if subtitle_title:
            argv += ["-metadata:s:s:0", f"handler_name={subtitle_title}", "-metadata:s:s:0", f"title={subtitle_title}"]
    return ffmpeg_argv(*argv, *mp4_output_args(dst, metadata, audio_language))


def cover_argv(src: Path, dst: Path, *, at_ms: int, video_filters: list[str] | None = None,
               quality: int = 2, seek_input: bool = True) -> list[str]:
    """One JPEG of ``src``'s picture at ``at_ms``, through ``video_filters`` (the profile's fit).

    ``seek_input=False`` decodes from the start and drops frames before ``at_ms``: needed when the
    filters read a second video (a :class:`BandPatch`) that must stay frame-aligned with ``src``.
    """
    seek = ["-ss", f"{at_ms / 1000:.3f}"]
    argv = [*(seek if seek_input else []), "-i", str(src), *([] if seek_input else seek), "-map", "0:v:0",
            "-frames:v", "1"]
    if video_filters:
        argv += ["-vf", ",".join(video_filters)]
    return ffmpeg_argv(*argv, "-q:v", str(quality), "-update", "1", "-f", "image2", "-c:v", "mjpeg", str(dst))


def _hls_args(playlist: Path, segment_seconds: float) -> list[str]:
    return ["-f", "hls", "-hls_time", f"{segment_seconds:g}", "-hls_playlist_type", "vod", "-hls_list_size", "0",
            "-hls_segment_type", "mpegts", "-hls_flags", "independent_segments",
            "-hls_segment_filename", str(playlist.parent / "seg_%05d.ts"), str(playlist)]


def hls_video_argv(src: Path, playlist: Path, *, video_filters: list[str], video_args: list[str],
                   segment_seconds: float) -> list[str]:
    """A video-only HLS rendition (MPEG-TS segments ``seg_NNNNN.ts`` beside ``playlist``)."""
    argv = ["-i", str(src), "-map", "0:v:0", "-an", "-sn", "-map_metadata", "-1"]
    if video_filters:
        argv += ["-vf", ",".join(video_filters)]
    return ffmpeg_argv(*argv, *video_args, *_hls_args(playlist, segment_seconds))


def hls_audio_argv(src: Path, playlist: Path, *, audio_args: list[str], segment_seconds: float,
                   language: str | None = None) -> list[str]:
    """An audio-only HLS rendition of ``src``'s first audio stream, tagged with ``language`` (ISO 639-2)."""
    argv = ["-i", str(src), "-map", "0:a:0", "-vn", "-sn", "-map_metadata", "-1", *audio_args]
    if language:
        argv += ["-metadata:s:a:0", f"language={language}"]
    return ffmpeg_argv(*argv, *_hls_args(playlist, segment_seconds))


def ebur128_argv(src: Path, *, stream: str = "a:0") -> list[str]:
    """Measure BS.1770 loudness and true peak of ``src``'s audio; the summary goes to stderr.

    Not :func:`ffmpeg_argv`: the summary is printed at the info log level that our quiet flags hide.
    """
    return ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-i", str(src), "-map", f"0:{stream}", "-vn", "-sn",
            "-af", "ebur128=peak=true", "-f", "null", "-"]


def parse_ebur128(text: str) -> dict[str, float]:
    """Integrated loudness (LUFS), loudness range (LU) and true peak (dBFS) from ebur128's summary."""
    import re

    summary = text[text.rfind("Summary:"):]
    found = {}
    for key, pattern in (("integrated_lufs", r"I:\s+(-?[\d.]+|-inf) LUFS"), ("range_lu", r"LRA:\s+(-?[\d.]+) LU"),
                         ("true_peak_db", r"Peak:\s+(-?[\d.]+|-inf) dBFS")):
        match = re.search(pattern, summary)
        if match:
            found[key] = float(match.group(1))
    if "integrated_lufs" not in found:
        raise ToolError("ffmpeg ebur128 printed no loudness summary")
    return found


def measure_loudness(src: Path) -> dict[str, float]:
    """Run :func:`ebur128_argv` on ``src`` and parse its summary."""
    proc = subprocess.run(resolved(ebur128_argv(src)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    if proc.returncode != 0:
        raise failure(f"measuring loudness of {src.name}", proc.stderr)
    return parse_ebur128(proc.stderr)


def probe_json(path: Path) -> dict:
    """ffprobe's full JSON (format and streams) for any media file, audio-only and subtitles included."""
    proc = subprocess.run(resolved(probe_argv(path)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["unreadable"])[-1]
        raise InputError(f"{path.name}: not a readable media file ({reason})")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: ffprobe returned no usable data") from exc


def encode_raw_lossless_h264_argv(dst: Path, *, width: int, height: int, pix_fmt: str, fps_num: int, fps_den: int,
                                  full_range: bool = False) -> list[str]:
    """Encode raw planar frames from stdin as lossless H.264 (x264 ``-qp 0``) in Matroska, picture only.

    Decodes bit-exact like :func:`encode_raw_video_argv`'s FFV1, but encodes about five times
    faster and ten times smaller (a 1080x1920 episode: 15 s and 16 MB against 81 s and 144 MB).
    """
    plain = pix_fmt.replace("yuvj", "yuv")
    argv = ["-f", "rawvideo", "-pix_fmt", plain, "-s", f"{width}x{height}", "-framerate", f"{fps_num}/{fps_den}",
            "-color_range", "pc" if full_range else "tv", "-i", "pipe:0", "-map", "0:v:0",
            "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", "-pix_fmt", plain, "-f", "matroska", str(dst)]
    return ffmpeg_argv(*argv)


def video_only_argv(src: Path, dst: Path, *, video_filters: list[str], video_args: list[str]) -> list[str]:
    """``src``'s picture alone, filtered and encoded into an MP4 (shared by markets, remuxed per market)."""
    argv = ["-i", str(src), "-map", "0:v:0", "-an", "-sn", "-map_metadata", "-1"]
    if video_filters:
        argv += ["-vf", ",".join(video_filters)]
    return ffmpeg_argv(*argv, *video_args, "-f", "mp4", str(dst))


def close_encoder(encoder: subprocess.Popen, stderr_file, what: str) -> None:
    """Close an ffmpeg encoder fed through stdin, wait for it, and raise :class:`ToolError` if it failed.

    ``stderr_file`` is the seekable file its stderr went to; the last line names the failure.
    """
    if encoder.stdin is not None and not encoder.stdin.closed:
        try:
            encoder.stdin.close()
        except BrokenPipeError:
            pass
    encoder.wait()
    if encoder.returncode != 0:
        stderr_file.seek(0)
        raise failure(what, stderr_file.read())


def encode_audio_argv(src: Path, dst: Path, *, audio_args: list[str]) -> list[str]:
    """``src``'s first audio stream encoded alone into an MP4 audio file (M4A), to be copied into outputs."""
    return ffmpeg_argv("-i", str(src), "-map", "0:a:0", "-vn", "-sn", "-map_metadata", "-1", *audio_args,
                       "-f", "mp4", str(dst))


def decode_audio_f32_argv(src: Path, dst: Path, *, rate: int, channels: int) -> list[str]:
    """Decode ``src``'s first audio stream to 32-bit float WAV: peaks above full scale survive, unclipped."""
    return ffmpeg_argv("-i", str(src), "-map", "0:a:0", "-vn", "-ac", str(channels), "-ar", str(rate),
                       "-c:a", "pcm_f32le", "-f", "wav", str(dst))
