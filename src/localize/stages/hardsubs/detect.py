"""Find the burned-in subtitle band: the rows where dialogue text keeps appearing with changing content.

Frames are sampled sparsely (about one a second), shrunk, and read whole by PP-OCRv4
(rapidocr-onnxruntime). Every line read is then sorted into one of three kinds:

- *constant* text: the same words at the same place for a long time (a watermark, a channel
  logo, a title that stays); never dialogue;
- *dialogue* text: centred blocks of Chinese that recur at the same height with changing
  content; the rows they cover, padded, are the band;
- everything else (a sign, a phone message, a title card elsewhere): on-screen text, listed
  with its time and place but left alone.

An episode with fewer than two distinct dialogue texts at one height has no band (None).
Also here, because every module of the package needs them: the OCR engine (loaded once per
process), reading one picture, decoding raw frames through ffmpeg, and text similarity.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localize import ffmpeg
from localize.errors import InputError, ModelError
from localize.metrics import edit_distance, has_han

Box = list[int]  # x1, y1, x2, y2 in the full frame's pixels, end exclusive


@dataclass
class TextLine:
    """One line of text read by OCR."""

    box: Box
    text: str
    confidence: float

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def cx(self) -> float:
        return (self.box[0] + self.box[2]) / 2


@dataclass
class FrameText:
    """Everything read on one sampled frame."""

    frame: int
    time_ms: int
    lines: list[TextLine]


@dataclass
class SubtitleBand:
    """The rows [top, bottom) where the burned-in dialogue subtitles sit, in frame pixels."""

    top: int
    bottom: int
    left: int
    right: int
    line_height: int  # median height of one row of subtitle text
    frame_width: int
    frame_height: int
    max_rows: int = 1
    distinct_texts: int = 0

    @property
    def center_ratio(self) -> float:
        return (self.top + self.bottom) / 2 / self.frame_height


@dataclass
class OnScreenText:
    """Text on screen that is not dialogue: ``kind`` is 'constant' (watermark, lasting title) or 'other'."""

    start_ms: int
    end_ms: int
    text: str
    box: Box
    kind: str = "other"


# --------------------------------------------------------------------------- text helpers

def normalize_text(text: str) -> str:
    """Letters, digits and Han characters only (NFKC), for comparing two readings."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch.isalnum())


def text_similarity(a: str, b: str) -> float:
    """1 - normalised edit distance over :func:`normalize_text`; 1.0 for identical, 0.0 for disjoint."""
    na, nb = normalize_text(a), normalize_text(b)
    if not na and not nb:
        return 1.0
    if not na or not nb:
        return 0.0
    return 1.0 - edit_distance(list(na), list(nb)) / max(len(na), len(nb))


def box_union(boxes: list[Box]) -> Box:
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def box_iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def vertical_overlap(a: Box, b: Box) -> float:
    """Shared rows as a fraction of the shorter box's height."""
    inter = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / max(1, min(a[3] - a[1], b[3] - b[1]))


# --------------------------------------------------------------------------- OCR engine

