"""The sample-episode script: a small YAML file, validated into dataclasses.

A script names the characters (each with an espeak-ng voice) and lists the lines
in order. Every problem is reported as one :class:`ConfigError` line naming the
file and the offending entry, so a typo never turns into a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localize.errors import ConfigError
from localize.yamlfile import read_yaml

GENDERS = ("male", "female")
# espeak-ng variant names are plain words ("m3", "f4", "aunty", "Mr serious").
_VARIANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,31}$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Character:
    """A speaking role and the espeak-ng voice that plays it."""

    name: str
    gender: str
    variant: str
    pitch: int
    speed: int
    en: str = ""
    role: str = ""
    color: str = "#c8c8c8"
    word_gap: int = 0

    @property
    def voice(self) -> str:
        """The espeak-ng ``-v`` value: always the pinyin-reading Mandarin voice."""
        return f"cmn-latn-pinyin+{self.variant}"


@dataclass(frozen=True)
class Line:
    """One spoken line of the script. ``pause_ms`` is the silence before it."""

    speaker: str
    zh: str
    en: str
    pause_ms: int | None = None
    scene: str | None = None
    pinyin: str | None = None


@dataclass(frozen=True)
class Scene:
    """A set: two colours for the background gradient."""

    name: str
    top: str
    bottom: str


@dataclass(frozen=True)
class Script:
    """A whole episode script."""

    title: str
    series: str
    characters: dict[str, Character]
    lines: list[Line]
    scenes: dict[str, Scene] = field(default_factory=dict)
    title_en: str = ""
    series_en: str = ""
    episode: int = 1
    lead_ms: int = 1500
    tail_ms: int = 2000
    default_pause_ms: int = 700
    music_below_db: float = 8.0
    seed: int = 0


# Background colours for scenes the script does not colour itself.
DEFAULT_SCENE_COLORS = [("#1d2b53", "#7e5a9b"), ("#3a2e39", "#c98b5a"), ("#0f3d3e", "#6fa3a0"),
                        ("#402218", "#b86f52"), ("#22223b", "#9a8c98"), ("#1b3a4b", "#d8a47f")]

_TOP_KEYS = {"title", "series", "title_en", "series_en", "episode", "characters", "lines", "scenes",
             "lead_ms", "tail_ms", "default_pause_ms", "music_below_db", "seed"}
_CHAR_KEYS = {"gender", "variant", "pitch", "speed", "en", "role", "color", "word_gap"}
_LINE_KEYS = {"speaker", "zh", "en", "pause_ms", "scene", "pinyin"}
_SCENE_KEYS = {"top", "bottom"}


class _Checker:
    """Small helpers that raise ConfigError prefixed with the script's file name."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> ConfigError:
        prefix = f"{self.source}: {where}: " if where else f"{self.source}: "
        return ConfigError(prefix + message)

    def mapping(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def keys(self, data: dict, allowed: set[str], where: str) -> None:
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise self.fail(where, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")

    def text(self, data: dict, key: str, where: str, *, required: bool = True, default: str = "") -> str:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(where, f"'{key}' is missing")
            return default
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise self.fail(where, f"'{key}' must be text")
        value = str(value).strip()
        if required and not value:
            raise self.fail(where, f"'{key}' is empty")
        return value

    def integer(self, data: dict, key: str, where: str, lo: int, hi: int, default: int | None) -> int | None:
        value = data.get(key)
        if value is None:
            if default is None and key not in data:
                return None
            if default is None:
                raise self.fail(where, f"'{key}' is missing")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"'{key}' must be a whole number, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(where, f"'{key}' must be between {lo} and {hi}, got {value}")
        return value

    def color(self, data: dict, key: str, where: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not _COLOR.match(value):
            raise self.fail(where, f"'{key}' must be a colour like '#a1b2c3', got {value!r}")
        return value.lower()


def parse_script(data: Any, source: str = "script") -> Script:
    """Validate parsed YAML ``data`` into a :class:`Script`; raise :class:`ConfigError` on the first problem."""
    c = _Checker(source)
    top = c.mapping(data, "")
    c.keys(top, _TOP_KEYS, "top level")
    title = c.text(top, "title", "top level")
    series = c.text(top, "series", "top level")

    raw_chars = top.get("characters")
    if not isinstance(raw_chars, dict) or not raw_chars:
        raise c.fail("characters", "expected a non-empty mapping of name -> voice settings")
    characters: dict[str, Character] = {}
    for name, spec in raw_chars.items():
        name = str(name).strip()
        where = f"character {name!r}"
        if not name:
            raise c.fail("characters", "a character has an empty name")
        spec = c.mapping(spec, where)
        c.keys(spec, _CHAR_KEYS, where)
        gender = c.text(spec, "gender", where)
        if gender not in GENDERS:
            raise c.fail(where, f"'gender' must be one of {', '.join(GENDERS)}, got {gender!r}")
        variant = c.text(spec, "variant", where)
        if not _VARIANT.match(variant):
            raise c.fail(where, f"'variant' {variant!r} is not an espeak-ng variant name (e.g. m3, f4)")
        characters[name] = Character(
            name=name, gender=gender, variant=variant,
            pitch=c.integer(spec, "pitch", where, 0, 99, 50),
            speed=c.integer(spec, "speed", where, 80, 450, 160),
            en=c.text(spec, "en", where, required=False, default=name),
            role=c.text(spec, "role", where, required=False),
            color=c.color(spec, "color", where, "#c8c8c8"),
            word_gap=c.integer(spec, "word_gap", where, 0, 20, 0),
        )

    scenes: dict[str, Scene] = {}
    raw_scenes = top.get("scenes") or {}
    c.mapping(raw_scenes, "scenes")
    for i, (name, spec) in enumerate(raw_scenes.items()):
        where = f"scene {name!r}"
        spec = c.mapping(spec, where)
        c.keys(spec, _SCENE_KEYS, where)
        top_default, bottom_default = DEFAULT_SCENE_COLORS[i % len(DEFAULT_SCENE_COLORS)]
        scenes[str(name)] = Scene(str(name), c.color(spec, "top", where, top_default),
                                  c.color(spec, "bottom", where, bottom_default))

    raw_lines = top.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise c.fail("lines", "expected a non-empty list of lines")
    lines: list[Line] = []
    for number, spec in enumerate(raw_lines, 1):
        where = f"line {number}"
        spec = c.mapping(spec, where)
        c.keys(spec, _LINE_KEYS, where)
        speaker = c.text(spec, "speaker", where)
        if speaker not in characters:
            raise c.fail(where, f"speaker {speaker!r} is not a character ({', '.join(characters)})")
        zh = c.text(spec, "zh", where)
        if not _HAN.search(zh):
            raise c.fail(where, f"'zh' holds no Chinese characters: {zh!r}")
        scene = spec.get("scene")
        if scene is not None:
            scene = str(scene)
            if scene not in scenes:
                top_default, bottom_default = DEFAULT_SCENE_COLORS[len(scenes) % len(DEFAULT_SCENE_COLORS)]
                scenes[scene] = Scene(scene, top_default, bottom_default)
        lines.append(Line(speaker=speaker, zh=zh, en=c.text(spec, "en", where),
                          pause_ms=c.integer(spec, "pause_ms", where, 0, 20000, None),
                          scene=scene, pinyin=c.text(spec, "pinyin", where, required=False) or None))

    music_below = top.get("music_below_db", 8.0)
    if isinstance(music_below, bool) or not isinstance(music_below, (int, float)) or not 0 <= music_below <= 40:
        raise c.fail("top level", f"'music_below_db' must be a number of dB between 0 and 40, got {music_below!r}")
    return Script(
        title=title, series=series, characters=characters, lines=lines, scenes=scenes,
        title_en=c.text(top, "title_en", "top level", required=False),
        series_en=c.text(top, "series_en", "top level", required=False),
        episode=c.integer(top, "episode", "top level", 1, 10000, 1),
        lead_ms=c.integer(top, "lead_ms", "top level", 0, 60000, 1500),
        tail_ms=c.integer(top, "tail_ms", "top level", 0, 60000, 2000),
        default_pause_ms=c.integer(top, "default_pause_ms", "top level", 0, 20000, 700),
        music_below_db=float(music_below),
        seed=c.integer(top, "seed", "top level", 0, 2**31 - 1, 0),
    )


def load_script(path: Path) -> Script:
    """Read and validate a YAML script file."""
    path = Path(path)
    return parse_script(read_yaml(path, "script", mapping=False), path.name)
