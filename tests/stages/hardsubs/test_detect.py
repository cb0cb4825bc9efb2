"""Band detection from OCR readings (pure logic) and the text helpers."""

from __future__ import annotations

from localize.stages.hardsubs.detect import FrameText, TextLine, blocks_of, find_band, text_similarity

W, H = 1080, 1920
DIALOGUE = ["晓晓 你哥又欠了五万块", "阿姨 您别急", "你一个小姑娘", "哥 你这次真的把我害惨了", "你就是林晓？",
            "顾总 您是不是认错人了？", "签了这份合同", "我从不画饼"]


def centred(text: str, y: int, height: int = 50) -> TextLine:
    width = 48 * len(text)
    return TextLine([W // 2 - width // 2, y, W // 2 + width // 2, y + height], text, 0.99)


def episode_readings(with_subtitles: bool = True) -> list[FrameText]:
    """20 samples 2 s apart: a watermark top right all along, a title card once, a sign, subtitles in the band."""
    samples = []
    for k in range(20):
        lines = [TextLine([850, 120, 1040, 160], "甜心短剧", 0.98)]
        if k == 0:
            lines.append(centred("第1集 合约妻子", 500, 90))
        if 6 <= k <= 8:
            lines.append(TextLine([80, 700, 300, 740], "顾氏集团", 0.95))
        if with_subtitles and k % 5 != 4:  # a pause every fifth sample
            text = DIALOGUE[(k // 2) % len(DIALOGUE)]
            lines.append(centred(text, 1212))
            if k % 3 == 0:
                lines.append(centred("人家都找上门来了！", 1278))
        samples.append(FrameText(k * 60, k * 2000, lines))
    return samples


def test_band_is_where_changing_dialogue_recurs():
    band, onscreen = find_band(episode_readings(), W, H, 2000)
    assert band is not None
    assert 1160 <= band.top <= 1212 and 1328 <= band.bottom <= 1380
    assert band.max_rows == 2 and band.line_height == 50 and band.distinct_texts >= 5
    assert 0.6 <= band.center_ratio <= 0.72
    kinds = {o.text: o.kind for o in onscreen}
    assert kinds == {"甜心短剧": "constant", "第1集 合约妻子": "other", "顾氏集团": "other"}
    sign = next(o for o in onscreen if o.text == "顾氏集团")
    assert (sign.start_ms, sign.end_ms) == (12000, 18000) and sign.box == [80, 700, 300, 740]


def test_no_band_without_changing_dialogue():
    band, onscreen = find_band(episode_readings(with_subtitles=False), W, H, 2000)
    assert band is None
    assert {o.text for o in onscreen} == {"甜心短剧", "第1集 合约妻子", "顾氏集团"}
    # One line repeated is not enough either, nor are changing digits (a timecode).
    same = [FrameText(k, k * 1000, [centred("你好", 1212)]) for k in range(3)]
    assert find_band(same, W, H, 1000)[0] is None
    digits = [FrameText(k, k * 1000, [centred(f"00:0{k}", 1212)]) for k in range(5)]
    assert find_band(digits, W, H, 1000)[0] is None
    assert find_band([], W, H, 1000) == (None, [])


def test_constant_text_in_the_band_is_not_dialogue():
    samples = episode_readings()
    for sample in samples:  # a logo that never leaves, sitting at the band's height on the left
        sample.lines.append(TextLine([20, 1230, 140, 1270], "独家", 0.97))
    band, onscreen = find_band(samples, W, H, 2000)
    assert band is not None and band.left > 140
    assert any(o.text == "独家" and o.kind == "constant" for o in onscreen)


def test_shapes_read_as_text_are_ignored():
    samples = episode_readings()
    samples[3].lines.append(TextLine([398, 230, 922, 832], "口", 0.7))  # a window frame
    _band, onscreen = find_band(samples, W, H, 2000)
    assert "口" not in {o.text for o in onscreen}


def test_blocks_join_rows_and_same_row_pieces():
    lines = [centred("晓晓", 1212), TextLine([700, 1214, 900, 1262], "你哥", 0.99), centred("人家都找上门来了！", 1278),
             centred("顾氏集团", 300)]
    blocks = blocks_of(lines, 0, W)
    assert sorted(len(b.lines) for b in blocks) == [1, 3]


def test_text_similarity_is_fuzzy_over_letters_and_han():
    assert text_similarity("晓晓 你哥又欠了五万块", "晓晓你哥又欠了五万块") == 1.0
    assert text_similarity("晓晓你哥又欠了五万块", "晓晓你哥又欠了五方块") == 0.9
    assert text_similarity("你一个小姑娘", "签了这份合同") == 0.0
    assert text_similarity("", "") == 1.0 and text_similarity("", "好") == 0.0
