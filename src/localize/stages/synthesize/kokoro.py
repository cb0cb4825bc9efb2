"""Kokoro-82M (int8 ONNX, 24 kHz) voices, phonemised through espeak-ng."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from localize.errors import ConfigError, ModelError, UnspeakableText
from localize.locales import Locale
from localize.stages.synthesize.base import VOICES, Speech, Voice, VoiceBackend, check_speed, check_text, join_speech, trim_silence
from localize.stages.synthesize.fit import pitch_shift
from localize.stages.synthesize.phonemes import chunk_phonemes, phonemize, tokenize

RATE = 24000
MAX_TOKENS = 500   # the style table has 510 rows (one per input length); stay clear of it
CHUNK_PAUSE_MS = 180
THREADS = 2

# The cast, in casting order per gender. Only one male voice ships, so the other men are
# jm_kumo shifted in pitch (formants move with it, so the man sounds bigger or younger,
# not the same man singing) and a blend with a little of a female style. Measured on
# three English sentences with pyworld (median F0) and Resemblyzer (cosine similarity;
# jm_kumo vs. jm_kumo with 20 % of a female style, nearly the same voice, scores
# 0.94-0.98; the four shipped women score 0.66-0.89 among themselves):
#   jm_kumo 90 Hz, jm_kumo -3 st 76 Hz, kumo/tebukuro blend +3 st 141 Hz; similarity
#   between these three 0.64-0.77. Whisper base heard all of them word for word.
CAST: tuple[Voice, ...] = (
    Voice("kokoro", "jm_kumo", "male"),
    Voice("kokoro", "jf_alpha", "female"),                            # 257 Hz
    Voice("kokoro", "jm_kumo", "male", pitch=-3.0),
    Voice("kokoro", "jf_gongitsune", "female"),                       # 210 Hz
    Voice("kokoro", "jm_kumo:0.8+jf_tebukuro:0.2", "male", pitch=3.0),
    Voice("kokoro", "jf_tebukuro", "female"),                         # 314 Hz
    Voice("kokoro", "jf_nezumi", "female"),                           # 242 Hz
)
# Median F0 (Hz) of the unshifted voices on English speech (pyworld, the sentences above and
# bench/voices.py's reference line); a pitch shift of s semitones multiplies it by 2**(s/12).
CAST_F0_HZ = {"jm_kumo": 91.0, "jm_kumo:0.8+jf_tebukuro:0.2": 123.0, "jf_alpha": 260.0,
              "jf_gongitsune": 215.0, "jf_tebukuro": 325.0, "jf_nezumi": 244.0}

_SILENT = " ;:,.!?—…\"()“”'"  # punctuation alone makes a breath of noise, not speech

_TERM = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(?::\s*(-?[0-9]*\.?[0-9]+))?\s*$")


def parse_blend(spec: str) -> list[tuple[str, float]]:
    """``"jm_kumo:0.7+jf_alpha:0.3"`` -> ``[("jm_kumo", 0.7), ("jf_alpha", 0.3)]``, weights summing to 1.

    A name without a weight counts 1; weights are normalised so only their ratio matters.
    """
    terms: list[tuple[str, float]] = []
    for part in spec.split("+"):
        match = _TERM.match(part)
        if not match:
            raise ConfigError(f"bad Kokoro voice spec {spec!r}; expected e.g. 'jm_kumo:0.7+jf_alpha:0.3'")
        terms.append((match.group(1), float(match.group(2)) if match.group(2) else 1.0))
    total = sum(w for _, w in terms)
    if abs(total) < 1e-6:
        raise ConfigError(f"Kokoro voice spec {spec!r}: weights sum to zero")
    return [(name, w / total) for name, w in terms]


@lru_cache(maxsize=2)
def _session(model_path: str, threads: int, spinning: bool = False):
    """One ONNX session per process: loading takes seconds and the weights ~90 MB."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle threads sleep instead of spinning: the market's x264 encode runs beside the voices, and
    # spinning threads took its cores (bench/kokoro_threads.py).
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    try:
        return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load Kokoro model {model_path}: {exc}") from exc


@lru_cache(maxsize=2)
def _vocab(path: str) -> dict[str, int]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return data.get("vocab", data)  # the shipped file nests the table under "vocab"


