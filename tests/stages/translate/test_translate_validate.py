"""The checks every translated line goes through."""

from __future__ import annotations

import pytest

from localize.locales import get_locale
from localize.stages.translate.validate import code_of, severity, validate_line

EN = get_locale("en-US")
TERMS = {"顾总": "Mr. Gu", "林晓": "Lin Xiao"}


def codes(text, source="顾总，这份合同您今天必须签。", locale=EN, budget=None):
    return [code_of(p) for p in validate_line(text, source, locale, TERMS, budget)]


def test_clean_line_passes():
    assert validate_line("Mr. Gu, you have to sign this contract today.", "顾总，这份合同您今天必须签。",
                         EN, TERMS) == []


def test_empty_output_fails_but_empty_source_is_fine():
    assert codes("  ") == ["empty"]
    assert validate_line("", "  ", EN, TERMS) == []


def test_leftover_chinese_is_caught_and_named():
    problems = validate_line("Mr. Gu, sign 合同 today.", "顾总，签合同。", EN, TERMS)
    assert [code_of(p) for p in problems] == ["untranslated"]
    assert "合同" in problems[0]


def test_japanese_may_keep_kanji_but_korean_may_not():
    ja = get_locale("ja-JP")
    assert validate_line("顧社長、契約にサインしてください。", "顾总，签合同。", ja) == []
    assert "wrong-script" in codes("顾总今天必须签合同。", "顾总，今天必须签合同。", ja)
    ko = get_locale("ko-KR")
    assert "untranslated" in codes("구 대표님, 合同에 서명하세요.", "顾总，签合同。", ko)


def test_glossary_term_must_appear():
    problems = validate_line("President Gu, sign this today.", "顾总，这份合同您今天必须签。", EN, TERMS)
    assert problems == ["glossary: 顾总 must be rendered as 'Mr. Gu'"]
    assert codes("mr. gu, sign this today.") == []  # case-insensitive


def test_garbage_and_prompt_echo():
    assert "garbage" in codes("Mr. Gu ?!?! 12345 ... ---- ####")
    assert "prompt-echo" in codes("Mr. Gu, sign it. Chinese: 林晓")


def test_repetition_loop():
    assert "repetition" in codes("Mr. Gu, sign sign sign sign it.")
    assert "repetition" in codes("Mr. Gu, I love you I love you I love you")
    assert "repetition" in codes("Mr. Gu, I'm not a man's friend, I'm not a man's friend.")
    assert codes("Mr. Gu, no, no, no!") == []
    assert codes("Mr. Gu, I love you, I love you!") == []


def test_length_limits():
    assert "too-long" in codes("Mr. Gu, " + "this contract is very important " * 10)
    assert codes("Mr. Gu, you have to sign this contract today.", budget=30) == ["over-budget"]
    assert codes("Mr. Gu, sign it today.", budget=30) == []


def test_target_script_and_language_drift():
    th = get_locale("th-TH")
    assert "wrong-script" in codes("Mr. Gu, please sign.", "顾总，请签字。", th)
    assert validate_line("คุณกู้ เซ็นสัญญาฉบับนี้ด้วย", "顾总，请签字。", th) == []
    es = get_locale("es-MX")
    problems = validate_line("You have to sign the contract today, it is yours.", "你今天必须签合同。", es)
    assert [code_of(p) for p in problems] == ["wrong-language"]
    assert validate_line("Tienes que firmar el contrato hoy, es tuyo.", "你今天必须签合同。", es) == []


def test_severity_ranks_attempts():
    assert severity([]) < severity(["over-budget: 45 characters, budget 40"])
    assert severity(["glossary: x"]) < severity(["untranslated: Chinese characters left (合)"])
    assert severity(["untranslated: x"]) < severity(["empty: no translation"])


def test_amounts_are_read_as_values_and_checked_in_the_translation():
    from localize.stages.translate.numbers import amount_problems, source_amounts

    assert source_amounts("晓晓你哥又欠了五万块") == [50000]
    assert source_amounts("千万不要走，万一他回来呢") == []
    assert source_amounts("股份的百分之三十归你") == [30]
    assert source_amounts("他欠了两个亿，两个人都跑了") == [200_000_000]  # 个 as a measure word, then as "people"
    assert amount_problems("Your brother owes another 50,000 yuan.", "你哥又欠了五万块") == []
    assert amount_problems("He owes 50k.", "你哥又欠了五万块") == []
    assert amount_problems("Your brother owes five thousand yuan.", "你哥又欠了五万块") == [
        "amount: 50,000 must appear as a figure"]


def test_spanish_scale_words_are_read_longest_first_and_figures_follow_the_market():
    from localize.stages.translate.numbers import figure, stated_values

    assert 2_000_000_000 in stated_values("Le debe 2 mil millones de pesos.")
    assert 2_000 not in stated_values("Le debe 2 mil millones de pesos.")
    assert 3_000 in stated_values("Son 3 mil pesos.")
    assert figure(50_000, "en-US") == "50,000"
    assert figure(50_000, "es-MX") == "50,000"
    assert figure(50_000, "es-ES") == "50.000"
    assert figure(1234.5, "pt-BR") == "1.234,50"


