"""How a speaker labelling compares with the truth: pyannote.metrics' DER, purity and coverage
(time-weighted), the speaker count, and which gender pairs were confused.

pyannote.metrics comes with the ``test`` extra (it pulls pandas, no torch); the pipeline itself
never imports this module.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from localize.model import Segment


@dataclass
class Score:
    """One episode's figures. ``confusion`` maps "true gender>gender it was labelled as" to
    seconds of speech given to the wrong speaker ("female>new" for a cluster that matched no one)."""

    der: float
    purity: float
    coverage: float
    speakers_found: int
    speakers_true: int
    confusion: dict[str, float] = field(default_factory=dict)


def annotation(segments: list[Segment], labels: list[str]):
    """A pyannote Annotation of ``segments`` (ms) labelled ``labels``."""
    from pyannote.core import Annotation
    from pyannote.core import Segment as Span

    result = Annotation()
    for index, (segment, label) in enumerate(zip(segments, labels)):
        result[Span(segment.start_ms / 1000, segment.end_ms / 1000), index] = label
    return result


def score(segments: list[Segment], labels: list[str], truth: list[str],
          genders: dict[str, str] | None = None) -> Score:
    """Score ``labels`` (one per segment) against ``truth`` speakers; ``genders`` gives each truth
    speaker's gender for the confusion table (``unknown`` when absent)."""
    from pyannote.metrics.diarization import DiarizationCoverage, DiarizationErrorRate, DiarizationPurity

    if len(labels) != len(truth) or len(segments) != len(truth):
        raise ValueError(f"{len(labels)} labels and {len(segments)} segments for {len(truth)} truth speakers")
    if not segments:
        return Score(0.0, 1.0, 1.0, 0, 0)
    from pyannote.core import Segment as Span
    from pyannote.core import Timeline

    reference, hypothesis = annotation(segments, truth), annotation(segments, labels)
    # Scored over the lines' span: the labelled segments are the truth's own, so this is what DER
    # would otherwise guess (and warn about).
    uem = Timeline([Span(min(s.start_ms for s in segments) / 1000, max(s.end_ms for s in segments) / 1000)])
    der = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    mapping = der.optimal_mapping(reference, hypothesis)  # found label -> truth speaker
    genders = genders or {}
    confusion: Counter[str] = Counter()
    for segment, label, speaker in zip(segments, labels, truth):
        matched = mapping.get(label)
        if matched != speaker:
            was = genders.get(matched, "unknown") if matched is not None else "new"
            confusion[f"{genders.get(speaker, 'unknown')}>{was}"] += (segment.end_ms - segment.start_ms) / 1000
    return Score(der=round(float(der(reference, hypothesis, uem=uem)), 4),
                 purity=round(float(DiarizationPurity()(reference, hypothesis, uem=uem)), 4),
                 coverage=round(float(DiarizationCoverage()(reference, hypothesis, uem=uem)), 4),
                 speakers_found=len(set(labels)), speakers_true=len(set(truth)),
                 confusion={k: round(v, 2) for k, v in sorted(confusion.items())})
