"""Given names a script uses as nicknames (晚晚, 晓晓), held fixed like glossary names.

Chinese dramas call characters by a doubled syllable of their given name. A model
reads 晚晚 as "evening" ("Good evening"), so such a name is written in pinyin
before the model sees the line, and checked after, like a glossary entry. Doubled
characters that are ordinary words (妈妈, 谢谢, 刚刚, 慢慢) are not names.
"""

from __future__ import annotations

import re

_DOUBLED_RE = re.compile(r"([\u4e00-\u9fff])\1")
# Doubled syllables that are kinship terms, adverbs, verbs or baby talk, not given names.
_COMMON_DOUBLES = set(
    "妈爸哥姐弟妹爷奶叔婶姑舅姨婆公伯嫂宝娃娃乖谢刚常慢渐偏好快轻悄静默久早天年人看想听试说走等"
    "笑哭跳玩聊坐躺点些个样处时刻滴步层声句遍次块片条张把团阵整纷匆急连往渐明白统通夜夜日月星"
    "分秒一二三四五六七八九十百千万多少大小高低长短红绿蓝白黑满空真假实虚"
)


def given_names(lines: list[str]) -> dict[str, str]:
    """Doubled given names in ``lines`` mapped to their pinyin: ``{"晚晚": "Wanwan"}``."""
    from localize.stages.translate.markets import surname_pinyin

    names: dict[str, str] = {}
    for line in lines:
        for match in _DOUBLED_RE.finditer(line):
            if match.group(1) in _COMMON_DOUBLES:
                continue
            syllable = surname_pinyin(match.group(1))
            if syllable == match.group(1):  # no pinyin available: cannot hold it fixed
                continue
            names.setdefault(match.group(0), syllable + syllable.lower())
    return names
