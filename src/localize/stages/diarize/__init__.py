"""Diarize: who speaks each line, with how sure that is.

Each line gets a Resemblyzer voice print (the mean over its 1.6 s windows), its median pitch and
its speaking rate (:mod:`.features`); a logistic same-speaker score over pairs of lines, fitted on
generated development episodes, drives average-linkage clustering and re-assignment passes
(:mod:`.clustering`). The speaker count comes from where that score says "different", so two
voices of one gender a few semitones apart stay apart; ``num_speakers`` overrides it.
``bench/speakers.py`` measures it on generated evaluation episodes (:mod:`.scoring`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from localize.model import Segment
from localize.stages.diarize.features import embed, line_features, voice_encoder

__all__ = ["Diarization", "Speaker", "diarize", "embed", "gender_of", "median_f0", "pitch_distance",
           "release", "truth_speaker", "voice_encoder"]

VERSION = "4"
# Speaker-to-character distance in the series cast (stages/cast) = cosine + PITCH_WEIGHT * octaves.
PITCH_WEIGHT = 0.5
# Median F0 under this is taken as a male voice. Adult men speak around 85-155 Hz and women
# around 165-255 Hz, but low women's voices reach ~140 Hz (espeak's f4 at pitch 40 sits at
# 140 Hz) while few men hold a median above 135 Hz, so the cut sits at the low edge of the gap.
MALE_F0_HZ = 135.0


@dataclass
class Speaker:
    """One voice found in the episode."""

    id: str
    gender: str
    f0_median_hz: float
    segments: int
    embedding: list[float] = field(default_factory=list)


@dataclass
class Diarization:
    """A speaker label per segment, the speakers, each segment's pitch (0 = unvoiced) and how sure
    each label is (0-1, see :func:`localize.stages.diarize.clustering.confidence`; low = review first)."""

    labels: list[str]
    speakers: list[Speaker]
    segment_f0_hz: list[float] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)


def release() -> None:
    """Drop the cached voice encoder."""
    voice_encoder.cache_clear()


def median_f0(samples: np.ndarray, rate: int) -> float:
    """Median F0 of the voiced frames, 0 when unvoiced: the higher of WORLD's DIO and Harvest medians.

    Both trackers fail downwards: DIO locked onto leftover music bass on a separated stem (a
    260 Hz woman's line read 66 Hz, Harvest 251 Hz), and Harvest halves a clean high voice on
    up to 60 % of its frames (espeak f3: DIO 265 Hz, Harvest 145 Hz). Octave-up errors were
    not seen, so the higher median is the safe reading. Costs ~10 s CPU per minute of speech.
    """
    import pyworld

    x = samples.astype(np.float64)
    if x.size < rate // 20:
        return 0.0
    dio, times = pyworld.dio(x, rate, f0_floor=60.0, f0_ceil=500.0, frame_period=10.0)
    dio = pyworld.stonemask(x, dio, times, rate)
    harvest, _times = pyworld.harvest(x, rate, f0_floor=60.0, f0_ceil=500.0, frame_period=10.0)
    medians = [float(np.median(f0[f0 > 0])) for f0 in (dio, harvest) if np.any(f0 > 0)]
    return max(medians) if medians else 0.0


def gender_of(f0_hz: float) -> str:
    """``male``/``female`` from a median F0; ``unknown`` when there was no voiced speech."""
    if f0_hz <= 0:
        return "unknown"
    return "male" if f0_hz < MALE_F0_HZ else "female"


def pitch_distance(f0_a: float, f0_b: float) -> float:
    """|difference| in octaves between two F0s; 0 when either is unknown (no evidence either way)."""
    if f0_a <= 0 or f0_b <= 0:
        return 0.0
    return abs(math.log2(f0_a / f0_b))


def diarize(segments: list[Segment], samples: np.ndarray, rate: int, num_speakers: int | None = None) -> Diarization:
    """Label each segment with a speaker id (S1, S2, ... in order of first appearance)."""
    from localize.stages.diarize.clustering import cluster

    if not segments:
        return Diarization(labels=[], speakers=[], segment_f0_hz=[], confidence=[])
    lines = line_features(segments, samples, rate)
    raw, sure = cluster(lines, num_speakers)
    order: dict[int, str] = {}
    for label in raw:
        order.setdefault(int(label), f"S{len(order) + 1}")
    labels = [order[int(label)] for label in raw]
    embeddings = np.stack([line.embedding for line in lines])
    f0s = np.array([line.f0_hz for line in lines])
    speakers = []
    for raw_label, speaker_id in order.items():
        members = [i for i, label in enumerate(raw) if int(label) == raw_label]
        voiced = [f0s[i] for i in members if f0s[i] > 0]
        # Median of the per-line medians: one long shouted line does not drag the voice up.
        f0 = float(np.median(voiced)) if voiced else 0.0
        weights = np.array([min(lines[i].seconds, 3.0) for i in members])
        centroid = (embeddings[members] * weights[:, None]).sum(axis=0)
        centroid /= np.linalg.norm(centroid) + 1e-9
        speakers.append(Speaker(id=speaker_id, gender=gender_of(f0), f0_median_hz=round(f0, 1),
                                segments=len(members), embedding=[round(float(v), 5) for v in centroid]))
    return Diarization(labels=labels, speakers=speakers, segment_f0_hz=[round(float(f), 1) for f in f0s],
                       confidence=[round(float(c), 3) for c in sure])


def truth_speaker(start_ms: int, end_ms: int, lines: list[dict]) -> str:
    """The truth speaker whose line overlaps ``[start_ms, end_ms)`` most (truth JSON ``lines``)."""
    def overlap(line: dict) -> int:
        return min(end_ms, line["end_ms"]) - max(start_ms, line["start_ms"])

    return max(lines, key=overlap)["speaker"]
