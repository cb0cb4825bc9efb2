"""A local Hugging Face encoder-decoder backend (Marian, NLLB, M2M100) from a folder on disk.

The folder is set by ``seq2seq_model`` in the config (or ``LOCALIZE_SEQ2SEQ_MODEL``);
nothing is downloaded. Glossary terms and market amounts are written into the
source first (these models copy Latin spans well), and NLLB/M2M100 get their
target language code. The model is held once per folder and process.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localize.errors import ModelError
from localize.stages.translate.base import TRANSLATORS, TranslationRequest, Translator
from localize.stages.translate.glossary import find_terms

log = logging.getLogger(__name__)

# Language codes multilingual models expect for the target (NLLB uses Flores-200 codes).
NLLB_CODES = {"en": "eng_Latn", "es": "spa_Latn", "pt": "por_Latn", "fr": "fra_Latn", "it": "ita_Latn",
              "de": "deu_Latn", "id": "ind_Latn", "vi": "vie_Latn", "hi": "hin_Deva", "th": "tha_Thai",
              "ar": "arb_Arab", "ja": "jpn_Jpan", "ko": "kor_Hang"}


@dataclass
class _Loaded:
    tokenizer: Any
    model: Any
    kind: str  # "marian", "nllb", "m2m100" or "other"


@functools.lru_cache(maxsize=2)
def _load(folder: str, threads: int) -> _Loaded:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    torch.set_num_threads(threads)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForSeq2SeqLM.from_pretrained(folder).eval()
    except Exception as exc:  # noqa: BLE001 - any loader failure means the model is unusable
        raise ModelError(f"cannot load the seq2seq model from {folder}: {type(exc).__name__}: {exc}") from None
    model_type = getattr(model.config, "model_type", "")
    kind = "nllb" if "nllb" in type(tokenizer).__name__.lower() else model_type
    return _Loaded(tokenizer=tokenizer, model=model, kind=kind if kind in ("marian", "nllb", "m2m_100") else "other")


class Seq2SeqTranslator(Translator):
    """Beam-search translation with a local encoder-decoder model."""

    name = "seq2seq"
    batch_size = 16

    def __init__(self, model_dir: str | Path | None = None, num_beams: int = 4, max_new_tokens: int = 96,
                 threads: int = 2) -> None:
        if model_dir is None:
            from localize.config import load_settings

            model_dir = getattr(load_settings(), "seq2seq_model", None)
        if not model_dir:
            raise ModelError("the seq2seq backend needs a model folder: set seq2seq_model in the config "
                             "or LOCALIZE_SEQ2SEQ_MODEL")
        folder = Path(model_dir).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelError(f"seq2seq model folder {folder} not found or has no config.json")
        self.folder = folder
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens
        self.threads = threads

    def _prepared(self, request: TranslationRequest, index: int, terms: dict[str, str]) -> str:
        line = request.source(index)
        for term in sorted(find_terms(request.lines[index], terms), key=len, reverse=True):
            line = line.replace(term, terms[term])
        return line

    def translate(self, request: TranslationRequest, indices: list[int], feedback: dict[int, str]) -> dict[int, str]:
        """Translate the lines as one batch; a retried line gets more beams and a length penalty toward short."""
        import torch

        loaded = _load(str(self.folder), self.threads)
        terms = request.terms()
        sources = [self._prepared(request, i, terms) for i in indices]
        options: dict[str, Any] = {"num_beams": self.num_beams, "max_new_tokens": self.max_new_tokens}
        if feedback:
            options.update(num_beams=self.num_beams + 2, no_repeat_ngram_size=3, length_penalty=0.6)
        if loaded.kind == "nllb":
            loaded.tokenizer.src_lang = "zho_Hans"
            options["forced_bos_token_id"] = loaded.tokenizer.convert_tokens_to_ids(
                NLLB_CODES.get(request.locale.language, "eng_Latn"))
        elif loaded.kind == "m2m_100":
            loaded.tokenizer.src_lang = "zh"
            options["forced_bos_token_id"] = loaded.tokenizer.get_lang_id(request.locale.language)
        batch = loaded.tokenizer(sources, return_tensors="pt", padding=True, truncation=True, max_length=256)
        batch.pop("token_type_ids", None)
        with torch.inference_mode():
            out = loaded.model.generate(**batch, **options)
        texts = loaded.tokenizer.batch_decode(out, skip_special_tokens=True)
        return {i: t.strip() for i, t in zip(indices, texts) if t.strip()}

    def close(self) -> None:
        """Free the loaded model."""
        unload()


def unload() -> None:
    """Free every seq2seq model this process loaded."""
    _load.cache_clear()


@TRANSLATORS.register("seq2seq")
def _make_seq2seq(**options: Any) -> Seq2SeqTranslator:
    return Seq2SeqTranslator(**options)
