"""Where the removal's masks miss the drawn text, on an episode bench/unsubtitle.py made.

    PYTHONPATH=src python bench/unsubtitle_coverage.py build/bu/seed101

Prints the events against the truth (frames each line is shown), then counts the text pixels
(subtitled source vs clean plate > 16 levels, whole frame) that fall on frames no event covers,
outside the event's padded box, or inside the box but outside the temporal mode's glyph mask,
and lists the frames where that happens.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hardsubs import burned_times, match_events, true_frames  # noqa: E402


def main() -> None:
    from localize import ffmpeg
    from localize.rawvideo import probe_frame_format
    from localize.stages.hardsubs import VERSION, HardsubAnalysis
    from localize.stages.hardsubs.detect import read_frames
    from localize.stages.hardsubs.temporal import track

    folder = Path(sys.argv[1])
    truth = json.loads((folder / "episode.truth.json").read_text(encoding="utf-8"))
    video, clean = folder / "episode.mp4", folder / "episode.clean.mp4"
    lines, fps = truth["lines"], truth["fps"]
    burned_times(video, lines)
    analysis = HardsubAnalysis.from_dict(json.loads((folder / f"analysis.v{VERSION}.json").read_text(encoding="utf-8")))
    print(match_events(analysis.events, lines, fps))
    for line, event in zip(lines, analysis.events):
        print("line", line["id"], "shown", true_frames(line, fps), "event", (event.start_frame, event.end_frame))
    info = ffmpeg.probe(video)
    fmt, pix_fmt = probe_frame_format(video, info)
    n = int(info.duration_ms * info.fps / 1000) + 2
    tracked = track(video, analysis.band, analysis.events, fmt, pix_fmt, n, fps=info.fps)
    active = np.full(n + 1, -1)
    for k, plan in enumerate(tracked.plans):
        active[plan.first:plan.last] = k
    width, height = truth["width"], truth["height"]
    total = no_event = outside_box = outside_mask = 0
    frames: list[tuple] = []
    streams = [read_frames(p, out_size=(width, height), channels=1, what="reading") for p in (video, clean)]
    for (index, source), (_, plate) in zip(*streams):
        text = np.abs(source.astype(np.int16) - plate) > 16
        count = int(text.sum())
        if not count:
            continue
        total += count
        k = int(active[index]) if index < len(active) else -1
        if k < 0:
            no_event += count
            frames.append((index, "no event", count))
            continue
        plan = tracked.plans[k]
        x1, y1, x2, y2 = plan.box
        box = np.zeros_like(text)
        box[y1:y2, x1:x2] = True
        mask = np.zeros_like(text)
        if plan.mask is not None:
            mask[y1:y2, x1:x2] = plan.mask > 0
        out_box, out_mask = int((text & ~box).sum()), int((text & box & ~mask).sum())
        outside_box += out_box
        outside_mask += out_mask
        if out_box + out_mask > 50:
            frames.append((index, "partly outside", out_box + out_mask, count))
    print(f"text pixels {total}: on frames no event covers {no_event}, outside the box {outside_box}, "
          f"in the box outside the mask {outside_mask}")
    for row in frames[:60]:
        print(*row)


if __name__ == "__main__":
    main()