@functools.lru_cache(maxsize=2)
def ocr_engine(threads: int = 1):
    """The PP-OCRv4 engine with ``threads`` onnxruntime threads (0: all cores), loaded once per process."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise ModelError(f"rapidocr-onnxruntime is not installed ({exc}); pip install rapidocr-onnxruntime") from None
    # 'max' keeps small crops at their size; the default 'min' upscales a 200-px band to 736 px,
    # which made detection about 8x slower for no gain (we shrink frames ourselves).
    # One thread by default: on the shared 2-core box, a 432x768 frame took 0.39 s with one
    # thread and 0.83 s with two (they fight the other processes for both cores).
    threading = {"intra_op_num_threads": threads, "inter_op_num_threads": 1} if threads > 0 else {}
    return RapidOCR(det_limit_type="max", det_limit_side_len=960, **threading)


def read_text(image: np.ndarray, *, scale: float = 1.0, offset: tuple[int, int] = (0, 0),
              threads: int = 1) -> list[TextLine]:
    """OCR one BGR picture (no angle classifier: subtitles are upright).

    ``scale`` is how much the picture was shrunk from the frame and ``offset`` (x, y) where its
    origin lies in the frame, so the boxes come back in the frame's own pixels.
    """
    result, _elapsed = ocr_engine(threads)(np.ascontiguousarray(image), use_cls=False)
    lines = []
    for points, text, score in result or []:
        text = str(text).strip()
        if not text:
            continue
        pts = np.asarray(points, dtype=np.float64)
        x1, y1 = pts.min(axis=0)
        x2, y2 = pts.max(axis=0)
        box = [int(round(x1 / scale + offset[0])), int(round(y1 / scale + offset[1])),
               int(round(x2 / scale + offset[0])), int(round(y2 / scale + offset[1]))]
        lines.append(TextLine(box, text, float(score)))
    return lines


# --------------------------------------------------------------------------- frames

@dataclass(frozen=True)
class VideoGeometry:
    """Size (as decoded, rotation applied), frame rate and frame count estimate of a video."""

    width: int
    height: int
    fps_num: int
    fps_den: int
    duration_ms: int

    @property
    def fps(self) -> float:
        return self.fps_num / self.fps_den

    def frame_ms(self, index: int) -> int:
        """Start time of frame ``index`` in whole milliseconds."""
        return int(round(index * 1000 * self.fps_den / self.fps_num))

    def frame_at(self, ms: float) -> int:
        """The frame whose start is nearest to ``ms``."""
        return int(round(ms * self.fps_num / (1000 * self.fps_den)))


def video_geometry(video: Path) -> VideoGeometry:
    info = ffmpeg.probe(Path(video))
    width, height = info.width, info.height
    if info.rotation in (90, 270):  # ffmpeg auto-rotates while decoding
        width, height = height, width
    return VideoGeometry(width, height, info.fps_num, info.fps_den, info.duration_ms)


def read_frames(video: Path, *, out_size: tuple[int, int], channels: int = 3,
                crop: tuple[int, int, int, int] | None = None, every: int = 1,
                what: str = "reading frames") -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, picture) for frames 0, every, 2*every, ... of ``video``, cropped then scaled.

    ``out_size`` is the (width, height) that comes out of the crop and scaling; ``channels`` 3
    gives BGR, 1 gives luma (gray).
    """
    width, height = out_size
    scaled = None if crop is not None and (crop[2], crop[3]) == (width, height) else (width, height)
    argv = ffmpeg.decode_raw_region_argv(Path(video), pix_fmt="bgr24" if channels == 3 else "gray",
                                         crop=crop, size=scaled, every=every)
    shape = (height, width, channels) if channels == 3 else (height, width)
    for index, buf in stream_raw(argv, width * height * channels, what):
        yield index * every, np.frombuffer(buf, dtype=np.uint8).reshape(shape)


def stream_raw(argv: list[str], frame_bytes: int, what: str) -> Iterator[tuple[int, bytes]]:
    """(index, bytes) of each raw frame an ffmpeg ``argv`` writes to stdout; one-line errors naming ``what``."""
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(ffmpeg.resolved(argv), stdout=subprocess.PIPE, stderr=stderr)
        assert proc.stdout is not None
        index = 0
        try:
            while True:
                buf = proc.stdout.read(frame_bytes)
                if not buf:
                    break
                if len(buf) < frame_bytes:
                    raise InputError(f"the video ended in the middle of a frame while {what}")
                yield index, buf
                index += 1
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if proc.returncode != 0:
            stderr.seek(0)
            raise ffmpeg.failure(what, stderr.read())


def even(value: float) -> int:
    """Round down to an even integer (crop offsets and sizes on the 4:2:0 chroma grid)."""
    return int(value) // 2 * 2


# --------------------------------------------------------------------------- band detection

@dataclass
class _Track:
    """One text staying at one place across samples."""

    texts: list[str] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    last_sample: int = -1

    @property
    def text(self) -> str:
        return max(set(self.texts), key=self.texts.count)

    @property
    def box(self) -> Box:
        return [int(np.median([b[i] for b in self.boxes])) for i in range(4)]

    def matches(self, line: TextLine) -> bool:
        return text_similarity(self.texts[-1], line.text) >= 0.8 and box_iou(self.boxes[-1], line.box) >= 0.3


