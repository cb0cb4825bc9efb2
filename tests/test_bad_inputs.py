"""Every way a user's input, options or disk can be wrong: one clear line, the right exit code, nothing
half-written under a final name, no staging left behind, and the input untouched.

One table, run by one test. Each row is the command, the exit code, a pattern for the last stderr
line, and extra checks. Rows that must run the pipeline use short (6 s) cuts of the short sample
episode, or a copy of its warm work dir so that only the market stages run for real.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOCALIZE = [sys.executable, "-m", "localize"]
OUTPUT_SUFFIXES = (".mp4", ".srt", ".json", ".jpg", ".vtt", ".wav", ".html")


@dataclass
class Case:
    """One row: ``args`` builds the command line (given the clips and a fresh folder)."""

    name: str
    args: Callable[[dict, Path], list]
    exit_code: int
    message: str  # a regex the last stderr line must match
    check: Callable[[dict, Path, subprocess.CompletedProcess], None] | None = None
    env: dict = field(default_factory=dict)
    prepare: Callable[[dict, Path], None] | None = None
    single_line: bool = True  # False where a command also logs as it goes (the watcher)


def ffmpeg(*args) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def clips(short_episode, warm_work, tmp_path_factory) -> dict:
    """Short inputs, each wrong in its own way, made from the 16 s sample episode."""
    folder = tmp_path_factory.mktemp("bad inputs ü")
    c = {"dir": folder, "episode": short_episode.video, "warm": warm_work}
    base = c["base"] = folder / "base.mp4"
    ffmpeg("-ss", "6", "-t", "6", "-i", short_episode.video, "-c", "copy", base)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "random.mp4").write_bytes(os.urandom(200_000))
    data = short_episode.video.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=64x64", "-frames:v", "1", folder / "picture.png")
    shutil.copy(folder / "picture.png", folder / "png.mp4")
    ffmpeg("-i", base, "-an", "-c:v", "copy", folder / "noaudio.mp4")
    ffmpeg("-i", base, "-vn", "-c:a", "copy", folder / "audio.m4a")
    ffmpeg("-i", base, "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-map", "0:v", "-map", "1:a", "-t", "6",
           "-c:v", "copy", "-c:a", "aac", folder / "silent.mp4")
    # Variable frame rate: frames 5..14 of every 30 dropped, the rest keep their times.
    ffmpeg("-i", base, "-vf", r"select='not(between(mod(n\,30)\,5\,14))'", "-fps_mode", "vfr", "-c:v", "libx264",
           "-preset", "ultrafast", "-c:a", "copy", folder / "vfr.mp4")
    ffmpeg("-i", base, "-vf", "scale=721:1279,format=yuv444p", "-c:v", "libx264", "-preset", "ultrafast",
           "-c:a", "copy", folder / "odd.mp4")
    (folder / "bad.yaml").write_text("terms: [unclosed\n", encoding="utf-8")
    (folder / "config.yaml").write_text("crf: [\n", encoding="utf-8")
    (folder / "empty.srt").write_bytes(b"")
    srt = "1\n00:00:01,000 --> 00:00:02,500\n你好，顾总\n\n2\n00:00:03,000 --> 00:00:04,500\n三年了，我受够了。\n"
    (folder / "utf16.srt").write_bytes(srt.encode("utf-16"))
    (folder / "gb.srt").write_bytes(srt.encode("gb18030"))
    edited = srt.replace("你好，顾总", "Hello, Mr. Gu").replace("三年了，我受够了。", "Three years. I've had enough.")
    (folder / "edited.en.srt").write_text(edited, encoding="utf-8")
    (folder / "notes.txt").write_text("not a video\n", encoding="utf-8")
    return c


def digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def run(argv: list, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*LOCALIZE, *map(str, argv)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "LOCALIZE_PROGRESS": "0", **(env or {})})


def leftovers(folder: Path) -> list[str]:
    """Hidden staging folders and temporaries anywhere under ``folder``."""
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if ".part" in p.name]


def delivered(folder: Path) -> list[str]:
    """Outputs under their final names (the work dir's own files excluded)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and ".localize-work" not in
                  p.parts and ".work" not in p.parts and p.suffix in OUTPUT_SUFFIXES and not p.name.startswith("."))


def seeded(c: dict, folder: Path, name: str) -> list:
    """A copy of the warm episode named ``name`` with its work dir seeded: only the market stages run."""
    episode = folder / name
    shutil.copy(c["episode"], episode)
    c["warm"].seed(folder / ".work", episode.stem)
    for picture in (folder / ".work").rglob("market-picture*"):  # the market's picture is encoded anew
        picture.unlink()
    return [episode, "--to", "en-US", "--out", folder / "out", "--work-dir", folder / ".work",
            "--glossary", Path(__file__).resolve().parents[1] / "glossaries" / "ceo-romance.yaml"]


