"""The series voice cast: one voice per character, kept across episodes.

The cast lives in ``voices/<series>.yaml``. The series is the episode's parent folder name
(``Dramas/MySeries/ep01.mp4`` -> ``MySeries``). The file goes in the ``voices/`` folder beside
the series folder (``Dramas/voices/MySeries.yaml``) when that folder exists, else in
``<output folder>/voices/``.

Each character holds the original actor's voice print (the Resemblyzer centroid of their
lines, averaged over episodes) and median F0, the actor profile that voice matching moves the
dub toward (:class:`localize.stages.synthesize.convert.ActorProfile`, measured once, from the first episode
with the actor's audio, so the character sounds the same in every episode), the dub voice per
TTS backend, and which diarized speaker they were in each episode. Each episode's speakers are
matched to the characters by embedding + pitch distance (one-to-one, optimal assignment); a
speaker who matches nobody joins the cast with a voice no other character has. Users may rename
characters and change voices in the file; the next run keeps their edits, and two characters
sharing a voice is an error.

A new character's voice is the one of their gender that, once matched to the actor's profile,
sounds most like the actor (Resemblyzer similarity of a reference line), chosen jointly for all
new characters so no two share one; without a profile, the voice nearest the actor's pitch.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localize.errors import ConfigError, LocalizeError
from localize.yamlfile import read_yaml
from localize.stages.diarize import PITCH_WEIGHT, Speaker, pitch_distance
from localize.stages.synthesize.convert import ActorProfile

CAST_VERSION = 1
# Speaker-to-character distance (cosine + PITCH_WEIGHT * octaves) under which they are the same
# person. Measured across the two sample episodes: same character 0.015-0.02, different >= 0.66.
# Within one episode, single lines of one speaker sit up to ~0.23 apart; centroids are tighter,
# so 0.3 leaves room for another episode's recording conditions without merging two people.
MATCH_DISTANCE = 0.3


@dataclass
class CastVoice:
    """A character's dub voice on one backend (see :class:`localize.stages.synthesize.Voice`)."""

    name: str
    pitch: float = 0.0


@dataclass
class Appearance:
    """Which diarized speaker a character was in one episode, and how many lines they had."""

    speaker: str
    segments: int
    distance: float | None = None  # to the character's voice print when matched; None when they joined


@dataclass
class Character:
    name: str
    gender: str
    f0_median_hz: float
    embedding: list[float]
    voices: dict[str, CastVoice] = field(default_factory=dict)  # backend -> voice
    episodes: dict[str, Appearance] = field(default_factory=dict)  # episode stem -> appearance
    segments: int = 0  # lines folded into the voice print
    profile: ActorProfile | None = None  # what voice matching moves the dub toward


@dataclass
class Cast:
    series: str
    characters: list[Character] = field(default_factory=list)

    def character(self, name: str) -> Character:
        for c in self.characters:
            if c.name == name:
                return c
        raise KeyError(name)


def series_of(episode: Path) -> str:
    """The series name of an episode: its parent folder's name."""
    name = Path(episode).resolve().parent.name
    return name or "series"


def safe_name(series: str) -> str:
    """A file-name-safe form of a series name (keeps CJK; drops path separators and control chars)."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", series).strip(" .")
    return cleaned or "series"


def cast_path(episode: Path, out_dir: Path, series: str | None = None) -> Path:
    """Where the cast of ``episode``'s series lives (see the module doc)."""
    series = series or series_of(episode)
    beside = Path(episode).resolve().parent.parent / "voices"
    folder = beside if beside.is_dir() else Path(out_dir) / "voices"
    return folder / f"{safe_name(series)}.yaml"


# -- file format ----------------------------------------------------------------------------

