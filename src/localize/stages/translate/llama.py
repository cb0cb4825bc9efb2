"""The ``llama`` backend: any GGUF instruct model through llama.cpp (llama-cpp-python), in process.

``--translator llama --translator-model FILE.gguf`` (or ``llama_model`` in the config,
``$LOCALIZE_LLAMA_MODEL``) runs a user's own model; ``--translator qwen2.5-coder-1.5b``
is the same backend on the opt-in embedded Qwen2.5-Coder-1.5B-Instruct
(``localize models --prepare --with qwen2.5-coder-1.5b``).

The prompt goes through the model's own chat template (the GGUF's
``tokenizer.chat_template``). The system turn holds the rules, the glossary and the
episode's script (a window of :data:`SCRIPT_WINDOW` lines, the same for every line in
it, so llama.cpp reuses its evaluated prefix); the user turn asks for one line. The
line is shown with glossary names and amounts already written in (晚晚 -> Wanwan,
五万 -> 50,000), which the model copies. Every token's log-probability is read as it is
chosen; their mean is the line's confidence (:meth:`Translator.confidence`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from localize.errors import ConfigError, ModelError
from localize.stages.translate.base import TRANSLATORS, TranslationRequest, Translator, one_line, rank_candidate
from localize.stages.translate.examples import examples_for
from localize.stages.translate.glossary import find_terms, substitute_terms
from localize.stages.translate.numbers import amounts_as_digits
from localize.stages.translate.validate import code_of

log = logging.getLogger(__name__)

SCRIPT_WINDOW = 40  # lines of the episode shown as context; a window's lines share one prompt prefix
DEFAULT_CONTEXT = 4096
# Lines whose mean token log-probability falls below this are flagged low-confidence. Chosen on
# the 48-line eval set (tests/data/translation_eval.zh-en.tsv) only, best F1 against lines of chrF < 30
# (bench/confidence_flag.py); on 44 held-out lines it gave precision 42%, recall 45%.
LOW_CONFIDENCE = -0.41
# Rewrites tried for a line only too long (greedy, then sampled), at most: ~1-2 s each on 1 thread.
SHORTEN_CANDIDATES = 4
_NUMBERING_RE = re.compile(r"^\s*(?:line\s*)?\d+\s*[.:)\]]\s*", re.IGNORECASE)
_LABEL_RE = re.compile(r"^\s*(?:translation|english|spanish|español|answer|output)\s*:\s*", re.IGNORECASE)


def _threads() -> int:
    raw = os.environ.get("LOCALIZE_LLAMA_THREADS")
    if raw is None:
        return max(1, min(2, os.cpu_count() or 1))
    try:
        return max(1, int(raw))
    except ValueError:
        raise ConfigError("LOCALIZE_LLAMA_THREADS must be a whole number") from None


@functools.lru_cache(maxsize=1)
def _load(path: str, n_ctx: int, threads: int) -> Any:
    """The model, loaded once per process (1-3 s for the 1.5B model)."""
    try:
        from llama_cpp import Llama
    except ImportError:
        raise ModelError("the llama backend needs llama-cpp-python: run `make setup` (it builds it, "
                         "5-15 min) or `pip install llama-cpp-python`") from None
    try:
        with _without_amx_buffers():
            return Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, seed=1234,
                         verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"llama.cpp cannot load {path}: {exc}") from None


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the CPU reports Intel AMX int8 tiles (Sapphire Rapids and later Xeons)."""
    try:
        return "amx_int8" in cpuinfo.read_text(errors="replace").split()
    except OSError:
        return False


_PARAMS_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_amx_buffers() -> Iterator[None]:
    """Models loaded within the block keep their weights in plain CPU buffers on an AMX CPU.

    llama.cpp as built here (llama-cpp-python 0.3.36, native build) puts quantized weights in
    its AMX buffer type when the CPU has AMX, and its AMX matrix product then segfaults on the
    first decode, with the embedded Qwen 1.5B and Gemma 270M alike (ggml_backend_amx_mul_mat).
    The switch for it (the model's ``use_extra_bufts``) is not a ``Llama`` argument, so the
    default model parameters it starts from are swapped for the block. Elsewhere the extra
    buffers (weight repacking for AVX2) stay on.
    """
    if not cpu_has_amx():
        yield
        return
    import llama_cpp.llama_cpp as bindings

    default = bindings.llama_model_default_params

    def plain_buffers() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    with _PARAMS_LOCK:
        bindings.llama_model_default_params = plain_buffers
        try:
            yield
        finally:
            bindings.llama_model_default_params = default


