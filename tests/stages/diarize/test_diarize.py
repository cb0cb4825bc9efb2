"""Diarization: clustering on synthetic distances, and real figures on the generated sample episode."""

from __future__ import annotations

import json

import numpy as np
import pytest

from localize.stages import diarize as D


def _blobs(sizes: list[int], f0s: list[float], spread: float = 0.05, seed: int = 0):
    """Unit embeddings around one random centre per speaker, with a fixed F0 each."""
    rng = np.random.default_rng(seed)
    embeddings, pitches, truth = [], [], []
    for k, (size, f0) in enumerate(zip(sizes, f0s)):
        centre = rng.normal(size=256)
        for _ in range(size):
            embeddings.append(centre / np.linalg.norm(centre) + spread * rng.normal(size=256) / 16)
            pitches.append(f0 * (1 + 0.03 * rng.normal()))
            truth.append(f"T{k}")
    return np.array(embeddings), np.array(pitches), truth


def test_cluster_finds_the_count_by_silhouette():
    embeddings, f0s, truth = _blobs([4, 6, 3], [260, 140, 71])
    labels = D.cluster(D.distance_matrix(embeddings, f0s))
    assert D.score([str(x) for x in labels], truth).purity == 1.0
    assert len(set(labels)) == 3


def test_pitch_separates_voices_with_near_embeddings():
    # Two voices whose embeddings are identical apart from noise, an octave apart in pitch.
    rng = np.random.default_rng(1)
    centre = rng.normal(size=256)
    embeddings = np.array([centre + 0.2 * rng.normal(size=256) for _ in range(10)])
    f0s = np.array([260.0] * 5 + [140.0] * 5)
    assert len(set(D.cluster(D.distance_matrix(embeddings, f0s, pitch_weight=0.0)))) == 1
    labels = D.cluster(D.distance_matrix(embeddings, f0s))
    assert D.score([str(x) for x in labels], ["a"] * 5 + ["b"] * 5).purity == 1.0


def test_one_speaker_and_override():
    embeddings, f0s, _ = _blobs([8], [120])
    distances = D.distance_matrix(embeddings, f0s)
    assert set(D.cluster(distances)) == {0}
    assert len(set(D.cluster(distances, num_speakers=2))) == 2
    assert list(D.cluster(distances[:1, :1])) == [0]


def test_gender_and_pitch_distance():
    assert D.gender_of(71.0) == "male"
    assert D.gender_of(140.0) == "female"  # espeak f4, a low woman's voice
    assert D.gender_of(0.0) == "unknown"
    assert D.pitch_distance(110, 220) == pytest.approx(1.0)
    assert D.pitch_distance(0, 220) == 0.0


def test_score_catches_merge_and_split():
    truth = ["a", "a", "b", "b"]
    merged = D.score(["x", "x", "x", "x"], truth)
    assert merged.purity == 0.5 and merged.coverage == 1.0
    split = D.score(["1", "2", "3", "4"], truth)
    assert split.purity == 1.0 and split.coverage == 0.5


def test_diarize_sample_episode_truth_segments(sample_episode):
    """On episode01's dialogue stem at the truth lines' times: 3 speakers, every line right."""
    from localize.audio import read_wav, resample, to_mono
    from localize.model import Segment

    truth = json.loads(sample_episode.truth.read_text(encoding="utf-8"))
    samples, rate = read_wav(sample_episode.dialogue)
    samples = resample(to_mono(samples), rate, 16000)
    segments = [Segment(id=line["id"], start_ms=line["start_ms"], end_ms=line["end_ms"], source_text=line["zh"])
                for line in truth["lines"]]
    result = D.diarize(segments, samples, 16000)
    found = D.score(result.labels, [line["speaker"] for line in truth["lines"]])
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
