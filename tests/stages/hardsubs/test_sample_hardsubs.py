"""The hard-subtitle stage on the generated sample episode, measured against its ground truth.

The analysis test runs by default (about 40 s on the shared 2-core box); fusion with Whisper,
removal and the English re-subtitling are behind ``-m slow`` (bench/hardsubs.py prints the
same figures as a table).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from localize import ffmpeg
from localize.ffmpeg import write_clean_picture
from localize.stages.hardsubs import HardsubOptions, analyse_hardsubs, fuse, remove_hardsubs
from localize.stages.hardsubs.ocr import ocr_frames
from localize.metrics import cer, has_han


def true_frames(line: dict, fps: float = 30.0) -> tuple[int, int]:
    """Frames [first, end) a line is burned in on: those whose time t has start <= t < end."""
    start, end = line["shown_ms"]
    return math.ceil(start * fps / 1000 - 1e-9), math.ceil(end * fps / 1000 - 1e-9)


@pytest.fixture(scope="module")
def truth(sample_episode):
    """The truth, each line with the times of the ASS event burned in (centiseconds, rounded half up)."""
    import pysubs2

    data = json.loads(sample_episode.truth.read_text(encoding="utf-8"))
    events = pysubs2.load(str(sample_episode.video.with_suffix(".zh.ass")))
    for line, event in zip(data["lines"], events):
        line["shown_ms"] = (event.start, event.end)
    return data


@pytest.fixture(scope="module")
def analysis(sample_episode):
    return analyse_hardsubs(sample_episode.video, sample_episode.duration_ms, HardsubOptions())


def test_band_and_events_match_the_truth(analysis, truth):
    band = analysis.band
    assert band is not None
    assert abs(band.center_ratio - truth["subtitle_band"]["center_ratio"]) < 0.01
    assert band.max_rows == 2 and analysis.onscreen == []
    lines = truth["lines"]
    assert len(analysis.events) == len(lines)
    for event, line in zip(analysis.events, lines):
        assert (event.start_frame, event.end_frame) == true_frames(line), (line["id"], event)
    script = "".join(line["zh"] for line in lines)
    assert cer(script, "".join(e.text for e in analysis.events)) <= 0.01
    # Unchanged samples reuse their reading: a few dozen OCR calls, not one per sample.
    assert analysis.stats["ocr_calls"] <= 3 * len(lines)


@pytest.mark.slow
def test_fused_transcript_beats_asr(sample_episode, analysis, truth, tmp_path):
    from localize.stages.transcribe import FasterWhisper, TranscribeOptions

    audio = tmp_path / "audio.16k.wav"
    ffmpeg.run(ffmpeg.extract_audio_argv(sample_episode.video, audio, rate=16000, channels=1), what="audio")
    segments = FasterWhisper().transcribe(audio, TranscribeOptions(), sample_episode.duration_ms).segments
    fused = fuse(segments, analysis.events)
    script = "".join(line["zh"] for line in truth["lines"])
    asr_cer = cer(script, "".join(s.source_text for s in segments))
    fused_cer = cer(script, "".join(s.source_text for s in fused))
    assert fused_cer <= 0.03 < asr_cer
    assert {s.origin for s in fused} <= {"ocr+asr", "asr", "ocr"}
    assert sum(s.origin == "ocr+asr" for s in fused) >= len(truth["lines"]) - 1


@pytest.mark.slow
def test_removed_video_has_no_chinese_and_takes_english_in_the_band(sample_episode, analysis, truth, tmp_path):
    import sacrebleu

    from localize.locales import get_locale
    from localize.model import Segment
    from localize.stages.subtitles import Placement, build_cues, to_ssa

    removed = write_clean_picture(remove_hardsubs(sample_episode.video, analysis, tmp_path / "band.mkv"),
                            tmp_path / "removed.mkv")
    band = analysis.band
    region = (0, band.top - 66, 1080, band.bottom - band.top + 132)
    frames = sorted({int(f) for line in truth["lines"]
                     for f in np.linspace(*true_frames(line), 5, endpoint=False).round()})
    read = ocr_frames(removed, frames, region=region)
    left = [f for f in frames if any(has_han(ln.text) for ln in read[f])]
    assert len(left) <= 0.02 * len(frames), left

    english = get_locale("en-US")
    cues = build_cues([Segment(ln["id"], ln["start_ms"], ln["end_ms"], ln["zh"], text=ln["en"])
                       for ln in truth["lines"]], english)
    ass = tmp_path / "en.ass"
    to_ssa(cues, english, 1080, 1920, placement=Placement.from_band(band)).save(str(ass))
    rendered = tmp_path / "en.mp4"
    ffmpeg.run(ffmpeg.render_argv(removed, sample_episode.video, rendered, subtitles=ass, fonts_dir=None,
                                  encoding=ffmpeg.VideoEncoding(preset="ultrafast")), what="rendering")
    middles = {round((c.start_ms + c.end_ms) / 2 * 30 / 1000): c for c in cues}
    read = ocr_frames(rendered, sorted(middles), region=region)
    hyps = [" ".join(ln.text for ln in sorted(read[f], key=lambda ln: (ln.box[1], ln.box[0]))) for f in sorted(middles)]
    refs = [middles[f].text.replace("\n", " ") for f in sorted(middles)]
    assert sacrebleu.corpus_chrf(hyps, [refs]).score >= 80
