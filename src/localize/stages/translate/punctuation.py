"""Chinese punctuation a model copied from the source, written as the target language writes it.

A base model continues the pattern it sees, so after a glossary term or a name written into the
Chinese line ("Mr. Gu，…") it sometimes keeps the full-width comma or question mark: "Lin Xia，you
were kicked out", "Mr. Gu？". Subtitles then show CJK marks in an English line and the voice reads
past them. Japanese keeps its own marks; every other target gets its script's marks.
"""

from __future__ import annotations

import unicodedata

from localize.locales import Locale

# Marks with no compatibility form (NFKC leaves them), per target script; the rest of the CJK and
# full-width marks fold to ASCII through NFKC (，→, ？→? ！→! ：→: ；→; （→( ）→)).
_IDEOGRAPHIC = {"。": ".", "、": ",", "《": "\u201c", "》": "\u201d", "「": "\u201c", "」": "\u201d",
                "『": "\u201c", "』": "\u201d", "【": "(", "】": ")"}
_CHINESE_ELLIPSIS = "……"  # two ellipsis characters, which are not CJK marks themselves
_BY_SCRIPT = {
    "arabic": {",": "،", "?": "؟", ";": "؛"},
    "devanagari": {".": "।"},
}
# Marks after which a word starts with a space, and marks that open a group.
_CLOSING = set(",.?!:;)…،؟؛।\u201d")
_OPENING = set("(\u201c")


def _is_cjk_mark(char: str) -> bool:
    code = ord(char)
    return (0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF0F or 0xFF1A <= code <= 0xFF20
            or 0xFF3B <= code <= 0xFF40 or 0xFF5B <= code <= 0xFF65)


def local_punctuation(text: str, locale: Locale) -> str:
    """``text`` with the CJK marks it holds written in ``locale``'s script, spaced as that script spaces
    them; unchanged for Japanese and for a line with no CJK mark."""
    if locale.language == "ja" or not (_CHINESE_ELLIPSIS in text or any(_is_cjk_mark(char) for char in text)):
        return text
    text = text.replace(_CHINESE_ELLIPSIS, "…")
    local = _BY_SCRIPT.get(locale.script, {})
    out: list[str] = []
    for index, char in enumerate(text):
        if not _is_cjk_mark(char):
            out.append(char)
            continue
        mark = _IDEOGRAPHIC.get(char) or unicodedata.normalize("NFKC", char)
        mark = "".join(local.get(c, c) for c in mark).strip()
        if not mark:  # the ideographic space
            out.append(" ")
            continue
        if mark in _CLOSING:
            while out and out[-1] == " ":
                out.pop()
            out.append(mark)
            following = text[index + 1:index + 2]
            if following and following.isalnum():
                out.append(" ")
        elif mark in _OPENING:
            if out and out[-1].isalnum():
                out.append(" ")
            out.append(mark)
        else:
            out.append(mark)
    return "".join(out).strip()
