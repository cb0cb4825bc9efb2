"""Synthetic test mixes with known stems: Mandarin espeak-ng voices over a synthesized music bed.

Used by the separation tests and benchmark when the project's sample generator
(:mod:`localize.sample`) is not available, and for short mixes where a full episode
would be too slow. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localize.audio import resample, write_wav
from localize.errors import ToolError

RATE = 48000

# (speaker, line): short drama lines, written for these tests.
SCRIPT: tuple[tuple[int, str], ...] = (
    (0, "你为什么要骗我？"),
    (1, "我没有骗你，事情不是你想的那样。"),
    (0, "那你昨天晚上去哪里了？"),
    (2, "顾总，会议已经准备好了，大家都在等您。"),
    (1, "告诉他们，我马上就到。"),
    (3, "妈妈说过，这个家永远欢迎你回来。"),
    (0, "我不需要你们的同情。"),
    (2, "合同的事情，我们明天再谈吧。"),
    (3, "孩子，你受苦了，快进来吃饭。"),
    (1, "从今天开始，没有人可以欺负你。"),
    (0, "你说的都是真的吗？"),
    (2, "董事长已经签字了，公司现在是您的。"),
)

# espeak-ng variant, pitch (0-99) and speed (words per minute) per speaker: two women, two men.
SPEAKERS: tuple[tuple[str, int, int], ...] = (("f3", 70, 165), ("m3", 35, 160), ("f2", 55, 175), ("m1", 20, 150))


@dataclass
class SyntheticLine:
    speaker: int
    text: str
    start_ms: int
    end_ms: int


@dataclass
class SyntheticMix:
    """A stereo 48 kHz mix and its true stems (``mix == dialogue + music``)."""

    dialogue: np.ndarray
    music: np.ndarray
    rate: int
    lines: list[SyntheticLine] = field(default_factory=list)

    @property
    def mix(self) -> np.ndarray:
        return self.dialogue + self.music

    @property
    def duration_ms(self) -> int:
        return int(round(1000 * len(self.music) / self.rate))

    @property
    def script(self) -> str:
        return "".join(line.text for line in self.lines)

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        """Write ``mix.48k.wav`` (stereo) and ``mix.16k.wav`` (mono analysis copy); return both paths."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        mix_path, analysis_path = out_dir / "mix.48k.wav", out_dir / "mix.16k.wav"
        write_wav(mix_path, self.mix, self.rate)
        write_wav(analysis_path, resample(self.mix.mean(axis=1), self.rate, 16000), 16000)
        return mix_path, analysis_path


def speak_mandarin(text: str, variant: str, pitch: int, speed: int) -> np.ndarray:
    """Mandarin speech (mono float32 at 48 kHz) from espeak-ng's pinyin voice; silence trimmed."""
    from pypinyin import Style, lazy_pinyin

    # The plain `cmn` voice spells Hanzi as letters; the pinyin voice needs tone numbers.
    pinyin = " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))
    argv = ["espeak-ng", "-v", f"cmn-latn-pinyin+{variant}", "-p", str(pitch), "-s", str(speed), "--stdout", pinyin]
    try:
        wav = subprocess.run(argv, capture_output=True, check=True).stdout
    except FileNotFoundError:
        raise ToolError("espeak-ng not found on PATH (Debian: apt-get install espeak-ng)") from None
    except subprocess.CalledProcessError as exc:
        raise ToolError(f"espeak-ng failed: {exc.stderr.decode(errors='replace')[-300:]}") from None
    import io

    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    active = np.flatnonzero(np.abs(samples) > 1e-3)
    if active.size:
        samples = samples[active[0]: active[-1] + 1]
    return resample(samples, rate, RATE)


def _note_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def _envelope(n: int, attack: int, release: int) -> np.ndarray:
    env = np.ones(n, dtype=np.float32)
    attack, release = min(attack, n), min(release, n)
    env[:attack] = np.linspace(0, 1, attack, endpoint=False)
    if release:
        env[n - release:] *= np.linspace(1, 0, release)
    return env


