"""The VITS (MMS-TTS) voice backend, on tiny random-initialised VitsModels built and saved here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from localize.errors import ModelError
from localize.locales import get_locale
from localize.stages.synthesize import VOICES, assign_voices
from localize.stages.synthesize.mms import MmsBackend, model_folders

TH, AR, EN = get_locale("th-TH"), get_locale("ar-SA"), get_locale("en-US")
THAI_LINE = "คุณกู้คะ สัญญาฉบับนี้"


def _save_tiny_vits(folder, alphabet: str, num_speakers: int = 1, seed: int = 0):
    """A VitsModel small enough to run in a second, with a character vocabulary like MMS-TTS's."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    folder.mkdir(parents=True)
    symbols = ["<pad>", "<unk>", " "] + sorted(set(alphabet) - {" "})
    (folder / "vocab.json").write_text(json.dumps({s: i for i, s in enumerate(symbols)}, ensure_ascii=False),
                                       encoding="utf-8")
    tokenizer = VitsTokenizer(str(folder / "vocab.json"), language=None, add_blank=True, normalize=True,
                              phonemize=False, is_uroman=False)
    tokenizer.save_pretrained(folder)
    config = VitsConfig(vocab_size=len(symbols), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        ffn_dim=32, flow_size=16, spectrogram_bins=33, upsample_initial_channel=16,
                        upsample_rates=[8, 8, 2, 2], upsample_kernel_sizes=[16, 16, 4, 4],
                        resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
                        duration_predictor_filter_channels=16, prior_encoder_num_flows=1,
                        prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
                        duration_predictor_num_flows=1, depth_separable_num_layers=1,
                        num_speakers=num_speakers, speaker_embedding_size=8 if num_speakers > 1 else 0,
                        sampling_rate=16000)
    torch.manual_seed(seed)
    VitsModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("mms")
    _save_tiny_vits(root / "mms-tts-tha", THAI_LINE + "กขงจฉชซญดตถทธนบปผพฟภมยรลวศสหอฮะาิีึืุูเแโใไ่้๊๋็์ำั")
    _save_tiny_vits(root / "ar-SA", "ابتثجحخدذرسشصضطظعغفقكلمنهويءأإآةى؟،", num_speakers=3, seed=1)
    return root


def test_per_locale_folder_speaks_each_language_with_its_own_model(models):
    backend = VOICES.create("mms", model_dir=models)
    assert backend.supports(TH) and backend.supports(AR) and not backend.supports(EN)
    assert set(model_folders(models)) == {"th", "ar"}
    voice = backend.voices()[0]
    speech = backend.synthesize(THAI_LINE, voice, TH)
    assert speech.rate == 16000 and speech.samples.dtype == np.float32 and len(speech.samples) > 1600
    assert np.all(np.abs(speech.samples) <= 1.0)
    again = backend.synthesize(THAI_LINE, voice, TH)
    assert np.array_equal(speech.samples, again.samples)  # seeded: the same line each run
    faster = backend.synthesize(THAI_LINE, voice, TH, speed=1.5)
    assert len(faster.samples) < len(speech.samples)
    with pytest.raises(ModelError, match="--voice-model"):
        backend.synthesize("Hello", voice, EN)


def test_each_character_gets_a_distinct_voice(models):
    single = MmsBackend(models / "mms-tts-tha")
    cast = assign_voices([("a", "male"), ("b", "female"), ("c", "male"), ("d", "female")], single)
    assert len(set(cast.values())) == 4
    a, b = (single.synthesize(THAI_LINE, cast[k], TH).samples for k in ("a", "b"))
    assert not np.array_equal(a[: min(len(a), len(b))], b[: min(len(a), len(b))])
    multi = MmsBackend(models / "ar-SA")
    voices = multi.voices()
    assert [v.name for v in voices] == ["spk0", "spk1", "spk2"] and not any(v.pitch for v in voices)
    x = multi.synthesize("السيد قو؟", voices[0], AR).samples
    y = multi.synthesize("السيد قو؟", voices[1], AR).samples
    assert not np.array_equal(x[: min(len(x), len(y))], y[: min(len(x), len(y))])


def test_missing_or_mismatched_models_are_one_line_errors_naming_the_option(tmp_path, models):
    for bad in (tmp_path / "nowhere", tmp_path):
        with pytest.raises(ModelError, match="--voice-model") as err:
            MmsBackend(bad)
        assert "\n" not in str(err.value)
    other = tmp_path / "speecht5"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "speecht5"}))
    with pytest.raises(ModelError, match="not a VITS"):
        MmsBackend(other)
    unnamed = tmp_path / "model"
    unnamed.mkdir()
    for name in ("config.json", "vocab.json"):
        (unnamed / name).write_bytes((models / "ar-SA" / name).read_bytes())
    with pytest.raises(ModelError, match="which language"):
        MmsBackend(unnamed)
    (unnamed / "languages.txt").write_text("th\n")
    with pytest.raises(ModelError, match="cannot load|mismatched"):  # config without weights
        MmsBackend(unnamed).synthesize(THAI_LINE, Voice_any(), TH)


def Voice_any():
    from localize.stages.synthesize import Voice

    return Voice("mms", "spk0", "female")
