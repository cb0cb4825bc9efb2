"""Read the subtitle band over time and turn the readings into timed events.

One decoding pass over the band only (cropped and shrunk by ffmpeg):

- every frame gets a *signature*: two small binary maps of the pixels clearly brighter and
  clearly darker than their neighbourhood (a subtitle's fill and its outline). Comparing
  signatures (IoU) is the cheap "did the band change?" check: on the sample episode the same
  subtitle on two frames scores 0.99, two different subtitles 0.23-0.31, text vs none 0.0;
- frames at ``sample_fps`` are OCR'd (PP-OCRv4). A sample whose signature matches the last
  OCR'd one (IoU >= 0.92) reuses its reading instead of running OCR again.

Readings become events: consecutive samples with similar text (fuzzy, >= 0.6) form a run;
two runs of the same text split by an OCR miss are joined when every frame between them
still shows that text; the event's text is the reading seen most often. Each event's first
and last frame are then found by binary search between its outer samples and their
neighbours, with the signature check as the predicate (relative: nearer the text sample's
score than the outer sample's), so boundaries are frame-exact whatever the sampling rate.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localize.metrics import has_han
from localize.stages.hardsubs.detect import (Box, OnScreenText, SubtitleBand, TextLine, VideoGeometry, box_iou, box_union, even,
                     read_frames, read_text, text_similarity, vertical_overlap)

SAME_TEXT = 0.6  # fuzzy text similarity for "the same subtitle read twice"
SAME_SIGNATURE = 0.6  # signature IoU for "this frame still shows that subtitle"
STEP_SIGNATURE = 0.12  # least IoU drop between a text sample and its outer neighbour that marks a boundary
REUSE_SIGNATURE = 0.92  # signature IoU above which a sample reuses the previous OCR reading
SIGNATURE_TEXT_HEIGHT = 20  # px: text height in the signature maps


@dataclass
class OcrEvent:
    """One burned-in subtitle: shown on frames [start_frame, end_frame), i.e. [start_ms, end_ms)."""

    start_ms: int
    end_ms: int
    text: str  # the rows joined by a space
    box: Box  # union of the rows' boxes, frame pixels
    confidence: float
    start_frame: int = 0
    end_frame: int = 0
    rows: list[str] = field(default_factory=list)
    samples: int = 0  # OCR samples that read it


@dataclass
class Reading:
    """The band's dialogue text on one sampled frame (empty text: none)."""

    frame: int
    text: str
    rows: list[str]
    box: Box | None
    confidence: float


# --------------------------------------------------------------------------- signatures

def signature(gray: np.ndarray, text_height: float) -> np.ndarray:
    """Bright and dark stroke maps (h, w, 2) of a luma picture whose text is ``text_height`` px tall.

    A pixel counts when it differs from the mean of a window about one text height wide by more
    than 25 levels: flat or slowly changing backgrounds (gradients, camera drift, soft bokeh)
    give nothing, a subtitle's fill and outline give its character shapes.
    """
    import cv2

    k = max(3, int(text_height * 0.8) | 1)
    mean = cv2.blur(gray.astype(np.float32), (k, k))
    return np.stack([gray > mean + 25, gray < mean - 25], axis=-1)


def signature_iou(a: np.ndarray, b: np.ndarray, region: tuple[slice, slice] | None = None) -> float:
    """IoU of two signatures, optionally within ``region`` (rows, cols); 1.0 when both are empty."""
    if region is not None:
        a, b = a[region], b[region]
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


