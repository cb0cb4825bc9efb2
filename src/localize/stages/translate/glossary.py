"""Series glossaries: fixed renderings of names, honorifics and terms.

A glossary file is YAML::

    terms:
      顾总: Mr. Gu
      林晓: Lin Xiao
    locales:
      es-MX:
        terms:
          顾总: señor Gu

``terms`` apply to every market; ``locales.<tag>.terms`` override or extend them
for one market (tags match case-insensitively, ``es`` also matches ``es-MX``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from localize.errors import ConfigError
from localize.yamlfile import read_yaml


@dataclass
class Glossary:
    """Source term -> target rendering, shared and per locale."""

    terms: dict[str, str] = field(default_factory=dict)
    locale_terms: dict[str, dict[str, str]] = field(default_factory=dict)

    def for_locale(self, tag: str) -> dict[str, str]:
        """The effective mapping for ``tag``: shared terms, then the language's, then the exact tag's."""
        merged = dict(self.terms)
        wanted = tag.strip().lower().replace("_", "-")
        language = wanted.split("-")[0]
        # A bare language entry ("es") applies first so a regional one ("es-MX") can refine it.
        for key in (language, wanted):
            for have, overrides in self.locale_terms.items():
                if have.lower().replace("_", "-") == key:
                    merged.update(overrides)
        return merged

    def __bool__(self) -> bool:
        return bool(self.terms or self.locale_terms)


def _string_map(value: object, where: str, path: Path) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {where} must be a mapping of source term to translation")
    out: dict[str, str] = {}
    for key, target in value.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"{path}: {where} has an empty or non-text source term: {key!r}")
        if not isinstance(target, str) or not target.strip():
            raise ConfigError(f"{path}: {where}.{key} must be a non-empty string, got {target!r}")
        out[key.strip()] = target.strip()
    return out


def load_glossary(path: Path | None) -> Glossary:
    """Read a glossary YAML file; ``None`` gives an empty glossary.

    Raises :class:`ConfigError` with a one-line message when the file is missing,
    not YAML, or not shaped as documented above.
    """
    if path is None:
        return Glossary()
    path = Path(path)
    data = read_yaml(path, "glossary", mapping=False)
    if data is None:
        return Glossary()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'terms' (and optional 'locales') at the top level")
    unknown = set(data) - {"terms", "locales", "series", "notes"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}")
    terms = _string_map(data.get("terms"), "terms", path)
    locales = data.get("locales") or {}
    if not isinstance(locales, dict):
        raise ConfigError(f"{path}: 'locales' must map a locale tag to {{terms: ...}}")
    locale_terms: dict[str, dict[str, str]] = {}
    for tag, block in locales.items():
        if not isinstance(block, dict) or set(block) - {"terms"}:
            raise ConfigError(f"{path}: locales.{tag} must be a mapping with a 'terms' key")
        locale_terms[str(tag)] = _string_map(block.get("terms"), f"locales.{tag}.terms", path)
    return Glossary(terms=terms, locale_terms=locale_terms)


def find_terms(source: str, terms: dict[str, str]) -> list[str]:
    """Source terms that occur in ``source``, longest first, without overlaps.

    "顾晨" and "顾" both in the glossary: a line saying 顾晨 needs only "Gu Chen".
    """
    taken = [False] * len(source)
    found: list[str] = []
    for term in sorted(terms, key=len, reverse=True):
        start = source.find(term)
        while start != -1:
            span = range(start, start + len(term))
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                if term not in found:
                    found.append(term)
            start = source.find(term, start + 1)
    return found


def contains_term(text: str, target: str) -> bool:
    """True when ``target`` occurs in ``text`` case-insensitively as whole words ("Gu Chen" is not in "Gu Cheng")."""
    import re

    if not target:
        return True
    # Word edges only where the target itself starts or ends with a letter/digit of a spaced script;
    # Japanese or Thai text has no spaces, so a plain substring test is the right one there.
    spaced = re.compile(r"[0-9A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0400-\u04ff]")
    head = r"(?<!\w)" if spaced.match(target[0]) else ""
    tail = r"(?!\w)" if spaced.match(target[-1]) else ""
    return re.search(head + re.escape(target) + tail, text, flags=re.IGNORECASE) is not None


_HONORIFICS = r"(?:Mr|Mrs|Ms|Miss|Mister|Madam|Madame|President|CEO|Boss|Director|Manager|Chairman|Master|Young Master|Sir|" \
              r"señor|señora|señorita|senhor|senhora|senhorita|don|doña|dona|Pak|Bu|Nyonya|Tuan)\.?"
_OPENERS = {
    "you", "your", "this", "that", "these", "the", "it", "it's", "we", "they", "he", "she", "there", "what",
    "why", "how", "who", "where", "when", "don't", "do", "did", "please", "today", "from", "if", "so", "let's",
    "come", "give", "get", "stop", "are", "is", "can", "will", "a", "an", "my", "our", "thank", "thanks",
    "tú", "usted", "este", "esta", "eso", "el", "la", "los", "las", "qué", "por", "no", "sí", "ya",
    "você", "isso", "o", "os", "as", "um", "uma", "não", "kamu", "anda", "ini", "itu", "apa", "kenapa",
}
_CLOSING = "。！？!?.…~～」』\"”'’)）"


def _pinyin_forms(term: str) -> list[str]:
    # "顾总" -> "Gu Zong": what a model writes when it transliterates instead of translating.
    try:
        from pypinyin import lazy_pinyin
    except ImportError:  # pypinyin is a dependency, but the repair must never crash on it
        return []
    syllables = [s for s in lazy_pinyin(term) if s.isascii() and s.isalpha()]
    if len(syllables) != len(term):
        return []
    return [" ".join(syllables), "".join(syllables)]


def _replace_ci(text: str, pattern: str, target: str) -> tuple[str, bool]:
    import re

    new, count = re.subn(pattern, lambda _m: target, text, count=1, flags=re.IGNORECASE)
    return new, count > 0


def _insert(text: str, source: str, term: str, target: str) -> str:
    """Put ``target`` where a vocative would go: at the start if the source starts with the term, else at the end."""
    stripped = source.strip()
    if stripped.startswith(term):
        head = target[0].upper() + target[1:]
        rest = text.lstrip()
        # "You must sign." -> "Mr. Gu, you must sign.": only ordinary sentence openers lose their
        # capital; a name or title ("Mr. Chen", "Xiaoyu") keeps it.
        first = rest.split(" ", 1)[0].strip(",.!?")
        if first.lower() in _OPENERS and first[:1].isupper():
            rest = rest[0].lower() + rest[1:]
        return f"{head}, {rest}"
    body = text.rstrip()
    cut = len(body)
    while cut > 0 and body[cut - 1] in _CLOSING:
        cut -= 1
    return f"{body[:cut]}, {target}{body[cut:]}"


def enforce_terms(text: str, source: str, terms: dict[str, str]) -> tuple[str, list[str]]:
    """Make every glossary target present in ``text``; return the new text and a note per repair.

    In order of preference: replace a pinyin transliteration of the term ("Gu Zong"),
    replace the same name under another honorific ("President Gu" -> "Mr. Gu"), and
    only then insert the target at the start or end of the line. Each repair gives a
    note (``glossary-fixed`` or ``glossary-forced``) so a reviewer can find it.
    """
    import re

    notes: list[str] = []
    for term in find_terms(source, terms):
        target = terms[term]
        if contains_term(text, target):
            continue
        before = text
        fixed = False
        for form in _pinyin_forms(term):
            text, fixed = _replace_ci(text, rf"(?<!\w){re.escape(form)}(?!\w)", target)
            if fixed:
                break
        if not fixed:
            # The capitalised words of the target ("Gu" of "Mr. Gu") under any honorific, or bare.
            names = [w for w in re.findall(r"[^\W\d_]+", target) if w[:1].isupper() and len(w) > 1
                     and not re.fullmatch(_HONORIFICS, w, flags=re.IGNORECASE)]
            if names and len(names) == len(target.split()) - (1 if re.match(_HONORIFICS, target, re.I) else 0):
                name_re = r"\s+".join(re.escape(w) for w in names)
                text, fixed = _replace_ci(text, rf"(?<!\w)(?:{_HONORIFICS}\s+)?{name_re}(?!\w)", target)
        if fixed:
            notes.append(f"glossary-fixed: wrote {target!r} for {term} by rule (was {before!r})")
        else:
            text = _insert(text, source, term, target)
            notes.append(f"glossary-forced: inserted {target!r} for {term} by rule")
    return text, notes


def substitute_terms(text: str, renderings: dict[str, str]) -> str:
    """``text`` with each source term replaced by its rendering, longest first (顾晨 before 顾)."""
    for term in sorted(renderings, key=len, reverse=True):
        text = text.replace(term, renderings[term])
    return text
