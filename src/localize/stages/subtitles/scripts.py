"""What each writing system needs from a subtitle line: its length limit, where a line may break,
how its length is counted, and which way it runs.

* Line limits follow Netflix's Timed Text Style Guides: 42 characters for Latin, Arabic and
  Devanagari scripts, 35 for Thai, 16 for Chinese and Korean, 13 for Japanese.
* Thai is written without spaces between words: lines break only between the words pythainlp's
  dictionary segmenter (newmm) finds, never inside a word. Thai vowel and tone marks above and
  below a consonant sit in the same cell, so they do not count toward the length.
* Arabic runs right to left: each line is wrapped in an RTL embedding (RLE ... PDF) so that a
  renderer that sets the base direction left to right (libass does, and players that go by the
  first strong character do when a line starts with digits or Latin letters) still puts the end
  punctuation on the left and keeps numbers reading left to right. :func:`visual_order` shows a line
  as it appears on screen (python-bidi), for tests and checks.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from localize.locales import Locale

RLE, PDF = "\u202b", "\u202c"
# Per-script characters per line (Netflix Timed Text Style Guides); languages that differ from their script.
LINE_LIMITS = {"latin": 42, "arabic": 42, "devanagari": 42, "thai": 35, "cjk": 16}
LANGUAGE_LINE_LIMITS = {"ja": 13}
# A line never starts with these (closing punctuation stays with the word before it).
_CLOSING = set("，。！？；：、）》」』,.!?;:)…%") | {"؟", "،", "؛"}


def line_limit(locale: Locale) -> int:
    """Characters per line for ``locale``'s script (42 for scripts not listed)."""
    return LANGUAGE_LINE_LIMITS.get(locale.language, LINE_LIMITS.get(locale.script, 42))


def display_length(text: str) -> int:
    """Characters that take their own place on the line: combining marks and format controls do not count."""
    return sum(1 for ch in text if not unicodedata.combining(ch) and unicodedata.category(ch) not in ("Mn", "Me", "Cf"))


def break_units(text: str, locale: Locale) -> list[str]:
    """``text`` cut into pieces a line may break between; joined they give ``text`` back.

    Spaced scripts break at spaces (each piece keeps its trailing space), Thai between pythainlp
    words, Chinese and Japanese between characters; closing punctuation stays with what precedes it.
    """
    if locale.script == "thai":
        pieces = list(_thai_words(text))
    elif locale.script == "cjk":
        pieces = list(text)
    else:
        pieces = re.findall(r"\S+\s*|\s+", text)
    units: list[str] = []
    for piece in pieces:
        if units and (piece.strip() == "" or piece.strip()[:1] in _CLOSING):
            units[-1] += piece
        else:
            units.append(piece)
    return units


@functools.lru_cache(maxsize=4096)
def _thai_words(text: str) -> tuple[str, ...]:
    from pythainlp.tokenize import word_tokenize

    return tuple(word_tokenize(text, engine="newmm", keep_whitespace=True))


def word_boundaries(text: str, locale: Locale) -> set[int]:
    """Offsets in ``text`` where a line may break (between two break units)."""
    offsets, position = {0, len(text)}, 0
    for unit in break_units(text, locale):
        position += len(unit)
        offsets.add(position)
    return offsets


def split_overlong(unit: str, max_chars: int) -> list[str]:
    """Cut one unbreakable piece longer than a line into line-sized parts, keeping marks on their base letter."""
    parts, current = [], ""
    for ch in unit:
        if current and display_length(current + ch) > max_chars and not unicodedata.combining(ch) \
                and unicodedata.category(ch) != "Mn":
            parts.append(current)
            current = ""
        current += ch
    return parts + [current] if current else parts


def embed_rtl(line: str) -> str:
    """``line`` inside a right-to-left embedding, so renderers lay it out right to left."""
    return f"{RLE}{line}{PDF}"


def visual_order(line: str, rtl: bool | None = None) -> str:
    """``line`` in the order its characters appear on screen, left to right (python-bidi).

    ``rtl`` forces the paragraph direction; ``None`` takes it from the first strong character, as
    most players do. Bidi control characters are dropped from the result.
    """
    from bidi import get_display

    shown = get_display(line, base_dir="R" if rtl else "L") if rtl is not None else get_display(line)
    return "".join(ch for ch in shown if unicodedata.category(ch) != "Cf")


def line_problems(lines: list[str], locale: Locale, max_chars: int | None = None) -> list[str]:
    """What is wrong with a cue's ``lines`` for ``locale``'s script: too long, broken inside a word,
    or (right-to-left scripts) shown in the wrong direction."""
    limit = max_chars or line_limit(locale)
    problems = [f"line {i + 1} has {display_length(line)} characters (limit {limit} for {locale.script})"
                for i, line in enumerate(lines) if display_length(line) > limit]
    if locale.script == "thai" and len(lines) > 1:
        joined = "".join(lines)
        allowed = word_boundaries(joined, locale)
        position = 0
        for i, line in enumerate(lines[:-1]):
            position += len(line)
            if position not in allowed:
                problems.append(f"line {i + 1} breaks inside a word: {line[-4:]!r} | {lines[i + 1][:4]!r}")
    if locale.rtl:
        for i, line in enumerate(lines):
            bare = "".join(ch for ch in line if unicodedata.category(ch) != "Cf")
            # As libass lays it out (base direction left to right), it must read as an RTL paragraph.
            if visual_order(line, rtl=False) != visual_order(bare, rtl=True):
                problems.append(f"line {i + 1} is not laid out right to left: {visual_order(line, rtl=False)!r}")
    return problems


def missing_glyphs(family: str, text: str, bold: bool = True) -> list[str]:
    """Characters of ``text`` that the installed font ``family`` has no glyph for (fontconfig's view).

    Text is taken in NFC, as subtitles are written: Vietnamese ệ is one precomposed glyph, not e plus
    two stacked marks. A family that is not installed at all misses every character.
    """
    import subprocess

    from localize.errors import ToolError

    pattern = f"{family}:bold" if bold else family
    try:
        found = subprocess.run(["fc-match", "-f", "%{family}\n%{file}", pattern], capture_output=True, text=True,
                               check=True).stdout.splitlines()
        if len(found) < 2 or family.lower() not in found[0].lower():
            return sorted(set(ch for ch in text if not ch.isspace()))
        charset = subprocess.run(["fc-query", "-f", "%{charset}", found[1]], capture_output=True, text=True,
                                 check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ToolError(f"fontconfig (fc-match/fc-query) failed: {exc}") from None
    ranges = []
    for item in charset.split():
        low, _, high = item.partition("-")
        ranges.append((int(low, 16), int(high or low, 16)))
    return sorted({ch for ch in unicodedata.normalize("NFC", text)
                   if not ch.isspace() and unicodedata.category(ch) != "Cf"
                   and not any(low <= ord(ch) <= high for low, high in ranges)})
