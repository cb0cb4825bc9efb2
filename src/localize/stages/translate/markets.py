"""Market rules: how one market renders money, titles, kinship, slang, names and register.

A rules file is ``glossaries/markets/<locale>.yaml`` (see the shipped ones). Rules are
applied three ways:

* as **terms** (honorifics, kinship, localized names): merged under the series
  glossary, so they are pre-substituted into the source and enforced like glossary
  terms;
* as **hints** (idioms, converted amounts): written into the source the model sees,
  and checked where a check is exact (a literal rendering of an idiom, a missing
  converted amount);
* as a **brief** in prompts of instruction-following backends (currency, formality,
  content policy, idiom meanings).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from localize.errors import ConfigError
from localize.stages.translate.numbers import cn_value, figure, source_amounts
from localize.yamlfile import read_yaml

CURRENCY_POLICIES = ("keep", "convert", "localize")
# pinyin: names as pinyin; localized: the ``names`` map; transcribed: in the market's own script or
# reading (Thai or Arabic letters, Sino-Vietnamese), surnames from the ``surnames`` map.
NAME_POLICIES = ("pinyin", "localized", "transcribed")
# Languages written without spaces between words: rule words are matched against a word segmenter's
# tokens there, so a short word is not found inside a longer one.
UNSPACED_LANGUAGES = ("th",)
# Common surnames, so "X总" turns into a title only after a real surname (not 总是 "always").
SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
               "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤楚傅霍")
_MONEY_RE = re.compile(r"([0-9][0-9,]*(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千万亿]+)(万|亿)?(块钱|块|元|人民币)")


@dataclass
class Currency:
    """What to do with amounts in yuan: ``keep`` them, ``convert`` at ``rate``, or ``localize`` (convert and round)."""

    policy: str = "keep"
    unit: str = "yuan"
    code: str = ""
    symbol: str = ""
    word: str = ""
    rate: float = 0.0
    # Under ``keep``: the market's own money names ("dollars", "$"), which a kept amount must not carry.
    local_names: tuple[str, ...] = ()


@dataclass
class Idiom:
    """A set phrase or slang word: what it means, and literal renderings that betray a word-for-word translation."""

    meaning: str
    literal: list[str] = field(default_factory=list)


@dataclass
class MarketRules:
    """One market's rules, as loaded from its YAML file."""

    locale: str
    currency: Currency = field(default_factory=Currency)
    units: str = "metric"
    name_policy: str = "pinyin"
    names: dict[str, str] = field(default_factory=dict)
    surnames: dict[str, str] = field(default_factory=dict)
    formality_note: str = ""
    formal_triggers: list[str] = field(default_factory=list)
    informal_words: list[str] = field(default_factory=list)
    formal_words: list[str] = field(default_factory=list)
    honorific_patterns: dict[str, str] = field(default_factory=dict)
    honorifics: dict[str, str] = field(default_factory=dict)
    kinship: dict[str, str] = field(default_factory=dict)
    idioms: dict[str, Idiom] = field(default_factory=dict)
    content_note: str = ""
    banned: list[str] = field(default_factory=list)

    # -- terms ---------------------------------------------------------------------------------
    def terms_for(self, lines: list[str]) -> dict[str, str]:
        """Fixed renderings these lines need: titles (顾总 -> Mr. Gu), kinship, localized names.

        An empty rendering means the word is dropped (English says "Auntie" but not "big brother").
        """
        out: dict[str, str] = {}
        for pattern, target in self.honorific_patterns.items():
            suffix = pattern[1:] if pattern.startswith("X") else pattern
            for line in lines:
                for match in re.finditer(f"([{''.join(sorted(SURNAMES))}]){re.escape(suffix)}", line):
                    surname = self.surnames.get(match.group(1)) or surname_pinyin(match.group(1))
                    out.setdefault(match.group(0), target.replace("{X}", surname))
        out.update(self.kinship)
        out.update(self.honorifics)
        if self.name_policy in ("localized", "transcribed"):
            out.update(self.names)
        return out

    def hints_for(self, line: str) -> dict[str, str]:
        """Idioms in ``line`` mapped to their meaning, for pre-substitution (not enforced word for word)."""
        return {k: v.meaning for k, v in self.idioms.items() if k in line}

    # -- currency ------------------------------------------------------------------------------
    def amounts(self, line: str) -> list[tuple[str, str]]:
        """(source span, rendering) for each yuan amount in ``line`` under the currency policy."""
        out = []
        for match in _MONEY_RE.finditer(line):
            value = money_value(match.group(1), match.group(2))
            if value is None:
                continue
            out.append((match.group(0), self.render_amount(value)))
        return out

    def figures(self, line: str) -> list[tuple[str, str, str]]:
        """(source span, rendering, its figure) for each yuan amount in ``line``: the figure of
        "$125,000 pesos" is "125,000", what a translation must state."""
        out = []
        for span, rendering in self.amounts(line):
            number = re.search(r"[0-9][0-9.,]*[0-9]|[0-9]", rendering)
            if number:
                out.append((span, rendering, number.group(0)))
        return out

    def render_amount(self, yuan: float) -> str:
        """An amount in yuan as this market says it: "50,000 yuan", "$125,000 pesos", "R$ 40 mil"."""
        cur = self.currency
        if cur.policy == "keep" or not cur.rate:
            return f"{figure(yuan, self.locale)} {cur.unit}".strip()
        value = yuan * cur.rate
        if cur.policy == "localize":
            value = _round_figure(value)
        else:
            value = round(value) if value >= 100 else round(value, 2)
        number = figure(value, self.locale)
        if cur.symbol and cur.word:
            return f"{cur.symbol}{number} {cur.word}"
        return f"{cur.symbol}{number}" if cur.symbol else f"{number} {cur.word or cur.code}"

    def prepare(self, line: str) -> str:
        """The source line with amounts and idiom meanings written in, as a model should read it."""
        for span, rendering in self.amounts(line):
            line = line.replace(span, rendering, 1)
        for source, meaning in sorted(self.hints_for(line).items(), key=lambda kv: -len(kv[0])):
            line = line.replace(source, meaning)
        return line

    # -- checks --------------------------------------------------------------------------------
    def check(self, text: str, source: str) -> list[str]:
        """Problems with ``text`` under these rules: currency, literal idioms, formality, banned words."""
        problems: list[str] = []
        lowered = text.lower()
        if self.currency.policy in ("convert", "localize"):
            for span, rendering, shown in self.figures(source):
                if _digits_only(shown) not in _digits_only(text):
                    problems.append(f"currency: {span} must be given as {rendering!r} ({self.currency.policy} policy)")
        elif source_amounts(source):
            named = [name for name in self.currency.local_names if self._names_money(text, name)]
            if named:
                problems.append(f"currency: amounts stay in {self.currency.unit} (keep policy), not {named[0]!r}")
        for source_term, idiom in self.idioms.items():
            if source_term in source:
                for literal in idiom.literal:
                    if self._has_words(lowered, literal.lower()):
                        problems.append(f"idiom: {source_term} rendered literally ({literal!r}); it means "
                                        f"{idiom.meaning!r}")
        if self.informal_words and any(t in source for t in self.formal_triggers):
            used = [w for w in self.informal_words if self._has_words(lowered, w.lower())]
            if used:
                problems.append(f"formality: the source is formal (您/title), use {'/'.join(self.formal_words[:2])} "
                                f"not {', '.join(used)}")
        for word in self.banned:
            if self._has_words(lowered, word.lower()):
                problems.append(f"content: {word!r} is not allowed in this market")
        return problems

    @property
    def language(self) -> str:
        """The bare language of the market's locale: "th" for th-TH."""
        return self.locale.split("-")[0].lower()

    def _names_money(self, text: str, name: str) -> bool:
        """Whether ``text`` uses the money name ``name``: a symbol anywhere, a word as a word."""
        if _is_symbol(name):
            return name in text
        return self._has_words(text.lower(), name.lower())

    def keep_currency(self, text: str) -> str:
        """``text`` with this market's own money names put back to the kept unit: "$300 million fine"
        -> "300 million yuan fine", "an 880,000-dollar watch" -> "an 880,000-yuan watch". Unchanged
        unless the market keeps yuan."""
        if self.currency.policy != "keep":
            return text
        unit = self.currency.unit
        for name in self.currency.local_names:
            if not self._names_money(text, name):
                continue
            if _is_symbol(name) or len(name) <= 3:  # a symbol or code before its figure
                text = re.sub(rf"{re.escape(name)}\s?({_STATED_FIGURE})", rf"\1 {unit}", text)
            if self.language in UNSPACED_LANGUAGES:
                text = text.replace(name, unit)
            else:
                text = re.sub(_word_pattern(name), unit, text, flags=re.IGNORECASE)
        return text

    def _has_words(self, text: str, words: str) -> bool:
        if self.language in UNSPACED_LANGUAGES:
            return _has_segmented_words(text, words, self.language)
        return _has_words(text, words)

    def brief(self) -> str:
        """The rules as plain sentences, for a backend that follows instructions."""
        cur = self.currency
        money = {"keep": f"keep amounts in {cur.unit}",
                 "convert": f"convert yuan to {cur.code} at {cur.rate} and say the converted figure",
                 "localize": f"convert yuan to {cur.code} at {cur.rate}, rounded as people say it"}[cur.policy]
        names = {"pinyin": "pinyin, as given in the glossary.",
                 "localized": "use the localized names in the glossary.",
                 "transcribed": "write Chinese names in this market's own script or reading, as the glossary "
                                "gives them."}[self.name_policy]
        parts = [f"Money: {money}.", f"Units: {self.units}.", f"Names: {names}"]
        if self.formality_note:
            parts.append(f"Register: {self.formality_note}")
        if self.idioms:
            parts.append("Slang: " + "; ".join(f"{k} = {v.meaning}" for k, v in self.idioms.items()) + ".")
        if self.content_note:
            parts.append(f"Content: {self.content_note}")
        return " ".join(parts)


