"""Burned-in Chinese subtitles: find their band, read them as timed events, fuse them with ASR, remove them.

The stage API (OpenCV, onnxruntime and the OCR model load only when a function needs them):

- :func:`analyse_hardsubs` (video, duration, :class:`HardsubOptions`) -> :class:`HardsubAnalysis`:
  the band (:mod:`.detect`), the timed events (:mod:`.ocr`) and the on-screen text that is
  not dialogue; JSON round trip with :meth:`HardsubAnalysis.to_dict` / :meth:`HardsubAnalysis.from_dict`;
- :func:`fuse` (:mod:`.fuse`): ASR segments + events -> segments with ``origin`` set;
- :func:`remove_hardsubs`: the picture without the Chinese text (a lossless band laid over the source), or
  None when there was no band, so the episode passes through untouched.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localize.ffmpeg import BandPatch
from localize.model import from_dict as _from_dict
from localize.stages.hardsubs.detect import OnScreenText, SubtitleBand
from localize.stages.hardsubs.fuse import FuseRules, fuse
from localize.stages.hardsubs.ocr import OcrEvent

VERSION = "4"

__all__ = ["VERSION", "HardsubAnalysis", "HardsubOptions", "OcrEvent", "OnScreenText", "SubtitleBand", "FuseRules",
           "analyse_hardsubs", "fuse", "remove_hardsubs"]


@dataclass(frozen=True)
class HardsubOptions:
    """Settings of the hard-subtitle stage.

    ``sample_fps``: band OCR samples a second (boundaries are refined to the frame whatever the
    rate; see bench/hardsubs.py for accuracy and cost at 2, 4 and 6).
    ``removal``: 'temporal' (default: the text filled from other frames of the shot, :mod:`.temporal`),
    'inpaint' (spatial only), 'blur' or 'box'.
    ``detect_fps`` / ``detect_max_frames`` / ``detect_max_side``: whole-frame OCR to find the band.
    ``ocr_text_height``: the band is shrunk so its text is about this tall (px) for OCR.
    ``threads``: onnxruntime threads (1 is fastest on a busy 2-core machine; 0 = all cores).
    ``guard_frames``: frames removed before and after each event, in case a boundary is a frame late.
    """

    sample_fps: float = 4.0
    removal: str = "temporal"
    detect_fps: float = 0.5
    detect_max_frames: int = 40
    detect_max_side: int = 768
    ocr_text_height: int = 32
    threads: int = 1
    guard_frames: int = 1


@dataclass
class HardsubAnalysis:
    """What the stage found. ``band`` None: no burned-in subtitles (then ``events`` is empty)."""

    band: SubtitleBand | None
    events: list[OcrEvent]
    onscreen: list[OnScreenText]
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> HardsubAnalysis:
        return _from_dict(cls, data)


def analyse_hardsubs(video: Path, duration_ms: int, options: HardsubOptions = HardsubOptions()) -> HardsubAnalysis:
    """Find the subtitle band of ``video``, read it into timed events, and list other on-screen text.

    ``duration_ms`` is the episode's length (from ingest); the video's own is used when it is 0.
    """
    from localize.stages.hardsubs.detect import detect_band, video_geometry
    from localize.stages.hardsubs.ocr import ocr_band

    started = time.monotonic()
    geometry = video_geometry(Path(video))
    if duration_ms > 0 and duration_ms != geometry.duration_ms:
        geometry = dataclasses.replace(geometry, duration_ms=duration_ms)
    band, onscreen, stats = detect_band(Path(video), fps=options.detect_fps, max_frames=options.detect_max_frames,
                                        max_side=options.detect_max_side, threads=options.threads)
    events: list[OcrEvent] = []
    if band is not None:
        constant = [o for o in onscreen if o.kind == "constant"]
        result = ocr_band(Path(video), band, geometry, sample_fps=options.sample_fps,
                          ocr_text_height=options.ocr_text_height, constant=constant, threads=options.threads)
        events = result.events
        stats.update(frames=result.frames, samples=len(result.readings), ocr_calls=result.ocr_calls,
                     signature_checks=result.checks, ocr_seconds=result.seconds)
    stats.update(fps=round(geometry.fps, 3), width=geometry.width, height=geometry.height)
    return HardsubAnalysis(band, events, onscreen, round(time.monotonic() - started, 3), stats)


def remove_hardsubs(video: Path, analysis: HardsubAnalysis, out_band: Path,
                    options: HardsubOptions = HardsubOptions()) -> BandPatch | None:
    """Write ``out_band`` (lossless H.264 in Matroska, picture only): the rows of ``video`` that held
    the burned-in subtitles, without them; the returned :class:`~localize.ffmpeg.BandPatch` reads
    as the whole clean picture.

    Returns None and writes nothing when the analysis found no band or no event: the episode
    then passes through untouched. Frames outside the events are copied byte for byte.
    """
    from localize.stages.hardsubs.remove import remove_subtitles

    if analysis.band is None or not analysis.events:
        return None
    return remove_subtitles(Path(video), analysis.band, analysis.events, Path(out_band), mode=options.removal,
                            guard_frames=options.guard_frames).patch
