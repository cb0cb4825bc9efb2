"""Transcribe: Chinese speech to timed segments with word timings (faster-whisper + Silero VAD)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, ModelError, SilentInputError
from ..model import Segment, Transcript, Word
from ..progress import progress
from ..registry import Registry

VERSION = "2"
# A pause this long inside a Whisper segment starts a new line (often a new speaker).
SPLIT_GAP_MS = 450
# Biases Whisper toward simplified characters and punctuation.
ZH_PROMPT = "以下是普通话的对白，使用简体中文。"


@dataclass(frozen=True)
class TranscribeOptions:
    """Settings that change the transcript (and so its cache key)."""

    model: str = "whisper-base"
    language: str = "zh"
    beam_size: int = 5
    vad: bool = True
    # Refuse the input when Whisper is at least this sure it hears another language.
    wrong_language_confidence: float = 0.8


class Transcriber:
    """Base class of ASR backends."""

    name = "base"

    def transcribe(self, audio: Path, options: TranscribeOptions, duration_ms: int) -> Transcript:
        raise NotImplementedError

    def close(self) -> None:
        """Free the model (called between pipeline phases)."""


TRANSCRIBERS: Registry[Transcriber] = Registry("transcription")


@functools.lru_cache(maxsize=2)
def _whisper(folder: str, compute_type: str):
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(folder, device="cpu", compute_type=compute_type, cpu_threads=0)
    except Exception as exc:
        raise ModelError(f"cannot load Whisper from {folder}: {exc}") from None


def split_on_gaps(segment: Segment, gap_ms: int = SPLIT_GAP_MS) -> list[Segment]:
    """Split a segment where its words leave a pause of ``gap_ms`` or more."""
    if len(segment.words) < 2:
        return [segment]
    groups: list[list[Word]] = [[segment.words[0]]]
    for word in segment.words[1:]:
        if word.start_ms - groups[-1][-1].end_ms >= gap_ms:
            groups.append([word])
        else:
            groups[-1].append(word)
    if len(groups) == 1:
        return [segment]
    return [Segment(id=0, start_ms=g[0].start_ms, end_ms=g[-1].end_ms,
                    source_text="".join(w.text for w in g).strip(), words=g) for g in groups]


@TRANSCRIBERS.register("whisper-base")
class FasterWhisper(Transcriber):
    """faster-whisper on the embedded CTranslate2 Whisper base (or a folder the user gives)."""

    name = "whisper-base"

    def __init__(self, model_dir: Path | None = None, compute_type: str = "int8") -> None:
        self.model_dir = model_dir
        self.compute_type = compute_type

    def _model(self):
        if self.model_dir is None:
            from ..models import whisper_base

            self.model_dir = whisper_base()
        if not (Path(self.model_dir) / "model.bin").exists():
            raise ModelError(f"no Whisper model.bin in {self.model_dir}")
        return _whisper(str(self.model_dir), self.compute_type)

    def transcribe(self, audio: Path, options: TranscribeOptions, duration_ms: int) -> Transcript:
        model = self._model()
        language, probability = self._check_language(model, audio, options)
        segments_iter, _info = model.transcribe(
            str(audio), language=language, beam_size=options.beam_size, word_timestamps=True,
            vad_filter=options.vad, vad_parameters={"min_silence_duration_ms": 300},
            initial_prompt=ZH_PROMPT if language == "zh" else None, condition_on_previous_text=False)
        segments: list[Segment] = []
        with progress(total=duration_ms // 1000, desc="transcribe", unit="s") as bar:
            for raw in segments_iter:
                words = [Word(int(round(w.start * 1000)), int(round(w.end * 1000)), w.word, float(w.probability))
                         for w in (raw.words or [])]
                segment = Segment(id=0, start_ms=int(round(raw.start * 1000)), end_ms=int(round(raw.end * 1000)),
                                  source_text=raw.text.strip(), words=words)
                segments.extend(s for s in split_on_gaps(segment) if s.source_text)
                bar.update(max(0, int(raw.end) - bar.n))
        for index, segment in enumerate(segments):
            segment.id = index
        if not segments:
            raise SilentInputError(f"{audio.name}: no speech found; nothing to dub")
        return Transcript(language=language, segments=segments, language_probability=probability)

    @staticmethod
    def _check_language(model, audio: Path, options: TranscribeOptions) -> tuple[str, float]:
        """Detect the spoken language and refuse clearly-other-language episodes."""
        from faster_whisper.audio import decode_audio

        samples = decode_audio(str(audio), sampling_rate=16000)
        language, probability, _all = model.detect_language(samples, vad_filter=True)
        if language != options.language and probability >= options.wrong_language_confidence:
            raise InputError(f"{audio.name}: expected {options.language} speech but heard {language} "
                             f"(confidence {probability:.2f}); set the source language")
        return options.language, float(probability if language == options.language else 1.0 - probability)

    def close(self) -> None:
        _whisper.cache_clear()
