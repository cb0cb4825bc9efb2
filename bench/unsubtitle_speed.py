"""Subtitle removal time only, modes alternated, wall and CPU seconds per second of video.

    PYTHONPATH=src python bench/unsubtitle_speed.py build/bu/seed206 inpaint,temporal,temporal,inpaint
    PYTHONPATH=src python bench/unsubtitle_speed.py build/demo inpaint,temporal,temporal,inpaint

The folder holds ``episode.mp4`` (from ``localize sample`` or bench/unsubtitle.py). The subtitles
are found once by the stage's analysis and kept beside the episode (``analysis.v<VERSION>.json``,
as bench/unsubtitle.py keeps it), so only the removal is timed. Alternating the modes evens out a
machine whose load changes; CPU seconds (this process and its ffmpeg children) are less
sensitive to other work on a shared machine than wall seconds.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from localize import ffmpeg
from localize.stages.hardsubs import VERSION, HardsubAnalysis, HardsubOptions, analyse_hardsubs
from localize.stages.hardsubs.remove import remove_subtitles


def cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children (the ffmpeg decoders and encoder)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    folder, modes = Path(sys.argv[1]), sys.argv[2].split(",")
    video = folder / "episode.mp4"
    seconds_of_video = ffmpeg.probe(video).duration_ms / 1000
    saved = folder / f"analysis.v{VERSION}.json"
    if saved.is_file():
        analysis = HardsubAnalysis.from_dict(json.loads(saved.read_text(encoding="utf-8")))
    else:
        analysis = analyse_hardsubs(video, int(seconds_of_video * 1000), HardsubOptions())
        saved.write_text(json.dumps(analysis.to_dict(), ensure_ascii=False), encoding="utf-8")
    print(f"{video}: {seconds_of_video:.1f} s, {len(analysis.events)} subtitle events", flush=True)
    for mode in modes:
        wall, cpu = time.monotonic(), cpu_seconds()
        out = folder / f"speed.{mode}.mkv"
        result = remove_subtitles(video, analysis.band, analysis.events, out, mode=mode)
        wall, cpu = time.monotonic() - wall, cpu_seconds() - cpu
        out.unlink()  # the band alone: readers lay it over the source (BandPatch)
        print(f"{mode:>8}: {wall:.1f} s wall ({wall / seconds_of_video:.3f} s per second of video), {cpu:.1f} s CPU "
              f"({cpu / seconds_of_video:.3f} per second); {result.frames_changed}/{result.frames_total} frames "
              f"changed {result.stats}", flush=True)


if __name__ == "__main__":
    main()
