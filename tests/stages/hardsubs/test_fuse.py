"""Fusion of OCR events with ASR segments (pure logic, no model)."""

from __future__ import annotations

from localize.stages.hardsubs import OcrEvent, fuse
from localize.stages.hardsubs.fuse import FuseRules
from localize.model import Segment, Word


def event(start: int, end: int, text: str, confidence: float = 0.99) -> OcrEvent:
    return OcrEvent(start, end, text, [100, 1200, 900, 1330], confidence)


def seg(start: int, end: int, text: str, speaker: str = "S1", words: list[Word] | None = None) -> Segment:
    return Segment(0, start, end, text, speaker=speaker, words=words or [])


def test_ocr_text_replaces_asr_text_and_keeps_speech_timing():
    segments = [seg(1480, 6400, "小小你哥又欠了五万块", speaker="S2")]
    out = fuse(segments, [event(1500, 6540, "晓晓你哥又欠了五万块 人家都找上门来了！")])
    assert len(out) == 1
    assert out[0].source_text == "晓晓你哥又欠了五万块 人家都找上门来了！"
    assert (out[0].start_ms, out[0].end_ms) == (1480, 6400)  # the voice's edges, not the subtitle's
    assert out[0].origin == "ocr+asr" and out[0].speaker == "S2"


def test_segment_without_ocr_keeps_asr_and_event_without_speech_becomes_a_line():
    segments = [seg(0, 1000, "喂"), seg(5000, 6000, "走吧")]
    events = [event(5000, 6050, "走吧！"), event(2000, 3500, "三年后")]
    out = fuse(segments, events)
    assert [(s.source_text, s.origin) for s in out] == [("喂", "asr"), ("三年后", "ocr"), ("走吧！", "ocr+asr")]
    assert [s.id for s in out] == [0, 1, 2]
    assert (out[1].start_ms, out[1].end_ms) == (2000, 3500)


def test_short_or_unsure_ocr_only_events_are_dropped():
    events = [event(0, 200, "啊"), event(1000, 3000, "乱码", confidence=0.3), event(4000, 5000, "好")]
    out = fuse([], events)
    assert [s.source_text for s in out] == ["好"]
    assert fuse([], [event(0, 200, "啊")], FuseRules(min_ocr_only_ms=100))[0].origin == "ocr"


def test_two_asr_pieces_of_one_subtitle_are_merged():
    segments = [seg(1000, 2500, "你就是林晓", words=[Word(1000, 2500, "你就是林晓")]),
                seg(2900, 5000, "从今天起你做我的合约妻子", words=[Word(2900, 5000, "从今天起你做我的合约妻子")])]
    out = fuse(segments, [event(1000, 5000, "你就是林晓？从今天起 你做我的合约妻子")])
    assert len(out) == 1
    assert (out[0].start_ms, out[0].end_ms, out[0].origin) == (1000, 5000, "ocr+asr")
    assert len(out[0].words) == 2


def test_one_asr_segment_holding_two_subtitles_is_split_on_its_words():
    words = [Word(1000, 1500, "哥"), Word(1500, 2600, "你这次"), Word(3100, 4000, "顾总"), Word(4000, 5200, "您是")]
    out = fuse([seg(950, 5300, "哥你这次古宗您是", words=words)],
               [event(1000, 2700, "哥 你这次真的把我害惨了"), event(3000, 5400, "顾总 您是不是认错人了？")])
    assert [s.source_text for s in out] == ["哥 你这次真的把我害惨了", "顾总 您是不是认错人了？"]
    assert (out[0].start_ms, out[0].end_ms) == (950, 2600)  # outer edge from VAD, inner from the words
    assert (out[1].start_ms, out[1].end_ms) == (3100, 5300)
    assert [len(s.words) for s in out] == [2, 2]


def test_split_without_words_cuts_between_the_events():
    out = fuse([seg(1000, 5000, "甲乙")], [event(1000, 2600, "甲"), event(3000, 5000, "乙")])
    assert [(s.start_ms, s.end_ms, s.source_text) for s in out] == [(1000, 2800, "甲"), (2800, 5000, "乙")]


def test_a_subtitle_lingering_into_the_next_line_does_not_claim_it():
    segments = [seg(0, 2000, "第一句"), seg(2100, 4000, "第二句话")]
    events = [event(0, 2200, "第一句！"), event(2250, 4000, "第二句话！")]
    out = fuse(segments, events)
    assert [(s.source_text, s.start_ms, s.end_ms) for s in out] == [("第一句！", 0, 2000), ("第二句话！", 2100, 4000)]


def test_inputs_are_not_modified():
    segments = [seg(0, 1000, "喂")]
    fuse(segments, [event(0, 1000, "喂！")])
    assert segments[0].source_text == "喂" and segments[0].origin == "asr"
