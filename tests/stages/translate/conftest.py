"""Fixtures for the translation tests: a tiny random-initialised llama-architecture GGUF, written with ``gguf``.

It has a byte-fallback SentencePiece vocabulary (every UTF-8 text tokenizes) and its
own chat template, so llama.cpp loads it, formats chat turns with that template and
generates (nonsense) tokens in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHAT_TEMPLATE = ("{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def write_tiny_gguf(path: Path, *, n_embd: int = 32, n_layer: int = 2, n_head: int = 4, n_ff: int = 64,
                    seed: int = 0, quantized: bool = False) -> Path:
    """Write the model to ``path`` and return it; ``quantized`` stores its matrices as Q8_0, like a real GGUF."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    pieces = ["▁", *"abcdefghijklmnopqrstuvwxyz", "▁the", "▁you", "▁I", ".", ",", "!", "?"]
    tokens += pieces
    types += [gguf.TokenType.NORMAL] * len(pieces)
    scores = [0.0] * 259 + [-float(i) for i in range(len(pieces))]
    n_vocab = len(tokens)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-test-llama")
    writer.add_context_length(512)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(n_embd // n_head)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if quantized else gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_chat_template(CHAT_TEMPLATE)

    def add_matrix(name: str, *shape: int) -> None:
        values = (rng.standard_normal(shape) * 0.2).astype(np.float32)
        if quantized:
            kind = gguf.GGMLQuantizationType.Q8_0
            writer.add_tensor(name, gguf.quants.quantize(values, kind), raw_dtype=kind)
        else:
            writer.add_tensor(name, values)

    add_matrix("token_embd.weight", n_vocab, n_embd)
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    add_matrix("output.weight", n_vocab, n_embd)
    for block in range(n_layer):
        prefix = f"blk.{block}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            add_matrix(f"{prefix}.{name}.weight", n_embd, n_embd)
        writer.add_tensor(f"{prefix}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        add_matrix(f"{prefix}.ffn_gate.weight", n_ff, n_embd)
        add_matrix(f"{prefix}.ffn_up.weight", n_ff, n_embd)
        add_matrix(f"{prefix}.ffn_down.weight", n_embd, n_ff)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory) -> Path:
    """A tiny random llama GGUF with a chat template (see :func:`write_tiny_gguf`)."""
    pytest.importorskip("gguf")
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")
