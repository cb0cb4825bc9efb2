"""Settings from file and environment; secrets only from the environment."""

import pytest

from localize.config import Settings, load_settings
from localize.errors import ConfigError


def test_defaults_without_file_or_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}) == Settings()


def test_file_then_environment_override(tmp_path):
    path = tmp_path / "localize.yaml"
    path.write_text("translators: [gemma, openai]\ncrf: 23\ntarget_lufs: -16\n")
    settings = load_settings(path, environ={"LOCALIZE_CRF": "18"})
    assert settings.translators == ("gemma", "openai")
    assert settings.crf == 18 and settings.target_lufs == -16.0


def test_secret_in_file_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("api_key: sk-123\n")
    with pytest.raises(ConfigError, match="environment"):
        load_settings(path, environ={})


def test_unknown_setting_and_bad_value_are_clear(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("colour: red\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(path, environ={})
    path.write_text("crf: high\n")
    with pytest.raises(ConfigError, match="crf"):
        load_settings(path, environ={})
