"""Export: encode the final picture with the mix and the target subtitles, atomically.

Without a delivery profile this writes the plain MP4 (subtitles burned in) and an SRT. With one
(:mod:`localize.stages.export.profiles`) the profile decides the picture size and rate, the codecs,
how subtitles travel (burned, a soft ``mov_text`` track, sidecar SRT/VTT, HLS renditions), the
metadata and AI-content label, a visible label, a cover and a manifest. Every file appears under
its final name complete or not at all; the manifest is written last.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from localize import ffmpeg
from localize.ffmpeg import BandPatch, MediaInfo, VideoEncoding
from localize.fsutil import atomic_path
from localize.locales import Locale
from localize.stages import subtitles as subtitle_stage

if TYPE_CHECKING:
    from localize.stages.export.profiles import ExportProfile, LabelSpec

VERSION = "1"
AI_LABEL = "AI-generated: dubbed voices, translation and subtitles made by localize"
# Where a visible label sits, as shares of the frame: clear of the apps' top bar (~130-250 px of
# 1920), bottom controls (~320-460 px) and right-hand buttons (~120-180 px of 1080); design.md.
LABEL_TOP = 0.14
LABEL_BOTTOM = 0.25
LABEL_LEFT = 0.06
LABEL_RIGHT = 0.17
LABEL_FONT_SIZE = 0.02


@dataclass
class ExportJob:
    """One market's render: inputs in the work dir, final outputs under their contract names.

    ``profile`` (None: the plain MP4) and ``outputs`` (its named paths, from
    ``ExportProfile.output_paths``) come from the delivery profile; ``series`` and ``episode`` feed
    its title template and metadata.
    """

    picture: Path
    audio: Path
    subtitles_ass: Path
    cues: list[subtitle_stage.Cue]
    locale: Locale
    width: int
    height: int
    title: str
    video_out: Path
    srt_out: Path
    encoding: VideoEncoding
    profile: ExportProfile | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    series: str = ""
    episode: str = ""
    work_dir: Path | None = None  # where a picture shared by every market may be kept
    true_peak_db: float | None = None  # the mix's true-peak ceiling, held after encoding too
    picture_task: PictureTask | None = None  # the picture's encode, started early (see start_picture)
    band: BandPatch | None = None  # the subtitle removal's band, laid over ``picture`` (see picture_filters)


def picture_filters(job: ExportJob) -> list[str]:
    """The filters that make ``job.picture`` the clean picture (its subtitle band laid back), or none."""
    return job.band.filters() if job.band is not None else []


def picture_digest(job: ExportJob) -> str:
    """What identifies ``job``'s picture in a cache key: the file's digest, and the band's."""
    from localize.fsutil import digest_of, file_digest

    source = file_digest(job.picture)
    if job.band is None:
        return source
    return digest_of(source, file_digest(job.band.band), job.band.top, job.band.rows)


def delivered_files(job: ExportJob) -> list[Path]:
    """The files :func:`export` leaves for ``job``; one missing means the export must run again."""
    if job.profile is None:
        return [job.video_out, job.srt_out]
    return job.profile.delivered({**job.outputs, "video": job.video_out, "srt": job.srt_out}, job.locale)


def export(job: ExportJob) -> dict:
    """Render ``job``'s outputs; returns their paths by role."""
    if job.profile is None:
        metadata = {"comment": AI_LABEL, "title": job.title}
        with atomic_path(job.video_out) as tmp_video:
            if job.picture_task is not None:  # the picture was encoded while the voices were made
                try:
                    picture = job.picture_task.wait()
                finally:
                    job.picture_task.close()
                argv = ffmpeg.export_argv(picture, job.audio, tmp_video, video_filters=[], video_args=["-c:v", "copy"],
                                          audio_args=job.encoding.audio_args(), metadata=metadata,
                                          audio_language=job.locale.iso639_2)
            else:
                argv = ffmpeg.render_argv(job.picture, job.audio, tmp_video, subtitles=job.subtitles_ass,
                                          fonts_dir=None, encoding=job.encoding, metadata=metadata,
                                          extra_filters=picture_filters(job),
                                          audio_language=job.locale.iso639_2)
            ffmpeg.run(argv, what=f"rendering {job.locale.tag}")
        subtitle_stage.write_subtitles(job.cues, job.locale, job.width, job.height, job.srt_out, "srt")
        return {"video": str(job.video_out), "srt": str(job.srt_out)}
    if job.profile.container == "hls":
        from localize.stages.export.hls import export_hls

        return export_hls(job)
    return _export_mp4(job)


