"""Voice matching (WORLD) on real synthesized speech, and the distinctness of the cast's voices."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from localize.errors import ConfigError
from localize.locales import get_locale
from localize.stages import diarize as D
from localize.stages.synthesize import Speech, Voice
from localize.stages.synthesize.convert import GRID_HZ, ActorProfile, _analyse, _mean_envelope_db, actor_profile, match_voice
from localize.stages.synthesize.espeak import EspeakBackend
from localize.stages.synthesize.kokoro import CAST, KokoroBackend

ROOT = Path(__file__).resolve().parents[3]
EN = get_locale("en-US")
LINE = "I never thought I would see you again. Why did you come back after all these years?"
SHORT = "Why did you come back after all these years?"


@pytest.fixture(scope="module")
def kokoro() -> KokoroBackend:
    return KokoroBackend()


@pytest.fixture(scope="module")
def actor() -> tuple[Speech, ActorProfile]:
    """A low male 'actor' (espeak-ng m3, another engine than the dub) and his profile."""
    speech = EspeakBackend().synthesize("The contract is signed. From today you live in my house, and you "
                                        "follow my rules.", Voice("espeak", "m3", "male"), EN)
    profile = actor_profile(speech.samples, speech.rate)
    assert profile is not None
    return speech, profile


def _envelope_error(speech: Speech, profile: ActorProfile) -> float:
    analysis = _analyse(speech.samples, speech.rate)
    return float(np.mean(np.abs(_mean_envelope_db(analysis.envelope, analysis.f0, speech.rate)
                                - np.asarray(profile.envelope_db))))


def test_match_voice_moves_f0_envelope_and_identity_toward_the_actor(kokoro, actor):
    actor_speech, profile = actor
    dub = kokoro.synthesize(LINE, Voice("kokoro", "jf_gongitsune", "female"), EN)  # ~215 Hz, a woman
    matched = match_voice(dub, profile)
    assert len(matched.samples) == len(dub.samples) and matched.rate == dub.rate  # duration kept exactly
    rms = [float(np.sqrt(np.mean(np.square(s.samples)))) for s in (dub, matched)]
    assert rms[1] == pytest.approx(rms[0], rel=0.05)

    target = profile.f0_median_hz
    f0_before, f0_after = (D.median_f0(s.samples, s.rate) for s in (dub, matched))
    assert abs(np.log2(f0_after / target)) < 0.1 < abs(np.log2(f0_before / target))  # within ~7 % now

    err_before, err_after = _envelope_error(dub, profile), _envelope_error(matched, profile)
    assert err_after < 0.6 * err_before

    prints = D.embed(actor_speech.samples, actor_speech.rate)
    sim_before = float(D.embed(dub.samples, dub.rate) @ prints)
    sim_after = float(D.embed(matched.samples, matched.rate) @ prints)
    assert sim_after > sim_before + 0.05


def test_match_voice_leaves_silence_and_switches_alone(actor):
    _, profile = actor
    silence = Speech(np.zeros(24000, dtype=np.float32), 24000)
    assert np.array_equal(match_voice(silence, profile).samples, silence.samples)
    noise = Speech(np.random.default_rng(0).normal(0, 0.1, 24000).astype(np.float32), 24000)
    assert np.array_equal(match_voice(noise, profile, pitch=False, envelope=False).samples, noise.samples)
    assert actor_profile(np.zeros(16000, dtype=np.float32), 16000) is None


def test_profile_round_trip(actor):
    _, profile = actor
    again = ActorProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert again.f0_log_mean == pytest.approx(profile.f0_log_mean, abs=1e-4)
    assert np.allclose(again.envelope_db, profile.envelope_db, atol=0.01)
    assert len(again.envelope_db) == len(GRID_HZ)
    with pytest.raises(ConfigError):
        ActorProfile.from_dict({"f0_log_mean": 4.6, "f0_log_std": 0.1, "envelope_db": [0.0] * 3})


def test_three_male_and_three_female_voices_are_distinct(kokoro):
    """The cast's first three voices of each gender: no two alike to the speaker encoder, men lower."""
    voices = {g: [v for v in CAST if v.gender == g][:3] for g in ("male", "female")}
    prints, f0 = {}, {}
    for voice in voices["male"] + voices["female"]:
        speech = kokoro.synthesize(SHORT, voice, EN)
        prints[voice] = D.embed(speech.samples, speech.rate)
        track = _analyse(speech.samples, speech.rate).f0
        f0[voice] = float(np.median(track[track > 0]))
        assert f0[voice] == pytest.approx(kokoro.voice_f0_hz(voice), rel=0.2)  # the casting table holds
    for a, b in itertools.combinations(prints, 2):
        assert float(prints[a] @ prints[b]) < 0.9, (a.label, b.label)
    assert max(f0[v] for v in voices["male"]) < 0.75 * min(f0[v] for v in voices["female"])


@pytest.mark.slow
def test_voice_bench_dub_closest_to_own_actor(tmp_path):
    """bench/voices.py on episode01 + episode02: >= 90 % of dub lines closest to their own actor."""
    out = tmp_path / "voices.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "voices.py"), "--cache", str(tmp_path / "cache"),
                    "--json", str(out)], check=True, timeout=3600)
    result = json.loads(out.read_text(encoding="utf-8"))["all"]
    full = json.loads(out.read_text(encoding="utf-8"))
    assert result["lines"] >= 30
    assert result["after"]["closest_own"] >= 0.9
    assert result["after"]["mean_own"] > result["before"]["mean_own"] + 0.05
    assert result["after"]["male_f0_hz"] < 0.6 * result["after"]["female_f0_hz"]
    assert full["same_voice_across_episodes"]
