"""Reviewed speaker overrides over diarization's labels."""

from __future__ import annotations

import pytest

from localize.errors import ConfigError
from localize.model import Segment
from localize.stages.diarize import Diarization, Speaker
from localize.stages.reassign import apply_overrides, load_overrides, overrides_path, save_overrides


def _diarization() -> Diarization:
    return Diarization(labels=["S1", "S2", "S1"], speakers=[Speaker("S1", "male", 110.0, 2), Speaker("S2", "female", 230.0, 1)])


SEGMENTS = [Segment(id=i, start_ms=i * 1000, end_ms=i * 1000 + 800, source_text=str(i)) for i in (4, 5, 6)]


def test_an_override_moves_a_line_and_the_counts_follow(tmp_path):
    path = overrides_path(tmp_path)
    save_overrides(path, {6: "S2"})
    assert load_overrides(path) == {6: "S2"}
    moved = apply_overrides(_diarization(), SEGMENTS, load_overrides(path))
    assert moved.labels == ["S1", "S2", "S2"]
    assert [(s.id, s.segments) for s in moved.speakers] == [("S1", 1), ("S2", 2)]
    assert apply_overrides(_diarization(), SEGMENTS, {}) == _diarization()


def test_a_speaker_who_is_not_in_the_episode_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="S7"):
        apply_overrides(_diarization(), SEGMENTS, {4: "S7"})
    overrides_path(tmp_path).write_text("[not a map", encoding="utf-8")
    with pytest.raises(ConfigError, match="unreadable"):
        load_overrides(overrides_path(tmp_path))
