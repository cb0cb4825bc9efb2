"""Subtitle removal that uses time: fill the text from frames of the same shot where it is uncovered.

Within a shot the background behind a subtitle is usually visible in some other frame: between
lines the band is clean, the next line covers other pixels, and a moving camera slides the
background out from under the text. So, for each pixel of a subtitle's mask:

1. *track* (one pass over the subtitle rows and a margin above and below, decoded in the
   source's own planar YUV): shot cuts from the jump in the margin's picture; the camera's motion
   as one similarity transform per frame from the start of its shot, each frame measured directly
   against an *anchor* (a frame of the same shot, renewed every ``anchor_s``: corners of the
   anchor followed by pyramidal Lucas-Kanade, checked back, fitted with RANSAC, on the pixels
   outside every subtitle box of either frame), so the transforms do not drift the way chained
   frame-to-frame steps do; the glyph masks (:func:`.remove.event_masks`' stroke counts,
   dilated only enough to take in the outline, shadow and anti-aliasing); and a copy of the
   subtitle rows every ``donor_every`` frames near the subtitles, the *donors*.
2. *fill*: once per shot, every donor of the shot is warped into the coordinates of the shot's
   first frame and its uncovered pixels (its own text, generously dilated, and the picture's
   edges excluded) are averaged into a background *plate*; pixels no donor uncovers (text that
   never moves and never leaves during the shot) are inpainted in space, once, on the plate.
   Each frame's masked pixels then come from the plate warped by that frame's camera transform,
   so the fill moves with the camera and is otherwise the same on every frame: nothing to flicker.

Only the subtitle rows of frames with text are touched; every other byte passes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localize import ffmpeg
from localize.errors import InputError
from localize.rawvideo import FrameFormat
from localize.stages.hardsubs.detect import SubtitleBand, even, stream_raw
from localize.stages.hardsubs.ocr import OcrEvent, signature
from localize.stages.hardsubs.fill import EventMask, Inpainter, chroma_mask, padded_box, smooth_fill, text_mask

# Jump of the margin picture (mean absolute difference, grey levels, at 1/8 size) that makes a cut,
# when it is also several times the shot's usual frame-to-frame change.
CUT_LEVEL = 14.0
CUT_RATIO = 4.0
# Fewest corners a camera transform is measured from.
MIN_CORNERS = 12


@dataclass
class Donor:
    """The subtitle rows of one frame, kept to fill other frames."""

    frame: int
    planes: tuple[np.ndarray, np.ndarray, np.ndarray]  # Y, U, V of rows [rows[0], rows[1])
    covered: np.ndarray | None = None  # uint8 255 where this frame's own text is (luma grid)


@dataclass
class Track:
    """What the tracking pass found: shots, camera transforms, masks and donors."""

    rows: tuple[int, int]  # the subtitle rows kept in the donors, frame pixels
    shot_of: np.ndarray  # shot number of every frame
    transform: np.ndarray  # (frames, 3, 3): shot start -> frame, frame pixels
    plans: list[EventMask]
    donors: list[Donor]
    cuts: list[int] = field(default_factory=list)


def _similarity(prev: np.ndarray, cur: np.ndarray, valid: np.ndarray) -> np.ndarray | None:
    """prev -> cur similarity (3x3) from tracked corners, or None when too little texture to tell."""
    import cv2

    corners = cv2.goodFeaturesToTrack(prev, maxCorners=160, qualityLevel=0.01, minDistance=7, mask=valid)
    if corners is None or len(corners) < 8:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, corners, None, winSize=(21, 21), maxLevel=3)
    ok = status.ravel() == 1
    if ok.sum() < 8:
        return None
    matrix, inliers = cv2.estimateAffinePartial2D(corners[ok], moved[ok], method=cv2.RANSAC,
                                                  ransacReprojThreshold=1.0)
    if matrix is None or inliers is None or inliers.sum() < 6:
        return None
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def register(reference: np.ndarray, usable: np.ndarray, image: np.ndarray, visible: np.ndarray,
             guess: np.ndarray, *, points: np.ndarray | None = None) -> np.ndarray | None:
    """``reference`` pixel -> ``image`` pixel (3x3 similarity), measured directly between the two
    (two planes of one size).

    Corners of ``reference`` where ``usable`` (uint8, nonzero) are followed into ``image`` by
    pyramidal Lucas-Kanade, starting from where ``guess`` puts them, checked by tracking back, and
    those landing where ``visible`` is 0 (the image's own text) dropped; a RANSAC similarity
    over the rest. ``points``: the reference's corners, when already found. None when too few
    corners survive (the caller keeps its guess).
    """
    import cv2

    if points is None:
        points = reference_corners(reference, usable)
    if points is None or len(points) < MIN_CORNERS:
        return None
    start = cv2.perspectiveTransform(points, guess).astype(np.float32)
    lk = dict(winSize=(21, 21), maxLevel=2, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    moved, ok, _ = cv2.calcOpticalFlowPyrLK(reference, image, points, start.copy(), flags=cv2.OPTFLOW_USE_INITIAL_FLOW, **lk)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(image, reference, moved, points.copy(), flags=cv2.OPTFLOW_USE_INITIAL_FLOW, **lk)
    good = (ok.ravel() == 1) & (ok_back.ravel() == 1) & (np.linalg.norm((back - points).reshape(-1, 2), axis=1) < 0.3)
    xy = np.rint(moved.reshape(-1, 2)).astype(int)
    inside = (xy[:, 0] >= 0) & (xy[:, 1] >= 0) & (xy[:, 0] < visible.shape[1]) & (xy[:, 1] < visible.shape[0])
    good &= inside
    good[good] = visible[xy[good, 1], xy[good, 0]] > 0
    if good.sum() < MIN_CORNERS:
        return None
    matrix, inliers = cv2.estimateAffinePartial2D(points[good], moved[good], method=cv2.RANSAC,
                                                  ransacReprojThreshold=0.5, refineIters=20)
    if matrix is None or inliers is None or inliers.sum() < 10:
        return None
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def reference_corners(reference: np.ndarray, usable: np.ndarray) -> np.ndarray | None:
    """Corners worth tracking in ``reference``, where ``usable`` is nonzero (float32, (n, 1, 2))."""
    import cv2

    return cv2.goodFeaturesToTrack(reference, maxCorners=400, qualityLevel=0.01, minDistance=6, mask=usable,
                                   blockSize=5)


def track(video: Path, band: SubtitleBand, events: list[OcrEvent], fmt: FrameFormat, pix_fmt: str, n_frames: int,
          *, guard_frames: int = 1, mask_frames: int = 12, donor_every: int = 3, donor_reach_s: float = 4.0,
          fps: float = 30.0, anchor_s: float = 0.5) -> Track:
    """The tracking pass (see the module docstring)."""
    import cv2

    width, height = fmt.width, fmt.height
    plans: list[EventMask] = []
    kept: list[OcrEvent] = []
    for event in events:
        first, last = max(0, event.start_frame - guard_frames), min(n_frames, event.end_frame + guard_frames)
        if last > first:
            plans.append(EventMask(first, last, padded_box(event.box, band, width, height), None))
            kept.append(event)
    box_top = min((p.box[1] for p in plans), default=band.top)
    box_bottom = max((p.box[3] for p in plans), default=band.bottom)
    margin = even(1.5 * band.line_height)
    top, bottom = max(0, box_top - margin), min(height, box_bottom + margin)
    top, bottom = even(top), min(height, even(bottom + 1))
    region = FrameFormat(width, bottom - top, fmt.pix_fmt, fmt.matrix, fmt.full_range)
    sx, sy = fmt.shift

    # Pixels the tracker may use: outside every padded box active at the frame (half size).
    half = (width // 2, (bottom - top) // 2)
    free = np.full((n_frames + 1, ), -1, dtype=np.int32)
    for k, plan in enumerate(plans):
        free[plan.first:plan.last] = k

    def valid_half(k: int) -> np.ndarray:
        valid = np.full((half[1], half[0]), 255, np.uint8)
        if k >= 0:
            x1, y1, x2, y2 = plans[k].box
            valid[max(0, (y1 - top) // 2 - 4):(y2 - top) // 2 + 4, max(0, x1 // 2 - 4):x2 // 2 + 4] = 0
        return valid

    # Frames feeding each event's glyph mask, as in remove.event_masks.
    wanted: dict[int, list[int]] = {}
    counts = []
    for k, (plan, event) in enumerate(zip(plans, kept)):
        span = max(1, event.end_frame - event.start_frame)
        for f in set(np.linspace(event.start_frame, event.end_frame - 1,
                                 num=min(mask_frames, span)).round().astype(int).tolist()):
            wanted.setdefault(f, []).append(k)
        x1, y1, x2, y2 = plan.box
        counts.append([np.zeros((y2 - y1, x2 - x1), np.uint16), 0])
    reach = int(donor_reach_s * fps)
    near_text = np.zeros(n_frames + 1, dtype=bool)
    for plan in plans:
        near_text[max(0, plan.first - reach):plan.last + reach] = True

    to_frame = np.array([[1.0, 0, 0], [0, 1.0, top], [0, 0, 1]])
    from_frame = np.linalg.inv(to_frame)
    shot_of = np.zeros(n_frames + 1, dtype=np.int32)
    transform = np.tile(np.eye(3), (n_frames + 1, 1, 1))
    donors: list[Donor] = []
    cuts: list[int] = []
    prev_small = prev_tiny = None
    anchor_every = max(1, int(round(anchor_s * fps)))
    anchor = None  # (half-size luma, its usable pixels, its transform, its corners, its frame)
    # frame pixels <-> half-size region pixels
    to_half = np.diag([0.5, 0.5, 1.0]) @ from_frame
    from_half = to_frame @ np.diag([2.0, 2.0, 1.0])
    changes: list[float] = []
    shot, index = 0, -1
    argv = ffmpeg.decode_raw_region_argv(Path(video), pix_fmt=pix_fmt, crop=(0, top, width, bottom - top))
    for index, buf in stream_raw(argv, region.frame_bytes, "tracking the camera under the subtitles"):
        if index > n_frames:
            break
        y, u, v = region.planes(buf)
        k = int(free[index]) if index < len(free) else -1
        small = cv2.resize(y, half, interpolation=cv2.INTER_AREA)
        tiny = cv2.resize(small, (max(1, half[0] // 4), max(1, half[1] // 4)), interpolation=cv2.INTER_AREA)
        valid = valid_half(k)
        if prev_small is not None:
            keep = cv2.resize(valid, tiny.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
            keep &= cv2.resize(valid_half(int(free[index - 1])), tiny.shape[::-1],
                               interpolation=cv2.INTER_NEAREST) > 0
            change = float(np.abs(tiny.astype(np.int16) - prev_tiny)[keep].mean()) if keep.any() else 0.0
            usual = float(np.median(changes[-15:])) if changes else 0.0
            if change > CUT_LEVEL and change > CUT_RATIO * max(usual, 1.0):
                shot += 1
                cuts.append(index)
                changes = []
                anchor = None
            else:
                changes.append(change)
                # Measured against the anchor frame directly, the last frame's transform as the guess:
                # chaining sub-pixel steps frame to frame drifted (on a 120 px pan the chain said
                # 135 px, and 40 % too much in its first second).
                guess = to_half @ transform[index - 1] @ np.linalg.inv(anchor[2]) @ from_half
                step = register(anchor[0], anchor[1], small, valid, guess, points=anchor[3])
                textured = anchor[3] is not None and len(anchor[3]) >= MIN_CORNERS
                if step is None and textured:  # lost the anchor's corners: the step from the last frame
                    last = _similarity(prev_small, small, valid & valid_half(int(free[index - 1])))
                    step = last @ guess if last is not None else guess
                elif step is None:  # a flat picture (a gradient set): nothing to measure, so no move
                    step = guess
                transform[index] = from_half @ step @ to_half @ anchor[2]
        shot_of[index] = shot
        if anchor is None or index - anchor[4] >= anchor_every:
            anchor = (small, valid, transform[index].copy(), reference_corners(small, valid), index)
        prev_small, prev_tiny = small, tiny.astype(np.int16)
        for j in wanted.get(index, []):
            x1, y1, x2, y2 = plans[j].box
            counts[j][0] += signature(y[y1 - top:y2 - top, x1:x2], band.line_height).any(axis=-1)
            counts[j][1] += 1
        if index % donor_every == 0 and near_text[min(index, n_frames)]:
            r1, r2 = box_top - top, box_bottom - top
            donors.append(Donor(index, (y[r1:r2].copy(), u[r1 >> sy:r2 >> sy].copy(), v[r1 >> sy:r2 >> sy].copy())))
    if index < 0:
        raise InputError(f"{Path(video).name}: no frames decoded while tracking the camera under the subtitles")
    for plan, (count, samples) in zip(plans, counts):
        plan.mask = text_mask(count, samples, band.line_height, grow=0.16, least=9) if samples else None
    return Track((box_top, box_bottom), shot_of, transform, plans, donors, cuts)


def _translate(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0, x], [0, 1.0, y], [0, 0, 1]])


def _warp(plane: np.ndarray, matrix: np.ndarray, size: tuple[int, int], border: int,
          border_mode: int | None = None) -> np.ndarray:
    """``plane`` resampled at ``matrix`` (destination pixel -> source pixel), bilinear."""
    import cv2

    return cv2.warpAffine(plane, matrix[:2], size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT if border_mode is None else border_mode,
                          borderValue=border)


@dataclass
class ShotPlate:
    """The background under the subtitles for one shot, in the coordinates of the shot's first frame.

    ``origin``: where the plate's pixel (0, 0) lies in those coordinates (even, for the chroma grid).
    ``base``: Y, U, V averaged over every donor of the shot where it is uncovered, the pixels no
    donor uncovers inpainted (once, here); ``known``: 255 where some donor uncovered the pixel.
    ``frames`` / ``warped`` / ``free``: each donor already warped into the plate (luma; chroma), and
    where it is uncovered, for the local plates.
    """

    origin: tuple[int, int]
    start: int  # the shot's first frame
    base: tuple[np.ndarray, np.ndarray, np.ndarray]
    known: np.ndarray
    frames: np.ndarray
    warped: tuple[list[np.ndarray], list[np.ndarray]]  # ([luma per donor], [(U, V) per donor])
    free: tuple[list[np.ndarray], list[np.ndarray]]
    local: dict = field(default_factory=dict)  # key number -> (Y, U, V) float32


class TemporalFiller:
    """Fills one frame's subtitle from its shot's background plates (see the module docstring).

    Made once per shot, when the shot's first frame with text comes: every donor of the shot is
    warped into the shot's first-frame coordinates. A *local plate* every ``key_s`` seconds
    averages the uncovered pixels of the donors within ``reach_s`` of it, weighted by nearness
    (the picture behind the text may change within a shot; with the chained frame-to-frame
    transforms this tracker had before, a far donor also landed a little off), and reaches far
    enough (4 s) that a frame right after a cut, or at the slow end of an eased pan, still
    gets the background that only frames seconds away uncover; what no near donor uncovers comes
    from the whole shot's average, and what no donor uncovers at all is inpainted once on that average. A frame
    takes its masked pixels from the two local plates around it, cross-faded by time and warped by
    its own camera transform: the fill moves with the camera and changes only slowly.
    """

    def __init__(self, tracked: Track, band: SubtitleBand, shift: tuple[int, int], *, fps: float = 30.0,
                 key_s: float = 1.0, reach_s: float = 4.0, inpaint_radius: int = 5, inpaint_scale: float = 0.5) -> None:
        import cv2

        self.t = tracked
        self.shift = shift
        self.line_height = band.line_height
        self.key = max(1, int(round(key_s * fps)))
        self.reach = max(1.0, reach_s * fps)
        self.inpaint_radius = inpaint_radius
        self.scale = inpaint_scale if band.line_height * inpaint_scale >= 20 else 1.0
        top, bottom = tracked.rows
        # Each donor's own text: every event mask active within two frames of it, dilated more.
        grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
        width = band.frame_width
        for donor in tracked.donors:
            covered = np.zeros((bottom - top, width), np.uint8)
            for plan in tracked.plans:
                if plan.mask is not None and plan.first - 2 <= donor.frame < plan.last + 2:
                    x1, y1, x2, y2 = plan.box
                    covered[y1 - top:y2 - top, x1:x2] |= plan.mask
            donor.covered = cv2.dilate(covered, grow) if covered.any() else covered
        self.by_shot: dict[int, list[Donor]] = {}
        for donor in tracked.donors:
            self.by_shot.setdefault(int(tracked.shot_of[donor.frame]), []).append(donor)
        self.plates: dict[int, ShotPlate | None] = {}

    def _extent(self, shot: int) -> tuple[int, int, int, int]:
        """The shot's subtitle boxes, mapped into its first-frame coordinates: (x1, y1, x2, y2), even."""
        points = []
        for plan in self.t.plans:
            frames = [f for f in range(plan.first, plan.last) if int(self.t.shot_of[f]) == shot]
            if not frames:
                continue
            x1, y1, x2, y2 = plan.box
            corners = np.array([[x1, x2, x1, x2], [y1, y1, y2, y2], [1.0, 1, 1, 1]])
            for f in frames[::5] + frames[-1:]:
                points.append((np.linalg.inv(self.t.transform[f]) @ corners)[:2])
        xy = np.concatenate(points, axis=1)
        x1, y1 = (int(np.floor(v)) - 4 for v in xy.min(axis=1))
        x2, y2 = (int(np.ceil(v)) + 4 for v in xy.max(axis=1))
        return x1 - (x1 % 2), y1 - (y1 % 2), x2 + (x2 % 2), y2 + (y2 % 2)

    def _plate(self, shot: int) -> ShotPlate | None:
        """The shot's plate (made on first use; the previous shots' plates and donors are let go)."""
        import cv2

        if shot in self.plates:
            return self.plates[shot]
        for old in [k for k in self.plates if k < shot]:
            self.plates[old] = None
            self.by_shot.pop(old, None)
        donors = self.by_shot.get(shot, [])
        if not donors:
            self.plates[shot] = None
            return None
        sx, sy = self.shift
        x1, y1, x2, y2 = self._extent(shot)
        size = (x2 - x1, y2 - y1)
        csize = (size[0] >> sx, size[1] >> sy)
        to_rows = _translate(0, -self.t.rows[0])
        lumas, chromas, frees, cfrees = [], [], [], []
        for donor in donors:
            # plate pixel -> first-frame pixel -> donor frame pixel -> donor rows pixel
            m = to_rows @ self.t.transform[donor.frame] @ _translate(x1, y1)
            frees.append(_warp(donor.covered, m, size, 255) == 0)
            lumas.append(_warp(donor.planes[0], m, size, 0))
            cfrees.append(_warp(donor.covered, _scaled_to(m, sx, sy), csize, 255) == 0)
            cm = _scaled_chroma(m, sx, sy)
            chromas.append(np.stack([_warp(donor.planes[k], cm, csize, 128) for k in (1, 2)]))
        frames = np.array([d.frame for d in donors])
        ones = np.ones(len(donors), np.float32)
        planes, counts = _weighted_mean(lumas, chromas, frees, cfrees, ones)
        holes, choles = counts[0] == 0, counts[1] == 0
        y = np.clip(np.rint(planes[0]), 0, 255).astype(np.uint8)
        if holes.any():
            y = cv2.inpaint(y, holes.astype(np.uint8) * 255, self.inpaint_radius, cv2.INPAINT_TELEA)
        uv = [np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in planes[1:]]
        if choles.any():
            sigma = max(2.0, 0.1 * self.line_height / (1 << max(self.shift)))
            for plane in uv:
                plane[choles] = smooth_fill(plane, choles, sigma)
        start = int(np.argmax(self.t.shot_of == shot))
        plate = ShotPlate((x1, y1), start, (y, uv[0], uv[1]), (~holes).astype(np.uint8) * 255, frames,
                          (lumas, chromas), (frees, cfrees))
        self.plates[shot] = plate
        return plate

    def _local(self, plate: ShotPlate, key: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The local plate at key ``key`` of the shot (float32 Y, U, V), made on first use."""
        if key in plate.local:
            return plate.local[key]
        centre = plate.start + key * self.key
        weights = np.clip(1.0 - np.abs(plate.frames - centre) / self.reach, 0.0, None).astype(np.float32)
        near = np.flatnonzero(weights > 0)
        planes = [p.astype(np.float32) for p in plate.base]
        if near.size:
            pick = lambda items: [items[i] for i in near]  # noqa: E731
            means, counts = _weighted_mean(pick(plate.warped[0]), pick(plate.warped[1]), pick(plate.free[0]),
                                           pick(plate.free[1]), weights[near])
            for k, plane in enumerate(planes):
                seen = counts[0 if k == 0 else 1] > 0
                plane[seen] = means[k][seen]
        for old in [k for k in plate.local if k < key - 1]:
            del plate.local[old]
        plate.local[key] = tuple(planes)
        return plate.local[key]

    def __call__(self, planes, plan: EventMask, index: int) -> dict:
        """Fill ``plan``'s mask on frame ``index`` in place; returns how many pixels came from where."""
        import cv2

        if plan.mask is None or not plan.mask.any():
            return {"donor": 0, "inpaint": 0}
        todo = plan.mask > 0
        total = int(todo.sum())
        plate = self._plate(int(self.t.shot_of[index]))
        if plate is None:  # no donor in the shot at all: space only
            Inpainter(plan, self.shift, self.inpaint_radius, self.scale, self.line_height)(planes)
            return {"donor": 0, "inpaint": total}
        y, u, v = planes
        x1, y1, x2, y2 = plan.box
        sx, sy = self.shift
        key, part = divmod(index - plate.start, self.key)
        fade = part / self.key
        before, after = self._local(plate, key), self._local(plate, key + 1)
        # box pixel -> frame pixel -> first-frame pixel -> plate pixel
        m = _translate(-plate.origin[0], -plate.origin[1]) @ np.linalg.inv(self.t.transform[index]) @ _translate(x1, y1)
        size = (x2 - x1, y2 - y1)
        replicate = cv2.BORDER_REPLICATE

        def fill(a: np.ndarray, b: np.ndarray, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
            mixed = (1.0 - fade) * _warp(a, matrix, shape, 0, replicate) + fade * _warp(b, matrix, shape, 0, replicate)
            return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)

        region = y[y1:y2, x1:x2]
        region[todo] = fill(before[0], after[0], m, size)[todo]
        ctodo = chroma_mask(plan.mask, self.shift) > 0
        cm = _scaled_chroma(m, sx, sy)
        csize = (size[0] >> sx, size[1] >> sy)
        for k, plane in ((1, u), (2, v)):
            cregion = plane[y1 >> sy:(y1 >> sy) + csize[1], x1 >> sx:(x1 >> sx) + csize[0]]
            cregion[ctodo] = fill(before[k], after[k], cm, csize)[ctodo]
        known = int((todo & (_warp(plate.known, m, size, 0) > 127)).sum())
        return {"donor": known, "inpaint": total - known}


def _weighted_mean(lumas, chromas, frees, cfrees, weights):
    """Per-pixel weighted means of the donors' uncovered pixels: ([Y, U, V] float32, [luma, chroma] weight sums)."""
    y = np.zeros(lumas[0].shape, np.float32)
    uv = np.zeros(chromas[0].shape, np.float32)
    count = np.zeros(lumas[0].shape, np.float32)
    ccount = np.zeros(cfrees[0].shape, np.float32)
    for luma, chroma, free, cfree, w in zip(lumas, chromas, frees, cfrees, weights):
        wf = free * w
        y += luma * wf
        count += wf
        wc = cfree * w
        uv += chroma * wc
        ccount += wc
    y /= np.maximum(count, 1e-6)
    uv /= np.maximum(ccount, 1e-6)
    return [y, uv[0], uv[1]], [count, ccount]


def _scaled_chroma(m: np.ndarray, sx: int, sy: int) -> np.ndarray:
    """A luma-grid (dst -> src) map as the same map between the chroma grids."""
    down = np.diag([1.0 / (1 << sx), 1.0 / (1 << sy), 1.0])
    return down @ m @ np.linalg.inv(down)


def _scaled_to(m: np.ndarray, sx: int, sy: int) -> np.ndarray:
    """Chroma-grid target pixels -> luma-grid donor pixels (to sample the luma-grid ``covered`` map)."""
    up = np.diag([float(1 << sx), float(1 << sy), 1.0])
    return m @ up
