"""Photographic scenes for the sample episode: real photos, slow camera moves, cuts, varied subtitles.

The drawn gradients of :mod:`.picture` are easy to inpaint; filmed microdramas are not. With
``scenery="photo"`` the episode is cut into shots of a few seconds (and at every scene change);
each shot frames one of the photographs scikit-image ships (no download) and moves the camera
slowly: a push-in or a pan. Every frame is drawn here and encoded twice from the same pixels,
with and without the subtitles, so the subtitle-free *clean plate* is the exact ground truth
for subtitle removal (same encoder, same settings).

Everything is drawn from one seed: which photos, where the shots cut, the moves, and the
subtitle style (outline, shadow, colour, size, wrap width, and the band's height in the frame
from 0.6 to 0.85), so evaluation seeds give episodes nobody tuned on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# scikit-image's bundled colour photographs (all inside the wheel: nothing is downloaded).
PHOTOS = ("coffee", "chelsea", "astronaut", "rocket", "motorcycle")
MOVES = ("push", "pan")


def load_photo(name: str) -> np.ndarray:
    """An RGB uint8 photograph from scikit-image's bundled data."""
    from skimage import data

    if name == "motorcycle":
        return data.stereo_motorcycle()[0]
    return getattr(data, name)()


@dataclass(frozen=True)
class SubtitleStyle:
    """How the burned-in subtitles look. Colours are (r, g, b)."""

    font_size: int = 66
    outline: float = 4.0
    shadow: float = 1.5
    color: tuple[int, int, int] = (255, 255, 255)
    center_ratio: float = 0.66
    row_chars: int = 13

    def to_dict(self) -> dict:
        return asdict(self)


def draw_style(rng: np.random.Generator) -> SubtitleStyle:
    """A subtitle style as microdramas use them: outlined or shadowed, white or pale yellow, low in the frame."""
    outline = float(rng.choice([0.0, 2.0, 3.0, 4.0, 5.0]))
    shadow = float(rng.choice([0.0, 2.0, 3.0, 4.0])) if outline else float(rng.choice([3.0, 4.0]))
    color = (255, 255, 255) if rng.random() < 0.6 else (255, 236, 140)
    return SubtitleStyle(font_size=int(rng.integers(56, 76)), outline=outline, shadow=shadow, color=color,
                         center_ratio=round(float(rng.uniform(0.6, 0.85)), 3), row_chars=int(rng.integers(9, 14)))


@dataclass(frozen=True)
class Shot:
    """One camera set-up over [start_ms, end_ms): a photo framed at ``center`` and ``zoom``, moving."""

    start_ms: int
    end_ms: int
    photo: str
    move: str  # "push" (zoom in by ``amount``) or "pan" (slide by ``amount`` frame pixels along ``direction``)
    amount: float
    direction: tuple[float, float]
    center: tuple[float, float]  # of the frame, as fractions of the photo's width and height


def plan_shots(cuts_ms: list[int], duration_ms: int, rng: np.random.Generator,
               shot_ms: tuple[int, int] = (6000, 11000)) -> list[Shot]:
    """Shots covering [0, duration_ms): a cut at every given time (scene changes) and every 6-11 s between."""
    bounds = [0]
    for end in sorted({c for c in cuts_ms if 0 < c < duration_ms} | {duration_ms}):
        while end - bounds[-1] > shot_ms[1]:
            bounds.append(bounds[-1] + int(rng.integers(*shot_ms)))
        if end - bounds[-1] < 1000 and len(bounds) > 1:  # no flash shots: move the last cut instead
            bounds[-1] = (bounds[-2] + end) // 2
        bounds.append(end)
    shots, last = [], None
    for start, end in zip(bounds, bounds[1:]):
        photo = str(rng.choice([p for p in PHOTOS if p != last]))
        last = photo
        move = str(rng.choice(MOVES))
        if move == "push":
            amount, direction = float(rng.uniform(0.04, 0.1)), (0.0, 0.0)
        else:
            angle = float(rng.uniform(0, 2 * np.pi))
            amount, direction = float(rng.uniform(60, 160)), (float(np.cos(angle)), float(np.sin(angle)))
        center = (float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.4, 0.6)))
        shots.append(Shot(start, end, photo, move, amount, direction, center))
    return shots


class ShotRenderer:
    """Draws the frames of one shot: the photo scaled to cover the frame with room for the move."""

    def __init__(self, shot: Shot, width: int, height: int, photo: np.ndarray) -> None:
        import cv2

        self.shot, self.width, self.height = shot, width, height
        h, w = photo.shape[:2]
        room = 1.0 + (shot.amount / min(width, height) * 2 if shot.move == "pan" else 0.0) + 0.04
        scale = max(width / w, height / h) * room
        self.image = cv2.resize(photo, (int(round(w * scale)), int(round(h * scale))), interpolation=cv2.INTER_CUBIC)
        ih, iw = self.image.shape[:2]
        # The frame centre in the scaled photo, kept where the whole move stays inside it.
        half_w, half_h = width / 2, height / 2
        cx = half_w + shot.center[0] * max(0.0, iw - width)
        cy = half_h + shot.center[1] * max(0.0, ih - height)
        if shot.move == "pan":
            cx -= shot.direction[0] * shot.amount / 2
            cy -= shot.direction[1] * shot.amount / 2
            cx = float(np.clip(cx, half_w, iw - half_w - abs(shot.direction[0]) * shot.amount))
            cy = float(np.clip(cy, half_h, ih - half_h - abs(shot.direction[1]) * shot.amount))
        self.center = (cx, cy)

    def frame(self, t_ms: float) -> np.ndarray:
        """The (height, width, 3) RGB frame at ``t_ms`` (inside the shot)."""
        import cv2

        shot = self.shot
        u = min(1.0, max(0.0, (t_ms - shot.start_ms) / max(1, shot.end_ms - shot.start_ms)))
        ease = u * u * (3 - 2 * u)  # a camera operator eases in and out
        zoom, (cx, cy) = 1.0, self.center
        if shot.move == "push":
            zoom = 1.0 + shot.amount * ease
        else:
            cx += shot.direction[0] * shot.amount * ease
            cy += shot.direction[1] * shot.amount * ease
        # dst -> src: src = centre + (dst - frame centre) / zoom
        matrix = np.array([[1 / zoom, 0, cx - self.width / 2 / zoom],
                           [0, 1 / zoom, cy - self.height / 2 / zoom]], dtype=np.float64)
        return cv2.warpAffine(self.image, matrix, (self.width, self.height),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)


def render_frames(shots: list[Shot], width: int, height: int, fps: int, n_frames: int):
    """Yield every frame (RGB uint8) of the episode, shot after shot."""
    photos: dict[str, np.ndarray] = {}
    index = 0
    for shot in shots:
        if shot.photo not in photos:
            photos[shot.photo] = load_photo(shot.photo)
        renderer = ShotRenderer(shot, width, height, photos[shot.photo])
        while index < n_frames and index * 1000 / fps < shot.end_ms:
            yield renderer.frame(index * 1000 / fps)
            index += 1
    while index < n_frames:  # rounding at the very end
        yield renderer.frame(shots[-1].end_ms)
        index += 1
