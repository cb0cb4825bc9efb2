from localize.metrics import cer, has_han, wer


def test_wer_ignores_case_and_punctuation():
    assert wer("Mr. Gu, I'm sorry!", "mr gu i'm sorry") == 0.0
    assert wer("one two three four", "one three four five") == 0.5


def test_cer_counts_chinese_characters_only():
    assert cer("顾总，你好！", "古宗你好") == 0.5
    assert cer("你好", "你好。") == 0.0


def test_has_han():
    assert has_han("Hello 顾总") and not has_han("Hello Mr. Gu")
