"""The embedded backend: Gemma 3 270M (base model) with few-shot prompts.

The model ships as a Q4_K_M GGUF. transformers can load that directly, but it
de-quantizes every tensor on each load (about 45 s here), so :func:`prepare`
converts it once into a plain safetensors folder beside it, which then loads in
a few seconds: float32, or bfloat16 when asked for (:func:`configured_dtype`).
The model is held once per process; :func:`unload` frees it.

It is a base model, not an instruction-tuned one, so it is prompted with a
handful of example pairs ("Chinese: ... / English: ...") and asked to continue
the pattern. Decoding is greedy and stops at the end of the line.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localize.errors import ConfigError, ModelError
from localize.models import gemma_gguf, models_dir
from localize.stages.translate.base import TRANSLATORS, TranslationRequest, Translator
from localize.stages.translate.glossary import find_terms
from localize.stages.translate.glossary import substitute_terms as _substitute
from localize.stages.translate.numbers import amounts_as_digits

log = logging.getLogger(__name__)

# OpenMP threads that spin while waiting are fine on an idle machine but collapse when the
# cores are shared: with 2 threads on a busy 2-core box one line took 5-30 s instead of ~3 s.
# libgomp reads this when torch is first imported, so it is set here, before any lazy import;
# a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HF_FOLDER = "gemma-3-270m-hf"
_MARKER = "localize-source.json"  # written last: its presence means the folder is complete
DEFAULT_THREADS = 2
PREFIX_CACHES = 16  # prompt prefixes (one per target language) kept with the loaded model

# Example pairs per target language. Names are generic (not any series'), and are
# given through _SHOT_NAMES so the examples show the same name handling as the line.
_SHOT_SOURCES = [
    "王总，会议马上开始了。",
    "你以为我会在乎吗？",
    "小雨，你到底想怎么样？",
    "两百万，拿着钱给我走。",
    "别跟我装可怜，我不吃这一套。",
    "谢谢你刚才救了我。",
    "我早就不爱你了。",
]
_SHOT_TARGETS: dict[str, list[str]] = {
    "en": ["Mr. Wang, the meeting is about to start.", "Do you think I care?",
           "Xiaoyu, what exactly do you want?", "Two million yuan. Take the money and go.",
           "Don't play the victim with me. It won't work.", "Thank you for saving me just now.",
           "I stopped loving you a long time ago."],
    "es": ["Señor Wang, la reunión está por empezar.", "¿Crees que me importa?",
           "Xiaoyu, ¿qué es lo que quieres?", "Dos millones de yuanes. Toma el dinero y vete.",
           "No te hagas la víctima conmigo. No va a funcionar.", "Gracias por salvarme hace un momento.",
           "Hace mucho que dejé de amarte."],
    "pt": ["Senhor Wang, a reunião já vai começar.", "Você acha que eu me importo?",
           "Xiaoyu, o que você quer afinal?", "Dois milhões de yuans. Pegue o dinheiro e vá embora.",
           "Não se faça de vítima comigo. Isso não funciona.", "Obrigada por me salvar agora há pouco.",
           "Eu deixei de te amar faz muito tempo."],
    "fr": ["Monsieur Wang, la réunion va commencer.", "Tu crois que ça m'intéresse ?",
           "Xiaoyu, qu'est-ce que tu veux au juste ?", "Deux millions de yuans. Prends l'argent et va-t'en.",
           "Ne joue pas les victimes avec moi. Ça ne marche pas.", "Merci de m'avoir sauvée tout à l'heure.",
           "Je ne t'aime plus depuis longtemps."],
    "it": ["Signor Wang, la riunione sta per cominciare.", "Pensi che mi importi?",
           "Xiaoyu, cosa vuoi esattamente?", "Due milioni di yuan. Prendi i soldi e vattene.",
           "Non fare la vittima con me. Non funziona.", "Grazie per avermi salvata poco fa.",
           "Ho smesso di amarti tanto tempo fa."],
    "de": ["Herr Wang, die Besprechung fängt gleich an.", "Glaubst du, das interessiert mich?",
           "Xiaoyu, was willst du eigentlich?", "Zwei Millionen Yuan. Nimm das Geld und geh.",
           "Spiel bei mir nicht das Opfer. Das zieht nicht.", "Danke, dass du mich eben gerettet hast.",
           "Ich liebe dich schon lange nicht mehr."],
    "id": ["Pak Wang, rapatnya akan segera dimulai.", "Kamu pikir aku peduli?",
           "Xiaoyu, sebenarnya apa maumu?", "Dua juta yuan. Ambil uangnya dan pergi.",
           "Jangan pura-pura jadi korban di depanku. Itu tidak mempan.",
           "Terima kasih sudah menyelamatkanku tadi.", "Aku sudah lama tidak mencintaimu."],
    "vi": ["Giám đốc Vương, cuộc họp sắp bắt đầu rồi.", "Anh nghĩ tôi quan tâm sao?",
           "Tiểu Vũ, rốt cuộc cô muốn gì?", "Hai triệu tệ. Cầm tiền rồi đi đi.",
           "Đừng giả vờ đáng thương với tôi. Tôi không mắc lừa đâu.", "Cảm ơn anh vừa cứu tôi.",
           "Tôi đã hết yêu anh từ lâu rồi."],
    "hi": ["वांग साहब, मीटिंग शुरू होने वाली है।", "तुम्हें लगता है मुझे फ़र्क पड़ता है?",
           "शियाओयू, आख़िर तुम चाहती क्या हो?", "बीस लाख युआन। पैसे लो और चली जाओ।",
           "मेरे सामने बेचारी बनने का नाटक मत करो। यह नहीं चलेगा।", "अभी मुझे बचाने के लिए शुक्रिया।",
           "मैंने तुमसे बहुत पहले ही प्यार करना छोड़ दिया था।"],
    "th": ["คุณหวัง การประชุมกำลังจะเริ่มแล้วครับ", "คิดว่าฉันจะสนใจเหรอ",
           "เสี่ยวอวี่ เธอต้องการอะไรกันแน่", "สองล้านหยวน เอาเงินไปแล้วไปซะ",
           "อย่ามาทำเป็นน่าสงสารกับฉัน ไม่ได้ผลหรอก", "ขอบคุณที่ช่วยฉันไว้เมื่อกี้",
           "ฉันเลิกรักคุณไปนานแล้ว"],
    "ar": ["سيد وانغ، الاجتماع على وشك أن يبدأ.", "هل تظن أنني أهتم؟",
           "شياويو، ماذا تريدين بالضبط؟", "مليونا يوان. خذي المال وارحلي.",
           "لا تتظاهري بأنك الضحية أمامي. هذا لن ينجح.", "شكرًا لأنك أنقذتني قبل قليل.",
           "توقفت عن حبك منذ زمن طويل."],
    "ja": ["王社長、会議がもうすぐ始まります。", "私が気にするとでも思ってるの？",
           "小雨、一体どうしたいの？", "二百万元だ。金を持って出て行け。",
           "私の前でかわいそうなふりはやめて。通用しないから。", "さっきは助けてくれてありがとう。",
           "とっくにあなたを愛してなんかいない。"],
    "ko": ["왕 대표님, 회의가 곧 시작됩니다.", "내가 신경 쓸 것 같아?",
           "샤오위, 도대체 원하는 게 뭐야?", "이백만 위안이야. 돈 받고 꺼져.",
           "내 앞에서 불쌍한 척하지 마. 안 통하니까.", "아까 구해줘서 고마워.",
           "난 오래전에 너를 사랑하지 않게 됐어."],
}
# How each language renders the example names, so the examples can show name substitution.
_SHOT_NAMES: dict[str, dict[str, str]] = {
    "en": {"王总": "Mr. Wang", "小雨": "Xiaoyu"},
    "es": {"王总": "Señor Wang", "小雨": "Xiaoyu"},
    "pt": {"王总": "Senhor Wang", "小雨": "Xiaoyu"},
    "fr": {"王总": "Monsieur Wang", "小雨": "Xiaoyu"},
    "it": {"王总": "Signor Wang", "小雨": "Xiaoyu"},
    "de": {"王总": "Herr Wang", "小雨": "Xiaoyu"},
    "id": {"王总": "Pak Wang", "小雨": "Xiaoyu"},
    "vi": {"王总": "Giám đốc Vương", "小雨": "Tiểu Vũ"},
    "hi": {"王总": "वांग साहब", "小雨": "शियाओयू"},
    "th": {"王总": "คุณหวัง", "小雨": "เสี่ยวอวี่"},
    "ar": {"王总": "سيد وانغ", "小雨": "شياويو"},
    "ja": {"王总": "王社長", "小雨": "小雨"},
    "ko": {"王总": "왕 대표님", "小雨": "샤오위"},
}

# Unicode script names (first word of the character name) a language's output may use.
_ALLOWED_SCRIPTS: dict[str, set[str]] = {
    "latin": {"LATIN"},
    "thai": {"THAI", "LATIN"},
    "arabic": {"ARABIC", "LATIN"},
    "devanagari": {"DEVANAGARI", "LATIN"},
    "korean": {"HANGUL", "LATIN"},
}


def _script_key(request: TranslationRequest) -> str | None:
    """Which entry of _ALLOWED_SCRIPTS bounds the output; None (Japanese) bans nothing."""
    if request.locale.language == "ko":
        return "korean"
    return request.locale.script if request.locale.script in _ALLOWED_SCRIPTS else None


def hf_dir(dtype: str = "float32") -> Path:
    """Where the converted (plain safetensors) model lives, in ``dtype``."""
    return models_dir() / (HF_FOLDER if dtype == "float32" else f"{HF_FOLDER}-{dtype}")


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (_MARKER, "config.json", "model.safetensors", "tokenizer.json"))


def prepare(force: bool = False, dtype: str = "float32") -> Path:
    """Convert the embedded GGUF into a plain transformers folder once; return the folder.

    float32 comes from the GGUF; another ``dtype`` is cast from the float32 folder once more, so
    that it loads as a mapping of its own file (cast while loading, the float32 weights would be
    read whole first: 2.2 GB of peak memory for bfloat16, against 0.7 GB). The conversion writes
    into a temporary folder and renames it into place, so an interrupted run never leaves a
    half-written model that later runs would load.
    """
    target = hf_dir(dtype)
    if _complete(target) and not force:
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if dtype == "float32":
        source = gemma_gguf()
        log.info("converting %s to %s (once; about a minute)", source.name, target)
        try:
            tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
            model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
        except Exception as exc:  # noqa: BLE001 - any loader failure means the model is unusable
            raise ModelError(f"cannot load the Gemma GGUF {source}: {type(exc).__name__}: {exc}") from None
        # Loading de-quantized every tensor already; dropping the GGUF quantizer lets it save as plain weights.
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:
            quantizer.remove_quantization_config(model)
    else:
        source = prepare(force=force)
        log.info("casting %s to %s in %s (once)", source.name, dtype, target)
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype))
        except Exception as exc:  # noqa: BLE001 - any loader failure means the model is unusable
            raise ModelError(f"cannot load the Gemma model from {source}: {type(exc).__name__}: {exc}; "
                             f"delete the folder and run `localize models --prepare`") from None
    try:
        _write_folder(target, model, tokenizer, {"source": source.name, "dtype": dtype,
                                                 **({"size": source.stat().st_size} if source.is_file() else {})})
    finally:
        del model
        gc.collect()
    return target


def _write_folder(target: Path, model: Any, tokenizer: Any, marker: dict) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the model folder is not a secret
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / _MARKER).write_text(json.dumps(marker) + "\n")
        if target.exists():
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            if not _complete(target):  # another process may have finished the same conversion first
                raise
    except OSError as exc:
        raise ModelError(f"cannot write the converted Gemma model to {target}: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class _Loaded:
    """The model and what is derived from it: prompt caches, bans and heads belong to this model
    (folder and number format) and go with it."""

    folder: str
    tokenizer: Any
    model: Any
    stop_ids: list[int]
    # After :func:`_reorder_vocabulary`: row r of the (tied) embedding holds token order[r], and
    # token t sits at row position[t]. None while rows are in token order.
    order: Any = None
    position: Any = None
    banned: dict[str, Any] = field(default_factory=dict)  # script -> :func:`_banned_ids`
    heads: dict[str | None, tuple[Any, Any]] = field(default_factory=dict)  # script -> :func:`_output_head`
    prefixes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # prompt prefix -> :func:`_prefix_cache`


@functools.lru_cache(maxsize=1)
def _load(folder: str, dtype: str, threads: int) -> _Loaded:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(threads)
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype)).eval()
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"cannot load the Gemma model from {folder}: {type(exc).__name__}: {exc}; "
                         f"delete the folder and run `localize models --prepare`") from None
    # Every token that is only newlines ends the line; the vocabulary has a token per run length.
    stop_ids = sorted({i for tok, i in tokenizer.get_vocab().items() if tok and set(tok) <= {"\n"}}
                      | {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<end_of_turn>")})
    return _Loaded(folder=folder, tokenizer=tokenizer, model=model, stop_ids=stop_ids)


def unload() -> None:
    """Free the process-wide Gemma model (the next translation loads it again)."""
    _load.cache_clear()
    gc.collect()


def _script_of(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"


def _banned_ids(loaded: _Loaded, script: str) -> Any:
    """A boolean mask over the vocabulary: tokens holding letters of scripts the target never uses.

    Banning them at decoding time means the model cannot leave Chinese in an
    English line; it has to spell the meaning (or the pinyin) instead.
    """
    import torch

    if script in loaded.banned:
        return loaded.banned[script]
    allowed = _ALLOWED_SCRIPTS[script]
    vocab = loaded.tokenizer.get_vocab()
    size = loaded.model.get_output_embeddings().weight.shape[0]
    mask = torch.zeros(size, dtype=torch.bool)
    for tok, idx in vocab.items():
        if idx < size and any(ch.isalpha() and _script_of(ch) not in allowed for ch in tok.replace("▁", " ")):
            mask[idx] = True
    loaded.banned[script] = mask
    return mask


def _output_head(loaded: _Loaded, script: str | None) -> tuple[Any, Any]:
    """(vocabulary ids, output weight rows) of the tokens the target may use; ids None = the whole vocabulary.

    The 262k-token output projection is about two thirds of this model's work per token.
    Scoring only the tokens :func:`_banned_ids` leaves allowed gives exactly the argmax of
    the masked full projection, at a fraction of the cost. The first script asked for gets
    its rows by :func:`_reorder_vocabulary`, as a view; another script gets a copy of its rows.
    """
    import torch

    if script in loaded.heads:
        return loaded.heads[script]
    weight = loaded.model.get_output_embeddings().weight
    if script not in _ALLOWED_SCRIPTS:
        return loaded.order, weight
    allowed = torch.nonzero(~_banned_ids(loaded, script), as_tuple=True)[0]
    with _REORDER_LOCK:
        if loaded.order is None:
            _reorder_vocabulary(loaded, allowed)
            weight = loaded.model.get_output_embeddings().weight
            head = (allowed, weight[:allowed.numel()])
        else:
            head = (allowed, weight.index_select(0, loaded.position[allowed]).contiguous())
    loaded.heads[script] = head
    return head


_REORDER_LOCK = threading.Lock()


def _reorder_vocabulary(loaded: _Loaded, first: Any) -> None:
    """Move the embedding rows of the tokens ``first`` (ascending ids) to the top, in place.

    Then the allowed rows of the output projection are a slice of the embedding, not a
    400 MB copy of it beside the 670 MB original, and the model behaves as before: the
    input embedding maps each token id to its row, and the full projection's scores are
    put back in token order.
    """
    import torch

    model = loaded.model
    weight = model.get_output_embeddings().weight  # tied: the same parameter as the input embedding
    size = weight.shape[0]
    rest = torch.ones(size, dtype=torch.bool)
    rest[first] = False
    order = torch.cat([first, torch.nonzero(rest, as_tuple=True)[0]])
    position = torch.empty_like(order)
    position[order] = torch.arange(size)
    with torch.no_grad():
        reordered = _read_rows(Path(loaded.folder) / "model.safetensors", "model.embed_tokens.weight", position,
                               weight)
        weight.data = reordered if reordered is not None else weight.data.index_select(0, order)
    embed, head = model.get_input_embeddings(), model.lm_head
    embed_forward, head_forward = embed.forward, head.forward
    embed.forward = lambda input_ids: embed_forward(position[input_ids])
    head.forward = lambda hidden: head_forward(hidden).index_select(-1, position)
    loaded.order, loaded.position = order, position


def _read_rows(path: Path, name: str, position: Any, like: Any) -> Any:
    """Tensor ``name`` of a safetensors file (float32 or bfloat16) with row r moved to row
    ``position[r]``, in ``like``'s dtype; None if it is not ``like``'s shape.

    Read with plain file reads, a few MB at a time: the model's own mapping of the file
    is never touched for these rows, so they do not become resident twice (reading them
    through it would keep 670 MB of mapped pages beside the reordered copy).
    """
    import json
    import struct

    import numpy as np
    import torch

    try:
        with open(path, "rb") as handle:
            header = json.loads(handle.read(struct.unpack("<Q", handle.read(8))[0]))
            entry = header.get(name)
            # numpy has no bfloat16: its rows are read as 16-bit words and viewed as bfloat16.
            stored = {"F32": (np.float32, torch.float32), "BF16": (np.uint16, torch.bfloat16)}.get(
                entry.get("dtype") if entry else None)
            if stored is None or not like.dtype.is_floating_point or list(entry.get("shape", [])) != list(like.shape):
                return None
            rows, width = like.shape
            start = handle.tell() + entry["data_offsets"][0]  # the data follows the header
            out = torch.empty(like.shape, dtype=like.dtype)
            chunk = np.empty((8192, width), dtype=stored[0])
            handle.seek(start)
            for first in range(0, rows, len(chunk)):
                count = min(len(chunk), rows - first)
                view = chunk[:count]
                if handle.readinto(memoryview(view).cast("B")) != view.nbytes:
                    return None
                out[position[first:first + count]] = torch.from_numpy(view).view(stored[1]).to(like.dtype)
            return out
    except (OSError, ValueError, KeyError):
        return None


@contextlib.contextmanager
def _allowed_head(loaded: _Loaded, script: str | None) -> Iterator[None]:
    """Within the block, the model's output projection scores only the tokens ``script`` allows and
    gives the rest -inf: what the ban would leave of the full projection, at a fraction of its cost
    (this model has no final logit soft-capping that -inf would upset). Not for beam search: its
    scores are log-probabilities over the whole vocabulary, which only the full projection gives."""
    import torch

    model = loaded.model
    allowed, weight = _output_head(loaded, script)
    if allowed is None or getattr(model.config, "final_logit_softcapping", None) is not None:
        yield
        return
    size = model.get_output_embeddings().weight.shape[0]

    class AllowedHead(torch.nn.Module):
        def forward(self, hidden: Any) -> Any:
            out = hidden.new_full((*hidden.shape[:-1], size), float("-inf"))
            out[..., allowed] = hidden @ weight.T
            return out

    full = model.lm_head
    model.lm_head = AllowedHead()
    try:
        yield
    finally:
        model.lm_head = full


def native_dtype() -> str:
    """bfloat16 where the CPU multiplies it natively (AVX512-BF16 or AMX), else float32.

    Measured on an AMX Xeon (bench/translation.py, six sets): about a third less CPU time, 440 MB
    less memory and the same chrF within noise. Elsewhere torch emulates bfloat16, slower than float32.
    """
    import torch

    try:
        native = bool(torch.cpu._is_avx512_bf16_supported())
    except AttributeError:  # a torch without the probe: assume the common case
        native = False
    return "bfloat16" if native else "float32"


def configured_dtype() -> str:
    """The number format Gemma runs in: ``$LOCALIZE_GEMMA_DTYPE``, float32 unless set; ``auto`` is
    :func:`native_dtype`. float32 stays the default because it is reproducible: two fresh bfloat16
    runs of the demo episode differed in one line that a beam retry made, where float32 runs agree."""
    dtype = os.environ.get("LOCALIZE_GEMMA_DTYPE", "float32")
    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise ConfigError(f"LOCALIZE_GEMMA_DTYPE must be auto, float32, bfloat16 or float16, not {dtype!r}")
    return native_dtype() if dtype == "auto" else dtype


def _settings() -> tuple[str, str, int]:
    dtype = configured_dtype()
    try:
        threads = max(1, int(os.environ.get("LOCALIZE_TORCH_THREADS", DEFAULT_THREADS)))
    except ValueError:
        raise ConfigError("LOCALIZE_TORCH_THREADS must be a whole number") from None
    folder = os.environ.get("LOCALIZE_GEMMA_DIR") or str(prepare(dtype=dtype))
    return folder, dtype, threads


def _prefix_cache(loaded: _Loaded, prefix: str) -> tuple[Any, Any]:
    """Token ids and the attention cache of a prompt prefix (the examples), computed once per language."""
    import torch

    if prefix in loaded.prefixes:
        return loaded.prefixes[prefix]
    ids = loaded.tokenizer(prefix, return_tensors="pt").input_ids
    # The base model only: the cache is all that is kept, and scoring every prefix position against
    # the 262k-token vocabulary would cost seconds and read the whole output projection.
    with torch.inference_mode():
        out = loaded.model.model(input_ids=ids, use_cache=True)
    if len(loaded.prefixes) >= PREFIX_CACHES:  # the oldest goes
        loaded.prefixes.pop(next(iter(loaded.prefixes)))
    loaded.prefixes[prefix] = (ids, out.past_key_values)
    return loaded.prefixes[prefix]


def _left_padded(tokenizer: Any, suffixes: list[str], prefix_len: int) -> tuple[Any, Any]:
    """Suffix token ids left-padded to one width, and the attention mask over prefix + suffix.

    The padding sits between the shared prefix and each suffix; masked out, it changes
    nothing (positions are counted from the mask), so a batch decodes what each line would alone.
    """
    import torch

    rows = [tokenizer(s, add_special_tokens=False).input_ids for s in suffixes]
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), prefix_len + width), dtype=torch.long)
    mask[:, :prefix_len] = 1
    for b, row in enumerate(rows):
        ids[b, width - len(row):] = torch.tensor(row)
        mask[b, prefix_len + width - len(row):] = 1
    return ids, mask




def _clean(raw: str) -> str:
    line = raw.split("\n", 1)[0].strip()
    line = re.split(r"\s*\b(?:Chinese|Note)\s*:", line, maxsplit=1)[0].strip()
    if len(line) >= 2 and line[0] in "\"“'" and line[-1] in "\"”'":
        line = line[1:-1].strip()
    # A lower-case glossary name copied to the front ("senhor Gu, ...") still starts a sentence.
    if line[:1].islower():
        line = line[0].upper() + line[1:]
    return line


class GemmaTranslator(Translator):
    """Few-shot translation with the embedded Gemma 3 270M base model.

    ``substitute`` writes glossary targets into the source before prompting, which
    the model then copies (on the eval set: 100% of glossary lines right from the
    model, against 79% when the names are left in Chinese). ``context`` previous
    lines, with this backend's own translations, can go into the prompt; it is off
    by default because on a continuous scene it did not help this model (chrF 28.3
    without, 26.0 with one line, 26.4 with two) and it costs time.

    A retry told the line is over its length budget decodes ``shorten_beams``
    candidates in one beam search (no length normalisation, so shorter wordings
    rank higher) and returns the most likely one that passes the checks after the
    rule-based condensing; greedy re-rolls rarely came out shorter.

    Lines are decoded ``batch_size`` at a time, with the same output as line by line
    (checked by a test): first tries by a greedy loop that scores only the tokens the
    target's script allows (32 eval lines on 2 cores: 29.2 s one by one, 6.6 s batched),
    retries through ``generate()`` grouped by how they decode.
    """

    name = "gemma"
    # The best-F1 cut on the 48-line eval set only, against lines of chrF < 30 (bench/confidence_flag.py:
    # precision 92%, recall 61% there); measured on held-out lines in /work/notes/issue16.md.
    low_confidence = -0.68

    def __init__(self, context: int = 0, substitute: bool = True, digits: bool = True,
                 max_new_tokens: int = 64, shorten_beams: int = 6, batch_size: int = 16) -> None:
        self.context = context
        self.batch_size = max(1, batch_size)
        self.shorten_beams = max(1, shorten_beams)
        self.substitute = substitute
        self.digits = digits
        self.max_new_tokens = max_new_tokens
        self._request_id: int | None = None
        self._done: dict[int, str] = {}
        self._tries: dict[int, int] = {}
        self._confidence: dict[int, float] = {}

    # -- prompt -------------------------------------------------------------------------------
    def _source(self, line: str, names: dict[str, str], locale_tag: str) -> str:
        """The source line as the model sees it: glossary names and amounts already written out."""
        line = _substitute(line.strip(), names)
        return amounts_as_digits(line, locale_tag) if self.digits else line

    def _language(self, request: TranslationRequest) -> str:
        lang = request.locale.language
        if lang not in _SHOT_TARGETS:
            raise ModelError(f"the gemma backend has no examples for {request.locale.name} ({request.locale.tag})")
        return lang

    def _prefix(self, request: TranslationRequest) -> str:
        lang = self._language(request)
        label = request.locale.name
        names = _SHOT_NAMES[lang] if self.substitute else {}
        pairs = "".join(f"Chinese: {self._source(zh, names, request.locale.tag)}\n{label}: {tgt}\n\n"
                        for zh, tgt in zip(_SHOT_SOURCES, _SHOT_TARGETS[lang]))
        return f"Chinese short-drama dialogue, translated into natural spoken {label}.\n\n{pairs}"

    def _suffix(self, request: TranslationRequest, index: int, terms: dict[str, str], note: str | None) -> str:
        label = request.locale.name
        names = {t: terms[t] for t in find_terms(request.lines[index], terms)} if self.substitute else {}
        parts: list[str] = []
        if note is None:
            for j in range(max(0, index - self.context), index):
                if j in self._done and request.lines[j].strip():
                    prev_names = {t: terms[t] for t in find_terms(request.lines[j], terms)} if self.substitute else {}
                    parts.append(f"Chinese: {self._source(request.source(j), prev_names, request.locale.tag)}\n"
                                 f"{label}: {self._done[j]}\n\n")
        else:
            parts.append(f"Note: the next line must be entirely in {label}; {note}.\n")
        parts.append(f"Chinese: {self._source(request.source(index), names, request.locale.tag)}\n{label}:")
        return "".join(parts)

    # -- decoding -----------------------------------------------------------------------------
    def _generate(self, prefix: str, suffixes: list[str], script: str | None, max_new: list[int], attempt: int,
                  beams: int = 1) -> list[list[str]]:
        """Decode the continuations of ``prefix + suffix`` for each suffix in one batch.

        Returns each line's candidates: one, or with ``beams`` > 1 up to that many, best
        first (only those that finished within the line's ``max_new`` tokens).
        """
        import torch
        from transformers import LogitsProcessor, LogitsProcessorList

        loaded = _load(*_settings())
        prefix_ids, cache = _prefix_cache(loaded, prefix)
        suffix_ids, mask = _left_padded(loaded.tokenizer, suffixes, prefix_ids.shape[1])
        ids = torch.cat([prefix_ids.expand(len(suffixes), -1), suffix_ids], dim=1)
        processors = LogitsProcessorList()
        if script in _ALLOWED_SCRIPTS:
            banned = _banned_ids(loaded, script)

            class _Ban(LogitsProcessor):
                def __call__(self, input_ids, scores):  # noqa: ANN001 - transformers' signature
                    return scores.masked_fill(banned[: scores.shape[-1]], float("-inf"))

            processors.append(_Ban())
        options: dict[str, Any] = {"do_sample": False}
        cache = copy.deepcopy(cache)
        cache.batch_repeat_interleave(len(suffixes) * beams)  # generate() expands the ids, not a passed-in cache
        if beams > 1:  # the shorten retry: several whole candidates in one batched decode
            # A raw log-probability sum (no length normalisation) leans to the shorter wordings.
            options.update(num_beams=beams, num_return_sequences=beams, length_penalty=0.0, early_stopping=True)
        elif attempt == 2:  # the retry: still greedy, but pushed off the loop it may have fallen into
            options.update(repetition_penalty=1.3, no_repeat_ngram_size=3)
        elif attempt >= 3:  # then sample, seeded so runs stay reproducible
            options.update(do_sample=True, temperature=0.7, top_p=0.9, top_k=0)
        # fork_rng: the seed must not leak into the global generator other stages may rely on.
        with torch.random.fork_rng(devices=[]), torch.inference_mode(), \
                _allowed_head(loaded, script if beams == 1 else None):
            torch.manual_seed(1234 + attempt)
            out = loaded.model.generate(
                input_ids=ids, attention_mask=mask, past_key_values=cache, max_new_tokens=max(max_new),
                eos_token_id=loaded.stop_ids, pad_token_id=loaded.tokenizer.pad_token_id,
                logits_processor=processors, **options)
        stops = set(loaded.stop_ids)
        candidates: list[list[str]] = []
        for line, limit in enumerate(max_new):
            texts = []
            for row in out[line * beams:(line + 1) * beams]:
                tokens = row[ids.shape[1]:].tolist()
                end = next((k for k, token in enumerate(tokens) if token in stops), None)
                if beams > 1 and (end is None or end >= limit):
                    continue  # a candidate cut off by max_new would be a line cut mid-word
                texts.append(loaded.tokenizer.decode(tokens[:limit], skip_special_tokens=True))
            candidates.append(texts)
        return candidates

    def _greedy_batch(self, prefix: str, suffixes: list[str], script: str | None,
                      max_new: list[int]) -> tuple[list[str], list[float | None]]:
        """Greedy continuations of ``prefix + suffix`` for several lines at once.

        One decode step for the whole batch reads the weights once, which is what a
        token costs on a CPU; one line at a time, each step re-read them for one row.
        Suffixes are left-padded after the shared prefix cache (padding masked out,
        positions counted without it), and a row leaves the batch when it stops.
        The result is the same greedy decode :meth:`_generate` gives, line by line, with
        each line's mean token log-probability (over the tokens its script allows).
        """
        import torch

        loaded = _load(*_settings())
        prefix_ids, prefix_cache = _prefix_cache(loaded, prefix)
        allowed, weight = _output_head(loaded, script)
        ids, mask = _left_padded(loaded.tokenizer, suffixes, prefix_ids.shape[1])
        count = len(suffixes)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, prefix_ids.shape[1]:]
        cache = copy.deepcopy(prefix_cache)
        cache.batch_repeat_interleave(count)
        stops = torch.tensor(loaded.stop_ids)
        limits = torch.tensor(max_new)
        live = torch.arange(count)  # which original rows are still in the batch
        tokens: list[list[int]] = [[] for _ in range(count)]
        logprobs: list[list[float]] = [[] for _ in range(count)]
        with torch.inference_mode():
            for step in range(max(max_new)):
                hidden = loaded.model.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                                            past_key_values=cache, use_cache=True).last_hidden_state[:, -1]
                scores = hidden @ weight.T
                best = scores.argmax(-1)
                chosen = allowed[best] if allowed is not None else best
                # The chosen token's log-probability: the line's confidence is their mean.
                chosen_lp = (scores.gather(1, best[:, None])[:, 0] - torch.logsumexp(scores, dim=-1)).tolist()
                is_stop = torch.isin(chosen, stops)
                finished = is_stop | (step + 1 >= limits[live])
                for b, token, lp, stop in zip(live.tolist(), chosen.tolist(), chosen_lp, is_stop.tolist()):
                    tokens[b].append(token)
                    if not stop:
                        logprobs[b].append(lp)
                keep = torch.nonzero(~finished, as_tuple=True)[0]
                if keep.numel() == 0:
                    break
                if keep.numel() < live.numel():
                    cache.batch_select_indices(keep)
                    live, chosen, mask, positions = live[keep], chosen[keep], mask[keep], positions[keep]
                ids = chosen[:, None]
                mask = torch.cat([mask, torch.ones((live.numel(), 1), dtype=torch.long)], dim=1)
                positions = positions[:, -1:] + 1
        means = [sum(row) / len(row) if row else None for row in logprobs]
        return [loaded.tokenizer.decode(row, skip_special_tokens=True) for row in tokens], means

    def _budget_tokens(self, request: TranslationRequest, index: int) -> int:
        # Latin-script lines run about 4 characters a token. Half the budget in tokens plus slack
        # lets a slightly long line finish, so the length check, not a mid-word cut, judges it.
        source_len = len(request.lines[index].strip())
        limit = min(self.max_new_tokens, 3 * source_len + 16)
        budget = request.budget(index)
        if budget:
            limit = min(limit, budget // 2 + 8)
        return max(12, limit)

    def translate(self, request: TranslationRequest, indices: list[int], feedback: dict[int, str]) -> dict[int, str]:
        """Translate the given lines; a line with feedback is retried with a note and other decoding.

        Lines are decoded together, ``batch_size`` lines at a time (one at a time when
        earlier translations go into the prompt as ``context``): first tries by
        :meth:`_greedy_batch`, retries grouped by how they decode.
        """
        if id(request) != self._request_id:
            self._request_id, self._done, self._tries, self._confidence = id(request), {}, {}, {}
        prefix = self._prefix(request)
        terms = request.terms()
        script = _script_key(request)
        shot_targets = {t.casefold() for t in _SHOT_TARGETS[self._language(request)]}
        out: dict[int, str] = {}

        def keep(index: int, raws: list[str]) -> None:
            texts = [t for t in dict.fromkeys(_clean(raw) for raw in raws) if t and t.casefold() not in shot_targets]
            if not texts:
                log.debug("gemma gave nothing new for line %d: %r", index, raws)
                return
            out[index] = self._done[index] = self._pick(request, index, texts, terms) if len(texts) > 1 else texts[0]

        wanted = [i for i in indices if request.lines[i].strip()]
        for index in wanted:
            self._tries[index] = self._tries.get(index, 0) + 1
        together = [i for i in wanted if self._tries[i] == 1 and i not in feedback] if not self.context else []
        for first in range(0, len(together), self.batch_size):
            chunk = together[first:first + self.batch_size]
            raws, means = self._greedy_batch(prefix, [self._suffix(request, i, terms, None) for i in chunk],
                                             script, [self._budget_tokens(request, i) for i in chunk])
            for index, raw, mean in zip(chunk, raws, means):
                keep(index, [raw])
                if mean is not None:
                    self._confidence[index] = mean
        # Retries, batched by how they decode: (attempt, shorten).
        groups: dict[tuple[int, bool], list[int]] = {}
        for index in wanted:
            if index not in together:
                note = feedback.get(index)
                shorten = bool(note and request.budget(index) and ("over-budget" in note or "too-long" in note))
                groups.setdefault((min(self._tries[index], 3), shorten), []).append(index)
        for (attempt, shorten), group in groups.items():
            beams = self.shorten_beams if shorten else 1
            size = 1 if self.context else max(1, self.batch_size // beams)
            for first in range(0, len(group), size):
                chunk = group[first:first + size]
                limits = [self._budget_tokens(request, i) for i in chunk]
                if shorten and request.locale.script == "latin":
                    # About 4 characters a token: a beam running far past the budget is not wanted.
                    limits = [min(limit, request.budget(i) // 3 + 6) for limit, i in zip(limits, chunk)]
                suffixes = [self._suffix(request, i, terms, feedback.get(i)) for i in chunk]
                for index, raws in zip(chunk, self._generate(prefix, suffixes, script, limits, attempt, beams)):
                    keep(index, raws)
        return out

    @staticmethod
    def _pick(request: TranslationRequest, index: int, texts: list[str], terms: dict[str, str]) -> str:
        """The most likely candidate among the least faulty, judged after rule-based condensing."""
        from localize.stages.translate.base import condense_line
        from localize.stages.translate.validate import severity

        def fault(text: str) -> tuple[int, int]:
            _, problems, _ = condense_line(request, index, text, request.check(index, text, terms), terms)
            return severity(problems)

        return min(texts, key=fault)  # min keeps the first (most likely) of equals

    def confidence(self, index: int) -> float | None:
        """Mean token log-probability of the line's first, greedy decode.

        Retries decode differently (a note, beams, sampling) and are not scored; a line
        that needed them keeps its first decode's figure, which is what made it doubtful.
        """
        return self._confidence.get(index)

    def close(self) -> None:
        """Free the shared model; the next use reloads it (a few seconds)."""
        unload()


@TRANSLATORS.register("gemma")
def _make_gemma(**options: Any) -> GemmaTranslator:
    return GemmaTranslator(**options)
