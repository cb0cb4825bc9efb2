"""Fuse the burned-in subtitles (exact script, display timing) with ASR (speech timing, weak on names).

Rules, applied to the segments and events in time order:

1. An event *belongs to* a segment when they overlap by at least ``min_overlap_ms`` or by at
   least ``min_overlap_ratio`` of the shorter of the two.
2. A segment with no event keeps its ASR text: origin ``"asr"``.
3. A segment with one event, or several segments with the same single event (ASR split a
   line at a pause), becomes one segment with the event's text: origin ``"ocr+asr"``. Its
   times are the speech's (the segments' outer edges, which VAD refined), not the
   subtitle's display times, because the dub must follow the voice.
4. A segment that holds several events (ASR ran two lines together) is split: each word goes
   to the event it overlaps most (or the nearest), each event's piece runs from its first to its
   last word, and the segment's outer edges stay VAD's. Without words the segment is cut
   at the midpoints between the events.
5. An event with no segment becomes a segment of its own (origin ``"ocr"``, the subtitle's
   display times): the line was spoken but ASR missed it (music over speech, a whisper).
   Such lines still get dubbed and subtitled; the report shows their origin so a reviewer
   can check them. Events under ``min_ocr_only_ms`` or below ``min_confidence`` are dropped
   instead: a one-frame flash or a poor reading is more likely noise than a missed line.

Segments come back renumbered 0..n-1 in time order; speakers and words are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from localize.model import Segment, Word
from localize.stages.hardsubs.ocr import OcrEvent


@dataclass(frozen=True)
class FuseRules:
    min_overlap_ms: int = 300
    min_overlap_ratio: float = 0.3
    min_confidence: float = 0.6  # events read less surely than this are ignored
    min_ocr_only_ms: int = 400  # shortest OCR-only line kept


def overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def _belongs(segment: Segment, event: OcrEvent, rules: FuseRules) -> bool:
    shared = overlap(segment.start_ms, segment.end_ms, event.start_ms, event.end_ms)
    if shared <= 0:
        return False
    shorter = max(1, min(segment.end_ms - segment.start_ms, event.end_ms - event.start_ms))
    return shared >= rules.min_overlap_ms or shared >= rules.min_overlap_ratio * shorter


@dataclass
class _Piece:
    """A stretch of speech (a whole segment or part of one) attributed to at most one event."""

    start_ms: int
    end_ms: int
    segment: Segment
    words: list[Word]
    event: int | None


def _split(segment: Segment, indices: list[int], events: list[OcrEvent]) -> list[_Piece]:
    """Cut a segment that holds several events into one piece per event (rule 4)."""
    order = sorted(indices, key=lambda i: events[i].start_ms)
    if segment.words:
        def owner(word: Word) -> int:
            def score(i: int) -> tuple[int, float]:
                e = events[i]
                mid = (word.start_ms + word.end_ms) / 2
                distance = 0.0 if e.start_ms <= mid < e.end_ms else min(abs(mid - e.start_ms), abs(mid - e.end_ms))
                return overlap(word.start_ms, word.end_ms, e.start_ms, e.end_ms), -distance
            return max(order, key=score)

        groups: dict[int, list[Word]] = {}
        for word in segment.words:
            groups.setdefault(owner(word), []).append(word)
        # Every event needs words of its own; otherwise fall back to cutting between the events.
        if all(groups.get(i) for i in order):
            pieces = [_Piece(groups[i][0].start_ms, groups[i][-1].end_ms, segment, groups[i], i) for i in order]
            pieces[0].start_ms = segment.start_ms
            pieces[-1].end_ms = segment.end_ms
            for a, b in zip(pieces, pieces[1:]):
                if b.start_ms < a.end_ms:
                    b.start_ms = a.end_ms = (a.end_ms + b.start_ms) // 2
            return pieces
    cuts = [segment.start_ms]
    for a, b in zip(order, order[1:]):
        middle = (events[a].end_ms + events[b].start_ms) // 2
        cuts.append(min(max(middle, cuts[-1]), segment.end_ms))
    cuts.append(segment.end_ms)
    return [_Piece(cuts[k], cuts[k + 1], segment, [], i) for k, i in enumerate(order) if cuts[k + 1] > cuts[k]]


def fuse(segments: list[Segment], events: list[OcrEvent], rules: FuseRules = FuseRules()) -> list[Segment]:
    """Merge ASR segments with OCR events (see the module docstring for the rules)."""
    events = sorted((e for e in events if e.confidence >= rules.min_confidence and e.text.strip()),
                    key=lambda e: e.start_ms)
    segments = sorted(segments, key=lambda s: s.start_ms)
    pieces: list[_Piece] = []
    for segment in segments:
        mine = [i for i, e in enumerate(events) if _belongs(segment, e, rules)]
        if len(mine) <= 1:
            pieces.append(_Piece(segment.start_ms, segment.end_ms, segment, list(segment.words),
                                 mine[0] if mine else None))
        else:
            pieces.extend(_split(segment, mine, events))

    out: list[Segment] = []
    claimed: dict[int, list[_Piece]] = {}
    for piece in pieces:
        if piece.event is None:
            out.append(replace(piece.segment, words=list(piece.segment.words), origin="asr"))
        else:
            claimed.setdefault(piece.event, []).append(piece)
    for i, event in enumerate(events):
        group = claimed.get(i)
        if group:
            longest = max(group, key=lambda p: p.end_ms - p.start_ms)
            out.append(Segment(id=0, start_ms=min(p.start_ms for p in group), end_ms=max(p.end_ms for p in group),
                               source_text=event.text, speaker=longest.segment.speaker,
                               words=[w for p in group for w in p.words], origin="ocr+asr"))
        elif event.end_ms - event.start_ms >= rules.min_ocr_only_ms:
            out.append(Segment(id=0, start_ms=event.start_ms, end_ms=event.end_ms, source_text=event.text,
                               origin="ocr"))
    out.sort(key=lambda s: (s.start_ms, s.end_ms))
    for index, segment in enumerate(out):
        segment.id = index
    return out
