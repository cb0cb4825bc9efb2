"""The ``demucs`` backend: Demucs-format checkpoints built and saved here (random weights), run through the
real backend on a short generated mix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from localize.audio import read_wav, resample
from localize.errors import ModelError
from localize.stages.separate.demucs import DemucsSeparator, load, overlap_add
from localize.stages.separate.synthetic import build_mix
from localize.stages.separate import SEPARATORS, Stems

torch = pytest.importorskip("torch")
pytest.importorskip("demucs")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def save_package(model, path: Path) -> Path:
    """Write ``model`` the way Demucs's ``save_model`` and pretrained repositories do (half-precision state)."""
    args, kwargs = model._init_args_kwargs
    state = {name: value.half() for name, value in model.state_dict().items()}
    torch.save({"klass": type(model), "args": args, "kwargs": kwargs, "state": state}, path)
    return path


def tiny_htdemucs(seed: int = 0):
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    return HTDemucs(sources=["drums", "bass", "other", "vocals"], channels=8, depth=4, nfft=1024, t_layers=1,
                    t_heads=1, segment=1, samplerate=44100)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_package(tiny_htdemucs(), tmp_path_factory.mktemp("model") / "tiny-htdemucs.th")


@pytest.fixture(scope="module")
def short_mix(tmp_path_factory):
    """4 s: one espeak-ng Mandarin line over stereo music."""
    mix = build_mix(4.0, seed=5, script=((1, "告诉他们，我马上就到。"),))
    folder = tmp_path_factory.mktemp("mix")
    return mix, *mix.write(folder)


def test_stems_have_the_mix_shape_rate_and_reconstruct_it(checkpoint, short_mix, tmp_path):
    mix, mix_path, analysis_path = short_mix
    # 1.5 s chunks with 0.5 s crossfades: the 4 s mix runs in three chunks.
    separator = SEPARATORS.create("demucs", path=checkpoint, chunk_s=1.5, overlap_s=0.5)
    assert separator.loaded.sources == ("drums", "bass", "other", "vocals") and separator.loaded.voice == 3
    assert separator.loaded.samplerate == 44100 and separator.loaded.audio_channels == 2

    stems = separator.separate(mix_path, analysis_path, tmp_path)
    assert isinstance(stems, Stems) and stems.backend == "demucs" and not stems.bed_has_dialogue
    raw, raw_rate = read_wav(mix_path)
    bed, bed_rate = read_wav(tmp_path / stems.bed)
    dialogue, dialogue_rate = read_wav(tmp_path / stems.dialogue)
    assert bed_rate == raw_rate == 48000 and bed.shape == raw.shape == (4 * 48000, 2)
    assert dialogue_rate == 16000 and dialogue.shape == (4 * 16000,)

    # The design: bed = mix - dialogue, exactly in float, so nothing unassigned is lost.
    bed_f, dialogue_f = separator.split(raw, raw_rate)
    assert bed_f.shape == dialogue_f.shape == raw.shape
    np.testing.assert_allclose(bed_f + dialogue_f, raw, atol=1e-6)
    assert float(np.std(dialogue_f)) > 1e-4  # the random model does estimate something
    # The files hold the same split, to 16-bit rounding (and the 16 kHz mono down-mix for the dialogue).
    assert np.abs(bed - bed_f).max() < 2 / 32768
    expected = resample(dialogue_f.mean(axis=1), 48000, 16000)
    assert np.abs(dialogue - expected).max() < 2 / 32768
    # Deterministic (no random shifts): a second run gives the same bed.
    again, _ = separator.split(raw, raw_rate)
    assert np.array_equal(again, bed_f)


def test_mono_model_on_a_stereo_mix_and_mono_mix(tmp_path, short_mix):
    """A 16 kHz mono time-domain Demucs: the mix is down-mixed for it and its voice centred back."""
    from demucs.demucs import Demucs

    torch.manual_seed(1)
    model = Demucs(sources=["music", "speech"], audio_channels=1, channels=8, depth=3, samplerate=16000, segment=1)
    path = save_package(model, tmp_path / "mono.th")
    mix, _, _ = short_mix
    separator = DemucsSeparator(path)
    bed, dialogue = separator.split(mix.mix, 48000)
    assert bed.shape == dialogue.shape == mix.mix.shape
    assert np.array_equal(dialogue[:, 0], dialogue[:, 1])
    np.testing.assert_allclose(bed + dialogue, mix.mix, atol=1e-6)
    mono_bed, mono_dialogue = separator.split(mix.mix.mean(axis=1), 48000)
    assert mono_bed.shape == mono_dialogue.shape == (len(mix.mix),)


