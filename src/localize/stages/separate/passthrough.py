"""The two backends that separate nothing: ``none`` keeps the mix, ``file`` takes a delivered M&E stem."""

from __future__ import annotations

from pathlib import Path

from localize.errors import InputError
from localize.stages.separate.registry import SEPARATORS, Separator, Stems


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
        from localize import ffmpeg

        if not self.path.is_file():
            raise InputError(f"{self.path}: background stem not found")
        target = out_dir / "bed.supplied.48k.wav"
        ffmpeg.run(ffmpeg.extract_audio_argv(self.path, target, rate=48000, channels=2), what="reading --bed")
        return Stems(dialogue=analysis_16k.name, bed=target.name, backend=self.name, bed_has_dialogue=False)
