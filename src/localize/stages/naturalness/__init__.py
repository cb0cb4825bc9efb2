"""How natural and how fast a market's dub sounds: DNSMOS per line and per episode, and the speaking rate.

DNSMOS (:mod:`localize.stages.synthesize.dnsmos`, the ONNX models of the speechmos wheel, on CPU
with at most 2 threads) rates each dubbed line on ITU-T P.835's 1-5 scale without a reference.
Each line is scored once, on one 9 s window of the line repeated (``windows=1``): a short
line is the whole of it. The episode's figure is the mean of its lines weighted by their
length, so a long line counts as much as the time it is heard.

The speaking rate is what the dub really says per second: the characters of the lines
(:func:`localize.locales.speech_length`, counted as :attr:`Locale.chars_per_second` is) over
the seconds of their fitted clips, next to the rate the translation budgets assumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from localize.locales import Locale, speech_length

VERSION = "1"
SCORES = ("overall", "signal", "background", "p808")
MIN_SECONDS = 0.1  # shorter is no speech to rate: a line no voice could say is a silent stub


@dataclass(frozen=True)
class LineSound:
    """One dubbed line as heard: its text, its clip's samples and sample rate."""

    id: int
    text: str
    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return self.samples.size / self.rate if self.rate else 0.0

    @property
    def voiced(self) -> bool:
        """Whether there is speech to rate (a line left unvoiced has a silent stub for a clip)."""
        return bool(self.text.strip()) and self.seconds >= MIN_SECONDS and bool(np.any(self.samples))


def line_scores(line: LineSound) -> dict[str, float] | None:
    """DNSMOS of one line (rounded to 3 places); ``None`` for a clip too short or silent to rate."""
    from localize.stages.synthesize.dnsmos import score

    if not line.voiced:
        return None
    return score(line.samples, line.rate, windows=1).to_dict()


def speaking_rate(texts: Sequence[str], seconds: Sequence[float]) -> float | None:
    """Characters per second over all lines (``None`` when nothing was voiced)."""
    total = sum(seconds)
    return round(sum(speech_length(t) for t in texts) / total, 2) if total > 0 else None


def summarize(lines: Sequence[LineSound], scores: Sequence[dict[str, float] | None], locale: Locale) -> dict:
    """The episode's figures from its lines and their scores (the stage's artifact, less the per-line list)."""
    rated = [(line.seconds, s) for line, s in zip(lines, scores) if s is not None]
    weight = sum(seconds for seconds, _ in rated)
    dnsmos = {k: round(sum(seconds * s[k] for seconds, s in rated) / weight, 3) for k in SCORES} if weight else None
    voiced = [line for line in lines if line.voiced]
    return {
        "dnsmos": dnsmos,
        "lines_scored": len(rated),
        "speaking_rate_chars_per_second": speaking_rate([line.text for line in voiced],
                                                        [line.seconds for line in voiced]),
        "budget_chars_per_second": locale.chars_per_second,
    }


def measure(lines: Sequence[LineSound], locale: Locale, score_line=line_scores) -> dict:
    """Every line's DNSMOS and speaking rate, and the episode's (``score_line`` may come from a cache)."""
    scores = [score_line(line) for line in lines]
    per_line = [{"id": line.id, "dnsmos": s,
                 "chars_per_second": round(speech_length(line.text) / line.seconds, 2) if line.voiced else None}
                for line, s in zip(lines, scores)]
    return {"episode": summarize(lines, scores, locale), "lines": per_line}
