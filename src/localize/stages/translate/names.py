"""Given names a script uses as nicknames (晚晚, 晓晓), held fixed like glossary names.

Chinese dramas call characters by a doubled syllable of their given name. A model
reads 晚晚 as "evening" ("Good evening"), so such a name is written in pinyin
before the model sees the line, and checked after, like a glossary entry.

Chinese doubles many other words too: kinship terms and adverbs (妈妈, 刚刚), verbs
said softly (求求你, 救救她, 帮帮我) and four-character descriptions (清清楚楚). So a
doubled syllable counts as a name only where the script addresses someone with it, standing
alone between punctuation ("晚晚，你醒了", "别走，晚晚！", "乐乐呢？"), or where it stands for
a person: right after a word that takes one (把/带/陪/跟/有…: "把暖暖藏哪儿了", "他心里只有菲菲"),
or opening a clause ("安安是我的儿子", "晓晓你哥…") where jieba does not read it as a verb, an
adverb, a description or a time word (偷偷, 渐渐, 天天 open clauses too). A name found once is
held fixed in every line of the episode.
"""

from __future__ import annotations

import functools
import re

_DOUBLED_RE = re.compile(r"([\u4e00-\u9fff])\1")
# Doubled syllables that are kinship terms, adverbs, verbs or baby talk even when said alone
# (妈妈！ 谢谢。 等等！ 好好，…): never names.
_COMMON_DOUBLES = set(
    "妈爸哥姐弟妹爷奶叔婶姑舅姨婆公伯嫂宝娃乖谢刚常慢渐偏好快轻悄静默久早天年人看想听试说走等"
    "太姥爹娘猩"  # 太太 (Mrs., a wife), 姥姥, 爹爹, 娘娘 (an empress), 猩猩
    "笑哭跳玩聊坐躺点些个样处时刻滴步层声句遍次块片条张把阵整纷匆急连往渐明白统通夜夜日月星"
    "分秒一二三四五六七八九十百千万多少大小高低长短红绿蓝白黑满空真假实虚"
    "偷紧狠深远活足仅恰冷暗稍微频屡略谁事件回"
    "尝闻摸抱亲问找查猜讲谈算数动歇洗擦拍敲揉瞧翻练读写唱吃喝逛转让去来"  # 尝尝！ 让让！ 抱抱我
)
_BREAK = set("，。！？、…；：,.!?;:“”\"'‘’（）() ")
_PARTICLES = set("呢啊呀啦")  # 乐乐呢？ still addresses (or asks after) 乐乐
# Words right before which a doubled syllable is the person they act on or with.
_BEFORE_A_PERSON = ("把", "跟", "和", "给", "带", "陪", "找", "抱", "让", "有", "碰", "救", "欺负")
# jieba's verbs, adverbs, descriptive and time words: what else opens a clause doubled (偷偷, 渐渐, 天天).
_NOT_A_NAME = ("v", "d", "z", "t")


def given_names(lines: list[str]) -> dict[str, str]:
    """Doubled given names in ``lines`` mapped to their pinyin: ``{"晚晚": "Wanwan"}``."""
    from localize.stages.translate.markets import surname_pinyin

    names: dict[str, str] = {}
    for line in lines:
        for match in _DOUBLED_RE.finditer(line):
            pair = match.group(0)
            if match.group(1) in _COMMON_DOUBLES or pair in names or not _names_someone(line, match.start()):
                continue
            syllable = surname_pinyin(match.group(1))
            if syllable == match.group(1):  # no pinyin available: cannot hold it fixed
                continue
            names[pair] = syllable + syllable.lower()
    return names


def _names_someone(line: str, start: int) -> bool:
    """True when the doubled syllable at ``line[start:start + 2]`` addresses someone or stands for a person."""
    end = start + 2
    char = line[start]
    before = line[start - 1] if start else ""
    after = line[end:]
    if before == char or after[:1] == char or _DOUBLED_RE.match(after) or \
            (start >= 2 and _DOUBLED_RE.fullmatch(line[start - 2:start])):
        return False  # part of 走走走 or of a four-character 清清楚楚
    opens = not before or before in _BREAK
    rest = after[1:] if after[:1] in _PARTICLES else after
    if opens and (not rest or rest[0] in _BREAK):
        return True  # addressed: 晚晚，你醒了 / 乐乐呢？
    if line[:start].endswith(_BEFORE_A_PERSON):
        return True  # in a noun's place, where no adverb stands: 把暖暖藏哪儿了, 只有菲菲
    if opens:  # opening a clause, as its subject (安安是…) or addressing before 你 (晓晓你哥…)
        flag = _word_class(line, line[start:end])
        return flag is not None and not flag.startswith(_NOT_A_NAME)
    return False


def _word_class(line: str, word: str) -> str | None:
    """jieba's part-of-speech flag for ``word`` in ``line`` ("v", "d", "nr"…), or None when jieba does
    not segment it as a word of its own there."""
    for token, flag in _tagger()(line):
        if token == word:
            return flag
    return None


@functools.lru_cache(maxsize=1)
def _tagger():
    """jieba's part-of-speech tagger, quiet: it warns on import, logs its dictionary load, and logs a
    traceback when it cannot write its dictionary cache to the temp folder (harmless: it builds the
    dictionary again next time)."""
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
        import jieba.posseg

    jieba.setLogLevel(logging.CRITICAL)
    return lambda text: [(pair.word, pair.flag) for pair in jieba.posseg.cut(text)]
