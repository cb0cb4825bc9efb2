"""The Wav2Lip generator: architecture figures verified against the original, checkpoint loading."""

from __future__ import annotations

import pytest
import torch

from localize.errors import ModelError
from localize.stages.lipsync.wav2lip import build_wav2lip, checkpoint_state, load_wav2lip, parameter_count

# Counted on the original models/wav2lip.py (Rudrabha/Wav2Lip), built in the same torch.
WAV2LIP_PARAMETERS = 36_298_035
WAV2LIP_STATE_KEYS = 352  # weights, biases and BatchNorm running statistics


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_wav2lip()


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("w2l") / "wav2lip.pth"
    torch.save(checkpoint_state(model), path)
    return path


def test_parameter_count_and_keys(model):
    state = model.state_dict()
    assert parameter_count(model) == WAV2LIP_PARAMETERS
    assert len(state) == WAV2LIP_STATE_KEYS
    expected = {
        "face_encoder_blocks.0.0.conv_block.0.weight": (16, 6, 7, 7),
        "face_encoder_blocks.1.0.conv_block.0.weight": (32, 16, 3, 3),
        "face_encoder_blocks.6.1.conv_block.0.weight": (512, 512, 1, 1),
        "audio_encoder.0.conv_block.0.weight": (32, 1, 3, 3),
        "audio_encoder.3.conv_block.0.weight": (64, 32, 3, 3),
        "audio_encoder.12.conv_block.0.weight": (512, 512, 1, 1),
        "face_decoder_blocks.0.0.conv_block.0.weight": (512, 512, 1, 1),
        # ConvTranspose2d weights are (in, out, k, k).
        "face_decoder_blocks.1.0.conv_block.0.weight": (1024, 512, 3, 3),
        "face_decoder_blocks.3.0.conv_block.0.weight": (768, 384, 3, 3),
        "face_decoder_blocks.6.0.conv_block.0.weight": (160, 64, 3, 3),
        "face_decoder_blocks.6.2.conv_block.1.running_var": (64,),
        "output_block.0.conv_block.0.weight": (32, 80, 3, 3),
        "output_block.1.weight": (3, 32, 1, 1),
        "output_block.1.bias": (3,),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert "audio_encoder.13.conv_block.0.weight" not in state
    assert "face_encoder_blocks.7.0.conv_block.0.weight" not in state
    # The residual flags: only same-shape 3x3 convs add their input.
    assert [m.residual for m in model.face_encoder_blocks[2]] == [False, True, True, True]
    assert [m.residual for m in model.audio_encoder][:4] == [False, True, True, False]


def test_forward_shapes(model):
    mel = torch.randn(2, 1, 80, 16)
    face = torch.rand(2, 6, 96, 96)
    with torch.inference_mode():
        out = model(mel, face)
    assert out.shape == (2, 3, 96, 96)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_public_layout_round_trip(model, saved):
    raw = torch.load(saved, weights_only=True)
    assert all(k.startswith("module.") for k in raw["state_dict"])
    loaded = load_wav2lip(saved, "cpu")
    assert not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    mel, face = torch.randn(1, 1, 80, 16), torch.rand(1, 6, 96, 96)
    with torch.inference_mode():
        assert torch.equal(model(mel, face), loaded(mel, face))


def test_bare_state_dict_loads(model, tmp_path):
    path = tmp_path / "bare.pth"
    torch.save(model.state_dict(), path)
    assert isinstance(load_wav2lip(path), torch.nn.Module)


def test_wrong_shape_names_key_and_both_shapes(model, tmp_path):
    state = checkpoint_state(model)
    key = "module.audio_encoder.0.conv_block.0.weight"
    state["state_dict"][key] = torch.zeros(32, 2, 3, 3)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(ModelError) as err:
        load_wav2lip(path)
    message = str(err.value)
    assert "audio_encoder.0.conv_block.0.weight" in message
    assert "(32, 2, 3, 3)" in message and "(32, 1, 3, 3)" in message


def test_missing_and_unexpected_keys(model, tmp_path):
    state = checkpoint_state(model)
    del state["state_dict"]["module.output_block.1.bias"]
    path = tmp_path / "missing.pth"
    torch.save(state, path)
    with pytest.raises(ModelError, match=r"output_block\.1\.bias.*missing"):
        load_wav2lip(path)
    state = checkpoint_state(model)
    state["state_dict"]["module.extra.weight"] = torch.zeros(3)
    torch.save(state, path)
    with pytest.raises(ModelError, match=r"unexpected key 'extra\.weight'"):
        load_wav2lip(path)


def test_missing_file_is_actionable(tmp_path):
    with pytest.raises(ModelError) as err:
        load_wav2lip(tmp_path / "nope.pth")
    message = str(err.value)
    assert "nope.pth" in message and "--lipsync-checkpoint PATH" in message and "lipsync_checkpoint" in message
    with pytest.raises(ModelError, match="no lip-sync checkpoint"):
        load_wav2lip(None)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="cannot read the checkpoint"):
        load_wav2lip(path)
    torch.save({"global_step": 3}, path)
    with pytest.raises(ModelError, match="not a Wav2Lip checkpoint"):
        load_wav2lip(path)
