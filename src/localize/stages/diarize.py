"""Diarize: who speaks each segment, from Resemblyzer speaker embeddings and clustering."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ..audio import ms_to_samples
from ..model import Segment

VERSION = "1"
# Average-linkage cosine distance under which two segments are the same voice.
DISTANCE_THRESHOLD = 0.3
# Median F0 under this is taken as a male voice when choosing a dub voice.
MALE_F0_HZ = 165.0


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
    labels: list[str]
    speakers: list[Speaker]


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
    """Median fundamental frequency of the voiced frames (WORLD's Harvest), 0 when unvoiced."""
    import pyworld

    x = samples.astype(np.float64)
    f0, _t = pyworld.dio(x, rate, f0_floor=60.0, f0_ceil=500.0, frame_period=10.0)
    f0 = pyworld.stonemask(x, f0, _t, rate)
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if voiced.size else 0.0


def cluster(embeddings: np.ndarray, num_speakers: int | None) -> np.ndarray:
    """Cluster embeddings; the number of speakers is found by threshold unless given."""
    if len(embeddings) == 1:
        return np.zeros(1, dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    if num_speakers:
        model = AgglomerativeClustering(n_clusters=min(num_speakers, len(embeddings)), metric="cosine",
                                        linkage="average")
    else:
        model = AgglomerativeClustering(n_clusters=None, distance_threshold=DISTANCE_THRESHOLD, metric="cosine",
                                        linkage="average")
    return model.fit_predict(embeddings)


def diarize(segments: list[Segment], samples: np.ndarray, rate: int, num_speakers: int | None = None) -> Diarization:
    """Label each segment with a speaker id (S1, S2, ... in order of first appearance)."""
    clips = [samples[ms_to_samples(s.start_ms, rate):ms_to_samples(s.end_ms, rate)] for s in segments]
    embeddings = np.stack([embed(clip, rate) for clip in clips])
    raw = cluster(embeddings, num_speakers)
    order: dict[int, str] = {}
    for label in raw:
        order.setdefault(int(label), f"S{len(order) + 1}")
    labels = [order[int(label)] for label in raw]
    speakers = []
    for raw_label, speaker_id in order.items():
        members = [i for i, label in enumerate(raw) if int(label) == raw_label]
        voice = np.concatenate([clips[i] for i in members])
        f0 = median_f0(voice, rate)
        centroid = embeddings[members].mean(axis=0)
        centroid /= np.linalg.norm(centroid) + 1e-9
        speakers.append(Speaker(id=speaker_id, gender="male" if 0 < f0 < MALE_F0_HZ else "female",
                                f0_median_hz=round(f0, 1), segments=len(members),
                                embedding=[round(float(v), 5) for v in centroid]))
    return Diarization(labels=labels, speakers=speakers)
