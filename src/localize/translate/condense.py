"""Deterministic condensation of a translated line that is over its length budget.

Dubbing must fit the picture, and speeding the voice up sounds wrong, so a long
line is shortened in words. This is the last step after the backend was asked
for a shorter version; it removes only what carries no plot: parentheticals,
fillers, interjections, non-glossary vocatives, and spells contractions. Each
step runs only while the line is still over budget, and glossary renderings are
never removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .glossary import contains_term

# Words that can go without changing what happens; per language, matched as whole words.
FILLERS: dict[str, list[str]] = {
    "en": ["you know", "I mean", "actually", "really", "just", "well", "oh", "ah", "hey", "so", "now", "exactly",
           "very", "truly", "simply", "at all", "already", "right now", "please"],
    "es": ["pues", "bueno", "oye", "mira", "la verdad", "realmente", "de verdad", "ya", "ahora mismo", "muy",
           "exactamente", "por favor"],
    "pt": ["bem", "olha", "ei", "na verdade", "realmente", "de verdade", "já", "agora mesmo", "muito",
           "exatamente", "por favor"],
    "id": ["sih", "dong", "deh", "lho", "kok", "sebenarnya", "benar-benar", "sangat", "sudah", "tolong"],
}
CONTRACTIONS: dict[str, list[tuple[str, str]]] = {
    "en": [("I am", "I'm"), ("you are", "you're"), ("do not", "don't"), ("does not", "doesn't"),
           ("did not", "didn't"), ("cannot", "can't"), ("can not", "can't"), ("will not", "won't"),
           ("it is", "it's"), ("that is", "that's"), ("I will", "I'll"), ("you will", "you'll"),
           ("I have", "I've"), ("we are", "we're"), ("they are", "they're"), ("is not", "isn't"),
           ("are not", "aren't"), ("have not", "haven't"), ("what is", "what's"), ("let us", "let's"),
           ("she is", "she's"), ("he is", "he's"), ("there is", "there's"),
           ("who is", "who's"), ("we will", "we'll"), ("they will", "they'll"), ("I would", "I'd"),
           ("you have", "you've"), ("we have", "we've"), ("was not", "wasn't"), ("were not", "weren't"),
           ("would not", "wouldn't"), ("should not", "shouldn't"), ("has not", "hasn't"),
           ("going to", "gonna"), ("want to", "wanna")],
    "pt": [("para o", "pro"), ("para a", "pra"), ("para", "pra"), ("você", "cê")],
    "es": [("para", "pa'")],
}

_NOT_VOCATIVE = "No|Yes|Okay|OK|But|And|If|When|Then|So|Now|Listen|Look|Wait|Sí|Não|Tidak|Ya|I"
_ENDEARMENTS = r"(?i:honey|darling|baby|dear|bro|sis|cariño|mi amor|querida|querido|amor|sayang)"


@dataclass
class Condensed:
    """The shortened text and the names of the steps that changed it."""

    text: str
    steps: list[str] = field(default_factory=list)


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,.!?;:…])", r"\1", text)
    text = re.sub(r",\s*([,.!?;:…])", r"\1", text)
    text = re.sub(r"^[\s,;:]+", "", text)
    text = re.sub(r"([.!?¿¡]\s*),\s*", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text[:1].upper() + text[1:] if text else text


def _protected(text: str, keep: list[str]) -> list[tuple[int, int]]:
    spans = []
    for target in keep:
        if target:
            for m in re.finditer(re.escape(target), text, flags=re.IGNORECASE):
                spans.append(m.span())
    return spans


def _sub_unprotected(pattern: str, text: str, keep: list[str]) -> str:
    spans = _protected(text, keep)

    def repl(m: re.Match[str]) -> str:
        if any(m.start() < end and start < m.end() for start, end in spans):
            return m.group(0)
        return " "

    return re.sub(pattern, repl, text, flags=re.IGNORECASE)


def _source_vocative(source: str | None) -> tuple[bool, bool]:
    """Whether the source opens / closes with a short address ("林晓，..." / "..., 宝贝。")."""
    if source is None:
        return True, True
    # Times, numbers and pronouns open many lines ("三年了，...", "你，...") without addressing anyone.
    no = set("零一二两三四五六七八九十百千万年月天今明昨你我他她它这那")
    head = re.match(r"^\s*([\u4e00-\u9fff]{1,4})[，,]", source)
    tail = re.search(r"[，,]([\u4e00-\u9fff]{1,4})[。！？!?…]*\s*$", source)
    return (bool(head) and not set(head.group(1)) & no), (bool(tail) and not set(tail.group(1)) & no)


def condense(text: str, budget: int | None, language: str, keep: list[str] | None = None,
             source: str | None = None, drop_sentences: bool = True) -> Condensed:
    """Shorten ``text`` towards ``budget`` characters; ``keep`` are renderings that must survive.

    With ``source``, a vocative is dropped only where the source has one. As the
    very last step (``drop_sentences``), a line of several sentences loses its last
    one when that is what it takes to fit and at least 45% of it remains: a line that
    cannot be voiced in its slot is worse than a shorter one.
    """
    keep = [k for k in (keep or []) if k]
    out = Condensed(text=text)
    if not budget or len(text) <= budget:
        return out

    def step(name: str, new: str) -> None:
        new = _tidy(new)
        if new and new != out.text and all(contains_term(new, k) for k in keep if contains_term(out.text, k)):
            out.text = new
            out.steps.append(name)

    # 1. Parentheticals and stage directions: never spoken in the original either.
    step("parenthetical", re.sub(r"\s*[(\[（【][^)\]）】]*[)\]）】]", " ", out.text))
    # 2. Fillers and softeners, one at a time, longest first, until it fits.
    for filler in sorted(FILLERS.get(language, []), key=len, reverse=True):
        if len(out.text) <= budget:
            return out
        step(f"filler:{filler}", _sub_unprotected(rf"(?<!\w){re.escape(filler)}(?!\w)\s*,?", out.text, keep))
    # 3. Contractions (same meaning, fewer characters).
    for long, short in CONTRACTIONS.get(language, []):
        if len(out.text) <= budget:
            return out
        step(f"contraction:{short}", re.sub(rf"(?<!\w){re.escape(long)}(?!\w)",
                                            lambda m: short if m.group(0)[0].islower() else short[0].upper() + short[1:],
                                            out.text, flags=re.IGNORECASE))
    # 4. A vocative at either end ("Lin Xiao, ..." / "..., honey!") unless the glossary needs it.
    # Only capitalised names or endearments count: "If you go, ..." or "No, ..." must stay.
    name = rf"(?:(?!(?:{_NOT_VOCATIVE})\b)[A-Z][\w'-]*\s?){{1,3}}|{_ENDEARMENTS}"
    head, tail = _source_vocative(source)
    if len(out.text) > budget and head:
        step("vocative", _sub_unprotected(rf"^(?:{name}),\s+", out.text, keep))
    if len(out.text) > budget and tail:
        step("vocative", _sub_unprotected(rf",\s+(?:{name})(?=[.!?…]*$)", out.text, keep))
    # 5. Repeated punctuation and ellipses take screen room and voice time.
    if len(out.text) > budget:
        step("punctuation", re.sub(r"\.{3}|…", ",", re.sub(r"([!?])\1+", r"\1", out.text)))
    # 6. Last resort: drop the last sentence (often a restatement) if that makes it fit.
    sentences = re.findall(r"[^.!?…]+[.!?…]+[\"'”]?\s*", out.text)
    if drop_sentences and len(out.text) > budget and len(sentences) >= 2 and "".join(sentences) == out.text:
        shorter = "".join(sentences[:-1]).strip()
        if len(shorter) <= budget and len(shorter) >= 0.45 * len(out.text):
            step("dropped-last-sentence", shorter)
    return out
