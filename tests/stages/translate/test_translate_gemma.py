"""The embedded Gemma 3 270M backend, run for real."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from localize.locales import get_locale
from localize.stages.translate import TranslationRequest, load_glossary, translate_lines
from localize.stages.translate.glossary import contains_term, find_terms
from localize.stages.translate.validate import has_han

ROOT = Path(__file__).resolve().parents[3]
GLOSSARY = load_glossary(ROOT / "glossaries" / "ceo-romance.yaml")


def _check(lines, results, locale):
    terms = GLOSSARY.for_locale(locale.tag)
    assert len(results) == len(lines)
    for source, r in zip(lines, results):
        assert r.text.strip(), source
        assert not has_han(r.text), r.text
        for term in find_terms(source, terms):
            assert contains_term(r.text, terms[term]), (source, r.text)


def test_prepare_gives_a_complete_folder_fast_once_converted():
    from localize.stages.translate.gemma import hf_dir, prepare

    prepare()  # converts on a fresh machine (about a minute), a no-op afterwards
    started = time.perf_counter()
    folder = prepare()
    assert time.perf_counter() - started < 1.0
    assert folder == hf_dir()
    assert (folder / "model.safetensors").stat().st_size > 500_000_000
    assert (folder / "tokenizer.json").is_file()


def test_a_bfloat16_folder_is_cast_once_from_the_float32_one_at_half_its_size():
    import json
    import struct

    from localize.stages.translate.gemma import hf_dir, prepare

    folder = prepare(dtype="bfloat16")  # `localize models --prepare` makes it when LOCALIZE_GEMMA_DTYPE asks
    started = time.perf_counter()
    assert prepare(dtype="bfloat16") == folder == hf_dir("bfloat16") != hf_dir()
    assert time.perf_counter() - started < 1.0
    weights = folder / "model.safetensors"
    with open(weights, "rb") as handle:
        header = json.loads(handle.read(struct.unpack("<Q", handle.read(8))[0]))
    assert {entry["dtype"] for name, entry in header.items() if name != "__metadata__"} == {"BF16"}
    assert abs(weights.stat().st_size / (hf_dir() / "model.safetensors").stat().st_size - 0.5) < 0.01


def test_gemma_translates_microdrama_lines_to_english():
    lines = ["顾总，这份合同您今天必须签。", "林晓，你被开除了。", "我不需要你的同情。", "顾晨，我恨你！"]
    locale = get_locale("en-US")
    results = translate_lines(TranslationRequest(lines, locale, GLOSSARY), ["gemma"])
    _check(lines, results, locale)
    assert all(r.backend == "gemma" for r in results)
    # The greedy first try passes on these; the figures are from bench/translation.py runs.
    assert sum(not r.problems for r in results) >= 3
    assert "hate" in results[3].text.lower()


def test_gemma_spanish_uses_the_locale_glossary():
    lines = ["顾总，股价跌了！", "阿姨，谢谢您。"]
    locale = get_locale("es-MX")
    results = translate_lines(TranslationRequest(lines, locale, GLOSSARY), ["gemma"])
    _check(lines, results, locale)
    assert contains_term(results[0].text, "señor Gu")
    assert contains_term(results[1].text, "tía")


def test_length_budget_retry_picks_a_beam_candidate_that_fits():
    # Greedy gives "Three years ago, you finally came back." (39 characters, no rule shortens it);
    # the one shorten retry decodes beam candidates and keeps the likeliest that fits. A line that
    # still does not fit is reported, never cut (test_translate_budget.py covers that without a model).
    lines = ["三年了，你终于回来了。"]
    r = translate_lines(TranslationRequest(lines, get_locale("en-US"), GLOSSARY, budgets_chars=[37]), ["gemma"])[0]
    assert r.text and not has_han(r.text)
    assert r.attempts == 2, r
    assert len(r.text) <= 37 and "back" in r.text.lower(), r.text
    assert not any(p.startswith(("over-budget", "too-long")) for p in r.problems), r.problems


@pytest.mark.slow
def test_conversion_from_gguf_is_atomic_and_loadable(tmp_path, monkeypatch):
    from localize.stages.translate import gemma

    monkeypatch.setenv("LOCALIZE_MODELS", str(tmp_path))
    folder = gemma.prepare()
    assert folder == tmp_path / gemma.HF_FOLDER
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp folder left
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.num_hidden_layers == 18


@pytest.mark.slow
def test_gemma_follows_market_rules_for_money_and_slang():
    # es-MX converts yuan to pesos; the rule writes the amount into the source, the model copies it.
    lines = ["五万块，离开我儿子。", "别再给我画饼了。"]
    results = translate_lines(TranslationRequest(lines, get_locale("es-MX"), GLOSSARY), ["gemma"])
    assert "125,000" in results[0].text, results[0].text
    assert not any(p.startswith(("currency", "idiom")) for r in results for p in r.problems)
    en = translate_lines(TranslationRequest(lines[1:], get_locale("en-US"), GLOSSARY), ["gemma"])
    assert "promise" in en[0].text.lower(), en[0].text


@pytest.fixture
def gemma_in(monkeypatch):
    """Gemma in a dtype of the test's choosing; the default's model is loaded again afterwards.
    (Unloaded on each switch so that two models are never held at once.)"""
    from localize.stages.translate import gemma

    def use(dtype: str) -> None:
        gemma.unload()
        monkeypatch.setenv("LOCALIZE_GEMMA_DTYPE", dtype)

    yield use
    gemma.unload()


def test_prompt_caches_belong_to_the_model_they_were_made_with(gemma_in, monkeypatch):
    """A process that switches the number format midway, without unloading, gets caches of the new model."""
    from localize.stages.translate import gemma

    gemma_in("float32")
    first = gemma._load(*gemma._settings())
    prefix = "Chinese: 走！\nEnglish:"
    _ids, cache = gemma._prefix_cache(first, prefix)
    assert cache.layers[0].keys.dtype == first.model.dtype
    monkeypatch.setenv("LOCALIZE_GEMMA_DTYPE", "bfloat16")
    second = gemma._load(*gemma._settings())
    assert second is not first and not second.prefixes
    _ids, cache = gemma._prefix_cache(second, prefix)
    assert str(second.model.dtype) == "torch.bfloat16" and cache.layers[0].keys.dtype == second.model.dtype
    assert gemma._prefix_cache(second, prefix)[1] is cache


@pytest.mark.parametrize(("tag", "dtype"), [("en-US", "float32"), ("es-MX", "float32"), ("en-US", "bfloat16")])
def test_batched_first_tries_decode_what_line_by_line_greedy_decoding_gives(tag, dtype, gemma_in):
    """Padding a batch changes no line. In bfloat16 (LOCALIZE_GEMMA_DTYPE, for CPUs that multiply it natively)
    that holds for the greedy first tries, but not for beam retries: their candidates' scores are close
    enough that bfloat16's rounding, which depends on the batch's shape, picks others (measured: es-MX)."""
    from localize.stages.translate.gemma import GemmaTranslator, _script_key

    gemma_in(dtype)

    # Lines of different lengths, so the batch is padded and rows stop at different steps.
    lines = ["林晓，你被开除了。", "顾总，这份合同您今天必须签，不然明天就来不及了。", "我不需要你的同情。", "走！"]
    request = TranslationRequest(lines, get_locale(tag), GLOSSARY)
    translator = GemmaTranslator()
    prefix, terms, script = translator._prefix(request), request.terms(), _script_key(request)
    suffixes = [translator._suffix(request, i, terms, None) for i in range(len(lines))]
    limits = [translator._budget_tokens(request, i) for i in range(len(lines))]
    one_by_one = [translator._generate(prefix, [s], script, [m], attempt=1)[0][0] for s, m in zip(suffixes, limits)]
    together, confidences = translator._greedy_batch(prefix, suffixes, script, limits)
    # Each line's confidence is a mean log-probability: negative, finite.
    assert all(c is not None and -20 < c <= 0 for c in confidences)
    assert [t.split("\n")[0].strip() for t in together] == [t.split("\n")[0].strip() for t in one_by_one]
    assert all(t.strip() for t in together)
    if dtype != "float32":
        return
    # Retries batch through generate(): the padding between prefix and line changes nothing there either.
    notes = [translator._suffix(request, i, terms, "say it shorter") for i in range(len(lines))]
    alone = [translator._generate(prefix, [s], script, [m], attempt=2)[0] for s, m in zip(notes, limits)]
    assert translator._generate(prefix, notes, script, limits, attempt=2) == alone
    # generate() scores only the allowed tokens too: the same lines as through the whole projection.
    import contextlib

    from localize.stages.translate import gemma

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gemma, "_allowed_head", lambda loaded, script: contextlib.nullcontext())
        assert translator._generate(prefix, notes, script, limits, attempt=2) == alone

    # The allowed rows are the top of the reordered embedding (a view, not a 400 MB copy), and every
    # token still reads its own row from the file: the input lookup and the full projection map ids.
    import torch
    from safetensors import safe_open

    loaded = gemma._load(*gemma._settings())
    allowed, rows = gemma._output_head(loaded, script)
    weight = loaded.model.get_output_embeddings().weight
    assert torch.equal(rows, weight[loaded.position[allowed]])
    if torch.equal(loaded.order[:allowed.numel()], allowed):  # the script the rows were reordered for
        assert rows.data_ptr() == weight.data_ptr()
    with safe_open(str(Path(gemma._settings()[0]) / "model.safetensors"), "pt") as stored:
        original = stored.get_slice("model.embed_tokens.weight")
        for token in (0, int(allowed[5]), int(loaded.order[-1])):
            assert torch.equal(weight[loaded.position[token]], original[token:token + 1][0])
    hidden = torch.randn(1, 1, weight.shape[1], dtype=weight.dtype)  # float32, or bfloat16 when asked for
    close = {"atol": 1e-5} if weight.dtype == torch.float32 else {"atol": 2e-2, "rtol": 2e-2}
    assert torch.allclose(loaded.model.lm_head(hidden)[0, 0, allowed], (hidden @ rows.T)[0, 0], **close)


def test_gemma_runs_in_float32_unless_another_format_is_asked_for(monkeypatch):
    from localize.errors import ConfigError
    from localize.stages.translate.gemma import configured_dtype, native_dtype

    monkeypatch.delenv("LOCALIZE_GEMMA_DTYPE", raising=False)
    assert configured_dtype() == "float32"  # reproducible run to run (see configured_dtype)
    monkeypatch.setenv("LOCALIZE_GEMMA_DTYPE", "auto")
    assert configured_dtype() == native_dtype() in ("float32", "bfloat16")
    monkeypatch.setenv("LOCALIZE_GEMMA_DTYPE", "int4")
    with pytest.raises(ConfigError, match="LOCALIZE_GEMMA_DTYPE"):
        configured_dtype()
