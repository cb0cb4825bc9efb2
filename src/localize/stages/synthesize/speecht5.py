"""A neural voice-cloning backend: a SpeechT5 text-to-speech model from a folder the user gives.

SpeechT5 speaks in the voice of a speaker embedding it is conditioned on, so each character is
cloned from the original actor: the pipeline hands the backend the actor's Resemblyzer embedding
(from diarization, 256 numbers) and gets a :class:`Voice` that speaks like them.

The folder (``neural_voice_model`` in the config, ``LOCALIZE_NEURAL_VOICE_MODEL`` or
``--voice-model``) holds a ``SpeechT5ForTextToSpeech`` checkpoint with its tokenizer
(``save_pretrained`` output) and the HiFi-GAN vocoder in ``vocoder/``. Optional files:

* ``speaker_projection.npy``: a (D, 256) matrix for a model conditioned on D-dim embeddings other
  than Resemblyzer's (e.g. 512-d x-vectors); without it the model must take 256-d embeddings;
* ``languages.txt``: the language codes the model speaks, one a line (default: ``en``).

Nothing is downloaded. SpeechT5 has no speed control, so ``speed`` is applied by the WSOLA
stretch of :mod:`localize.stages.synthesize.fit` (pitch kept).
"""

from __future__ import annotations

import functools
import threading
from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from localize.errors import ModelError
from localize.locales import Locale
from localize.stages.synthesize.base import VOICES, Speech, Voice, VoiceBackend, check_speed, check_text, trim_silence

EMBEDDING_DIM = 256  # Resemblyzer's
WHERE = "set neural_voice_model in the config, LOCALIZE_NEURAL_VOICE_MODEL, or pass --voice-model PATH"
# Without a cloned actor, voices are cloned from espeak-ng variants speaking this sentence:
# distinct, reproducible and available offline.
_REFERENCE_TEXT = ("The quick brown fox jumps over the lazy dog, and then it runs back home "
                   "before the evening rain begins to fall.")
_DEFAULT_VOICES = (("m3", "male"), ("f3", "female"), ("m1", "male"), ("f2", "female"),
                   ("m7", "male"), ("f4", "female"))
_LOCK = threading.Lock()
# Backends that take a model folder (``model_dir``) and clone voices.
CLONING_BACKENDS = ("speecht5",)


class CloningBackend(VoiceBackend):
    """A voice backend that can speak in a voice cloned from a speaker embedding."""

    @abstractmethod
    def clone(self, name: str, gender: str, embedding: np.ndarray) -> Voice:
        """Register ``embedding`` (a unit-length Resemblyzer vector) under ``name``; returns its voice."""


def model_folder(model_dir: str | Path | None) -> Path:
    """The checked model folder: the argument, else the settings; a one-line :class:`ModelError` otherwise."""
    if model_dir is None:
        from localize.config import load_settings

        model_dir = getattr(load_settings(), "neural_voice_model", None)
    if not model_dir:
        raise ModelError(f"the speecht5 voice backend needs a SpeechT5 model folder: {WHERE}")
    folder = Path(model_dir).expanduser()
    if not (folder / "config.json").is_file():
        raise ModelError(f"speecht5 model folder {folder} not found or has no config.json ({WHERE})")
    if not (folder / "vocoder" / "config.json").is_file():
        raise ModelError(f"speecht5 model folder {folder} has no vocoder/ (a SpeechT5HifiGan checkpoint)")
    return folder


