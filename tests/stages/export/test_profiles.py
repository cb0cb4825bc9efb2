"""Export profiles as data: the shipped set, user folders, extends, naming, and one-line errors."""

from pathlib import Path

import pytest

from localize.stages.export import profiles
from localize.stages.export.profiles import ExportProfile, available_profiles, load_profile
from localize.errors import ConfigError
from localize.locales import get_locale
from localize.stages.mix import MixOptions

SHIPPED = {"generic-mp4", "reelshort", "dramabox", "tiktok", "youtube-shorts", "hls"}


@pytest.fixture(autouse=True)
def no_user_profiles(monkeypatch):
    monkeypatch.delenv(profiles.PROFILES_ENV, raising=False)


def test_every_shipped_profile_loads_and_generic_is_the_default():
    assert set(available_profiles()) >= SHIPPED
    for name in SHIPPED:
        profile = load_profile(name)
        assert isinstance(profile, ExportProfile) and profile.name == name
        assert profile.label.text and profile.label.metadata_keys
    assert load_profile(None).name == "generic-mp4"


def test_shipped_profiles_differ_where_the_platforms_do():
    tiktok, reel, box, shorts, hls, generic = (load_profile(n) for n in
                                               ("tiktok", "reelshort", "dramabox", "youtube-shorts", "hls",
                                                "generic-mp4"))
    assert tiktok.subtitles.mode == "burned" and tiktok.label.visible
    assert reel.subtitles.mode == "soft" and not reel.label.visible
    assert box.subtitles.mode == "sidecar" and set(box.subtitles.sidecar) == {"srt", "vtt"}
    assert box.video.bitrate == "4M" and box.target_lufs == -16.0 and box.video.resize == "scale"
    assert shorts.video.fps == 60 and tiktok.video.fps == 30
    assert hls.container == "hls" and hls.subtitles.mode == "renditions"
    # The default keeps the old behaviour: source size and rate, the configured encoding and loudness.
    assert generic.video.resize == "keep" and generic.video.fps is None and generic.video.crf is None
    assert generic.target_lufs is None and generic.subtitles.mode == "burned"
    assert generic.mix_options(MixOptions(target_lufs=-16.0)).target_lufs == -16.0
    assert box.mix_options(MixOptions()).target_lufs == -16.0 and box.mix_options(MixOptions()).true_peak_db == -1.5


def test_naming_template_places_outputs(tmp_path):
    episode = Path("/videos/My Series/ep07.mp4")
    en = get_locale("en-US")
    generic = load_profile("generic-mp4").output_paths(tmp_path, episode, en)
    assert generic["video"] == tmp_path / "ep07.en-US.mp4" and generic["report"] == tmp_path / "ep07.en-US.json"
    box = load_profile("dramabox").output_paths(tmp_path, episode, en)
    assert box["video"] == tmp_path / "My Series" / "en-US" / "ep07.mp4"
    assert box["vtt"] == tmp_path / "My Series" / "en-US" / "ep07.vtt"
    hls = load_profile("hls").output_paths(tmp_path, episode, en)
    assert hls["video"] == tmp_path / "ep07.hls" / "master.m3u8" and hls["hls"] == tmp_path / "ep07.hls"
    assert hls["report"] == tmp_path / "ep07.en-US.json"


def test_user_profile_folder_extends_and_overrides(tmp_path, monkeypatch):
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "my-app.yaml").write_text(
        "extends: tiktok\ndescription: ours\nvideo: {crf: 26}\nloudness: {target_lufs: -18}\n"
        "label: {visible_text: {default: Made with AI}}\n", encoding="utf-8")
    # A user file named like a shipped profile replaces it, and may extend the one it shadows.
    (folder / "reelshort.yaml").write_text("extends: reelshort\nmanifest: false\n", encoding="utf-8")
    monkeypatch.setenv(profiles.PROFILES_ENV, str(folder))
    mine = load_profile("my-app")
    assert mine.name == "my-app" and mine.video.crf == 26 and mine.video.fps == 30  # fps inherited
    assert mine.target_lufs == -18.0 and mine.label.shown_text("en") == "Made with AI"
    assert mine.subtitles.mode == "burned"
    assert load_profile("reelshort").manifest is False and load_profile("reelshort").subtitles.mode == "soft"
    assert load_profile(str(folder / "my-app.yaml")).name == "my-app"  # a path works too
    monkeypatch.delenv(profiles.PROFILES_ENV)
    assert load_profile("my-app", profiles_dir=folder).video.crf == 26  # the profiles_dir setting


@pytest.mark.parametrize("body, words", [
    ("video: {resize: stretch}", "video.resize 'stretch'"),
    ("video: {fsp: 30}", "unknown key 'video.fsp'"),
    ("video: {crf: 20, bitrate: 4M}", "not both"),
    ("video: {width: 1081}", "even"),
    ("video: {fps: fast}", "video.fps"),
    ("audio: {sample_rate: 12345}", "audio.sample_rate"),
    ("audio: {channels: 6}", "audio.channels"),
    ("subtitles: {mode: floating}", "subtitles.mode"),
    ("subtitles: {mode: sidecar, sidecar: [ass]}", "subtitles.sidecar 'ass'"),
    ("naming: '{locale}'", "{episode}"),
    ("naming: '../{episode}'", "inside the output folder"),
    ("naming: '{episode}.{market}'", "{market}"),
    ("loudness: {target_lufs: -60}", "outside"),
    ("label: {metadata_keys: [artist]}", "metadata_keys"),
    ("container: webm", "container 'webm'"),
    ("container: hls\nsubtitles: {mode: burned}", "renditions"),
    ("colour: red", "unknown key 'colour'"),
    ("manifest: yes please", "manifest"),
    ("extends: nothing-like-this", "unknown export profile 'nothing-like-this'"),
    ("[not, a, mapping]", "must be a mapping"),
    ("video: {crf: [1", "not valid YAML"),
])
def test_invalid_profile_is_one_config_error_line(tmp_path, body, words):
    path = tmp_path / "bad.yaml"
    path.write_text(body + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_profile(str(path))
    message = str(info.value)
    assert words in message and "\n" not in message, message


def test_unknown_name_and_loops_are_clear(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="unknown export profile 'tik-tok'.*tiktok"):
        load_profile("tik-tok")
    (tmp_path / "a.yaml").write_text("extends: b\n")
    (tmp_path / "b.yaml").write_text("extends: a\n")
    monkeypatch.setenv(profiles.PROFILES_ENV, str(tmp_path))
    with pytest.raises(ConfigError, match="loops"):
        load_profile("a")


def test_cli_refuses_a_bad_profile_in_one_line(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("video: {resize: stretch}\n")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0" * 10)
    proc = subprocess.run([sys.executable, "-m", "localize", str(clip), "--to", "en-US", "--profile", str(bad),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "video.resize" in lines[0], proc.stderr
