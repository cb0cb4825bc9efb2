"""The validate-retry-fallback loop, with deliberately failing backends in front of the real Gemma."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.errors import ModelError, UsageError
from localize.locales import get_locale
from localize.stages.translate import TRANSLATORS, TranslationRequest, Translator, load_glossary, translate_lines
from localize.stages.translate.glossary import contains_term
from localize.stages.translate.validate import has_han

ROOT = Path(__file__).resolve().parents[3]
GLOSSARY = load_glossary(ROOT / "glossaries" / "ceo-romance.yaml")
EN = get_locale("en-US")
SEEN_FEEDBACK: list[dict[int, str]] = []


class Raises(Translator):
    """Crashes on every line, like a backend whose server went away mid-request."""

    name = "test-raises"

    def translate(self, request, indices, feedback):
        raise RuntimeError("connection reset")


class EchoesSource(Translator):
    """Returns the Chinese unchanged (drift into the wrong language) and remembers the feedback it got."""

    name = "test-echo"

    def translate(self, request, indices, feedback):
        SEEN_FEEDBACK.append(dict(feedback))
        return {i: request.lines[i] for i in indices}


class CrashesOnOne(Translator):
    """Fine-looking output except one line that raises; the others must not suffer."""

    name = "test-crash-one"

    def translate(self, request, indices, feedback):
        if any("炸" in request.lines[i] for i in indices):
            raise ValueError("malformed response")
        return {i: "You must sign it." for i in indices}


class CrashesOnOneInABatch(CrashesOnOne):
    """The same, taking several lines per call: the batch fails as a whole, then goes line by line."""

    name = "test-crash-one-batched"
    batch_size = 8
    calls: list[list[int]] = []

    def translate(self, request, indices, feedback):
        self.calls.append(list(indices))
        return super().translate(request, indices, feedback)


class ModelMissing(Translator):
    name = "test-model-missing"

    def translate(self, request, indices, feedback):
        raise ModelError("test model is not installed")


for _cls in (Raises, EchoesSource, CrashesOnOne, CrashesOnOneInABatch, ModelMissing):
    if _cls.name not in TRANSLATORS.names():
        TRANSLATORS.register(_cls.name)(_cls)


def request(lines, locale=EN):
    return TranslationRequest(lines=lines, locale=locale, glossary=GLOSSARY)


def test_every_line_is_kept_with_its_problems_when_all_attempts_fail():
    SEEN_FEEDBACK.clear()
    lines = ["顾总，这份合同您今天必须签。", "", "我不需要你的同情。"]
    results = translate_lines(request(lines), ["test-echo"])
    assert len(results) == 3
    assert [r.attempts for r in results] == [3, 0, 3]
    assert results[1].text == "" and results[1].problems == []  # blank source: nothing to do
    for r in (results[0], results[2]):
        assert r.backend == "test-echo"
        assert any(p.startswith("untranslated") for p in r.problems)
    # One call per line and attempt; the retries are told what went wrong.
    assert len(SEEN_FEEDBACK) == 6
    assert SEEN_FEEDBACK[:2] == [{}, {}]
    assert "untranslated" in SEEN_FEEDBACK[2][0]
    assert "untranslated" in SEEN_FEEDBACK[3][2]


def test_one_crashing_line_does_not_stop_the_others():
    lines = ["顾总，您必须签。", "炸了", "顾总，您必须签。"]
    results = translate_lines(request(lines), ["test-crash-one"])
    assert results[1].text == ""
    assert results[1].problems and results[1].problems[0].startswith("error: test-crash-one failed: ValueError")
    # The others got text; the glossary name was missing, so it went in by rule, and that is reported.
    for r in (results[0], results[2]):
        assert r.text == "Mr. Gu, you must sign it."
        assert r.attempts == 3
        assert any(p.startswith("glossary-forced") for p in r.problems)


def test_a_batch_that_crashes_on_one_line_is_retried_line_by_line():
    lines = ["顾总，您必须签。", "炸了", "顾总，您必须签。"]
    CrashesOnOneInABatch.calls.clear()
    results = translate_lines(request(lines), ["test-crash-one-batched"])
    assert CrashesOnOneInABatch.calls[:4] == [[0, 1, 2], [0], [1], [2]]
    assert results[1].text == "" and results[1].problems[0].startswith("error: test-crash-one-batched failed")
    assert results[0].text == results[2].text == "Mr. Gu, you must sign it."


def test_unusable_backends_raise_only_when_nothing_ran():
    with pytest.raises(ModelError, match="not installed"):
        translate_lines(request(["我不需要你的同情。"]), ["test-model-missing"])
    with pytest.raises(UsageError, match="unknown translation backend"):
        translate_lines(request(["我不需要你的同情。"]), ["no-such-backend"])
    # A blank episode needs no backend at all.
    assert translate_lines(request(["", " "]), ["test-model-missing"])[0].text == ""


def test_falls_back_to_gemma_after_a_failing_backend():
    lines = ["顾总，夫人她出车祸了！", "林晓，你被开除了。"]
    results = translate_lines(request(lines), ["test-raises", "test-model-missing", "gemma"])
    for source, r in zip(lines, results):
        assert r.backend == "gemma"
        assert r.attempts >= 4  # three crashes, then gemma
        assert r.text and not has_han(r.text)
    assert contains_term(results[0].text, "Mr. Gu")
    assert contains_term(results[1].text, "Lin Xiao")


class RunsOnThenAnswers(Translator):
    """Answers with a note on a second line first, then one line once told; reports a confidence per line."""

    name = "test-run-on"
    low_confidence = -1.0

    def __init__(self):
        self.told: list[str] = []

    def translate(self, request, indices, feedback):
        self.told += [feedback[i] for i in indices if i in feedback]
        if any(i in feedback for i in indices):
            return {i: "Get out!" for i in indices}
        return {i: "Get out!\n(Note: a rude way to say leave.)" for i in indices}

    def confidence(self, index):
        return -2.5 if index == 0 else -0.2


def test_a_run_on_answer_is_retried_with_the_failure_stated_and_doubtful_lines_are_flagged():
    TRANSLATORS.register("test-run-on")(RunsOnThenAnswers) if "test-run-on" not in TRANSLATORS.names() else None
    results = translate_lines(request(["滚！", "滚出去！"]), ["test-run-on"])
    assert [r.text for r in results] == ["Get out!", "Get out!"]
    assert [r.attempts for r in results] == [2, 2]
    assert [r.confidence for r in results] == [-2.5, -0.2]
    assert any(p.startswith("low-confidence") for p in results[0].problems)
    assert not results[1].problems


class MisreadsFigures(Translator):
    """Always writes the amount a hundred times too small, as the 1.5B model did for 两百万."""

    name = "test-misreads-figures"

    def translate(self, request, indices, feedback):
        answers = {"这是两百万块的支票，拿着滚。": "This is a 20,000 yuan check. Take it and go.",
                   "三年了，我给你五万块。": "After 3 years, I give you 500 yuan.",
                   # Spelled out, in the target's words (Gemma wrote "eight thousand" for 八千八).
                   "一顿饭八千八百块，三个人吃的。": {"en": "Eight thousand for a meal for three.",
                                         "es": "Ocho mil por una comida para tres."},
                   "五万块，离开我儿子。": "Take the money. Leave my son.",
                   "一百万，五万块，都给你。": "100 yuan and 5 yuan, all yours."}
        out = {i: answers[request.lines[i]] for i in indices}
        return {i: text if isinstance(text, str) else text[request.locale.language] for i, text in out.items()}


if MisreadsFigures.name not in TRANSLATORS.names():
    TRANSLATORS.register(MisreadsFigures.name)(MisreadsFigures)


@pytest.mark.parametrize("locale", ["en-US", "es-MX"])
def test_a_wrong_figure_is_put_right_by_rule_only_when_it_is_clear_which_one(locale):
    lines = ["这是两百万块的支票，拿着滚。", "三年了，我给你五万块。", "一顿饭八千八百块，三个人吃的。", "五万块，离开我儿子。",
             "一百万，五万块，都给你。"]
    out = translate_lines(request(lines, get_locale(locale)), backends=["test-misreads-figures"])
    # The market's figure: yuan kept in en-US, converted at 2.5 to pesos in es-MX.
    first, second, third = ("2,000,000", "50,000", "8,800") if locale == "en-US" else ("5,000,000", "125,000", "22,000")
    assert out[0].text == f"This is a {first} yuan check. Take it and go."
    assert out[1].text == f"After 3 years, I give you {second} yuan."  # the 3 of 三年 is not the wrong figure
    # A figure in words is read (text2num) and put right; "three" is a number the line says (三个人).
    assert out[2].text == (f"{third} for a meal for three." if locale == "en-US" else
                           f"{third} por una comida para tres.")
    for fixed, figure in zip(out[:3], (first, second, third)):
        assert f"amount-fixed: the figure was put in by rule as {figure}" in fixed.problems
        assert not [p for p in fixed.problems if p.startswith(("amount:", "currency:"))]
    # No figure written at all, or two wrong ones: which is which is a person's call, so it stays flagged.
    for doubtful in out[3:]:
        assert doubtful.text in ("Take the money. Leave my son.", "100 yuan and 5 yuan, all yours.")
        assert any(p.startswith(("amount:", "currency:")) for p in doubtful.problems)

class NamesLocalMoney(Translator):
    """Writes kept yuan amounts in dollars, as Gemma and the 1.5B model both did (bench outputs)."""

    name = "test-names-local-money"

    def translate(self, request, indices, feedback):
        answers = {"违约金三个亿，你赔得起吗？": "Can you pay the $300 million fine?",
                   "这块表值八十八万，你赔得起吗？": "This is an 880,000-dollar watch. Can you pay for it?",
                   "这是两百万的支票，拿着它滚。": "This is two million dollars. Take it and go.",
                   "给你一块钱。": "Here's a dollar."}
        return {i: answers[request.lines[i]] for i in indices}


if NamesLocalMoney.name not in TRANSLATORS.names():
    TRANSLATORS.register(NamesLocalMoney.name)(NamesLocalMoney)


def test_kept_yuan_amounts_given_in_the_markets_own_money_are_put_back_in_yuan():
    lines = ["违约金三个亿，你赔得起吗？", "这块表值八十八万，你赔得起吗？", "这是两百万的支票，拿着它滚。", "给你一块钱。"]
    out = translate_lines(request(lines), backends=["test-names-local-money"])
    assert [line.text for line in out] == ["Can you pay the 300 million yuan fine?",
                                           "This is an 880,000-yuan watch. Can you pay for it?",
                                           "This is 2,000,000 yuan. Take it and go.",
                                           "Here's a dollar."]  # a coin, not an amount: left as said
    for line in out[:3]:
        assert "currency-fixed: the amount was put back in yuan by rule" in line.problems
        assert not [p for p in line.problems if p.startswith(("amount:", "currency:"))], line.problems
    assert "amount-fixed: the figure was put in by rule as 2,000,000" in out[2].problems
    assert out[0].attempts == 3  # the currency problem was stated to the backend first