@lru_cache(maxsize=2)
def _voice_tables(path: str) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {name: npz[name].astype(np.float32) for name in npz.files}


@VOICES.register("kokoro")
class KokoroBackend(VoiceBackend):
    """Kokoro-82M. Covers the locales whose :attr:`Locale.kokoro_espeak` is set."""

    name = "kokoro"
    rate = RATE

    def __init__(self, model_dir: Path | str | None = None, threads: int = THREADS, spinning: bool = False) -> None:
        self._model_dir = Path(model_dir) if model_dir else None
        self.threads = threads
        self.spinning = spinning  # onnxruntime's busy-waiting threads; off so x264 beside us keeps its cores

    # -- model files -------------------------------------------------------
    def model_dir(self) -> Path:
        if self._model_dir is None:
            from localize import models

            self._model_dir = models.kokoro()
        for name in ("kokoro.onnx", "vocab.json", "voices_ja.npz"):
            if not (self._model_dir / name).exists():
                raise ModelError(f"Kokoro model folder {self._model_dir} lacks {name}")
        return self._model_dir

    def vocab(self) -> dict[str, int]:
        return _vocab(str(self.model_dir() / "vocab.json"))

    def style_table(self, spec: str) -> np.ndarray:
        """The (510, 1, 256) style table for a voice id or blend spec."""
        tables = _voice_tables(str(self.model_dir() / "voices_ja.npz"))
        blend = np.zeros_like(next(iter(tables.values())))
        for name, weight in parse_blend(spec):
            if name not in tables:
                raise ConfigError(f"unknown Kokoro voice {name!r}; available: {', '.join(sorted(tables))}")
            blend += weight * tables[name]
        return blend

    # -- VoiceBackend ------------------------------------------------------
    def supports(self, locale: Locale) -> bool:
        return locale.kokoro_espeak is not None

    def identity(self) -> str:
        """The model, vocabulary and voice files (by size and time) and the espeak-ng that phonemizes."""
        from localize.stages.synthesize.phonemes import espeak_version

        files = [self.model_dir() / name for name in ("kokoro.onnx", "vocab.json", "voices_ja.npz")]
        return repr([(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files] + [espeak_version()])

    def voices(self) -> list[Voice]:
        return list(CAST)

    def voice_f0_hz(self, voice: Voice) -> float | None:
        base = CAST_F0_HZ.get(voice.name)
        return base * 2 ** (voice.pitch / 12) if base else None

    def phonemes(self, text: str, locale: Locale) -> str:
        """Kokoro phoneme string for ``text`` in ``locale``."""
        if not self.supports(locale):
            raise ConfigError(f"Kokoro does not cover {locale.tag}; use the espeak backend")
        phonemes = phonemize(check_text(text), locale.kokoro_espeak)
        if not phonemes.strip(_SILENT):
            raise UnspeakableText(f"nothing pronounceable in {text!r} for {locale.tag}")
        return phonemes

    def synthesize(self, text: str, voice: Voice, locale: Locale, speed: float = 1.0) -> Speech:
        speed = check_speed(speed)
        phonemes = self.phonemes(text, locale)
        vocab = self.vocab()
        table = self.style_table(voice.name)
        session = _session(str(self.model_dir() / "kokoro.onnx"), self.threads, self.spinning)
        parts: list[np.ndarray] = []
        for chunk in chunk_phonemes(phonemes, MAX_TOKENS):
            ids = tokenize(chunk, vocab)
            if not ids:
                continue
            tokens = np.array([[0, *ids, 0]], dtype=np.int64)
            style = table[len(ids) - 1].reshape(1, -1)
            audio = session.run(None, {"tokens": tokens, "style": style,
                                       "speed": np.array([speed], dtype=np.float32)})[0]
            part = trim_silence(np.asarray(audio, dtype=np.float32).reshape(-1), RATE)
            if part.size:
                parts.append(part)
        if not parts:
            raise UnspeakableText(f"nothing pronounceable in {text!r} for {locale.tag}")
        samples = join_speech(parts, RATE, int(CHUNK_PAUSE_MS / speed))
        if voice.pitch:
            samples = pitch_shift(samples, RATE, voice.pitch)
        return Speech(np.clip(samples, -1.0, 1.0), RATE)
