"""Isochrony: lines over their length budget are retried shorter, then condensed by rule."""

from __future__ import annotations

from localize.locales import get_locale
from localize.translate import TRANSLATORS, TranslationRequest, Translator, translate_lines
from localize.translate.condense import condense

FEEDBACK: list[dict[int, str]] = []


class Wordy(Translator):
    """Always too long, with fillers a rule can remove; remembers what it was told."""

    name = "test-wordy"

    def translate(self, request, indices, feedback):
        FEEDBACK.append(dict(feedback))
        return {i: "Lin Xiao, well, I really just do not want to see you again (sighs)." for i in indices}


if Wordy.name not in TRANSLATORS.names():
    TRANSLATORS.register(Wordy.name)(Wordy)


def test_condense_removes_fillers_parentheticals_and_keeps_glossary_terms():
    text = "Mr. Gu, well, you are actually late (sighs)."
    out = condense(text, 20, "en", keep=["Mr. Gu"])
    assert out.text == "Mr. Gu, you're late." and "parenthetical" in out.steps
    assert condense(text, 200, "en").text == text  # within budget: untouched


def test_condense_never_drops_meaningful_openers():
    assert condense("No, I will not go.", 5, "en").text.startswith("No,")
    assert condense("If you go, I will die.", 5, "en").text.startswith("If you go,")


def test_condense_drops_a_non_glossary_vocative_only():
    assert condense("Xiaoyu, I do not want to see you.", 25, "en").text == "I don't wanna see you."
    assert condense("Mr. Gu, I do not want to see you.", 25, "en", keep=["Mr. Gu"]).text.startswith("Mr. Gu,")


def test_over_budget_line_is_retried_shorter_then_condensed():
    FEEDBACK.clear()
    results = translate_lines(TranslationRequest(["林晓，我真的不想再见到你。"], get_locale("en-US"),
                                                 budgets_chars=[40], use_market=False), [Wordy.name])
    assert any("say it shorter, in at most 40 characters" in fb.get(0, "") for fb in FEEDBACK)
    r = results[0]
    assert len(r.text) <= 40, r.text
    assert "see you again" in r.text
    assert any(p.startswith("condensed:") for p in r.problems)
    assert not any(p.startswith("over-budget") for p in r.problems)


def test_condense_keeps_openers_the_source_does_not_address_and_drops_a_restatement_last():
    assert condense("Three years, you finally came back.", 25, "en", source="三年了，你终于回来了。").steps == []
    out = condense("She is a fake innocent schemer. She is pretending to be innocent.", 40, "en")
    assert out.text == "She's a fake innocent schemer." and out.steps[-1] == "dropped-last-sentence"
    assert condense("Go. Now!", 3, "en").text.startswith("Go.")  # never below what it must say
