"""Reading the user-editable YAML files (config, glossaries, market rules, casts, profiles, scripts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localize.errors import ConfigError


def read_yaml(path: Path, what: str, *, mapping: bool = True) -> Any:
    """Parse ``path``; every problem is a one-line :class:`ConfigError` naming ``what`` and the file.

    With ``mapping`` (the default) an empty file reads as ``{}`` and anything but a mapping is refused.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{what} {path}: not valid YAML{where}: {problem}") from None
    if mapping:
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise ConfigError(f"{what} {path}: must be a mapping of settings, not {type(data).__name__}")
    return data
