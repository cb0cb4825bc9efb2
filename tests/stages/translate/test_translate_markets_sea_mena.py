"""Market rules for Thailand, Saudi Arabia (Modern Standard Arabic) and Vietnam: currency, an honorific,
an idiom, formality and content, through the same checks the pipeline runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.locales import get_locale
from localize.stages.translate import TranslationRequest
from localize.stages.translate.markets import load_market

MARKETS = Path(__file__).resolve().parents[3] / "glossaries" / "markets"
LINE_MONEY = "五万块，离开我儿子。"


@pytest.fixture(scope="module")
def th():
    return load_market("th-TH", MARKETS)


@pytest.fixture(scope="module")
def ar():
    return load_market("ar-SA", MARKETS)


@pytest.fixture(scope="module")
def vi():
    return load_market("vi-VN", MARKETS)


def test_currency_per_market(th, ar, vi):
    # Thai keeps the yuan under its Thai name, Vietnamese as "tệ" with dot grouping, Saudi converts to riyals.
    assert th.prepare(LINE_MONEY) == "50,000 หยวน，离开我儿子。"
    assert vi.prepare(LINE_MONEY) == "50.000 tệ，离开我儿子。"
    assert ar.prepare(LINE_MONEY) == "26,000 ريال，离开我儿子。"  # 50,000 x 0.52, two significant figures
    assert any(p.startswith("currency:") for p in ar.check("خمسون ألف يوان، اترك ابني.", LINE_MONEY))
    assert not ar.check("خذ 26,000 ريال واترك ابني.", LINE_MONEY)


def test_honorifics_use_the_markets_script_and_reading():
    lines = ["顾总，合同签好了。", "陈小姐，请坐。"]
    assert TranslationRequest(lines, get_locale("th-TH")).terms()["陈小姐"] == "คุณเฉิน"
    assert TranslationRequest(lines, get_locale("ar-SA")).terms()["陈小姐"] == "الآنسة تشن"
    # Vietnamese reads Chinese names in Sino-Vietnamese: 陈 is Trần, and a CEO is "X tổng".
    vi_terms = TranslationRequest(lines + ["王总来了。"], get_locale("vi-VN")).terms()
    assert vi_terms["陈小姐"] == "cô Trần" and vi_terms["王总"] == "Vương tổng"
    # The series glossary's own rendering wins over the market pattern.
    from localize.stages.translate import load_glossary

    glossary = load_glossary(MARKETS.parent / "ceo-romance.yaml")
    assert TranslationRequest(["顾总"], get_locale("ar-SA"), glossary).terms()["顾总"] == "السيد قو"
    assert TranslationRequest(["阿姨"], get_locale("th-TH")).terms()["阿姨"] == "คุณป้า"


def test_idioms_reach_the_model_and_literal_renderings_are_caught(th, ar, vi):
    line = "她就是个绿茶，别再给我画饼了。"
    assert TranslationRequest([line], get_locale("th-TH")).source(0) == "她就是个สาวแอ๊บใส，别再给我สัญญาลมๆ แล้งๆ了。"
    # Thai: "ชาเขียว" (green tea) is found as words inside unspaced Thai text.
    assert any(p.startswith("idiom: 绿茶") for p in th.check("เธอมันชาเขียวชัดๆ", line))
    assert any(p.startswith("idiom: 绿茶") for p in ar.check("إنها مجرد شاي أخضر.", line))
    assert not ar.check("إنها متصنعة البراءة، كفى وعودا فارغة.", line)
    # Vietnamese knows 绿茶 as borrowed slang ("trà xanh"), but a drawn cake is still literal.
    assert not vi.check("Cô ta đúng là trà xanh, đừng hứa suông với tôi nữa.", line)
    assert any(p.startswith("idiom: 画饼") for p in vi.check("Cô ta là trà xanh, đừng vẽ bánh cho tôi.", line))


def test_formality_follows_the_source_register(th, ar, vi):
    formal, peer = "您今天必须签。", "你今天必须签。"
    assert any(p.startswith("formality") for p in th.check("มึงต้องเซ็นวันนี้", formal))
    assert not th.check("คุณต้องเซ็นวันนี้ครับ", formal)
    # Word boundaries, not substrings: แก้ (fix) is not the rude แก (you).
    assert not th.check("ท่านต้องแก้สัญญาก่อนเซ็นครับ", formal)
    assert not th.check("มึงต้องเซ็นวันนี้", peer)  # between equals the rude pair is allowed
    assert any(p.startswith("formality") for p in vi.check("Mày phải ký hôm nay.", formal))
    assert not vi.check("Ngài phải ký hôm nay ạ.", formal)
    assert any(p.startswith("formality") for p in ar.check("ليش ما وقعت اليوم؟", formal))
    assert not ar.check("سيدي، يجب أن توقع اليوم.", formal)


def test_content_policy_names_its_source_and_bans_words(th, ar, vi):
    assert "Film and Video Act" in th.content_note
    assert "GCAM" in ar.content_note
    assert "Law on Cinema" in vi.content_note
    assert any(p.startswith("content") for p in th.check("ไอ้เหี้ย ออกไป", "你给我滚！"))
    assert not th.check("ไอ้คนเลว ออกไป", "你给我滚！")
    assert any(p.startswith("content") for p in ar.check("اخرجي يا شرموطة!", "你给我滚！"))
    assert any(p.startswith("content") for p in vi.check("Cút đi, đéo ai cần mày!", "你给我滚！"))


def test_brief_states_the_register_and_the_names_policy(ar, vi):
    assert "MSA" in ar.brief() and "own script" in ar.brief()
    assert "Slang:" in vi.brief() and "tổng tài bá đạo" in vi.brief()
