"""The synthesize stage, declared: translations and the cast in, one fitted voice clip per line out.

Each clip is its own cached unit, keyed by what it says, the voice, its slot, the backend and
the actor profile it is matched to: a changed line re-voices that line alone. A line's start
speed is predicted from the language's speaking rate, not from the other lines of the run, so
no clip depends on another line's text.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from localize.audio import write_wav
from localize.errors import ConfigError, UnspeakableText
from localize.model import with_speakers
from localize.stages.contract import Stage, StageContext, fingerprint

VERSION = "6"
VOICE_SETTINGS = ("voice_backend", "voice_model", "voice_match")
SILENT_RATE = 24000  # the clip of a line that cannot be voiced: one silent sample


def open_voice_backend(locale, settings):
    """The chosen voice backend (given its model folder when ``voice_model`` is set) if it speaks
    ``locale``, else espeak-ng."""
    from localize.stages import synthesize as tts

    if settings.voice_model is None:
        return tts.backend_for(locale, settings.voice_backend)
    if settings.voice_backend not in tts.MODEL_FOLDER_BACKENDS:
        raise ConfigError(f"--voice-model is for a neural voice backend ({', '.join(tts.MODEL_FOLDER_BACKENDS)}), "
                          f"not {settings.voice_backend!r}; pass --voice speecht5 or --voice mms")
    backend = tts.VOICES.create(settings.voice_backend, model_dir=settings.voice_model)
    if backend.supports(locale):
        return backend
    backend.close()
    return tts.backend_for(locale, "espeak")


def voice_matching(settings, backend, stems) -> bool:
    """Whether dubs are moved toward their actor (:mod:`.convert`): it needs each actor's lines alone,
    and a cloning backend speaks in their voice already."""
    from localize.stages.synthesize import CloningBackend

    return bool(settings.voice_match) and not isinstance(backend, CloningBackend) and stems.vocals_alone


class _LazyBackend:
    """Opens the voice backend on the first clip that is not in the cache."""

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.backend = None

    def get(self):
        if self.backend is None:
            self.backend = open_voice_backend(self.ctx.locale, self.ctx.settings)
        return self.backend

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()


def _run(ctx: StageContext) -> dict:
    from localize.stages import synthesize as tts
    from localize.stages.synthesize.convert import ActorProfile, match_voice

    locale, work = ctx.locale, ctx.work
    cast = ctx.inputs["cast"]
    translations = ctx.inputs["translations"]
    duration_ms = ctx.inputs["media"].media.duration_ms
    segments = with_speakers(ctx.inputs["transcript"].segments, ctx.inputs["speakers"].labels)
    texts = [line["text"] for line in translations]
    clip_dir = work.path(f"dub.{locale.tag}")
    clip_dir.mkdir(exist_ok=True)
    backend = _LazyBackend(ctx)
    try:
        voices = dict(cast.voices)
        actors = {}
        if ctx.settings.voice_backend in tts.CLONING_BACKENDS and ctx.settings.voice_model is not None:
            chosen = backend.get()
            if isinstance(chosen, tts.CloningBackend):  # each actor's own voice, cloned from diarization
                actors = {s.id: s.embedding for s in ctx.inputs["speakers"].speakers if s.embedding}
                voices = {k: chosen.clone(k, v.gender, np.asarray(actors[k])) if k in actors else v
                          for k, v in voices.items()}
        model = fingerprint(ctx.settings.voice_model)
        lines = []
        prev_end = 0  # where the previous clip really ends, borrowed time included
        for index, segment in enumerate(segments):
            next_start = segments[index + 1].start_ms if index + 1 < len(segments) else duration_ms
            slot = tts.plan_slot(segment.start_ms, segment.end_ms, prev_end, min(next_start, duration_ms))
            voice = voices[segment.speaker]
            profile = cast.profiles.get(segment.speaker)
            inputs = {"text": texts[index], "voice": voice, "slot": slot, "locale": locale.tag,
                      "rate": locale.chars_per_second, "model": model, "profile": profile,
                      "actor": actors.get(segment.speaker)}

            def make(key: str) -> dict:
                clip = clip_dir / f"{key[:20]}.wav"
                try:
                    if not any(ch.isalnum() for ch in texts[index]):  # punctuation only, or nothing
                        raise UnspeakableText(f"nothing to say in {texts[index]!r}")
                    fitted = tts.fit_to_slot(backend.get(), texts[index], voice, locale, slot,
                                             pace=tts.SpeakingPace(locale.chars_per_second))
                except UnspeakableText as exc:  # kept silent and flagged: one line never sinks the episode
                    write_wav(clip, np.zeros(1, dtype=np.float32), SILENT_RATE)
                    return {"clip": str(clip.relative_to(work.root)), "start_ms": slot.start_ms,
                            "borrowed_before_ms": 0, "borrowed_after_ms": 0, "duration_ms": 0, "speed": 1.0,
                            "stretch": 1.0, "fits": True, "unvoiced": str(exc)}
                if profile:  # toward the actor; same length
                    fitted.speech = match_voice(fitted.speech, ActorProfile.from_dict(profile))
                write_wav(clip, fitted.speech.samples, fitted.speech.rate)
                return {"clip": str(clip.relative_to(work.root)), "start_ms": fitted.start_ms,
                        "borrowed_before_ms": fitted.borrowed_before_ms, "borrowed_after_ms": fitted.borrowed_after_ms,
                        "duration_ms": fitted.duration_ms, "speed": round(fitted.speed, 3),
                        "stretch": round(fitted.stretch, 3), "fits": fitted.fits}

            clip, _key = ctx.unit("clip", inputs, make, files=lambda data: (data["clip"],))
            prev_end = clip["start_ms"] + clip["duration_ms"]
            lines.append({"id": segment.id, **clip, "slot_ms": slot.room_ms, "voice": dataclasses.asdict(voice)})
        _remove_unused(clip_dir, {work.path(line["clip"]) for line in lines})
        return {"backend": _backend_name(voices, ctx), "lines": lines,
                "voices": {k: dataclasses.asdict(v) for k, v in voices.items()}, "characters": dict(cast.characters),
                "cast": cast.cast_file}
    finally:
        backend.close()


def _backend_name(voices: dict, ctx: StageContext) -> str:
    names = {v.backend for v in voices.values()}
    return names.pop() if len(names) == 1 else ctx.settings.voice_backend


def _remove_unused(folder: Path, keep: set[Path]) -> None:
    """Clips of earlier renderings of a line, no longer placed."""
    for clip in folder.glob("*.wav"):
        if clip not in keep:
            clip.unlink(missing_ok=True)


STAGE = Stage(name="synthesize", version=VERSION, gives="dub",
              needs=("translations", "cast", "transcript", "speakers", "media"),
              settings=VOICE_SETTINGS, per_market=True, run=_run,
              files=lambda data: [line["clip"] for line in data["lines"]],
              summary="voice each line with its character's voice, fitted to its slot (one cached clip per line)")
