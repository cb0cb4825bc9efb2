"""End to end into the Southeast Asian and Middle Eastern markets (``-m slow``): a generated sample
episode localized into Thai and Arabic, its subtitles checked against each script's line rules, its
report carrying the dub's DNSMOS and speaking rate."""

from __future__ import annotations

import json
import re

import pytest

from localize.locales import get_locale
from localize.stages.subtitles.scripts import line_problems
from localize.stages.translate.validate import has_han

SCRIPT_LETTERS = {"th-TH": re.compile(r"[\u0e01-\u0e5b]"), "ar-SA": re.compile(r"[\u0621-\u064a]")}


@pytest.mark.slow
def test_sample_localized_into_thai_and_arabic(short_episode, series_glossary, localize_cli, tmp_path):
    import pysubs2

    out = tmp_path / "out"
    localize_cli(short_episode.video, "--to", "th-TH", "--to", "ar-SA", "--out", out, "--work-dir", tmp_path / "work",
                 "--glossary", series_glossary)
    for tag in ("th-TH", "ar-SA"):
        locale = get_locale(tag)
        report = json.loads((out / f"{short_episode.video.stem}.{tag}.json").read_text(encoding="utf-8"))
        segments = report["segments"]
        assert segments and all(not has_han(s["text"]) and SCRIPT_LETTERS[tag].search(s["text"]) for s in segments)
        # Every cue of the delivered subtitles passes the script's rules (Thai broken only between
        # words, Arabic laid out right to left, the script's line length).
        events = pysubs2.load(report["outputs"]["srt"], encoding="utf-8")
        assert len(events) >= len(segments) // 2
        for event in events:
            lines = event.text.split("\\N")
            assert line_problems(lines, locale) == [], (tag, lines)
        # The dub's naturalness and speaking rate, per line and for the episode.
        heard = report["naturalness"]
        assert 1.0 <= heard["dnsmos"]["overall"] <= 5.0 and heard["lines_scored"] == len(segments)
        assert 3.0 < heard["speaking_rate_chars_per_second"] < 40.0
        assert heard["budget_chars_per_second"] == locale.chars_per_second
        assert all(1.0 <= s["dnsmos"]["overall"] <= 5.0 and s["chars_per_second"] > 0 for s in segments)
        assert report["backends"]["voice"] == "espeak"  # Kokoro speaks neither language
