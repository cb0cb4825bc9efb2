"""Face detection and tracking for lip-sync.

Detectors (registered in :data:`DETECTORS`):

- ``mtcnn`` (default): our own implementation of the three-stage MTCNN cascade (P-Net over an
  image pyramid, R-Net, O-Net), running the pretrained weights that the ``facenet-pytorch``
  wheel ships as ``data/pnet.pt``, ``rnet.pt`` and ``onet.pt``. Only those weight files are
  read; facenet-pytorch itself is never imported (its metadata pins an old torch), so it can
  be installed with ``pip install --no-deps facenet-pytorch==2.6.0`` or its three files put in
  a folder named by ``$LOCALIZE_MTCNN_DIR``. Gives a box, a score and 5 landmarks
  (eyes, nose, mouth corners).
- ``lbp``: scikit-image's LBP cascade (``lbpcascade_frontalface_opencv.xml``, shipped inside
  the scikit-image wheel), with our own grouping of the raw windows. A weaker fallback: frontal
  faces only and no landmarks. (The OpenCV 5 wheels carry neither Haar cascades nor
  ``CascadeClassifier``, and ``cv2.FaceDetectorYN`` needs an external YuNet ONNX file.)

Tracking (:func:`track`) fills short gaps by interpolation, smooths each box coordinate with a
temporal median, and restarts at shot cuts found from luma-histogram jumps (:func:`shot_cuts`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from localize.errors import ModelError
from localize.registry import Registry

MTCNN_FILES = ("pnet.pt", "rnet.pt", "onet.pt")


@dataclass
class Face:
    """One detected face in frame pixels: box (x1, y1, x2, y2), score, optional 5 landmarks."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: list[tuple[float, float]] | None = None

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def scaled(self, factor: float) -> "Face":
        """The same face in a frame ``factor`` times larger."""
        marks = [(x * factor, y * factor) for x, y in self.landmarks] if self.landmarks else None
        return Face(tuple(v * factor for v in self.box), self.score, marks)  # type: ignore[arg-type]


class FaceDetector(Protocol):
    """Finds faces in an RGB uint8 frame (H, W, 3)."""

    name: str

    def detect(self, rgb: np.ndarray) -> list[Face]: ...


DETECTORS: Registry[FaceDetector] = Registry("face detector")


# --------------------------------------------------------------------------- NMS helpers

def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box ``a`` (4,) with each row of ``b`` (N, 4)."""
    xx1, yy1 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    xx2, yy2 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.maximum(0.0, xx2 - xx1) * np.maximum(0.0, yy2 - yy1)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(1e-9, area_a + area_b - inter)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression; ``method`` 'union' (IoU) or 'min' (overlap / smaller area).

    Areas use the +1 pixel convention of the MTCNN reference so thresholds mean the same.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores, kind="stable")
    keep = []
    while order.size:
        i = order[-1]
        keep.append(i)
        rest = order[:-1]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        denom = np.minimum(area[i], area[rest]) if method == "min" else area[i] + area[rest] - inter
        order = rest[inter / denom <= threshold]
    return np.asarray(keep, dtype=np.int64)


# --------------------------------------------------------------------------- MTCNN

def mtcnn_weights_dir() -> Path:
    """The folder holding pnet.pt, rnet.pt and onet.pt, or :class:`ModelError` saying how to get them."""
    env = os.environ.get("LOCALIZE_MTCNN_DIR")
    candidates = [Path(env)] if env else []
    import importlib.util

    # find_spec locates the package without running its __init__ (which needs torchvision).
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(list(spec.submodule_search_locations)[0]) / "data")
    for folder in candidates:
        if all((folder / name).is_file() for name in MTCNN_FILES):
            return folder
    raise ModelError("MTCNN face-detector weights not found: run `pip install --no-deps facenet-pytorch==2.6.0` "
                     "(only its data/pnet.pt, rnet.pt, onet.pt are used) or set LOCALIZE_MTCNN_DIR to a folder "
                     "holding those three files; or use the 'lbp' face detector")


def _mtcnn_nets():
    """P-, R- and O-Net modules with the parameter names of the published weights."""
    from torch import nn

    def prelu_conv(cin: int, cout: int, k: int) -> tuple[nn.Module, nn.Module]:
        return nn.Conv2d(cin, cout, k), nn.PReLU(cout)

    class PNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.prelu1 = prelu_conv(3, 10, 3)
            self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv2, self.prelu2 = prelu_conv(10, 16, 3)
            self.conv3, self.prelu3 = prelu_conv(16, 32, 3)
            self.conv4_1 = nn.Conv2d(32, 2, 1)
            self.conv4_2 = nn.Conv2d(32, 4, 1)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
            return self.conv4_2(x), self.conv4_1(x).softmax(dim=1)

    class RNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.prelu1 = prelu_conv(3, 28, 3)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2, self.prelu2 = prelu_conv(28, 48, 3)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3, self.prelu3 = prelu_conv(48, 64, 2)
            self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
            self.dense5_1 = nn.Linear(128, 2)
            self.dense5_2 = nn.Linear(128, 4)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.prelu3(self.conv3(x))
            # The weights come from Caffe via TF: dense layers expect (W, H, C) flattening order.
            x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)))
            return self.dense5_2(x), self.dense5_1(x).softmax(dim=1)

    class ONet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.prelu1 = prelu_conv(3, 32, 3)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2, self.prelu2 = prelu_conv(32, 64, 3)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3, self.prelu3 = prelu_conv(64, 64, 3)
            self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv4, self.prelu4 = prelu_conv(64, 128, 2)
            self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
            self.dense6_1 = nn.Linear(256, 2)
            self.dense6_2 = nn.Linear(256, 4)
            self.dense6_3 = nn.Linear(256, 10)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.pool3(self.prelu3(self.conv3(x)))
            x = self.prelu4(self.conv4(x))
            x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)))
            return self.dense6_2(x), self.dense6_3(x), self.dense6_1(x).softmax(dim=1)

    return PNet(), RNet(), ONet()


def _square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square around its centre (MTCNN's ``rerec``)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _regress(boxes: np.ndarray, reg: np.ndarray, plus_one: bool = True) -> np.ndarray:
    """Apply the networks' box offsets (fractions of width/height)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + (1 if plus_one else 0)
    h = boxes[:, 3] - boxes[:, 1] + (1 if plus_one else 0)
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