def synth_music(seconds: float, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """A stereo music bed: pad chords, bass, a plucked melody and drums (float32, peak ~0.9).

    The melody sits in the voice's frequency range on purpose: that is where separation is hard.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros((n, 2), dtype=np.float32)
    bpm = 92.0
    beat = int(rate * 60 / bpm)
    bar = 4 * beat
    # A minor: Am - F - C - G, as MIDI roots with minor/major triads.
    chords = [(57, (0, 3, 7)), (53, (0, 4, 7)), (48, (0, 4, 7, 12)), (55, (0, 4, 7))]
    t_bar = np.arange(bar) / rate
    for index, start in enumerate(range(0, n, bar)):
        root, intervals = chords[index % len(chords)]
        length = min(bar, n - start)
        # Pad: additive saw-like tones, slightly detuned between the channels for width.
        env = _envelope(bar, rate // 4, rate // 3)[:length]
        for interval in intervals:
            f = _note_hz(root + interval)
            for ch, detune in ((0, 0.998), (1, 1.002)):
                tone = sum(np.sin(2 * np.pi * f * detune * k * t_bar[:length] + rng.uniform(0, 6.28)) / k
                           for k in range(1, 7))
                out[start:start + length, ch] += 0.05 * env * tone
        # Bass: root two octaves down, one pluck per beat.
        for b in range(4):
            s = start + b * beat
            if s >= n:
                break
            m = min(beat, n - s)
            tb = np.arange(m) / rate
            fb = _note_hz(root - 12 if root - 12 >= 36 else root)
            pluck = np.exp(-tb * 3.0) * (np.sin(2 * np.pi * fb * tb) + 0.3 * np.sin(4 * np.pi * fb * tb))
            out[s:s + m] += 0.22 * pluck[:, None]
        # Melody: eighth notes from the chord's scale, panned left, in the 300-1000 Hz range.
        scale = [0, 2, 3, 5, 7, 8, 10, 12, 14, 15]
        for e in range(8):
            s = start + e * beat // 2
            if s >= n or rng.random() < 0.25:
                continue
            m = min(beat // 2, n - s)
            tm = np.arange(m) / rate
            f = _note_hz(root + 12 + scale[rng.integers(len(scale))])
            note = np.exp(-tm * 6.0) * sum(np.sin(2 * np.pi * f * k * tm) * 0.6 ** k for k in range(1, 5))
            out[s:s + m, 0] += 0.16 * note
            out[s:s + m, 1] += 0.07 * note
    # Drums: kick on 1 and 3, snare on 2 and 4, hi-hat on eighths (right).
    for s in range(0, n, beat // 2):
        step = (s // (beat // 2)) % 8
        m = min(beat // 2, n - s)
        td = np.arange(m) / rate
        if step in (0, 4):
            sweep = 2 * np.pi * np.cumsum(50 + 90 * np.exp(-td * 30)) / rate
            out[s:s + m] += (0.35 * np.exp(-td * 12) * np.sin(sweep))[:, None]
        if step in (2, 6):
            noise = rng.standard_normal(m) * np.exp(-td * 25)
            out[s:s + m] += (0.10 * noise + 0.08 * np.exp(-td * 20) * np.sin(2 * np.pi * 190 * td))[:, None]
        hat = np.diff(rng.standard_normal(m + 1)) * np.exp(-td * 80)
        out[s:s + m, 0] += 0.015 * hat
        out[s:s + m, 1] += 0.035 * hat
    return (out * (0.9 / max(1e-9, np.abs(out).max()))).astype(np.float32)


def build_mix(seconds: float = 60.0, seed: int = 0, music_db: float = -13.0,
              script: tuple[tuple[int, str], ...] | None = None) -> SyntheticMix:
    """Place script lines (with 0.4-1.8 s pauses) over music; music sits ``music_db`` below dialogue.

    ``music_db`` is the music-to-dialogue energy ratio over the whole mix, so the raw mix scores
    about ``music_db`` dB SI-SDR against the music stem. ``script`` (speaker, text) pairs default to
    :data:`SCRIPT`, repeated until the mix is full; a given script is placed once.
    """
    rng = np.random.default_rng(seed + 1)
    n = int(seconds * RATE)
    dialogue = np.zeros(n, dtype=np.float32)
    placed: list[SyntheticLine] = []
    cursor = int(rng.uniform(0.5, 1.2) * RATE)
    once = script is not None
    script = SCRIPT if script is None else script
    index = 0
    while cursor < n and (not once or index < len(script)):
        speaker, text = script[index % len(script)]
        voice = SPEAKERS[speaker]
        clip = speak_mandarin(text, *voice)
        if cursor + len(clip) > n - RATE // 4:
            break
        clip = clip * (0.1 / max(1e-9, float(np.sqrt(np.mean(clip ** 2)))))
        dialogue[cursor:cursor + len(clip)] += clip
        placed.append(SyntheticLine(speaker, text, cursor * 1000 // RATE, (cursor + len(clip)) * 1000 // RATE))
        cursor += len(clip) + int(rng.uniform(0.4, 1.8) * RATE)
        index += 1
    music = synth_music(seconds, seed=seed)
    dialogue_st = np.stack([dialogue, dialogue], axis=1)
    gain = np.sqrt(np.sum(dialogue_st ** 2) / max(1e-12, np.sum(music ** 2))) * 10 ** (music_db / 20)
    music = music * gain
    peak = max(np.abs(dialogue_st + music).max(), 1e-9)
    scale = min(1.0, 0.9 / peak)
    return SyntheticMix(dialogue=(dialogue_st * scale).astype(np.float32), music=(music * scale).astype(np.float32),
                        rate=RATE, lines=placed)
