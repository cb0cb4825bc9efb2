"""A neural voice for the languages Kokoro lacks: VITS in the layout of Meta's MMS-TTS models.

``--voice mms --voice-model DIR`` (or ``voice_backend: mms`` with ``neural_voice_model: DIR`` in the
config, or ``$LOCALIZE_NEURAL_VOICE_MODEL``). ``DIR`` is either

* one model: a ``VitsModel.save_pretrained`` folder with its ``VitsTokenizer`` files (what
  ``facebook/mms-tts-tha`` holds), speaking the language in ``DIR/languages.txt`` (codes one a line,
  ``th`` or ``tha``) or, without that file, the ISO 639-3 code ending the folder's name
  (``mms-tts-tha``); or
* a per-locale map: a folder of such model folders, one per language, each named by its locale tag,
  language or ISO 639-3 code (``th-TH/``, ``ar/``, ``mms-tts-vie/``).

Nothing is downloaded. Each character gets a distinct voice: the model's speaker ids when it has
several, else pitch-and-timbre offsets of its one voice (down for men, up for women; the shift
resamples the spectrum, so the formants move with the pitch). Speed is VITS's own ``speaking_rate``.
"""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from localize.errors import ModelError
from localize.locales import ISO639_2, Locale
from localize.stages.synthesize.base import VOICES, Speech, Voice, VoiceBackend, check_speed, check_text, trim_silence

OPTION = "--voice-model DIR (or neural_voice_model in the config, LOCALIZE_NEURAL_VOICE_MODEL)"
# One voice, several characters: semitone offsets per gender, in casting order.
_OFFSETS = {"male": (-4.0, -6.5, -2.5), "female": (0.0, 2.5, -1.5)}
_LOCK = threading.Lock()
_ISO639_3_TO_1 = {three: one for one, three in ISO639_2.items()}


def _language_of(code: str) -> str:
    """``th-TH`` / ``th`` / ``tha`` / ``mms-tts-tha`` -> ``th``; empty when it names no language."""
    code = code.strip().lower().replace("_", "-")
    last = code.rsplit("-", 1)[-1]
    if len(last) == 3 and last in _ISO639_3_TO_1:
        return _ISO639_3_TO_1[last]
    first = code.split("-", 1)[0]
    return first if len(first) == 2 and first in ISO639_2 else ""


def _is_model(folder: Path) -> bool:
    return (folder / "config.json").is_file()


def _model_languages(folder: Path) -> set[str]:
    listed = folder / "languages.txt"
    if listed.is_file():
        return {_language_of(line) or line.strip().lower()
                for line in listed.read_text(encoding="utf-8").splitlines() if line.strip()}
    language = _language_of(folder.name)
    return {language} if language else set()


def model_folders(model_dir: str | Path | None) -> dict[str, Path]:
    """Language code -> model folder, from one model folder or a folder of them; one-line :class:`ModelError`."""
    if model_dir is None:
        from localize.config import load_settings

        model_dir = load_settings().neural_voice_model
    if not model_dir:
        raise ModelError(f"the mms voice backend needs a VITS (MMS-TTS) model folder: pass {OPTION}")
    root = Path(model_dir).expanduser()
    if not root.is_dir():
        raise ModelError(f"mms model folder {root} not found ({OPTION})")
    candidates = [root] if _is_model(root) else sorted(p for p in root.iterdir() if p.is_dir() and _is_model(p))
    if not candidates:
        raise ModelError(f"{root} holds no VITS model (no config.json in it or its subfolders); set {OPTION}")
    folders: dict[str, Path] = {}
    for folder in candidates:
        _check_vits(folder)
        languages = _model_languages(folder)
        if not languages:
            raise ModelError(f"cannot tell which language the VITS model in {folder} speaks: add languages.txt "
                             f"(e.g. 'th') or name the folder after it (mms-tts-tha) ({OPTION})")
        for language in languages:
            folders.setdefault(language, folder)
    return folders


