"""Translation memory per series: reuse, human edits from an SRT or a JSON report win on later runs."""

from __future__ import annotations

import json

import pytest

from localize.errors import InputError
from localize.locales import get_locale
from localize.stages.translate import TRANSLATORS, TranslationRequest, Translator, translate_lines
from localize.stages.translate.memory import TranslationMemory, import_edits

CALLS: list[int] = []


class Counting(Translator):
    name = "test-counting"

    def translate(self, request, indices, feedback):
        CALLS.extend(indices)
        return {i: f"Machine line {i + 1}." for i in indices}


if Counting.name not in TRANSLATORS.names():
    TRANSLATORS.register(Counting.name)(Counting)

EN = get_locale("en-US")
LINES = ["你被开除了。", "我不需要你的同情。", "你 被开除了。"]


def _translate(memory):
    CALLS.clear()
    return translate_lines(TranslationRequest(LINES, EN, use_market=False), [Counting.name], memory=memory,
                           episode="ep01")


def test_repeated_lines_reuse_memory_and_persist(tmp_path):
    path = tmp_path / "ceo-romance.tm.json"
    memory = TranslationMemory(path)
    _translate(memory)
    assert len(CALLS) == 3 and len(memory) == 2  # "你 被开除了。" is the same line once spaces go
    memory.save()
    again = _translate(TranslationMemory(path))
    assert CALLS == [] and [r.backend for r in again] == ["memory:machine"] * 3
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1


def test_human_edit_from_srt_wins_on_later_runs(tmp_path):
    memory = TranslationMemory(tmp_path / "tm.json")
    first = _translate(memory)
    edited = tmp_path / "ep01.en-US.srt"
    edited.write_text("1\n00:00:01,000 --> 00:00:02,000\nYou're fired!\n\n"
                      f"2\n00:00:02,000 --> 00:00:03,000\n{first[1].text}\n\n"
                      f"3\n00:00:03,000 --> 00:00:04,000\n{first[2].text}\n\n", encoding="utf-8")
    assert import_edits(edited, memory, "en-US", sources=LINES, episode="ep01") >= 1
    memory.save()
    memory = TranslationMemory(tmp_path / "tm.json")
    results = _translate(memory)
    assert results[0].text == "You're fired!" and results[0].backend == "memory:human"
    # A later machine result never replaces the human edit.
    assert not memory.put("en-US", LINES[0], "Machine again.")
    assert memory.get("en-US", LINES[0]).text == "You're fired!"


def test_human_edit_from_json_report(tmp_path):
    memory = TranslationMemory(tmp_path / "tm.json")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"segments": [{"source_text": LINES[1], "text": "I don't need your pity."}]}),
                      encoding="utf-8")
    assert import_edits(report, memory, "en-US") == 1
    assert _translate(memory)[1].text == "I don't need your pity."


def test_bad_edit_files_are_input_errors(tmp_path):
    memory = TranslationMemory(None)
    with pytest.raises(InputError):
        import_edits(tmp_path / "missing.srt", memory, "en-US", sources=LINES)
    srt = tmp_path / "x.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nHi\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="1 events but 3"):
        import_edits(srt, memory, "en-US", sources=LINES)


def test_translate_command_uses_and_keeps_the_series_memory(tmp_path):
    """`localize translate --memory`: reuse, then a human edit given with --edited wins on the next run."""
    import pysubs2
    from click.testing import CliRunner

    from localize.cli import cli

    src, out, tm = tmp_path / "ep01.zh.srt", tmp_path / "ep01.en-US.srt", tmp_path / "series.tm.json"
    subs = pysubs2.SSAFile()
    for k, line in enumerate(LINES[:2]):
        subs.append(pysubs2.SSAEvent(start=2000 * k, end=2000 * k + 1500, text=line))
    subs.save(str(src), encoding="utf-8")
    runner = CliRunner()
    args = ["translate", str(src), "--to", "en-US", "--out", str(out), "--translator", Counting.name,
            "--memory", str(tm)]
    assert "--memory" in runner.invoke(cli, ["translate", "--help"]).output
    CALLS.clear()
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert len(CALLS) == 2 and len(TranslationMemory(tm)) == 2
    edited = pysubs2.load(str(out), encoding="utf-8")
    edited[0].plaintext = "You're fired!"
    edited.save(str(tmp_path / "edited.srt"), encoding="utf-8")
    CALLS.clear()
    again = runner.invoke(cli, [*args, "--edited", str(tmp_path / "edited.srt")])
    assert again.exit_code == 0, again.output
    assert CALLS == []  # both lines came from the memory
    assert [e.plaintext for e in pysubs2.load(str(out), encoding="utf-8")] == ["You're fired!", "Machine line 2."]
    assert TranslationMemory(tm).get("en-US", LINES[0]).origin == "human"
    bad = runner.invoke(cli, ["translate", str(src), "--to", "en-US", "--out", str(out), "--edited", str(out)])
    assert bad.exit_code != 0
