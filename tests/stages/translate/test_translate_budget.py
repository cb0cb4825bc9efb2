"""Isochrony: budgets from timings; over-budget lines are condensed by rule, then retried shorter once."""

from __future__ import annotations

import pytest

from localize.locales import get_locale
from localize.stages.translate import TRANSLATORS, TranslationRequest, Translator, translate_lines
from localize.stages.translate.base import MAX_SHORTEN_RETRIES
from localize.stages.translate.budget import MAX_BORROW_MS, MIN_BUDGET_CHARS, line_budgets, slot_ms
from localize.stages.translate.condense import condense

FEEDBACK: list[dict[int, str]] = []


def registered(cls):
    """Register a test backend under its ``name`` (once, however often the module is imported)."""
    if cls.name not in TRANSLATORS.names():
        TRANSLATORS.register(cls.name)(cls)
    return cls


@registered
class Wordy(Translator):
    """Always too long, with fillers a rule can remove; remembers what it was told."""

    name = "test-wordy"

    def translate(self, request, indices, feedback):
        FEEDBACK.append(dict(feedback))
        return {i: "Lin Xiao, well, I really just do not want to see you again (sighs)." for i in indices}


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


def test_over_budget_line_is_condensed_by_rule_without_a_model_retry():
    FEEDBACK.clear()
    results = translate_lines(TranslationRequest(["林晓，我真的不想再见到你。"], get_locale("en-US"),
                                                 budgets_chars=[40], use_market=False), [Wordy.name])
    assert FEEDBACK == [{}]  # one model call: the rules made it fit, so no retry was spent
    r = results[0]
    assert len(r.text) <= 40, r.text
    assert "see you again" in r.text and r.attempts == 1
    assert any(p.startswith("condensed:") for p in r.problems)
    assert not any(p.startswith("over-budget") for p in r.problems)


@registered
class Stubborn(Translator):
    """Too long, with nothing a rule may remove; counts its calls."""

    name = "test-stubborn"

    def translate(self, request, indices, feedback):
        FEEDBACK.append(dict(feedback))
        return {i: "Working people's lives are also lives worth living!" for i in indices}


def test_line_still_over_budget_gets_one_shorter_retry_then_is_reported_whole():
    FEEDBACK.clear()
    results = translate_lines(TranslationRequest(["打工人的命也是命！"], get_locale("en-US"), budgets_chars=[30],
                                                 use_market=False), [Stubborn.name], max_attempts=3)
    assert len(FEEDBACK) == 1 + MAX_SHORTEN_RETRIES  # not max_attempts: a re-roll rarely fixes length
    assert "say it shorter, in at most 30 characters" in FEEDBACK[1][0]
    r = results[0]
    assert r.text == "Working people's lives are also lives worth living!"  # reported, never cut mid-word
    assert [p for p in r.problems if p.startswith("over-budget")] == ["over-budget: 51 characters, budget 30"]


@registered
class Shrinking(Translator):
    """Too long every time, but less so on each retry: the kept line must be the one that overruns least."""

    name = "test-shrinking"
    answers = ["Working people's lives are also lives truly worth living!",
               "Working people's lives are worth living too!"]

    def translate(self, request, indices, feedback):
        FEEDBACK.append(dict(feedback))
        return {i: self.answers[min(len(FEEDBACK), len(self.answers)) - 1] for i in indices}


def test_of_candidates_all_over_budget_the_least_over_is_kept():
    FEEDBACK.clear()
    results = translate_lines(TranslationRequest(["打工人的命也是命！"], get_locale("en-US"), budgets_chars=[30],
                                                 use_market=False), [Shrinking.name], max_attempts=3)
    assert len(FEEDBACK) == 2
    assert results[0].text == Shrinking.answers[1]
    assert results[0].problems == [f"over-budget: {len(Shrinking.answers[1])} characters, budget 30"]


def test_condense_keeps_now_in_from_now_on():
    assert condense("From now on, you are the young madam of the Gu family.", 51, "en").text == (
        "From now on, you're the young madam of the Gu family.")


