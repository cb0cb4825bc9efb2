"""Ingest: validate the episode and extract its audio for analysis and mixing."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localize import ffmpeg
from localize.audio import read_wav
from localize.errors import InputError, NoAudioError, SilentInputError, ToolError
from localize.ffmpeg import MediaInfo
from localize.fsutil import atomic_path
from localize.workdir import WorkDir, work_file

VERSION = "2"
ANALYSIS_RATE = 16000
MIX_RATE = 48000
# A decoded track shorter than this share of the container's duration means a cut-off file.
MIN_DECODED_SHARE = 0.9
SILENCE_PEAK = 1e-3  # about -60 dBFS


@dataclass
class IngestResult:
    """The validated input: its media facts and the extracted audio files (names in the work dir).

    No field holds the episode's path: the work dir is keyed by content, so the same file moved or
    copied elsewhere meets these records again, and readers take its path from the run.
    """

    source: str  # the file's name when it was ingested, for people reading the work dir
    digest: str
    media: MediaInfo
    audio_analysis: str
    audio_mix: str
    mix_channels: int
    # Where ``conformed`` says why (variable frame rate, odd size): the name of the conformed copy in
    # the work dir that every later stage reads instead of the episode; ``media`` describes that copy.
    picture: str = ""
    conformed: list[str] = field(default_factory=list)

    def picture_in(self, episode: Path, work_root: Path) -> Path:
        """The picture later stages read: the conformed copy in ``work_root``, else ``episode`` itself."""
        if self.conformed:
            return work_file(work_root, self.picture)
        return Path(episode)


def check_readable(path: Path) -> None:
    """Fail with one clear line when ``path`` cannot be an input at all."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: file is empty")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied (cannot read it)")


def ingest(path: Path, digest: str, work: WorkDir) -> IngestResult:
    """Probe ``path``, refuse unusable inputs, and extract 16 kHz mono and 48 kHz audio."""
    media = ffmpeg.probe(path)
    if not media.has_audio:
        raise NoAudioError(f"{path.name}: has no audio track; nothing to dub")
    if media.width <= 0 or media.height <= 0:
        raise InputError(f"{path.name}: video stream has no picture size")
    analysis = work.path("audio.16k.wav")
    channels = 2 if media.audio_channels >= 2 else 1
    mix = work.path("audio.48k.wav")
    for target, rate, chans in ((analysis, ANALYSIS_RATE, 1), (mix, MIX_RATE, channels)):
        try:
            ffmpeg.run(ffmpeg.extract_audio_argv(path, target, rate=rate, channels=chans), what="decoding the audio")
        except ToolError as exc:  # ffmpeg's own message says what broke (truncated, corrupt); a full disk passes
            raise InputError(f"{path.name}: audio cannot be decoded ({exc})") from None
    samples, rate = read_wav(analysis)
    decoded_ms = int(1000 * len(samples) / rate)
    if decoded_ms < MIN_DECODED_SHARE * media.duration_ms:
        raise InputError(f"{path.name}: audio ends at {decoded_ms / 1000:.1f}s of {media.duration_ms / 1000:.1f}s "
                         "(truncated or corrupt file)")
    if samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise SilentInputError(f"{path.name}: the audio track is silent; nothing to dub")
    picture, conformed = conform_picture(path, media, work)
    if conformed:
        shape = ffmpeg.probe(picture)
        media = dataclasses.replace(media, width=shape.width, height=shape.height, fps_num=shape.fps_num,
                                    fps_den=shape.fps_den, rotation=shape.rotation, nominal_fps=shape.nominal_fps)
    return IngestResult(source=path.name, digest=digest, media=media, audio_analysis=analysis.name,
                        audio_mix=mix.name, mix_channels=channels, picture=picture.name if conformed else "",
                        conformed=conformed)


def conform_picture(path: Path, media: MediaInfo, work: WorkDir) -> tuple[Path, list[str]]:
    """A constant-rate, even-sized lossless copy of the picture when the source is neither, else the source.

    Variable frame rate: every later step (subtitle removal, lip-sync, the encode) works frame by
    frame at one rate, which would spread the frames evenly and drift the picture from the sound,
    so frames are repeated at their source times instead. Odd sizes: 4:2:0 video needs even ones,
    so one black row or column is added.
    """
    from fractions import Fraction

    reasons = []
    nominal = media.nominal_fps or f"{media.fps_num}/{media.fps_den}"
    try:
        nominal_rate = float(Fraction(nominal))
    except (ValueError, ZeroDivisionError):
        nominal_rate, nominal = media.fps, f"{media.fps_num}/{media.fps_den}"
    if ffmpeg.is_variable_rate(path, nominal_rate):
        reasons.append(f"variable frame rate: frames repeated at their source times to a constant {nominal} fps")
    odd = media.width % 2 or media.height % 2
    if odd:
        reasons.append(f"odd size {media.width}x{media.height}: padded by one black row/column to an even size")
    if not reasons:
        return path, []
    target = work.path("picture.conformed.mkv")
    with atomic_path(target) as tmp:
        ffmpeg.run(ffmpeg.conform_picture_argv(path, tmp, fps=nominal, pad_even=bool(odd)),
                   what=f"making a constant-rate copy of {path.name}")
    return target, reasons

