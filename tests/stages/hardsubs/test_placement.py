"""Target subtitles placed in the old Chinese band or the safe zone, per-script fonts, rendered by libass."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pysubs2
import pytest

from localize import ffmpeg
from localize.stages.hardsubs import SubtitleBand
from localize.locales import LOCALES, get_locale
from localize.model import Segment
from localize.stages.subtitles import (Placement, SafeZone, SubtitleRules, band_anchor, build_cues, to_ssa,
                                       write_subtitles)

EN = get_locale("en-US")
BAND = SubtitleBand(top=1174, bottom=1364, left=189, right=876, line_height=66, frame_width=1080, frame_height=1920)
POS = re.compile(r"\{\\pos\((\d+),(\d+)\)\}")


def cues_for(text: str, locale=EN, start: int = 0, end: int = 3000):
    return build_cues([Segment(0, start, end, "zh", text=text)], locale)


def test_band_placement_centres_the_cue_on_the_band():
    subs = to_ssa(cues_for("I never wanted your money."), EN, 1080, 1920, placement=Placement.from_band(BAND))
    assert subs.styles["Default"].alignment == pysubs2.Alignment.MIDDLE_CENTER
    x, y = map(int, POS.match(subs[0].text).groups())
    assert y == (1174 + 1364) // 2 + 1 or y == (1174 + 1364) // 2
    # Centred between the safe margins: a little left of the middle, clear of the right-hand buttons.
    assert x == round((0.08 * 1080 + 0.88 * 1080) / 2)
    assert subs[0].text.endswith("I never wanted your money.")


def test_placement_scales_with_the_output_picture():
    half = Placement.from_band(BAND).scaled(0.5)
    assert (half.mode, half.top, half.bottom) == ("band", 587, 682)
    subs = to_ssa(cues_for("Fine."), EN, 540, 960, placement=half)
    assert POS.match(subs[0].text).groups() == ("259", "634")


def test_band_near_the_bottom_is_lifted_into_the_safe_zone():
    low = Placement("band", 1700, 1800)
    font = round(1920 * 0.034)
    for n_lines in (1, 2):
        _x, y = band_anchor(low, n_lines, font, 1080, 1920)
        assert y + n_lines * font * 1.25 / 2 <= 1920 * (1 - 0.24) + 1
    high = Placement("band", 0, 60, SafeZone(top=0.1))
    assert band_anchor(high, 2, font, 1080, 1920)[1] - 2 * font * 1.25 / 2 >= 192 - 1


def test_two_line_cues_stay_inside_the_safe_zone_and_keep_the_line_rules():
    text = "Mr. Gu, you promised me fifty thousand yuan and now you pretend you never said it at all"
    cues = cues_for(text, end=6000)
    placement = Placement.from_band(BAND)
    subs = to_ssa(cues, EN, 1080, 1920, placement=placement)
    rules = SubtitleRules()
    for cue, event in zip(cues, subs):
        assert len(cue.lines) <= rules.max_lines and all(len(line) <= rules.max_chars_per_line for line in cue.lines)
        chars = len(cue.text.replace("\n", ""))
        assert chars / ((cue.end_ms - cue.start_ms) / 1000) <= rules.max_cps + 1e-6
        _x, y = map(int, POS.match(event.text).groups())
        half = len(cue.lines) * 65 * 1.25 / 2
        assert 1920 * 0.10 <= y - half and y + half <= 1920 * 0.76


def test_safe_mode_and_default_placement():
    safe = to_ssa(cues_for("Fine."), EN, 1080, 1920, placement=Placement("safe", safe=SafeZone(bottom=0.2)))
    style = safe.styles["Default"]
    assert style.alignment == pysubs2.Alignment.BOTTOM_CENTER and style.marginv == 384
    assert style.marginr == round(1080 * 0.12) and not POS.search(safe[0].text)
    default = to_ssa(cues_for("Fine."), EN, 1080, 1920)
    assert default.styles["Default"].marginv == round(1920 * 0.24)
    assert default.styles["Default"].marginl == default.styles["Default"].marginr == round(1080 * 0.08)
    assert default[0].text == "Fine."
    with pytest.raises(ValueError):
        to_ssa(cues_for("Fine."), EN, 1080, 1920, placement=Placement("top"))


def test_right_to_left_cues_in_the_band(tmp_path):
    arabic = get_locale("ar-SA")
    cues = cues_for("أنا لا أريد مالك، أريد فقط أن تصدقني", arabic)
    subs = to_ssa(cues, arabic, 1080, 1920, placement=Placement.from_band(BAND))
    assert subs.styles["Default"].fontname == "Noto Sans Arabic"
    assert POS.match(subs[0].text) and subs[0].text[POS.match(subs[0].text).end()] == "\u202b"
    srt = tmp_path / "ar.srt"
    write_subtitles(cues, arabic, 1080, 1920, srt, "srt", placement=Placement.from_band(BAND))
    body = srt.read_text(encoding="utf-8")
    assert "\\pos" not in body and "أنا لا أريد مالك" in body


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="needs fontconfig")
def test_every_market_font_is_an_installed_noto_font():
    for locale in LOCALES.values():
        found = subprocess.run(["fc-match", "-f", "%{family}", locale.subtitle_font], capture_output=True,
                               text=True, check=True).stdout
        assert locale.subtitle_font in found.split(","), (locale.tag, found)


def _render_rows(tmp_path: Path, locale, text: str, placement: Placement) -> np.ndarray:
    """Render one cue on a dark 270x480 frame through ffmpeg's libass; the rows where text was drawn."""
    ass = tmp_path / f"{locale.tag}.ass"
    to_ssa(cues_for(text, locale, 0, 2000), locale, 270, 480, placement=placement).save(str(ass))
    frame = tmp_path / f"{locale.tag}.gray"
    ffmpeg.run(ffmpeg.ffmpeg_argv("-f", "lavfi", "-i", "color=c=0x202020:size=270x480:rate=25:duration=1",
                                  "-vf", f"ass={ffmpeg.filter_path(ass)}", "-frames:v", "1", "-f", "rawvideo",
                                  "-pix_fmt", "gray", str(frame)), what="rendering a test subtitle")
    luma = np.fromfile(frame, np.uint8).reshape(480, 270)
    return np.flatnonzero((luma > 200).sum(axis=1) > 0)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
@pytest.mark.parametrize("tag,text", [("en-US", "Sign this contract."), ("ar-SA", "وقّع هذا العقد"),
                                      ("th-TH", "เซ็นสัญญานี้"), ("ja-JP", "この契約にサインして")])
def test_libass_draws_each_script_inside_the_band(tmp_path, tag, text):
    band = Placement("band", 300, 350)  # a 270x480 frame's band at 0.65 of the height
    rows = _render_rows(tmp_path, get_locale(tag), text, band)
    assert rows.size >= 8, f"nothing drawn for {tag}"
    assert rows.min() >= 300 - 8 and rows.max() <= 350 + 8, (tag, rows.min(), rows.max())
