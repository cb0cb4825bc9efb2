"""HLS packaging: one video rendition, an audio and a WebVTT subtitle rendition per market, one master.

The package is a folder (``{episode}.hls`` by default)::

    master.m3u8                 EXT-X-MEDIA AUDIO and SUBTITLES groups + one EXT-X-STREAM-INF
    video/index.m3u8, seg_*.ts  the picture, shared by every market, encoded once
    audio-<locale>/...          the market's dub mix, AAC in MPEG-TS segments
    subs-<locale>/...           the market's subtitles, WebVTT segments aligned with the video's
    cover.jpg, manifest.json

Each market's export adds (or replaces) its own renditions and rewrites the master from what the
folder holds, under a lock so two processes never interleave. Every rendition is built in a
hidden temporary folder and renamed into place; the master and manifest are written atomically.

Timing: video and audio are muxed by separate ffmpeg runs, so both get the same
``-output_ts_offset``; with it neither the video's B-frame delay nor the AAC priming is shifted
away, and picture frame 0 and audio sample 0 land on the same MPEG-TS time. The WebVTT segments'
``X-TIMESTAMP-MAP`` points cue time 0 at that time too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localize import ffmpeg
from localize.errors import OutputError
from localize.fsutil import digest_of, give_usual_mode, write_json_atomic, write_text_atomic
from localize.stages.export.hls_layout import PLAYLIST, audio_dir, subs_dir, video_dir

if TYPE_CHECKING:
    from localize.locales import Locale
    from localize.stages.export import ExportJob, PicturePlan
    from localize.stages.subtitles import Cue

VERSION = "1"
TS_OFFSET_S = 1.0  # see the module docstring
AUDIO_GROUP = "aud"
SUBTITLE_GROUP = "subs"
RENDITION_INFO = "rendition.json"
SESSION_DATA_ID = "com.localize.ai-label"


# --- folder plumbing ---------------------------------------------------------------------------

@contextlib.contextmanager
def package_lock(package: Path) -> Iterator[None]:
    """An exclusive lock on the package folder, held while its renditions and master change."""
    import fcntl

    package.mkdir(parents=True, exist_ok=True)
    with open(package / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``final``; on success it replaces ``final`` whole."""
    final = Path(final)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    except OSError as exc:
        raise OutputError.cannot_write(final.parent, exc) from None
    try:
        yield tmp
        give_usual_mode(tmp)
        old = None
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _read_info(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RENDITION_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def playlist_segments(playlist: Path) -> list[tuple[float, str]]:
    """(duration, URI) of each segment of a media playlist."""
    segments, duration = [], None
    for line in Path(playlist).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((duration, line))
            duration = None
    return segments


def _peak_and_average_bps(folder: Path) -> tuple[int, int]:
    segments = playlist_segments(folder / PLAYLIST)
    peak, total_bits, total_seconds = 0, 0, 0.0
    for duration, uri in segments:
        bits = (folder / uri).stat().st_size * 8
        total_bits += bits
        total_seconds += duration
        if duration > 0.5:  # a short tail segment would overstate the peak
            peak = max(peak, int(bits / duration))
    average = int(total_bits / total_seconds) if total_seconds else 0
    return max(peak, average), average


# --- renditions --------------------------------------------------------------------------------

H264_PROFILE_IDC = {"Baseline": 66, "Constrained Baseline": 66, "Main": 77, "Extended": 88, "High": 100}


def codec_string(stream: dict) -> str:
    """The RFC 6381 CODECS value of a video stream from ffprobe (``avc1.640028``, ``hvc1.1.6.L120.90``)."""
    if stream.get("codec_name") == "hevc":
        return f"hvc1.1.6.L{int(stream.get('level') or 120)}.90"
    idc = H264_PROFILE_IDC.get(str(stream.get("profile")), 100)
    constraints = 0x40 if stream.get("profile") == "Constrained Baseline" else 0
    level = int(stream.get("level") or 40)
    return f"avc1.{idc:02x}{constraints:02x}{level:02x}"


def encode_video(job: ExportJob, plan: PicturePlan, package: Path) -> dict[str, Any]:
    """Encode the shared video rendition unless one made from the same picture and settings is there."""
    from localize.stages.export import encoder_args, picture_digest, picture_filters, write_burn_ass

    profile = job.profile
    assert profile is not None
    key = digest_of("hls-video", VERSION, picture_digest(job), profile.video, profile.hls.segment_seconds,
                    profile.label if profile.label.visible else None, plan.width, plan.height, plan.fps)
    final = video_dir(package)
    info = _read_info(final)
    if info and info.get("key") == key and (final / PLAYLIST).is_file():
        return info
    video_args, _ = encoder_args(profile, job.encoding, plan)
    with staged_dir(final) as tmp, tempfile.TemporaryDirectory(prefix="localize-hls-") as scratch:
        filters = [*picture_filters(job), *plan.filters]
        if profile.label.visible:  # one picture for every market: the label's default words
            ass = Path(scratch) / "label.ass"
            write_burn_ass(ass, [], job.locale, plan.width, plan.height, plan.duration_ms, profile.label,
                           label_text=profile.label.shown_text(None), label_font="Noto Sans")
            filters.append(f"ass={ffmpeg.filter_path(ass)}")
        filters.append("setsar=1")
        args = [*video_args, "-output_ts_offset", f"{TS_OFFSET_S:g}"]
        ffmpeg.run(ffmpeg.hls_video_argv(job.picture, tmp / PLAYLIST, video_filters=filters, video_args=args,
                                         segment_seconds=profile.hls.segment_seconds),
                   what="encoding the HLS video rendition")
        first = playlist_segments(tmp / PLAYLIST)[0][1]
        data = ffmpeg.probe_json(tmp / first)
        stream = next(s for s in data["streams"] if s.get("codec_type") == "video")
        start = float((data.get("format") or {}).get("start_time") or stream.get("start_time") or 0.0)
        info = {"type": "video", "key": key, "width": plan.width, "height": plan.height, "fps": plan.fps,
                "codecs": codec_string(stream), "start_mpegts": int(round(start * 90000)),
                "label": profile.label.shown_text(None) if profile.label.visible else None}
        write_json_atomic(tmp / RENDITION_INFO, info)
    return info


def encode_audio(job: ExportJob, package: Path) -> None:
    """The market's audio rendition: its dub mix as AAC segments, tagged with its language."""
    from localize.stages import export as export_stage

    profile = job.profile
    assert profile is not None
    a = profile.audio
    args = ffmpeg.audio_codec_args(codec=a.codec, bitrate=a.bitrate or job.encoding.audio_bitrate,
                                   rate=a.sample_rate or job.encoding.audio_rate, channels=a.channels)
    with staged_dir(audio_dir(package, job.locale)) as tmp, tempfile.TemporaryDirectory(prefix="localize-hls-") as t:
        encoded = Path(t) / "audio.m4a"  # encoded once, under the true-peak ceiling, then segmented as is
        export_stage.encode_audio(job.audio, encoded, args, export_stage.ceiling_of(job))
        ffmpeg.run(ffmpeg.hls_audio_argv(encoded, tmp / PLAYLIST, audio_args=["-c:a", "copy", "-output_ts_offset",
                                                                               f"{TS_OFFSET_S:g}"],
                                         segment_seconds=profile.hls.segment_seconds,
                                         language=job.locale.iso639_2),
                   what=f"packaging the HLS audio rendition for {job.locale.tag}")
        channels = a.channels or int(ffmpeg.probe_json(job.audio)["streams"][0].get("channels") or 2)
        write_json_atomic(tmp / RENDITION_INFO, {
            "type": "audio", "locale": job.locale.tag, "language": job.locale.language, "name": job.locale.name,
            "codecs": "mp4a.40.2", "channels": channels})


def _vtt_time(ms: int) -> str:
    ms = max(0, int(ms))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _vtt_text(text: str) -> str:
    # WebVTT cue text may not hold a bare "-->", and & and < start markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_subtitles(cues: list[Cue], locale: Locale, package: Path, video: dict[str, Any]) -> None:
    """The market's WebVTT rendition, cut on the video's segment boundaries (a cue spanning two repeats)."""
    boundaries = [0.0]
    for duration, _ in playlist_segments(video_dir(package) / PLAYLIST):
        boundaries.append(boundaries[-1] + duration)
    header = f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{video['start_mpegts']},LOCAL:00:00:00.000\n"
    with staged_dir(subs_dir(package, locale)) as tmp:
        lines = ["#EXTM3U", "#EXT-X-VERSION:3",
                 f"#EXT-X-TARGETDURATION:{max(1, round(max(b - a for a, b in zip(boundaries, boundaries[1:]))))}",
                 "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
        for index, (start, end) in enumerate(zip(boundaries, boundaries[1:])):
            body = [header]
            for cue in cues:
                if cue.start_ms < end * 1000 and cue.end_ms > start * 1000:
                    body.append(f"{_vtt_time(cue.start_ms)} --> {_vtt_time(cue.end_ms)}\n"
                                + "\n".join(_vtt_text(line) for line in cue.lines) + "\n")
            name = f"seg_{index:05d}.vtt"
            (tmp / name).write_text("\n".join(body), encoding="utf-8")
            lines += [f"#EXTINF:{end - start:.6f},", name]
        lines.append("#EXT-X-ENDLIST")
        (tmp / PLAYLIST).write_text("\n".join(lines) + "\n", encoding="utf-8")
        write_json_atomic(tmp / RENDITION_INFO, {"type": "subtitles", "locale": locale.tag,
                                                 "language": locale.language, "name": locale.name,
                                                 "cues": len(cues)})


# --- master playlist ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rendition:
    """An audio or subtitle rendition found in the package."""

    kind: str
    folder: str
    locale: str
    name: str
    channels: int | None = None


def _quoted(text: str) -> str:
    return '"' + re.sub(r'["\r\n]', "'", text) + '"'


def find_renditions(package: Path) -> list[Rendition]:
    """Every complete audio and subtitle rendition in ``package``, in a stable order."""
    found = []
    for folder in sorted(Path(package).iterdir()):
        if folder.name.startswith(".") or not folder.is_dir() or not (folder / PLAYLIST).is_file():
            continue
        info = _read_info(folder)
        if info and info.get("type") in ("audio", "subtitles"):
            found.append(Rendition(info["type"], folder.name, info["locale"], info.get("name") or info["locale"],
                                   info.get("channels")))
    return found


def master_playlist(package: Path, profile_label: str, video: dict[str, Any],
                    renditions: list[Rendition]) -> str:
    """The master playlist text for the package's renditions."""
    audio = [r for r in renditions if r.kind == "audio"]
    subs = [r for r in renditions if r.kind == "subtitles"]
    if not audio:
        raise OutputError(f"{package.name}: no audio rendition to list in the master playlist")

    def display(r: Rendition, group: list[Rendition]) -> str:
        # NAME must be unique in a group: add the tag when two markets share a language name.
        return r.name if sum(o.name == r.name for o in group) == 1 else f"{r.name} ({r.locale})"

    lines = ["#EXTM3U", "#EXT-X-VERSION:4", "#EXT-X-INDEPENDENT-SEGMENTS",
             f"#EXT-X-SESSION-DATA:DATA-ID={_quoted(SESSION_DATA_ID)},VALUE={_quoted(profile_label)}"]
    for i, r in enumerate(audio):
        lines.append(f"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID={_quoted(AUDIO_GROUP)},LANGUAGE={_quoted(r.locale)},"
                     f"NAME={_quoted(display(r, audio))},DEFAULT={'YES' if i == 0 else 'NO'},AUTOSELECT=YES,"
                     f"CHANNELS={_quoted(str(r.channels or 2))},URI={_quoted(f'{r.folder}/{PLAYLIST}')}")
    for r in subs:
        lines.append(f"#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID={_quoted(SUBTITLE_GROUP)},LANGUAGE={_quoted(r.locale)},"
                     f"NAME={_quoted(display(r, subs))},DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,"
                     f"URI={_quoted(f'{r.folder}/{PLAYLIST}')}")
    video_peak, video_avg = _peak_and_average_bps(video_dir(package))
    audio_rates = [_peak_and_average_bps(Path(package) / r.folder) for r in audio]
    peak = video_peak + max(p for p, _ in audio_rates)
    average = video_avg + max(a for _, a in audio_rates)
    attributes = [f"BANDWIDTH={peak}", f"AVERAGE-BANDWIDTH={average}",
                  f"CODECS={_quoted(video['codecs'] + ',mp4a.40.2')}",
                  f"RESOLUTION={video['width']}x{video['height']}", f"FRAME-RATE={video['fps']:.3f}",
                  f"AUDIO={_quoted(AUDIO_GROUP)}"]
    if subs:
        attributes.append(f"SUBTITLES={_quoted(SUBTITLE_GROUP)}")
    lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), f"video/{PLAYLIST}"]
    return "\n".join(lines) + "\n"