_HEADER = """\
# Voice cast of one series, written by localize and kept across episodes.
# You may rename characters and change `voices` (Kokoro: a voice id such as jf_alpha or a blend
# such as jm_kumo:0.7+jf_alpha:0.3; espeak: a variant such as m3; pitch in semitones), then re-run.
# `voice_print` is the original actor's Resemblyzer embedding and `actor_profile` their pitch and
# spectral envelope (what the dub voice is moved toward); leave them alone, or delete a profile to
# have it measured again.
"""


def load(path: Path, series: str) -> Cast:
    """Read a cast file; a missing file is an empty cast."""
    path = Path(path)
    if not path.exists():
        return Cast(series=series)
    data = read_yaml(path, "voice cast")
    try:
        characters = []
        for entry in data.get("characters") or []:
            characters.append(Character(
                name=str(entry["name"]), gender=str(entry.get("gender", "unknown")),
                f0_median_hz=float(entry.get("f0_median_hz", 0.0)),
                embedding=[float(v) for v in entry["voice_print"]],
                voices={str(b): CastVoice(name=str(v["name"]), pitch=float(v.get("pitch", 0.0)))
                        for b, v in (entry.get("voices") or {}).items()},
                episodes={str(e): Appearance(speaker=str(a["speaker"]), segments=int(a.get("segments", 0)),
                                             distance=a.get("distance"))
                          for e, a in (entry.get("episodes") or {}).items()},
                segments=int(entry.get("segments", 0)),
                profile=ActorProfile.from_dict(entry["actor_profile"]) if entry.get("actor_profile") else None))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path}: malformed cast entry ({type(exc).__name__}: {exc})") from None
    cast = Cast(series=str(data.get("series", series)), characters=characters)
    validate(cast, path)
    return cast


def validate(cast: Cast, where: Path | str = "cast") -> None:
    """Character names are unique and no two characters share a voice on a backend."""
    names = [c.name for c in cast.characters]
    for name in set(names):
        if names.count(name) > 1:
            raise ConfigError(f"{where}: two characters are named {name!r}")
    owners: dict[tuple, str] = {}
    for c in cast.characters:
        for backend, voice in c.voices.items():
            key = (backend, voice.name, round(voice.pitch, 2))
            if key in owners:
                raise ConfigError(f"{where}: {owners[key]!r} and {c.name!r} share the {backend} voice "
                                  f"{voice.name} (pitch {voice.pitch:+g}); give each character its own")
            owners[key] = c.name


def save(cast: Cast, path: Path) -> None:
    """Write the cast atomically (YAML, characters in order of first appearance)."""
    import yaml

    from localize.fsutil import write_text_atomic

    validate(cast, path)
    data = {"version": CAST_VERSION, "series": cast.series, "characters": [
        {"name": c.name, "gender": c.gender, "f0_median_hz": round(c.f0_median_hz, 1),
         "voices": {b: {"name": v.name, "pitch": v.pitch} for b, v in c.voices.items()},
         "episodes": {e: {"speaker": a.speaker, "segments": a.segments, "distance": a.distance}
                      for e, a in c.episodes.items()},
         "segments": c.segments,
         # One flow-style line each, so the file stays readable.
         **({"actor_profile": c.profile.to_dict()} if c.profile else {}),
         "voice_print": [round(float(v), 4) for v in c.embedding]}
        for c in cast.characters]}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100000, default_flow_style=None)
    write_text_atomic(Path(path), _HEADER + text)


# -- matching -------------------------------------------------------------------------------

def distance(speaker: Speaker, character: Character) -> float:
    """Cosine distance of voice prints plus the pitch term the diarizer clusters with."""
    a = np.asarray(speaker.embedding, dtype=float)
    b = np.asarray(character.embedding, dtype=float)
    if a.size == 0 or a.shape != b.shape:
        return math.inf
    cos = 1.0 - float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
    return max(cos, 0.0) + PITCH_WEIGHT * pitch_distance(speaker.f0_median_hz, character.f0_median_hz)


