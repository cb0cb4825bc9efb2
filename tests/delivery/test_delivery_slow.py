"""Heavy end-to-end delivery runs (``-m slow``): a real two-market HLS package from the CLI."""

from __future__ import annotations

import json
import subprocess

import pytest

from delivery_helpers import SERIES_GLOSSARY, ebur128, probe, run_localize, streams, vtt_cue_texts


@pytest.mark.slow
def test_cli_builds_a_two_market_hls_package(warm_work, short_episode, tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    warm_work.seed(work, short_episode.video.stem)  # en-US is warm; es-MX is translated and voiced for real
    result = run_localize(short_episode.video, "--to", "en-US", "--to", "es-MX", "--out", out, "--profile", "hls",
                          "--work-dir", work, "--glossary", SERIES_GLOSSARY)
    master = out / "ep01.hls" / "master.m3u8"
    assert result.stdout.split() == [str(master), str(master)]
    data = probe(master)
    assert len(streams(data, "video")) == 1
    audio = streams(data, "audio")
    assert sorted(s["tags"]["language"] for s in audio) == ["en-US", "es-MX"]
    for index in range(len(audio)):
        measured = ebur128(master, stream=f"a:{index}")
        assert abs(measured["integrated_lufs"] + 16) <= 1.0, measured
    for tag in ("en-US", "es-MX"):
        report = json.loads((out / f"ep01.{tag}.json").read_text(encoding="utf-8"))
        assert report["outputs"]["video"] == str(master)
        proc = subprocess.run(["ffmpeg", "-v", "error", "-i", str(master.parent / f"subs-{tag}" / "index.m3u8"),
                               "-f", "webvtt", "-"], capture_output=True, text=True)
        decoded = " ".join(vtt_cue_texts(proc.stdout))
        for segment in report["segments"]:
            assert " ".join(segment["text"].split()[:3]) in decoded
