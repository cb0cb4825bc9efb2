"""From line features to speakers: a calibrated same-speaker score per pair of lines, average-linkage
clustering that stops where the score says "different", and re-assignment passes.

The pair score is a logistic model, log-odds that two lines share a speaker, over the voice-print
cosine distance, the pitch difference in semitones and the speaking-rate difference. Its weights
are fitted on the development seeds only (``bench/speakers.py --fit``); the evaluation seeds
never see them being chosen. Because the pitch term is learnt, two women whose voice prints are
close but whose voices sit 3 semitones apart stay two people, which a fixed cosine threshold or a
silhouette choice of k did not do.
"""

from __future__ import annotations

import numpy as np

from localize.stages.diarize.features import LineFeatures

# Below this length a line's voice print is one padded Resemblyzer window and much less reliable.
SHORT_S = 1.2
# Pitch enters twice: its difference in semitones and that difference capped at NEAR_SEMITONES,
# so the model can be steep where same-gender voices sit (0-4 semitones apart) and flat beyond.
NEAR_SEMITONES = 4.0
FEATURES = ("cosine", "cosine_short", "semitones", "semitones_near", "unvoiced", "rate")
# log-odds(same speaker) = PAIR_BIAS + PAIR_WEIGHTS . features; fitted by `bench/speakers.py --fit`.
PAIR_BIAS = 4.451
PAIR_WEIGHTS = np.array([-2.398, 0.901, 0.031, -1.922, -3.504, -2.827])
# Average log-odds above which two groups of lines are one speaker (0 = even odds).
MERGE_LOGIT = 0.5
# A cluster of one line this short cannot be a speaker of its own: its line joins the nearest one.
LONE_LINE_S = 2.0
REASSIGN_PASSES = 8


def pair_features(lines: list[LineFeatures]) -> np.ndarray:
    """(n, n, len(FEATURES)) pairwise features, see :data:`FEATURES`."""
    embeddings = np.stack([line.embedding for line in lines])
    cosine = np.clip(1.0 - embeddings @ embeddings.T, 0.0, 2.0)
    seconds = np.array([line.seconds for line in lines])
    short = (np.minimum(seconds[:, None], seconds[None, :]) < SHORT_S).astype(float)
    semitones = np.array([line.semitones for line in lines])
    unvoiced = np.isnan(semitones[:, None] - semitones[None, :])
    pitch = np.nan_to_num(np.abs(semitones[:, None] - semitones[None, :]), nan=0.0)
    rates = np.array([line.syllables_per_s for line in lines])
    known = rates > 0
    log_rate = np.log2(np.where(known, rates, 1.0))
    rate = np.where(known[:, None] & known[None, :], np.abs(log_rate[:, None] - log_rate[None, :]), 0.0)
    return np.stack([cosine, cosine * short, pitch, np.minimum(pitch, NEAR_SEMITONES), unvoiced.astype(float), rate],
                    axis=-1)


def pair_logits(lines: list[LineFeatures]) -> np.ndarray:
    """Log-odds that each pair of lines shares a speaker (symmetric; the diagonal is not used)."""
    logits = PAIR_BIAS + pair_features(lines) @ PAIR_WEIGHTS
    return (logits + logits.T) / 2


def affinities(logits: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n, k): each line's weighted mean log-odds against the other lines of each cluster (nan if none)."""
    clusters = int(labels.max()) + 1
    out = np.full((len(labels), clusters), np.nan)
    for k in range(clusters):
        members = labels == k
        w = np.where(members, weights, 0.0)[None, :].repeat(len(labels), axis=0)
        np.fill_diagonal(w, 0.0)  # a line does not vote for itself
        total = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, k] = np.where(total > 0, (w * logits).sum(axis=1) / total, np.nan)
    return out


def _compact(labels: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse


def reassign(logits: np.ndarray, labels: np.ndarray, weights: np.ndarray, seconds: np.ndarray,
             keep_count: bool) -> np.ndarray:
    """Move each line to the cluster it agrees with most until nothing moves; fold a lone short
    line into its nearest cluster unless the count is fixed (``keep_count``)."""
    labels = _compact(labels)
    rows = np.arange(len(labels))
    for _ in range(REASSIGN_PASSES):
        scores = affinities(logits, labels, weights)
        # A line alone in its cluster has no vote there. With the count fixed it stays; otherwise
        # it stays only if no cluster wants it, and a short one always moves.
        lonely = np.bincount(labels)[labels] == 1
        if keep_count:
            scores[rows[lonely], labels[lonely]] = np.inf
        else:
            scores[rows[lonely], labels[lonely]] = np.where(seconds[lonely] < LONE_LINE_S, -np.inf, MERGE_LOGIT)
        best = np.argmax(np.nan_to_num(scores, nan=-np.inf), axis=1)
        if np.array_equal(best, labels) or (keep_count and len(np.unique(best)) < len(np.unique(labels))):
            break
        labels = _compact(best)
    return labels


def cluster(lines: list[LineFeatures], num_speakers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(labels 0..k-1, confidence per line) for ``lines``; ``num_speakers`` fixes k."""
    n = len(lines)
    if n == 1:
        return np.zeros(1, dtype=int), np.ones(1)
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    logits = pair_logits(lines)
    seconds = np.array([line.seconds for line in lines])
    weights = np.minimum(seconds, 3.0)  # longer lines carry firmer voice prints, up to a point
    # Average linkage on (ceiling - log-odds) is average linkage on the log-odds, kept non-negative.
    ceiling = float(logits.max()) + 1.0
    distances = ceiling - logits
    np.fill_diagonal(distances, 0.0)
    tree = linkage(squareform(distances, checks=False), method="average")
    if num_speakers:
        labels = fcluster(tree, t=min(num_speakers, n), criterion="maxclust") - 1
    else:
        labels = fcluster(tree, t=ceiling - MERGE_LOGIT, criterion="distance") - 1
    labels = reassign(logits, labels, weights, seconds, keep_count=bool(num_speakers))
    return labels, confidence(logits, labels, weights)


def confidence(logits: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """How sure each line's label is: the odds that it belongs with its own speaker's lines times
    the softmax share of its own speaker among all speakers' mean log-odds. Low when it fits its
    speaker poorly or fits another about as well. A line alone in its cluster counts even odds there."""
    scores = affinities(logits, labels, weights)
    rows = np.arange(len(labels))
    own = np.nan_to_num(scores[rows, labels], nan=0.0)
    scores[rows, labels] = own
    scores = np.nan_to_num(scores, nan=-np.inf)
    shifted = scores - scores.max(axis=1, keepdims=True)
    share = np.exp(shifted[rows, labels]) / np.exp(shifted).sum(axis=1)
    return share / (1.0 + np.exp(-own))
