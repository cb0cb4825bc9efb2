"""Reading the subtitle files people bring: SRT/ASS/VTT in whatever encoding their editor saved.

Chinese studios' files come as UTF-8 (with or without a BOM), UTF-16 from Windows tools, or
GB18030/GBK; charset-normalizer picks the encoding when the file has no BOM and is not UTF-8.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from localize.errors import InputError

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_text(data: bytes, name: str) -> str:
    """``data`` as text: by its BOM, else UTF-8, else the encoding charset-normalizer finds."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"{name}: starts as {encoding} text but is not ({exc.reason})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # A few lines are too little for a statistical guess (charset-normalizer read 你好 in GB18030 as
    # Korean), so the encoding a Chinese file most likely has goes first: it must decode strictly
    # and give Chinese characters.
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    wide = [ch for ch in text if ord(ch) > 127]
    if wide and sum("\u4e00" <= ch <= "\u9fff" or ch in "，。！？、：；“”" for ch in wide) >= 0.9 * len(wide):
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InputError(f"{name}: not text in any encoding we know (is it a subtitle file?)")
    return str(best)


def load_subtitles(path: Path):
    """The events of a subtitle file as a ``pysubs2.SSAFile``; one-line :class:`InputError` otherwise."""
    import pysubs2

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read subtitles {path}: {exc.strerror or exc}") from None
    text = decode_text(data, path.name)
    if not text.strip():
        raise InputError(f"{path.name}: the subtitle file is empty")
    try:
        subs = pysubs2.SSAFile.from_string(text)
    except (pysubs2.exceptions.Pysubs2Error, ValueError) as exc:
        raise InputError(f"{path.name}: not a subtitle file pysubs2 can read (SRT, ASS, VTT): {exc}") from None
    if not subs.events:
        raise InputError(f"{path.name}: the subtitle file holds no events")
    return subs
