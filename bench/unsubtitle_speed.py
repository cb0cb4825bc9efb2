"""Subtitle removal wall time only, modes alternated, on an episode bench/unsubtitle.py made.

    PYTHONPATH=src python bench/unsubtitle_speed.py build/bu/seed206 inpaint,temporal,temporal,inpaint

Uses the analysis bench/unsubtitle.py kept beside the episode (``analysis.v<VERSION>.json``), so
only the removal is timed; alternating the modes evens out a machine whose load changes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from localize.stages.hardsubs import VERSION, HardsubAnalysis
from localize.stages.hardsubs.remove import remove_subtitles


def main() -> None:
    folder, modes = Path(sys.argv[1]), sys.argv[2].split(",")
    analysis = HardsubAnalysis.from_dict(json.loads((folder / f"analysis.v{VERSION}.json").read_text(encoding="utf-8")))
    seconds_of_video = json.loads((folder / "episode.truth.json").read_text(encoding="utf-8"))["duration_ms"] / 1000
    for mode in modes:
        started = time.monotonic()
        remove_subtitles(folder / "episode.mp4", analysis.band, analysis.events, folder / f"speed.{mode}.mkv", mode=mode)
        took = time.monotonic() - started
        print(f"{mode:>8}: {took:.1f} s, {took / seconds_of_video:.3f} s per second of video", flush=True)


if __name__ == "__main__":
    main()
