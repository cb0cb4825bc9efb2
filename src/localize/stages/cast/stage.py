"""The cast stage, declared: the episode's speakers in, a character and a dub voice for each out.

The series cast file (``voices/<series>.yaml``) is read and written here; a person may edit it
(change a voice, rename a character), so its content is part of this stage's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from localize.fsutil import file_digest
from localize.model import with_speakers
from localize.stages.contract import Stage, StageContext
from localize.stages.synthesize.base import Voice
from localize.stages.synthesize.stage import VOICE_SETTINGS, open_voice_backend, voice_matching

VERSION = "1"


@dataclass
class EpisodeVoices:
    """Speaker id -> character name, dub voice and actor profile (``ActorProfile.to_dict()``, or None)."""

    cast_file: str
    characters: dict[str, str]
    voices: dict[str, Voice]
    profiles: dict[str, dict | None] = field(default_factory=dict)


def cast_file(ctx: StageContext) -> Path:
    """The series cast file this run uses (chosen by the caller: beside the series or in the output folder).

    The caller also gives ``runtime["cast_updates"]``, a list the stage appends ``(path, cast)`` to;
    it saves them once the market's outputs are in place.
    """
    return Path(ctx.runtime["cast_file"])


def _external(ctx: StageContext) -> str | None:
    path = cast_file(ctx)
    return file_digest(path) if path.is_file() else None


def _run(ctx: StageContext) -> EpisodeVoices:
    from localize.stages import cast as cast_module

    backend = open_voice_backend(ctx.locale, ctx.settings)
    try:
        stems = ctx.inputs["stems"]
        audio = None
        if voice_matching(ctx.settings, backend, stems):
            segments = with_speakers(ctx.inputs["transcript"].segments, ctx.inputs["speakers"].labels)
            audio = cast_module.speaker_audio(ctx.work.path(stems.dialogue), segments)
        episode = ctx.episode
        # Saved by the caller once the market is delivered: a failed run leaves the cast file as it was
        # (except where episodes are cast at once: see cast.save_when_cast).
        save_now = cast_module.saving_when_cast()
        cast = cast_module.cast_episode(cast_file(ctx), cast_module.series_of(episode), episode.stem,
                                        ctx.inputs["speakers"].speakers, backend, audio, save_now=save_now)
        if not save_now:
            ctx.runtime["cast_updates"].append((cast.path, cast.cast))
    finally:
        backend.close()
    return EpisodeVoices(cast_file=str(cast.path), characters=dict(cast.characters),
                         voices=dict(cast.voices),
                         profiles={k: (p.to_dict() if p and audio is not None else None)
                                   for k, p in cast.profiles.items()})


STAGE = Stage(name="cast", version=VERSION, gives="cast", needs=("speakers", "transcript", "stems"),
              settings=VOICE_SETTINGS, per_market=True, output=EpisodeVoices, run=_run, external=_external,
              keyed_by_output=True, files=lambda data: (data["cast_file"],),
              summary="match speakers to the series' characters; give new characters a voice like their actor's")
