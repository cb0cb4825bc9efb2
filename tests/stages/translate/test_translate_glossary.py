"""Glossary files: loading, per-locale overrides, errors, term matching and rule-based repair."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.errors import ConfigError
from localize.stages.translate.glossary import Glossary, contains_term, enforce_terms, find_terms, load_glossary

ROOT = Path(__file__).resolve().parents[3]
SERIES = ROOT / "glossaries" / "ceo-romance.yaml"


def test_series_glossary_loads_with_overrides():
    glossary = load_glossary(SERIES)
    en = glossary.for_locale("en-US")
    assert en["顾总"] == "Mr. Gu"
    assert en["林晓"] == "Lin Xiao"
    assert en["阿姨"] == "Auntie"
    es = glossary.for_locale("es-MX")
    assert es["顾总"] == "señor Gu"
    assert es["阿姨"] == "tía"
    assert es["林晓"] == "Lin Xiao"  # not overridden: the shared term applies
    pt = glossary.for_locale("pt_br")  # tags match case- and separator-insensitively
    assert pt["顾总"] == "senhor Gu"
    assert glossary.for_locale("de-DE") == glossary.terms
    assert glossary.for_locale("th-TH")["顾总"] == "คุณกู้"


def test_language_level_override_then_region(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("terms: {顾总: Mr. Gu, 阿姨: Auntie}\n"
                    "locales:\n  es: {terms: {顾总: señor Gu, 阿姨: tía}}\n  es-MX: {terms: {阿姨: doña}}\n",
                    encoding="utf-8")
    glossary = load_glossary(path)
    assert glossary.for_locale("es-MX") == {"顾总": "señor Gu", "阿姨": "doña"}
    assert glossary.for_locale("es-ES") == {"顾总": "señor Gu", "阿姨": "tía"}


def test_none_and_empty_give_empty_glossary(tmp_path):
    assert load_glossary(None) == Glossary()
    assert not load_glossary(None)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_glossary(empty).for_locale("en-US") == {}


@pytest.mark.parametrize("text, message", [
    ("terms: [顾总, Mr. Gu]\n", "terms must be a mapping"),
    ("terms:\n  顾总: \n", "must be a non-empty string"),
    ("terms: {顾总: Mr. Gu\n", "not valid YAML"),
    ("- 顾总\n", "expected a mapping"),
    ("names: {顾总: Mr. Gu}\n", "unknown top-level key"),
    ("terms: {顾总: Mr. Gu}\nlocales: {es-MX: [x]}\n", "locales.es-MX"),
    ("terms: {顾总: 42}\n", "must be a non-empty string"),
])
def test_malformed_glossary_is_a_one_line_config_error(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_glossary(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_glossary_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_glossary(tmp_path / "nope.yaml")


def test_find_terms_prefers_longest_without_overlap():
    terms = {"顾": "Gu", "顾晨": "Gu Chen", "顾氏集团": "Gu Group", "林晓": "Lin Xiao"}
    assert find_terms("顾晨，顾氏集团是你的。", terms) == ["顾氏集团", "顾晨"]
    assert find_terms("顾先生来了", terms) == ["顾"]
    assert find_terms("你好", terms) == []


def test_contains_term_matches_whole_words_only():
    assert contains_term("gu chen, wait!", "Gu Chen")
    assert not contains_term("Gu Cheng will regret it.", "Gu Chen")
    assert contains_term("Señor Gu, espere.", "señor Gu")
    assert contains_term("王社長、会議です", "王社長")  # no word edges in unspaced scripts


def test_enforce_terms_replaces_transliteration_and_wrong_honorific():
    terms = {"顾总": "Mr. Gu", "顾氏集团": "Gu Group"}
    text, notes = enforce_terms("Gu Zong, sign it today.", "顾总，今天签了它。", terms)
    assert text == "Mr. Gu, sign it today."
    assert [n.split(":")[0] for n in notes] == ["glossary-fixed"]
    text, notes = enforce_terms("President Gu, the stock fell!", "顾总，股价跌了！", terms)
    assert text == "Mr. Gu, the stock fell!"
    assert [n.split(":")[0] for n in notes] == ["glossary-fixed"]
    assert enforce_terms("Mr. Gu, sign it.", "顾总，签了它。", terms) == ("Mr. Gu, sign it.", [])


def test_enforce_terms_inserts_vocative_and_reports_it():
    terms = {"顾总": "Mr. Gu", "林晓": "Lin Xiao", "顾氏集团": "Gu Group"}
    text, notes = enforce_terms("You must sign it.", "顾总，您必须签。", terms)
    assert text == "Mr. Gu, you must sign it."
    assert notes and notes[0].startswith("glossary-forced")
    text, _ = enforce_terms("Marry me!", "嫁给我吧，林晓！", terms)
    assert text == "Marry me, Lin Xiao!"
    text, _ = enforce_terms("I won't give you a single share.", "顾氏集团的股份我不会给你。", terms)
    assert contains_term(text, "Gu Group")
