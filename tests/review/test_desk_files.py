"""Review from files: the CSV round trip (ElevenLabs' manual-dubbing columns) and an edited SRT."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pysubs2

from localize.review.files import CSV_COLUMNS, parse_time, timecode


def review_cli(*args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "localize", "review", *map(str, args)], capture_output=True,
                            text=True, env={**os.environ, "LOCALIZE_PROGRESS": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_times_read_back_as_written():
    assert timecode(83.456) == "00:01:23,456" and parse_time("00:01:23,456") == 83.456
    assert parse_time("1:02.5") == 62.5 and parse_time("7.25") == 7.25


def test_srt_and_csv_edits_become_stale_lines(localized, tmp_path):
    """An SRT carries every line's text, a CSV every line's text and speaker: each import is the whole
    state of the lines, so the CSV is exported after the SRT's edit is in."""
    from localize.review.desk import ReviewDesk

    srt_path = tmp_path / "ep01.en-US.srt"
    subs = pysubs2.load(str(localized / "ep01.en-US.srt"))
    subs.events[-1].text = "Fine. I will sign it."
    subs.save(str(srt_path))
    assert "1 lines of ep01.en-US changed" in review_cli(localized, "--import", srt_path, "--no-render").stdout

    sheet = tmp_path / "ep01.en-US.csv"
    review_cli(localized, "--export", sheet)
    with open(sheet, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(CSV_COLUMNS) and len(rows) == 4
    assert "I will sign it." in rows[-1]["translation"]
    rows[0]["translation"] = "You are Lin Xiao? From today you are my wife by contract."
    other = next(row["speaker"] for row in rows if row["speaker"] != rows[2]["speaker"])
    rows[2]["speaker"] = other  # the third line goes to the other character
    with open(sheet, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    assert "2 lines of ep01.en-US changed" in review_cli(localized, "--import", sheet, "--no-render").stdout

    desk = ReviewDesk(localized)
    lines = desk.lines(desk.report("ep01.en-US"))
    assert lines[0]["stale_because"] == ["text"] and lines[0]["text"].startswith("You are Lin Xiao?")
    assert lines[2]["stale_because"] == ["speaker"] and lines[2]["character"] == other
    assert "I will sign it." in lines[-1]["text"] and lines[-1]["stale_because"] == ["text"]
    assert not lines[1]["stale"]
