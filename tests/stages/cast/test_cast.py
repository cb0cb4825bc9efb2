"""The series voice cast: matching speakers across episodes, stable voices, user edits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from localize.stages import cast as C
from localize.errors import ConfigError
from localize.stages.diarize import Speaker
from localize.stages.synthesize import VOICES

ROOT = Path(__file__).resolve().parents[3]


def _prints(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [v / np.linalg.norm(v) for v in rng.normal(size=(4, 256))]


def _speaker(sid: str, vec: np.ndarray, f0: float, gender: str, noise: float = 0.0, seed: int = 1) -> Speaker:
    rng = np.random.default_rng(seed)
    v = vec + noise * rng.normal(size=vec.size) / 16
    return Speaker(id=sid, gender=gender, f0_median_hz=f0, segments=5, embedding=list(v / np.linalg.norm(v)))


@pytest.fixture
def kokoro():
    return VOICES.create("kokoro")  # only its voice list is used; no model is loaded


def test_same_character_same_voice_across_episodes(tmp_path, kokoro):
    a, b, c, _ = _prints()
    path = tmp_path / "voices" / "S.yaml"
    ep1 = C.cast_episode(path, "S", "ep01", [_speaker("S1", a, 140, "female"), _speaker("S2", b, 260, "female"),
                                            _speaker("S3", c, 71, "male")], kokoro)
    # Episode 2: other ids, other order, a little noise.
    ep2 = C.cast_episode(path, "S", "ep02", [_speaker("S1", c, 73, "male", 0.05, 2),
                                            _speaker("S2", b, 255, "female", 0.05, 3),
                                            _speaker("S3", a, 142, "female", 0.05, 4)], kokoro)
    assert ep2.characters == {"S1": ep1.characters["S3"], "S2": ep1.characters["S2"], "S3": ep1.characters["S1"]}
    assert ep2.voices["S1"] == ep1.voices["S3"] and ep2.voices["S3"] == ep1.voices["S1"]
    assert ep1.voices["S3"].gender == "male" and ep1.voices["S3"].name.startswith("jm_")
    assert len({v for v in ep1.voices.values()}) == 3
    cast = C.load(path, "S")
    assert [len(c.episodes) for c in cast.characters] == [2, 2, 2]
    assert all(c.segments == 10 for c in cast.characters)


def test_unknown_speaker_joins_with_a_new_voice(tmp_path, kokoro):
    a, b, c, d = _prints()
    path = tmp_path / "S.yaml"
    ep1 = C.cast_episode(path, "S", "ep01", [_speaker("S1", a, 140, "female"), _speaker("S2", c, 71, "male")],
                         kokoro)
    ep2 = C.cast_episode(path, "S", "ep02", [_speaker("S1", d, 90, "male"), _speaker("S2", c, 71, "male")], kokoro)
    assert ep2.characters["S2"] == ep1.characters["S2"]
    assert ep2.characters["S1"] == "C3"
    assert ep2.voices["S1"] != ep2.voices["S2"] and ep2.voices["S1"].gender == "male"
    # Two speakers of one episode are never the same character, however alike.
    ep3 = C.cast_episode(path, "S", "ep03", [_speaker("S1", c, 71, "male"), _speaker("S2", c, 72, "male")], kokoro)
    assert ep3.characters["S1"] != ep3.characters["S2"]


def test_user_rename_and_reassign_survive_a_rerun(tmp_path, kokoro):
    import yaml

    a, b, _, _ = _prints()
    path = tmp_path / "S.yaml"
    speakers = [_speaker("S1", a, 140, "female"), _speaker("S2", b, 260, "female")]
    C.cast_episode(path, "S", "ep01", speakers, kokoro)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["characters"][0]["name"] = "王阿姨"
    data["characters"][0]["voices"]["kokoro"] = {"name": "jf_nezumi", "pitch": -1.0}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    again = C.cast_episode(path, "S", "ep01", speakers, kokoro)
    assert again.characters["S1"] == "王阿姨"
    assert (again.voices["S1"].name, again.voices["S1"].pitch) == ("jf_nezumi", -1.0)
    # Re-running an episode does not fold it into the voice print twice.
    assert C.load(path, "S").character("王阿姨").segments == 5
    # Two characters with one voice is refused.
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["characters"][1]["voices"]["kokoro"] = {"name": "jf_nezumi", "pitch": -1.0}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="share"):
        C.load(path, "S")


def test_cast_path(tmp_path):
    episode = tmp_path / "Dramas" / "My Series" / "ep01.mp4"
    episode.parent.mkdir(parents=True)
    out = tmp_path / "out"
    assert C.series_of(episode) == "My Series"
    assert C.cast_path(episode, out) == out / "voices" / "My Series.yaml"
    (tmp_path / "Dramas" / "voices").mkdir()
    assert C.cast_path(episode, out) == tmp_path / "Dramas" / "voices" / "My Series.yaml"
    assert C.cast_path(episode, out, series="a/b").name == "a_b.yaml"


@pytest.fixture(scope="module")
def episode02(tmp_path_factory):
    from localize.sample import generate_sample

    return generate_sample(tmp_path_factory.mktemp("ep02"), ROOT / "samples" / "episode02.yaml", name="episode02")


def _diarize_truth(sample):
    from localize.audio import read_wav, resample, to_mono
    from localize.model import Segment
    from localize.stages import diarize as D

    truth = json.loads(sample.truth.read_text(encoding="utf-8"))
    samples, rate = read_wav(sample.dialogue)
    segments = [Segment(id=line["id"], start_ms=line["start_ms"], end_ms=line["end_ms"], source_text=line["zh"])
                for line in truth["lines"]]
    result = D.diarize(segments, resample(to_mono(samples), rate, 16000), 16000)
    who = {label: line["speaker"] for label, line in zip(result.labels, truth["lines"])}
    return result.speakers, who


def test_series_cast_on_two_generated_episodes(sample_episode, episode02, tmp_path, kokoro):
    """episode01 and episode02 of the sample series: each real character keeps one voice in both."""
    path = tmp_path / "voices" / "series.yaml"
    voice_of: dict[str, set] = {}
    for name, sample in (("episode01", sample_episode), ("episode02", episode02)):
        speakers, who = _diarize_truth(sample)
        cast = C.cast_episode(path, "series", name, speakers, kokoro)
        for sid, voice in cast.voices.items():
            voice_of.setdefault(who[sid], set()).add(voice)
    assert set(voice_of) == {"顾总", "林晓", "王阿姨"}
    assert all(len(v) == 1 for v in voice_of.values())
    assert len(C.load(path, "series").characters) == 3
    assert next(iter(voice_of["顾总"])).gender == "male"
    assert all(a.distance is not None and a.distance < 0.1
               for c in C.load(path, "series").characters for e, a in c.episodes.items() if e == "episode02")


def test_cast_command_shows_who_speaks_where(tmp_path, kokoro):
    from click.testing import CliRunner

    from localize.cli import cli

    a, b, _, _ = _prints()
    series = tmp_path / "Drama"
    series.mkdir()
    path = C.cast_path(series / "ep01.mp4", series)
    C.cast_episode(path, "Drama", "ep01", [_speaker("S1", a, 140, "female"), _speaker("S2", b, 80, "male")], kokoro)
    work = series / ".localize-work" / "ep01-0123456789ab"
    work.mkdir(parents=True)
    (work / "diarize.json").write_text(json.dumps({"stage": "diarize", "key": "k", "data": {
        "labels": ["S1", "S2", "S1"], "speakers": []}}), encoding="utf-8")
    (work / "transcribe.json").write_text(json.dumps({"stage": "transcribe", "key": "k", "data": {"segments": [
        {"start_ms": 1000, "end_ms": 2000, "source_text": "一"},
        {"start_ms": 2500, "end_ms": 4000, "source_text": "二"},
        {"start_ms": 5000, "end_ms": 6500, "source_text": "三"}]}}), encoding="utf-8")
    (series / "ep01.en-US.json").write_text(json.dumps({"speakers": [
        {"id": "S2", "voice": {"backend": "kokoro", "name": "jm_kumo", "pitch": 0.0}}]}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["cast", str(series)])
    assert result.exit_code == 0, result.output
    assert "2 characters" in result.output
    assert "ep01: S1, 2 lines at 1.0-2.0s, 5.0-6.5s" in result.output
    assert "ep01: S2, 1 lines at 2.5-4.0s (dub en-US: kokoro:jm_kumo)" in result.output


def test_new_characters_are_cast_by_pitch_without_audio(tmp_path, kokoro):
    """No actor audio: each new character gets the free voice of their gender nearest their pitch."""
    a, b, c, d = _prints()
    cast = C.cast_episode(tmp_path / "S.yaml", "S", "ep01", [
        _speaker("S1", a, 262, "female"), _speaker("S2", b, 140, "female"), _speaker("S3", c, 330, "female"),
        _speaker("S4", d, 73, "male")], kokoro)
    assert cast.voices["S2"].name == "jf_gongitsune"  # the lowest woman's voice for the low woman
    assert cast.voices["S1"].name in ("jf_alpha", "jf_nezumi") and cast.voices["S3"].name == "jf_tebukuro"
    assert (cast.voices["S4"].name, cast.voices["S4"].pitch) == ("jm_kumo", -3.0)  # the deepest man's voice
    assert all(p is None for p in cast.profiles.values())


def test_actor_profile_is_measured_once_and_kept_across_episodes(tmp_path, kokoro):
    """With the actor's audio, the cast stores a profile (pitch + envelope) that later episodes reuse.

    The voice is cast in episode 1 (no audio: by pitch), so no candidate voices are synthesised
    here; casting by similarity is exercised by bench/voices.py (the slow test in test_convert).
    """
    from localize.locales import get_locale
    from localize.stages.synthesize import Voice
    from localize.stages.synthesize.espeak import EspeakBackend

    en = get_locale("en-US")
    espeak = EspeakBackend()
    lines = [espeak.synthesize(text, Voice("espeak", "m3", "male"), en)
             for text in ("Sign the contract.", "From today you live in my house and follow my rules.")]
    samples = np.concatenate([lines[0].samples, np.zeros(8000, np.float32), lines[1].samples])
    spans = [(0, lines[0].duration_ms), (lines[0].duration_ms + 500, lines[0].duration_ms + 500 + lines[1].duration_ms)]
    a, *_ = _prints()
    path = tmp_path / "S.yaml"
    ep1 = C.cast_episode(path, "S", "ep01", [_speaker("S1", a, 110, "male")], kokoro)
    assert ep1.profiles["S1"] is None
    ep2 = C.cast_episode(path, "S", "ep02", [_speaker("S1", a, 110, "male", 0.05, 2)], kokoro,
                         C.SpeakerAudio(samples, lines[0].rate, {"S1": spans}))
    profile = ep2.profiles["S1"]
    assert profile is not None and 70 < profile.f0_median_hz < 160
    assert ep2.voices["S1"] == ep1.voices["S1"]
    stored = C.load(path, "S").characters[0].profile
    assert stored is not None and stored.f0_log_mean == pytest.approx(profile.f0_log_mean, abs=1e-3)
    assert "actor_profile:" in path.read_text(encoding="utf-8")
    # Episode 3 brings other audio (silence): the stored profile is used as it is.
    ep3 = C.cast_episode(path, "S", "ep03", [_speaker("S1", a, 112, "male", 0.05, 3)], kokoro,
                         C.SpeakerAudio(np.zeros_like(samples), lines[0].rate, {"S1": spans}))
    assert ep3.voices["S1"] == ep1.voices["S1"]
    assert ep3.profiles["S1"].envelope_db == pytest.approx(stored.envelope_db, abs=0.01)


def test_reference_clips_are_spoken_once_and_kept_between_runs(tmp_path, kokoro, monkeypatch):
    from localize.locales import get_locale

    monkeypatch.setattr(C, "references_dir", lambda: tmp_path / "refs")
    monkeypatch.setattr(C, "_REFERENCES", {})
    spoken = []
    speak = kokoro.synthesize
    monkeypatch.setattr(kokoro, "synthesize", lambda *args, **kw: spoken.append(args[0]) or speak(*args, **kw))
    locale, voice = get_locale("en-US"), kokoro.voices()[0]
    first = C._reference(kokoro, voice, locale)
    assert spoken == [C.REFERENCE_LINE] and len(list((tmp_path / "refs").glob("kokoro-*.npz"))) == 1
    monkeypatch.setattr(C, "_REFERENCES", {})  # a new process: only the file is left
    again = C._reference(kokoro, voice, locale)
    assert len(spoken) == 1 and again.rate == first.rate and np.array_equal(again.samples, first.samples)
    # Another voice is another clip.
    C._reference(kokoro, kokoro.voices()[1], locale)
    assert len(spoken) == 2 and len(list((tmp_path / "refs").glob("kokoro-*.npz"))) == 2
