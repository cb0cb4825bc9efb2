"""Spoken Chinese numbers (五万, 百分之三十) read as values and written as digits for a market."""

from __future__ import annotations

import difflib
import re

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
# 三个亿 ("three hundred million", said with a measure word) is one amount.
_CN_NUMBER_RE = re.compile(r"(百分之)?([零〇一二两三四五六七八九十百千万亿]+(?:个亿)?)(块钱|块|元)?")
# Thousands separators: "50,000" in English, "50.000" in Portuguese.
_DOT_GROUPING = {"pt", "id", "de", "it", "vi", "es-es"}


def cn_value(run: str) -> int:
    """The value of a run of Chinese numerals: 五万 -> 50000, 一万五 -> 15000."""
    total = section = number = 0
    previous = 0
    for ch in run.replace("个", ""):
        if ch in _CN_DIGITS:
            number = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            previous = _CN_UNITS[ch]
            section += (number or 1) * previous
            number = 0
        else:
            previous = _CN_BIG[ch]
            total = (total + section + number) * previous if ch == "亿" else total + (section + number) * previous
            section = number = 0
    if number and run[-1] in _CN_DIGITS and len(run) > 1 and previous >= 100:
        number *= previous // 10  # spoken shorthand: 一万五 is 15,000, 三千五 is 3,500
    return total + section + number


