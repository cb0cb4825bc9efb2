"""Progress bars on stderr, quiet when not attached to a terminal unless asked for."""

from __future__ import annotations

import os
import sys


def progress(**kwargs):
    """A tqdm bar; disabled under ``LOCALIZE_PROGRESS=0`` or when stderr is not a terminal."""
    from tqdm import tqdm

    setting = os.environ.get("LOCALIZE_PROGRESS")
    disable = setting == "0" if setting is not None else not sys.stderr.isatty()
    return tqdm(file=sys.stderr, disable=disable, leave=False, dynamic_ncols=True, **kwargs)