# --- profile-driven MP4 ----------------------------------------------------------------------

@dataclass(frozen=True)
class PicturePlan:
    """What the profile makes of the source picture: output size and rate, and the filters that do it."""

    width: int
    height: int
    fps: float
    rate: list[str]  # the frame-rate cap (runs first: later filters see fewer frames)
    fit: list[str]  # the size policy
    duration_ms: int

    @property
    def filters(self) -> list[str]:
        return [*self.rate, *self.fit]

    def gop_frames(self, seconds: float | None) -> int | None:
        return max(1, int(round(seconds * self.fps))) if seconds else None


def plan_picture(profile: ExportProfile, media: MediaInfo) -> PicturePlan:
    """Apply the profile's size policy and frame-rate cap to a source picture."""
    v = profile.video
    src_w, src_h = (media.height, media.width) if media.rotation in (90, 270) else (media.width, media.height)
    cap = v.fps if v.fps is not None and media.fps > v.fps + 0.01 else None
    rate = ffmpeg.fit_frame_filters(resize="keep", width=v.width, height=v.height, fps=cap)
    fit = ffmpeg.fit_frame_filters(resize=v.resize, width=v.width, height=v.height)
    width, height = (src_w, src_h) if v.resize == "keep" else (v.width, v.height)
    return PicturePlan(width=width, height=height, fps=cap or media.fps, rate=rate, fit=fit,
                       duration_ms=media.duration_ms)


def encoder_args(profile: ExportProfile, encoding: VideoEncoding, plan: PicturePlan) -> tuple[list[str], list[str]]:
    """(video args, audio args): the profile's choices, the run's configured encoding where it sets none."""
    v, a = profile.video, profile.audio
    crf = v.crf if v.crf is not None else (None if v.bitrate else encoding.crf)
    video = ffmpeg.video_codec_args(codec=v.codec or encoding.codec, preset=v.preset or encoding.preset,
                                    pix_fmt=v.pix_fmt, crf=crf, bitrate=v.bitrate, maxrate=v.maxrate,
                                    h264_profile=v.h264_profile, gop_frames=plan.gop_frames(v.gop_seconds))
    audio = ffmpeg.audio_codec_args(codec=a.codec or encoding.audio_codec, bitrate=a.bitrate or encoding.audio_bitrate,
                                    rate=a.sample_rate or encoding.audio_rate, channels=a.channels)
    return video, audio


def metadata_for(job: ExportJob) -> dict[str, str]:
    """Container metadata: title, series and episode, and the AI label under each of the profile's keys."""
    profile = job.profile
    assert profile is not None
    fields = profile.naming_fields(job.series, job.episode or Path(job.video_out).stem, job.locale)
    meta = {"title": profile.title.format(**fields) if profile.title else job.title}
    if job.series and "{series}" in f"{profile.naming} {profile.title or ''}":
        meta["show"] = job.series  # only where the profile treats the folder as a series
    if job.episode:
        meta["episode_id"] = job.episode
    for key in profile.label.metadata_keys:
        meta[key] = profile.label.text
    return meta


def clip_cues(cues: list[subtitle_stage.Cue], duration_ms: int) -> list[subtitle_stage.Cue]:
    """Cues cut to the picture's length: a soft track or sidecar must not outlast the video."""
    clipped = []
    for cue in cues:
        if cue.start_ms < duration_ms:
            clipped.append(subtitle_stage.Cue(cue.start_ms, min(cue.end_ms, duration_ms), list(cue.lines)))
    return clipped