def match(cast: Cast, episode: str, speakers: list[Speaker]) -> dict[str, str]:
    """Map each speaker id to a character name, adding unknown speakers to the cast.

    One-to-one: two speakers of one episode never become the same character. An episode seen
    before is not folded into the voice prints again, so re-runs do not drift.
    """
    from scipy.optimize import linear_sum_assignment

    mapping: dict[str, str] = {}
    if cast.characters and speakers:
        cost = np.array([[distance(s, c) for c in cast.characters] for s in speakers])
        rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
        for r, c in zip(rows, cols):
            if cost[r, c] < MATCH_DISTANCE:
                character = cast.characters[c]
                mapping[speakers[r].id] = character.name
                _appear(character, episode, speakers[r], round(float(cost[r, c]), 4))
    for speaker in speakers:
        if speaker.id not in mapping:
            character = Character(name=_new_name(cast), gender=speaker.gender, f0_median_hz=speaker.f0_median_hz,
                                  embedding=list(speaker.embedding))
            cast.characters.append(character)
            mapping[speaker.id] = character.name
            _appear(character, episode, speaker, None)
    return mapping


def _appear(character: Character, episode: str, speaker: Speaker, dist: float | None) -> None:
    """Record the appearance; fold a new episode's lines into the voice print (weighted by lines)."""
    new = episode not in character.episodes
    character.episodes[episode] = Appearance(speaker=speaker.id, segments=speaker.segments, distance=dist)
    if not new or not character.segments:
        character.segments = character.segments or speaker.segments
        return
    total = character.segments + speaker.segments
    mixed = (np.asarray(character.embedding) * character.segments
             + np.asarray(speaker.embedding) * speaker.segments) / total
    character.embedding = [round(float(v), 5) for v in mixed / (np.linalg.norm(mixed) + 1e-9)]
    if speaker.f0_median_hz > 0 and character.f0_median_hz > 0:  # geometric mean: pitch is logarithmic
        character.f0_median_hz = round(math.exp((math.log(character.f0_median_hz) * character.segments
                                                 + math.log(speaker.f0_median_hz) * speaker.segments) / total), 1)
    elif speaker.f0_median_hz > 0:
        character.f0_median_hz = speaker.f0_median_hz
    character.segments = total


def _new_name(cast: Cast) -> str:
    taken = {c.name for c in cast.characters}
    return next(f"C{i}" for i in itertools.count(1) if f"C{i}" not in taken)


# -- voices ---------------------------------------------------------------------------------

# Scorer: (character, voice) -> similarity in [-1, 1] of the voice (matched to the character's
# actor) to the actor, or None when it cannot tell (no profile).
Scorer = Callable[[Character, object], float | None]

# Among voices within this much similarity, the one nearer the actor's pitch wins, so the
# WORLD re-synthesis has less to move (each octave of F0 change costs this much similarity).
PITCH_COST = 0.05


