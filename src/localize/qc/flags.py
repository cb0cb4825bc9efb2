"""What a reviewer should look at in a report line: the flags shown on the QC page and the review desk."""

from __future__ import annotations

# Above this a line was sped up or time-stretched enough to be heard.
FAST_FACTOR = 1.1
# Under these a line's speaker or its recognised words are doubtful.
LOW_SPEAKER_CONFIDENCE = 0.5
LOW_ASR_CONFIDENCE = 0.6

FLAG_LABELS = {
    "over_budget": "over budget",
    "fast": "sped up / stretched > 1.1x",
    "translation": "translation problems",
    "glossary_forced": "glossary term forced in",
    "speaker": "low speaker confidence",
    "asr": "low ASR confidence",
}


def _glossary_note(problem: str) -> bool:
    return problem.startswith(("glossary-forced", "glossary-fixed"))


def line_flags(segment: dict) -> list[str]:
    """The flags of one report segment (keys of :data:`FLAG_LABELS`), in a fixed order."""
    flags = []
    if segment.get("fits") is False:
        flags.append("over_budget")
    if max(segment.get("speed") or 1.0, segment.get("stretch") or 1.0) > FAST_FACTOR:
        flags.append("fast")
    problems = segment.get("translation_problems") or []
    if any(not _glossary_note(p) for p in problems):
        flags.append("translation")
    if any(_glossary_note(p) for p in problems):
        flags.append("glossary_forced")
    if segment.get("speaker_confidence") is not None and segment["speaker_confidence"] < LOW_SPEAKER_CONFIDENCE:
        flags.append("speaker")
    if segment.get("asr_confidence") is not None and segment["asr_confidence"] < LOW_ASR_CONFIDENCE:
        flags.append("asr")
    return flags
