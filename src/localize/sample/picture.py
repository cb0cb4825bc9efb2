"""Still pictures for the sample episode: one per (scene, speaker) pair.

Each picture is a vertical colour gradient with a few soft shapes for the set
and, while someone speaks, a head-and-shoulders silhouette in that character's
colour, kept above the subtitle band. Pictures are drawn a little larger than
the frame so the encoder can pan across them (a slow "camera drift").
Written as binary PPM, which ffmpeg reads without any imaging library here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from localize.sample.script import Scene


@dataclass(frozen=True)
class Canvas:
    """Frame size plus the margin each side that the pan moves within."""

    width: int = 1080
    height: int = 1920
    margin: int = 40

    @property
    def full(self) -> tuple[int, int]:
        return self.width + 2 * self.margin, self.height + 2 * self.margin


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)


def _soft_disc(img: np.ndarray, cx: float, cy: float, radius: float, color: np.ndarray, alpha: float,
               softness: float = 2.0) -> None:
    """Blend a disc with an anti-aliased (or, with large ``softness``, blurry) edge into ``img``."""
    h, w, _ = img.shape
    x0, x1 = max(0, int(cx - radius - softness)), min(w, int(cx + radius + softness) + 1)
    y0, y1 = max(0, int(cy - radius - softness)), min(h, int(cy + radius + softness) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    dist = np.hypot(xx - cx, yy - cy)
    a = np.clip((radius - dist) / softness + 0.5, 0.0, 1.0)[..., None] * alpha
    img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - a) + color * a


def _ellipse_fill(img: np.ndarray, cx: float, cy: float, rx: float, ry: float, color: np.ndarray,
                  alpha: float, y_max: int | None = None) -> None:
    h, w, _ = img.shape
    x0, x1 = max(0, int(cx - rx) - 2), min(w, int(cx + rx) + 3)
    y0, y1 = max(0, int(cy - ry) - 2), min(h if y_max is None else y_max, int(cy + ry) + 3)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    d = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    a = np.clip((1.0 - d) * min(rx, ry) / 1.5 + 0.5, 0.0, 1.0)[..., None] * alpha
    img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - a) + color * a


def draw(canvas: Canvas, scene: Scene, speaker_color: str | None, speaker_slot: int = 0) -> np.ndarray:
    """Draw one picture: uint8 RGB array of ``canvas.full`` size (height, width, 3)."""
    width, height = canvas.full
    top, bottom = _rgb(scene.top), _rgb(scene.bottom)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(top * (1 - ramp) + bottom * ramp, (height, width, 3)).copy()
    # The set: positions come from the scene's name, so a scene always looks the same.
    seed = int.from_bytes(hashlib.sha256(scene.name.encode("utf-8")).digest()[:4], "big")
    rng = np.random.default_rng(seed)
    wx, wy = rng.uniform(0.1, 0.45) * width, rng.uniform(0.08, 0.2) * height
    ww, wh = rng.uniform(0.3, 0.45) * width, rng.uniform(0.18, 0.26) * height
    window = np.clip(top * 0.5 + 150, 0, 255)
    img[int(wy):int(wy + wh), int(wx):int(wx + ww)] = img[int(wy):int(wy + wh), int(wx):int(wx + ww)] * 0.45 + window * 0.55
    floor_y = int(0.78 * height)
    img[floor_y:] *= 0.7
    for _ in range(6):  # out-of-focus lights
        _soft_disc(img, rng.uniform(0, width), rng.uniform(0.05, 0.55) * height, rng.uniform(25, 70),
                   np.array([255, 236, 200], np.float32), rng.uniform(0.12, 0.3), softness=20.0)
    if speaker_color is not None:
        color = _rgb(speaker_color) * 0.85
        cx = width * (0.5 + 0.16 * ((speaker_slot % 3) - 1))
        head_y = 0.33 * height
        # Shoulders stop at the floor line, well above the subtitle band (centre ~0.66 of the height).
        _ellipse_fill(img, cx, head_y + 0.2 * height, 0.2 * width, 0.13 * height, color, 0.95,
                      y_max=int(0.52 * height))
        _ellipse_fill(img, cx, head_y, 0.085 * width, 0.06 * height, color, 1.0)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_ppm(path: Path, rgb: np.ndarray) -> None:
    """Write an (h, w, 3) uint8 array as binary PPM (P6)."""
    h, w, _ = rgb.shape
    with open(path, "wb") as handle:
        handle.write(f"P6\n{w} {h}\n255\n".encode("ascii"))
        handle.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
