"""The SpeechT5 cloning backend, with a tiny random-initialised model built and saved here."""

from __future__ import annotations

import numpy as np
import pytest

from localize.errors import ModelError
from localize.locales import get_locale
from localize.stages.synthesize import VOICES, Voice, fit_to_slot
from localize.stages.synthesize.speecht5 import CloningBackend, SpeechT5Backend

CHARS = "abcdefghijklmnopqrstuvwxyz ,.?!'"


def _tiny_model(folder, speaker_dim: int = 256) -> None:
    """A SpeechT5 model, char tokenizer and HiFi-GAN vocoder, a few layers wide, saved to ``folder``."""
    import sentencepiece as spm
    import torch
    from transformers import (SpeechT5Config, SpeechT5ForTextToSpeech, SpeechT5HifiGan, SpeechT5HifiGanConfig,
                              SpeechT5Tokenizer)

    torch.manual_seed(0)
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(["the quick brown fox jumps over the lazy dog, why? yes! it's fine."] * 20))
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(folder / "spm_char"), model_type="char",
                                   vocab_size=34, character_coverage=1.0, bos_id=0, pad_id=1, eos_id=2, unk_id=3,
                                   minloglevel=2)
    tokenizer = SpeechT5Tokenizer(vocab_file=str(folder / "spm_char.model"))
    config = SpeechT5Config(vocab_size=tokenizer.vocab_size + 1, hidden_size=32, encoder_layers=1, decoder_layers=1,
                            encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                            decoder_ffn_dim=64, speaker_embedding_dim=speaker_dim, speech_decoder_prenet_units=32,
                            speech_decoder_postnet_units=32, speech_decoder_postnet_layers=2,
                            max_speech_positions=1200, max_text_positions=200)
    SpeechT5ForTextToSpeech(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(upsample_initial_channel=16, resblock_kernel_sizes=[3],
                                                    resblock_dilation_sizes=[[1, 3]]))
    vocoder.eval().save_pretrained(folder / "vocoder")
    corpus.unlink()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speecht5")
    _tiny_model(folder)
    return folder


def test_registered_and_missing_path_is_one_line_model_error(monkeypatch, tmp_path):
    monkeypatch.delenv("LOCALIZE_NEURAL_VOICE_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./localize.yaml
    assert "speecht5" in VOICES.names()
    with pytest.raises(ModelError, match="neural_voice_model") as info:
        VOICES.create("speecht5")
    assert "\n" not in str(info.value) and "--voice-model" in str(info.value)
    with pytest.raises(ModelError, match="no config.json"):
        VOICES.create("speecht5", model_dir=tmp_path / "nowhere")


def test_model_with_other_embedding_size_needs_a_projection(tmp_path):
    _tiny_model(tmp_path, speaker_dim=64)
    backend = VOICES.create("speecht5", model_dir=tmp_path)
    with pytest.raises(ModelError, match="speaker_projection.npy"):
        backend.supports(get_locale("en-US"))
    np.save(tmp_path / "speaker_projection.npy", np.random.default_rng(0).standard_normal((64, 256)) / 16)
    from localize.stages.synthesize.speecht5 import _load

    _load.cache_clear()
    voice = backend.clone("S1", "male", np.ones(256))
    assert backend.synthesize("hello there", voice, get_locale("en-US")).duration_ms > 0


def test_cloned_voice_speaks_sane_length_through_the_interface(model_dir):
    backend = VOICES.create("speecht5", model_dir=model_dir)
    assert isinstance(backend, CloningBackend)
    assert backend.supports(get_locale("en-US")) and not backend.supports(get_locale("es-MX"))
    embedding = np.random.default_rng(3).standard_normal(256)
    voice = backend.clone("S2", "female", embedding)
    assert voice == Voice("speecht5", "clone-S2", "female")
    text = "why did you never call me back?"
    speech = backend.synthesize(text, voice, get_locale("en-US"))
    assert speech.rate == 16000 and speech.samples.dtype == np.float32
    assert np.all(np.isfinite(speech.samples)) and np.abs(speech.samples).max() <= 1.0
    # Between the decoding bounds: 20..200 ms per character token (+ the end token).
    tokens = len(text) + 1
    assert 0.02 * tokens * 0.5 <= speech.duration_ms / 1000 <= 0.2 * tokens
    # speed > 1 gives a shorter clip (applied by WSOLA).
    faster = backend.synthesize(text, voice, get_locale("en-US"), speed=1.25)
    assert faster.duration_ms == pytest.approx(speech.duration_ms / 1.25, abs=5)
    # It plugs into the timing fit like any backend.
    fitted = fit_to_slot(backend, text, voice, get_locale("en-US"), max(200, speech.duration_ms // 2))
    assert fitted.duration_ms <= max(200, speech.duration_ms // 2) or not fitted.fits


def test_clone_rejects_wrong_embedding(model_dir):
    backend = SpeechT5Backend(model_dir=model_dir)
    with pytest.raises(ModelError, match="256-d"):
        backend.clone("S1", "male", np.ones(512))
    with pytest.raises(ModelError, match="neither cloned"):
        backend.synthesize("hello", Voice("speecht5", "clone-S9", "male"), get_locale("en-US"))


def test_cli_option_and_config_pick_the_cloning_backend(model_dir, tmp_path):
    from localize.cli import _pipeline_options
    from localize.config import load_settings
    from localize.pipeline import PipelineOptions
    from localize.stages.synthesize.stage import open_voice_backend as voice_backend

    settings = load_settings(environ={})
    options = _pipeline_options(settings, voice_model=model_dir)
    assert (options.voice_backend, options.voice_model) == ("speecht5", model_dir)
    assert _pipeline_options(settings).voice_model is None
    config = tmp_path / "localize.yaml"
    config.write_text(f"voice_backend: speecht5\nneural_voice_model: {model_dir}\n")
    configured = _pipeline_options(load_settings(config, environ={}))
    assert (configured.voice_backend, configured.voice_model) == ("speecht5", model_dir)
    backend = voice_backend(get_locale("en-US"), options)
    assert isinstance(backend, SpeechT5Backend) and backend.folder == model_dir
    # A market the model does not speak falls back to espeak-ng; a model for kokoro is refused.
    assert voice_backend(get_locale("es-MX"), options).name == "espeak"
    with pytest.raises(Exception, match="--voice speecht5"):
        voice_backend(get_locale("en-US"), PipelineOptions(voice_backend="kokoro", voice_model=model_dir))
