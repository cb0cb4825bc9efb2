"""The naturalness stage: DNSMOS of every dubbed line and the speaking rate, through the runner."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from localize.audio import write_wav
from localize.locales import get_locale, speech_length
from localize.stages.contract import Graph, Runner
from localize.stages.naturalness import LineSound, summarize
from localize.stages.naturalness.stage import STAGE
from localize.stages.synthesize import VOICES, Voice
from localize.workdir import WorkDir


@dataclass(frozen=True)
class Options:
    naturalness: bool = True


def _dub(work: WorkDir, texts: list[str], locale) -> dict:
    espeak = VOICES.create("espeak")
    lines = []
    for index, text in enumerate(texts):
        speech = espeak.synthesize(text, Voice("espeak", "m3", "male"), locale)
        clip = work.path(f"dub/{index}.wav")
        clip.parent.mkdir(exist_ok=True)
        write_wav(clip, speech.samples, speech.rate)
        lines.append({"id": index, "clip": str(clip.relative_to(work.root)),
                      "duration_ms": len(speech.samples) * 1000 // speech.rate})
    return {"lines": lines}


def _run(work: WorkDir, dub: dict, texts: list[str], locale, options=Options()) -> dict:
    runner = Runner(work, options, Path("episode.mp4"))
    runner.give("dub", dub, f"dub-{[line['clip'] for line in dub['lines']]}")
    runner.give("translations", [{"text": t} for t in texts], f"tr-{texts}")
    return runner.run(Graph("market", (STAGE,), given=("dub", "translations")), locale=locale)["naturalness"]


def test_every_line_is_scored_and_the_episode_gets_a_weighted_score_and_its_rate(tmp_path):
    locale = get_locale("th-TH")
    texts = ["คุณกู้ครับ วันนี้คุณต้องเซ็นสัญญาฉบับนี้นะครับ", "ขอโทษ ฉันผิดเอง"]
    work = WorkDir(tmp_path)
    dub = _dub(work, texts, locale)
    result = _run(work, dub, texts, locale)
    lines, episode = result["lines"], result["episode"]
    assert [line["id"] for line in lines] == [0, 1]
    for line in lines:
        assert 1.0 <= line["dnsmos"]["overall"] <= 5.0 and set(line["dnsmos"]) == {"overall", "signal",
                                                                                    "background", "p808"}
    seconds = [d["duration_ms"] / 1000 for d in dub["lines"]]
    # Length-weighted: between the two lines' scores, nearer the longer line's.
    low, high = sorted(line["dnsmos"]["overall"] for line in lines)
    assert low <= episode["dnsmos"]["overall"] <= high
    expected_rate = sum(speech_length(t) for t in texts) / sum(seconds)
    assert abs(episode["speaking_rate_chars_per_second"] - expected_rate) < 0.05
    assert episode["budget_chars_per_second"] == locale.chars_per_second and episode["lines_scored"] == 2
    # A second run of the stage with a changed line scores that line alone; the other comes from the cache.
    work.records.clear()
    changed = [texts[0], "ลูกเป็นของคุณ"]
    _run(work, _dub(work, changed, locale), changed, locale)
    record = work.records[-1]
    assert not record.cached and (record.units_made, record.units_cached) == (1, 1)


def test_scoring_can_be_turned_off(tmp_path):
    work = WorkDir(tmp_path)
    locale = get_locale("en-US")
    assert _run(work, _dub(work, ["Hello."], locale), ["Hello."], locale, Options(naturalness=False)) == \
        {"skipped": True}


def test_summary_weights_lines_by_length_and_skips_unrated_ones():
    rate = 16000
    lines = [LineSound(0, "abcd", np.ones(3 * rate, np.float32), rate),
             LineSound(1, "ab", np.ones(rate, np.float32), rate),
             LineSound(2, "", np.zeros(10, np.float32), rate),
             LineSound(3, "...", np.zeros(1, np.float32), rate)]  # left unvoiced: a silent stub
    scores = [dict(overall=3.0, signal=3.0, background=4.0, p808=3.0),
              dict(overall=2.0, signal=2.0, background=4.0, p808=3.0), None, None]
    summary = summarize(lines, scores, get_locale("en-US"))
    assert summary["dnsmos"]["overall"] == 2.75 and summary["lines_scored"] == 2
    assert summary["speaking_rate_chars_per_second"] == 1.5  # 6 characters in 4 s


def test_speaking_rate_counts_characters_as_the_budgets_do():
    # Thai vowel and tone marks are code points of their own and count; a Vietnamese letter with
    # stacked marks counts once whether it arrives composed or decomposed; space runs count once.
    assert speech_length("ก้าว") == len("ก้าว") == 4
    decomposed = unicodedata.normalize("NFD", "Cố tổng")
    assert len(decomposed) > 7 and speech_length(decomposed) == speech_length("Cố tổng") == 7
    assert speech_length("a   b") == 3