def surname_pinyin(char: str) -> str:
    """"顾" -> "Gu"; falls back to the character itself when pypinyin is unavailable."""
    try:
        from pypinyin import lazy_pinyin
    except ImportError:
        return char
    syllable = "".join(lazy_pinyin(char))
    return syllable[:1].upper() + syllable[1:]


def money_value(number: str, magnitude: str | None) -> float | None:
    """"五" + "万" -> 50000.0; "1.5" + "万" -> 15000.0; None when ``number`` is not an amount."""
    if number[0].isdigit():
        try:
            value = float(number.replace(",", ""))
        except ValueError:
            return None
    else:
        try:
            value = float(cn_value(number))
        except KeyError:
            return None
    return value * {"万": 10_000, "亿": 100_000_000}.get(magnitude or "", 1)


def _round_figure(value: float) -> float:
    # Two significant figures: 37,500 -> 38,000; people say round numbers.
    if value < 10:
        return round(value)
    digits = len(str(int(value))) - 2
    return round(value, -digits)


# A figure as a translation writes it after a money symbol: "300", "2,000,000", "2.5 million", "25k".
_STATED_FIGURE = r"\d(?:[\d,.]*\d)?(?:\s?(?:million|billion|thousand|k|juta|miliar|ribu)\b)?"


