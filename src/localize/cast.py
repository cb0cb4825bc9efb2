"""The series voice cast: one voice per character, kept across episodes.

The cast lives in ``voices/<series>.yaml``. The series is the episode's parent folder name
(``Dramas/MySeries/ep01.mp4`` -> ``MySeries``). The file goes in the ``voices/`` folder beside
the series folder (``Dramas/voices/MySeries.yaml``) when that folder exists, else in
``<output folder>/voices/``.

Each character holds the original actor's voice print (the Resemblyzer centroid of their
lines, averaged over episodes) and median F0, the dub voice per TTS backend, and which
diarized speaker they were in each episode. Each episode's speakers are matched to the
characters by embedding + pitch distance (one-to-one, optimal assignment); a speaker who
matches nobody joins the cast with a voice no other character has. Users may rename
characters and change voices in the file; the next run keeps their edits, and two
characters sharing a voice is an error.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .stages.diarize import PITCH_WEIGHT, Speaker, pitch_distance

CAST_VERSION = 1
# Speaker-to-character distance (cosine + PITCH_WEIGHT * octaves) under which they are the same
# person. Measured across the two sample episodes: same character 0.015-0.02, different >= 0.66.
# Within one episode, single lines of one speaker sit up to ~0.23 apart; centroids are tighter,
# so 0.3 leaves room for another episode's recording conditions without merging two people.
MATCH_DISTANCE = 0.3


@dataclass
class CastVoice:
    """A character's dub voice on one backend (see :class:`localize.tts.Voice`)."""

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
# `voice_print` is the original actor's Resemblyzer embedding; leave it alone.
"""


def load(path: Path, series: str) -> Cast:
    """Read a cast file; a missing file is an empty cast."""
    import yaml

    path = Path(path)
    if not path.exists():
        return Cast(series=series)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
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
                segments=int(entry.get("segments", 0))))
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

    from .fsutil import write_text_atomic

    validate(cast, path)
    data = {"version": CAST_VERSION, "series": cast.series, "characters": [
        {"name": c.name, "gender": c.gender, "f0_median_hz": round(c.f0_median_hz, 1),
         "voices": {b: {"name": v.name, "pitch": v.pitch} for b, v in c.voices.items()},
         "episodes": {e: {"speaker": a.speaker, "segments": a.segments, "distance": a.distance}
                      for e, a in c.episodes.items()},
         "segments": c.segments,
         # One flow-style line, so the file stays readable.
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

def voices_for(cast: Cast, backend) -> dict[str, "object"]:
    """Each character's :class:`localize.tts.Voice` on ``backend``, casting new ones as needed.

    Characters who already have a voice on this backend keep it (the user's choice included);
    the others get the first of the backend's voices of their gender that nobody has, in
    casting order, then pitch-offset copies (as :func:`localize.tts.assign_voices` does).
    """
    from .tts.base import GENDERS, Voice, _candidates

    pools = {g: [v for v in backend.voices() if v.gender == g] for g in GENDERS}
    taken = {(v.name, round(v.pitch, 2)) for c in cast.characters
             for b, v in c.voices.items() if b == backend.name}
    result = {}
    for character in cast.characters:
        chosen = character.voices.get(backend.name)
        if chosen is None:
            gender = character.gender if character.gender in GENDERS else None
            if gender is None:  # unvoiced so far: the pool with more voices left
                left = {g: sum((v.name, round(v.pitch, 2)) not in taken for v in pools[g]) for g in GENDERS}
                gender = "male" if left["male"] >= left["female"] else "female"
            if not pools[gender]:
                raise ConfigError(f"voice backend {backend.name!r} has no {gender} voices")
            voice = next(v for v in _candidates(pools[gender]) if (v.name, round(v.pitch, 2)) not in taken)
            chosen = CastVoice(name=voice.name, pitch=voice.pitch)
            character.voices[backend.name] = chosen
            taken.add((chosen.name, round(chosen.pitch, 2)))
        gender = character.gender if character.gender in GENDERS else "female"
        result[character.name] = Voice(backend.name, chosen.name, gender, chosen.pitch)
    return result


@dataclass
class EpisodeCast:
    """An episode's speakers cast from the series: speaker id -> character and voice."""

    path: Path
    characters: dict[str, str]
    voices: dict[str, "object"]


def cast_episode(path: Path, series: str, episode: str, speakers: list[Speaker], backend) -> EpisodeCast:
    """Load the series cast, match this episode's speakers, cast voices on ``backend``, save, return."""
    cast = load(path, series)
    characters = match(cast, episode, speakers)
    by_name = voices_for(cast, backend)
    save(cast, path)
    return EpisodeCast(path=Path(path), characters=characters,
                       voices={sid: by_name[name] for sid, name in characters.items()})


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

    roles: dict[str, list[Role]] = {}
    for character in cast.characters:
        for episode, appearance in character.episodes.items():
            role = Role(episode=episode, speaker=appearance.speaker)
            for out in out_dirs:
                work = sorted(Path(out).glob(f".localize-work/{glob_escape(episode)}-*/diarize.json"),
                              key=lambda p: p.stat().st_mtime)
                if work and not role.lines:
                    try:
                        labels = json.loads(work[-1].read_text(encoding="utf-8"))["data"]["labels"]
                        segments = json.loads(work[-1].with_name("transcribe.json").read_text(
                            encoding="utf-8"))["data"]["segments"]
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


def glob_escape(text: str) -> str:
    import glob

    return glob.escape(text)
