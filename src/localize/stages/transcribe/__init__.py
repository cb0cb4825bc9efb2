"""Transcribe: Chinese speech to timed segments with word timings (faster-whisper + Silero VAD)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from localize.errors import ModelError, SilentInputError
from localize.model import Segment, Transcript, Word
from localize.progress import progress
from localize.registry import Registry

VERSION = "3"
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
    # Refuse the input when Whisper is at least this sure it hears another language, over at least
    # this much speech, and the burned-in text does not say otherwise (hardsubs.stage.language_verdict).
    wrong_language_confidence: float = 0.8
    wrong_language_min_speech_ms: int = 20_000


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


def speech_chunks(samples, rate: int = 16000) -> list[tuple[int, int]]:
    """Speech regions (ms) from Silero VAD, split at pauses of 250 ms or more."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=30, min_speech_duration_ms=120)
    return [(int(c["start"] * 1000 / rate), int(c["end"] * 1000 / rate))
            for c in get_speech_timestamps(samples, options, sampling_rate=rate)]


def _chunk_of(word: Word, chunks: list[tuple[int, int]]) -> int:
    middle = (word.start_ms + word.end_ms) / 2
    distances = [0 if a <= middle <= b else min(abs(middle - a), abs(middle - b)) for a, b in chunks]
    return distances.index(min(distances))


def split_on_pauses(segment: Segment, chunks: list[tuple[int, int]], gap_ms: int = SPLIT_GAP_MS) -> list[Segment]:
    """Split a Whisper segment where its words fall into different VAD speech regions.

    Whisper's word times drift across pauses, so the VAD regions decide where a line
    (often a new speaker) starts, and they also give the line's start and end.
    """
    if not segment.words:
        return [segment]
    groups: list[list[Word]] = [[segment.words[0]]]
    owners = [_chunk_of(segment.words[0], chunks)] if chunks else [0]
    for word in segment.words[1:]:
        owner = _chunk_of(word, chunks) if chunks else 0
        if owner != owners[-1] or word.start_ms - groups[-1][-1].end_ms >= gap_ms:
            groups.append([word])
            owners.append(owner)
        else:
            groups[-1].append(word)
    pieces = []
    for owner, group in zip(owners, groups):
        start, end = group[0].start_ms, group[-1].end_ms
        if chunks and owners.count(owner) == 1:
            chunk_start, chunk_end = chunks[owner]
            if chunk_start < end and chunk_end > start:  # trust VAD edges when they overlap the words
                start, end = chunk_start, chunk_end
        pieces.append(Segment(id=0, start_ms=start, end_ms=end, source_text=to_simplified(
            "".join(w.text for w in group).strip()), words=group))
    return pieces


def to_simplified(text: str) -> str:
    """Whisper mixes traditional characters into Mandarin output; the scripts we fuse with are simplified."""
    import zhconv

    return zhconv.convert(text, "zh-cn")


@TRANSCRIBERS.register("whisper-base")
class FasterWhisper(Transcriber):
    """faster-whisper on the embedded CTranslate2 Whisper base (or a folder the user gives)."""

    name = "whisper-base"

    def __init__(self, model_dir: Path | None = None, compute_type: str = "int8") -> None:
        self.model_dir = model_dir
        self.compute_type = compute_type

    def _model(self):
        if self.model_dir is None:
            from localize.models import whisper_base

            self.model_dir = whisper_base()
        if not (Path(self.model_dir) / "model.bin").exists():
            raise ModelError(f"no Whisper model.bin in {self.model_dir}")
        return _whisper(str(self.model_dir), self.compute_type)

    def transcribe(self, audio: Path, options: TranscribeOptions, duration_ms: int) -> Transcript:
        model = self._model()
        from faster_whisper.audio import decode_audio

        samples = decode_audio(str(audio), sampling_rate=16000)
        heard, probability = model.detect_language(samples, vad_filter=True)[:2]
        language = options.language
        chunks = speech_chunks(samples)
        prompt = ZH_PROMPT if language == "zh" else None
        segments = self._decode(model, samples, language, options, prompt, chunks, duration_ms)
        if not segments and chunks and prompt:
            # Seen on fast speech (an episode's actors at 1.6x): with the prompt, Whisper base rated
            # every chunk as no speech, without it the lines came out. VAD heard speech, so try that.
            segments = self._decode(model, samples, language, options, None, chunks, duration_ms)
        for index, segment in enumerate(segments):
            segment.id = index
        if not segments:
            raise SilentInputError(f"{audio.name}: no speech found; nothing to dub")
        return Transcript(language=language, segments=segments, language_probability=float(probability),
                          heard_language=heard, speech_ms=sum(end - start for start, end in chunks))

    @staticmethod
    def _decode(model, samples, language: str, options: TranscribeOptions, prompt: str | None,
                chunks: list[tuple[int, int]], duration_ms: int) -> list[Segment]:
        segments_iter, _info = model.transcribe(
            samples, language=language, beam_size=options.beam_size, word_timestamps=True,
            vad_filter=options.vad, vad_parameters={"min_silence_duration_ms": 300},
            initial_prompt=prompt, condition_on_previous_text=False)
        segments: list[Segment] = []
        with progress(total=duration_ms // 1000, desc="transcribe", unit="s") as bar:
            for raw in segments_iter:
                words = [Word(int(round(w.start * 1000)), int(round(w.end * 1000)), w.word, float(w.probability))
                         for w in (raw.words or [])]
                segment = Segment(id=0, start_ms=int(round(raw.start * 1000)), end_ms=int(round(raw.end * 1000)),
                                  source_text=raw.text.strip(), words=words)
                segments.extend(s for s in split_on_pauses(segment, chunks) if s.source_text)
                bar.update(max(0, int(raw.end) - bar.n))
        return segments

    def close(self) -> None:
        _whisper.cache_clear()