def _digits_only(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def _word_pattern(words: str) -> str:
    """A regex for ``words`` standing as words: no letter or digit right before or after."""
    return rf"(?<!\w){re.escape(words)}(?!\w)"


def _has_words(text: str, words: str) -> bool:
    return re.search(_word_pattern(words), text) is not None


def _is_symbol(name: str) -> bool:
    """A money name with no letter in it ("$", "฿"): found anywhere, not as a word."""
    return not any(ch.isalpha() for ch in name)


def _has_segmented_words(text: str, words: str, language: str) -> bool:
    """Whether ``words`` occurs in ``text`` as whole words of a language written without spaces.

    Both are cut by pythainlp's dictionary segmenter (newmm) and compared token by token, so the
    rude "แก" is not found inside "แก้" (fix) or "แก่" (old).
    """
    tokens, needle = _segment(text, language), _segment(words, language)
    if not needle:
        return False
    return any(tokens[i:i + len(needle)] == needle for i in range(len(tokens) - len(needle) + 1))


@functools.lru_cache(maxsize=4096)
def _segment(text: str, language: str) -> tuple[str, ...]:
    from pythainlp.tokenize import word_tokenize  # only Thai is unspaced so far

    return tuple(tok for tok in word_tokenize(text, engine="newmm", keep_whitespace=False) if tok.strip())


def markets_dir() -> Path:
    """The folder of market rule files: ``$LOCALIZE_MARKETS_DIR``, else the shipped ones.

    The shipped rules are package data (``localize/data/markets``, so an installed wheel has them);
    the repository's ``glossaries/markets`` is a link to that folder.
    """
    env = os.environ.get("LOCALIZE_MARKETS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data" / "markets"


def _str_map(value: object, where: str, path: Path, allow_empty: bool = False) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {where} must be a mapping")
    out = {}
    for key, target in value.items():
        target = "" if target is None and allow_empty else target
        if not isinstance(key, str) or not isinstance(target, str) or (not target.strip() and not allow_empty):
            raise ConfigError(f"{path}: {where}.{key} must map text to text, got {target!r}")
        out[key.strip()] = target.strip()
    return out


def _str_list(value: object, where: str, path: Path) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {where} must be a list of strings")
    return list(value)


def parse_rules(data: dict, path: Path) -> MarketRules:
    """Build :class:`MarketRules` from a parsed YAML mapping; malformed input raises :class:`ConfigError`."""
    known = {"locale", "currency", "units", "names", "surnames", "formality", "honorific_patterns", "honorifics",
             "kinship", "idioms", "content"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{path}: unknown key(s): {', '.join(sorted(map(str, unknown)))}")
    cur = data.get("currency") or {}
    if not isinstance(cur, dict) or cur.get("policy", "keep") not in CURRENCY_POLICIES:
        raise ConfigError(f"{path}: currency.policy must be one of {', '.join(CURRENCY_POLICIES)}")
    try:
        currency = Currency(policy=cur.get("policy", "keep"), unit=str(cur.get("unit", "yuan")),
                            code=str(cur.get("code", "")), symbol=str(cur.get("symbol", "")),
                            word=str(cur.get("word", "")), rate=float(cur.get("rate", 0) or 0),
                            local_names=tuple(str(name) for name in cur.get("local_names") or ()))
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: currency.rate must be a number") from None
    if currency.policy != "keep" and currency.rate <= 0:
        raise ConfigError(f"{path}: currency.policy {currency.policy} needs a positive currency.rate")
    names = data.get("names") or {}
    formality = data.get("formality") or {}
    content = data.get("content") or {}
    if not all(isinstance(b, dict) for b in (names, formality, content)):
        raise ConfigError(f"{path}: names, formality and content must be mappings")
    idioms: dict[str, Idiom] = {}
    for key, value in (data.get("idioms") or {}).items():
        if isinstance(value, str):
            value = {"meaning": value}
        if not isinstance(value, dict) or not isinstance(value.get("meaning"), str):
            raise ConfigError(f"{path}: idioms.{key} needs a 'meaning'")
        idioms[str(key)] = Idiom(meaning=value["meaning"], literal=_str_list(value.get("literal"),
                                                                              f"idioms.{key}.literal", path))
    if data.get("units", "metric") not in ("metric", "imperial"):
        raise ConfigError(f"{path}: units must be metric or imperial")
    policy = names.get("policy", "pinyin")
    if policy not in NAME_POLICIES:
        raise ConfigError(f"{path}: names.policy must be one of {', '.join(NAME_POLICIES)}")
    return MarketRules(
        locale=str(data.get("locale") or path.stem), currency=currency, units=data.get("units", "metric"),
        name_policy=policy, names=_str_map(names.get("names"), "names.names", path),
        surnames=_str_map(data.get("surnames"), "surnames", path),
        formality_note=str(formality.get("note", "")),
        formal_triggers=_str_list(formality.get("formal_triggers"), "formality.formal_triggers", path),
        informal_words=_str_list(formality.get("informal_words"), "formality.informal_words", path),
        formal_words=_str_list(formality.get("formal_words"), "formality.formal_words", path),
        honorific_patterns=_str_map(data.get("honorific_patterns"), "honorific_patterns", path),
        honorifics=_str_map(data.get("honorifics"), "honorifics", path, allow_empty=True),
        kinship=_str_map(data.get("kinship"), "kinship", path, allow_empty=True),
        idioms=idioms, content_note=str(content.get("note", "")),
        banned=_str_list(content.get("banned"), "content.banned", path))


def load_market(locale_tag: str, folder: Path | None = None) -> MarketRules | None:
    """The rules for ``locale_tag`` (``es-MX.yaml``, else ``es.yaml``); ``None`` when the market has none."""
    folder = Path(folder) if folder else markets_dir()
    tag = locale_tag.strip().replace("_", "-")
    for name in (tag, tag.split("-")[0]):
        for candidate in folder.glob("*.yaml"):
            if candidate.stem.lower() == name.lower():
                return _load_file(str(candidate))
    return None


@functools.lru_cache(maxsize=32)
def _load_file(path_text: str) -> MarketRules:
    path = Path(path_text)
    return parse_rules(read_yaml(path, "market rules"), path)
