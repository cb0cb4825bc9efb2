"""Separate: split the episode's audio into a dialogue stem and a background (music + effects) stem.

Backends (``--separator``), measured by ``bench/separation.py``:

- ``dfn-repet`` (default): DeepFilterNet3 speech estimate + music under the dialogue predicted
  by repetition from the dialogue-free gaps; Wiener gain on the mid channel, side kept whole.
- ``deepfilter``: DeepFilterNet3 speech estimate turned into a Wiener mask.
- ``dfn-nmf``: DeepFilterNet3 speech + an NMF music basis learned on the gaps.
- ``nmf``: NMF alone (music basis from the gaps, free speech basis).
- ``harmonic``: removes the voice's harmonics along its WORLD pitch track.
- ``demucs``: a Demucs/HDemucs/HTDemucs checkpoint the user gives (``--separator-model PATH``),
  see :mod:`localize.stages.separate.demucs`; no weights ship with the project.
- ``file``: a music-and-effects stem the studio delivered; ``none``: keep the mix and duck it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# Importing the backends registers them; each imports only the registry module.
from localize.stages.separate import demucs, dfn, harmonic, hybrid, nmf, passthrough  # noqa: F401
from localize.stages.separate.registry import SEPARATORS, Separator, Stems  # noqa: F401

VERSION = "1"


def copy_stem(src: Path, dst: Path) -> None:
    """Copy a stem to an output name atomically."""
    from localize.fsutil import atomic_path

    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)

