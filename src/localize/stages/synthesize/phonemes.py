"""Text -> espeak-ng IPA -> Kokoro phoneme ids.

espeak-ng drops punctuation from its IPA output, yet Kokoro uses punctuation for
prosody (pauses, question intonation). So the text is cut into clauses at
punctuation, each clause is phonemised on its own, and the punctuation is put
back between them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

from localize.errors import ConfigError, ToolError

ESPEAK = "espeak-ng"
ZWJ = "\u200d"  # espeak's --ipa=3 tie between the halves of an affricate or diphthong

# Full-width and typographic punctuation folded to what Kokoro's vocabulary knows.
_PUNCT_FOLD = str.maketrans({
    # CJK punctuation has no space after it; add one so it ends a clause.
    "，": ", ", "、": ", ", "。": ". ", "！": "! ", "？": "? ", "；": "; ", "：": ": ",
    "–": "—", "―": "—",
    "「": "“", "」": "”", "『": "“", "』": "”", "（": "(", "）": ")",
    "¿": "", "¡": "",  # Spanish opening marks: the closing mark carries the prosody
    "‘": "", "’": "'",
})
# A clause ends at a run of these followed by whitespace, a quote or bracket, or the end
# of the text, so "3.5" and "don't" stay whole. Quotes and brackets end clauses too.
_CLAUSE_END = re.compile(r"([,.!?;:…—]+)(?=[\s“”\"()]|$)|([“”\"()])")

# Tied pairs that Kokoro has single symbols for. Only affricates are rewritten: we also
# tried Kokoro's capital-letter diphthongs (eɪ -> A, aɪ -> I, oʊ -> O...) and r-coloured
# ɜɹ for en-us, and over 16 sentences x 2 voices Whisper base heard them worse (3.8 %
# WER) than plain espeak diphthongs with these affricates (2.2 %); a lone "I" was often
# heard as "you".
_AFFRICATES = {
    "d" + ZWJ + "ʒ": "ʤ", "t" + ZWJ + "ʃ": "ʧ", "t" + ZWJ + "s": "ʦ", "d" + ZWJ + "z": "ʣ",
    "t" + ZWJ + "ɕ": "ʨ", "d" + ZWJ + "ʑ": "ʥ",
}
# espeak marks a switch to another language's rules like "(en)" inside the IPA; with
# --ipa=3 the letters of the mark are tied too: "(\u200de\u200dn)".
_LANG_SWITCH = re.compile("\\([a-z\u200d-]{2,16}\\)")


def espeak_binary() -> str:
    """Path of espeak-ng, or :class:`ToolError` with an install hint."""
    found = shutil.which(ESPEAK)
    if not found:
        raise ToolError("espeak-ng not found on PATH; install it (Debian: apt-get install espeak-ng)")
    return found


@lru_cache(maxsize=1)
def espeak_version() -> str:
    """espeak-ng's version line (its phonemes, and so every voice built on them, follow it)."""
    proc = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True, errors="replace",
                          check=False)
    return proc.stdout.strip()


def speakable(text: str) -> str:
    """Fold punctuation and drop emoji and other symbols (espeak would read out their names)."""
    text = "".join(ch for ch in text.translate(_PUNCT_FOLD) if unicodedata.category(ch) != "So")
    return " ".join(text.split())


def split_clauses(text: str) -> list[tuple[str, str]]:
    """Cut ``text`` into ``(words, punctuation)`` pairs; either part may be empty."""
    text = speakable(text)
    pieces: list[tuple[str, str]] = []
    pos = 0
    for match in _CLAUSE_END.finditer(text):
        words = text[pos:match.start()].strip()
        punct = match.group(0)
        if words or punct:
            pieces.append((words, punct))
        pos = match.end()
    tail = text[pos:].strip()
    if tail:
        pieces.append((tail, ""))
    return pieces


@lru_cache(maxsize=4096)
def espeak_ipa(words: str, voice: str) -> str:
    """espeak-ng's IPA for ``words`` (ties kept as U+200D, clause lines joined by spaces)."""
    if not words.strip():
        return ""
    proc = subprocess.run([espeak_binary(), "-q", "--ipa=3", "-v", voice, "--", words],
                          capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise ToolError(f"espeak-ng failed phonemising with voice {voice!r}: {last}")
    return " ".join(proc.stdout.split())


def to_kokoro(ipa: str) -> str:
    """Rewrite espeak IPA into Kokoro's conventions: one symbol per affricate, no ties."""
    ipa = _LANG_SWITCH.sub("", ipa).replace("_", "")
    for src, dst in _AFFRICATES.items():
        ipa = ipa.replace(src, dst)
    return ipa.replace(ZWJ, "")


def phonemize(text: str, espeak_voice: str) -> str:
    """Kokoro phoneme string for ``text``, punctuation kept between clauses."""
    out = ""
    for words, punct in split_clauses(text):
        ipa = to_kokoro(espeak_ipa(words, espeak_voice)) if words else ""
        if ipa:
            out += ("" if not out or out.endswith(_OPENERS) else " ") + ipa
        if punct in _OPENERS:
            out += (" " if out else "") + punct
        elif punct:
            out += punct
    return out.strip()


_OPENERS = ("(", "“")


def tokenize(phonemes: str, vocab: Mapping[str, int]) -> list[int]:
    """Map phonemes to ids, dropping symbols the model does not know."""
    return [vocab[ch] for ch in phonemes if ch in vocab]


_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+")
_CLAUSE_BREAK = re.compile(r"(?<=[,—])\s+")


def chunk_phonemes(phonemes: str, limit: int) -> list[str]:
    """Split a phoneme string into pieces of at most ``limit`` symbols.

    Cuts at sentence ends first, then at commas, then at spaces, and only as a last
    resort inside a word, so that each piece keeps natural prosody.
    """
    if limit < 1:
        raise ConfigError("phoneme chunk limit must be positive")

    def pack(parts: list[str], joiner: str, finer) -> list[str]:
        chunks: list[str] = []
        current = ""
        for part in parts:
            for piece in ([part] if len(part) <= limit else finer(part)):
                candidate = f"{current}{joiner}{piece}" if current else piece
                if len(candidate) <= limit:
                    current = candidate
                else:
                    if current:
                        chunks.append(current)
                    current = piece
        if current:
            chunks.append(current)
        return chunks

    def by_chars(text: str) -> list[str]:
        return [text[i:i + limit] for i in range(0, len(text), limit)]

    def by_words(text: str) -> list[str]:
        return pack(text.split(" "), " ", by_chars)

    def by_clauses(text: str) -> list[str]:
        return pack(_CLAUSE_BREAK.split(text), " ", by_words)

    phonemes = phonemes.strip()
    if not phonemes:
        return []
    return pack(_SENTENCE_END.split(phonemes), " ", by_clauses)
