"""Subtitles: turn translated segments into well-formed SRT and styled ASS events (pysubs2)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from localize.fsutil import atomic_path
from localize.locales import Locale
from localize.model import Segment
from localize.stages.subtitles.scripts import break_units, display_length, embed_rtl, line_limit, split_overlong

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

    @classmethod
    def for_locale(cls, locale: Locale) -> SubtitleRules:
        """The rules with ``locale``'s per-script line limit (35 for Thai, 16 for Chinese...)."""
        return cls(max_chars_per_line=line_limit(locale))


@dataclass
class Cue:
    start_ms: int
    end_ms: int
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def wrap(text: str, max_chars: int, spaced: bool = True, locale: Locale | None = None) -> list[str]:
    """Greedy wrap to ``max_chars``, then balance the last two lines (bottom-heavy pyramid).

    With ``locale`` the line breaks where that script allows (Thai between words, see
    :mod:`localize.stages.subtitles.scripts`) and length is counted as the script shows it; without
    one, ``spaced`` text breaks at spaces and unspaced text between characters.
    """
    # NFC: Vietnamese stacked diacritics as the font's precomposed glyphs (ệ, not e + two marks).
    text = unicodedata.normalize("NFC", re.sub(r"\s+", " ", text).strip())
    if locale is not None:
        units, measure = break_units(text, locale), display_length
    else:
        units, measure = (re.findall(r"\S+\s*", text) if spaced else list(text)), len
    if measure(text) <= max_chars:
        return [text] if text else []
    lines: list[list[str]] = []  # each line as its break units
    current: list[str] = []
    for unit in units:
        if measure(unit.strip()) > max_chars:  # a single overlong word is cut
            if current:
                lines.append(current)
            word = unit.strip()
            parts = split_overlong(word, max_chars) if locale is not None else \
                [word[i:i + max_chars] for i in range(0, len(word), max_chars)]
            lines.extend([part] for part in parts[:-1])
            current = [parts[-1] + unit[len(unit.rstrip()):]]
        elif not current or measure("".join(current + [unit]).strip()) <= max_chars:
            current.append(unit)
        else:
            lines.append(current)
            current = [unit]
    if current:
        lines.append(current)
    if len(lines) >= 2:
        lines[-2:] = _balance(lines[-2], lines[-1], max_chars, measure)
    return ["".join(line).strip() for line in lines]


def _balance(first: list[str], second: list[str], max_chars: int, measure) -> list[list[str]]:
    units = first + second

    def width(part: list[str]) -> int:
        return measure("".join(part).strip())

    best, best_score = [first, second], abs(width(first) - width(second))
    for cut in range(1, len(units)):
        a, b = units[:cut], units[cut:]
        if width(a) <= max_chars and width(b) <= max_chars and width(a) <= width(b):
            if width(b) - width(a) < best_score:
                best, best_score = [a, b], width(b) - width(a)
    return best


def segment_cues(segment: Segment, locale: Locale, rules: SubtitleRules) -> list[Cue]:
    """One or more cues for a segment, split so each holds at most ``max_lines`` lines."""
    lines = wrap(segment.text, rules.max_chars_per_line, locale=locale)
    if not lines:
        return []
    groups = [lines[i:i + rules.max_lines] for i in range(0, len(lines), rules.max_lines)]
    total_chars = sum(display_length(line) for line in lines)
    cues = []
    start = segment.start_ms
    span = max(segment.duration_ms, rules.min_duration_ms)
    for group in groups:
        share = sum(display_length(line) for line in group) / total_chars
        end = start + int(round(span * share))
        cues.append(Cue(start, end, group))
        start = end
    return cues


def build_cues(segments: list[Segment], locale: Locale, rules: SubtitleRules | None = None) -> list[Cue]:
    """Cues for all segments, with minimum/maximum durations and minimum gaps enforced.

    Without ``rules``, :meth:`SubtitleRules.for_locale` gives the script's line limit.
    """
    rules = rules or SubtitleRules.for_locale(locale)
    cues = [cue for segment in segments for cue in segment_cues(segment, locale, rules)]
    for i, cue in enumerate(cues):
        # Extend short cues (reading speed, minimum duration) into the following gap when there is room.
        chars = display_length(cue.text.replace("\n", ""))
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
        if locale.rtl:  # libass sets every line's base direction left to right: embed each line RTL
            text = "\\N".join(embed_rtl(line) for line in cue.lines)
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
