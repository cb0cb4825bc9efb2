"""YUV handling and blending: only bytes under the lower-face mask may change."""

from __future__ import annotations

import numpy as np
import pytest

from localize.stages.lipsync.blend import (align_box, bgr_to_yuv, crop_bgr, frame_to_rgb, generator_input, lower_face_mask,
                                    paste, yuv_to_bgr)
from localize.rawvideo import FrameFormat


def random_frame(fmt: FrameFormat, seed: int = 0) -> bytearray:
    rng = np.random.default_rng(seed)
    return bytearray(rng.integers(16, 236, fmt.frame_bytes, dtype=np.uint8).tobytes())


@pytest.mark.parametrize("matrix,full", [("bt709", False), ("bt601", False), ("bt601", True)])
def test_colour_round_trip(matrix, full):
    rng = np.random.default_rng(1)
    bgr = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    fmt = FrameFormat(16, 16, "yuv444p", matrix, full)
    y, u, v = (np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in bgr_to_yuv(bgr, fmt))
    back = yuv_to_bgr(y, u, v, fmt)
    assert np.abs(back.astype(int) - bgr.astype(int)).max() <= 3


def test_colour_matches_opencv_bt601_limited():
    import cv2

    fmt = FrameFormat(32, 16, "yuv420p", "bt601", False)
    buf = np.frombuffer(random_frame(fmt), np.uint8)
    ours = yuv_to_bgr(*fmt.planes(buf), fmt)
    ref = cv2.cvtColor(buf.reshape(24, 32), cv2.COLOR_YUV2BGR_I420)
    # OpenCV upsamples chroma the same way (nearest) and uses fixed-point BT.601 coefficients.
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 2


def test_align_box_is_on_the_chroma_grid_and_clipped():
    fmt = FrameFormat(360, 640)
    assert align_box((11.2, 21.7, 101.1, 151.0), fmt) == (10, 20, 102, 152)
    assert align_box((-5, -3, 400, 700), fmt) == (0, 0, 360, 640)
    assert align_box((11.2, 21.7, 101.1, 151.0), FrameFormat(360, 640, "yuv444p")) == (11, 21, 102, 151)


def test_mask_is_lower_face_and_zero_on_the_border():
    mask = lower_face_mask(120, 100)
    assert mask.shape == (120, 100) and mask.max() == pytest.approx(1.0, abs=0.01)
    assert np.all(mask[:60] == 0)                       # upper half never touched
    assert np.all(mask[-1] == 0) and np.all(mask[:, 0] == 0) and np.all(mask[:, -1] == 0)
    assert mask[90, 50] == pytest.approx(1.0)


def test_generator_input_masks_the_lower_half():
    crop = np.full((150, 130, 3), 200, np.uint8)
    x = generator_input(crop)
    assert x.shape == (6, 96, 96) and x.dtype == np.float32
    assert np.all(x[:3, 48:] == 0) and np.allclose(x[:3, :48], 200 / 255) and np.allclose(x[3:], 200 / 255)


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p", "yuv444p"])
def test_paste_changes_only_the_masked_box(pix_fmt):
    fmt = FrameFormat(120, 160, pix_fmt)
    original = random_frame(fmt)
    frame = bytearray(original)
    box = align_box((30.4, 40.2, 91.0, 131.0), fmt)
    generated = np.zeros((96, 96, 3), np.uint8)         # a black mouth: sure to differ
    changed = paste(fmt.planes(frame), box, generated, fmt)
    assert changed > 0
    before, after = fmt.planes(np.frombuffer(original, np.uint8)), fmt.planes(np.frombuffer(frame, np.uint8))
    x1, y1, x2, y2 = box
    sx, sy = fmt.shift
    limits = [(y1, y2, x1, x2), (y1 >> sy, y2 >> sy, x1 >> sx, x2 >> sx), (y1 >> sy, y2 >> sy, x1 >> sx, x2 >> sx)]
    mask = lower_face_mask(y2 - y1, x2 - x1)
    for (top, bottom, left, right), b, a in zip(limits, before, after):
        diff = a != b
        rows, cols = np.nonzero(diff)
        assert rows.min() >= top and rows.max() < bottom and cols.min() >= left and cols.max() < right
    luma_diff = after[0] != before[0]
    assert np.all(~luma_diff[y1:y2, x1:x2][mask == 0])
    assert int(luma_diff.sum()) == changed
    # Where the mask is one, the luma is the generated black (16 in limited range).
    full = mask > 0.999
    assert np.all(after[0][y1:y2, x1:x2][full] == 16)


def test_crop_and_detection_copy():
    import cv2

    fmt = FrameFormat(64, 48, "yuv420p", "bt601")
    bgr = np.zeros((48, 64, 3), np.uint8)
    bgr[:, :32] = (0, 0, 255)                            # red left half
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    buf = yuv.reshape(-1)
    crop = crop_bgr(fmt.planes(buf), (0, 0, 16, 16), fmt)
    assert crop.shape == (16, 16, 3) and crop[..., 2].mean() > 200 and crop[..., 0].mean() < 40
    rgb = frame_to_rgb(fmt.planes(buf), fmt, 0.5)
    assert rgb.shape == (24, 32, 3) and rgb[:, :8, 0].mean() > 200 and rgb[:, -8:, 0].mean() < 40
