"""Export profiles: what one app or platform wants delivered, as data files users can extend.

A profile is a YAML file (shipped ones live in ``localize/data/profiles/``; users add their own in
a folder named by ``$LOCALIZE_PROFILES`` or the ``profiles_dir`` setting). It fixes the picture
(size policy, frame-rate cap, codec and rate control), the audio (codec, rate, channels), the
loudness target handed to the mix, how subtitles are delivered (burned, a soft ``mov_text``
track, sidecar SRT/VTT, or HLS WebVTT renditions), the output names, a cover picture, the
metadata with the AI-content label, a visible label, and a manifest.

A profile may start from another with ``extends: NAME``; its keys then override the parent's,
section by section. Every problem is one :class:`ConfigError` line naming the profile and key.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localize.errors import ConfigError
from localize.yamlfile import read_yaml

if TYPE_CHECKING:
    from localize.locales import Locale
    from localize.stages.mix import MixOptions

DEFAULT_PROFILE = "generic-mp4"
PROFILES_ENV = "LOCALIZE_PROFILES"
RESIZE_POLICIES = ("keep", "scale", "pad")
SUBTITLE_MODES = ("burned", "soft", "sidecar", "renditions", "none")
SIDECAR_FORMATS = ("srt", "vtt")
CONTAINERS = ("mp4", "hls")
VIDEO_CODECS = ("libx264", "libx265")
AUDIO_CODECS = ("aac",)
LABEL_KEYS = ("comment", "description", "synopsis")
LABEL_POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")
NAME_FIELDS = ("series", "episode", "locale", "language", "profile")
DEFAULT_LABEL = "AI-generated: dubbed voices, translation and subtitles made by localize"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_BITRATE = re.compile(r"^\d+(\.\d+)?[kKmM]?$")


@dataclass(frozen=True)
class VideoSpec:
    """The picture. ``None`` in codec/crf/bitrate/preset means: use the run's configured encoding."""

    # keep the source size, or go to width x height by scale (fill, crop the overflow) or pad (fit, black bars)
    resize: str = "keep"
    width: int = 1080
    height: int = 1920
    fps: float | None = None  # None keeps the source rate; a number caps it
    codec: str | None = None
    crf: int | None = None
    bitrate: str | None = None  # constant-ish rate instead of CRF, e.g. "4M"
    maxrate: str | None = None  # VBV cap with CRF, e.g. "6M" (bufsize is twice it)
    preset: str | None = None
    pix_fmt: str = "yuv420p"
    h264_profile: str | None = None  # high, main, baseline (libx264 only)
    gop_seconds: float | None = None  # fixed keyframe interval (HLS segments start on one)


@dataclass(frozen=True)
class AudioSpec:
    """The sound. ``None`` bitrate/sample_rate means the configured encoding's; ``channels`` None keeps the mix's."""

    codec: str = "aac"
    bitrate: str | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class SubtitleSpec:
    """How the target-language subtitles travel: in the picture, as a track, or beside the file."""

    mode: str = "burned"  # burned | soft (mov_text track) | sidecar | renditions (HLS WebVTT) | none
    sidecar: tuple[str, ...] = ("srt",)


@dataclass(frozen=True)
class CoverSpec:
    """A JPEG cover taken from the picture (without subtitles) at ``at`` of the duration."""

    enabled: bool = False
    at: float = 0.25
    quality: int = 2  # ffmpeg -q:v, 2 (best) .. 31


@dataclass(frozen=True)
class LabelSpec:
    """The AI-content label: always in the metadata (under ``metadata_keys``); visible when asked.

    ``visible_text`` maps a language (``en``, ``es``...) or ``default`` to the words shown.
    """

    text: str = DEFAULT_LABEL
    metadata_keys: tuple[str, ...] = ("comment",)
    visible: bool = False
    visible_text: tuple[tuple[str, str], ...] = (("default", "AI-generated"),)
    position: str = "top-left"
    visible_seconds: float | None = None  # None: the whole episode

    def shown_text(self, language: str | None) -> str:
        """The visible words for ``language`` (falls back to ``default``)."""
        table = dict(self.visible_text)
        return table.get(language or "", table.get("default", "AI-generated"))