def test_condense_uses_shorter_words_and_spoken_questions_but_keeps_glossary_terms():
    out = condense("Do you think your mother will give you the information immediately?", 47, "en")
    assert out.text == "You think your mom will give you the info now?", out
    assert condense("I do not need your sympathy.", 24, "en").text == "I don't need your pity."
    kept = condense("Mother Gu, I do not need your sympathy.", 20, "en", keep=["Mother Gu"])
    assert kept.text.startswith("Mother Gu,") and "pity" in kept.text
    assert condense("Do you know him.", 5, "en").text == "Do you know him."  # not a question: left alone
    # After an opening address too, and the address stays.
    assert condense("Su Wan, do you think Gu Chen will believe you?", 45, "en").text == (
        "Su Wan, you think Gu Chen will believe you?")


def test_have_contracts_only_as_an_auxiliary():
    assert condense("I have never loved you. We have lost.", 34, "en").text == "I've never loved you. We've lost."
    # Possession and questions keep their "have": "I've a car", "do we've a deal?" are not American speech.
    assert condense("I have a car.", 10, "en").text == "I have a car."
    assert condense("Mr. Gu, do we have a deal?", 24, "en").text == "Mr. Gu, we have a deal?"


def test_budget_slot_borrows_the_following_silence_capped_and_keeps_a_gap():
    assert slot_ms(1000, 2000, None) == 1000  # nothing after it: the duration only
    assert slot_ms(1000, 2000, 2100) == 1000  # the next line starts within the gap
    assert slot_ms(1000, 2000, 2450) == 1300  # 450 ms silence less the 150 ms gap
    assert slot_ms(1000, 2000, 9000) == 1000 + MAX_BORROW_MS
    assert slot_ms(1000, 2000, 1500) == 1000  # overlapping speech never shortens the slot
    en = get_locale("en-US")
    assert line_budgets([(0, 2000), (2300, 2800)], en, media_end_ms=10_000) == [
        int(2.15 * en.chars_per_second), int(1.0 * en.chars_per_second)]
    assert line_budgets([(0, 200)], en) == [MIN_BUDGET_CHARS]


def test_srt_events_get_budgets_from_their_timings(tmp_path):
    import pysubs2

    from localize.stages.translate import load_glossary, translate_srt

    seen.clear()
    subs = pysubs2.SSAFile()
    for start, end, text in [(0, 1000, "林晓，你被开除了。"), (1200, 3000, "我不需要你的同情。")]:
        subs.append(pysubs2.SSAEvent(start=start, end=end, text=text))
    subs.save(str(tmp_path / "a.srt"), encoding="utf-8")
    translate_srt(tmp_path / "a.srt", tmp_path / "b.srt", get_locale("en-US"), load_glossary(None), [Peek.name])
    cps = get_locale("en-US").chars_per_second
    assert seen and all(b == [int(1.05 * cps), int(1.8 * cps)] for b in seen)  # one call per line


seen: list[list[int] | None] = []


@registered
class Peek(Translator):
    """Records the budgets it was given."""

    name = "test-peek"

    def translate(self, request, indices, feedback):
        seen.append(request.budgets_chars)
        return {i: "OK." for i in indices}


@pytest.mark.slow
def test_kokoro_english_rate_matches_the_locale_budget_rate():
    """The en-US budget rate is measured: Kokoro at speed 1.0 must speak at least that many characters a second."""
    from localize.stages.synthesize.kokoro import CAST, KokoroBackend

    en = get_locale("en-US")
    sentences = ["Mr. Gu, you have to sign this contract today.", "Fifty thousand yuan. Leave my son.",
                 "I've already signed the divorce agreement.", "Mom, why don't you believe me?",
                 "It's been three years. You're finally back."]
    backend = KokoroBackend()
    spoken = sum(backend.synthesize(s, CAST[0], en, speed=1.0).duration_ms for s in sentences) / 1000
    rate = sum(len(s) for s in sentences) / spoken
    # Measured 16.5 chars/s over the 48-line eval set (jm_kumo); these five give the same within 10%.
    assert en.chars_per_second * 0.9 <= rate <= en.chars_per_second * 1.25, rate


def test_condense_keeps_openers_the_source_does_not_address_and_drops_a_restatement_last():
    assert condense("Three years, you finally came back.", 25, "en", source="三年了，你终于回来了。").steps == []
    out = condense("She is a fake innocent schemer. She is pretending to be innocent.", 40, "en")
    assert out.text == "She's a fake innocent schemer." and out.steps[-1] == "dropped-last-sentence"
    assert condense("Go. Now!", 3, "en").text.startswith("Go.")  # never below what it must say
