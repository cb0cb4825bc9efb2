"""Checks every translated line must pass before it is accepted.

Each problem is a short string ``"<code>: <detail>"`` so callers can show it as
is and :func:`severity` can rank attempts by their worst problem.
"""

from __future__ import annotations

import re
import unicodedata

from localize.locales import Locale, speech_length
from localize.stages.translate.glossary import contains_term, find_terms

# Han ideographs (CJK Unified + Extension A + Compatibility); kana and hangul are separate.
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
# Letters a target script must show at least some of, so drift into English is caught.
_SCRIPT_RE = {
    "thai": re.compile(r"[\u0e00-\u0e7f]"),
    "arabic": re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]"),
    "devanagari": re.compile(r"[\u0900-\u097f]"),
}
_LATIN_LETTER_RE = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
# Labels of our own few-shot prompts: seeing one in an output means the model ran on.
_PROMPT_LABEL_RE = re.compile(r"\b(Chinese|Source|Translation|Target)\s*:", re.IGNORECASE)

# Very common function words, to notice a Latin-script line written in the wrong language.
_STOPWORDS = {
    "en": {"the", "you", "is", "are", "and", "to", "of", "it", "that", "this", "what", "my", "me", "your", "i",
           "don't", "i'm", "it's", "be", "have", "do", "not", "will", "with", "for"},
    "es": {"el", "la", "los", "las", "que", "de", "no", "es", "un", "una", "y", "tu", "mi", "te", "me", "lo",
           "por", "para", "con", "está", "eres", "soy", "qué", "yo", "se"},
    "pt": {"o", "a", "os", "as", "que", "de", "não", "é", "um", "uma", "e", "você", "meu", "minha", "eu",
           "com", "para", "por", "isso", "do", "da", "está", "se", "te"},
    "fr": {"le", "la", "les", "que", "de", "ne", "pas", "est", "un", "une", "et", "tu", "je", "vous", "mon",
           "ma", "moi", "toi", "ce", "c'est", "pour", "avec"},
    "it": {"il", "la", "che", "di", "non", "è", "un", "una", "e", "tu", "io", "mi", "ti", "mio", "sei",
           "per", "con", "questo", "lo"},
    "de": {"der", "die", "das", "und", "ist", "nicht", "du", "ich", "sie", "ein", "eine", "mein", "mich",
           "dich", "zu", "mit", "für", "was", "es"},
    "id": {"aku", "kamu", "saya", "anda", "yang", "tidak", "ini", "itu", "dan", "di", "ke", "dari", "apa",
           "sudah", "akan", "dengan", "untuk", "ada", "jangan"},
}

# Rank of each problem code: an empty line is worse than a long one.
_SEVERITY = {
    "empty": 100, "error": 100, "untranslated": 60, "wrong-script": 55, "garbage": 50, "prompt-echo": 50,
    "repetition": 45, "too-long": 40, "content": 35, "wrong-language": 30, "currency": 25, "idiom": 25,
    "glossary": 20, "formality": 15, "over-budget": 10,
}


def has_han(text: str) -> bool:
    """True when ``text`` holds any Han ideograph."""
    return bool(HAN_RE.search(text))


def _letters_ratio(text: str) -> float:
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return 0.0
    letters = sum(1 for ch in visible if unicodedata.category(ch)[0] in "LM")
    return letters / len(visible)


def _looks_like(words: list[str], target: str) -> dict[str, int]:
    # Distinct words only, and none the target language shares ("no" is English and Spanish).
    distinct = set(words) - _STOPWORDS[target]
    return {lang: len(distinct & stop) for lang, stop in _STOPWORDS.items() if lang != target}


def _repeats(text: str) -> bool:
    # A word loop ("no no no no"), a short phrase said three times running or a whole clause
    # said twice is a decoding failure; "No, no, no!" or "I love you, I love you" is drama.
    words = re.findall(r"\w+", text.lower())
    for size, times in ((1, 4), (2, 3), (3, 3), (4, 3), (5, 2), (6, 2), (7, 2), (8, 2)):
        for start in range(len(words) - size * times + 1):
            gram = words[start:start + size]
            if all(words[start + k * size:start + (k + 1) * size] == gram for k in range(1, times)):
                return True
    return False


