"""Line breaking, reading speed and durations of the target subtitles."""

import pysubs2

from localize.locales import get_locale
from localize.model import Segment
from localize.stages.subtitles import SubtitleRules, build_cues, to_ssa, wrap, write_subtitles

EN = get_locale("en-US")
RULES = SubtitleRules()


def test_wrap_keeps_lines_within_limit_and_balances():
    text = "Mr. Gu, you promised me fifty thousand yuan and now you pretend you never said it at all"
    lines = wrap(text, 42)
    assert all(len(line) <= 42 for line in lines)
    assert " ".join(lines) == text
    assert len(lines) == 3


def test_wrap_balances_two_lines():
    lines = wrap("I never wanted your money, I only wanted you to believe me", 42)
    assert len(lines) == 2
    assert abs(len(lines[0]) - len(lines[1])) <= 12


def test_wrap_unspaced_script_breaks_by_character():
    lines = wrap("ก" * 50, 42, spaced=False)
    assert [len(line) for line in lines] == [25, 25] or max(len(line) for line in lines) <= 42


def test_long_line_splits_into_cues_of_at_most_two_lines():
    text = " ".join(["word"] * 40)  # 199 chars: needs three cues of two lines
    cues = build_cues([Segment(0, 1000, 9000, "zh", text=text)], EN)
    assert len(cues) == 3
    assert all(len(cue.lines) <= 2 and all(len(l) <= 42 for l in cue.lines) for cue in cues)
    assert cues[0].start_ms == 1000 and cues[-1].end_ms <= 1000 + 7000 * 3


def test_short_cue_is_extended_for_reading_speed_but_keeps_the_gap():
    segments = [Segment(0, 0, 300, "zh", text="No! Absolutely not, never again."),
                Segment(1, 2500, 3500, "zh", text="Fine.")]
    first, second = build_cues(segments, EN)
    assert first.end_ms - first.start_ms >= RULES.min_duration_ms
    assert len(first.text) / ((first.end_ms - first.start_ms) / 1000) <= RULES.max_cps + 1e-6
    assert second.start_ms - first.end_ms >= RULES.min_gap_ms


def test_cue_never_exceeds_max_duration():
    cues = build_cues([Segment(0, 0, 20000, "zh", text="Hmm.")], EN)
    assert cues[0].end_ms - cues[0].start_ms <= RULES.max_duration_ms


def test_rtl_subtitles_are_embedded_and_use_an_arabic_font(tmp_path):
    arabic = get_locale("ar-SA")
    cues = build_cues([Segment(0, 0, 2000, "zh", text="أنا لا أريد مالك")], arabic)
    subs = to_ssa(cues, arabic, 1080, 1920)
    assert subs.styles["Default"].fontname == "Noto Sans Arabic"
    assert subs[0].text.startswith("\u202b")
    path = tmp_path / "ar.srt"
    write_subtitles(cues, arabic, 1080, 1920, path, "srt")
    assert "أنا لا أريد مالك" in path.read_text(encoding="utf-8")


def test_written_srt_round_trips_through_pysubs2(tmp_path):
    segments = [Segment(i, i * 2000, i * 2000 + 1500, "zh", text=f"Line {i}") for i in range(5)]
    path = tmp_path / "out.srt"
    write_subtitles(build_cues(segments, EN), EN, 1080, 1920, path, "srt")
    loaded = pysubs2.load(str(path))
    assert [e.plaintext for e in loaded] == [f"Line {i}" for i in range(5)]
    assert loaded[2].start == 4000