def write_burn_ass(path: Path, cues: list[subtitle_stage.Cue], locale: Locale, width: int, height: int,
                   duration_ms: int, label: LabelSpec | None, label_text: str | None = None,
                   label_font: str | None = None) -> None:
    """The ASS that libass burns in: ``cues`` (may be empty) laid out for the output frame, plus the label."""
    import pysubs2

    subs = subtitle_stage.to_ssa(cues, locale, width, height)
    if label is not None:
        top = label.position.startswith("top")
        left = label.position.endswith("left")
        alignment = {(True, True): pysubs2.Alignment.TOP_LEFT, (True, False): pysubs2.Alignment.TOP_RIGHT,
                     (False, True): pysubs2.Alignment.BOTTOM_LEFT, (False, False): pysubs2.Alignment.BOTTOM_RIGHT}
        subs.styles["Label"] = pysubs2.SSAStyle(
            fontname=label_font or locale.subtitle_font, fontsize=max(12, round(height * LABEL_FONT_SIZE)),
            bold=True, primarycolor=pysubs2.Color(255, 255, 255), outlinecolor=pysubs2.Color(0, 0, 0, 80),
            backcolor=pysubs2.Color(0, 0, 0, 128), borderstyle=3, outline=max(2, round(height * 0.004)), shadow=0,
            alignment=alignment[(top, left)], marginv=round(height * (LABEL_TOP if top else LABEL_BOTTOM)),
            marginl=round(width * LABEL_LEFT), marginr=round(width * LABEL_RIGHT))
        shown_ms = duration_ms + 1000 if label.visible_seconds is None else int(label.visible_seconds * 1000)
        text = label_text or label.shown_text(locale.language)
        subs.append(pysubs2.SSAEvent(start=0, end=shown_ms, text=text, style="Label", layer=1))
    with atomic_path(path) as tmp:
        subs.save(str(tmp), format_="ass", encoding="utf-8")


def write_cover(job: ExportJob, dst: Path, plan: PicturePlan, profile: ExportProfile) -> None:
    """A JPEG from the clean picture (no subtitles) at the profile's point in the episode."""
    at_ms = int(min(max(profile.cover.at, 0.0), 1.0) * max(plan.duration_ms - 100, 0))
    with atomic_path(dst) as tmp:
        ffmpeg.run(ffmpeg.cover_argv(job.picture, tmp, at_ms=at_ms,
                                     video_filters=[*picture_filters(job), *plan.filters, "setsar=1"],
                                     quality=profile.cover.quality, seek_input=job.band is None),
                   what="taking the cover picture")