def test_chunks_crossfade_to_the_whole_signal_result():
    """Normalised crossfades: a linear, time-invariant process gives exactly what one pass gives."""
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((2, 10_007)).astype(np.float32)
    whole = audio * 0.5 - 0.1
    for chunk, overlap in ((1000, 100), (3000, 1), (999, 499), (20_000, 500)):
        chunked = overlap_add(lambda piece: piece * 0.5 - 0.1, audio, chunk, overlap)
        np.testing.assert_allclose(chunked, whole, atol=1e-6)


def test_bag_of_models_from_yaml(tmp_path):
    save_package(tiny_htdemucs(1), tmp_path / "aaaa1111-5e3c1b2d.th")
    save_package(tiny_htdemucs(2), tmp_path / "bbbb2222.th")
    (tmp_path / "bag.yaml").write_text("models: ['aaaa1111', 'bbbb2222']\nsegment: 1\n", encoding="utf-8")
    loaded = load(tmp_path / "bag.yaml")
    assert type(loaded.model).__name__ == "BagOfModels" and len(loaded.model.models) == 2
    assert loaded.sources[loaded.voice] == "vocals"
    (tmp_path / "broken.yaml").write_text("models: ['cccc3333']\n", encoding="utf-8")
    with pytest.raises(ModelError, match="cccc3333.th not found"):
        load(tmp_path / "broken.yaml")


def test_missing_or_invalid_model_is_a_one_line_model_error(tmp_path):
    cases = []
    with pytest.raises(ModelError) as caught:
        SEPARATORS.create("demucs")  # no path at all
    cases.append(caught.value)
    with pytest.raises(ModelError) as caught:
        SEPARATORS.create("demucs", path=tmp_path / "nope.th")
    cases.append(caught.value)
    garbage = tmp_path / "garbage.th"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ModelError) as caught:
        load(garbage)
    cases.append(caught.value)
    plain = tmp_path / "plain.th"
    torch.save({"state": {"w": torch.zeros(2)}}, plain)
    with pytest.raises(ModelError) as caught:
        load(plain)
    cases.append(caught.value)
    from demucs.htdemucs import HTDemucs

    quantized = tmp_path / "quantized.th"
    torch.save({"klass": HTDemucs, "args": [], "kwargs": {"sources": ["vocals"]}, "state": {"__quantized": True}},
               quantized)
    with pytest.raises(ModelError, match="quantized") as caught:  # Demucs itself would exit the process here
        load(quantized)
    cases.append(caught.value)
    for error in cases:
        message = str(error)
        assert "\n" not in message and "--separator-model" in message, message


class _Payload:
    """Unpickling this would write a file: a weights-only load must refuse it."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (Path(self.target), "ran"))


def test_checkpoint_cannot_run_code_on_load(tmp_path):
    target = tmp_path / "pwned.txt"
    evil = tmp_path / "evil.th"
    torch.save({"klass": _Payload(str(target)), "args": [], "kwargs": {}, "state": {}}, evil)
    with pytest.raises(ModelError, match="not a loadable Demucs checkpoint"):
        load(evil)
    assert not target.exists()


def test_a_model_without_a_voice_source_is_refused(tmp_path):
    from demucs.demucs import Demucs

    model = Demucs(sources=["drums", "bass"], audio_channels=1, channels=8, depth=2, samplerate=16000, segment=1)
    with pytest.raises(ModelError, match="no voice source"):
        load(save_package(model, tmp_path / "novoice.th"))


def test_cli_option_and_config_select_the_backend(tmp_path, checkpoint):
    from localize.cli import _pipeline_options
    from localize.config import load_settings

    settings = load_settings(environ={})
    options = _pipeline_options(settings, separator_model=checkpoint)
    assert options.separator == "demucs" and options.separator_model == checkpoint
    config = tmp_path / "localize.yaml"
    config.write_text(f"separator: demucs\nseparator_model: {checkpoint}\nkeep_nonverbal: true\n", encoding="utf-8")
    options = _pipeline_options(load_settings(config, environ={}))
    assert options.separator == "demucs" and options.separator_model == checkpoint and options.mix.keep_nonverbal
    assert _pipeline_options(settings).mix.keep_nonverbal is False
