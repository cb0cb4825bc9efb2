"""Settings from a config file and the environment; command-line options win over both.

Lookup order: built-in defaults, then the YAML file (``--config``, ``$LOCALIZE_CONFIG``,
or ``./localize.yaml``), then ``LOCALIZE_*`` environment variables. Secrets such as API
keys are read from the environment only, never from the file.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localize.errors import ConfigError
from localize.yamlfile import read_yaml


@dataclass(frozen=True)
class Settings:
    translators: tuple[str, ...] = ("gemma",)
    voice_backend: str = "kokoro"
    voice_match: bool = True  # move each dub voice toward the original actor's pitch and timbre
    naturalness: bool = True  # score each market's dub with DNSMOS (CPU, 2 threads) for the report
    separator: str = "dfn-repet"
    # A Demucs .th checkpoint or bag .yaml for separator "demucs" (also: --separator-model).
    separator_model: str | None = None
    # Mix the original non-verbal vocals (gasps, sobs, laughter) outside the dubbed lines into the bed.
    keep_nonverbal: bool = False
    transcription_model: str = "whisper-base"
    source_language: str = "zh"
    target_lufs: float = -14.0
    true_peak_db: float = -1.0
    crf: int = 20
    preset: str = "veryfast"
    work_dir: str | None = None
    lipsync_checkpoint: str | None = None
    profile: str = "generic-mp4"  # export profile: a shipped or user profile name, or a YAML path
    profiles_dir: str | None = None  # a folder of user profiles (also: $LOCALIZE_PROFILES)
    # Translation backends: an OpenAI-compatible endpoint (its key only from $LOCALIZE_OPENAI_API_KEY)
    # and a local Marian/NLLB/M2M100 folder; neither is used unless set.
    openai_base_url: str | None = None
    openai_model: str | None = None
    seq2seq_model: str | None = None
    # A SpeechT5 voice-cloning model folder for voice_backend "speecht5" (also: --voice-model).
    neural_voice_model: str | None = None


ENV_PREFIX = "LOCALIZE_"
SECRET_WORDS = ("key", "token", "secret", "password")


def _coerce(name: str, raw: Any, default: Any, where: str) -> Any:
    """``raw`` as the type of ``default``; ``where`` names its source (the file, or the variable)."""
    try:
        if isinstance(default, tuple):
            items = raw if isinstance(raw, list) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        if isinstance(default, bool):
            return str(raw).lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: setting {name!r}: cannot read {raw!r} as {type(default).__name__}") from None
    return None if raw is None else str(raw)


def config_path(explicit: Path | None) -> Path | None:
    if explicit:
        return Path(explicit)
    if os.environ.get("LOCALIZE_CONFIG"):
        return Path(os.environ["LOCALIZE_CONFIG"])
    local = Path("localize.yaml")
    return local if local.is_file() else None


def load_settings(explicit: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from defaults, the config file and the environment."""
    environ = dict(os.environ if environ is None else environ)
    defaults = Settings()
    values: dict[str, Any] = {}
    path = config_path(explicit)
    if path is not None:
        data = read_yaml(path, "config")
        known = {f.name for f in dataclasses.fields(Settings)}
        for name, raw in data.items():
            key = str(name).replace("-", "_")
            if any(word in key.lower() for word in SECRET_WORDS):
                raise ConfigError(f"{path}: {name!r} looks like a secret; set it in the environment instead")
            if key not in known:
                raise ConfigError(f"{path}: unknown setting {name!r}; known: {', '.join(sorted(known))}")
            values[key] = _coerce(key, raw, getattr(defaults, key), str(path))
    for f in dataclasses.fields(Settings):
        env_name = ENV_PREFIX + f.name.upper()
        if env_name in environ:
            values[f.name] = _coerce(f.name, environ[env_name], getattr(defaults, f.name), f"${env_name}")
    return dataclasses.replace(defaults, **values)
