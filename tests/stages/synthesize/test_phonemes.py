"""Text -> espeak IPA -> Kokoro ids: pure rules plus the real espeak-ng."""

from __future__ import annotations

import pytest

from localize.errors import ToolError
from localize.stages.synthesize import phonemes as ph
from localize.stages.synthesize.kokoro import KokoroBackend

ZWJ = "\u200d"


def test_split_clauses_keeps_punctuation_and_numbers():
    assert ph.split_clauses("Hello, world! It costs 3.5 dollars. Don't go…") == [
        ("Hello", ","), ("world", "!"), ("It costs 3.5 dollars", "."), ("Don't go", "…")]


def test_split_clauses_folds_cjk_and_spanish_marks():
    assert ph.split_clauses("你好，世界。走吧！") == [("你好", ","), ("世界", "."), ("走吧", "!")]
    assert ph.split_clauses("¿Dónde estás? ¡No!") == [("Dónde estás", "?"), ("No", "!")]


def test_split_clauses_quotes_end_clauses():
    pieces = ph.split_clauses("She said “Really?” and left")
    assert pieces == [("She said", "“"), ("Really", "?"), ("", "”"), ("and left", "")]


def test_to_kokoro_affricates_to_single_symbols():
    assert ph.to_kokoro(f"t{ZWJ}ʃˈɜːt{ZWJ}ʃ d{ZWJ}ʒˈʌd{ZWJ}ʒ") == "ʧˈɜːʧ ʤˈʌʤ"
    assert ph.to_kokoro(f"t{ZWJ}sˈa d{ZWJ}zo t{ZWJ}ɕi") == "ʦˈa ʣo ʨi"
    # Diphthongs keep both vowels; only the tie goes.
    assert ph.to_kokoro(f"ha{ZWJ}ɪ nˈo{ZWJ}ʊ_ me{ZWJ}ʊ") == "haɪ nˈoʊ meʊ"


def test_to_kokoro_drops_language_switch_marks():
    assert ph.to_kokoro("(en)wˈʌn(es) dˈos") == "wˈʌn dˈos"
    assert ph.to_kokoro(f"({ZWJ}e{ZWJ}n)t{ZWJ}ʃˈa{ZWJ}ɪniːz({ZWJ}j{ZWJ}a)lˈe̞tə") == "ʧˈaɪniːzlˈe̞tə"


def test_emoji_are_not_read_out():
    assert ph.speakable("Fine 🙂 ★ $5, 100%！") == "Fine $5, 100%!"


def test_phonemize_real_espeak_english():
    assert ph.phonemize("Hello, world!", "en-us") == "həlˈoʊ, wˈɜːld!"
    assert ph.phonemize("She said “Really?” and (quietly) left.", "en-us") == \
        "ʃiː sˈɛd “ɹˈiəli?” ˈænd (kwˈaɪətli) lˈɛft."


def test_phonemize_real_espeak_spanish():
    assert ph.phonemize("¿Dónde estás? Te quiero.", "es") == "dˈonde estˈas? te kjˈeɾo."


def test_tokenize_drops_unknown_symbols():
    vocab = KokoroBackend().vocab()
    assert vocab["a"] == 43 and vocab["ʧ"] == 133
    assert ph.tokenize("a-b#ʧ", vocab) == [43, 44, 133]


def test_chunk_phonemes_prefers_sentence_then_clause_breaks():
    assert ph.chunk_phonemes("ab cd. ef gh, ij kl. mnopqrstuv", 6) == ["ab cd.", "ef gh,", "ij kl.", "mnopqr", "stuv"]
    text = " ".join(["wˈʌn tˈuː θɹˈiː, fˈoːɹ fˈaɪv."] * 40)
    chunks = ph.chunk_phonemes(text, 100)
    assert all(len(c) <= 100 for c in chunks)
    assert all(c.endswith(".") for c in chunks)  # every cut fell on a sentence end
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")


def test_missing_espeak_is_a_tool_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    ph.espeak_ipa.cache_clear()
    with pytest.raises(ToolError, match="apt-get install espeak-ng"):
        ph.phonemize("hello", "en-us")
