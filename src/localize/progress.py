"""Progress bars on stderr, quiet when not attached to a terminal unless asked for."""

from __future__ import annotations

import os
import sys


def enabled() -> bool:
    """Progress shows on a terminal, or wherever ``LOCALIZE_PROGRESS=1``; never under ``LOCALIZE_PROGRESS=0``."""
    setting = os.environ.get("LOCALIZE_PROGRESS")
    return setting != "0" if setting is not None else sys.stderr.isatty()


def progress(**kwargs):
    """A tqdm bar, shown when :func:`enabled`."""
    from tqdm import tqdm

    return tqdm(file=sys.stderr, disable=not enabled(), leave=False, dynamic_ncols=True, **kwargs)


def announce_stage(name: str, record) -> None:
    """One line on stderr as each pipeline stage starts and ends (when :func:`enabled`)."""
    if not enabled():
        return
    if record is None:
        print(f"  {name} ...", file=sys.stderr, flush=True)
    else:
        how = "cached" if record.cached else f"{record.seconds:.1f} s"
        units = f", {record.units_made} lines made, {record.units_cached} reused" \
            if record.units_made or record.units_cached else ""
        print(f"  {name} done ({how}{units})", file=sys.stderr, flush=True)
