"""Random episode scripts from a seed (`localize sample --seed N`), for evaluating speaker diarization.

A drawn episode has 2-6 characters. Characters of one gender sit a few semitones apart in pitch
(the hard case for diarization: the same espeak-ng variant may play two of them, and different
variants start at different pitches, so the gaps are set on the expected F0), each speaks at
its own speed, lines run from a one-word interjection to about 7 s, some follow the previous line
with no pause, and the music bed sits 8-16 dB under the dialogue. The same seed and options always
give the same script, so a list of seeds is a fixed test set.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from localize.errors import UsageError
from localize.sample.script import Character, Line, Script

# Median F0 (Hz) of each cmn-latn-pinyin variant at -p 50, measured on one pinyin sentence. The
# variants start up to 2 semitones apart, so pitch gaps are set in Hz, not in -p units.
VARIANT_F0_AT_50 = {"f1": 160, "f2": 170, "f3": 178, "f4": 160, "f5": 182,
                    "m1": 85, "m2": 91, "m3": 93, "m4": 81, "m5": 89, "m6": 89, "m7": 94}
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
# espeak-ng's -p moves F0 by about one semitone per 5.3 units around the middle of its range
# (measured on cmn-latn-pinyin+f2: p 30/50/70 -> 137/170/212 Hz).
PITCH_UNITS_PER_SEMITONE = 5.3
# -p ranges that sound like a woman / a man with every variant (m1, m4 and m7 break up under ~25).
FEMALE_PITCH = (35, 92)
MALE_PITCH = (25, 80)
SPEED = (140, 215)  # syllables per minute
MIN_SPEAKERS, MAX_SPEAKERS = 2, 6
MIN_LINES_EACH = 3

FEMALE_NAMES = [("林晓", "Lin Xiao"), ("苏晴", "Su Qing"), ("王妈", "Mother Wang"), ("陈雪", "Chen Xue"),
                ("李婉", "Li Wan"), ("赵琳", "Zhao Lin")]
MALE_NAMES = [("顾总", "Mr. Gu"), ("陈浩", "Chen Hao"), ("李叔", "Uncle Li"), ("张伟", "Zhang Wei"),
              ("周明", "Zhou Ming"), ("王强", "Wang Qiang")]

# Clauses (Chinese, English) that lines are built from; a line joins one to three of them.
CLAUSES = [
    ("你怎么会在这里", "what are you doing here"), ("我早就知道了", "I knew it all along"),
    ("这件事跟你没关系", "this has nothing to do with you"), ("你给我站住", "stop right there"),
    ("合同已经签好了", "the contract is signed"), ("明天早上九点来公司", "come to the office at nine tomorrow"),
    ("我不会再相信你了", "I will never trust you again"), ("她到底是谁", "who on earth is she"),
    ("别以为我不敢", "don't think I wouldn't dare"), ("钱我会还给你的", "I will pay you back"),
    ("妈，你听我解释", "Mom, let me explain"), ("你们先出去吧", "you all go out first"),
    ("今天的事谁也不许说出去", "nobody breathes a word about today"), ("我只是路过", "I was just passing by"),
    ("董事会马上就要开始了", "the board meeting is about to start"), ("你以为你是谁", "who do you think you are"),
    ("这是我们家的事", "this is our family's business"), ("我等了你三年", "I waited three years for you"),
    ("快点把门打开", "open the door, quick"), ("他根本不爱你", "he never loved you"),
    ("这份文件你看一下", "take a look at this document"), ("我会让你后悔的", "I'll make you regret this"),
    ("对不起，我来晚了", "sorry, I'm late"), ("你先冷静一点", "calm down first"),
    ("我们离婚吧", "let's get divorced"), ("医院那边来电话了", "the hospital called"),
    ("孩子是无辜的", "the child is innocent"), ("我可以解释", "I can explain"),
    ("你别碰我", "don't touch me"), ("外面下雨了", "it's raining outside"),
    ("爷爷的遗嘱改了", "grandfather changed his will"), ("我已经不是以前的我了", "I'm not who I used to be"),
    ("这个项目必须拿下", "we have to win this project"), ("你为什么要骗我", "why did you lie to me"),
    ("请你马上离开", "please leave at once"), ("我们走着瞧", "we'll see about that"),
]
INTERJECTIONS = [("嗯。", "Mm."), ("什么？", "What?"), ("啊？", "Huh?"), ("好。", "Okay."), ("哼！", "Hmph!"),
                 ("真的？", "Really?"), ("你！", "You!"), ("不行！", "No!")]
ENDINGS = [("。", "."), ("！", "!"), ("？", "?")]


@dataclass(frozen=True)
class DrawOptions:
    """What ``--seed`` may be told about the cast; anything left None is drawn from the seed."""

    speakers: int | None = None  # 2-6
    women: int | None = None  # how many of the speakers are women
    max_semitones: float | None = None  # pitch gap between neighbouring same-gender characters, at most
    lines: int | None = None


def _check(options: DrawOptions) -> None:
    if options.speakers is not None and not MIN_SPEAKERS <= options.speakers <= MAX_SPEAKERS:
        raise UsageError(f"--speakers must be between {MIN_SPEAKERS} and {MAX_SPEAKERS}, got {options.speakers}")
    if options.women is not None and not 0 <= options.women <= (options.speakers or MAX_SPEAKERS):
        raise UsageError(f"--women must be between 0 and the number of speakers, got {options.women}")
    if options.max_semitones is not None and not 1.0 <= options.max_semitones <= 12.0:
        raise UsageError(f"--max-semitones must be between 1 and 12, got {options.max_semitones}")
    if options.lines is not None and not 4 <= options.lines <= 200:
        raise UsageError(f"--lines must be between 4 and 200, got {options.lines}")


def semitones(variant: str, pitch: int) -> float:
    """The expected F0 of ``variant`` at ``-p pitch``, in semitones above 55 Hz."""
    return 12 * math.log2(VARIANT_F0_AT_50[variant] / 55) + (pitch - 50) / PITCH_UNITS_PER_SEMITONE


def _reachable(variants: tuple[str, ...], span: tuple[int, int]) -> tuple[float, float]:
    """The F0 range (semitones above 55 Hz) that every one of ``variants`` reaches within ``span``."""
    return (max(semitones(v, span[0]) for v in variants), min(semitones(v, span[1]) for v in variants))


def _targets(rng: random.Random, count: int, span: tuple[float, float], max_semitones: float | None) -> list[float]:
    """``count`` F0s (semitones), neighbours 2-5 semitones apart (at most ``max_semitones``), in random order."""
    high = max_semitones if max_semitones is not None else 5.0
    low = min(2.0, high)
    gaps = [rng.uniform(low, high) for _ in range(count - 1)]
    room = span[1] - span[0] - sum(gaps)
    if room < 0:  # too many voices for the range: squeeze the gaps to fit
        gaps = [g * (span[1] - span[0]) / sum(gaps) for g in gaps]
        room = 0
    pitch = span[0] + rng.uniform(0, room)
    values = [pitch]
    for gap in gaps:
        pitch += gap
        values.append(pitch)
    rng.shuffle(values)
    return values


def _cast(rng: random.Random, options: DrawOptions) -> list[Character]:
    count = options.speakers or rng.randint(MIN_SPEAKERS, MAX_SPEAKERS)
    women = options.women if options.women is not None else rng.randint(max(1, count - 3), min(count - 1, 3))
    women = min(women, count)
    female_names, male_names = rng.sample(FEMALE_NAMES, women), rng.sample(MALE_NAMES, count - women)
    characters = []
    for names, variants, span in ((female_names, FEMALE_VARIANTS, FEMALE_PITCH),
                                  (male_names, MALE_VARIANTS, MALE_PITCH)):
        targets = _targets(rng, len(names), _reachable(variants, span), options.max_semitones)
        for (zh, en), target in zip(names, targets):
            variant = rng.choice(variants)  # with replacement: two characters may share a variant
            pitch = round(50 + (target - semitones(variant, 50)) * PITCH_UNITS_PER_SEMITONE)
            characters.append(Character(
                name=zh, en=en, gender="female" if variants is FEMALE_VARIANTS else "male", variant=variant,
                pitch=min(max(pitch, span[0]), span[1]), speed=rng.randint(*SPEED), word_gap=rng.choice((0, 0, 1)),
                color="#%02x%02x%02x" % tuple(rng.randint(40, 220) for _ in range(3))))
    rng.shuffle(characters)
    return characters


def _line_text(rng: random.Random) -> tuple[str, str]:
    """A line's (Chinese, English): an interjection one time in ten, else one to three clauses (up to ~7 s)."""
    if rng.random() < 0.1:
        return rng.choice(INTERJECTIONS)
    clauses = rng.sample(CLAUSES, rng.choice((1, 1, 1, 2, 2, 3, 3)))
    zh_end, en_end = rng.choice(ENDINGS)
    zh = "，".join(c[0] for c in clauses) + zh_end
    en = ", ".join(c[1] for c in clauses)
    return zh, en[0].upper() + en[1:] + en_end


