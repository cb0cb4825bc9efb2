"""Ingest: validate the episode and extract its audio for analysis and mixing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from localize import ffmpeg
from localize.audio import read_wav
from localize.errors import InputError, NoAudioError, SilentInputError
from localize.ffmpeg import MediaInfo
from localize.workdir import WorkDir

VERSION = "1"
ANALYSIS_RATE = 16000
MIX_RATE = 48000
# A decoded track shorter than this share of the container's duration means a cut-off file.
MIN_DECODED_SHARE = 0.9
SILENCE_PEAK = 1e-3  # about -60 dBFS


@dataclass
class IngestResult:
    """The validated input: its media facts and the extracted audio files (names in the work dir)."""

    source: str
    digest: str
    media: MediaInfo
    audio_analysis: str
    audio_mix: str
    mix_channels: int


def check_readable(path: Path) -> None:
    """Fail with one clear line when ``path`` cannot be an input at all."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: file is empty")


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
        except Exception as exc:  # ffmpeg's own message says what broke (truncated, corrupt)
            raise InputError(f"{path.name}: audio cannot be decoded ({exc})") from None
    samples, rate = read_wav(analysis)
    decoded_ms = int(1000 * len(samples) / rate)
    if decoded_ms < MIN_DECODED_SHARE * media.duration_ms:
        raise InputError(f"{path.name}: audio ends at {decoded_ms / 1000:.1f}s of {media.duration_ms / 1000:.1f}s "
                         "(truncated or corrupt file)")
    if samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise SilentInputError(f"{path.name}: the audio track is silent; nothing to dub")
    return IngestResult(source=str(path), digest=digest, media=media, audio_analysis=analysis.name,
                        audio_mix=mix.name, mix_channels=channels)

