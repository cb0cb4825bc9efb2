"""Music under the dialogue, predicted from the dialogue-free gaps by repetition.

Background music repeats (loops, bars, sustained chords), so the music under a spoken frame
looks like some frames of the same episode where nobody speaks. For each frame we find the
``k`` gap frames whose surroundings (``context`` frames each side) look most alike, compared
on log-spaced bands of a speech-free estimate, and take the median of their spectra: a
music magnitude estimate that fills in what the dialogue hides.
"""

from __future__ import annotations

import numpy as np

# Frames compared per matrix product: bounds memory to chunk x pool similarities.
CHUNK = 512


def _with_context(features: np.ndarray, context: int) -> np.ndarray:
    if context == 0:
        return features
    padded = np.pad(features, ((0, 0), (context, context)), mode="edge")
    width = features.shape[1]
    return np.concatenate([padded[:, i: i + width] for i in range(2 * context + 1)], axis=0)


def _unit_columns(a: np.ndarray) -> np.ndarray:
    return a / (np.linalg.norm(a, axis=0, keepdims=True) + 1e-9)


def music_magnitude(query: np.ndarray, pool_features: np.ndarray, pool_magnitude: np.ndarray,
                    pool: np.ndarray, k: int = 10, context: int = 2) -> np.ndarray:
    """Median spectrum of each frame's ``k`` nearest pool frames.

    ``query`` and ``pool_features`` are (bands x frames) features of every frame (queries use a
    speech-free estimate, the pool the music itself); ``pool`` indexes the frames allowed as
    neighbours; ``pool_magnitude`` (bins x frames) supplies the spectra that are averaged.
    Returns (bins x frames).
    """
    k = max(1, min(k, len(pool)))
    q = _unit_columns(_with_context(query, context))
    p = _unit_columns(_with_context(pool_features, context)[:, pool])
    frames = query.shape[1]
    # Frames as rows, so each gathered neighbour spectrum is contiguous (an order of magnitude faster).
    rows = np.ascontiguousarray(pool_magnitude.T)
    out = np.empty((frames, rows.shape[1]), dtype=np.float32)
    for start in range(0, frames, CHUNK):
        sim = q[:, start: start + CHUNK].T @ p
        nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < sim.shape[1] else \
            np.broadcast_to(np.arange(sim.shape[1]), sim.shape)
        spectra = rows[pool[nearest]]
        spectra.sort(axis=1)
        out[start: start + CHUNK] = spectra[:, k // 2] if k % 2 else \
            0.5 * (spectra[:, k // 2 - 1] + spectra[:, k // 2])
    return np.ascontiguousarray(out.T)