def voices_for(cast: Cast, backend, scorer: Scorer | None = None) -> dict[str, "object"]:
    """Each character's :class:`localize.stages.synthesize.Voice` on ``backend``, casting new ones as needed.

    Characters who already have a voice on this backend keep it (the user's choice included).
    New characters of one gender are cast together (optimal assignment, so no two share a voice)
    from that gender's voices nobody has, then pitch-offset copies once those run out (as
    :func:`localize.stages.synthesize.assign_voices` does). The cost of a voice for a character is minus
    ``scorer``'s similarity when it gives one, plus :data:`PITCH_COST` per octave between the
    actor's median F0 and the voice's (:meth:`VoiceBackend.voice_f0_hz`); ties keep casting order.
    """
    from scipy.optimize import linear_sum_assignment

    from localize.stages.synthesize.base import GENDERS, Voice, _candidates

    pools = {g: [v for v in backend.voices() if v.gender == g] for g in GENDERS}
    taken = {(v.name, round(v.pitch, 2)) for c in cast.characters
             for b, v in c.voices.items() if b == backend.name}
    pending: dict[str, list[Character]] = {g: [] for g in GENDERS}
    for character in cast.characters:
        if backend.name in character.voices:
            continue
        gender = character.gender if character.gender in GENDERS else None
        if gender is None:  # unvoiced so far: the pool with more voices left
            left = {g: sum((v.name, round(v.pitch, 2)) not in taken for v in pools[g]) - len(pending[g])
                    for g in GENDERS}
            gender = "male" if left["male"] >= left["female"] else "female"
        if not pools[gender]:
            raise ConfigError(f"voice backend {backend.name!r} has no {gender} voices")
        pending[gender].append(character)
    for gender, group in pending.items():
        if not group:
            continue
        free = (v for v in _candidates(pools[gender]) if (v.name, round(v.pitch, 2)) not in taken)
        candidates = list(itertools.islice(free, max(len(group), sum(
            (v.name, round(v.pitch, 2)) not in taken for v in pools[gender]))))
        cost = np.zeros((len(group), len(candidates)))
        for i, character in enumerate(group):
            for j, voice in enumerate(candidates):
                f0 = backend.voice_f0_hz(voice)
                similarity = scorer(character, voice) if scorer else None
                cost[i, j] = (-(similarity or 0.0) + 1e-4 * j
                              + (PITCH_COST * pitch_distance(character.f0_median_hz, f0) if f0 else 0.0))
        rows, cols = linear_sum_assignment(cost)
        for i, j in zip(rows, cols):
            voice = candidates[j]
            group[i].voices[backend.name] = CastVoice(name=voice.name, pitch=voice.pitch)
            taken.add((voice.name, round(voice.pitch, 2)))
    result = {}
    for character in cast.characters:
        chosen = character.voices[backend.name]
        gender = character.gender if character.gender in GENDERS else "female"
        result[character.name] = Voice(backend.name, chosen.name, gender, chosen.pitch)
    return result


REFERENCE_LINE = "I never thought you would come back here. Tell me the truth, what happened last night?"


def similarity_scorer(backend) -> Scorer:
    """A :data:`Scorer` that speaks :data:`REFERENCE_LINE` in each candidate voice (once per
    process), moves it to the character's actor profile and compares it with their voice print."""
    from localize.locales import LOCALES, get_locale
    from localize.stages.diarize import embed
    from localize.stages.synthesize.convert import match_voice

    # Timbre, not language, is being compared: English where the backend speaks it.
    locale = get_locale("en-US")
    if not backend.supports(locale):
        locale = next((loc for loc in LOCALES.values() if backend.supports(loc)), locale)

    def score(character: Character, voice) -> float | None:
        if character.profile is None or not character.embedding:
            return None
        clip = _reference(backend, voice, locale)
        vector = embed(match_voice(clip, character.profile).samples, clip.rate)
        prints = np.asarray(character.embedding, dtype=float)
        return float(vector @ prints / (np.linalg.norm(prints) + 1e-9))

    return score


_REFERENCES: dict[tuple, object] = {}


def references_dir() -> Path:
    """Where reference clips are kept between runs: beside the assembled models."""
    from localize.models import models_dir

    return models_dir() / "voice-references"