@functools.lru_cache(maxsize=4)
def _han_tokens(path: str, n_ctx: int, threads: int) -> Any:
    """Ids of the tokens that write Chinese characters, whole or begun (UTF-8 lead bytes E3 90-E9).

    For a target that is not written in Han characters they are never chosen, so no Chinese
    can be left in a line (a 1.5B model otherwise copies a word it does not know: "抢 my man").
    A lead byte of U+3400..U+9FFF only ever starts a CJK ideograph (or Yi, just above), never
    a Latin, Arabic, Thai or Devanagari letter, nor punctuation.
    """
    import numpy as np

    llm = _load(path, n_ctx, threads)
    banned = []
    for token in range(llm.n_vocab()):
        piece = llm.detokenize([token])
        if any(0xE4 <= byte <= 0xE9 for byte in piece) or \
                any(piece[k] == 0xE3 and 0x90 <= piece[k + 1] <= 0xBF for k in range(len(piece) - 1)):
            banned.append(token)
    return np.array(banned, dtype=np.int64)


def _only_length(feedback: str) -> bool:
    """True when every problem stated in ``feedback`` is about length."""
    codes = {code_of(part.strip()) for part in feedback.split(";") if ":" in part}
    return bool(codes) and codes <= {"over-budget", "too-long"}


class _BanTokens:
    """A logits processor that rules some tokens out."""

    def __init__(self, tokens: Any) -> None:
        self.tokens = tokens

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        scores[self.tokens] = -float("inf")
        return scores


def unload() -> None:
    """Free the process-wide model (the next translation loads it again)."""
    _load.cache_clear()
    _han_tokens.cache_clear()
    gc.collect()


