"""Planar YUV frames, colour conversion, and pasting a generated mouth back into a frame.

Frames stay in the source's own planar 8-bit YUV (as decoded by ffmpeg) from input to output,
and only pixels under the feathered lower-face mask are rewritten. That makes the promise
"every other pixel passes through bit-exact" literal: there is no YUV->RGB->YUV round trip
anywhere the mask is zero. The generator itself works in BGR (the public checkpoints were
trained on OpenCV's BGR frames), so the face box alone is converted for it.
"""

from __future__ import annotations

import numpy as np

from localize.rawvideo import FrameFormat

FACE_SIZE = 96

# Kr, Kb of the colour matrices.
_MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


def _coefficients(fmt: FrameFormat) -> tuple[float, float, float, float, float, float]:
    kr, kb = _MATRICES[fmt.matrix]
    if fmt.full_range:
        return kr, kb, 0.0, 255.0, 255.0, 128.0
    return kr, kb, 16.0, 219.0, 224.0, 128.0


def _upsample(plane: np.ndarray, fmt: FrameFormat, height: int, width: int) -> np.ndarray:
    sx, sy = fmt.shift
    return np.repeat(np.repeat(plane, 1 << sy, axis=0), 1 << sx, axis=1)[:height, :width]


def yuv_to_bgr(y: np.ndarray, u: np.ndarray, v: np.ndarray, fmt: FrameFormat) -> np.ndarray:
    """BGR uint8 (h, w, 3) from a luma region and its chroma region (chroma upsampled by repetition)."""
    kr, kb, y0, ys, cs, c0 = _coefficients(fmt)
    h, w = y.shape
    yy = (y.astype(np.float32) - y0) / ys
    pb = (_upsample(u, fmt, h, w).astype(np.float32) - c0) / cs
    pr = (_upsample(v, fmt, h, w).astype(np.float32) - c0) / cs
    r = yy + 2 * (1 - kr) * pr
    b = yy + 2 * (1 - kb) * pb
    g = (yy - kr * r - kb * b) / (1 - kr - kb)
    bgr = np.stack([b, g, r], axis=-1) * 255.0
    return np.clip(np.rint(bgr), 0, 255).astype(np.uint8)


