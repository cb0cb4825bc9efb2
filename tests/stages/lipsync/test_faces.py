"""Face detection on a real photo, shot cuts and tracking."""

from __future__ import annotations

import numpy as np
import pytest

from localize.errors import ModelError
from localize.stages.lipsync.faces import (DETECTORS, Face, LBPDetector, TrackOptions, iou, luma_histogram, mtcnn_weights_dir,
                                    nms, pick_face, shot_cuts, track)

# Hand-checked on skimage's astronaut (512x512): the face spans about x 180-268, y 61-173;
# eyes near y 100, mouth near y 140.
ASTRONAUT_FACE = np.array([180.0, 61.0, 268.0, 173.0])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _mtcnn_available() -> bool:
    try:
        mtcnn_weights_dir()
        return True
    except ModelError:
        return False


needs_mtcnn = pytest.mark.skipif(not _mtcnn_available(), reason="MTCNN weights not installed "
                                 "(pip install --no-deps facenet-pytorch==2.6.0)")


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    return data.astronaut()


@needs_mtcnn
def test_mtcnn_finds_the_astronaut_with_landmarks(astronaut):
    faces = DETECTORS.create("mtcnn", min_face=40).detect(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.99
    assert iou(ASTRONAUT_FACE, np.array([face.box]))[0] > 0.8
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks
    assert lx < nx < rx and mlx < mrx                  # left/right order
    assert max(ly, ry) < ny < min(mly, mry)            # eyes above nose above mouth
    assert 125 < (mly + mry) / 2 < 155                 # mouth line
    assert face.box[1] < ly and max(mly, mry) < face.box[3]


@needs_mtcnn
def test_mtcnn_scales_and_empty_frames(astronaut):
    import cv2

    detector = DETECTORS.create("mtcnn", min_face=30)
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    faces = detector.detect(small)
    assert len(faces) == 1
    assert iou(ASTRONAUT_FACE, np.array([faces[0].scaled(2.0).box]))[0] > 0.8
    flat = np.full((360, 240, 3), 128, np.uint8)
    assert detector.detect(flat) == []


def test_lbp_cascade_finds_the_astronaut(astronaut):
    pytest.importorskip("skimage")
    faces = LBPDetector().detect(astronaut)
    assert faces, "no face found"
    # Its box stops near the upper lip; the stage pads it down to the chin.
    assert iou(ASTRONAUT_FACE, np.array([faces[0].box]))[0] > 0.55
    assert LBPDetector().detect(np.full((200, 200, 3), 90, np.uint8)) == []


def test_nms_union_and_min():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [2, 2, 6, 6]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    assert sorted(nms(boxes, scores, 0.5).tolist()) == [0, 2, 3]
    # 'min' suppresses the small box inside the big one.
    assert sorted(nms(boxes, scores, 0.7, method="min").tolist()) == [2, 3]


def test_shot_cuts_from_histograms():
    rng = np.random.default_rng(0)
    bright = rng.integers(150, 220, (64, 36), dtype=np.uint8)
    dark = rng.integers(20, 90, (64, 36), dtype=np.uint8)
    frames = [np.clip(bright.astype(int) + i, 0, 255).astype(np.uint8) for i in range(10)]
    frames += [np.clip(dark.astype(int) + i, 0, 255).astype(np.uint8) for i in range(10)]
    hist = [luma_histogram(f) for f in frames]
    assert shot_cuts(hist) == [10]
    assert shot_cuts(hist[:1]) == []


def _face(x: float, y: float, size: float = 100.0) -> Face:
    return Face((x, y, x + size, y + size), 0.99)


def test_track_interpolates_smooths_and_resets_at_cuts():
    detections: list = [[_face(100 + 2 * i, 200)] for i in range(20)]
    detections[5] = []                               # a missed frame: bridged
    detections[8] = [_face(160, 200)]                # a one-frame jump: removed by the median
    for i in range(12, 20):                          # new shot: another place
        detections[i] = [_face(300, 50)]
    detections[12] = []                              # the first frame of the new shot has no face
    result = track(detections, cuts=[12], options=TrackOptions(max_gap=3, median_window=5))
    assert result.boxes[5] is not None and result.boxes[5][0] == pytest.approx(110, abs=1)
    assert result.boxes[8][0] == pytest.approx(116, abs=2.5)
    assert result.boxes[12] is None                  # nothing carried over the cut
    assert result.boxes[13][0] == pytest.approx(300)
    assert all(b[0] < 130 for b in result.boxes[:12])
    assert result.face_frames == 19


def test_track_leaves_long_gaps_and_low_scores_empty():
    detections: list = [[_face(100, 100)]] + [[]] * 10 + [[_face(100, 100)]]
    detections[3] = [Face((100, 100, 200, 200), 0.5)]   # below min_score
    result = track(detections, cuts=[], options=TrackOptions(max_gap=5))
    assert result.boxes[0] is not None and result.boxes[11] is not None
    assert all(b is None for b in result.boxes[1:11])


def test_pick_face_follows_the_previous_box():
    near, big = _face(100, 100, 80), _face(400, 400, 200)
    assert pick_face([near, big], previous=None) is big
    assert pick_face([near, big], previous=(105, 100, 185, 180)) is near
    assert pick_face([], previous=None) is None
