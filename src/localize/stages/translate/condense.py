"""Deterministic condensation of a translated line that is over its length budget.

Dubbing must fit the picture, and speeding the voice up sounds wrong, so a long
line is shortened in words. This runs on every over-budget candidate before a
backend is asked again (it costs microseconds, a model retry seconds), and once
more on the line finally kept. It removes only what carries no plot:
parentheticals, fillers and intensifiers, non-glossary vocatives; it contracts,
swaps in shorter words of the same meaning and drops a question's "do you"
auxiliary. Each step runs only while the line is still over budget, whole words
only (never a cut mid-word), and glossary renderings are never removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from localize.stages.translate.glossary import contains_term

# Words that can go without changing what happens; per language, matched as whole words.
FILLERS: dict[str, list[str]] = {
    "en": ["you know", "I mean", "actually", "really", "just", "well", "oh", "ah", "hey", "so", "now", "exactly",
           "very", "truly", "simply", "at all", "already", "right now", "please", "totally", "completely",
           "absolutely", "definitely", "certainly", "literally", "honestly", "seriously", "indeed", "of course",
           "after all", "in fact", "anyway", "look", "listen"],
    "es": ["pues", "bueno", "oye", "mira", "la verdad", "realmente", "de verdad", "ya", "ahora mismo", "muy",
           "exactamente", "por favor"],
    "pt": ["bem", "olha", "ei", "na verdade", "realmente", "de verdade", "já", "agora mesmo", "muito",
           "exatamente", "por favor"],
    "id": ["sih", "dong", "deh", "lho", "kok", "sebenarnya", "benar-benar", "sangat", "sudah", "tolong"],
}
# Fillers that are also ordinary words ("Do you know him?", "so much", "I'm well") go only where
# commas set them off as a discourse marker: "Well, ...", "..., you know, ...".
BOUNDED: dict[str, set[str]] = {
    "en": {"you know", "I mean", "well", "so", "oh", "ah", "hey", "anyway", "look", "listen", "indeed", "now"},
    "es": {"pues", "bueno", "oye", "mira"},
    "pt": {"bem", "olha", "ei"},
    "id": set(),
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
           ("could not", "couldn't"), ("must not", "mustn't"), ("had not", "hadn't"), ("here is", "here's"),
           ("where is", "where's"), ("how is", "how's"), ("he will", "he'll"), ("she will", "she'll"),
           ("it will", "it'll"), ("that will", "that'll"), ("you would", "you'd"), ("we would", "we'd"),
           ("they have", "they've"), ("would have", "would've"), ("could have", "could've"),
           ("should have", "should've"), ("you are not", "you're not"), ("going to", "gonna"), ("want to", "wanna"),
           ("got to", "gotta")],
    "pt": [("para o", "pro"), ("para a", "pra"), ("para", "pra"), ("você", "cê")],
    "es": [("para", "pa'")],
}

# Shorter words and phrasings of the same meaning, longest source first; matched as whole words.
SYNONYMS: dict[str, list[tuple[str, str]]] = {
    "en": [("a long time ago", "long ago"), ("from today on", "from today"),
           ("right away", "now"), ("immediately", "now"), ("at once", "now"), ("in front of", "before"),
           ("as soon as possible", "ASAP"), ("all right", "OK"), ("okay", "OK"), ("because", "'cause"),
           ("sympathy", "pity"), ("mother", "mom"), ("father", "dad"), ("children", "kids"),
           ("child", "kid"), ("telephone", "phone"), ("information", "info"),
           ("pretending to be", "playing"), ("pretend to be", "play"), ("a lot of", "lots of"),
           ("in the end", "finally"), ("everything about", "all about"), ("what exactly", "what"), ("exactly what", "what"),
           ("one more time", "again"), ("at this moment", "now"), ("at the moment", "now")],
    "es": [("por favor", "porfa"), ("ahora mismo", "ya"), ("inmediatamente", "ya"), ("de inmediato", "ya"),
           ("hace mucho tiempo", "hace mucho"), ("todo el tiempo", "siempre")],
    "pt": [("agora mesmo", "já"), ("imediatamente", "já"),
           ("há muito tempo", "faz tempo"), ("o tempo todo", "sempre")],
    "id": [("sekarang juga", "sekarang"), ("tidak", "tak"), ("sudah", "udah"), ("bagaimana", "gimana")],
}
# A question's "do" auxiliary, dropped as people do in speech: "Do you think ...?" -> "You think ...?".
# After an opening address too: "Su Wan, do you think ...?" -> "Su Wan, you think ...?".
_DO_QUESTION = re.compile(r"^((?:[A-Z][\w'.-]*\s?){1,3},\s+)?[Dd]o (you|we|they)\b(?=[^.!?]*\?$)")

_PARTICIPLE = (r"(?=\s+(?:(?:never|already|just|always|ever|not)\s+)?(?:been|got|gotten|done|seen|had|made|"
               r"gone|come|known|taken|given|found|told|said|heard|left|kept|lost|thought|won|met|become|"
               r"broken|forgotten|written|spent|paid|brought|bought|[a-z]+ed)\b)")
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
    text = re.sub(r"([.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)  # a removed opener
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


def _swap(long: str, short: str, text: str, keep: list[str]) -> str:
    """``long`` -> ``short`` as whole words, outside glossary renderings, keeping a capital initial."""
    spans = _protected(text, keep)

    def repl(m: re.Match[str]) -> str:
        if any(m.start() < end and start < m.end() for start, end in spans):
            return m.group(0)
        return short[0].upper() + short[1:] if m.group(0)[0].isupper() else short

    # "have" contracts only as an auxiliary: "I've lost", not "I've a car" or "do we've a deal?".
    after = _PARTICIPLE if long.endswith(" have") else ""
    return re.sub(rf"(?<!\w){re.escape(long)}(?!\w){after}", repl, text, flags=re.IGNORECASE)


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
        word = re.escape(filler)
        if filler in BOUNDED.get(language, set()):
            # At a sentence start before a comma, or between a comma and a comma/end of sentence.
            pattern = rf"(?:(?<=^)|(?<=[.!?…]\s)|(?<=[.!?…])){word}\s*,|,\s*{word}(?=\s*[,.!?…]|\s*$)"
        else:
            pattern = rf"(?<!\w){word}(?!\w)\s*,?"
        step(f"filler:{filler}", _sub_unprotected(pattern, out.text, keep))
    # 3. Contractions and shorter synonyms (same meaning, fewer characters).
    for kind, pairs in (("contraction", CONTRACTIONS), ("synonym", SYNONYMS)):
        for long, short in pairs.get(language, []):
            if len(out.text) <= budget:
                return out
            if len(short) < len(long):
                step(f"{kind}:{short}", _swap(long, short, out.text, keep))
    # 4. "Do you think ...?" -> "You think ...?" (English).
    if language == "en" and len(out.text) > budget:
        step("question", _DO_QUESTION.sub(lambda m: (m.group(1) or "") + m.group(2), out.text))
    # 5. A vocative at either end ("Lin Xiao, ..." / "..., honey!") unless the glossary needs it.
    # Only capitalised names or endearments count: "If you go, ..." or "No, ..." must stay.
    name = rf"(?:(?!(?:{_NOT_VOCATIVE})\b)[A-Z][\w'-]*\s?){{1,3}}|{_ENDEARMENTS}"
    head, tail = _source_vocative(source)
    if len(out.text) > budget and head:
        step("vocative", _sub_unprotected(rf"^(?:{name}),\s+", out.text, keep))
    if len(out.text) > budget and tail:
        step("vocative", _sub_unprotected(rf",\s+(?:{name})(?=[.!?…]*$)", out.text, keep))
    # 6. Repeated punctuation and ellipses take screen room and voice time.
    if len(out.text) > budget:
        step("punctuation", re.sub(r"\.{3}|…", ",", re.sub(r"([!?])\1+", r"\1", out.text)))
    # 7. Last resort: drop the last sentence (often a restatement) if that makes it fit.
    sentences = re.findall(r"[^.!?…]+[.!?…]+[\"'”]?\s*", out.text)
    if drop_sentences and len(out.text) > budget and len(sentences) >= 2 and "".join(sentences) == out.text:
        shorter = "".join(sentences[:-1]).strip()
        if len(shorter) <= budget and len(shorter) >= 0.45 * len(out.text):
            step("dropped-last-sentence", shorter)
    return out
