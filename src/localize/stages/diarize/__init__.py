"""Diarize: who speaks each segment, from Resemblyzer speaker embeddings plus pitch, clustered.

Two voices of one gender can sit close together in Resemblyzer's space (espeak's f3 and f4 are
only ~0.2 apart in cosine distance, same-voice lines ~0.1-0.18), but their pitch differs by most
of an octave, so the clustering distance adds the segments' median log-F0 difference.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from localize.audio import ms_to_samples
from localize.model import Segment

VERSION = "3"
# Clustering distance = cosine distance + PITCH_WEIGHT * |median F0 difference in octaves|.
# Measured on the sample episodes (truth segments): same speaker <= 0.23, different >= 0.63.
PITCH_WEIGHT = 0.5
# Under this average-linkage distance everything is one speaker (no silhouette for k=1).
ONE_SPEAKER_DISTANCE = 0.4
MAX_SPEAKERS = 8
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
    """A speaker label per segment, the speakers, and each segment's median F0 (0 = unvoiced)."""

    labels: list[str]
    speakers: list[Speaker]
    segment_f0_hz: list[float] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def voice_encoder():
    """The Resemblyzer encoder (weights ship in its wheel), loaded once per process."""
    from resemblyzer import VoiceEncoder

    return VoiceEncoder(device="cpu", verbose=False)


def release() -> None:
    voice_encoder.cache_clear()


def embed(samples: np.ndarray, rate: int) -> np.ndarray:
    """A unit-length speaker embedding of a stretch of speech."""
    from resemblyzer import preprocess_wav

    wav = preprocess_wav(samples.astype(np.float32), source_sr=rate)
    if wav.size < rate // 4:  # preprocessing trims silence; keep something to embed
        wav = samples.astype(np.float32)
    vector = voice_encoder().embed_utterance(wav)
    return vector / (np.linalg.norm(vector) + 1e-9)


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


def distance_matrix(embeddings: np.ndarray, f0s: np.ndarray, pitch_weight: float = PITCH_WEIGHT) -> np.ndarray:
    """Pairwise clustering distances: cosine distance of embeddings plus weighted octave distance of F0."""
    unit = embeddings / (np.linalg.norm(embeddings, axis=1, keepdims=True) + 1e-9)
    dist = np.clip(1.0 - unit @ unit.T, 0.0, None)
    log_f0 = np.where(f0s > 0, np.log2(np.where(f0s > 0, f0s, 1.0)), np.nan)
    octaves = np.nan_to_num(np.abs(log_f0[:, None] - log_f0[None, :]), nan=0.0)
    dist = dist + pitch_weight * octaves
    np.fill_diagonal(dist, 0.0)
    return (dist + dist.T) / 2


def cluster(distances: np.ndarray, num_speakers: int | None = None) -> np.ndarray:
    """Average-linkage clusters of a distance matrix.

    With ``num_speakers`` unset, the count is 1 when even the last merge is closer than
    :data:`ONE_SPEAKER_DISTANCE`, else the k in 2..:data:`MAX_SPEAKERS` with the best silhouette.
    """
    n = len(distances)
    if n == 1:
        return np.zeros(1, dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    tree = linkage(squareform(distances, checks=False), method="average")
    if num_speakers:
        return fcluster(tree, t=min(num_speakers, n), criterion="maxclust") - 1
    if tree[-1, 2] < ONE_SPEAKER_DISTANCE:
        return np.zeros(n, dtype=int)
    if n <= 3:  # silhouette needs k < n; few segments far apart are each their own voice
        return fcluster(tree, t=ONE_SPEAKER_DISTANCE, criterion="distance") - 1
    from sklearn.metrics import silhouette_score

    best, best_score = None, -2.0
    for k in range(2, min(MAX_SPEAKERS, n - 1) + 1):
        labels = fcluster(tree, t=k, criterion="maxclust") - 1
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(distances, labels, metric="precomputed")
        if score > best_score + 1e-6:
            best, best_score = labels, score
    return best if best is not None else np.zeros(n, dtype=int)


def diarize(segments: list[Segment], samples: np.ndarray, rate: int, num_speakers: int | None = None) -> Diarization:
    """Label each segment with a speaker id (S1, S2, ... in order of first appearance)."""
    if not segments:
        return Diarization(labels=[], speakers=[], segment_f0_hz=[])
    clips = [samples[ms_to_samples(s.start_ms, rate):ms_to_samples(s.end_ms, rate)] for s in segments]
    embeddings = np.stack([embed(clip, rate) for clip in clips])
    f0s = np.array([median_f0(clip, rate) for clip in clips])
    raw = cluster(distance_matrix(embeddings, f0s), num_speakers)
    order: dict[int, str] = {}
    for label in raw:
        order.setdefault(int(label), f"S{len(order) + 1}")
    labels = [order[int(label)] for label in raw]
    speakers = []
    for raw_label, speaker_id in order.items():
        members = [i for i, label in enumerate(raw) if int(label) == raw_label]
        voiced = [f0s[i] for i in members if f0s[i] > 0]
        # Median of the per-line medians: one long shouted line does not drag the voice up.
        f0 = float(np.median(voiced)) if voiced else 0.0
        centroid = embeddings[members].mean(axis=0)
        centroid /= np.linalg.norm(centroid) + 1e-9
        speakers.append(Speaker(id=speaker_id, gender=gender_of(f0), f0_median_hz=round(f0, 1),
                                segments=len(members), embedding=[round(float(v), 5) for v in centroid]))
    return Diarization(labels=labels, speakers=speakers, segment_f0_hz=[round(float(f), 1) for f in f0s])


@dataclass
class Score:
    """How a labelling compares with the truth."""

    purity: float  # share of segments whose cluster's majority truth speaker is theirs
    coverage: float  # share of segments whose truth speaker's majority cluster is theirs (catches over-merge)
    speakers_found: int
    speakers_true: int


def score(labels: list[str], truth: list[str]) -> Score:
    """Purity and coverage of ``labels`` against ``truth`` (one per segment)."""
    from collections import Counter

    if len(labels) != len(truth):
        raise ValueError(f"{len(labels)} labels for {len(truth)} truth segments")
    if not labels:
        return Score(1.0, 1.0, 0, 0)

    def agreement(a: list[str], b: list[str]) -> float:
        pairs = Counter(zip(a, b))
        best: dict[str, int] = {}
        for (x, _y), count in pairs.items():
            best[x] = max(best.get(x, 0), count)
        return sum(best.values()) / len(a)

    return Score(purity=round(agreement(labels, truth), 4), coverage=round(agreement(truth, labels), 4),
                 speakers_found=len(set(labels)), speakers_true=len(set(truth)))


def truth_speaker(start_ms: int, end_ms: int, lines: list[dict]) -> str:
    """The truth speaker whose line overlaps ``[start_ms, end_ms)`` most (truth JSON ``lines``)."""
    def overlap(line: dict) -> int:
        return min(end_ms, line["end_ms"]) - max(start_ms, line["start_ms"])

    return max(lines, key=overlap)["speaker"]