def mount_tmpfs(folder: Path, size: str, *options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join((f"size={size}", *options)), "tmpfs",
                             str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")


def fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte."""
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass


# --- extra checks -----------------------------------------------------------------------------------

def one_output_set(c, folder, result):
    out = folder / "out"
    sets = sorted(p.name for p in out.iterdir() if p.suffix in (".mp4", ".json", ".srt"))
    assert len(sets) == 3 and len({p.split(".")[0] for p in sets}) == 1, sets
    report = json.loads(next(out.glob("*.en-US.json")).read_text(encoding="utf-8"))
    assert [s["stage"] for s in report["stages"]].count("export.en-US") == 1


def with_an_unsayable_edit(c, folder):
    """The warm episode, its report's second line edited by a person to bare punctuation ("……")."""
    argv = seeded(c, folder, "unsayable.mp4")
    report = json.loads(next((c["warm"].root.parent / "out").glob("*.en-US.json")).read_text(encoding="utf-8"))
    report["segments"][1]["text"] = "……"
    (folder / "out").mkdir(exist_ok=True)
    (folder / "out" / "unsayable.en-US.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    return argv


def unvoiced_line_is_flagged(c, folder, result):
    report = json.loads((folder / "out" / "unsayable.en-US.json").read_text(encoding="utf-8"))
    assert (folder / "out" / "unsayable.en-US.mp4").is_file()
    # The run finished; the line with nothing to say is kept silent and flagged, the others are voiced.
    unsayable = [s for s in report["segments"] if not re.search(r"\w", s["text"])]
    assert [s["text"] for s in unsayable] == ["……"], report["segments"]
    assert "unvoiced" in unsayable[0], unsayable[0]
    assert all("unvoiced" not in s for s in report["segments"] if s is not unsayable[0])


def vfr_keeps_its_timing(c, folder, result):
    report = json.loads((folder / "out" / "vfr.en-US.json").read_text(encoding="utf-8"))
    assert any("variable frame rate" in reason for reason in report["source"]["conformed"])
    # Frame n of the output shows what the source showed at n/30 s: compare with the source's frame at
    # that time (ffmpeg picks the frame shown then), away from the subtitle band.
    for second in (0.2, 1.2, 2.7, 4.4):
        src = frame_at(c["dir"] / "vfr.mp4", second)
        out = frame_at(folder / "out" / "vfr.en-US.mp4", second)
        assert abs(src.astype(int) - out.astype(int)).mean() < 12, second


def frame_at(video: Path, second: float):
    import numpy as np

    proc = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{second}", "-i", str(video), "-frames:v", "1",
                           "-vf", "scale=54:96,format=gray", "-f", "rawvideo", "-"], capture_output=True, check=True)
    return np.frombuffer(proc.stdout, dtype=np.uint8).reshape(96, 54)[:50]  # the top half: no subtitles


def odd_size_is_padded(c, folder, result):
    report = json.loads((folder / "out" / "odd.en-US.json").read_text(encoding="utf-8"))
    assert any("odd size 721x1279" in reason for reason in report["source"]["conformed"])
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json",
                                       str(folder / "out" / "odd.en-US.mp4")], capture_output=True,
                                      text=True).stdout)
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (722, 1280)


def short_chinese_cut_is_not_refused(c, folder, result):
    report = json.loads(next((folder / "out").glob("*.en-US.json")).read_text(encoding="utf-8"))
    assert report["source"]["language"] == "zh"


def translated_from_memory(c, folder, result):
    text = (folder / "out.srt").read_text(encoding="utf-8")
    assert "Hello, Mr. Gu" in text and "Three years" in text


def watch_said_so(c, folder, result):
    assert "placeholder.mp4: empty (0 bytes)" in result.stderr
    assert (folder / "out" / "failed" / "corrupt.mp4.txt").is_file()


def previous_set_kept(c, folder, result):
    assert (folder / "out" / "ep.en-US.json").is_dir()  # what was in the way is still there, untouched


def cast_file_not_written(c, folder, result):
    assert not list((folder / ".work").glob("voices/*.yaml"))


def nothing_in_empty_work_folder(c, folder, result):
    work = folder / "out" / ".localize-work"
    assert not work.exists() or not any(work.iterdir())


# --- preparations that need more than a command --------------------------------------------------

def prepare_full_work(c, folder):
    mount_tmpfs(folder / "full", "2m")
    fill(folder / "full")


def prepare_full_out(c, folder):
    """Room for the run's write check, not for its outputs: it fails at the export, after the cast."""
    mount_tmpfs(folder / "out", "2m")
    (folder / "out" / "filler").write_bytes(b"\0" * (shutil.disk_usage(folder / "out").free - 200_000))


def prepare_read_only_out(c, folder):
    mount_tmpfs(folder / "out", "2m", "ro")