def _tracks(samples: list[FrameText]) -> tuple[list[_Track], dict[int, _Track]]:
    """Group lines into tracks (same text, same place, on consecutive samples: one missed sample is
    bridged); also map id(line) -> its track. A phrase that comes back later starts a new track."""
    tracks: list[_Track] = []
    owner: dict[int, _Track] = {}
    for k, sample in enumerate(samples):
        for line in sample.lines:
            track = next((t for t in tracks if k - 2 <= t.last_sample < k and t.matches(line)), None)
            if track is None:
                track = _Track()
                tracks.append(track)
            track.texts.append(line.text)
            track.boxes.append(line.box)
            track.times.append(sample.time_ms)
            track.last_sample = k
            owner[id(line)] = track
    return tracks, owner


def is_constant(track_times: list[int], max_dialogue_ms: int) -> bool:
    """Text that stays too long for a subtitle: seen on 3 samples or more, over more than ``max_dialogue_ms``."""
    return len(track_times) >= 3 and track_times[-1] - track_times[0] > max_dialogue_ms


@dataclass
class _Block:
    """Rows of text stacked together on one sample frame (a one- or two-row subtitle)."""

    time_ms: int
    lines: list[TextLine]

    @property
    def box(self) -> Box:
        return box_union([line.box for line in self.lines])

    @property
    def line_height(self) -> float:
        return float(np.median([line.height for line in self.lines]))

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


def blocks_of(lines: list[TextLine], time_ms: int, width: int) -> list[_Block]:
    """Stack lines into blocks: same row, or the next row down within 0.8 line heights, horizontally overlapping."""
    blocks: list[_Block] = []
    for line in sorted(lines, key=lambda ln: (ln.box[1], ln.box[0])):
        for block in blocks:
            bb = block.box
            same_row = vertical_overlap(bb, line.box) >= 0.5 and line.box[0] - bb[2] < 3 * line.height
            gap = line.box[1] - bb[3]
            stacked = (-0.3 * line.height <= gap <= 0.8 * max(line.height, block.line_height)
                       and min(bb[2], line.box[2]) > max(bb[0], line.box[0]) - 0.05 * width)
            if same_row or stacked:
                block.lines.append(line)
                break
        else:
            blocks.append(_Block(time_ms, [line]))
    return blocks


