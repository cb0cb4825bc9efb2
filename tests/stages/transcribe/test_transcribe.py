"""Line splitting on VAD pauses (pure logic) and simplified-character output."""

from localize.model import Segment, Word
from localize.stages.transcribe import split_on_pauses, to_simplified


def _segment(words):
    return Segment(0, words[0].start_ms, words[-1].end_ms, "".join(w.text for w in words), words=words)


def test_words_in_two_vad_regions_become_two_lines_with_vad_edges():
    words = [Word(100, 400, "顾总"), Word(400, 900, "你好"), Word(2100, 2500, "阿姨"), Word(2500, 3000, "再见")]
    pieces = split_on_pauses(_segment(words), chunks=[(150, 950), (2000, 3100)])
    assert [p.source_text for p in pieces] == ["顾总你好", "阿姨再见"]
    assert [(p.start_ms, p.end_ms) for p in pieces] == [(150, 950), (2000, 3100)]


def test_long_word_gap_inside_one_vad_region_splits_without_duplicating_times():
    words = [Word(0, 300, "不"), Word(1000, 1400, "好")]
    pieces = split_on_pauses(_segment(words), chunks=[(0, 1500)])
    assert [(p.start_ms, p.end_ms) for p in pieces] == [(0, 300), (1000, 1400)]


def test_traditional_output_is_simplified():
    assert to_simplified("這個你為什麼不相信我") == "这个你为什么不相信我"
