"""Timed OCR events from synthetic frames: real PP-OCRv4 on Chinese drawn with the Noto CJK font.

The frames never touch a video file, so every subtitle's first and last frame is known exactly
and the refined boundaries can be asserted to the frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from localize.stages.hardsubs.detect import SubtitleBand, VideoGeometry
from localize.stages.hardsubs.ocr import (EventBuilder, Reading, Signatures, band_crop, read_band, runs_of, sample_frames,
                                   signature, signature_iou)

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
W, H, FPS = 360, 640, 10
N = 110
# (first frame, end frame, rows): A and B cut straight into each other; C comes back after a gap as D.
SCRIPT = [(5, 27, ["晓晓 你哥又欠了五万块"]), (27, 50, ["阿姨您别急"]),
          (62, 80, ["签了这份合同", "我替你还"]), (88, 100, ["签了这份合同", "我替你还"])]
BAND = SubtitleBand(top=388, bottom=478, left=40, right=320, line_height=28, frame_width=W, frame_height=H, max_rows=2)
GEOMETRY = VideoGeometry(W, H, FPS, 1, N * 1000 // FPS)

pytestmark = pytest.mark.skipif(not FONT.exists(), reason="needs fonts-noto-cjk")


def draw_frame(index: int, rows: list[str]) -> np.ndarray:
    """A drifting gradient (so no two frames are identical) with ``rows`` as white outlined subtitles."""
    from PIL import Image, ImageDraw, ImageFont

    ramp = np.linspace(60, 170, H, dtype=np.float32)[:, None] + 12 * np.sin(np.arange(W)[None, :] / 40 + index / 7)
    rgb = np.stack([ramp, ramp * 0.8 + 20, 200 - ramp * 0.5], axis=-1).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(rgb)
    font = ImageFont.truetype(str(FONT), 24)
    pen = ImageDraw.Draw(image)
    for k, row in enumerate(rows):
        y = 405 + 34 * k
        pen.text((W // 2, y), row, font=font, fill=(255, 255, 255), stroke_width=3, stroke_fill=(0, 0, 0), anchor="mt")
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


def rows_at(index: int) -> list[str]:
    return next((rows for first, end, rows in SCRIPT if first <= index < end), [])


@pytest.fixture(scope="module")
def band_frames():
    """(index, band crop at the OCR size) for every frame, as the decoder would hand them over."""
    import cv2

    crop = band_crop(BAND)
    out = []
    for i in range(N):
        picture = draw_frame(i, rows_at(i))[crop.top:crop.top + crop.height]
        out.append((i, cv2.resize(picture, crop.ocr_size, interpolation=cv2.INTER_AREA)))
    return crop, out


@pytest.fixture(scope="module")
def result(band_frames):
    crop, frames = band_frames
    return read_band(frames, BAND, GEOMETRY, crop, sample_fps=2.0)


def test_events_have_the_drawn_text_and_frame_exact_boundaries(result):
    got = [(e.start_frame, e.end_frame, e.text) for e in result.events]
    assert got == [(5, 27, "晓晓你哥又欠了五万块"), (27, 50, "阿姨您别急"), (62, 80, "签了这份合同 我替你还"),
                   (88, 100, "签了这份合同 我替你还")]
    first = result.events[0]
    assert (first.start_ms, first.end_ms) == (500, 2700)
    assert first.rows == ["晓晓你哥又欠了五万块"] and first.confidence > 0.9
    assert result.events[2].rows == ["签了这份合同", "我替你还"]
    x1, y1, x2, y2 = result.events[2].box
    assert 388 <= y1 < 410 and 440 < y2 <= 478 and x1 > 60 and x2 < 300


def test_unchanged_samples_reuse_the_last_reading(result):
    assert len(result.readings) == 22  # 2 samples a second over 11 s
    assert result.ocr_calls <= 10  # one per change of picture, not one per sample
    # Bisection: a handful of cheap checks per boundary, not one per frame.
    assert result.checks < 60


def test_a_missed_sample_and_a_misread_do_not_split_an_event(band_frames, result):
    crop, frames = band_frames
    sigs = Signatures((crop.sig_size[1], crop.sig_size[0], 2))
    import cv2

    for _i, picture in frames:
        gray = cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY)
        sigs.append(signature(cv2.resize(gray, crop.sig_size, interpolation=cv2.INTER_AREA),
                              BAND.line_height * crop.sig_scale))
    readings = [Reading(r.frame, r.text, list(r.rows), r.box, r.confidence) for r in result.readings]
    by_frame = {r.frame: r for r in readings}
    by_frame[10].text, by_frame[10].rows, by_frame[10].box = "", [], None  # OCR found nothing
    by_frame[15].text = "晓晓你哥又欠了五方块"  # one character misread
    by_frame[5].text, by_frame[5].rows, by_frame[5].box = "", [], None  # the first sample missed, too
    events = EventBuilder(sigs, crop.sig_scale, BAND, GEOMETRY, crop.top).build(readings)
    assert [(e.start_frame, e.end_frame, e.text) for e in events][:2] == [
        (5, 27, "晓晓你哥又欠了五万块"), (27, 50, "阿姨您别急")]
    assert events[0].samples == 3


def test_runs_group_similar_consecutive_readings():
    def r(frame: int, text: str) -> Reading:
        return Reading(frame, text, [text] if text else [], [0, 0, 10, 10] if text else None, 0.9)

    runs = runs_of([r(0, "你好啊朋友"), r(5, "你好啊朋友们"), r(10, ""), r(15, "你好啊朋友"), r(20, "再见")])
    assert [[x.frame for x in run.readings] for run in runs] == [[0, 5], [15], [20]]


def test_signatures_tell_same_text_from_other_text_and_from_none():
    import cv2

    def sig(i: int) -> np.ndarray:
        gray = cv2.cvtColor(draw_frame(i, rows_at(i))[388:478], cv2.COLOR_BGR2GRAY)
        return signature(gray, 28)

    same = signature_iou(sig(6), sig(25))
    other = signature_iou(sig(25), sig(30))
    none = signature_iou(sig(25), sig(55))
    assert same > 0.8 and other < 0.5 and none < 0.1
    assert not sig(55).any()  # a drifting gradient has no strokes


def test_sample_frames_are_evenly_spread():
    assert sorted(sample_frames(31, 30.0, 4.0))[:5] == [0, 8, 15, 22, 30]
    assert sorted(sample_frames(10, 10.0, 2.0)) == [0, 5, 10, 15]


def textured_events(first: int, end: int, cut: int | None = None, pan: int = 2, texture: float = 0.25):
    """Events built from signatures of a textured picture panning ``pan`` px a frame (another picture
    from ``cut`` on) with a subtitle's strokes on frames [first, end); samples every 8 frames, as the OCR reads them."""
    rng = np.random.default_rng(3)
    band = SubtitleBand(top=0, bottom=40, left=0, right=200, line_height=10, frame_width=200, frame_height=40)
    geometry = VideoGeometry(200, 40, 30, 1, 2000)
    pictures = [rng.random((40, 400, 2)) < texture for _ in range(2)]  # the photos' own strokes
    glyphs = np.zeros((40, 200, 2), bool)
    glyphs[12:28, 40:160, 0] = rng.random((16, 120)) < 0.35
    sigs = Signatures((40, 200, 2))
    for frame in range(60):
        picture = pictures[1 if cut is not None and frame >= cut else 0]
        sig = picture[:, pan * frame:pan * frame + 200].copy()
        if first <= frame < end:
            sig |= glyphs
        sigs.append(sig)
    box = [40, 12, 160, 28]
    readings = [Reading(f, "你好朋友" if first <= f < end else "", ["你好朋友"] if first <= f < end else [],
                        box if first <= f < end else None, 0.9) for f in range(0, 60, 8)]
    builder = EventBuilder(sigs, 1.0, band, geometry, 0)
    return builder, readings, builder.region(box)


def test_boundaries_are_exact_on_a_textured_moving_background():
    """On a photo with a panning camera the text's own frames score well under the fixed 0.6 IoU bar
    against their reference; the boundary is still the sharp step between text and no text."""
    from localize.stages.hardsubs.ocr import SAME_SIGNATURE

    builder, readings, region = textured_events(13, 47)
    reference = builder.reference(builder._join(runs_of(readings))[0], "start")
    assert signature_iou(builder.signatures[13], reference, region) < SAME_SIGNATURE  # the fixed bar would miss it
    assert [(e.start_frame, e.end_frame) for e in builder.build(readings)] == [(13, 47)]


def test_a_line_starting_just_before_a_cut_is_found_from_its_first_frame():
    """Frames 13-15 show the text over the last shot's picture, unlike every sample of the line (a still
    camera: the samples' background is in their reference, so those frames score half way down)."""
    builder, readings, _ = textured_events(13, 47, cut=16, pan=0, texture=0.1)
    assert [(e.start_frame, e.end_frame) for e in builder.build(readings)] == [(13, 47)]
