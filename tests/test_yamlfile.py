"""The shared YAML reader: every problem with a user's file is one ConfigError line naming it."""

from __future__ import annotations

import pytest

from localize.errors import ConfigError
from localize.yamlfile import read_yaml


@pytest.mark.parametrize("text,expected", [
    ("a: [1\n", r"glossary .*bad\.yaml: not valid YAML at line \d"),
    ("- a\n- b\n", "must be a mapping of settings, not list"),
    (b"\xff\xfe\x00", "cannot read"),
])
def test_bad_files_are_one_line_config_errors(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError, match=expected) as info:
        read_yaml(path, "glossary")
    assert "\n" not in str(info.value)


def test_missing_empty_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="config not found"):
        read_yaml(tmp_path / "nope.yaml", "config")
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert read_yaml(empty, "config") == {} and read_yaml(empty, "script", mapping=False) is None
    listing = tmp_path / "list.yaml"
    listing.write_text("- 顾总\n", encoding="utf-8")
    assert read_yaml(listing, "script", mapping=False) == ["顾总"]