def absurd_length(source: str, budget: int | None) -> int:
    """The length beyond which an output is treated as run-on garbage, not a translation."""
    limit = 40 + 8 * len(source.strip())
    if budget:
        limit = min(limit, max(2 * budget, budget + 20))
    return limit


def missing_terms(text: str, source: str, terms: dict[str, str]) -> list[str]:
    """Glossary source terms present in ``source`` whose target is absent from ``text`` (case-insensitive)."""
    return [term for term in find_terms(source, terms) if not contains_term(text, terms[term])]


def validate_line(text: str, source: str, locale: Locale, terms: dict[str, str] | None = None,
                  budget: int | None = None) -> list[str]:
    """Every problem with ``text`` as the ``locale`` translation of ``source``; empty means accepted."""
    terms = terms or {}
    stripped = (text or "").strip()
    if not stripped:
        return ["empty: no translation"] if source.strip() else []
    problems: list[str] = []
    cjk_target = locale.script == "cjk"
    allows_han = cjk_target and locale.language in ("ja", "zh")
    if not allows_han and has_han(stripped):
        left = "".join(dict.fromkeys(HAN_RE.findall(stripped)))[:8]
        problems.append(f"untranslated: Chinese characters left ({left})")
    if locale.script in _SCRIPT_RE and not _SCRIPT_RE[locale.script].search(stripped):
        problems.append(f"wrong-script: no {locale.script.capitalize()} letters in a {locale.name} line")
    elif locale.language == "ja" and not _KANA_RE.search(stripped) and len(stripped) > 6:
        problems.append("wrong-script: no kana, looks like Chinese rather than Japanese")
    elif locale.language == "ko" and not _HANGUL_RE.search(stripped):
        problems.append("wrong-script: no Hangul in a Korean line")
    elif locale.script == "latin" and not _LATIN_LETTER_RE.search(stripped) and any(ch.isalpha() for ch in source):
        problems.append(f"wrong-script: no Latin letters in a {locale.name} line")
    if _letters_ratio(stripped) < 0.5:
        problems.append("garbage: mostly symbols or digits, not words")
    if _PROMPT_LABEL_RE.search(stripped):
        problems.append("prompt-echo: output repeats the prompt's labels")
    if _repeats(stripped):
        problems.append("repetition: the same words loop")
    limit = absurd_length(source, budget)
    if len(stripped) > limit:
        problems.append(f"too-long: {len(stripped)} characters for a {len(source.strip())}-character line")
    elif budget and speech_length(stripped) > budget:  # counted as the locale's speaking rate was measured
        problems.append(f"over-budget: {speech_length(stripped)} characters, budget {budget}")
    if locale.script == "latin" and locale.language in _STOPWORDS:
        words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", stripped.lower())
        if len(words) >= 4:
            mine = len(set(words) & _STOPWORDS[locale.language])
            other, best = max(_looks_like(words, locale.language).items(), key=lambda item: item[1])
            if best >= 2 and best > 2 * mine:
                problems.append(f"wrong-language: reads as {other}, not {locale.language}")
    for term in missing_terms(stripped, source, terms):
        problems.append(f"glossary: {term} must be rendered as {terms[term]!r}")
    return problems


def code_of(problem: str) -> str:
    """The code before the colon of a problem string."""
    return problem.split(":", 1)[0]


def severity(problems: list[str]) -> tuple[int, int]:
    """Sort key for attempts: worst problem first, then how many; lower is better."""
    worst = max((_SEVERITY.get(code_of(p), 50) for p in problems), default=0)
    return worst, len(problems)


def join_lines(lines: list[str]) -> str:
    """One sentence from a subtitle's display lines: no space between two Chinese halves."""
    out = ""
    for line in (part.strip() for part in lines):
        if not line:
            continue
        if out and not (HAN_RE.search(out[-1]) or HAN_RE.search(line[0])):
            out += " "
        out += line
    return out
