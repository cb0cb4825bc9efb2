"""Market rules: currency policy, honorifics, idioms, formality and content, loaded from glossaries/markets."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.errors import ConfigError
from localize.locales import get_locale
from localize.stages.translate import TRANSLATORS, TranslationRequest, Translator, translate_lines
from localize.stages.translate.markets import load_market, parse_rules

MARKETS = Path(__file__).resolve().parents[3] / "glossaries" / "markets"
SEEN: list[dict[int, str]] = []


class Scripted(Translator):
    """Answers from a fixed script per attempt, keyed by source line, and records the feedback it got."""

    name = "test-scripted"
    script: dict[str, list[str]] = {}

    def __init__(self) -> None:
        self.tries: dict[int, int] = {}

    def translate(self, request, indices, feedback):
        SEEN.append(dict(feedback))
        out = {}
        for i in indices:
            answers = self.script[request.lines[i]]
            self.tries[i] = self.tries.get(i, 0) + 1
            out[i] = answers[min(self.tries[i], len(answers)) - 1]
        return out


if Scripted.name not in TRANSLATORS.names():
    TRANSLATORS.register(Scripted.name)(Scripted)


def _run(lines, tag, script, **kw):
    Scripted.script = script
    SEEN.clear()
    return translate_lines(TranslationRequest(lines, get_locale(tag), **kw), [Scripted.name])


@pytest.mark.parametrize("tag", ["en-US", "es-MX", "pt-BR", "id-ID", "th-TH", "ar-SA", "vi-VN"])
def test_shipped_markets_load_with_every_rule_type(tag):
    rules = load_market(tag, MARKETS)
    assert rules is not None and rules.locale == tag
    assert rules.currency.policy in ("keep", "convert", "localize")
    assert rules.idioms["画饼"].meaning and rules.idioms["绿茶"].meaning and rules.idioms["霸道总裁"].meaning
    assert "阿姨" in rules.kinship and "X总" in rules.honorific_patterns
    assert rules.formality_note and rules.content_note
    assert "Slang:" in rules.brief()


def test_unknown_market_has_no_rules_and_bad_rules_are_config_errors(tmp_path):
    assert load_market("fr-FR", MARKETS) is None
    with pytest.raises(ConfigError, match="currency.policy"):
        parse_rules({"currency": {"policy": "barter"}}, tmp_path / "x.yaml")
    with pytest.raises(ConfigError, match="positive currency.rate"):
        parse_rules({"currency": {"policy": "convert"}}, tmp_path / "x.yaml")


def test_currency_keep_convert_and_localize():
    line = "五万块，离开我儿子。"
    assert load_market("en-US", MARKETS).prepare(line) == "50,000 yuan，离开我儿子。"
    mx = load_market("es-MX", MARKETS)
    assert mx.prepare(line) == "$125,000 pesos，离开我儿子。"  # 50,000 x 2.5
    assert load_market("pt-BR", MARKETS).render_amount(50_000) == "R$38.000"  # 37,500 rounded as said
    assert load_market("id-ID", MARKETS).prepare("卡里有10万元。") == "卡里有100.000 yuan。"
    # Validation: under 'convert' the converted figure must be there; the raw yuan figure is a problem.
    assert any(p.startswith("currency:") for p in mx.check("Cincuenta mil yuanes. Deja a mi hijo.", line))
    assert not mx.check("Toma $125,000 pesos y deja a mi hijo.", line)


def test_kept_amounts_in_the_markets_own_money_are_a_currency_problem_and_are_put_back():
    line = "这块表值八十八万，你赔得起吗？"
    cases = {"en-US": ("Is this $880,000 watch yours?", "Is this 880,000 yuan watch yours?"),
             "id-ID": ("Jam ini harganya Rp 880.000.", "Jam ini harganya 880.000 yuan."),
             "th-TH": ("นาฬิกานี้ราคา 880,000 บาท", "นาฬิกานี้ราคา 880,000 หยวน")}
    for tag, (said, kept) in cases.items():
        market = load_market(tag, MARKETS)
        assert any(p.startswith("currency:") for p in market.check(said, line)), tag
        assert market.keep_currency(said) == kept
        assert not [p for p in market.check(kept, line) if p.startswith("currency:")], tag
    # No amount in the source, nothing to keep: "a dollar" is a word like any other.
    assert not load_market("en-US", MARKETS).check("Not a dollar more.", "一分都不多给。")


def test_currency_policy_is_enforced_through_retries():
    line = "五万块，离开我儿子。"
    results = _run([line], "es-MX", {line: ["Cincuenta mil yuanes. Deja a mi hijo.",
                                            "Toma $125,000 pesos y deja a mi hijo."]})
    assert results[0].text == "Toma $125,000 pesos y deja a mi hijo." and not results[0].problems
    assert "125,000" in SEEN[1][0]  # the retry was told the converted amount


def test_honorific_pattern_becomes_an_enforced_term():
    lines = ["陈总，会议开始了。", "你总是迟到。"]
    request = TranslationRequest(lines, get_locale("en-US"))
    assert request.terms()["陈总"] == "Mr. Chen"
    assert "总是" not in request.terms()  # 总 after a non-surname is not a title
    results = _run(lines, "en-US", {lines[0]: ["President Chen, the meeting has started."],
                                    lines[1]: ["You are always late."]})
    assert results[0].text.startswith("Mr. Chen,")
    assert any(p.startswith("glossary-fixed") for p in results[0].problems)
    # The series glossary wins over the market pattern.
    from localize.stages.translate import load_glossary

    glossary = load_glossary(MARKETS.parent / "ceo-romance.yaml")
    assert TranslationRequest(["顾总"], get_locale("es-MX"), glossary).terms()["顾总"] == "señor Gu"


def test_kinship_is_dropped_or_rendered_per_market():
    assert TranslationRequest(["哥，等等我。"], get_locale("en-US")).terms()["哥"] == ""
    assert TranslationRequest(["哥，等等我。"], get_locale("id-ID")).terms()["哥"] == "Kak"
    results = _run(["哥，等等我。"], "id-ID", {"哥，等等我。": ["Tunggu aku!"]})
    assert "Kak" in results[0].text


def test_idiom_meaning_reaches_the_model_and_a_literal_rendering_is_rejected():
    line = "她就是个绿茶，别再给我画饼了。"
    request = TranslationRequest([line], get_locale("en-US"))
    assert request.source(0) == "她就是个fake innocent schemer，别再给我empty promises了。"
    results = _run([line], "en-US", {line: ["She is green tea, stop drawing pies for me.",
                                            "She's a fake innocent schemer. Stop the empty promises."]})
    assert "green tea" not in results[0].text.lower() and not results[0].problems
    assert "idiom: 绿茶" in SEEN[1][0]


def test_formality_follows_the_source_register():
    mx = load_market("es-MX", MARKETS)
    assert any(p.startswith("formality") for p in mx.check("Tú tienes que firmar hoy.", "您今天必须签。"))
    assert not mx.check("Usted tiene que firmar hoy.", "您今天必须签。")
    assert not mx.check("Tú tienes que firmar hoy.", "你今天必须签。")  # peers: tú is right
    br = load_market("pt-BR", MARKETS)
    assert any(p.startswith("formality") for p in br.check("Você precisa assinar.", "您必须签。"))
    assert not br.check("O senhor precisa assinar.", "您必须签。")
    idn = load_market("id-ID", MARKETS)
    assert any(p.startswith("formality") for p in idn.check("Kamu harus tanda tangan.", "您必须签。"))
    results = _run(["您今天必须签。"], "es-MX", {"您今天必须签。": ["Tú tienes que firmar hoy.",
                                                                    "Usted tiene que firmar hoy."]})
    assert results[0].text == "Usted tiene que firmar hoy."


def test_content_policy_bans_words():
    idn = load_market("id-ID", MARKETS)
    assert any(p.startswith("content") for p in idn.check("Dasar bangsat!", "混蛋！"))


def test_market_rules_can_be_turned_off():
    request = TranslationRequest(["五万块。"], get_locale("es-MX"), use_market=False)
    assert request.market is None and request.source(0) == "五万块。"
