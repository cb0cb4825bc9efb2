"""Quality measures used by tests and benchmarks: WER, CER and text normalisation."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s']|_", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def edit_distance(ref: list, hyp: list) -> int:
    """Levenshtein distance between two token sequences."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def normalize_words(text: str) -> list[str]:
    """Lower-case words without punctuation (apostrophes kept), for WER."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    return _PUNCT.sub(" ", text).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference``."""
    ref = normalize_words(reference)
    return edit_distance(ref, normalize_words(hypothesis)) / max(1, len(ref))


def han_chars(text: str) -> list[str]:
    """The Chinese characters of ``text`` (punctuation and spaces dropped), for CER."""
    return _HAN.findall(unicodedata.normalize("NFKC", text))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate over Chinese characters."""
    ref = han_chars(reference)
    return edit_distance(ref, han_chars(hypothesis)) / max(1, len(ref))


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))
