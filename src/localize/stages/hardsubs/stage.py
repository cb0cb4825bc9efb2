"""The burned-in subtitle stages, declared: read the band (hardsubs), remove it from the picture
(unsubtitle), and fuse what was read with the ASR timing (fuse)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from localize.errors import InputError
from localize.ffmpeg import BandPatch
from localize.metrics import has_han
from localize.model import Transcript
from localize.stages.contract import Stage, StageContext
from localize.stages.hardsubs import VERSION, HardsubAnalysis, analyse_hardsubs, fuse, remove_hardsubs

CLEAN_BAND = "picture.band.mkv"
# The removal's own version: its output changed form (a band, not a whole picture; then no path of
# the episode's) without the reading of the subtitles changing.
UNSUBTITLE_VERSION = f"{VERSION}.band.2"


@dataclass
class Picture:
    """The picture every market exports, and where its Chinese text was removed, the band that
    replaces those rows (``patch``, a :class:`~localize.ffmpeg.BandPatch` as a dict).

    Like the ingest's record it names no path outside the work dir (the episode may have moved since
    it was made): ``conformed`` is the name of the ingest's conformed copy in the work dir when the
    band lies over that copy, "" when it lies over the episode. Readers apply :meth:`video` and
    :meth:`clean` with the run's episode and work dir.
    """

    conformed: str = ""
    patch: dict | None = None

    @property
    def removed(self) -> bool:
        """Whether any burned-in text was removed (else the picture is the episode's own)."""
        return self.patch is not None

    def video(self, episode: Path, work_root: Path) -> Path:
        """The picture the band lies over: ``episode`` itself, or its conformed copy in ``work_root``."""
        return Path(work_root) / self.conformed if self.conformed else Path(episode)

    def clean(self, episode: Path, work_root: Path) -> BandPatch | None:
        """The band laid over :meth:`video`, its file found in ``work_root``, or None when the picture
        is the episode's own."""
        if not self.patch:
            return None
        patch = BandPatch.from_dict(self.patch)
        return dataclasses.replace(patch, source=self.video(episode, work_root), band=Path(work_root) / patch.band)


def _picture(ctx: StageContext) -> Path:
    return ctx.inputs["media"].picture_in(ctx.episode, ctx.work.root)


def _read(ctx: StageContext) -> HardsubAnalysis:
    return analyse_hardsubs(_picture(ctx), ctx.inputs["media"].media.duration_ms, ctx.settings.hardsubs)


def _remove(ctx: StageContext) -> Picture:
    picture = _picture(ctx)
    conformed = picture.name if ctx.inputs["media"].conformed else ""
    patch = remove_hardsubs(picture, ctx.inputs["hardsub"], ctx.work.path(CLEAN_BAND), ctx.settings.hardsubs)
    if patch is None:
        return Picture(conformed=conformed)
    # Names only: a path through an --out relative to where localize ran was looked for inside the
    # work dir on the next run, and a moved episode's old path is gone.
    return Picture(conformed=conformed, patch={**patch.to_dict(), "source": "", "band": CLEAN_BAND})


def language_verdict(asr: Transcript, events: list, options, episode_name: str) -> str:
    """Refuse an episode spoken in another language only on clear evidence; else a note (or "").

    Whisper's language identification on a few seconds of speech is no evidence (a 6 s Chinese cut
    was heard as Thai at 0.82), and burned-in text in the source language outweighs it.
    """
    heard, expected = asr.heard_language, asr.language
    if not heard or heard == expected:
        return ""
    claim = f"Whisper heard {heard} (confidence {asr.language_probability:.2f}) over {asr.speech_ms / 1000:.1f} s of speech"
    if expected == "zh" and any(has_han(event.text) for event in events):
        return f"{claim}, but the burned-in subtitles are Chinese; kept {expected}"
    if asr.language_probability < options.wrong_language_confidence:
        return f"{claim}: not sure enough; kept {expected}"
    if asr.speech_ms < options.wrong_language_min_speech_ms:
        return f"{claim}: too little speech to refuse the file; kept {expected}"
    raise InputError(f"{episode_name}: expected {expected} speech but heard {heard} "
                     f"(confidence {asr.language_probability:.2f}); if it is {heard}, pass --from {heard}")


def _fuse(ctx: StageContext) -> Transcript:
    asr: Transcript = ctx.inputs["asr"]
    events = ctx.inputs["hardsub"].events
    note = language_verdict(asr, events, ctx.settings.transcribe, ctx.episode.name)
    asr = dataclasses.replace(asr, language_note=note)
    if not events:
        return asr
    segments = fuse(asr.segments, events)
    for index, segment in enumerate(segments):
        segment.id = index
    return dataclasses.replace(asr, segments=segments)


HARDSUBS = Stage(name="hardsubs", version=VERSION, gives="hardsub", needs=("media",), settings=("hardsubs",),
                 output=HardsubAnalysis, run=_read, summary="find the burned-in subtitle band and read it (OCR)")
UNSUBTITLE = Stage(name="unsubtitle", version=UNSUBTITLE_VERSION, gives="picture", needs=("media", "hardsub"),
                   settings=("hardsubs",), output=Picture, run=_remove,
                   # Its own file only: the picture it lies over is the ingest's.
                   files=lambda data: (data["patch"]["band"],) if data.get("patch") else (),
                   summary="remove the burned-in text from the picture (temporal, inpaint, blur or box)")
FUSE = Stage(name="fuse", version="2", gives="transcript", needs=("asr", "hardsub"), settings=("transcribe",),
             output=Transcript, run=_fuse,
             summary="the burned-in text with the ASR timing: the script each line really says")
