"""Bad input gets one clear line, a non-zero exit code, and no file under a final name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from localize import ffmpeg


def localize(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "localize", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "LOCALIZE_PROGRESS": "0"})


def make_clip(path: Path, *, audio: str | None = "sine=frequency=440", seconds: int = 4, faststart=True):
    argv = ["-f", "lavfi", "-i", f"testsrc2=size=360x640:rate=30:duration={seconds}"]
    if audio:
        argv += ["-f", "lavfi", "-i", f"{audio}:duration={seconds}"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "aac", "-shortest"]
    if faststart:
        argv += ["-movflags", "+faststart"]
    ffmpeg.run(ffmpeg.ffmpeg_argv(*argv, str(path)), what="making a test clip")
    return path


def assert_clean_failure(result, out_dir: Path, code: int, words: str):
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("localize: error:"), result.stderr
    assert words in lines[0]
    finals = [p for p in out_dir.glob("*") if p.suffix in (".mp4", ".srt", ".json")] if out_dir.exists() else []
    assert finals == []


def test_help_on_every_command():
    for args in ([], ["run"], ["sample"], ["translate"], ["models"]):
        result = localize(*args, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout


def test_missing_file(tmp_path):
    result = localize(tmp_path / "nope.mp4", "--to", "en-US", "--out", tmp_path / "out")
    assert_clean_failure(result, tmp_path / "out", 3, "no such file")


def test_unknown_locale(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4")
    result = localize(clip, "--to", "xx-YY", "--out", tmp_path / "out")
    assert_clean_failure(result, tmp_path / "out", 2, "unknown locale")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(os.urandom(200_000))
    result = localize(bad, "--to", "en-US", "--out", tmp_path / "out")
    assert_clean_failure(result, tmp_path / "out", 3, "corrupt.mp4")


@pytest.mark.parametrize("faststart", [True, False])
def test_truncated_file(tmp_path, faststart):
    clip = make_clip(tmp_path / "full.mp4", seconds=8, faststart=faststart)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    before = cut.read_bytes()
    result = localize(cut, "--to", "en-US", "--out", tmp_path / "out")
    assert_clean_failure(result, tmp_path / "out", 3, "cut.mp4")
    assert cut.read_bytes() == before  # the input is never modified


def test_video_without_audio(tmp_path):
    clip = make_clip(tmp_path / "mute.mp4", audio=None)
    result = localize(clip, "--to", "en-US", "--out", tmp_path / "out")
    assert_clean_failure(result, tmp_path / "out", 3, "no audio track")


def test_all_silent_episode(tmp_path):
    clip = make_clip(tmp_path / "silent.mp4", audio="anullsrc=r=48000:cl=stereo")
    result = localize(clip, "--to", "en-US", "--out", tmp_path / "out")
    assert_clean_failure(result, tmp_path / "out", 3, "silent")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_output_folder(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4")
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        result = localize(clip, "--to", "en-US", "--out", out)
        assert_clean_failure(result, out, 6, "cannot write")
    finally:
        out.chmod(0o700)


def test_unicode_path_reaches_the_media_checks(tmp_path):
    folder = tmp_path / "剧集 ü"
    folder.mkdir()
    clip = make_clip(folder / "第1集.mp4", audio="anullsrc=r=48000:cl=mono")
    result = localize(clip, "--to", "en-US", "--out", folder / "出")
    assert_clean_failure(result, folder / "出", 3, "第1集.mp4")


def test_output_folder_that_is_a_file(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4")
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    result = localize(clip, "--to", "en-US", "--out", blocker / "sub")
    assert result.returncode == 6 and result.stderr.startswith("localize: error: cannot create")
    assert blocker.read_text() == "not a folder"
