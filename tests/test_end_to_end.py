"""The whole `localize` command on the generated sample, with real models and real ffmpeg."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pysubs2
import pytest

from localize import ffmpeg
from localize.metrics import has_han


def run_localize(*args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "localize", *map(str, args)], capture_output=True, text=True,
                            env={**os.environ, "LOCALIZE_PROGRESS": "0"})
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def first_run(sample_episode, tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e")
    run_localize(sample_episode.video, "--to", "en-US", "--out", out, "--keep-stems")
    return out


def test_outputs_follow_the_contract(sample_episode, first_run):
    stem = sample_episode.video.stem
    for suffix in ("mp4", "srt", "json", "bed.wav", "dialogue.wav"):
        assert (first_run / f"{stem}.en-US.{suffix}").is_file(), suffix
    leftovers = [p.name for p in first_run.iterdir() if ".part" in p.name]
    assert leftovers == []
    # The report names the files where they ended up (they were written under a hidden staging folder).
    report = json.loads((first_run / f"{stem}.en-US.json").read_text(encoding="utf-8"))
    assert report["outputs"] == {role: str(first_run / f"{stem}.en-US.{suffix}") for role, suffix in (
        ("video", "mp4"), ("srt", "srt"), ("report", "json"), ("bed", "bed.wav"), ("dialogue", "dialogue.wav"))}


def test_output_keeps_duration_size_and_rate(sample_episode, first_run):
    source = ffmpeg.probe(sample_episode.video)
    output = ffmpeg.probe(first_run / f"{sample_episode.video.stem}.en-US.mp4")
    assert (output.width, output.height) == (source.width, source.height)
    assert (output.fps_num, output.fps_den) == (source.fps_num, source.fps_den)
    assert abs(output.duration_ms - source.duration_ms) <= source.frame_ms + 1
    assert output.has_audio and output.audio_codec == "aac"


def test_report_segments_are_translated_and_timed(sample_episode, first_run):
    report = json.loads((first_run / f"{sample_episode.video.stem}.en-US.json").read_text(encoding="utf-8"))
    truth = json.loads(sample_episode.truth.read_text(encoding="utf-8"))
    segments = report["segments"]
    assert len(segments) >= 0.8 * len(truth["lines"])
    for seg in segments:
        assert 0 <= seg["start"] < seg["end"] <= report["source"]["duration"]
        assert seg["speaker"] and seg["source_text"] and seg["text"]
        assert not has_han(seg["text"])
    assert {s["stage"] for s in report["stages"]} >= {"ingest", "separate", "transcribe", "diarize",
                                                      "translate.en-US", "synthesize.en-US", "mix.en-US"}
    assert abs(report["loudness"]["lufs"] + 14) <= 1 and report["loudness"]["true_peak_db"] <= -1
    assert report["lipsync"]["applied"] is False and "--lipsync-checkpoint" in report["lipsync"]["reason"]
    subs = pysubs2.load(str(first_run / f"{sample_episode.video.stem}.en-US.srt"))
    assert len(subs) >= len(segments)
    assert all(len(line) <= 42 for event in subs for line in event.plaintext.splitlines())


def test_final_file_loudness_is_at_market_target(sample_episode, first_run):
    """Measured with ffmpeg's BS.1770 meter on the encoded MP4, not on our intermediate mix."""
    import re

    video = first_run / f"{sample_episode.video.stem}.en-US.mp4"
    proc = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(video), "-map", "0:a:0",
                           "-af", "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True)
    summary = proc.stderr[proc.stderr.rfind("Summary:"):]
    lufs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    assert abs(lufs + 14) <= 1.0, summary
    assert peak <= -1.0, summary


def test_second_run_skips_analysis_and_new_locale_reruns_only_its_stages(sample_episode, first_run):
    run_localize(sample_episode.video, "--to", "es-MX", "--out", first_run)
    report = json.loads((first_run / f"{sample_episode.video.stem}.es-MX.json").read_text(encoding="utf-8"))
    cached = {s["stage"]: s["cached"] for s in report["stages"]}
    assert all(cached[stage] for stage in ("ingest", "separate", "transcribe", "diarize"))
    assert not any(cached[f"{stage}.es-MX"] for stage in ("translate", "synthesize", "mix", "export"))

    run_localize(sample_episode.video, "--to", "es-MX", "--out", first_run)
    again = json.loads((first_run / f"{sample_episode.video.stem}.es-MX.json").read_text(encoding="utf-8"))
    assert all(stage["cached"] for stage in again["stages"])
    assert again["segments"] == report["segments"]


def test_dub_is_intelligible(sample_episode, first_run):
    """Whisper (English) on the output's audio agrees with the output's own subtitles: WER <= 0.3."""
    from faster_whisper import WhisperModel

    from localize.metrics import wer
    from localize.models import whisper_base

    stem = sample_episode.video.stem
    model = WhisperModel(str(whisper_base()), device="cpu", compute_type="int8")
    heard, _ = model.transcribe(str(first_run / f"{stem}.en-US.mp4"), language="en", beam_size=5, vad_filter=True)
    hypothesis = " ".join(segment.text for segment in heard)
    reference = " ".join(e.plaintext for e in pysubs2.load(str(first_run / f"{stem}.en-US.srt")))
    assert wer(reference, hypothesis) <= 0.3, (reference, hypothesis)