def test_doubled_given_names_are_held_fixed_but_kinship_and_adverbs_are_not():
    from localize.stages.translate import TranslationRequest
    from localize.stages.translate.names import given_names

    assert given_names(["晚晚，别走", "晓晓，妈妈来了", "你慢慢说，谢谢"]) == {"晚晚": "Wanwan", "晓晓": "Xiaoxiao"}
    request = TranslationRequest(["晚晚，晚上好。"], EN)
    assert request.terms()["晚晚"] == "Wanwan"
    assert any(p.startswith("glossary") for p in request.check(0, "Good evening, good evening.", request.terms()))
    # A name the line acts on is held the same way: "Give me back the group!" must name Tuantuan.
    request = TranslationRequest(["把团团还给我！"], EN)
    assert any(p.startswith("glossary") for p in request.check(0, "Give me back the group!", request.terms()))
    assert not [p for p in request.check(0, "Give Tuantuan back to me!", request.terms()) if p.startswith("glossary")]


@pytest.mark.parametrize(("lines", "names"), [
    # Addressed: alone between punctuation, at the end, before a particle, or opening the line before 你.
    (["别走，安安！"], {"安安": "Anan"}),
    (["乐乐呢？"], {"乐乐": "Lele"}),
    (["晓晓你哥又欠了五万块"], {"晓晓": "Xiaoxiao"}),
    # Found once, held in every line of the episode, wherever it stands there.
    (["朵朵，过来。", "我带朵朵去医院"], {"朵朵": "Duoduo"}),
    # Doubled verbs and four-character descriptions are words, not names (they were read as
    # "Qiuqiu", "Jiujiu", "Bangbang", "Qingqing Chuchu").
    (["医生，求求你救救她！"], {}),
    (["姐，这次你一定要帮帮我。"], {}),
    (["求求你了"], {}),
    (["亲子鉴定写得清清楚楚，她不是你亲生的。"], {}),
    (["我对他念念不忘"], {}),
    (["走走走，快点！", "等等！", "我们明明说好的"], {}),
    # Standing for a person: after a word that takes one, or opening the line before 是/在.
    (["你把乐乐藏到哪儿去了？"], {"乐乐": "Lele"}),
    (["把团团还给我！"], {"团团": "Tuantuan"}),
    (["他心里只有菲菲，根本没有你。"], {"菲菲": "Feifei"}),
    (["你别碰朵朵"], {"朵朵": "Duoduo"}),
    (["安安是我的儿子，不是你的！"], {"安安": "Anan"}),
    (["妞妞醒了"], {"妞妞": "Niuniu"}),
    (["你别管，乐乐去哪了？"], {"乐乐": "Lele"}),
    # ... but not adverbs, doubled verbs, descriptions or time words in those places.
    (["她趁我睡着，偷偷把孩子抱走了。", "急得团团转", "把衣服洗洗", "你陪陪我", "冷冷的看着我",
      "明明是你先背叛我的", "天天在家", "她跟姐姐走了", "我要给他点颜色看看", "狠狠打了他一巴掌",
      "偷偷告诉你", "事事都要管", "早早就走了", "让让！", "抱抱我", "默默付出"], {}),
    # Kinship and titles said alone, as people are addressed, are not given names either.
    (["太太，您回来了", "姥姥是我最亲的人", "爹爹，我错了", "娘娘，皇上来了"], {}),
])
def test_a_doubled_syllable_is_a_name_only_where_it_addresses_or_stands_for_a_person(lines, names):
    from localize.stages.translate.names import given_names

    assert given_names(lines) == names


def test_refusals_and_run_ons_are_problems_that_get_a_retry():
    from localize.stages.translate.base import one_line

    assert any(p.startswith("refusal") for p in validate_line("I'm sorry, but I can't help with that.", "滚！", EN))
    assert any(p.startswith("refusal") for p in validate_line("Lo siento, no puedo traducir eso.", "滚！",
                                                              get_locale("es-MX")))
    assert one_line("Get out!\n(Note: this is rude)") == ("Get out!", [
        "run-on: the answer had 2 lines; give one line only"])
    assert one_line("  Get   out! ") == ("Get out!", [])


def test_numbers_spelled_in_words_are_found_with_their_values_and_a_lone_one_is_a_word():
    from localize.stages.translate.numbers import spelled_numbers

    text = "No one pays eighty-eight thousand dollars for three days."
    assert [(text[start:end], value) for start, end, value in spelled_numbers(text, "en")] == \
        [("eighty-eight thousand", 88000), ("three", 3)]
    text = "Son tres millones de pesos, ni uno menos."
    assert [(text[start:end], value) for start, end, value in spelled_numbers(text, "es")] == [("tres millones", 3_000_000)]
    assert spelled_numbers("Ini lima juta rupiah.", "id") == []  # a language text2num does not read
    assert spelled_numbers("Take it and go.", "en") == []


@pytest.mark.parametrize(("text", "wanted", "allowed", "language", "fixed"), [
    # The scale noun's "de"/"d'" goes with it when a plain figure takes its place.
    ("Cuesta tres millones de yuanes.", "300.000", {300_000}, "es", "Cuesta 300.000 yuanes."),
    ("São três milhões de reais.", "300.000", {300_000}, "pt", "São 300.000 reais."),
    ("Ça coûte trois millions d'euros.", "300 000", {300_000}, "fr", "Ça coûte 300 000 euros."),
    # Digits with a scale word are one figure, not a figure and a spelled "millones" beside it.
    ("Son 2 millones de yuanes.", "300.000", {300_000}, "es", "Son 300.000 yuanes."),
    # A figure with its own scale noun keeps the "de"; English has none to drop.
    ("Dame dos millones de pesos.", "2 millones", {2_000_000}, "es", "Dame 2 millones de pesos."),
    ("It costs three million yuan.", "300,000", {300_000}, "en", "It costs 300,000 yuan."),
])
def test_a_figure_put_in_by_rule_reads_as_the_language_writes_it(text, wanted, allowed, language, fixed):
    from localize.stages.translate.numbers import replace_figure

    assert replace_figure(text, wanted, allowed, language) == fixed