def package_files(package: Path) -> dict[str, list[Path]]:
    """Every delivered file of the package by role (not its lock, manifest or hidden work folders)."""
    files: dict[str, list[Path]] = {}
    for path in sorted(Path(package).rglob("*")):
        rel = path.relative_to(package)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts) \
                or rel.name in ("manifest.json", RENDITION_INFO):
            continue
        top = rel.parts[0]
        role = ("master" if rel.name == "master.m3u8" else "cover" if len(rel.parts) == 1 else
                "video" if top == "video" else "audio" if top.startswith("audio-") else
                "subtitles" if top.startswith("subs-") else "other")
        files.setdefault(role, []).append(path)
    return files


def export_hls(job: ExportJob) -> dict:
    """Add ``job``'s market to its HLS package (encoding the shared video the first time); rewrite the master."""
    from localize.locales import get_locale
    from localize.stages import export as export_stage
    from localize.stages import subtitles as subtitle_stage
    from localize.stages.export.manifest import write_manifest

    profile = job.profile
    assert profile is not None and profile.container == "hls"
    package = Path(job.outputs["hls"])
    master = Path(job.video_out)
    with package_lock(package):
        plan = export_stage.plan_picture(profile, ffmpeg.probe(job.picture))
        video = encode_video(job, plan, package)
        encode_audio(job, package)
        cues = export_stage.clip_cues(job.cues, plan.duration_ms)
        if profile.subtitles.mode == "renditions":
            write_subtitles(cues, job.locale, package, video)
        for fmt in profile.subtitles.sidecar:
            subtitle_stage.write_subtitles(cues, job.locale, plan.width, plan.height,
                                           job.srt_out if fmt == "srt" else job.outputs[fmt], fmt)
        cover = job.outputs.get("cover")
        if profile.cover.enabled and cover is not None and not (cover.is_file() and cover.stat().st_mtime >=
                                                                 (video_dir(package) / PLAYLIST).stat().st_mtime):
            export_stage.write_cover(job, cover, plan, profile)
        renditions = find_renditions(package)
        write_text_atomic(master, master_playlist(package, profile.label.text, video, renditions))
        if profile.manifest:
            locales = sorted({r.locale for r in renditions})
            write_manifest(job.outputs["manifest"], package_files(package), profile=profile,
                           locales=[get_locale(tag) for tag in locales], series=job.series, episode=job.episode,
                           visible_label=video.get("label"))
    made = {"master": str(master), "audio": str(audio_dir(package, job.locale) / PLAYLIST)}
    if profile.subtitles.mode == "renditions":
        made["subtitles"] = str(subs_dir(package, job.locale) / PLAYLIST)
    return made