def figure(value: float, locale_tag: str) -> str:
    """``value`` grouped as the market writes it: 50000 -> "50,000" (en), "50.000" (pt, es-ES);
    a fraction keeps two decimals with the market's decimal mark (1,234.50 / 1.234,50)."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if _dot_grouping(locale_tag):
        text = text.translate(str.maketrans(",.", ".,"))
    return text


def _dot_grouping(locale_tag: str) -> bool:
    tag = locale_tag.lower()
    return tag in _DOT_GROUPING or tag.split("-")[0] in _DOT_GROUPING


def amounts_as_digits(text: str, locale_tag: str) -> str:
    """Write Chinese amounts as digits ("五万块" -> "50,000块", "百分之二十" -> "20%").

    The model misreads spelled-out magnitudes (it gave "five thousand" for 五万), but
    copies digits faithfully. Only runs that are clearly amounts change: a digit
    before a magnitude, or a money word after; 千万 ("by all means"), 万一 ("in case")
    and 一直 stay as they are.
    """
    def swap(match: re.Match[str]) -> str:
        percent, run, money = match.group(1), match.group(2), match.group(3)
        has_magnitude = any(ch in _CN_UNITS or ch in _CN_BIG for ch in run)
        # 十五万 counts (a digit follows), 十万火急 does not (an idiom with no digit at all).
        digit_first = run[0] in _CN_DIGITS or (run[0] == "十" and any(ch in _CN_DIGITS for ch in run))
        if not percent and not (money and has_magnitude) and not (digit_first and has_magnitude and len(run) > 1):
            return match.group(0)
        value = figure(cn_value(run), locale_tag)
        return f"{value}%" if percent else f"{value}{money or ''}"

    return _CN_NUMBER_RE.sub(swap, text)


_DIGITS_RE = re.compile(r"\d[\d,.\s]*\d|\d")
# Longest word first: "2 mil millones" is 2,000,000,000, not "2 mil" (2,000) and a stray word.
_SCALE_WORDS = r"mil millones|millones|millón|million|billion|thousand|mil|k"
_SCALED_RE = re.compile(rf"(\d+(?:[.,]\d+)?)\s*({_SCALE_WORDS})\b", re.IGNORECASE)
_SCALES = {"k": 1_000, "thousand": 1_000, "mil": 1_000, "million": 1_000_000, "millones": 1_000_000,
           "millón": 1_000_000, "billion": 1_000_000_000, "mil millones": 1_000_000_000}


def source_amounts(source: str) -> list[int]:
    """The amounts a line states, as values: Chinese ones (as :func:`amounts_as_digits` reads them) and digits.

    ``"晓晓你哥又欠了五万块"`` -> ``[50000]``; idioms such as 千万 or 万一 give nothing.
    """
    values: list[int] = []
    for match in _DIGITS_RE.finditer(amounts_as_digits(source, "en-US")):
        raw = re.sub(r"[,\s]", "", match.group(0))
        if raw.replace(".", "").isdigit() and raw.count(".") <= 1:
            values.append(round(float(raw)))
    return values


def spoken_numbers(source: str) -> set[int]:
    """Every number a Chinese line says, amount or not: 三年 -> 3, 五万块 -> 50000, 2024 -> 2024."""
    values = {int(m.group(0)) for m in re.finditer(r"\d+", source)}
    for match in _CN_NUMBER_RE.finditer(source):
        try:
            values.add(cn_value(match.group(2)))
        except KeyError:
            continue
    return values


def stated_values(text: str) -> set[int]:
    """Every number a translation states: ``"50,000"``, ``"50 000"``, ``"50k"``, ``"5 million"``."""
    values: set[int] = set()
    for match in _SCALED_RE.finditer(text):
        number = float(match.group(1).replace(",", "."))
        values.add(round(number * _SCALES[match.group(2).lower()]))
    for match in _DIGITS_RE.finditer(text):
        for grouping in (r"[,.\s]", r"[,\s]"):  # 50.000 (es/pt grouping) and 1.5 (a decimal point)
            raw = re.sub(grouping, "", match.group(0))
            try:
                values.add(round(float(raw)))
            except ValueError:
                continue
    return values


def amount_problems(text: str, source: str) -> list[str]:
    """``amount`` problems: an amount the source states that the translation does not give in figures.

    The model saw the amount as digits (:func:`amounts_as_digits`), so a line without
    that figure misread it (五万 written "five thousand"); words for a figure do not count
    as stating it, and :func:`replace_figure` writes the figure in their place.
    """
    stated = stated_values(text)
    return [f"amount: {value:,} must appear as a figure" for value in dict.fromkeys(source_amounts(source))
            if value not in stated]


_FIGURE_RE = re.compile(rf"(?:\d[\d,.\s]*\d|\d)(?:\s*(?:{_SCALE_WORDS})\b)?", re.IGNORECASE)


_TOKEN_RE = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*|\S")


def spelled_numbers(text: str, language: str) -> list[tuple[int, int, int]]:
    """(start, end, value) of each number ``text`` spells in words: "three million" -> 3,000,000.

    text2num reads the words (en, es, pt, fr, de, it, nl); a lone "one" or "uno" is left alone,
    as it reads as a word. Empty for a language it does not read.
    """
    from text_to_num import alpha2digit

    try:
        digits = alpha2digit(text, language)
    except (ValueError, KeyError):  # a language text2num has no grammar for
        return []
    if digits == text:
        return []
    mine = list(_TOKEN_RE.finditer(text))
    theirs = [match.group(0) for match in _TOKEN_RE.finditer(digits)]
    spans = []
    matcher = difflib.SequenceMatcher(None, [match.group(0) for match in mine], theirs, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        values = stated_values(" ".join(theirs[j1:j2])) if op == "replace" else set()
        if len(values) == 1:
            spans.append((mine[i1].start(), mine[i2 - 1].end(), values.pop()))
    return spans


# Scale nouns that take "de"/"d'" before what they count (es, pt, fr): "dos millones de pesos",
# "três milhões de reais", "trois millions d'euros". A plain figure takes none: "300.000 pesos".
_SCALE_NOUN_END = re.compile(r"(?:millones|millón|millon|milhões|milhão|millions?|milliards?|billones|billón)\s*$",
                             re.IGNORECASE)
_OF_AFTER_SCALE = re.compile(r"\s+(?:de\s+|d['’]\s*)", re.IGNORECASE)


def replace_figure(text: str, wanted: str, allowed: set[int], language: str = "en") -> str | None:
    """``text`` with its one wrong figure replaced by ``wanted``, or None when that is not clear-cut.

    Clear-cut means the line states exactly one figure whose value is not in ``allowed``
    (the other numbers the source states, such as a year or a count), in digits or in
    words of ``language``: "This is a 20,000 yuan check." becomes "This is a 2,000,000 yuan
    check." when 两百万 was meant, and "the surgery costs three million" gets "300,000" for
    三十万. The right amount in words ("two million") is written as the figure too. A line
    giving no figure at all, or several wrong ones, is left for a person.
    """
    figures = list(_FIGURE_RE.finditer(text))
    # "2 millones" is one figure; text2num would read its scale word alone as a second number.
    spelled = [(start, end, value) for start, end, value in spelled_numbers(text, language)
               if not any(start < match.end() and match.start() < end for match in figures)]
    wrong = [(match.start(), match.end()) for match in figures if not stated_values(match.group(0)) & allowed]
    wrong += [(start, end) for start, end, value in spelled if value not in allowed]
    if not wrong:  # the right amount, but in words ("two million"): written as the figure
        wrong = [(start, end) for start, end, value in spelled if value in stated_values(wanted)]
    if len(wrong) != 1:
        return None
    start, end = wrong[0]
    if _SCALE_NOUN_END.search(text[start:end]) and not _SCALE_NOUN_END.search(wanted):
        # "tres millones de yuanes" -> "300.000 yuanes": the "de" belonged to the scale noun.
        of = _OF_AFTER_SCALE.match(text, end)
        if of:
            return f"{text[:start]}{wanted} {text[of.end():]}"
    return text[:start] + wanted + text[end:]