def _check_vits(folder: Path) -> None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder}/config.json is unreadable ({exc}); set {OPTION}") from None
    if config.get("model_type") != "vits":
        raise ModelError(f"{folder} holds a {config.get('model_type')!r} model, not a VITS (MMS-TTS) one; "
                         f"set {OPTION}")
    if not (folder / "vocab.json").is_file():
        raise ModelError(f"{folder} has no vocab.json (the VitsTokenizer saved with the model); set {OPTION}")


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> dict[str, Any]:
    """Tokenizer and model, loaded once per folder."""
    import torch
    from transformers import VitsModel, VitsTokenizer

    try:
        tokenizer = VitsTokenizer.from_pretrained(folder)
        model = VitsModel.from_pretrained(folder).eval()
    except Exception as exc:  # noqa: BLE001 - any loader failure means the model is unusable
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelError(f"cannot load the VITS model from {folder}: {type(exc).__name__}: {first} ({OPTION})") \
            from None
    if len(tokenizer) > model.config.vocab_size:
        raise ModelError(f"the tokenizer in {folder} has {len(tokenizer)} symbols but the model takes "
                         f"{model.config.vocab_size}: mismatched files ({OPTION})")
    return {"tokenizer": tokenizer, "model": model, "torch": torch, "rate": int(model.config.sampling_rate),
            "speakers": int(model.config.num_speakers)}


@VOICES.register("mms")
class MmsBackend(VoiceBackend):
    """VITS (MMS-TTS) models from a local folder, one per language."""

    name = "mms"

    def __init__(self, model_dir: str | Path | None = None, threads: int = 2, seed: int = 0) -> None:
        self.folders = model_folders(model_dir)
        self.threads = threads
        self.seed = seed  # VITS samples its durations and latents: a fixed seed gives the same line each run

    def supports(self, locale: Locale) -> bool:
        return locale.language.lower() in self.folders

    def _speaker_count(self) -> int:
        # The cast is shared by every language's model: the smallest speaker count bounds the ids.
        return min(_load(str(folder))["speakers"] for folder in set(self.folders.values()))

    def voices(self) -> list[Voice]:
        speakers = self._speaker_count()
        if speakers > 1:  # alternate genders over the model's speakers; its metadata says none
            return [Voice(self.name, f"spk{i}", "male" if i % 2 == 0 else "female") for i in range(speakers)]
        return [Voice(self.name, "spk0", gender, pitch=offset)
                for offsets in zip(_OFFSETS["male"], _OFFSETS["female"])
                for gender, offset in zip(("male", "female"), offsets)]

    def synthesize(self, text: str, voice: Voice, locale: Locale, speed: float = 1.0) -> Speech:
        from localize.stages.synthesize.fit import pitch_shift

        text = check_text(text)
        speed = check_speed(speed)
        if not self.supports(locale):
            raise ModelError(f"no VITS model for {locale.tag} in {OPTION}: have "
                             f"{', '.join(sorted(self.folders)) or 'none'}")
        loaded = _load(str(self.folders[locale.language.lower()]))
        torch, model, tokenizer = loaded["torch"], loaded["model"], loaded["tokenizer"]
        if getattr(tokenizer, "is_uroman", False):
            raise ModelError(f"the VITS model for {locale.tag} expects romanised (uroman) input, which localize "
                             f"does not produce; use a model trained on the native script ({OPTION})")
        inputs = tokenizer(text, return_tensors="pt")
        if inputs["input_ids"].shape[-1] == 0:
            raise ModelError(f"the VITS tokenizer for {locale.tag} knows none of the characters of {text[:30]!r}: "
                             f"is it the right language's model? ({OPTION})")
        speaker = int(voice.name.removeprefix("spk")) if voice.name.startswith("spk") else 0
        if speaker >= loaded["speakers"]:
            raise ModelError(f"mms voice {voice.name!r} is not a speaker of the {locale.tag} model "
                             f"({loaded['speakers']} speakers)")
        with _LOCK:  # torch's thread count and the model's speaking rate are shared state
            previous = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            model.speaking_rate = speed
            torch.manual_seed(self.seed)
            try:
                with torch.inference_mode():
                    kwargs = {"speaker_id": speaker} if loaded["speakers"] > 1 else {}
                    waveform = model(**inputs, **kwargs).waveform
            finally:
                model.speaking_rate = 1.0
                torch.set_num_threads(previous)
        samples = np.nan_to_num(waveform.detach().cpu().numpy().astype(np.float32).reshape(-1))
        rate = loaded["rate"]
        trimmed = trim_silence(samples, rate)
        samples = trimmed if len(trimmed) else samples
        if voice.pitch:
            samples = pitch_shift(samples, rate, voice.pitch)
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak > 0.99:  # keep [-1, 1] (an untrained model or the shift can overshoot)
            samples = samples * (0.99 / peak)
        return Speech(samples.astype(np.float32), rate)