def _reference(backend, voice, locale):
    """:data:`REFERENCE_LINE` in ``voice``: made once per process, and kept on disk for backends that
    say what their speech depends on (:meth:`VoiceBackend.identity`), so later runs and episodes
    do not speak it again (7 Kokoro voices cost about 35 CPU seconds)."""
    from localize.fsutil import atomic_path, digest_of
    from localize.stages.synthesize.base import Speech

    key = (backend.name, voice, locale.tag)
    if key in _REFERENCES:
        return _REFERENCES[key]
    identity = backend.identity()
    path = None
    if identity is not None:
        digest = digest_of("reference", backend.name, identity, [voice.name, voice.gender, voice.pitch],
                           locale.tag, REFERENCE_LINE)
        path = references_dir() / f"{backend.name}-{digest[:24]}.npz"
        try:
            with np.load(path) as stored:  # float samples as spoken: the same casting as a first run
                _REFERENCES[key] = Speech(stored["samples"], int(stored["rate"]))
            return _REFERENCES[key]
        except (OSError, KeyError, ValueError):
            pass  # not made yet (or unreadable): speak it
    clip = backend.synthesize(REFERENCE_LINE, voice, locale)
    if path is not None:
        try:
            with atomic_path(path) as tmp, open(tmp, "wb") as handle:
                np.savez(handle, samples=np.asarray(clip.samples, dtype=np.float32), rate=clip.rate)
        except (OSError, LocalizeError):
            pass  # a read-only cache only costs time
    _REFERENCES[key] = clip
    return clip


def prepare_references(locale_tag: str = "en-US") -> Path:
    """Speak the reference line in every voice of the default backend now (``localize models --prepare``),
    so no run pays for it."""
    from localize.locales import get_locale
    from localize.stages import synthesize as tts

    locale = get_locale(locale_tag)
    backend = tts.backend_for(locale, "kokoro")
    for voice in backend.voices():
        _reference(backend, voice, locale)
    return references_dir()


@dataclass
class SpeakerAudio:
    """An episode's dialogue stem and each speaker's line spans (ms), to measure actor profiles from."""

    samples: np.ndarray
    rate: int
    spans: dict[str, list[tuple[int, int]]]


def speaker_audio(stem: Path, segments) -> SpeakerAudio:
    """:class:`SpeakerAudio` from a dialogue stem WAV and speaker-labelled segments."""
    from localize.audio import read_wav, to_mono

    samples, rate = read_wav(Path(stem))
    spans: dict[str, list[tuple[int, int]]] = {}
    for segment in segments:
        if segment.speaker:
            spans.setdefault(segment.speaker, []).append((segment.start_ms, segment.end_ms))
    return SpeakerAudio(samples=to_mono(samples), rate=rate, spans=spans)


@dataclass
class EpisodeCast:
    """An episode's speakers cast from the series: speaker id -> character, voice and actor profile."""

    path: Path
    characters: dict[str, str]
    voices: dict[str, "object"]
    profiles: dict[str, ActorProfile | None] = field(default_factory=dict)
    cast: Cast | None = None  # the whole series cast as updated for this episode


_SAVE_WHEN_CAST = False


def save_when_cast(on: bool = True) -> None:
    """Save the cast as soon as an episode is cast (in this process), instead of once its market is delivered.

    For workers casting episodes of one series at once (a Ray cluster): the load, the match and
    the save then happen under one hold of the file's lock, so no episode's new characters are
    lost. The cost: a render that fails after casting leaves its characters in the cast.
    """
    global _SAVE_WHEN_CAST
    _SAVE_WHEN_CAST = on


def saving_when_cast() -> bool:
    return _SAVE_WHEN_CAST


def cast_episode(path: Path, series: str, episode: str, speakers: list[Speaker], backend,
                 audio: SpeakerAudio | None = None, *, save_now: bool = True) -> EpisodeCast:
    """Load the series cast, match this episode's speakers, cast voices on ``backend``, save, return.

    With ``save_now=False`` the updated cast is returned unsaved (``EpisodeCast.cast``), for a
    caller that saves it only once the episode's outputs are delivered.

    With ``audio``, characters without an actor profile get one measured from their lines here,
    and new characters are cast by :func:`similarity_scorer`; without it, by pitch alone. The
    file is locked from the load to the save (with ``save_now``): episodes cast at once (a Ray
    cluster, see :func:`save_when_cast`) see each other's characters instead of each adding the
    same actor under a new name.
    """
    from localize.fsutil import file_lock

    with file_lock(path):
        return _cast_episode_locked(path, series, episode, speakers, backend, audio, save_now)