@dataclass(frozen=True)
class HlsSpec:
    """HLS packaging: segment length and the package folder's name template."""

    segment_seconds: float = 6.0
    folder: str = "{episode}.hls"


@dataclass(frozen=True)
class ExportProfile:
    """One delivery target. Build it with :func:`load_profile`; it is frozen and hashable."""

    name: str
    description: str = ""
    container: str = "mp4"
    video: VideoSpec = field(default_factory=VideoSpec)
    audio: AudioSpec = field(default_factory=AudioSpec)
    target_lufs: float | None = None  # None: the run's configured mix target (target_lufs setting)
    true_peak_db: float | None = None
    # Headroom the mix keeps under the true-peak ceiling for the codec's overshoot: low-rate AAC
    # (128k at 44.1 kHz) raises true peaks by more than 192k at 48 kHz does.
    peak_margin_db: float | None = None
    subtitles: SubtitleSpec = field(default_factory=SubtitleSpec)
    naming: str = "{episode}.{locale}"
    title: str | None = None  # metadata title template; None keeps the run's title
    cover: CoverSpec = field(default_factory=CoverSpec)
    label: LabelSpec = field(default_factory=LabelSpec)
    manifest: bool = False
    hls: HlsSpec = field(default_factory=HlsSpec)
    source: str = ""  # where the profile was read from (for messages; not part of its identity)

    def cache_key(self) -> dict[str, Any]:
        """What changes the output, for cache keys (everything but ``source``)."""
        data = dataclasses.asdict(self)
        data.pop("source", None)
        return data

    def mix_options(self, base: "MixOptions") -> "MixOptions":
        """``base`` with this profile's loudness target and true-peak ceiling, where it sets them."""
        changes = {"target_lufs": self.target_lufs, "true_peak_db": self.true_peak_db,
                   "peak_margin_db": self.peak_margin_db}
        return dataclasses.replace(base, **{k: v for k, v in changes.items() if v is not None})

    def naming_fields(self, series: str, episode: str, locale: "Locale") -> dict[str, str]:
        return {"series": safe_component(series or "series"), "episode": safe_component(episode),
                "locale": locale.tag, "language": locale.language, "profile": self.name}

    def output_paths(self, out_dir: Path, episode: Path, locale: "Locale") -> dict[str, Path]:
        """Every output of one market, named by the template; the series is the episode's folder name.

        Keys: video (the MP4, or the HLS master playlist), srt, vtt, report, bed, dialogue, cover,
        manifest, and hls (the package folder) for HLS profiles.
        """
        out_dir = Path(out_dir)
        values = self.naming_fields(Path(episode).parent.name, Path(episode).stem, locale)
        base = out_dir / self.naming.format(**values)
        paths = {suffix_key: base.with_name(base.name + suffix) for suffix_key, suffix in (
            ("video", ".mp4"), ("srt", ".srt"), ("vtt", ".vtt"), ("report", ".json"), ("bed", ".bed.wav"),
            ("dialogue", ".dialogue.wav"), ("cover", ".jpg"), ("manifest", ".manifest.json"))}
        if self.container == "hls":
            folder = out_dir / self.hls.folder.format(**values)
            paths["hls"] = folder
            paths["video"] = folder / "master.m3u8"
            paths["manifest"] = folder / "manifest.json"
            paths["cover"] = folder / "cover.jpg"
        return paths

    def delivered(self, outputs: dict[str, Path], locale: "Locale") -> list[Path]:
        """The files the export stage writes for one market (the manifest last), to check completeness."""
        files = [outputs["video"]]
        if self.container == "hls":
            from localize.stages.export.hls_layout import rendition_playlists

            files += rendition_playlists(outputs["hls"], locale, subtitles=self.subtitles.mode == "renditions")
        files += [outputs[fmt] for fmt in self.subtitles.sidecar]
        if self.cover.enabled:
            files.append(outputs["cover"])
        if self.manifest:
            files.append(outputs["manifest"])
        return files