def bgr_to_yuv(bgr: np.ndarray, fmt: FrameFormat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution float Y, Cb, Cr (not rounded, not subsampled) of a BGR image."""
    kr, kb, y0, ys, cs, c0 = _coefficients(fmt)
    x = bgr.astype(np.float32) / 255.0
    b, g, r = x[..., 0], x[..., 1], x[..., 2]
    yy = kr * r + (1 - kr - kb) * g + kb * b
    pb = (b - yy) / (2 * (1 - kb))
    pr = (r - yy) / (2 * (1 - kr))
    return y0 + ys * yy, c0 + cs * pb, c0 + cs * pr


def frame_to_rgb(planes: tuple[np.ndarray, np.ndarray, np.ndarray], fmt: FrameFormat, scale: float) -> np.ndarray:
    """A downscaled RGB copy of a frame, for face detection (planes are resized before conversion: cheaper)."""
    import cv2

    y, u, v = planes
    size = (max(1, int(round(fmt.width * scale))), max(1, int(round(fmt.height * scale))))
    small = FrameFormat(size[0], size[1], "yuv444p", fmt.matrix, fmt.full_range)
    resized = [cv2.resize(p, size, interpolation=cv2.INTER_AREA) for p in (y, u, v)]
    return np.ascontiguousarray(yuv_to_bgr(*resized, small)[..., ::-1])


def align_box(box: tuple[float, float, float, float], fmt: FrameFormat) -> tuple[int, int, int, int]:
    """Integer box grown outward to the chroma grid and clipped to the frame: (x1, y1, x2, y2), exclusive end."""
    sx, sy = fmt.shift
    gx, gy = 1 << sx, 1 << sy
    x1 = max(0, int(np.floor(box[0] / gx)) * gx)
    y1 = max(0, int(np.floor(box[1] / gy)) * gy)
    x2 = min(fmt.width, int(np.ceil(box[2] / gx)) * gx)
    y2 = min(fmt.height, int(np.ceil(box[3] / gy)) * gy)
    return x1, y1, x2, y2


def crop_bgr(planes: tuple[np.ndarray, np.ndarray, np.ndarray], box: tuple[int, int, int, int],
             fmt: FrameFormat) -> np.ndarray:
    """BGR pixels of an aligned box."""
    sx, sy = fmt.shift
    x1, y1, x2, y2 = box
    y, u, v = planes
    cx1, cy1, cx2, cy2 = x1 >> sx, y1 >> sy, -(-x2 // (1 << sx)), -(-y2 // (1 << sy))
    return yuv_to_bgr(y[y1:y2, x1:x2], u[cy1:cy2, cx1:cx2], v[cy1:cy2, cx1:cx2], fmt)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def lower_face_mask(height: int, width: int, top: float = 0.5, full: float = 0.62, full_end: float = 0.86,
                    bottom: float = 0.97, side: float = 0.12, side_full: float = 0.26) -> np.ndarray:
    """Feathered weight (h, w) in [0, 1] covering the mouth and jaw of a face box.

    Zero above ``top`` (fraction of the box height: Wav2Lip only regenerates the lower half),
    rising smoothly to one at ``full``, one down to ``full_end``, back to zero at ``bottom``;
    zero within ``side`` of the left and right edges, one inside ``side_full``. The weight is exactly zero on the box's
    border, so nothing outside the box can change and no seam shows at its edge.
    """
    ys = (np.arange(height) + 0.5) / height
    xs = (np.arange(width) + 0.5) / width
    vertical = smoothstep((ys - top) / (full - top)) * smoothstep((bottom - ys) / (bottom - full_end))
    edge = np.minimum(xs, 1.0 - xs)
    horizontal = smoothstep((edge - side) / (side_full - side))
    return (vertical[:, None] * horizontal[None, :]).astype(np.float32)


def generator_input(crop: np.ndarray) -> np.ndarray:
    """The 6-channel generator input for one BGR face crop: (6, 96, 96) float32 in [0, 1].

    Channels 0-2 are the crop with its lower half zeroed (the part to generate), 3-5 the
    unmasked crop as the identity reference, the same pairing Wav2Lip's inference uses.
    """
    import cv2

    face = cv2.resize(crop, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    masked = face.copy()
    masked[FACE_SIZE // 2:] = 0.0
    return np.concatenate([masked, face], axis=2).transpose(2, 0, 1)


def paste(planes: tuple[np.ndarray, np.ndarray, np.ndarray], box: tuple[int, int, int, int],
          generated: np.ndarray, fmt: FrameFormat) -> int:
    """Blend a generated BGR face (any size; resized to the box) into ``planes`` in place.

    Luma is blended per pixel with :func:`lower_face_mask`; chroma per chroma sample with the
    mask averaged over its block. Where the weight is zero the stored byte is left untouched.
    Returns the number of luma pixels that changed.
    """
    import cv2

    x1, y1, x2, y2 = box
    bh, bw = y2 - y1, x2 - x1
    if bh < 2 or bw < 2:
        return 0
    mouth = cv2.resize(generated, (bw, bh), interpolation=cv2.INTER_LINEAR)
    mask = lower_face_mask(bh, bw)
    gy, gu, gv = bgr_to_yuv(mouth, fmt)
    y, u, v = planes
    sx, sy = fmt.shift
    region = y[y1:y2, x1:x2]
    before = region.copy()
    support = mask > 0
    blended = region.astype(np.float32) + mask * (gy - region)
    region[support] = np.clip(np.rint(blended[support]), 0, 255).astype(np.uint8)

    # Chroma: average mask and generated chroma over each subsampling block (box is block-aligned).
    def blocks(a: np.ndarray) -> np.ndarray:
        h2, w2 = a.shape[0] >> sy, a.shape[1] >> sx
        return a[:h2 << sy, :w2 << sx].reshape(h2, 1 << sy, w2, 1 << sx).mean(axis=(1, 3))

    cmask = blocks(mask)
    csupport = cmask > 0
    cy1, cx1 = y1 >> sy, x1 >> sx
    for plane, gen in ((u, gu), (v, gv)):
        creg = plane[cy1:cy1 + cmask.shape[0], cx1:cx1 + cmask.shape[1]]
        mixed = creg.astype(np.float32) + cmask * (blocks(gen) - creg)
        creg[csupport] = np.clip(np.rint(mixed[csupport]), 0, 255).astype(np.uint8)
    return int((region != before).sum())
