"""Subtitles: turn translated segments into well-formed SRT and styled ASS events (pysubs2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import atomic_path
from ..locales import Locale
from ..model import Segment

VERSION = "1"


@dataclass(frozen=True)
class SubtitleRules:
    """Netflix-style limits (see shared/design.md): characters per line, lines, reading speed, durations."""

    max_chars_per_line: int = 42
    max_lines: int = 2
    max_cps: float = 20.0
    min_duration_ms: int = 833
    max_duration_ms: int = 7000
    min_gap_ms: int = 67  # two frames at 30 fps


@dataclass
class Cue:
    start_ms: int
    end_ms: int
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _is_spaced(locale: Locale) -> bool:
    return locale.script not in ("cjk", "thai")


def wrap(text: str, max_chars: int, spaced: bool = True) -> list[str]:
    """Greedy word wrap to ``max_chars``, then balance the last two lines (bottom-heavy pyramid)."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= max_chars:
        return [text] if text else []
    tokens = text.split(" ") if spaced else list(text)
    joiner = " " if spaced else ""
    lines: list[str] = []
    current = ""
    for token in tokens:
        while len(token) > max_chars:  # a single overlong word is cut
            if current:
                lines.append(current)
                current = ""
            lines.append(token[:max_chars])
            token = token[max_chars:]
        candidate = f"{current}{joiner}{token}" if current else token
        if len(candidate) <= max_chars:
            current = candidate
        else:
            lines.append(current)
            current = token
    if current:
        lines.append(current)
    if len(lines) >= 2:
        lines[-2:] = _balance(lines[-2], lines[-1], joiner, max_chars)
    return lines


def _balance(first: str, second: str, joiner: str, max_chars: int) -> list[str]:
    tokens = (first + joiner + second).split(joiner) if joiner else list(first + second)
    best = [first, second]
    best_score = abs(len(first) - len(second))
    for cut in range(1, len(tokens)):
        a, b = joiner.join(tokens[:cut]), joiner.join(tokens[cut:])
        if len(a) <= max_chars and len(b) <= max_chars and len(a) <= len(b):
            score = len(b) - len(a)
            if score < best_score:
                best, best_score = [a, b], score
    return best


def segment_cues(segment: Segment, locale: Locale, rules: SubtitleRules) -> list[Cue]:
    """One or more cues for a segment, split so each holds at most ``max_lines`` lines."""
    lines = wrap(segment.text, rules.max_chars_per_line, _is_spaced(locale))
    if not lines:
        return []
    groups = [lines[i:i + rules.max_lines] for i in range(0, len(lines), rules.max_lines)]
    total_chars = sum(len(line) for line in lines)
    cues = []
    start = segment.start_ms
    span = max(segment.duration_ms, rules.min_duration_ms)
    for group in groups:
        share = sum(len(line) for line in group) / total_chars
        end = start + int(round(span * share))
        cues.append(Cue(start, end, group))
        start = end
    return cues


def build_cues(segments: list[Segment], locale: Locale, rules: SubtitleRules = SubtitleRules()) -> list[Cue]:
    """Cues for all segments, with minimum/maximum durations and minimum gaps enforced."""
    cues = [cue for segment in segments for cue in segment_cues(segment, locale, rules)]
    for i, cue in enumerate(cues):
        # Extend short cues (reading speed, minimum duration) into the following gap when there is room.
        chars = len(cue.text.replace("\n", ""))
        wanted = max(rules.min_duration_ms, int(1000 * chars / rules.max_cps))
        limit = cues[i + 1].start_ms - rules.min_gap_ms if i + 1 < len(cues) else cue.start_ms + wanted
        cue.end_ms = max(cue.end_ms, min(cue.start_ms + wanted, limit))
        cue.end_ms = min(cue.end_ms, cue.start_ms + rules.max_duration_ms)
        if i + 1 < len(cues) and cues[i + 1].start_ms - cue.end_ms < rules.min_gap_ms:
            cue.end_ms = max(cue.start_ms + 1, cues[i + 1].start_ms - rules.min_gap_ms)
    return cues


@dataclass(frozen=True)
class SubtitleStyle:
    """Burned-in look for a vertical frame; margins are in the frame's own pixels."""

    font_size_ratio: float = 0.034  # of frame height
    bottom_margin_ratio: float = 0.24  # keep clear of the app's bottom UI (design.md safe zone)
    side_margin_ratio: float = 0.08
    outline: float = 3.0
    box: bool = True


def to_ssa(cues: list[Cue], locale: Locale, width: int, height: int, style: SubtitleStyle = SubtitleStyle()):
    """A pysubs2 file with one styled event per cue."""
    import pysubs2

    subs = pysubs2.SSAFile()
    subs.info["PlayResX"] = str(width)
    subs.info["PlayResY"] = str(height)
    subs.info["WrapStyle"] = "2"  # we break lines ourselves
    main = pysubs2.SSAStyle(
        fontname=locale.subtitle_font, fontsize=round(height * style.font_size_ratio), bold=True,
        primarycolor=pysubs2.Color(255, 255, 255), outlinecolor=pysubs2.Color(0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 96), outline=style.outline, shadow=0,
        borderstyle=3 if style.box else 1, alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginv=round(height * style.bottom_margin_ratio), marginl=round(width * style.side_margin_ratio),
        marginr=round(width * style.side_margin_ratio))
    subs.styles["Default"] = main
    for cue in cues:
        text = cue.text.replace("\n", "\\N")
        if locale.rtl:
            text = "\u202b" + text.replace("\\N", "\u202c\\N\u202b") + "\u202c"  # keep RTL runs intact in libass
        subs.append(pysubs2.SSAEvent(start=cue.start_ms, end=cue.end_ms, text=text, style="Default"))
    return subs


def write_subtitles(cues: list[Cue], locale: Locale, width: int, height: int, path: Path, fmt: str) -> None:
    """Write ``cues`` as ``fmt`` (srt, vtt, ass) to ``path`` atomically."""
    subs = to_ssa(cues, locale, width, height)
    with atomic_path(path) as tmp:
        subs.save(str(tmp), format_=fmt, encoding="utf-8")