def safe_component(text: str) -> str:
    """``text`` usable as one path component: no separators, no leading dot, not empty."""
    cleaned = re.sub(r"[\\/\x00-\x1f]+", "_", str(text)).strip().lstrip(".")
    return cleaned or "_"


# --- loading -----------------------------------------------------------------------------------

_SECTIONS: dict[str, type] = {"video": VideoSpec, "audio": AudioSpec, "subtitles": SubtitleSpec, "cover": CoverSpec,
                              "label": LabelSpec, "hls": HlsSpec}
_TOP_KEYS = {"name", "description", "extends", "container", "loudness", "naming", "title", "manifest", *_SECTIONS}


def shipped_dir() -> Path:
    """The folder of the profiles that ship with localize."""
    return Path(str(importlib.resources.files("localize") / "data" / "profiles"))


def user_dirs(extra: Path | str | None = None) -> list[Path]:
    """User profile folders: ``extra`` (the profiles_dir setting), then ``$LOCALIZE_PROFILES`` (path list)."""
    dirs = [Path(extra)] if extra else []
    dirs += [Path(p) for p in os.environ.get(PROFILES_ENV, "").split(os.pathsep) if p.strip()]
    return dirs


def available_profiles(extra: Path | str | None = None) -> dict[str, Path]:
    """Every profile name found, mapped to its file; user folders override shipped names."""
    found: dict[str, Path] = {}
    for folder in [shipped_dir(), *reversed(user_dirs(extra))]:
        if folder.is_dir():
            for path in sorted(folder.glob("*.y*ml")):
                if path.suffix in (".yaml", ".yml"):
                    found[path.stem] = path
    return found


def load_profile(name_or_path: str | Path | None = None, *, profiles_dir: Path | str | None = None) -> ExportProfile:
    """Load a profile by name (user folders first, then shipped) or from a YAML file path."""
    ref = str(name_or_path or DEFAULT_PROFILE)
    known = available_profiles(profiles_dir)
    return _build(*_resolve(ref, known, chain=()))


def _resolve(ref: str, known: dict[str, Path], chain: tuple[str, ...]) -> tuple[Path, dict]:
    path = Path(ref)
    if ref.endswith((".yaml", ".yml")) or os.sep in ref:
        if not path.is_file():
            raise ConfigError(f"profile file {ref}: no such file")
    elif ref in known:
        path = known[ref]
    else:
        raise ConfigError(f"unknown export profile {ref!r}; choose one of: {', '.join(sorted(known))} "
                          f"(or add NAME.yaml to a folder in ${PROFILES_ENV})")
    if str(path) in chain:
        raise ConfigError(f"profile {path.name}: 'extends' loops back to itself")
    data = _read_yaml(path)
    own_name = data.get("name", path.stem)
    parent = data.get("extends")
    if parent is not None:
        if not isinstance(parent, str) or not parent.strip():
            raise ConfigError(f"profile {path.name}: 'extends' must name a profile")
        parent_known = known
        if known.get(parent) == path:  # a user profile may extend the shipped profile it shadows
            parent_known = {**known, parent: shipped_dir() / f"{parent}.yaml"}
        _, base = _resolve(parent, parent_known, chain + (str(path),))
        data = _merge(base, {k: v for k, v in data.items() if k != "extends"})
    data["name"] = own_name
    data.pop("extends", None)
    return path, data


