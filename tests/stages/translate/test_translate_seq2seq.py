"""The local seq2seq backend, loading a tiny random Marian model built here (no download)."""

from __future__ import annotations

import pytest

from localize.errors import ModelError
from localize.locales import get_locale
from localize.stages.translate import TRANSLATORS, TranslationRequest, translate_lines
from localize.stages.translate.seq2seq import Seq2SeqTranslator

pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory):
    """A 1-layer Marian with a character-level WordLevel tokenizer, saved like a real model folder."""
    import torch
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    chars = sorted(set("顾总林晓你被开除了我不需要的同情五万块离开儿子，。！？") | set("abcdefghijklmnopqrstuvwxyzMGL. ,"))
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{c: i + 3 for i, c in enumerate(chars)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    config = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=0, eos_token_id=1,
                          decoder_start_token_id=0, forced_eos_token_id=1)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-marian")
    MarianMTModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def test_seq2seq_loads_a_marian_folder_and_translates_every_line(tiny_marian):
    backend = Seq2SeqTranslator(model_dir=tiny_marian, num_beams=2, max_new_tokens=8, threads=1)
    request = TranslationRequest(["林晓，你被开除了。", "我不需要你的同情。"], get_locale("en-US"))
    out = backend.translate(request, [0, 1], {})
    assert set(out) <= {0, 1} and all(isinstance(t, str) for t in out.values())
    backend.close()


def test_seq2seq_runs_through_translate_lines_from_the_config(tiny_marian, monkeypatch):
    monkeypatch.setenv("LOCALIZE_SEQ2SEQ_MODEL", str(tiny_marian))
    results = translate_lines(TranslationRequest(["你被开除了。"], get_locale("en-US")), ["seq2seq"], max_attempts=1)
    assert len(results) == 1 and results[0].backend in ("seq2seq", "none")
    assert results[0].attempts == 1  # it ran; a random model's text may well fail validation


def test_missing_seq2seq_folder_is_a_model_error(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="not found"):
        Seq2SeqTranslator(model_dir=tmp_path / "nope")
    monkeypatch.delenv("LOCALIZE_SEQ2SEQ_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)  # no localize.yaml here
    with pytest.raises(ModelError, match="seq2seq_model"):
        TRANSLATORS.create("seq2seq")