def _speaker_order(rng: random.Random, names: list[str], count: int) -> list[str]:
    """Who speaks each line: every character at least :data:`MIN_LINES_EACH` times, leads more often,
    the same speaker twice in a row now and then (a long speech cut in two)."""
    weights = [rng.uniform(0.5, 2.0) for _ in names]
    order = [name for name in names for _ in range(MIN_LINES_EACH)]
    order += rng.choices(names, weights=weights, k=max(0, count - len(order)))
    rng.shuffle(order)
    return order


def draw_script(seed: int, options: DrawOptions | None = None) -> Script:
    """The episode script that ``seed`` (with ``options``) stands for."""
    options = options or DrawOptions()
    _check(options)
    rng = random.Random(seed)
    characters = _cast(rng, options)
    count = options.lines or rng.randint(18, 30)
    count = max(count, MIN_LINES_EACH * len(characters))
    lines = []
    for index, speaker in enumerate(_speaker_order(rng, [c.name for c in characters], count)):
        zh, en = _line_text(rng)
        # A quarter of the lines follow the previous one with no pause at all.
        pause = None if index == 0 else (0 if rng.random() < 0.25 else rng.randint(150, 1200))
        lines.append(Line(speaker=speaker, zh=zh, en=en, pause_ms=pause))
    return Script(title=f"第{seed}集", title_en=f"Drawn episode {seed}", series="随机短剧", series_en="Drawn series",
                  characters={c.name: c for c in characters}, lines=lines, episode=max(1, seed % 10000),
                  music_below_db=round(rng.uniform(8.0, 16.0), 1), seed=seed)