def _read_yaml(path: Path) -> dict:
    data = read_yaml(path, "profile")
    if not data:
        raise ConfigError(f"profile {path.name}: must be a mapping of settings")
    return data


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _build(path: Path, data: dict) -> ExportProfile:
    where = f"profile {data.get('name', path.stem)} ({path.name})"

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{where}: {message}")

    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; known: {', '.join(sorted(_TOP_KEYS - {'extends'}))}")
    name = str(data["name"])
    if not _NAME.match(name):
        raise fail(f"name {name!r} must be letters, digits, '-', '_' or '.'")
    sections = {key: _section(key, data.get(key), cls, fail) for key, cls in _SECTIONS.items()}
    loudness = data.get("loudness") or {}
    if not isinstance(loudness, dict) or set(loudness) - {"target_lufs", "true_peak_db", "peak_margin_db"}:
        raise fail("'loudness' takes target_lufs, true_peak_db and peak_margin_db")
    margin = loudness.get("peak_margin_db")
    if margin is not None:
        margin = _number(margin, "loudness.peak_margin_db", fail)
        if not 0.0 <= margin <= 6.0:
            raise fail(f"loudness.peak_margin_db {margin} is outside 0..6 dB")
    target = loudness.get("target_lufs")
    peak = loudness.get("true_peak_db")
    if target is not None:
        target = _number(target, "loudness.target_lufs", fail)
        if not -36.0 <= target <= -5.0:
            raise fail(f"loudness.target_lufs {target} is outside -36..-5 LUFS")
    if peak is not None:
        peak = _number(peak, "loudness.true_peak_db", fail)
        if not -9.0 <= peak <= 0.0:
            raise fail(f"loudness.true_peak_db {peak} is outside -9..0 dBTP")
    profile = ExportProfile(
        name=name, description=str(data.get("description") or ""), container=str(data.get("container", "mp4")),
        target_lufs=target, true_peak_db=peak, peak_margin_db=margin,
        naming=str(data.get("naming", "{episode}.{locale}")),
        title=None if data.get("title") is None else str(data["title"]),
        manifest=_boolean(data.get("manifest", False), "manifest", fail), source=str(path), **sections)
    _validate(profile, fail)
    return profile


