"""The separation backends' contract: the stems they give, their base class and the registry they join.

Backends import this module, never the stage package, so no backend imports the code that picks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localize.registry import Registry


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
