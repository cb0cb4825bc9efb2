"""The llama backend (llama-cpp-python) on a tiny random GGUF built in the test, and the real 1.5B behind `slow`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localize.errors import ModelError
from localize.locales import get_locale
from localize.stages.translate import TRANSLATORS, TranslationRequest, load_glossary, translate_lines
from localize.stages.translate.llama import LlamaTranslator, clean_answer
from localize.stages.translate.validate import has_han

EN = get_locale("en-US")
GLOSSARY = load_glossary(Path(__file__).resolve().parents[3] / "glossaries" / "ceo-romance.yaml")


def test_a_missing_or_wrong_model_is_a_model_error_naming_the_option(tmp_path, monkeypatch):
    monkeypatch.delenv("LOCALIZE_LLAMA_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="--translator-model"):
        TRANSLATORS.create("llama")
    with pytest.raises(ModelError, match="no GGUF file"):
        TRANSLATORS.create("llama", model=tmp_path / "absent.gguf")
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelError, match="not a GGUF"):
        TRANSLATORS.create("llama", model=not_gguf)


def test_prompt_holds_rules_glossary_script_amounts_and_names(tiny_gguf):
    backend = LlamaTranslator(model=tiny_gguf)
    lines = ["顾总，会议开始了。", "晚晚，你哥又欠了五万块。", "走吧。"]
    request = TranslationRequest(lines, EN, GLOSSARY, speakers=["A", "B", "A"], budgets_chars=[40, 50, 12])
    terms = request.terms()
    first = backend.messages(request, 1, terms, None)
    system, *examples, user = first
    # The whole script is context, with names and amounts already written in, and the glossary is stated.
    assert "1. [A] Mr. Gu，会议开始了。" in system["content"] and "3. [A] 走吧。" in system["content"]
    assert "顾总 = Mr. Gu" in system["content"] and "晚晚 = Wanwan" in system["content"]
    assert "Wanwan，你又欠了50,000 yuan。" in user["content"] and "at most 50 characters" in user["content"]
    # Worked examples (none from the eval sets) come as earlier turns of the same conversation.
    assert [turn["role"] for turn in examples[:2]] == ["user", "assistant"] and len(examples) % 2 == 0
    assert examples == backend.messages(request, 0, terms, None)[1:-1]
    # A retry says what was wrong; a line only too long is instead given to a separate edit task.
    retry = backend.messages(request, 1, terms, "amount: 50,000 must appear as a figure")
    assert retry[:-1] == first[:-1] and "rejected: amount: 50,000 must appear as a figure" in retry[-1]["content"]
    edit = backend.shorten_messages(request, 1, terms, "Wanwan, your brother owes 50,000 yuan again.", 30)
    assert "Wanwan，你又欠了50,000 yuan。" in edit[-1]["content"] and "at most 30 characters" in edit[-1]["content"]
    assert "(44 characters): Wanwan, your brother owes 50,000 yuan again." in edit[-1]["content"]
    # Lines of one script window share the system turn, so llama.cpp reuses the evaluated prefix.
    assert backend.system(request, 0, terms) == system["content"]


def test_answers_are_cleaned_but_run_ons_kept_for_the_check():
    assert clean_answer('2. "Wanwan, you owe 50,000 yuan."') == "Wanwan, you owe 50,000 yuan."
    assert clean_answer("Translation: Let's go.\nNote: literal") == "Let's go.\nNote: literal"


def test_backend_runs_a_real_gguf_through_its_chat_template_with_retries_and_confidence(tiny_gguf):
    pytest.importorskip("llama_cpp")
    request = TranslationRequest(["林晓，你被开除了。", "走！"], EN, GLOSSARY)
    results = translate_lines(request, ["llama"], options={"llama": {"model": str(tiny_gguf)}})
    assert [r.backend for r in results] == ["llama", "llama"]
    for result in results:
        # A random model writes nonsense: every line is checked, retried (3 tries) and flagged, never dropped.
        assert result.attempts == 3 and result.problems
        assert result.confidence is not None and result.confidence <= 0
        assert any(p.startswith("low-confidence") for p in result.problems)
    from localize.stages.translate.llama import _han_tokens, _load, _threads

    llm = _load(str(tiny_gguf), 4096, _threads())
    assert llm.metadata["tokenizer.chat_template"].startswith("{% for message in messages %}")
    # The tokens that begin a Chinese character (its UTF-8 lead bytes) are ruled out for English,
    # so even a random model cannot leave Chinese in a line; letters and punctuation stay.
    banned = {int(t) for t in _han_tokens(str(tiny_gguf), 4096, _threads())}
    assert banned == {3 + byte for byte in range(0xE4, 0xEA)}  # the byte tokens <0xE4>..<0xE9> (conftest)
    assert banned & set(llm.tokenize("顾晨".encode(), add_bos=False))
    assert not banned & set(llm.tokenize(b" you. a, b!", add_bos=False))
    assert not any(has_han(r.text) for r in results)


def test_a_quantized_gguf_decodes_on_this_cpu_whatever_its_matrix_units(tmp_path):
    """Quantized weights on an AMX CPU went into llama.cpp's AMX buffers, whose matrix product
    segfaulted on the first decode (every quantized GGUF, the embedded Qwen included). The run is
    in a child process, so a crash fails this test instead of ending pytest."""
    pytest.importorskip("llama_cpp")
    from conftest import write_tiny_gguf  # noqa: PLC0415 - this folder's fixture module

    model = write_tiny_gguf(tmp_path / "q8.gguf", n_embd=64, n_ff=128, quantized=True)
    code = ("import sys; from localize.locales import get_locale; "
            "from localize.stages.translate import TranslationRequest, translate_lines; "
            "r = translate_lines(TranslationRequest(['走吧。'], get_locale('en-US')), ['llama'], "
            "options={'llama': {'model': sys.argv[1]}}); print(r[0].backend, r[0].attempts)")
    done = subprocess.run([sys.executable, "-c", code, str(model)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-400:]}"
    backend, attempts = done.stdout.split()
    assert backend == "llama" and int(attempts) >= 1


def test_amx_is_read_from_the_cpu_flags(tmp_path):
    from localize.stages.translate.llama import cpu_has_amx

    (tmp_path / "amx").write_text("processor : 0\nflags : fpu avx512f amx_bf16 amx_tile amx_int8\n")
    (tmp_path / "plain").write_text("processor : 0\nflags : fpu avx2 avx512f\n")
    assert cpu_has_amx(tmp_path / "amx") and not cpu_has_amx(tmp_path / "plain")
    assert not cpu_has_amx(tmp_path / "absent")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_openai_backend_through_a_real_llama_server_on_loopback(tiny_gguf):
    pytest.importorskip("llama_cpp")
    pytest.importorskip("sse_starlette")
    pytest.importorskip("starlette_context")
    pytest.importorskip("pydantic_settings")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_gguf), "--host",
                               "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "llama_cpp.server exited"
                time.sleep(0.5)
        from localize.stages.translate.openai import OpenAITranslator

        backend = OpenAITranslator(base_url=f"http://127.0.0.1:{port}/v1", model="tiny", api_key="",
                                   max_tokens=48)
        answer = backend.chat([{"role": "user", "content": "你好"}])
        assert isinstance(answer, str)  # a real completion came back over HTTP through the chat template
    finally:
        server.terminate()
        server.wait(timeout=30)


QWEN_READY = os.environ.get("LOCALIZE_TEST_QWEN") == "1"


@pytest.mark.slow
@pytest.mark.skipif(not QWEN_READY, reason="set LOCALIZE_TEST_QWEN=1 after `localize models --prepare --with "
                                           "qwen2.5-coder-1.5b` (1.1 GB)")
def test_qwen_preset_translates_amounts_and_names():
    pytest.importorskip("llama_cpp")
    request = TranslationRequest(["晚晚，你哥又欠了五万块。", "你给我站住！"], EN, GLOSSARY)
    results = translate_lines(request, ["qwen2.5-coder-1.5b"])
    assert "Wanwan" in results[0].text and "50,000" in results[0].text
    assert all(r.backend == "qwen2.5-coder-1.5b" and r.confidence is not None for r in results)


@pytest.mark.slow
@pytest.mark.skipif(not QWEN_READY, reason="set LOCALIZE_TEST_QWEN=1 (see above)")
def test_qwen_shortens_a_line_over_budget_and_keeps_its_amount():
    pytest.importorskip("llama_cpp")
    from localize.locales import speech_length

    # A "shorter" retry is the edit task: the first answer (two sentences, over 51 characters) is
    # rewritten to fit, its amount kept. Called directly, so the rule-based condensing cannot do it first.
    request = TranslationRequest(["卡里有十万块，密码是你的生日。"], EN, GLOSSARY, budgets_chars=[51])
    backend = TRANSLATORS.create("qwen2.5-coder-1.5b")
    first = backend.translate(request, [0], {})[0]
    assert speech_length(first) > 51, first
    short = backend.translate(request, [0], {0: f"over-budget: {speech_length(first)} characters, budget 51"})[0]
    assert "100,000" in short and speech_length(short) <= 51, (first, short)


def test_models_lists_the_opt_in_model_and_refuses_an_unknown_one():
    from click.testing import CliRunner

    from localize.cli import cli

    listed = CliRunner().invoke(cli, ["models"])
    assert listed.exit_code == 0 and "qwen2.5-coder-1.5b (opt-in" in listed.output
    unknown = CliRunner().invoke(cli, ["models", "--with", "no-such-model"])
    assert unknown.exit_code != 0 and "qwen2.5-coder-1.5b" in unknown.output