def _section(key: str, raw: Any, cls: type, fail) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise fail(f"'{key}' must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in fields:
            raise fail(f"unknown key '{key}.{name}'; known: {', '.join(fields)}")
        default = fields[name].default if fields[name].default is not dataclasses.MISSING else None
        values[name] = _coerce(f"{key}.{name}", value, default, fail)
    return cls(**values)


def _coerce(name: str, value: Any, default: Any, fail) -> Any:
    if name == "label.visible_text":
        if isinstance(value, str):
            return (("default", value),)
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return tuple(sorted((str(k), v) for k, v in value.items()))
        raise fail(f"'{name}' must be text or a mapping of language to text")
    if isinstance(default, tuple):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise fail(f"'{name}' must be a list of names")
        return tuple(items)
    if name == "video.fps":
        if value in (None, "keep"):
            return None
        number = _number(value, name, fail)
        if not 1 <= number <= 120:
            raise fail(f"'{name}' must be 'keep' or a frame rate from 1 to 120")
        return number
    if value is None:
        return None
    if isinstance(default, bool):
        return _boolean(value, name, fail)
    if isinstance(default, float) or name in ("video.gop_seconds", "label.visible_seconds"):
        return _number(value, name, fail)
    if isinstance(default, int) or name in ("video.crf", "audio.sample_rate", "audio.channels"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"'{name}' must be a whole number, not {value!r}")
        return value
    if isinstance(value, (dict, list)):
        raise fail(f"'{name}' must be a single value")
    return str(value)


def _number(value: Any, name: str, fail) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(f"'{name}' must be a number, not {value!r}")
    return float(value)


def _boolean(value: Any, name: str, fail) -> bool:
    if not isinstance(value, bool):
        raise fail(f"'{name}' must be true or false, not {value!r}")
    return value


def _check_template(template: str, name: str, fail) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise fail(f"'{name}' template {template!r}: {exc}") from None
    for field_name in fields:
        if field_name not in NAME_FIELDS:
            raise fail(f"'{name}' template uses {{{field_name}}}; known: {', '.join(NAME_FIELDS)}")
    if "{episode}" not in template:
        raise fail(f"'{name}' template {template!r} must contain {{episode}} so episodes do not overwrite "
                   "each other")
    parts = Path(template).parts
    if not template.strip() or Path(template).is_absolute() or ".." in parts or template.endswith("/"):
        raise fail(f"'{name}' template {template!r} must be a relative name inside the output folder")


def _validate(p: ExportProfile, fail) -> None:
    v, a, s = p.video, p.audio, p.subtitles
    if p.container not in CONTAINERS:
        raise fail(f"container {p.container!r}: choose one of {', '.join(CONTAINERS)}")
    if v.resize not in RESIZE_POLICIES:
        raise fail(f"video.resize {v.resize!r}: choose one of {', '.join(RESIZE_POLICIES)}")
    if not (16 <= v.width <= 7680 and 16 <= v.height <= 7680) or v.width % 2 or v.height % 2:
        raise fail(f"video size {v.width}x{v.height} must be even numbers from 16 to 7680")
    if v.codec is not None and v.codec not in VIDEO_CODECS:
        raise fail(f"video.codec {v.codec!r}: choose one of {', '.join(VIDEO_CODECS)}")
    if v.crf is not None and not 0 <= v.crf <= 51:
        raise fail(f"video.crf {v.crf} is outside 0..51")
    if v.crf is not None and v.bitrate is not None:
        raise fail("set video.crf or video.bitrate, not both")
    for key in ("bitrate", "maxrate"):
        value = getattr(v, key)
        if value is not None and not _BITRATE.match(value):
            raise fail(f"video.{key} {value!r} is not a bit rate like 4M or 2500k")
    if a.bitrate is not None and not _BITRATE.match(a.bitrate):
        raise fail(f"audio.bitrate {a.bitrate!r} is not a bit rate like 128k")
    if v.h264_profile is not None and v.h264_profile not in ("baseline", "main", "high"):
        raise fail(f"video.h264_profile {v.h264_profile!r}: choose baseline, main or high")
    if v.gop_seconds is not None and not 0.5 <= v.gop_seconds <= 20:
        raise fail("video.gop_seconds must be from 0.5 to 20")
    if a.codec not in AUDIO_CODECS:
        raise fail(f"audio.codec {a.codec!r}: choose one of {', '.join(AUDIO_CODECS)}")
    if a.sample_rate is not None and a.sample_rate not in (22050, 24000, 32000, 44100, 48000):
        raise fail(f"audio.sample_rate {a.sample_rate} is not one of 22050, 24000, 32000, 44100, 48000")
    if a.channels is not None and a.channels not in (1, 2):
        raise fail(f"audio.channels {a.channels} must be 1 or 2")
    if s.mode not in SUBTITLE_MODES:
        raise fail(f"subtitles.mode {s.mode!r}: choose one of {', '.join(SUBTITLE_MODES)}")
    bad = [fmt for fmt in s.sidecar if fmt not in SIDECAR_FORMATS]
    if bad:
        raise fail(f"subtitles.sidecar {bad[0]!r}: choose from {', '.join(SIDECAR_FORMATS)}")
    if s.mode == "sidecar" and not s.sidecar:
        raise fail("subtitles.mode 'sidecar' needs at least one format in subtitles.sidecar")
    if p.container == "hls" and s.mode not in ("renditions", "none"):
        raise fail("an HLS package carries subtitles as WebVTT renditions: use subtitles.mode renditions or none")
    if p.container != "hls" and s.mode == "renditions":
        raise fail("subtitles.mode 'renditions' is for HLS packages (container: hls)")
    if not 0.0 <= p.cover.at <= 1.0:
        raise fail("cover.at is a share of the duration, from 0 to 1")
    if not 1 <= p.cover.quality <= 31:
        raise fail("cover.quality must be from 1 (best) to 31")
    if not p.label.text.strip() or "\n" in p.label.text:
        raise fail("label.text must be one non-empty line")
    bad = [key for key in p.label.metadata_keys if key not in LABEL_KEYS]
    if bad or not p.label.metadata_keys:
        raise fail(f"label.metadata_keys must list some of {', '.join(LABEL_KEYS)}")
    if p.label.position not in LABEL_POSITIONS:
        raise fail(f"label.position {p.label.position!r}: choose one of {', '.join(LABEL_POSITIONS)}")
    if not 1.0 <= p.hls.segment_seconds <= 20.0:
        raise fail("hls.segment_seconds must be from 1 to 20")
    _check_template(p.naming, "naming", fail)
    if p.container == "hls":
        _check_template(p.hls.folder, "hls.folder", fail)
    if p.title is not None:
        try:
            p.title.format(**{k: "x" for k in NAME_FIELDS})
        except (KeyError, IndexError, ValueError) as exc:
            raise fail(f"'title' template {p.title!r}: unknown or bad field {exc}") from None
