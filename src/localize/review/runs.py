"""What a market's last run was made with, kept in the episode's work dir so the review desk can
render that market again under exactly the same options (so every unchanged stage is a cache hit).

The options are pickled: they are a tree of frozen dataclasses and paths (export profiles
included) that this process wrote itself into its own work dir; nothing from the network is ever
unpickled.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from localize.errors import ConfigError
from localize.fsutil import atomic_path


def run_options_path(work_root: Path, locale_tag: str) -> Path:
    return Path(work_root) / f"run-options.{locale_tag}.pickle"


def save_run_options(work_root: Path, locale_tag: str, options: Any) -> None:
    """Remember the options a market was rendered with (atomically)."""
    with atomic_path(run_options_path(work_root, locale_tag)) as tmp:
        tmp.write_bytes(pickle.dumps(options))


def load_run_options(work_root: Path, locale_tag: str) -> Any:
    """The options of the market's last run; a missing or unreadable file is a clear error."""
    path = run_options_path(work_root, locale_tag)
    try:
        return pickle.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing: render {locale_tag} once with `localize` before reviewing it") from None
    except (OSError, pickle.UnpicklingError, AttributeError, EOFError, ImportError) as exc:
        raise ConfigError(f"{path} is unreadable ({exc}); render {locale_tag} again with `localize`") from None
