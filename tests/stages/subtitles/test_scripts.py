"""Script-correct subtitles: Thai broken only between words, Arabic right to left with its punctuation
and digits in place (python-bidi, and a frame libass really rendered), Vietnamese diacritics in the
chosen font, and line limits per script."""

from __future__ import annotations

import subprocess
import unicodedata

import numpy as np
import pytest

from localize.locales import get_locale
from localize.model import Segment
from localize.stages.subtitles import SubtitleRules, build_cues, to_ssa, wrap
from localize.stages.subtitles.scripts import (display_length, embed_rtl, line_limit, line_problems, missing_glyphs,
                                               visual_order, word_boundaries)

TH, AR, VI, EN = (get_locale(t) for t in ("th-TH", "ar-SA", "vi-VN", "en-US"))
THAI = ("คุณกู้คะ สัญญาฉบับนี้คุณต้องเซ็นให้เสร็จภายในวันนี้นะคะ "
        "ไม่อย่างนั้นบริษัทของเราจะเสียลูกค้ารายใหญ่ไป")
ARABIC = "50,000 ريال؟ لا أصدق!"


def test_line_limits_are_per_script():
    assert (line_limit(EN), line_limit(TH), line_limit(AR), line_limit(VI)) == (42, 35, 42, 42)
    assert line_limit(get_locale("ja-JP")) == 13 and line_limit(get_locale("ko-KR")) == 16
    assert SubtitleRules.for_locale(TH).max_chars_per_line == 35
    # Thai vowel and tone marks above and below share their consonant's cell.
    assert display_length("กู้") == 1 and display_length("คุณ") == 2


def test_thai_breaks_only_between_words():
    lines = wrap(THAI, 35, locale=TH)
    assert len(lines) >= 2 and all(display_length(line) <= 35 for line in lines)
    assert not line_problems(lines, TH)
    joined = "".join(lines)
    boundaries = word_boundaries(joined, TH)
    offset = 0
    for line in lines[:-1]:
        offset += len(line)
        assert offset in boundaries
    # The old character wrap cut words (and even split a consonant from its vowel mark): caught.
    cut = [THAI[:20], THAI[20:40]]
    assert any("inside a word" in p for p in line_problems(cut, TH))
    cues = build_cues([Segment(0, 0, 6000, "zh", text=THAI)], TH)
    assert all(not line_problems(cue.lines, TH) for cue in cues)
    assert "".join("".join(c.lines) for c in cues).replace(" ", "") == THAI.replace(" ", "")


def test_arabic_is_right_to_left_with_digits_and_punctuation_in_place():
    cue = build_cues([Segment(0, 0, 3000, "zh", text=ARABIC)], AR)[0]
    event = to_ssa([cue], AR, 1080, 1920).events[0].text
    assert event == embed_rtl(ARABIC)
    shown = visual_order(event, rtl=False)  # as libass lays it out: base direction left to right
    assert shown.startswith("!") and shown.endswith("50,000")  # the "!" ends the sentence on the left
    assert "50,000" in shown  # the number still reads left to right
    assert not line_problems([event], AR)
    # Without the embedding a left-to-right renderer puts the number first and the "!" on the right.
    assert line_problems([ARABIC], AR)
    mixed = "قال CEO إن الصفقة بقيمة 1,500,000 ريال."
    assert not line_problems([embed_rtl(mixed)], AR) and line_problems([mixed], AR)


def _render(ass_text: str, tmp_path, name: str) -> np.ndarray:
    path = tmp_path / f"{name}.ass"
    path.write_text(ass_text, encoding="utf-8")
    out = tmp_path / f"{name}.png"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=black:s=720x160:d=1", "-vf", f"ass={path}", "-frames:v", "1", str(out)], check=True)
    from PIL import Image

    return np.asarray(Image.open(out).convert("L"), dtype=np.int16)


def test_libass_renders_the_embedded_arabic_line_right_to_left(tmp_path):
    """Right-aligned lines with and without the final "!": if libass puts it on the left (RTL), only the
    leftmost columns differ; laid out left to right, the whole line would shift."""
    def frame(text: str, name: str) -> np.ndarray:
        subs = to_ssa(build_cues([Segment(0, 0, 3000, "zh", text=text)], AR), AR, 720, 160)
        subs.styles["Default"].fontsize, subs.styles["Default"].borderstyle = 48, 1  # big, no box
        subs.events[0].text = "{\\an9\\pos(700,20)}" + subs.events[0].text
        return _render(subs.to_string("ass"), tmp_path, name)

    full, without = frame(ARABIC, "full"), frame(ARABIC[:-1], "without")
    ink = np.flatnonzero((full > 200).any(axis=0))
    changed = np.flatnonzero((np.abs(full - without) > 64).any(axis=0))
    assert ink.size and changed.size
    width = ink[-1] - ink[0]
    assert changed[-1] < ink[0] + 0.25 * width, "the '!' is not at the left end of the rendered line"


def test_vietnamese_diacritics_are_kept_and_the_font_has_them():
    decomposed = unicodedata.normalize("NFD", "Ngài phải ký hôm nay ạ, Cố tổng. Đừng hứa suông nữa!")
    lines = wrap(decomposed, 42, locale=VI)
    assert all(unicodedata.is_normalized("NFC", line) for line in lines)
    assert "ạ" in " ".join(lines) and "ổ" in " ".join(lines)
    assert missing_glyphs(VI.subtitle_font, " ".join(lines)) == []
    assert missing_glyphs(TH.subtitle_font, THAI) == []
    assert missing_glyphs(AR.subtitle_font, ARABIC) == []
    assert missing_glyphs(EN.subtitle_font, THAI)  # the Latin font has no Thai: why Thai gets its own font
