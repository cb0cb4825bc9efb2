"""Photo scenery for the sample episode: shots, camera moves, subtitle styles, and the clean plate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from localize.sample.photo import PHOTOS, ShotRenderer, draw_style, load_photo, plan_shots, render_frames


def test_shots_cut_at_scene_changes_and_every_few_seconds() -> None:
    rng = np.random.default_rng(3)
    shots = plan_shots([9000, 30000], 47000, rng)
    assert shots[0].start_ms == 0 and shots[-1].end_ms == 47000
    assert all(a.end_ms == b.start_ms for a, b in zip(shots, shots[1:]))
    starts = {s.start_ms for s in shots}
    assert {9000, 30000} <= starts
    assert all(1000 <= s.end_ms - s.start_ms <= 11000 for s in shots)
    assert all(a.photo != b.photo for a, b in zip(shots, shots[1:]))  # a cut always changes the picture
    assert {s.photo for s in shots} <= set(PHOTOS)


def test_styles_vary_within_microdrama_ranges() -> None:
    styles = [draw_style(np.random.default_rng(seed)) for seed in range(40)]
    assert all(0.6 <= s.center_ratio <= 0.85 for s in styles)
    assert all(s.outline > 0 or s.shadow > 0 for s in styles)  # always legible on a photo
    assert len({s.outline for s in styles}) > 2 and len({s.color for s in styles}) == 2
    assert len({s.row_chars for s in styles}) > 2


def test_camera_moves_slowly_and_stays_inside_the_photo() -> None:
    shots = plan_shots([], 4000, np.random.default_rng(5))
    photo = load_photo(shots[0].photo)
    assert photo.ndim == 3 and photo.dtype == np.uint8
    for move in ("push", "pan"):
        shot = type(shots[0])(0, 4000, shots[0].photo, move, 0.08 if move == "push" else 120.0, (0.6, 0.8),
                              (0.5, 0.5))
        renderer = ShotRenderer(shot, 108, 192, photo)
        first, nxt, last = (renderer.frame(t).astype(np.int16) for t in (0, 33, 4000))
        assert first.shape == (192, 108, 3)
        assert np.abs(first - nxt).mean() < 2.0  # one frame later: barely moved
        assert np.abs(first - last).mean() > 3.0  # by the end of the shot: clearly moved
    frames = list(render_frames(shots, 54, 96, 30, 120))
    assert len(frames) == 120


@pytest.mark.slow
def test_photo_episode_has_a_clean_plate(tmp_path: Path) -> None:
    from localize import ffmpeg
    from localize.sample import generate_sample
    from localize.stages.hardsubs.detect import read_frames

    script = tmp_path / "short.yaml"
    script.write_text(
        "title: t\nseries: s\ncharacters:\n  甲: {gender: female, variant: f3, pitch: 60, speed: 180}\n"
        "lines:\n  - {speaker: 甲, zh: 你好，我们走吧。, en: Hello, let's go.}\n"
        "  - {speaker: 甲, zh: 今天的天气真好。, en: The weather is lovely today.}\n", encoding="utf-8")
    episode = generate_sample(tmp_path / "out", script, scenery="photo", look_seed=11)
    truth = json.loads(episode.truth.read_text(encoding="utf-8"))
    assert truth["scenery"] == "photo" and truth["files"]["clean"] == "episode.clean.mp4"
    assert 0.6 <= truth["subtitle_band"]["center_ratio"] <= 0.85
    video, clean = ffmpeg.probe(episode.video), ffmpeg.probe(episode.clean)
    assert (video.width, video.height) == (clean.width, clean.height) == (1080, 1920)
    assert abs(video.duration_ms - clean.duration_ms) <= 40
    centre = round(truth["subtitle_band"]["center_y"])
    line = truth["lines"][0]
    mid = int((line["start_ms"] + line["end_ms"]) / 2 * 30 / 1000)
    rows = (0, centre - 100, 1080, 200)
    a, b = ({i: f for i, f in read_frames(p, out_size=(1080, 200), channels=1, crop=rows) if i == mid}[mid]
            for p in (episode.video, episode.clean))
    diff = np.abs(a.astype(int) - b.astype(int))
    assert (diff > 40).mean() > 0.01  # the subtitle is in one and not the other
    top = {i: f for i, f in read_frames(episode.video, out_size=(1080, 200), channels=1, crop=(0, 200, 1080, 200))
           if i == mid}[mid]
    top_clean = {i: f for i, f in read_frames(episode.clean, out_size=(1080, 200), channels=1,
                                              crop=(0, 200, 1080, 200)) if i == mid}[mid]
    assert np.abs(top.astype(int) - top_clean.astype(int)).mean() < 3  # elsewhere only encoder noise
