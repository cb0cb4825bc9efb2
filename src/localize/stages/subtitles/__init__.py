"""Subtitles: turn translated segments into well-formed SRT and styled ASS events (pysubs2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from localize.fsutil import atomic_path
from localize.locales import Locale
from localize.model import Segment

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


@dataclass(frozen=True)
class SafeZone:
    """Margins kept clear of the app's buttons and captions, as fractions of the frame.

    Defaults follow the vertical (1080x1920) estimates in shared/design.md: about 460 px at the
    bottom, 190 px at the top, 130 px on the right (the like/share column) and less on the left.
    """

    top: float = 0.10
    bottom: float = 0.24
    left: float = 0.08
    right: float = 0.12


@dataclass(frozen=True)
class Placement:
    """Where the target subtitles go on the picture.

    ``mode`` 'band': centred on the rows [top, bottom) in frame pixels (where the source's
    burned-in subtitles were, so the new text covers what was removed), moved just enough to
    stay inside the safe zone; 'safe': bottom-centred at the safe zone's bottom edge.
    """

    mode: str = "band"
    top: int = 0
    bottom: int = 0
    safe: SafeZone = SafeZone()

    @classmethod
    def from_band(cls, band, safe: SafeZone = SafeZone()) -> Placement:
        """Placement on a detected band (anything with ``top`` and ``bottom`` in pixels)."""
        return cls("band", int(band.top), int(band.bottom), safe)

    def scaled(self, factor: float) -> Placement:
        """The same placement on a picture scaled by ``factor`` (the band was found on the source frame)."""
        return Placement(self.mode, round(self.top * factor), round(self.bottom * factor), self.safe)


LINE_SPACING = 1.25  # rendered line pitch, in font sizes (glyph height plus box padding)


def band_anchor(placement: Placement, n_lines: int, font_size: int, width: int, height: int) -> tuple[int, int]:
    """The \\pos(x, y) of a middle-centred block of ``n_lines`` lines on a 'band' placement.

    y is the band's centre, clamped so the whole block stays between the safe zone's top and bottom.
    """
    safe = placement.safe
    x = round((width * safe.left + width * (1 - safe.right)) / 2)
    half = n_lines * font_size * LINE_SPACING / 2
    low, high = height * safe.top + half, height * (1 - safe.bottom) - half
    y = (placement.top + placement.bottom) / 2
    y = min(max(y, low), high) if low <= high else (low + high) / 2
    return x, round(y)


def to_ssa(cues: list[Cue], locale: Locale, width: int, height: int, style: SubtitleStyle = SubtitleStyle(),
           placement: Placement | None = None):
    """A pysubs2 file with one styled event per cue.

    Without ``placement`` the cues sit bottom-centred above ``style``'s bottom margin; with one, see
    :class:`Placement`. The font is the locale's (Noto Sans for Latin scripts, Noto Sans Thai,
    Noto Sans Arabic, Noto Sans CJK, Noto Sans Devanagari); right-to-left text is embedded.
    """
    import pysubs2

    if placement is not None and placement.mode not in ("band", "safe"):
        raise ValueError(f"unknown subtitle placement {placement.mode!r}; use 'band' or 'safe'")
    subs = pysubs2.SSAFile()
    subs.info["PlayResX"] = str(width)
    subs.info["PlayResY"] = str(height)
    subs.info["WrapStyle"] = "2"  # we break lines ourselves
    font_size = round(height * style.font_size_ratio)
    marginv = round(height * style.bottom_margin_ratio)
    marginl = marginr = round(width * style.side_margin_ratio)
    alignment = pysubs2.Alignment.BOTTOM_CENTER
    if placement is not None:
        marginl, marginr = round(width * placement.safe.left), round(width * placement.safe.right)
        if placement.mode == "safe":
            marginv = round(height * placement.safe.bottom)
        else:
            alignment = pysubs2.Alignment.MIDDLE_CENTER
    main = pysubs2.SSAStyle(
        fontname=locale.subtitle_font, fontsize=font_size, bold=True,
        primarycolor=pysubs2.Color(255, 255, 255), outlinecolor=pysubs2.Color(0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 96), outline=style.outline, shadow=0,
        borderstyle=3 if style.box else 1, alignment=alignment,
        marginv=marginv, marginl=marginl, marginr=marginr)
    subs.styles["Default"] = main
    for cue in cues:
        text = cue.text.replace("\n", "\\N")
        if locale.rtl:
            text = "\u202b" + text.replace("\\N", "\u202c\\N\u202b") + "\u202c"  # keep RTL runs intact in libass
        if placement is not None and placement.mode == "band":
            x, y = band_anchor(placement, len(cue.lines), font_size, width, height)
            text = "{\\pos(%d,%d)}" % (x, y) + text
        subs.append(pysubs2.SSAEvent(start=cue.start_ms, end=cue.end_ms, text=text, style="Default"))
    return subs


def write_subtitles(cues: list[Cue], locale: Locale, width: int, height: int, path: Path, fmt: str,
                    placement: Placement | None = None) -> None:
    """Write ``cues`` as ``fmt`` (srt, vtt, ass) to ``path`` atomically (``placement``: see :func:`to_ssa`)."""
    subs = to_ssa(cues, locale, width, height, placement=placement)
    with atomic_path(path) as tmp:
        subs.save(str(tmp), format_=fmt, encoding="utf-8")