def clean_answer(raw: str) -> str:
    """The model's answer without numbering, labels or wrapping quotes; later lines are kept (run-on check)."""
    lines = [line for line in raw.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    first = _LABEL_RE.sub("", _NUMBERING_RE.sub("", lines[0])).strip()
    if len(first) >= 2 and first[0] in "\"“'«" and first[-1] in "\"”'»":
        first = first[1:-1].strip()
    return "\n".join([first, *lines[1:]])


class _TokenLogProbs:
    """A logits processor that records the log-probability of each token llama.cpp then chose.

    llama.cpp hands it the scores for the next token; on the following call the
    chosen token is the last input id. It changes no score.
    """

    def __init__(self) -> None:
        self.values: list[float] = []
        self._pending: Any = None
        self._length = 0

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        if self._pending is not None and len(input_ids) == self._length + 1:
            self.values.append(float(self._pending[int(input_ids[-1])]))
        shifted = scores - np.max(scores)
        self._pending = shifted - np.log(np.sum(np.exp(shifted)))
        self._length = len(input_ids)
        return scores

    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None


class LlamaTranslator(Translator):
    """One line per chat completion, greedy first, told what was wrong on a retry."""

    name = "llama"
    batch_size = 1
    shorten_retries = 2  # a retry costs a few seconds here and sees its rejected answer

    def __init__(self, model: str | Path | None = None, n_ctx: int = DEFAULT_CONTEXT, max_tokens: int = 96,
                 low_confidence: float | None = LOW_CONFIDENCE, name: str | None = None) -> None:
        if model is None:
            from localize.config import load_settings

            model = os.environ.get("LOCALIZE_LLAMA_MODEL") or getattr(load_settings(), "llama_model", None)
        if not model:
            raise ModelError("the llama backend needs a GGUF model: --translator-model FILE.gguf, llama_model "
                             "in the config or $LOCALIZE_LLAMA_MODEL (or --translator qwen2.5-coder-1.5b)")
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelError(f"--translator-model: no GGUF file at {path}")
        with open(path, "rb") as handle:
            if handle.read(4) != b"GGUF":
                raise ModelError(f"--translator-model: {path} is not a GGUF file")
        self.path = path
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.low_confidence = low_confidence
        self.name = name or self.name
        self._request_id: int | None = None
        self._tries: dict[int, int] = {}
        self._confidence: dict[int, float] = {}
        self._last: dict[int, str] = {}  # the last answer per line: a "shorter" retry edits it

    # -- prompt -------------------------------------------------------------------------------
    def _shown(self, request: TranslationRequest, index: int, terms: dict[str, str]) -> str:
        """Line ``index`` as the model reads it: market rules, glossary names and amounts written in."""
        line = request.source(index)
        line = substitute_terms(line, {t: terms[t] for t in find_terms(line, terms)})
        return amounts_as_digits(line, request.locale.tag)

    def system(self, request: TranslationRequest, index: int, terms: dict[str, str]) -> str:
        """Rules, glossary and the script window holding line ``index`` (the same for the whole window)."""
        first = index // SCRIPT_WINDOW * SCRIPT_WINDOW
        window = range(first, min(len(request.lines), first + SCRIPT_WINDOW))
        language = f"{request.locale.name} ({request.locale.tag})"
        rules = [f"You translate Chinese short-drama dialogue into natural spoken {language} for dubbing.",
                 f"Answer with the {request.locale.name} translation of the one line asked for: a single line, "
                 "no quotes, no notes, no explanations, no Chinese characters.",
                 "Names are already written in the Latin alphabet: keep them exactly. Keep every number as "
                 "digits, as given.",
                 "Keep it short enough to be spoken in the time of the Chinese line."]
        if request.market:
            rules.append(request.market.brief())
        used = {t: terms[t] for i in window for t in find_terms(request.lines[i], terms) if terms[t]}
        if used:
            rules.append("Glossary (always use these renderings): "
                         + "; ".join(f"{src} = {tgt}" for src, tgt in sorted(used.items())) + ".")
        script = []
        for i in window:
            if request.lines[i].strip():
                speaker = request.speakers[i] if request.speakers and i < len(request.speakers) else None
                script.append(f"{i + 1}. {f'[{speaker}] ' if speaker else ''}{self._shown(request, i, terms)}")
        return " ".join(rules) + "\n\nThe episode's script, for context:\n" + "\n".join(script)

    def messages(self, request: TranslationRequest, index: int, terms: dict[str, str],
                 feedback: str | None) -> list[dict[str, str]]:
        """The chat turns for line ``index``.

        The shared system turn, worked examples (:mod:`.examples`: the same for every line,
        so they stay in llama.cpp's reused prefix), then the line, and on a retry what was
        wrong with the last answer. The rejected answer itself is not shown: a small model
        shown its own answer mostly repeats it.
        """
        turns = [{"role": "system", "content": self.system(request, index, terms)}]
        for source, target in examples_for(request.locale.language):
            turns += [{"role": "user", "content": f"Translate into {request.locale.name}:\n{source}"},
                      {"role": "assistant", "content": target}]
        ask = f"Translate line {index + 1} into {request.locale.name}:\n{self._shown(request, index, terms)}"
        budget = request.budget(index)
        if budget:
            ask += f"\n(at most {budget} characters)"
        if feedback:
            ask += f"\nYour previous answer was rejected: {feedback}. Answer again, one line only."
        turns.append({"role": "user", "content": ask})
        return turns

    def shorten_messages(self, request: TranslationRequest, index: int, terms: dict[str, str],
                         answer: str, budget: int) -> list[dict[str, str]]:
        """A separate, smaller task for a line only too long: rewrite ``answer`` in ``budget`` characters.

        Asked to translate again, even told the limit, the 1.5B model gives the same line back;
        asked to edit its line, it shortens it, more often when sampled.
        """
        language = request.locale.name
        return [{"role": "system", "content": f"You edit {language} dubbing lines so they fit the time the actor "
                                              f"speaks. Rewrite the line the user gives in fewer words with the same "
                                              f"meaning, as natural spoken {language}. Keep names and numbers exactly. "
                                              "Answer with the shorter line only."},
                {"role": "user", "content": f"Chinese: {self._shown(request, index, terms)}\n"
                                            f"Line ({len(answer)} characters): {answer}\n"
                                            f"Shorter, at most {budget} characters:"}]

    # -- decoding -----------------------------------------------------------------------------
    def translate(self, request: TranslationRequest, indices: list[int], feedback: dict[int, str]) -> dict[int, str]:
        """Translate each line; a retry states the failure, and the third try samples (seeded)."""
        from llama_cpp import LogitsProcessorList

        if id(request) != self._request_id:
            self._request_id, self._tries, self._confidence, self._last = id(request), {}, {}, {}
        llm = _load(str(self.path), self.n_ctx, _threads())
        terms = request.terms()
        # Recorded first, so the confidence is the model's own, before any token is ruled out.
        processors: list[Any] = []
        if request.locale.script != "cjk":
            processors.append(_BanTokens(_han_tokens(str(self.path), self.n_ctx, _threads())))
        out: dict[int, str] = {}
        for index in indices:
            if not request.lines[index].strip():
                continue
            tries = self._tries[index] = self._tries.get(index, 0) + 1
            limit = min(self.max_tokens, 3 * len(request.lines[index].strip()) + 24)
            told, last, budget = feedback.get(index), self._last.get(index), request.budget(index)
            if told and last and budget and _only_length(told):
                text = self._shorten(llm, request, index, terms, last, budget, limit, processors)
            else:
                recorder = _TokenLogProbs()
                sampling = {"temperature": 0.0} if tries < 3 else {"temperature": 0.7, "top_p": 0.9, "seed": 1234}
                response = llm.create_chat_completion(
                    messages=self.messages(request, index, terms, told), max_tokens=limit,
                    logits_processor=LogitsProcessorList([recorder, *processors]), **sampling)
                text = clean_answer(response["choices"][0]["message"]["content"] or "")
                mean = recorder.mean()
                if text and mean is not None:
                    # The confidence is the translation's: a shortened line keeps the figure of the
                    # line it shortened (the edit task is easy, its log-probs say nothing of meaning).
                    self._confidence[index] = mean
            if text:
                out[index] = self._last[index] = text
        return out

    def _shorten(self, llm: Any, request: TranslationRequest, index: int, terms: dict[str, str], answer: str,
                 budget: int, limit: int, processors: list[Any]) -> str:
        """The best of :data:`SHORTEN_CANDIDATES` rewrites of ``answer``: greedy, then sampled.

        Ranked as ``translate_lines`` ranks (fewest and mildest problems, then least over
        budget), then by how much of ``answer`` each keeps (word-sequence similarity): of two
        rewrites that fit, "He's the worst man I've seen." beats "He's bad." because it drops
        less of what was said.
        """
        from difflib import SequenceMatcher

        from llama_cpp import LogitsProcessorList

        messages = self.shorten_messages(request, index, terms, answer, budget)
        said = answer.lower().split()
        best: tuple[tuple[int, int, int, float], str] | None = None
        seen: set[str] = set()
        for attempt in range(SHORTEN_CANDIDATES):
            sampling = {"temperature": 0.0} if attempt == 0 else {"temperature": 0.8, "seed": attempt}
            response = llm.create_chat_completion(messages=messages, max_tokens=limit,
                                                  logits_processor=LogitsProcessorList(processors), **sampling)
            text, _ = one_line(clean_answer(response["choices"][0]["message"]["content"] or ""))
            if not text or text in seen:
                continue
            seen.add(text)
            kept = SequenceMatcher(None, said, text.lower().split()).ratio()
            rank = (*rank_candidate(request, index, text, request.check(index, text, terms)), -kept)
            if best is None or rank < best[0]:
                best = (rank, text)
        return best[1] if best else ""

    def confidence(self, index: int) -> float | None:
        """Mean log-probability of the tokens of the last answer for line ``index``."""
        return self._confidence.get(index)

    def close(self) -> None:
        """Free the shared model."""
        unload()


@TRANSLATORS.register("llama")
def _make_llama(**options: Any) -> LlamaTranslator:
    return LlamaTranslator(**options)


@TRANSLATORS.register("qwen2.5-coder-1.5b")
def _make_qwen(**options: Any) -> LlamaTranslator:
    """The llama backend on the opt-in embedded Qwen2.5-Coder-1.5B-Instruct."""
    from localize.models import QWEN_CODER_15B, qwen_coder_gguf

    options.pop("model", None)
    try:
        path = qwen_coder_gguf()
    except ModelError as exc:
        raise ModelError(f"{QWEN_CODER_15B.name} is not prepared ({exc}); run "
                         f"`localize models --prepare --with {QWEN_CODER_15B.name}`") from None
    return LlamaTranslator(model=path, name=QWEN_CODER_15B.name, **options)
