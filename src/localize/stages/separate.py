"""Separate: split the episode's audio into a dialogue stem and a background (music + effects) stem.

Backends (``--separator``), measured by ``bench/separation.py``:

- ``dfn-repet`` (default): DeepFilterNet3 speech estimate + music under the dialogue predicted
  by repetition from the dialogue-free gaps; Wiener gain on the mid channel, side kept whole.
- ``deepfilter``: DeepFilterNet3 speech estimate turned into a Wiener mask.
- ``dfn-nmf``: DeepFilterNet3 speech + an NMF music basis learned on the gaps.
- ``nmf``: NMF alone (music basis from the gaps, free speech basis).
- ``harmonic``: removes the voice's harmonics along its WORLD pitch track.
- ``demucs``: a Demucs/HDemucs/HTDemucs checkpoint the user gives (``--separator-model PATH``),
  see :mod:`localize.separation.demucs`; no weights ship with the project.
- ``file``: a music-and-effects stem the studio delivered; ``none``: keep the mix and duck it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..registry import Registry

VERSION = "1"


@dataclass
class Stems:
    """Stem files (names in the work dir). ``bed_has_dialogue`` tells the mix to duck the original lines."""

    dialogue: str
    bed: str
    backend: str
    bed_has_dialogue: bool

    @property
    def vocals_alone(self) -> bool:
        """Whether ``dialogue`` holds the actors' voices alone (a real separator's stem), not the mix
        that ``none`` and ``file`` leave there: voice matching and non-verbal vocals need that."""
        return not self.bed_has_dialogue and self.backend != "file"


class Separator:
    """Base class of separation backends."""

    name = "base"

    def separate(self, mix_48k: Path, analysis_16k: Path, out_dir: Path) -> Stems:
        raise NotImplementedError


SEPARATORS: Registry[Separator] = Registry("separation")


@SEPARATORS.register("none")
class NoSeparation(Separator):
    """Keeps the original audio as the background; the mix then ducks the original dialogue.

    The Chinese dialogue stays audible under the dub at the ducking level, which is why
    a real separator is preferred whenever one is available.
    """

    name = "none"

    def separate(self, mix_48k: Path, analysis_16k: Path, out_dir: Path) -> Stems:
        return Stems(dialogue=analysis_16k.name, bed=mix_48k.name, backend=self.name, bed_has_dialogue=True)


@SEPARATORS.register("file")
class SuppliedBed(Separator):
    """A music-and-effects stem the studio delivered (``--bed FILE``), used as it is."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def separate(self, mix_48k: Path, analysis_16k: Path, out_dir: Path) -> Stems:
        from .. import ffmpeg

        if not self.path.is_file():
            raise InputError(f"{self.path}: background stem not found")
        target = out_dir / "bed.supplied.48k.wav"
        ffmpeg.run(ffmpeg.extract_audio_argv(self.path, target, rate=48000, channels=2), what="reading --bed")
        return Stems(dialogue=analysis_16k.name, bed=target.name, backend=self.name, bed_has_dialogue=False)


def copy_stem(src: Path, dst: Path) -> None:
    """Copy a stem to an output name atomically."""
    from ..fsutil import atomic_path

    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


# The real separators live in localize.separation, one module per backend; importing them
# registers them here. They import this module, so this stays at the bottom.
from ..separation import demucs, dfn, harmonic, hybrid, nmf  # noqa: E402,F401