def prepare_folder_in_the_way(c, folder):
    (folder / "out" / "ep.en-US.json" / "x").mkdir(parents=True)


def prepare_watch(c, folder):
    (folder / "in").mkdir()
    shutil.copy(c["dir"] / "random.mp4", folder / "in" / "corrupt.mp4")
    (folder / "in" / "placeholder.mp4").write_bytes(b"")


def copy_of(name):
    def args(c, folder):
        shutil.copy(c["dir"] / name, folder / name)
        return [folder / name, "--to", "en-US", "--out", folder / "out"]
    return args


def cut(extra):
    return lambda c, folder: [*copy_of("base.mp4")(c, folder), *extra(c, folder)]


CASES = [
    Case("missing file", lambda c, f: [f / "nope.mp4", "--to", "en-US"], 3, r"nope\.mp4: no such file"),
    Case("zero-byte file", copy_of("empty.mp4"), 3, r"empty\.mp4: file is empty"),
    Case("random bytes", copy_of("random.mp4"), 3, r"random\.mp4: .*(not a readable media file|invalid)"),
    Case("truncated file", copy_of("truncated.mp4"), 3, r"truncated\.mp4: "),
    Case("still image named .mp4", copy_of("png.mp4"), 3, r"png\.mp4: a still image \(png\), not a video"),
    Case("text file named .mp4", lambda c, f: [*copy_of("notes.txt")(c, f)[:1], "--to", "en-US", "--out", f / "out"],
         3, r"notes\.txt: "),
    Case("no audio track", copy_of("noaudio.mp4"), 3, r"noaudio\.mp4: has no audio track"),
    Case("audio only", copy_of("audio.m4a"), 3, r"audio\.m4a: no video stream"),
    Case("silent audio", copy_of("silent.mp4"), 3, r"silent\.mp4: the audio track is silent",
         check=nothing_in_empty_work_folder),
    Case("unknown locale", lambda c, f: [c["base"], "--to", "xx-XX", "--out", f / "out"], 2, r"unknown locale 'xx-XX'"),
    Case("missing glossary", cut(lambda c, f: ["--glossary", f / "nope.yaml"]), 2, r"glossary not found"),
    Case("glossary not YAML", cut(lambda c, f: ["--glossary", c["dir"] / "bad.yaml"]), 2, r"not valid YAML"),
    Case("unknown voice", cut(lambda c, f: ["--voice", "bogus"]), 2, r"--voice: unknown voice backend 'bogus'"),
    Case("unknown translator", cut(lambda c, f: ["--translator", "bogus"]), 2,
         r"--translator: unknown translation backend 'bogus'"),
    Case("unknown separator", cut(lambda c, f: ["--separator", "bogus"]), 2,
         r"--separator: unknown separation backend 'bogus'"),
    Case("unknown source language", cut(lambda c, f: ["--from", "klingon"]), 2, r"--from: Whisper knows no language"),
    Case("missing lip-sync checkpoint", cut(lambda c, f: ["--lipsync-checkpoint", f / "w2l.pth"]), 2,
         r"--lipsync-checkpoint: .*w2l\.pth not found"),
    Case("unknown profile", cut(lambda c, f: ["--profile", "nosuchapp"]), 2, r"nosuchapp"),
    Case("config not YAML", cut(lambda c, f: ["--config", c["dir"] / "config.yaml"]), 2, r"config\.yaml"),
    Case("bad setting in the environment", copy_of("base.mp4"), 2, r"LOCALIZE_CRF", env={"LOCALIZE_CRF": "abc"}),
    Case("speakers out of range", cut(lambda c, f: ["--speakers", "0"]), 2, r"--speakers"),
    Case("output folder is a file", lambda c, f: [c["base"], "--to", "en-US", "--out", c["dir"] / "notes.txt"], 6,
         r"notes\.txt"),
    Case("read-only output folder", copy_of("base.mp4"), 6, r"cannot write", prepare=prepare_read_only_out),
    Case("full work dir", lambda c, f: [*copy_of("base.mp4")(c, f), "--work-dir", f / "full"], 6,
         r"cannot write|no space left", prepare=prepare_full_work),
    Case("full output folder", lambda c, f: seeded(c, f, "ep.mp4"), 6, r"cannot write|no space left",
         prepare=prepare_full_out, check=cast_file_not_written),
    Case("a folder in the way of an output", lambda c, f: seeded(c, f, "ep.mp4"), 6,
         r"ep\.en-US\.json: something that is not a file is in the way", prepare=prepare_folder_in_the_way,
         check=previous_set_kept),
    Case("translate: empty SRT", lambda c, f: ["translate", c["dir"] / "empty.srt", "--to", "en-US", "--out",
                                               f / "out.srt"], 3, r"empty\.srt: the subtitle file is empty"),
    Case("translate: missing SRT", lambda c, f: ["translate", f / "none.srt", "--to", "en-US", "--out", f / "o.srt"],
         3, r"none\.srt: no such file"),
    Case("translate: UTF-16 SRT", lambda c, f: ["translate", c["dir"] / "utf16.srt", "--to", "en-US", "--out",
                                                f / "out.srt", "--memory", f / "mem.json", "--edited",
                                                c["dir"] / "edited.en.srt"], 0, r"out\.srt \(2 events\)|edited lines",
         check=translated_from_memory),
    Case("translate: GB18030 SRT", lambda c, f: ["translate", c["dir"] / "gb.srt", "--to", "en-US", "--out",
                                                 f / "out.srt", "--memory", f / "mem.json", "--edited",
                                                 c["dir"] / "edited.en.srt"], 0, r"out\.srt \(2 events\)|edited lines",
         check=translated_from_memory),
    Case("watch --once: every job failed", lambda c, f: ["watch", f / "in", "--to", "en-US", "--out", f / "out",
                                                         "--once", "--settle", "0", "--poll", "0.1"],
         1, r"1 job\(s\) failed", prepare=prepare_watch, single_line=False, check=watch_said_so),
    Case("duplicate --to on a unicode path", lambda c, f: [*seeded(c, f, "第01集 顾总.mp4"), "--to", "en-US"], 0,
         r"第01集 顾总\.en-US\.mp4", check=one_output_set),
    Case("a 6 s Chinese cut is not refused as another language", copy_of("base.mp4"), 0, r"base\.en-US\.mp4",
         check=short_chinese_cut_is_not_refused),
    Case("unvoiceable line (a person's edit is bare punctuation)", with_an_unsayable_edit, 0, r"unsayable\.en-US\.mp4",
         check=unvoiced_line_is_flagged),
    Case("variable frame rate", copy_of("vfr.mp4"), 0, r"vfr\.en-US\.mp4", check=vfr_keeps_its_timing),
    Case("odd frame size", copy_of("odd.mp4"), 0, r"odd\.en-US\.mp4", check=odd_size_is_padded),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, clips, tmp_path):
    folder = tmp_path
    if case.prepare:
        case.prepare(clips, folder)
    try:
        argv = case.args(clips, folder)
        watched = [Path(a) for a in argv if isinstance(a, Path) and a.is_file()]
        before = {path: digest(path) for path in watched}
        result = run(argv, env=case.env)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == case.exit_code, result.stderr[-3000:]
        if case.exit_code:
            # One line, no traceback, no warnings.
            assert lines and lines[-1].startswith("localize: error: "), result.stderr[-3000:]
            assert len(lines) == 1 or not case.single_line, result.stderr[-3000:]
            assert re.search(case.message, lines[-1]), lines[-1]
            out = folder / "out"
            assert not out.is_dir() or delivered(out) == [] or case.name == "a folder in the way of an output"
        else:
            assert re.search(case.message, result.stdout + result.stderr), (result.stdout, result.stderr)
            assert not [line for line in lines if "Warning" in line or "Traceback" in line], result.stderr
        assert leftovers(folder) == []
        for path, was in before.items():
            assert digest(path) == was, f"{path} was modified"
        if case.check:
            case.check(clips, folder, result)
    finally:
        for mount in (folder / "out", folder / "full"):
            subprocess.run(["umount", str(mount)], capture_output=True)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_interrupt_during_the_encode_cleans_up(sig, code, clips, tmp_path):
    """Sent while the market's picture is being encoded: "interrupted", the exit code, nothing staged left."""
    argv = seeded(clips, tmp_path, "ep.mp4")
    proc = subprocess.Popen([*LOCALIZE, *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LOCALIZE_PROGRESS": "0"})
    work = tmp_path / ".work"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if list(work.rglob(".market-picture*")) or list(work.rglob("*.part.mp4")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before its encode was seen"
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-3000:]
    assert err.strip().splitlines()[-1] == "localize: interrupted", err[-3000:]
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "out").exists() or delivered(tmp_path / "out") == []


def test_progress_shows_on_a_terminal_and_no_warnings(clips, tmp_path):
    """Under a pseudo-terminal a run names each stage as it goes; no library warning reaches the user."""
    import pty

    argv = seeded(clips, tmp_path, "ep.mp4")
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "LOCALIZE_PROGRESS"}
    proc = subprocess.Popen([*LOCALIZE, *map(str, argv)], stdout=subprocess.PIPE, stderr=secondary, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=900)
    os.close(primary)
    text = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    for stage in ("ingest", "diarize", "translate.en-US", "synthesize.en-US", "export.en-US"):
        assert f"{stage} " in text, text[-3000:]
    assert "Warning" not in text and "warn(" not in text, text[-3000:]
