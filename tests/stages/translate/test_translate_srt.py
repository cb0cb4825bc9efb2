"""Subtitle files in, subtitle files out: one event per event, same timings."""

from __future__ import annotations

from pathlib import Path

import pysubs2
import pytest

from localize.errors import InputError, UsageError
from localize.fsutil import file_digest
from localize.locales import get_locale
from localize.stages.translate import load_glossary, translate_srt
from localize.stages.translate.glossary import contains_term
from localize.stages.translate.validate import has_han

ROOT = Path(__file__).resolve().parents[3]
GLOSSARY = load_glossary(ROOT / "glossaries" / "ceo-romance.yaml")
EVENTS = [(0, 1800, "顾总，这份合同\\N您今天必须签。"), (2000, 3100, "林晓，你被开除了。"), (3500, 5250, ""),
          (5400, 7000, "我不需要你的同情。")]


def write_zh_srt(path: Path) -> None:
    subs = pysubs2.SSAFile()
    for start, end, text in EVENTS:
        subs.append(pysubs2.SSAEvent(start=start, end=end, text=text))
    subs.save(str(path), encoding="utf-8")


def test_translate_srt_keeps_events_and_timings(tmp_path):
    src, dst = tmp_path / "ep01.zh.srt", tmp_path / "out" / "ep01.en-US.srt"
    write_zh_srt(src)
    before = file_digest(src)
    count = translate_srt(src, dst, get_locale("en-US"), GLOSSARY)
    assert count == len(EVENTS)
    assert file_digest(src) == before  # the input is never touched
    out = pysubs2.load(str(dst), encoding="utf-8")
    assert [(e.start, e.end) for e in out] == [(s, e) for s, e, _ in EVENTS]
    texts = [e.plaintext for e in out]
    assert texts[2] == ""
    assert all(t.strip() and not has_han(t) for i, t in enumerate(texts) if i != 2)
    assert contains_term(texts[0], "Mr. Gu")  # the two display lines were translated as one sentence
    assert contains_term(texts[1], "Lin Xiao")
    assert not [p for p in dst.parent.iterdir() if p.name.startswith(".")]  # no temp file left


def test_translate_srt_refuses_bad_paths(tmp_path):
    src = tmp_path / "a.srt"
    write_zh_srt(src)
    with pytest.raises(UsageError, match="overwrite"):
        translate_srt(src, src, get_locale("en-US"), GLOSSARY)
    with pytest.raises(InputError, match="not found"):
        translate_srt(tmp_path / "missing.srt", tmp_path / "b.srt", get_locale("en-US"), GLOSSARY)
    junk = tmp_path / "junk.srt"
    junk.write_bytes(b"\xff\xfe\x00garbage\x00")
    with pytest.raises(InputError):
        translate_srt(junk, tmp_path / "c.srt", get_locale("en-US"), GLOSSARY)


def test_close_frees_the_model():
    from localize.stages.translate import TRANSLATORS
    from localize.stages.translate.gemma import _load

    backend = TRANSLATORS.create("gemma")
    backend.close()
    assert _load.cache_info().currsize == 0