def _overshoot_gain(decoded, rate: int, ceiling_db: float):
    """Per-sample gain that brings ``decoded``'s true peaks (4x oversampled) under ``ceiling_db``.

    Held over 5 ms and smoothed so it never jumps: a few dB taken off around the transients the
    codec overshot, nothing elsewhere (the integrated loudness barely moves).
    """
    import numpy as np
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    from localize.audio import db_to_gain, resample

    over = np.abs(resample(decoded, rate, rate * 4))
    peaks = (over if over.ndim == 1 else over.max(axis=1))[: len(decoded) * 4].reshape(len(decoded), 4).max(axis=1)
    needed = np.minimum(1.0, db_to_gain(ceiling_db) / np.maximum(peaks, 1e-9))
    window = max(1, rate // 200)
    held = minimum_filter1d(needed, size=2 * window + 1)
    return np.minimum(uniform_filter1d(held, size=window), needed).astype(np.float32)


def encode_audio(mix: Path, dst: Path, audio_args: list[str], ceiling_db: float, *, rounds: int = 4) -> dict:
    """Encode ``mix`` to AAC in ``dst`` (M4A) with its true peak at or under ``ceiling_db`` after the codec.

    Lossy codecs overshoot the mix's true peak on transients (AAC at 128k by up to 2 dB on our dubs), so
    the encoded file is decoded and measured. Where it overshoots, the mix is turned down around
    those transients and encoded again (two rounds); should that not be enough (dense, loud
    material), the whole mix is turned down by what is left over. Returns the last loudness
    measurement of ``dst``.
    """
    import numpy as np

    from localize.audio import db_to_gain, read_wav, write_wav

    ffmpeg.run(ffmpeg.encode_audio_argv(mix, dst, audio_args=audio_args), what="encoding the audio")
    measured = ffmpeg.measure_loudness(dst)
    source = mix
    with tempfile.TemporaryDirectory(prefix="localize-audio-") as tmp_name:
        for attempt in range(rounds):
            excess = measured["true_peak_db"] - ceiling_db
            if excess <= 0:
                break
            samples, rate = read_wav(source)
            if attempt < 2:
                channels = 1 if samples.ndim == 1 else samples.shape[1]
                decoded_path = Path(tmp_name) / "decoded.wav"
                ffmpeg.run(ffmpeg.decode_audio_f32_argv(dst, decoded_path, rate=rate, channels=channels),
                           what="decoding the encoded audio")
                decoded, _ = read_wav(decoded_path)
                n = min(len(samples), len(decoded))
                gain = np.ones(len(samples), dtype=np.float32)
                gain[:n] = _overshoot_gain(decoded[:n], rate, ceiling_db - 0.2)
            else:
                gain = np.full(len(samples), db_to_gain(-(excess + 0.1)), dtype=np.float32)
            samples = samples * (gain if samples.ndim == 1 else gain[:, None])
            source = Path(tmp_name) / f"mix.{attempt}.wav"
            write_wav(source, samples, rate)
            ffmpeg.run(ffmpeg.encode_audio_argv(source, dst, audio_args=audio_args), what="encoding the audio")
            measured = ffmpeg.measure_loudness(dst)
    return measured


def ceiling_of(job: ExportJob) -> float:
    """The true-peak ceiling of the delivered audio: the run's mix ceiling, else the profile's, else -1 dBTP."""
    if job.true_peak_db is not None:
        return job.true_peak_db
    if job.profile is not None and job.profile.true_peak_db is not None:
        return job.profile.true_peak_db
    return -1.0


def picture_is_shared(profile: ExportProfile) -> bool:
    """True when every market's picture is the same: nothing language-specific is drawn on it."""
    return profile.subtitles.mode != "burned" and (not profile.label.visible or len(profile.label.visible_text) == 1)


class PictureTask:
    """A profile's picture encode (ffmpeg, video only), running in the background or already done.

    The pipeline starts it as soon as the market's subtitles are known, so x264 works while Python
    voices and mixes the market; the export then waits for it and copies the picture in. The file
    appears under ``target`` complete or not at all.
    """

    def __init__(self, target: Path, argv: list[str] | None = None, what: str = "encoding the picture") -> None:
        self.target = Path(target)
        self.what = what
        self._proc: subprocess.Popen | None = None
        self._tmp: Path | None = None
        self._stderr = None
        if argv is None:
            return
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.target.stem}.", suffix=".part.mp4", dir=self.target.parent)
        os.close(fd)
        self._tmp = Path(tmp_name)
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(ffmpeg.resolved([*argv[:-1], str(self._tmp)]), stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=self._stderr)
        except BaseException:
            self.close()
            raise

    def wait(self) -> Path:
        """The encoded picture; raises :class:`~localize.errors.ToolError` when ffmpeg failed."""
        if self._proc is not None:
            try:
                ffmpeg.close_encoder(self._proc, self._stderr, self.what)
            finally:
                self.close()  # moves a finished file into place, removes a failed one's
        return self.target

    def close(self) -> None:
        """Stop an unfinished encode and remove its partial file; a finished, good one is kept."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            if self._proc.wait() == 0 and self._tmp is not None:
                os.replace(self._tmp, self.target)
                self._tmp = None
            self._proc = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def start_picture(job: ExportJob, plan: PicturePlan | None = None) -> PictureTask | None:
    """Start encoding ``job``'s picture in the background; None where it is not a separate encode.

    A profile's MP4 picture is encoded on its own into the work dir and copied into the delivered
    file: once for every market when nothing language-specific is drawn on it (see
    :func:`picture_is_shared`), else once per market with its burned subtitles and label. Either
    way it is kept under a key of everything that shapes it, so a market re-voiced later (or a
    second market) reuses it. ``job.audio`` need not exist yet.
    """
    profile = job.profile
    if job.work_dir is None or (profile is not None and profile.container != "mp4"):
        return None
    from localize.fsutil import digest_of, file_digest

    if profile is None:
        return _plain_picture(job)
    picture = picture_digest(job)

    plan = plan or plan_picture(profile, ffmpeg.probe(job.picture))
    video_args, _ = encoder_args(profile, job.encoding, plan)
    work_dir = Path(job.work_dir)
    if picture_is_shared(profile):
        label = profile.label.shown_text(None) if profile.label.visible else None
        key = digest_of("shared-picture", VERSION, picture, profile.video, profile.label,
                        plan.width, plan.height, plan.fps, video_args)
        target = work_dir / f"picture.{profile.name}.{key[:16]}.mp4"
        if target.is_file():
            return PictureTask(target)
        filters = [*picture_filters(job), *plan.filters]
        if label is not None:
            ass = work_dir / f"label.{profile.name}.{key[:16]}.ass"
            write_burn_ass(ass, [], job.locale, plan.width, plan.height, plan.duration_ms, profile.label,
                           label_text=label, label_font="Noto Sans")
            filters.append(f"ass={ffmpeg.filter_path(ass)}")
        what = f"encoding the picture ({profile.name})"
    else:
        burned = profile.subtitles.mode == "burned"
        key = digest_of("market-picture", VERSION, picture, profile.video, profile.label,
                        profile.subtitles.mode, file_digest(job.subtitles_ass) if burned else None, job.locale.tag,
                        plan.width, plan.height, plan.fps, video_args)
        target = _market_picture_path(work_dir, f"market-picture.{profile.name}.{job.locale.tag}", key)
        if target.is_file():
            return PictureTask(target)
        filters = [*picture_filters(job), *plan.rate]
        if burned:
            # The pipeline's own ASS, laid out on the source frame (where the original subtitles
            # were), burned before any resize so it stays where the pipeline placed it.
            filters.append(f"ass={ffmpeg.filter_path(job.subtitles_ass)}")
        filters += plan.fit
        if profile.label.visible:  # laid out on the output frame: the safe zone is the screen's
            ass = work_dir / f"label.{profile.name}.{job.locale.tag}.ass"
            write_burn_ass(ass, [], job.locale, plan.width, plan.height, plan.duration_ms, profile.label)
            filters.append(f"ass={ffmpeg.filter_path(ass)}")
        what = f"encoding the picture ({profile.name}, {job.locale.tag})"
    filters.append("setsar=1")
    return PictureTask(target, ffmpeg.video_only_argv(job.picture, target, video_filters=filters,
                                                      video_args=video_args), what)


def _market_picture_path(work_dir: Path, stem: str, key: str) -> Path:
    """Where one market's picture made under ``key`` is kept; when it is not there yet, the pictures
    of the same stem under other keys (an earlier translation's) are removed."""
    target = work_dir / f"{stem}.{key[:16]}.mp4"
    if not target.is_file():
        for stale in work_dir.glob(f"{stem}.*.mp4"):
            stale.unlink(missing_ok=True)
    return target


def _plain_picture(job: ExportJob) -> PictureTask:
    """The plain export's picture (no profile): the source with the market's subtitles burned, encoded
    alone at the run's settings, kept in the work dir under a key of everything that shapes it."""
    from localize.fsutil import digest_of, file_digest

    video_args = job.encoding.video_args()
    key = digest_of("plain-picture", VERSION, picture_digest(job), file_digest(job.subtitles_ass),
                    job.locale.tag, video_args)
    target = _market_picture_path(Path(job.work_dir), f"market-picture.plain.{job.locale.tag}", key)
    if target.is_file():
        return PictureTask(target)
    return PictureTask(target, ffmpeg.video_only_argv(job.picture, target,
                                                      video_filters=[*picture_filters(job),
                                                                     f"ass={ffmpeg.filter_path(job.subtitles_ass)}"],
                                                      video_args=video_args),
                       f"encoding the picture ({job.locale.tag})")


def _export_mp4(job: ExportJob) -> dict:
    profile = job.profile
    assert profile is not None
    outputs = {**job.outputs, "video": job.video_out, "srt": job.srt_out}
    plan = plan_picture(profile, ffmpeg.probe(job.picture))
    video_args, audio_args = encoder_args(profile, job.encoding, plan)
    mode = profile.subtitles.mode
    cues = clip_cues(job.cues, plan.duration_ms)
    with tempfile.TemporaryDirectory(prefix="localize-export-") as tmp_name:
        tmp_dir = Path(tmp_name)
        if job.work_dir is not None:
            # The picture is its own encode (shared by every market where it can be), copied in here.
            task = job.picture_task or start_picture(job, plan)
            assert task is not None
            try:
                picture, filters = task.wait(), []
            finally:
                task.close()
            video_args = ["-c:v", "copy"]
        else:
            picture, filters = job.picture, [*picture_filters(job), *plan.rate]
            if mode == "burned":
                # The pipeline's own ASS, laid out on the source frame (where the original subtitles
                # were), burned before any resize so it stays where the pipeline placed it.
                filters.append(f"ass={ffmpeg.filter_path(job.subtitles_ass)}")
            filters += plan.fit
            if profile.label.visible:  # laid out on the output frame: the safe zone is the screen's
                ass = tmp_dir / "label.ass"
                write_burn_ass(ass, [], job.locale, plan.width, plan.height, plan.duration_ms, profile.label)
                filters.append(f"ass={ffmpeg.filter_path(ass)}")
            filters.append("setsar=1")
        # The sound is encoded (and kept under the true-peak ceiling) on its own, then copied in.
        audio = tmp_dir / "audio.m4a"
        encode_audio(job.audio, audio, audio_args, ceiling_of(job))
        soft = None
        if mode == "soft":
            soft = tmp_dir / "soft.srt"
            subtitle_stage.write_subtitles(cues, job.locale, plan.width, plan.height, soft, "srt")
        with atomic_path(job.video_out) as tmp_video:
            argv = ffmpeg.export_argv(picture, audio, tmp_video, video_filters=filters, video_args=video_args,
                                      audio_args=["-c:a", "copy"], metadata=metadata_for(job),
                                      audio_language=job.locale.iso639_2, soft_subtitles=soft,
                                      subtitle_language=job.locale.iso639_2, subtitle_title=job.locale.name)
            ffmpeg.run(argv, what=f"rendering {job.locale.tag} ({profile.name})")
    made = {"video": outputs["video"]}
    for fmt in profile.subtitles.sidecar:
        subtitle_stage.write_subtitles(cues, job.locale, plan.width, plan.height, outputs[fmt], fmt)
        made[fmt] = outputs[fmt]
    if profile.cover.enabled:
        write_cover(job, outputs["cover"], plan, profile)
        made["cover"] = outputs["cover"]
    if profile.manifest:
        from localize.stages.export.manifest import write_manifest

        write_manifest(outputs["manifest"], made, profile=profile, locales=[job.locale], series=job.series,
                       episode=job.episode, visible_label=profile.label.shown_text(job.locale.language)
                       if profile.label.visible else None)
        made["manifest"] = outputs["manifest"]
    return {role: str(path) for role, path in made.items()}


def fps_text(fps: float) -> str:
    """A frame rate for playlists and reports: 30, 29.97."""
    return f"{fps:.3f}".rstrip("0").rstrip(".") if not math.isclose(fps, round(fps)) else str(int(round(fps)))