def _cast_episode_locked(path: Path, series: str, episode: str, speakers: list[Speaker], backend,
                         audio: SpeakerAudio | None, save_now: bool) -> EpisodeCast:
    from localize.stages.synthesize.convert import profile_from_spans

    cast = load(path, series)
    characters = match(cast, episode, speakers)
    if audio is not None:
        f0_of = {s.id: s.f0_median_hz for s in speakers}
        for sid, name in characters.items():
            character = cast.character(name)
            if character.profile is None and audio.spans.get(sid):
                character.profile = profile_from_spans(audio.samples, audio.rate, audio.spans[sid],
                                                       f0_of.get(sid) or None)
    needs_voice = any(backend.name not in c.voices for c in cast.characters)
    scorer = similarity_scorer(backend) if audio is not None and needs_voice else None
    by_name = voices_for(cast, backend, scorer)
    if save_now:
        save(cast, path)
    return EpisodeCast(path=Path(path), characters=characters,
                       voices={sid: by_name[name] for sid, name in characters.items()},
                       profiles={sid: cast.character(name).profile for sid, name in characters.items()},
                       cast=cast)


# -- who speaks where -----------------------------------------------------------------------

@dataclass
class Line:
    start_ms: int
    end_ms: int
    text: str


@dataclass
class Role:
    """One character in one episode: their speaker id, lines (when the work dir is there) and dub voices."""

    episode: str
    speaker: str
    lines: list[Line] = field(default_factory=list)
    dubbed: dict[str, str] = field(default_factory=dict)  # market -> voice label from the report


def who_speaks_where(cast: Cast, out_dirs: list[Path]) -> dict[str, list[Role]]:
    """Each character's roles per episode, with line times from the work dirs' diarization and
    transcript (``<out>/.localize-work/<episode>-<digest>/``) and voices from the market reports
    (``<out>/<episode>.<market>.json``)."""
    import json

    from localize.fsutil import glob_escape
    from localize.workdir import WORK_FOLDER

    roles: dict[str, list[Role]] = {}
    for character in cast.characters:
        for episode, appearance in character.episodes.items():
            role = Role(episode=episode, speaker=appearance.speaker)
            for out in out_dirs:
                work = sorted(Path(out).glob(f"{WORK_FOLDER}/{glob_escape(episode)}-*/diarize.json"),
                              key=lambda p: p.stat().st_mtime)
                if work and not role.lines:
                    try:
                        labels = json.loads(work[-1].read_text(encoding="utf-8"))["data"]["labels"]
                        # The fused transcript (what the labels number); work dirs made before it had only ASR's.
                        fused = work[-1].with_name("fuse.json")
                        segments = json.loads((fused if fused.exists() else work[-1].with_name("transcribe.json"))
                                              .read_text(encoding="utf-8"))["data"]["segments"]
                    except (OSError, ValueError, KeyError):
                        labels, segments = [], []
                    role.lines = [Line(s["start_ms"], s["end_ms"], s.get("source_text", ""))
                                  for s, label in zip(segments, labels) if label == appearance.speaker]
                for report in sorted(Path(out).glob(f"{glob_escape(episode)}.*.json")):
                    try:
                        data = json.loads(report.read_text(encoding="utf-8"))
                    except (OSError, ValueError):
                        continue
                    listed = data.get("speakers") if isinstance(data, dict) else None
                    for speaker in listed or []:
                        voice = speaker.get("voice") or {}
                        if speaker.get("id") == appearance.speaker and voice:
                            market = report.name[len(episode) + 1:-len(".json")]
                            shift = f"{voice.get('pitch'):+g}st" if voice.get("pitch") else ""
                            role.dubbed[market] = f"{voice.get('backend')}:{voice.get('name')}{shift}"
            roles.setdefault(character.name, []).append(role)
    return roles

