"""Diarization: clustering on synthetic line features, scoring, and real figures on generated episodes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from localize.model import Segment
from localize.stages import diarize as D
from localize.stages.diarize.clustering import cluster
from localize.stages.diarize.features import LineFeatures
from localize.stages.diarize.scoring import score


def _lines(sizes: list[int], f0s: list[float], *, spread: float = 0.05, seconds: float = 3.0, seed: int = 0,
           shared_voice: bool = False):
    """Line features around one random voice print per speaker (one for all with ``shared_voice``),
    each speaker at a fixed pitch with half a semitone of jitter."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=256)
    lines, truth = [], []
    for k, (size, f0) in enumerate(zip(sizes, f0s)):
        centre = common if shared_voice else rng.normal(size=256)
        centre = centre / np.linalg.norm(centre)
        for _ in range(size):
            vector = centre + spread * rng.normal(size=256) / 16
            lines.append(LineFeatures(embedding=vector / np.linalg.norm(vector),
                                      f0_hz=f0 * 2 ** (0.5 * rng.uniform(-1, 1) / 12),
                                      syllables_per_s=0.0, seconds=seconds))
            truth.append(f"T{k}")
    return lines, truth


def _segments(n: int, seconds: float = 3.0) -> list[Segment]:
    step = int(seconds * 1000)
    return [Segment(id=i, start_ms=i * step, end_ms=(i + 1) * step, source_text="") for i in range(n)]


def test_cluster_finds_the_count():
    lines, truth = _lines([4, 6, 3], [260, 140, 90])
    labels, sure = cluster(lines)
    assert score(_segments(len(lines)), [str(x) for x in labels], truth).purity == 1.0
    assert len(set(labels)) == 3
    assert np.all(sure > 0.75)


def test_pitch_three_semitones_apart_keeps_one_voice_two_people():
    # One voice print for both (the same espeak variant), 3 semitones apart: two speakers.
    lines, truth = _lines([5, 5], [200, 200 * 2 ** (3 / 12)], shared_voice=True, seed=1)
    labels, _ = cluster(lines)
    found = score(_segments(len(lines)), [str(x) for x in labels], truth)
    assert found.speakers_found == 2 and found.purity == 1.0


def test_one_speaker_and_override():
    lines, _ = _lines([8], [120])
    labels, sure = cluster(lines)
    assert set(labels) == {0}
    assert len(set(cluster(lines, num_speakers=2)[0])) == 2
    assert list(cluster(lines[:1])[0]) == [0]


def test_a_lone_short_line_joins_a_speaker():
    lines, _ = _lines([5, 5], [250, 100], seed=2)
    stray, _ = _lines([1], [250], seed=3)  # another voice print, but half a second long
    stray[0].seconds = 0.5
    labels, sure = cluster(lines + stray)
    assert len(set(labels)) == 2
    assert sure[-1] < min(sure[:-1])  # the doubtful line shows first


def test_gender_and_pitch_distance():
    assert D.gender_of(71.0) == "male"
    assert D.gender_of(140.0) == "female"  # espeak f4, a low woman's voice
    assert D.gender_of(0.0) == "unknown"
    assert D.pitch_distance(110, 220) == pytest.approx(1.0)
    assert D.pitch_distance(0, 220) == 0.0


def test_score_catches_merge_split_and_gender_confusion():
    segments = _segments(4)
    truth = ["a", "a", "b", "b"]
    genders = {"a": "female", "b": "male"}
    merged = score(segments, ["x", "x", "x", "x"], truth, genders)
    assert merged.purity == 0.5 and merged.coverage == 1.0 and merged.der == 0.5
    assert merged.confusion == {"male>female": 6.0} or merged.confusion == {"female>male": 6.0}
    split = score(segments, ["1", "2", "3", "4"], truth, genders)
    assert split.purity == 1.0 and split.coverage == 0.5
    assert score(segments, ["p", "p", "q", "q"], truth).der == 0.0


def test_two_close_women_and_a_man(tmp_path):
    """A drawn episode: two women at most 4 semitones apart plus a man, on the true dialogue stem
    at the lines' times: 3 speakers, purity at least 0.9, and a confidence per line."""
    from localize.audio import resample, to_mono
    from localize.sample.draw import DrawOptions, draw_script, semitones
    from localize.sample.generator import RATE, render_audio

    script = draw_script(7, DrawOptions(speakers=3, women=2, max_semitones=4, lines=12))
    women = [c for c in script.characters.values() if c.gender == "female"]
    assert len(women) == 2 and abs(semitones(women[0].variant, women[0].pitch)
                                   - semitones(women[1].variant, women[1].pitch)) <= 4.1
    audio = render_audio(script)
    samples = resample(to_mono(audio.dialogue.astype(np.float32) / 32768), RATE, 16000)
    segments = [Segment(id=p.index, start_ms=p.start_ms, end_ms=p.end_ms, source_text=p.line.zh)
                for p in audio.placed]
    truth = [p.line.speaker for p in audio.placed]
    result = D.diarize(segments, samples, 16000)
    found = score(segments, result.labels, truth)
    assert found.speakers_found == 3, (result.labels, truth)
    assert found.purity >= 0.9
    assert len(result.confidence) == len(segments) and all(0.0 <= c <= 1.0 for c in result.confidence)


def test_diarize_sample_episode_truth_segments(sample_episode):
    """On episode01's dialogue stem at the truth lines' times: 3 speakers, every line right."""
    from localize.audio import read_wav, resample, to_mono

    truth = json.loads(sample_episode.truth.read_text(encoding="utf-8"))
    samples, rate = read_wav(sample_episode.dialogue)
    samples = resample(to_mono(samples), rate, 16000)
    segments = [Segment(id=line["id"], start_ms=line["start_ms"], end_ms=line["end_ms"], source_text=line["zh"])
                for line in truth["lines"]]
    result = D.diarize(segments, samples, 16000)
    found = score(segments, result.labels, [line["speaker"] for line in truth["lines"]])
    assert found.purity >= 0.9 and found.coverage >= 0.9
    assert found.speakers_found == 3
    by_truth = {}
    for label, line in zip(result.labels, truth["lines"]):
        by_truth[line["speaker"]] = label
    gender = {s.id: s.gender for s in result.speakers}
    assert gender[by_truth["顾总"]] == "male"
    assert gender[by_truth["林晓"]] == "female" and gender[by_truth["王阿姨"]] == "female"
    assert len(result.segment_f0_hz) == len(segments)
    assert all(len(s.embedding) == 256 for s in result.speakers)


def test_labels_carry_confidence_through_the_cached_json():
    from localize.model import from_dict, to_dict, with_speakers

    result = D.Diarization(labels=["S1", "S2"], speakers=[], segment_f0_hz=[200.0, 100.0], confidence=[0.9, 0.4])
    cached = from_dict(D.Diarization, json.loads(json.dumps(to_dict(result))))
    segments = _segments(2)
    labelled = with_speakers(segments, cached.labels, cached.confidence)
    assert [(s.speaker, s.speaker_confidence) for s in labelled] == [("S1", 0.9), ("S2", 0.4)]
    old = from_dict(D.Diarization, {"labels": ["S1"], "speakers": []})  # written before confidence existed
    assert with_speakers(segments[:1], old.labels, old.confidence)[0].speaker_confidence is None