@functools.lru_cache(maxsize=2)
def _load(folder: str) -> dict[str, Any]:
    """Tokenizer, model, vocoder and the embedding projection, loaded once per folder."""
    import torch
    from transformers import SpeechT5ForTextToSpeech, SpeechT5HifiGan, SpeechT5Tokenizer

    try:
        tokenizer = SpeechT5Tokenizer.from_pretrained(folder)
        model = SpeechT5ForTextToSpeech.from_pretrained(folder).eval()
        vocoder = SpeechT5HifiGan.from_pretrained(str(Path(folder) / "vocoder")).eval()
    except Exception as exc:  # noqa: BLE001 - any loader failure means the model is unusable
        raise ModelError(f"cannot load the SpeechT5 model from {folder}: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    dim = int(model.config.speaker_embedding_dim)
    projection_file = Path(folder) / "speaker_projection.npy"
    projection = None
    if projection_file.is_file():
        projection = np.load(projection_file).astype(np.float32)
        if projection.shape != (dim, EMBEDDING_DIM):
            raise ModelError(f"{projection_file} has shape {projection.shape}; expected ({dim}, {EMBEDDING_DIM})")
    elif dim != EMBEDDING_DIM:
        raise ModelError(f"the SpeechT5 model in {folder} takes {dim}-d speaker embeddings; cloning gives "
                         f"{EMBEDDING_DIM}-d Resemblyzer ones: add speaker_projection.npy ({dim}x{EMBEDDING_DIM})")
    languages_file = Path(folder) / "languages.txt"
    languages = {line.strip().lower() for line in languages_file.read_text(encoding="utf-8").splitlines()
                 if line.strip()} if languages_file.is_file() else {"en"}
    return {"tokenizer": tokenizer, "model": model, "vocoder": vocoder, "projection": projection,
            "languages": languages, "rate": int(getattr(vocoder.config, "sampling_rate", 16000)), "torch": torch}


@functools.lru_cache(maxsize=8)
def espeak_reference_embedding(variant: str) -> tuple[float, ...]:
    """The Resemblyzer embedding of an espeak-ng variant reading a fixed sentence (a default voice)."""
    from localize.locales import get_locale
    from localize.stages.diarize import embed

    speech = VOICES.create("espeak").synthesize(_REFERENCE_TEXT, Voice("espeak", variant, "male"),
                                                get_locale("en-US"))
    return tuple(float(v) for v in embed(speech.samples, speech.rate))


@VOICES.register("speecht5")
class SpeechT5Backend(CloningBackend):
    """SpeechT5 + HiFi-GAN from a local folder, conditioned on cloned speaker embeddings."""

    name = "speecht5"

    def __init__(self, model_dir: str | Path | None = None, threads: int = 2,
                 max_ms_per_token: float = 200.0, min_ms_per_token: float = 20.0) -> None:
        self.folder = model_folder(model_dir)
        self.threads = threads
        # Decoding bounds: a model that never emits its stop token still ends, and one that stops
        # at once still says something. Each decoder step yields reduction_factor mel frames.
        self.max_ms_per_token = max_ms_per_token
        self.min_ms_per_token = min_ms_per_token
        self._cloned: dict[str, np.ndarray] = {}

    def _loaded(self) -> dict[str, Any]:
        return _load(str(self.folder))

    def supports(self, locale: Locale) -> bool:
        return locale.language.lower() in self._loaded()["languages"]

    def voices(self) -> list[Voice]:
        return [Voice(self.name, f"espeak-{variant}", gender) for variant, gender in _DEFAULT_VOICES]

    def clone(self, name: str, gender: str, embedding: np.ndarray) -> Voice:
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vector.shape != (EMBEDDING_DIM,) or not np.all(np.isfinite(vector)):
            raise ModelError(f"cannot clone voice {name!r}: expected a {EMBEDDING_DIM}-d speaker embedding, "
                             f"got shape {vector.shape}")
        self._cloned[f"clone-{name}"] = vector / (np.linalg.norm(vector) + 1e-9)
        return Voice(self.name, f"clone-{name}", gender)

    def _embedding(self, voice: Voice) -> np.ndarray:
        if voice.name in self._cloned:
            return self._cloned[voice.name]
        if voice.name.startswith("espeak-"):
            return np.asarray(espeak_reference_embedding(voice.name.removeprefix("espeak-")), dtype=np.float32)
        raise ModelError(f"speecht5 voice {voice.name!r} is neither cloned in this run nor a default voice "
                         f"({', '.join(v.name for v in self.voices())})")

    def synthesize(self, text: str, voice: Voice, locale: Locale, speed: float = 1.0) -> Speech:
        from localize.stages.synthesize.fit import pitch_shift, time_stretch

        text = check_text(text)
        speed = check_speed(speed)
        loaded = self._loaded()
        torch = loaded["torch"]
        model, tokenizer = loaded["model"], loaded["tokenizer"]
        vector = self._embedding(voice)
        if loaded["projection"] is not None:
            vector = loaded["projection"] @ vector
        ids = tokenizer(text, return_tensors="pt")["input_ids"]
        ids = ids[:, : int(model.config.max_text_positions)]
        frame_ms = 1000 * 256 / loaded["rate"]  # HiFi-GAN hop: 256 samples per mel frame
        with _LOCK:  # torch's thread setting is process-wide
            previous = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                with torch.inference_mode():
                    # generate_speech: steps = tokens * ratio / reduction_factor, each giving
                    # reduction_factor frames, so frames = tokens * ratio.
                    wav = model.generate_speech(
                        ids, torch.from_numpy(vector[None, :].astype(np.float32)),
                        minlenratio=self.min_ms_per_token / frame_ms,
                        maxlenratio=self.max_ms_per_token / frame_ms, vocoder=loaded["vocoder"])
            finally:
                torch.set_num_threads(previous)
        samples = np.nan_to_num(wav.detach().cpu().numpy().astype(np.float32).reshape(-1))
        rate = loaded["rate"]
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak > 0.99:  # an untrained or odd vocoder can overshoot; keep [-1, 1]
            samples = samples * (0.99 / peak)
        trimmed = trim_silence(samples, rate)
        samples = trimmed if len(trimmed) else samples
        if voice.pitch:
            samples = pitch_shift(samples, rate, voice.pitch)
        if abs(speed - 1.0) > 1e-3:
            samples = time_stretch(samples, rate, speed)
        return Speech(samples.astype(np.float32), rate)

    def close(self) -> None:
        """Keep the loaded model (cached per folder); forget this run's clones."""
        self._cloned.clear()