class MTCNNDetector:
    """MTCNN with the facenet-pytorch weights; thresholds and pyramid factor as published."""

    name = "mtcnn"

    def __init__(self, weights_dir: Path | None = None, min_face: int = 20,
                 thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7), factor: float = 0.709,
                 device: str = "cpu") -> None:
        import torch

        folder = Path(weights_dir) if weights_dir else mtcnn_weights_dir()
        self.pnet, self.rnet, self.onet = _mtcnn_nets()
        for net, name in zip((self.pnet, self.rnet, self.onet), MTCNN_FILES):
            try:
                state = torch.load(str(folder / name), map_location="cpu", weights_only=True)
                net.load_state_dict(state, strict=True)
            except (OSError, RuntimeError) as exc:
                raise ModelError(f"MTCNN weights {folder / name}: {str(exc).splitlines()[0]}") from None
            net.to(device).eval()
        self.device = device
        self.min_face = min_face
        self.thresholds = thresholds
        self.factor = factor

    def _crops(self, image, boxes: np.ndarray, size: int):
        """Resample each box (zero outside the frame, as the cascade was trained) to size x size."""
        import torch
        import torch.nn.functional as F

        _, _, h, w = image.shape
        crops = []
        for x1, y1, x2, y2 in np.trunc(boxes[:, :4]).astype(int):
            bw, bh = max(1, x2 - x1 + 1), max(1, y2 - y1 + 1)
            canvas = torch.zeros((1, 3, bh, bw), dtype=image.dtype, device=image.device)
            sx1, sy1, sx2, sy2 = max(0, x1), max(0, y1), min(w, x2 + 1), min(h, y2 + 1)
            if sx2 > sx1 and sy2 > sy1:
                canvas[:, :, sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = image[:, :, sy1:sy2, sx1:sx2]
            crops.append(F.interpolate(canvas, size=(size, size), mode="area"))
        return torch.cat(crops, dim=0)

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 frame, best score first."""
        import torch
        import torch.nn.functional as F

        h, w = rgb.shape[:2]
        with torch.inference_mode():
            image = torch.from_numpy(np.ascontiguousarray(rgb)).to(self.device).permute(2, 0, 1)[None].float()
            image = (image - 127.5) * 0.0078125
            # Stage 1: P-Net, a 12x12 sliding classifier, over a pyramid starting at 12 / min_face.
            scale = 12.0 / self.min_face
            shortest = min(h, w) * scale
            found = []
            while shortest >= 12:
                level = F.interpolate(image, size=(int(h * scale + 1), int(w * scale + 1)), mode="area")
                reg, prob = self.pnet(level)
                score = prob[0, 1].cpu().numpy()
                ys, xs = np.nonzero(score >= self.thresholds[0])
                if len(ys):
                    offsets = reg[0].cpu().numpy()[:, ys, xs].T
                    cells = np.stack([xs, ys], axis=1).astype(np.float64)
                    q1 = np.floor((2 * cells + 1) / scale)
                    q2 = np.floor((2 * cells + 12) / scale)
                    boxes = np.concatenate([q1, q2, score[ys, xs, None], offsets], axis=1)
                    found.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
                scale *= self.factor
                shortest *= self.factor
            if not found:
                return []
            boxes = np.concatenate(found)
            boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
            boxes = _square(np.concatenate([_regress(boxes[:, :4], boxes[:, 5:9], plus_one=False),
                                            boxes[:, 4:5]], axis=1))
            # Stage 2: R-Net on 24x24 crops rejects most candidates and refines the rest.
            reg, prob = self.rnet(self._crops(image, boxes, 24))
            score = prob[:, 1].cpu().numpy()
            keep = score > self.thresholds[1]
            if not keep.any():
                return []
            boxes = np.concatenate([boxes[keep, :4], score[keep, None]], axis=1)
            reg = reg.cpu().numpy()[keep]
            pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
            boxes = _square(np.concatenate([_regress(boxes[pick, :4], reg[pick]), boxes[pick, 4:5]], axis=1))
            # Stage 3: O-Net on 48x48 crops: final score, box and the 5 landmarks.
            reg, marks, prob = self.onet(self._crops(image, boxes, 48))
            score = prob[:, 1].cpu().numpy()
            keep = score > self.thresholds[2]
            if not keep.any():
                return []
            boxes, reg, marks = boxes[keep, :4], reg.cpu().numpy()[keep], marks.cpu().numpy()[keep]
            score = score[keep]
            bw = boxes[:, 2] - boxes[:, 0] + 1
            bh = boxes[:, 3] - boxes[:, 1] + 1
            px = bw[:, None] * marks[:, :5] + boxes[:, 0:1] - 1
            py = bh[:, None] * marks[:, 5:] + boxes[:, 1:2] - 1
            boxes = _regress(boxes, reg)
            pick = nms(boxes, score, 0.7, method="min")
        faces = []
        for i in pick:
            x1, y1, x2, y2 = (float(v) for v in boxes[i])
            faces.append(Face((max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2)), float(score[i]),
                              [(float(px[i, k]), float(py[i, k])) for k in range(5)]))
        return sorted(faces, key=lambda f: -f.score)


# --------------------------------------------------------------------------- LBP cascade (fallback)

class LBPDetector:
    """scikit-image's LBP frontal-face cascade; its own window grouping, largest face first."""

    name = "lbp"

    def __init__(self, min_face: int = 24, scale_factor: float = 1.2, min_neighbours: int = 4) -> None:
        try:
            from skimage import data
            from skimage.feature import Cascade
        except ImportError:
            raise ModelError("the 'lbp' face detector needs scikit-image (pip install scikit-image)") from None
        self._cascade = Cascade(data.lbp_frontal_face_cascade_filename())
        self.min_face = min_face
        self.scale_factor = scale_factor
        self.min_neighbours = min_neighbours

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Frontal faces in an RGB uint8 frame; the score is the box side (no confidence is given)."""
        h, w = rgb.shape[:2]
        found = self._cascade.detect_multi_scale(img=rgb, scale_factor=self.scale_factor, step_ratio=1,
                                                 min_size=(self.min_face, self.min_face),
                                                 max_size=(min(h, w), min(h, w)),
                                                 min_neighbor_number=self.min_neighbours)
        faces = [Face((float(d["c"]), float(d["r"]), float(d["c"] + d["width"]), float(d["r"] + d["height"])),
                      float(d["width"])) for d in found]
        return sorted(faces, key=lambda f: -f.area)


@DETECTORS.register("mtcnn")
def _make_mtcnn(**options) -> FaceDetector:
    return MTCNNDetector(**options)


@DETECTORS.register("lbp")
def _make_lbp(**options) -> FaceDetector:
    return LBPDetector(**options)


def default_detector(device: str = "cpu") -> FaceDetector:
    """MTCNN when its weights are installed, else the LBP cascade (weaker, but always present)."""
    try:
        return MTCNNDetector(device=device)
    except ModelError:
        return LBPDetector()


# --------------------------------------------------------------------------- shots and tracking

def luma_histogram(y_plane: np.ndarray, bins: int = 32) -> np.ndarray:
    """Normalised histogram of a (subsampled) luma plane: a cheap per-frame signature for cut detection."""
    sample = y_plane[::4, ::4]
    hist = np.bincount((sample.astype(np.uint16) * bins >> 8).ravel(), minlength=bins).astype(np.float64)
    return hist / max(1.0, hist.sum())


def shot_cuts(histograms: list[np.ndarray] | np.ndarray, threshold: float = 0.35) -> list[int]:
    """Frame indices that start a new shot: total-variation distance to the previous frame above ``threshold``.

    Within a shot (camera moves, lighting, talking) consecutive luma histograms differ by a few
    percent; a hard cut to another framing moves a third or more of the mass.
    """
    hist = np.asarray(histograms, dtype=np.float64)
    if len(hist) < 2:
        return []
    distance = 0.5 * np.abs(np.diff(hist, axis=0)).sum(axis=1)
    return [int(i) + 1 for i in np.nonzero(distance > threshold)[0]]


@dataclass
class TrackOptions:
    """How detections become a per-frame track."""

    max_gap: int = 5           # frames without a detection bridged by interpolation (inside one shot)
    median_window: int = 5     # temporal median over box coordinates (Wav2Lip averages 5 frames)
    min_score: float = 0.9     # MTCNN score below which a detection is ignored


@dataclass
class Track:
    """A box per frame (None where no face): x1, y1, x2, y2 in frame pixels, plus the shots used."""

    boxes: list[tuple[float, float, float, float] | None]
    cuts: list[int] = field(default_factory=list)

    @property
    def face_frames(self) -> int:
        return sum(b is not None for b in self.boxes)


def pick_face(faces: list[Face], previous: tuple[float, float, float, float] | None,
              min_score: float = 0.0) -> Face | None:
    """The face to follow: the one overlapping the previous box most, else the largest."""
    faces = [f for f in faces if f.score >= min_score]
    if not faces:
        return None
    if previous is not None:
        overlaps = iou(np.asarray(previous), np.array([f.box for f in faces]))
        best = int(np.argmax(overlaps))
        if overlaps[best] > 0.2:
            return faces[best]
    return max(faces, key=lambda f: f.area)


def track(detections: list[list[Face] | None], cuts: list[int], options: TrackOptions = TrackOptions()) -> Track:
    """Turn per-frame detections into a smoothed track.

    ``detections[i]`` is None for frames that were not examined, [] when no face was found.
    Each shot (split at ``cuts``) is tracked on its own: the chosen face follows the previous
    box, gaps up to ``max_gap`` frames are linearly interpolated, and each coordinate is
    median-filtered over ``median_window`` frames so the paste does not jitter.
    """
    n = len(detections)
    boxes: list[tuple[float, float, float, float] | None] = [None] * n
    edges = [0] + sorted(c for c in set(cuts) if 0 < c < n) + [n]
    for start, end in zip(edges[:-1], edges[1:]):
        raw = np.full((end - start, 4), np.nan)
        previous = None
        for i in range(start, end):
            face = pick_face(detections[i] or [], previous, options.min_score)
            if face is not None:
                raw[i - start] = face.box
                previous = face.box
        known = np.nonzero(~np.isnan(raw[:, 0]))[0]
        if len(known) == 0:
            continue
        # Interpolate short gaps between two detections of the same shot.
        for a, b in zip(known[:-1], known[1:]):
            if 1 < b - a <= options.max_gap + 1:
                t = (np.arange(a + 1, b) - a) / (b - a)
                raw[a + 1:b] = raw[a] + t[:, None] * (raw[b] - raw[a])
        valid = ~np.isnan(raw[:, 0])
        half = options.median_window // 2
        for j in np.nonzero(valid)[0]:
            lo, hi = max(0, j - half), min(len(raw), j + half + 1)
            window = raw[lo:hi][valid[lo:hi]]
            boxes[start + j] = tuple(float(v) for v in np.median(window, axis=0))  # type: ignore[assignment]
    return Track(boxes, sorted(set(cuts)))
