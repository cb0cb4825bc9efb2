"""Mandarin speech from espeak-ng, for the sample episode's characters.

espeak-ng's plain ``cmn`` voice reads Hanzi badly, so every line goes through
pypinyin first (tone numbers, ``Style.TONE3``) and is spoken by the
``cmn-latn-pinyin`` voice, which reads pinyin syllables with their tones.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from math import gcd

import numpy as np

from localize.errors import ToolError
from localize.sample.script import Character

# Full-width punctuation becomes ASCII so espeak pauses on it instead of spelling it.
_PUNCT = {"，": ",", "。": ".", "！": "!", "？": "?", "、": ",", "；": ";", "：": ":", "…": ".",
          "……": ".", "—": ",", "——": ",", "“": "", "”": "", "‘": "", "’": "", "《": "", "》": ""}


def to_pinyin(zh: str) -> str:
    """Chinese text as space-separated pinyin syllables with tone numbers (neutral tone = 5)."""
    from pypinyin import Style, lazy_pinyin

    out: list[str] = []
    for token in lazy_pinyin(zh, style=Style.TONE3, neutral_tone_with_five=True):
        token = token.strip()
        if not token:
            continue
        if token in _PUNCT:
            token = _PUNCT[token]
        elif all(ch in _PUNCT for ch in token):
            token = "".join(_PUNCT[ch] for ch in token)
        if token:
            out.append(token)
    return " ".join(out).replace(" ,", ",").replace(" .", ".").replace(" !", "!").replace(" ?", "?")


def espeak_argv(character: Character, text: str) -> list[str]:
    """The espeak-ng command that speaks pinyin ``text`` in ``character``'s voice to stdout (WAV)."""
    return ["espeak-ng", "-v", character.voice, "-p", str(character.pitch), "-s", str(character.speed),
            "-g", str(character.word_gap), "--stdout", text]


def espeak_variants() -> set[str]:
    """Names of the voice variants espeak-ng knows (``m3``, ``f4``, ``aunty``...); empty if it cannot say.

    espeak-ng silently falls back to its default voice for an unknown variant, so the
    generator checks names against this list instead of trusting the synthesis to fail.
    """
    binary = shutil.which("espeak-ng")
    if binary is None:
        return set()
    proc = subprocess.run([binary, "--voices=variant"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, errors="replace")
    names = set()
    for row in proc.stdout.splitlines():
        if "!v/" in row:
            names.add(row.split("!v/", 1)[1].strip())
    return names


def speak(character: Character, pinyin: str, rate: int) -> np.ndarray:
    """Synthesise ``pinyin`` and return float32 mono samples at ``rate`` Hz, silence not yet trimmed."""
    import soundfile as sf
    from scipy.signal import resample_poly

    binary = shutil.which("espeak-ng")
    if binary is None:
        raise ToolError("espeak-ng not found on PATH; install it (Debian: apt-get install espeak-ng)")
    argv = espeak_argv(character, pinyin)
    proc = subprocess.run([binary, *argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0 or len(proc.stdout) < 100:
        reason = proc.stderr.decode("utf-8", "replace").strip() or "no audio produced"
        raise ToolError(f"espeak-ng failed for {character.name} (voice {character.voice}): {reason}")
    try:
        audio, source_rate = sf.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=False)
    except Exception as exc:  # soundfile raises its own error types
        raise ToolError(f"espeak-ng returned unreadable audio for {character.name}: {exc}") from None
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if source_rate != rate:
        g = gcd(rate, source_rate)
        audio = resample_poly(audio, rate // g, source_rate // g).astype(np.float32)
    return audio


def trim_silence(audio: np.ndarray, rate: int, *, threshold_db: float = -45.0, pad_ms: int = 10) -> np.ndarray:
    """Cut leading and trailing silence: keep from the first to the last 5 ms frame above ``threshold_db``
    relative to the loudest frame, plus ``pad_ms`` each side, with short fades against clicks."""
    frame = max(1, rate // 200)
    n = len(audio) // frame
    if n == 0:
        return audio[:0]
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-20)
    loud = np.nonzero(rms > rms.max() * 10 ** (threshold_db / 20))[0]
    if loud.size == 0:
        return audio[:0]
    pad = rate * pad_ms // 1000
    start = max(0, loud[0] * frame - pad)
    end = min(len(audio), (loud[-1] + 1) * frame + pad)
    clip = audio[start:end].copy()
    fade = min(len(clip) // 2, rate * 5 // 1000)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        clip[:fade] *= ramp
        clip[-fade:] *= ramp[::-1]
    return clip


def active_rms(audio: np.ndarray, rate: int, *, threshold_db: float = -35.0) -> float:
    """RMS over the 20 ms frames that hold speech (within ``threshold_db`` of the loudest frame)."""
    frame = max(1, rate // 50)
    n = len(audio) // frame
    if n == 0:
        return 0.0
    power = np.mean(audio[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1)
    keep = power > power.max() * 10 ** (threshold_db / 10)
    return float(np.sqrt(power[keep].mean())) if keep.any() else 0.0