class Signatures:
    """Every frame's signature, bit-packed (about 5 KB a frame for a 1080-wide band)."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.shape = shape
        self._packed: list[np.ndarray] = []

    def append(self, sig: np.ndarray) -> None:
        self._packed.append(np.packbits(sig, axis=None))

    def __len__(self) -> int:
        return len(self._packed)

    def __getitem__(self, index: int) -> np.ndarray:
        size = int(np.prod(self.shape))
        return np.unpackbits(self._packed[index], count=size).astype(bool).reshape(self.shape)


# --------------------------------------------------------------------------- one sample

def band_reading(frame: int, lines: list[TextLine], band: SubtitleBand,
                 constant: list[OnScreenText] | None = None) -> Reading:
    """The dialogue text among the lines read in the band on one frame.

    Kept: lines centred inside the band (or half a row outside it), about one subtitle row tall (0.5-2x the band's row
    height), not matching a constant overlay. Rows (lines sharing their height) are ordered
    top to bottom and joined by a space; only rows holding Chinese make the text, but every
    kept row counts for the box (a bilingual subtitle's second row is removed too).
    """
    kept = []
    margin = band.line_height / 2
    for line in lines:
        cy = (line.box[1] + line.box[3]) / 2
        if not band.top - margin <= cy < band.bottom + margin:
            continue
        if not 0.5 * band.line_height <= line.height <= 2.0 * band.line_height:
            continue
        if constant and any(box_iou(c.box, line.box) >= 0.3 and text_similarity(c.text, line.text) >= 0.8
                            for c in constant):
            continue
        kept.append(line)
    if not kept:
        return Reading(frame, "", [], None, 0.0)
    rows: list[list[TextLine]] = []
    for line in sorted(kept, key=lambda ln: (ln.box[1] + ln.box[3]) / 2):
        if rows and vertical_overlap(box_union([ln.box for ln in rows[-1]]), line.box) >= 0.5:
            rows[-1].append(line)
        else:
            rows.append([line])
    texts = [" ".join(ln.text for ln in sorted(row, key=lambda ln: ln.box[0])) for row in rows]
    han_rows = [t for t in texts if has_han(t)]
    weights = [len(ln.text) for ln in kept]
    confidence = float(np.average([ln.confidence for ln in kept], weights=weights))
    return Reading(frame, " ".join(han_rows), han_rows, box_union([ln.box for ln in kept]), confidence)


# --------------------------------------------------------------------------- events

@dataclass
class _Run:
    readings: list[Reading]

    @property
    def text(self) -> str:
        return self.readings[-1].text


def runs_of(readings: list[Reading]) -> list[_Run]:
    """Consecutive non-empty readings of similar text, grouped."""
    runs: list[_Run] = []
    previous_empty = True
    for reading in readings:
        if not reading.text:
            previous_empty = True
            continue
        if runs and not previous_empty and text_similarity(runs[-1].text, reading.text) >= SAME_TEXT:
            runs[-1].readings.append(reading)
        else:
            runs.append(_Run([reading]))
        previous_empty = False
    return runs


class EventBuilder:
    """Turns readings plus per-frame signatures into frame-exact :class:`OcrEvent` s."""

    def __init__(self, signatures: Signatures, sig_scale: float, band: SubtitleBand, geometry: VideoGeometry,
                 crop_top: int) -> None:
        self.signatures = signatures
        self.sig_scale = sig_scale
        self.band = band
        self.geometry = geometry
        self.crop_top = crop_top
        self.checks = 0  # signature comparisons made while refining

    def region(self, box: Box) -> tuple[slice, slice]:
        """``box`` (frame pixels) in signature coordinates, padded by a quarter row."""
        s = self.sig_scale
        pad = 0.25 * self.band.line_height
        h, w = self.signatures.shape[:2]
        y1 = max(0, int((box[1] - pad - self.crop_top) * s))
        y2 = min(h, int(np.ceil((box[3] + pad - self.crop_top) * s)))
        x1 = max(0, int((box[0] - pad) * s))
        x2 = min(w, int(np.ceil((box[2] + pad) * s)))
        return slice(y1, max(y1 + 1, y2)), slice(x1, max(x1 + 1, x2))

    def reference(self, run: _Run, near: str | None = None) -> np.ndarray:
        """The run's typical signature: pixels set in at least half of its sampled frames.

        ``near`` 'start' or 'end': only the (up to) three samples nearest that end of the run. The
        background around the text is part of every signature, and on a long line that crosses a
        cut or follows a moving camera the whole run's majority matches neither end's background.
        """
        readings = run.readings[:3] if near == "start" else run.readings[-3:] if near == "end" else run.readings
        stack = np.stack([self.signatures[r.frame] for r in readings])
        return stack.mean(axis=0) >= 0.5

    def score(self, frame: int, reference: np.ndarray, region: tuple[slice, slice]) -> float:
        self.checks += 1
        return signature_iou(self.signatures[frame], reference, region)

    def shows(self, frame: int, reference: np.ndarray, region: tuple[slice, slice]) -> bool:
        return self.score(frame, reference, region) >= SAME_SIGNATURE

    def typical(self, frame: int, inward: int, reference: np.ndarray, region) -> float:
        """The score of a frame showing the text, as a frame outside the reference's samples scores it.

        A sample that made the reference scores higher than its neighbours (its own background is in
        the reference), so the lower of it and its neighbour ``inward`` (+1 or -1) is taken.
        """
        score = self.score(frame, reference, region)
        neighbour = frame + inward
        if 0 <= neighbour < len(self.signatures):
            score = min(score, self.score(neighbour, reference, region))
        return score

    def boundary(self, inside: int, outside: int, high: float, reference: np.ndarray, region) -> int:
        """The frame next to the step between ``inside`` (shows the text, scoring about ``high``) and
        ``outside`` (does not), on the inside; ``outside`` may be -1 or the frame count (no frame there).

        The predicate is relative: a frame shows the text when its score is above the outside sample's
        by a third of the step to ``high``. A fixed IoU bar fails on textured, moving backgrounds, where
        the text's own frames score 0.4-0.5 against their reference (measured on photo scenes) while
        text-free frames score 0.1-0.3; the step between them is what is sharp. The bar sits nearer
        the outside because the two mistakes cost differently: a text frame taken for empty keeps
        readable Chinese, an empty frame taken for text only gets its background filled in. A line
        that starts a few frames before a cut shows there over the other shot's background and
        scored 0.40 between 0.02 (before) and 0.87 (after the cut).
        """
        n = len(self.signatures)
        if not 0 <= outside < n:
            return inside
        low = self.score(outside, reference, region)
        if high - low < STEP_SIGNATURE:
            return inside  # no step to find (the outer sample looks the same): keep the sampled frame
        bar = low + (high - low) / 3
        lo, hi = sorted((inside, outside))
        forward = inside < outside  # searching for the last frame showing the text
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if (self.score(mid, reference, region) >= bar) == forward:
                lo = mid
            else:
                hi = mid
        return lo if forward else hi

    def _outer_sample(self, run_frame: int, frames: list[int], high: float, reference: np.ndarray, region,
                      step: int) -> tuple[int, int]:
        """(last sample still showing the text, first sample beyond it) walking from ``run_frame`` by ``step``
        over the sample frames: a sample the OCR missed but whose signature is as close to the text as
        the run's own frames (``high``) is still inside."""
        n = len(self.signatures)
        position = frames.index(run_frame)
        inside = run_frame
        while 0 <= position + step < len(frames):
            candidate = frames[position + step]
            if self.score(candidate, reference, region) < max(0.2, min(SAME_SIGNATURE, 0.85 * high)):
                return inside, candidate
            inside, position = candidate, position + step
        return inside, (-1 if step < 0 else n)

    def _edge(self, run: _Run, frames: list[int], region, step: int) -> int:
        """The run's first (``step`` -1) or last (+1) frame showing its text."""
        reference = self.reference(run, "start" if step < 0 else "end")
        sample = run.readings[0 if step < 0 else -1].frame
        high = self.typical(sample, -step, reference, region)
        inside, outside = self._outer_sample(sample, frames, high, reference, region, step)
        return self.boundary(inside, outside, high, reference, region)

    def build(self, readings: list[Reading]) -> list[OcrEvent]:
        runs = self._join(runs_of(readings))
        frames = [r.frame for r in readings]
        events = []
        for run in runs:
            box = box_union([r.box for r in run.readings if r.box is not None])
            region = self.region(box)
            start = self._edge(run, frames, region, -1)
            end = self._edge(run, frames, region, 1) + 1
            events.append(self._event(run, box, start, end))
        # Neighbouring events never overlap (a fast cut between two subtitles at one frame).
        for a, b in zip(events, events[1:]):
            if a.end_frame > b.start_frame:
                a.end_frame = b.start_frame
                a.end_ms = self.geometry.frame_ms(a.end_frame)
        return [e for e in events if e.end_frame > e.start_frame]

    def _join(self, runs: list[_Run]) -> list[_Run]:
        """Join runs of the same text when every frame between them still shows it (OCR missed a sample)."""
        joined: list[_Run] = []
        for run in runs:
            if joined and text_similarity(joined[-1].text, run.text) >= SAME_TEXT:
                prev = joined[-1]
                box = box_union([r.box for r in prev.readings + run.readings if r.box is not None])
                region, reference = self.region(box), self.reference(prev)
                gap = range(prev.readings[-1].frame + 1, run.readings[0].frame)
                if all(self.shows(f, reference, region) for f in gap):
                    prev.readings.extend(run.readings)
                    continue
            joined.append(run)
        return joined

    def _event(self, run: _Run, box: Box, start: int, end: int) -> OcrEvent:
        # The reading seen most often wins; ties go to the more confident one.
        votes: dict[str, list[float]] = {}
        for r in run.readings:
            votes.setdefault(r.text, []).append(r.confidence)
        text = max(votes, key=lambda t: (len(votes[t]), sum(votes[t])))
        chosen = next(r for r in run.readings if r.text == text)
        return OcrEvent(start_ms=self.geometry.frame_ms(start), end_ms=self.geometry.frame_ms(end), text=text,
                        box=box, confidence=round(float(np.mean(votes[text])), 4), start_frame=start,
                        end_frame=end, rows=list(chosen.rows), samples=len(run.readings))


# --------------------------------------------------------------------------- the pass

@dataclass(frozen=True)
class BandCrop:
    """The decoded region (full width, band rows) and the two scales used on it."""

    top: int
    height: int
    width: int
    ocr_scale: float
    sig_scale: float

    @property
    def ocr_size(self) -> tuple[int, int]:
        return max(2, even(self.width * self.ocr_scale)), max(2, even(self.height * self.ocr_scale))

    @property
    def sig_size(self) -> tuple[int, int]:
        return max(2, int(round(self.width * self.sig_scale))), max(2, int(round(self.height * self.sig_scale)))


def band_crop(band: SubtitleBand, ocr_text_height: int = 32) -> BandCrop:
    """Full-width crop of the band's rows plus half a row each side (a longer subtitle than any seen
    while detecting may grow a row); OCR shrinks text to about ``ocr_text_height`` px (never enlarges)."""
    margin = band.line_height // 2
    top = even(max(0, band.top - margin))
    height = max(2, even(min(band.frame_height, band.bottom + margin) - top))
    line = max(1, band.line_height)
    return BandCrop(top, height, band.frame_width, min(1.0, ocr_text_height / line),
                    min(1.0, SIGNATURE_TEXT_HEIGHT / line))


def sample_frames(n_hint: int, fps: float, sample_fps: float) -> set[int]:
    """Frame numbers to OCR: the frames nearest to multiples of 1/sample_fps seconds."""
    step = fps / max(1e-6, sample_fps)
    count = int(n_hint / step) + 2
    return {int(round(k * step)) for k in range(count)}


@dataclass
class OcrPass:
    """What one pass over the band produced."""

    events: list[OcrEvent]
    readings: list[Reading]
    frames: int
    ocr_calls: int
    checks: int
    seconds: float


def ocr_band(video: Path, band: SubtitleBand, geometry: VideoGeometry, *, sample_fps: float = 4.0,
             ocr_text_height: int = 32, constant: list[OnScreenText] | None = None, reuse: bool = True,
             threads: int = 1) -> OcrPass:
    """OCR the band of ``video`` at ``sample_fps`` and build frame-exact events (see the module docstring)."""
    crop = band_crop(band, ocr_text_height)
    frames = read_frames(video, out_size=crop.ocr_size, crop=(0, crop.top, crop.width, crop.height),
                         what="reading the subtitle band")
    return read_band(frames, band, geometry, crop, sample_fps=sample_fps, constant=constant, reuse=reuse,
                     threads=threads)


def read_band(frames: Iterable[tuple[int, np.ndarray]], band: SubtitleBand, geometry: VideoGeometry,
              crop: BandCrop, *, sample_fps: float = 4.0, constant: list[OnScreenText] | None = None,
              reuse: bool = True, threads: int = 1) -> OcrPass:
    """The pass itself, on (frame index, BGR band picture of ``crop.ocr_size``) for every frame in order."""
    import cv2

    started = time.monotonic()
    wanted = sample_frames(int(geometry.duration_ms * geometry.fps / 1000) + 1, geometry.fps, sample_fps)
    sig_w, sig_h = crop.sig_size
    signatures = Signatures((sig_h, sig_w, 2))
    readings: list[Reading] = []
    last_sig: np.ndarray | None = None
    last_reading: Reading | None = None
    calls = 0
    sig_text = band.line_height * crop.sig_scale
    for index, picture in frames:
        if index != len(signatures):
            raise ValueError(f"frames must come in order from 0 (got {index} after {len(signatures)})")
        gray = cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(gray, crop.sig_size, interpolation=cv2.INTER_AREA)
        sig = signature(small, sig_text)
        signatures.append(sig)
        if index not in wanted:
            continue
        if reuse and last_sig is not None and last_reading is not None \
                and signature_iou(sig, last_sig) >= REUSE_SIGNATURE:
            reading = Reading(index, last_reading.text, list(last_reading.rows), last_reading.box,
                              last_reading.confidence)
        else:
            lines = read_text(picture, scale=crop.ocr_scale, offset=(0, crop.top), threads=threads)
            reading = band_reading(index, lines, band, constant)
            calls += 1
            last_sig = sig
            last_reading = reading
        readings.append(reading)
    builder = EventBuilder(signatures, crop.sig_scale, band, geometry, crop.top)
    events = builder.build(readings)
    return OcrPass(events, readings, len(signatures), calls, builder.checks, round(time.monotonic() - started, 3))


def ocr_frames(video: Path, frames: list[int], *, region: tuple[int, int, int, int] | None = None,
               frame_size: tuple[int, int] | None = None, scale: float = 1.0,
               threads: int = 1) -> dict[int, list[TextLine]]:
    """OCR the given frame numbers of ``video`` (all of ``region`` = (x, y, w, h), or the whole frame).

    ``scale`` shrinks the region before OCR; boxes come back in frame pixels. Used to check
    results (is any Chinese left after removal? do the new subtitles read back?).
    """
    if region is None:
        if frame_size is None:
            raise ValueError("give the region or the frame size")
        region = (0, 0, frame_size[0], frame_size[1])
    x, y, w, h = region
    size = (max(2, even(w * scale)), max(2, even(h * scale)))
    wanted = set(frames)
    out: dict[int, list[TextLine]] = {}
    for index, picture in read_frames(video, out_size=size, crop=region, what="reading frames to check"):
        if index in wanted:
            out[index] = read_text(picture, scale=size[0] / w, offset=(x, y), threads=threads)
            if len(out) == len(wanted):
                break
    return out
