"""The stage end to end on small real videos: real ffmpeg, real PP-OCRv4, real removal.

A 360x640 H.264 clip with Chinese subtitles drawn in with the Noto CJK font (plus a watermark
and a sign), and a testsrc clip with no subtitles at all, which must pass through untouched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from localize.ffmpeg import write_clean_picture
from localize.stages.hardsubs import HardsubAnalysis, HardsubOptions, analyse_hardsubs, remove_hardsubs
from localize.stages.hardsubs.ocr import ocr_frames
from localize.metrics import has_han

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
W, H, FPS, N = 360, 640, 25, 200
SCRIPT = [(13, 60, ["晓晓 你哥又欠了五万块"]), (60, 110, ["阿姨 您别急", "这笔钱我一定想办法还上"]),
          (130, 180, ["你一个小姑娘"])]

pytestmark = [pytest.mark.skipif(not FONT.exists(), reason="needs fonts-noto-cjk"),
              pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")]


def draw(index: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    ramp = np.linspace(40, 150, H, dtype=np.float32)[:, None] + 10 * np.sin(np.arange(W)[None, :] / 50 + index / 9)
    rgb = np.stack([ramp * 0.9 + 30, ramp * 0.7 + 20, ramp * 0.6], axis=-1).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(rgb)
    pen = ImageDraw.Draw(image)
    small, big = ImageFont.truetype(str(FONT), 18), ImageFont.truetype(str(FONT), 24)
    pen.text((270, 40), "甜心短剧", font=small, fill=(255, 230, 120))  # watermark, always there
    if index >= 100:
        pen.text((30, 160), "顾氏集团", font=big, fill=(20, 20, 20))  # a sign on the wall
    rows = next((rows for first, end, rows in SCRIPT if first <= index < end), [])
    for k, row in enumerate(rows):
        pen.text((W // 2, 410 + 34 * k), row, font=big, fill=(255, 255, 255), stroke_width=3, stroke_fill=(0, 0, 0),
                 anchor="mt")
    return np.asarray(image)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hardsubs") / "clip.mp4"
    argv = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r", str(FPS),
            "-i", "pipe:0", "-f", "lavfi", "-i", f"sine=frequency=440:duration={N / FPS}",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-shortest", str(path)]
    frames = b"".join(draw(i).tobytes() for i in range(N))
    subprocess.run(argv, input=frames, check=True)
    return path


@pytest.fixture(scope="module")
def analysis(clip) -> HardsubAnalysis:
    return analyse_hardsubs(clip, N * 1000 // FPS, HardsubOptions(detect_fps=1.0))


def decode(path: Path) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "rawvideo",
                          "-pix_fmt", "yuv420p", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, W * H * 3 // 2)


def test_band_events_and_onscreen_text(analysis):
    band = analysis.band
    assert band is not None and band.frame_width == W and band.max_rows == 2
    assert band.top <= 405 and band.bottom >= 470 and 0.6 < band.center_ratio < 0.75
    got = [(e.start_frame, e.end_frame, e.text) for e in analysis.events]
    assert [t for _, _, t in got] == ["晓晓你哥又欠了五万块", "阿姨您别急 这笔钱我一定想办法还上", "你一个小姑娘"]
    for (first, end, _rows), (start, stop, _text) in zip(SCRIPT, got):
        assert abs(start - first) <= 1 and abs(stop - end) <= 1, (start, stop, first, end)
    texts = {o.text for o in analysis.onscreen}
    assert "甜心短剧" in texts and "顾氏集团" in texts
    sign = next(o for o in analysis.onscreen if o.text == "顾氏集团")
    assert 3000 <= sign.start_ms <= 5000 and sign.box[1] < 200
    assert analysis.stats["frames"] == N and analysis.stats["ocr_calls"] < analysis.stats["samples"]


def test_analysis_round_trips_through_json(analysis):
    data = json.loads(json.dumps(analysis.to_dict(), ensure_ascii=False))
    assert HardsubAnalysis.from_dict(data) == analysis


def test_inpainting_removes_the_text_and_leaves_other_frames_bit_exact(clip, analysis, tmp_path):
    patch = remove_hardsubs(clip, analysis, tmp_path / "band.mkv")
    assert patch.band == tmp_path / "band.mkv" and patch.band.exists() and patch.source == clip
    # Only the rows of the subtitle boxes are written; the rest is the source's own.
    assert 0 < patch.rows < H // 3 and patch.top >= analysis.band.top - 20
    out = write_clean_picture(patch, tmp_path / "clean.mkv")
    source, cleaned = decode(clip), decode(out)
    assert source.shape == cleaned.shape == (N, W * H * 3 // 2)
    touched = np.zeros(N, bool)
    for e in analysis.events:
        touched[max(0, e.start_frame - 1):e.end_frame + 1] = True
    assert np.array_equal(source[~touched], cleaned[~touched])
    assert all(not np.array_equal(source[i], cleaned[i]) for i in (20, 80, 150))
    # Outside the band, even changed frames keep every luma byte.
    luma = lambda frames: frames[:, :W * H].reshape(-1, H, W)  # noqa: E731
    assert np.array_equal(luma(source)[:, :360], luma(cleaned)[:, :360])
    band = analysis.band
    frames = [15, 35, 58, 62, 85, 108, 132, 155, 178]
    read = ocr_frames(out, frames, region=(0, band.top - 20, W, band.bottom - band.top + 40))
    left = {f: [ln.text for ln in lines if has_han(ln.text)] for f, lines in read.items()}
    assert not any(left.values()), left
    # The sign and the watermark stay.
    sign = ocr_frames(out, [150], frame_size=(W, H))[150]
    assert any("顾氏集团" in ln.text for ln in sign)


@pytest.mark.parametrize("mode", ["inpaint", "blur", "box"])
def test_blur_and_box_modes(clip, analysis, tmp_path, mode):
    out = write_clean_picture(remove_hardsubs(clip, analysis, tmp_path / f"{mode}.band.mkv", HardsubOptions(removal=mode)),
                        tmp_path / f"{mode}.mkv")
    cleaned = decode(out)
    luma = cleaned[:, :W * H].reshape(-1, H, W)
    event = analysis.events[1]
    x1, y1, x2, y2 = event.box
    if mode == "box":
        assert (luma[80, y1:y2, x1:x2] == 16).all()
    band = analysis.band
    read = ocr_frames(out, [35, 85, 155], region=(0, band.top - 20, W, band.bottom - band.top + 40))
    assert not any(has_han(ln.text) for lines in read.values() for ln in lines)


def test_episode_without_burned_in_subtitles_passes_through(tmp_path):
    video = tmp_path / "plain.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=180x320:rate=25:duration=4",
                    "-f", "lavfi", "-i", "sine=frequency=300:duration=4", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(video)], check=True)
    analysis = analyse_hardsubs(video, 4000, HardsubOptions(detect_fps=1.0))
    assert analysis.band is None and analysis.events == []
    # testsrc's frame counter is text that changes, but it is not Chinese dialogue.
    out = tmp_path / "out.mkv"
    assert remove_hardsubs(video, analysis, out) is None
    assert not out.exists()
    assert HardsubAnalysis.from_dict(analysis.to_dict()) == analysis


def test_the_removal_lists_only_its_own_band_as_its_files():
    """The picture under the band is the ingest's (the episode, wherever it now is): listed here, a
    relative path was looked for inside the work dir, missed, and the removal re-ran on every run."""
    from localize.stages.hardsubs.stage import UNSUBTITLE

    assert tuple(UNSUBTITLE.files({"conformed": "", "patch": None})) == ()
    patch = {"source": "", "band": "picture.band.mkv", "top": 0, "rows": 2, "width": 4,
             "height": 4, "fps_num": 30, "fps_den": 1}
    assert tuple(UNSUBTITLE.files({"conformed": "", "patch": patch})) == ("picture.band.mkv",)


def test_the_clean_picture_is_found_from_the_run_not_the_record(tmp_path):
    """Records name no path outside the work dir: the same episode, moved, meets them again."""
    from localize.stages.hardsubs.stage import Picture

    patch = {"source": "", "band": "picture.band.mkv", "top": 0, "rows": 2, "width": 4,
             "height": 4, "fps_num": 30, "fps_den": 1}
    moved, work = tmp_path / "moved" / "ep01.mp4", tmp_path / "work"
    over_episode = Picture(conformed="", patch=patch).clean(moved, work)
    assert (over_episode.source, over_episode.band) == (moved, work / "picture.band.mkv")
    over_copy = Picture(conformed="picture.conformed.mkv", patch=patch)
    assert over_copy.video(moved, work) == work / "picture.conformed.mkv"
    assert over_copy.clean(moved, work).source == work / "picture.conformed.mkv"
    assert Picture().clean(moved, work) is None and Picture().video(moved, work) == moved