def _clusters(blocks: list[_Block]) -> list[list[_Block]]:
    """Blocks whose rows overlap (by half the shorter one), transitively: one cluster per screen height."""
    parent = list(range(len(blocks)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(blocks)):
        for j in range(i + 1, len(blocks)):
            if vertical_overlap(blocks[i].box, blocks[j].box) >= 0.5:
                parent[root(i)] = root(j)
    groups: dict[int, list[_Block]] = {}
    for i, block in enumerate(blocks):
        groups.setdefault(root(i), []).append(block)
    return list(groups.values())


def distinct_texts(texts: list[str], threshold: float = 0.6) -> list[str]:
    """Texts left after dropping those similar (>= ``threshold``) to one already kept."""
    kept: list[str] = []
    for text in texts:
        if not any(text_similarity(text, k) >= threshold for k in kept):
            kept.append(text)
    return kept


@dataclass(frozen=True)
class BandRules:
    """How band detection decides (see the module docstring)."""

    min_texts: int = 2  # distinct dialogue texts needed at one height
    max_dialogue_ms: int = 12000  # a text staying longer than this at one place is constant
    centre_tolerance: float = 0.15  # of the width: subtitle blocks are horizontally centred
    pad: float = 0.35  # band padding, in line heights
    min_confidence: float = 0.6  # lines read less surely are ignored
    max_line_height: float = 0.12  # of the frame height: taller "lines" are shapes, not text


def find_band(samples: list[FrameText], width: int, height: int, sample_ms: int,
              rules: BandRules = BandRules()) -> tuple[SubtitleBand | None, list[OnScreenText]]:
    """The subtitle band (or None) and the non-dialogue text, from OCR'd sample frames."""
    # Shapes read as text are dropped first: PP-OCR reads a window frame as one huge 口.
    samples = [FrameText(s.frame, s.time_ms, [ln for ln in s.lines if ln.confidence >= rules.min_confidence
                                              and ln.height <= rules.max_line_height * height]) for s in samples]
    tracks, owner = _tracks(samples)
    constant = {id(t) for t in tracks if is_constant(t.times, rules.max_dialogue_ms)}
    blocks: list[_Block] = []
    for sample in samples:
        candidates = [ln for ln in sample.lines if id(owner[id(ln)]) not in constant and has_han(ln.text)]
        blocks += blocks_of(candidates, sample.time_ms, width)

    best: list[_Block] | None = None
    best_score = (0, 0)
    for cluster in _clusters(blocks):
        centred = [b for b in cluster if abs((b.box[0] + b.box[2]) / 2 - width / 2) <= rules.centre_tolerance * width]
        if len(centred) < 0.5 * len(cluster):
            continue
        texts = distinct_texts([b.text for b in centred])
        score = (len(texts), len(centred))
        if len(texts) >= rules.min_texts and score > best_score:
            best, best_score = centred, score

    band = None
    in_band: set[int] = set()
    if best is not None:
        line_height = float(np.median([b.line_height for b in best]))
        # Rows of another size at the same height (a caption, a sign) do not define the band.
        best = [b for b in best if 0.6 * line_height <= b.line_height <= 1.6 * line_height]
        box = box_union([b.box for b in best])
        pad = int(round(rules.pad * line_height))
        band = SubtitleBand(top=even(max(0, box[1] - pad)), bottom=min(height, -(-(box[3] + pad) // 2) * 2),
                            left=max(0, box[0] - 2 * pad), right=min(width, box[2] + 2 * pad),
                            line_height=int(round(line_height)), frame_width=width, frame_height=height,
                            max_rows=max(_rows(b.lines) for b in best),
                            distinct_texts=len(distinct_texts([b.text for b in best])))
        in_band = {id(line) for b in best for line in b.lines}

    onscreen = []
    for track in tracks:
        lines_in_band = sum(1 for s in samples for ln in s.lines if owner[id(ln)] is track and id(ln) in in_band)
        if lines_in_band:
            continue
        onscreen.append(OnScreenText(start_ms=track.times[0], end_ms=track.times[-1] + sample_ms, text=track.text,
                                     box=track.box, kind="constant" if id(track) in constant else "other"))
    onscreen.sort(key=lambda o: (o.start_ms, o.box[1]))
    return band, onscreen


def _rows(lines: list[TextLine]) -> int:
    rows: list[Box] = []
    for line in lines:
        if not any(vertical_overlap(r, line.box) >= 0.5 for r in rows):
            rows.append(line.box)
    return len(rows)


def detection_size(geometry: VideoGeometry, max_side: int) -> tuple[int, int, float]:
    """(width, height, scale) of the shrunk frames OCR'd for detection."""
    scale = min(1.0, max_side / max(geometry.width, geometry.height))
    return max(2, even(geometry.width * scale)), max(2, even(geometry.height * scale)), scale


def sample_frames_for_detection(video: Path, geometry: VideoGeometry, fps: float, max_frames: int,
                                max_side: int, threads: int = 1) -> tuple[list[FrameText], int]:
    """OCR whole frames, shrunk, at about ``fps`` (at most ``max_frames`` spread over the video).

    Returns the readings and the spacing between samples in ms.
    """
    total = max(1, int(geometry.duration_ms * geometry.fps / 1000))
    every = max(1, int(round(geometry.fps / fps)), -(-total // max(1, max_frames)))
    width, height, scale = detection_size(geometry, max_side)
    samples = []
    for index, picture in read_frames(video, out_size=(width, height), every=every,
                                      what="sampling frames to find the subtitle band"):
        samples.append(FrameText(index, geometry.frame_ms(index), read_text(picture, scale=scale, threads=threads)))
    return samples, geometry.frame_ms(every)


def detect_band(video: Path, *, fps: float = 1.0, max_frames: int = 90, max_side: int = 768,
                rules: BandRules = BandRules(), threads: int = 1
                ) -> tuple[SubtitleBand | None, list[OnScreenText], dict]:
    """Find ``video``'s subtitle band. Returns (band or None, on-screen text, statistics)."""
    started = time.monotonic()
    geometry = video_geometry(Path(video))
    samples, sample_ms = sample_frames_for_detection(Path(video), geometry, fps, max_frames, max_side, threads)
    band, onscreen = find_band(samples, geometry.width, geometry.height, sample_ms, rules)
    stats = {"detect_samples": len(samples), "detect_sample_ms": sample_ms,
             "detect_seconds": round(time.monotonic() - started, 3)}
    return band, onscreen, stats
