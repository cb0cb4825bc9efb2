"""Drawn episode scripts (`localize sample --seed N`): deterministic, within the promised ranges."""

from __future__ import annotations

import math

import pytest

from localize.cli import main
from localize.errors import UsageError
from localize.sample.draw import (FEMALE_PITCH, MALE_PITCH, MAX_SPEAKERS, MIN_LINES_EACH, MIN_SPEAKERS,
                                  DrawOptions, draw_script, semitones)
from localize.sample.script import parse_script
from localize.sample.voice import espeak_variants


def test_same_seed_same_script_and_seeds_differ():
    assert draw_script(5) == draw_script(5)
    casts = {tuple(sorted((c.variant, c.pitch) for c in draw_script(seed).characters.values())) for seed in range(20)}
    assert len(casts) == 20


def test_drawn_casts_stay_in_range():
    counts = set()
    for seed in range(60):
        script = draw_script(seed)
        cast = list(script.characters.values())
        counts.add(len(cast))
        assert MIN_SPEAKERS <= len(cast) <= MAX_SPEAKERS
        assert 8.0 <= script.music_below_db <= 16.0
        for gender, span in (("female", FEMALE_PITCH), ("male", MALE_PITCH)):
            assert all(span[0] <= c.pitch <= span[1] for c in cast if c.gender == gender)
            # Neighbours of one gender a few semitones apart in expected F0 (whole -p units aside).
            tones = sorted(semitones(c.variant, c.pitch) for c in cast if c.gender == gender)
            gaps = [b - a for a, b in zip(tones, tones[1:])]
            assert all(1.5 <= g <= 5.2 for g in gaps), (seed, gender, tones)
        said = [line.speaker for line in script.lines]
        assert all(said.count(c.name) >= MIN_LINES_EACH for c in cast)
        assert any(line.pause_ms == 0 for line in script.lines)
    assert counts == set(range(MIN_SPEAKERS, MAX_SPEAKERS + 1))


def test_options_fix_the_cast():
    script = draw_script(3, DrawOptions(speakers=3, women=2, max_semitones=4, lines=12))
    women = sorted(semitones(c.variant, c.pitch) for c in script.characters.values() if c.gender == "female")
    assert len(script.characters) == 3 and len(women) == 2
    assert women[1] - women[0] <= 4.1
    assert len(script.lines) == 12
    with pytest.raises(UsageError):
        draw_script(1, DrawOptions(speakers=7))
    with pytest.raises(UsageError):
        draw_script(1, DrawOptions(speakers=3, women=4))


def test_drawn_script_is_a_valid_script():
    """It passes the same validation as a YAML script, and espeak-ng knows every variant it uses."""
    script = draw_script(11, DrawOptions(speakers=6))
    data = {"title": script.title, "series": script.series, "music_below_db": script.music_below_db,
            "characters": {c.name: {"gender": c.gender, "variant": c.variant, "pitch": c.pitch, "speed": c.speed,
                                    "word_gap": c.word_gap, "color": c.color} for c in script.characters.values()},
            "lines": [{"speaker": line.speaker, "zh": line.zh, "en": line.en,
                       **({"pause_ms": line.pause_ms} if line.pause_ms is not None else {})} for line in script.lines]}
    parsed = parse_script(data, "drawn")
    assert [line.zh for line in parsed.lines] == [line.zh for line in script.lines]
    known = espeak_variants()
    if known:
        assert all(c.variant in known for c in script.characters.values())
    assert not math.isnan(script.music_below_db)


def test_cli_rejects_mixed_options(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path), "--speakers", "3"]) == UsageError.exit_code
    assert "need --seed" in capsys.readouterr().err
    assert main(["sample", "--out", str(tmp_path), "--seed", "1", "--script", "x.yaml"]) == UsageError.exit_code
    assert "not both" in capsys.readouterr().err
    assert main(["sample", "--out", str(tmp_path), "--seed", "1", "--speakers", "9"]) == UsageError.exit_code
    assert "--speakers" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
