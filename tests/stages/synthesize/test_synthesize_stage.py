"""The synthesize stage run through the runner: one cached clip per line, and a line no voice can say
kept silent and flagged instead of failing the episode."""

from __future__ import annotations

from pathlib import Path

from localize.ffmpeg import MediaInfo
from localize.locales import get_locale
from localize.model import Segment, Transcript
from localize.pipeline import PipelineOptions
from localize.stages.cast.stage import EpisodeVoices
from localize.stages.contract import Graph, Runner
from localize.stages.diarize import Diarization, Speaker
from localize.stages.ingest import IngestResult
from localize.stages.synthesize import VOICES
from localize.stages.synthesize.stage import STAGE
from localize.workdir import WorkDir


def run_stage(work: WorkDir, texts: list[str]) -> dict:
    """The real stage with espeak-ng voices over hand-made upstream artifacts (no model needed)."""
    voice = VOICES.create("espeak").voices()[0]
    segments = [Segment(id=i, start_ms=1000 + 2500 * i, end_ms=3000 + 2500 * i, source_text="你好") for i in
                range(len(texts))]
    media = MediaInfo(duration_ms=2500 * len(texts) + 2000, width=1080, height=1920, fps_num=30, fps_den=1,
                      video_codec="h264", has_audio=True, audio_codec="aac", audio_channels=2, audio_rate=48000,
                      rotation=0, format_name="mp4")
    runner = Runner(work, PipelineOptions(voice_backend="espeak", voice_match=False), Path("ep.mp4"))
    given = {"transcript": Transcript(language="zh", segments=segments),
             "speakers": Diarization(labels=["S1"] * len(texts), speakers=[Speaker("S1", "female", 220.0, 1)]),
             "media": IngestResult(source="ep.mp4", digest="d", media=media, audio_analysis="a.wav",
                                   audio_mix="m.wav", mix_channels=2),
             "cast": EpisodeVoices(cast_file="cast.yaml", characters={"S1": "Lin"}, voices={"S1": voice}),
             "translations": [{"text": text} for text in texts]}
    for name, value in given.items():
        runner.give(name, value, key=repr(value))
    return runner.run(Graph("g", (STAGE,), given=tuple(given)), locale=get_locale("en-US"))["dub"]


def test_a_line_no_voice_can_say_is_silent_and_flagged(tmp_path):
    dub = run_stage(WorkDir(tmp_path), ["Hello there.", "。。。。。。", "See you."])
    said, silent, later = dub["lines"]
    assert "unvoiced" in silent and ("nothing" in silent["unvoiced"] or "empty" in silent["unvoiced"])
    assert silent["duration_ms"] == 0 and said["duration_ms"] > 300 and later["duration_ms"] > 300
    assert not said.get("unvoiced") and not later.get("unvoiced")


def test_changing_one_line_makes_one_clip(tmp_path):
    work = WorkDir(tmp_path)
    run_stage(work, ["Hello there.", "Where were you?", "See you."])
    work.records.clear()
    run_stage(work, ["Hello there.", "Where have you been?", "See you."])
    assert (work.records[0].units_made, work.records[0].units_cached) == (1, 2)
