"""Backend choice per locale, and casting distinct voices to characters."""

from __future__ import annotations

import pytest

from localize.errors import ConfigError, UsageError
from localize.locales import LOCALES, get_locale
from localize.stages.synthesize import VOICES, Voice, assign_voices, backend_for
from localize.stages.synthesize.espeak import EspeakBackend
from localize.stages.synthesize.kokoro import KokoroBackend, parse_blend


def test_registry_has_both_backends():
    assert {"kokoro", "espeak"} <= set(VOICES.names())
    with pytest.raises(UsageError):
        VOICES.create("nope")


@pytest.mark.parametrize("tag,expected", [("en-US", "kokoro"), ("es-MX", "kokoro"), ("pt-BR", "kokoro"),
                                          ("id-ID", "espeak"), ("th-TH", "espeak"), ("ar-SA", "espeak")])
def test_backend_for_falls_back_to_espeak(tag, expected):
    assert backend_for(get_locale(tag)).name == expected


def test_backend_for_honours_preferred_espeak():
    assert backend_for(get_locale("en-US"), preferred="espeak").name == "espeak"


def test_espeak_speaks_every_market():
    backend = EspeakBackend()
    assert [loc.tag for loc in LOCALES.values() if not backend.supports(loc)] == []


@pytest.mark.parametrize("backend", [KokoroBackend(), EspeakBackend()], ids=["kokoro", "espeak"])
def test_at_least_three_voices_per_gender(backend):
    voices = backend.voices()
    assert len(set(voices)) == len(voices)
    for gender in ("male", "female"):
        assert sum(v.gender == gender for v in voices) >= 3
    assert all(v.backend == backend.name for v in voices)


@pytest.mark.parametrize("backend", [KokoroBackend(), EspeakBackend()], ids=["kokoro", "espeak"])
def test_assign_three_men_three_women_distinct(backend):
    speakers = [("顾总", "male"), ("林晚", "female"), ("S3", "male"), ("S4", "female"), ("S5", "male"),
                ("S6", "female")]
    cast = assign_voices(speakers, backend)
    assert set(cast) == {s for s, _ in speakers}
    assert len(set(cast.values())) == 6
    assert all(cast[s].gender == g for s, g in speakers)
    assert cast == assign_voices(speakers, backend)  # deterministic: same cast every episode


def test_assign_unknown_gender_and_repeats():
    backend = KokoroBackend()
    cast = assign_voices([("A", "male"), ("B", "unknown"), ("A", "male"), ("C", "Female")], backend)
    assert len(cast) == 3 and len(set(cast.values())) == 3
    assert cast["A"].gender == "male" and cast["C"].gender == "female"
    assert cast["B"].gender == "female"  # more female voices were left


def test_assign_more_characters_than_voices_derives_new_ones():
    backend = KokoroBackend()
    men = [(f"M{i}", "male") for i in range(8)]
    cast = assign_voices(men, backend)
    assert len(set(cast.values())) == 8
    assert all(v.gender == "male" for v in cast.values())
    derived = [v for v in cast.values() if v not in backend.voices()]
    assert len(derived) == 8 - sum(v.gender == "male" for v in backend.voices())
    # Derived voices are pitch-offset copies of the male pool, never a woman's voice.
    assert {v.name for v in derived} <= {v.name for v in backend.voices() if v.gender == "male"}


def test_voice_label():
    assert Voice("kokoro", "jm_kumo", "male", pitch=-2).label == "kokoro:jm_kumo-2st"
    assert Voice("espeak", "f3", "female").label == "espeak:f3"


def test_parse_blend():
    assert parse_blend("jm_kumo") == [("jm_kumo", 1.0)]
    assert parse_blend("jm_kumo:0.7+jf_alpha:0.3") == [("jm_kumo", pytest.approx(0.7)),
                                                       ("jf_alpha", pytest.approx(0.3))]
    assert parse_blend("jm_kumo:3 + jf_alpha:1") == [("jm_kumo", 0.75), ("jf_alpha", 0.25)]
    for bad in ("jm_kumo:x", "", "a:1+b:-1"):
        with pytest.raises(ConfigError):
            parse_blend(bad)
