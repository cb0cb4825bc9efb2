"""Helpers of the delivery tests (fixtures are in conftest.py): probing, loudness, frames, export jobs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
SERIES_GLOSSARY = REPO / "glossaries" / "ceo-romance.yaml"
LOCALIZE = [sys.executable, "-m", "localize"]
ENV = {**os.environ, "LOCALIZE_PROGRESS": "0"}


def run_localize(*args, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*LOCALIZE, *map(str, args)], capture_output=True, text=True, env=ENV, cwd=cwd)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def ebur128(path: Path, stream: str = "a:0") -> dict[str, float]:
    """Integrated loudness and true peak of a file's audio, measured by ffmpeg."""
    from localize import ffmpeg

    argv = ffmpeg.ebur128_argv(path, stream=stream)
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return ffmpeg.parse_ebur128(proc.stderr)


def probe(path: Path) -> dict:
    proc = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                           str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def streams(data: dict, kind: str) -> list[dict]:
    return [s for s in data["streams"] if s["codec_type"] == kind]


def fps_of(stream: dict) -> float:
    num, den = stream["avg_frame_rate"].split("/")
    return int(num) / int(den)


def vtt_cue_texts(text: str) -> list[str]:
    """The text lines of every cue in WebVTT text (identifiers and headers dropped)."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r", "")):
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            if "-->" in line:
                cues.append(" ".join(lines[i + 1:]).strip())
                break
    return cues


SPANISH = ["¿Así que tú eres Lin Xiao? Desde hoy eres mi esposa por contrato.",
           "Señor Gu, ¿no se habrá equivocado de persona?",
           "Firma este contrato y yo lo pago por ti.",
           "¿Llamarte cariño? ¡Esto es muy repentino!"]


def export_job(source, profile, tag: str, out_dir: Path, work: Path, *, series: str = "odd-series"):
    """An export job of the odd source for one market, with its audio at the profile's loudness.

    The audio goes through the mix stage's own loudness normaliser, as the pipeline's does; the
    cues are the script's lines (English, or the Spanish above), timed as spoken.
    """
    from localize.audio import read_wav, write_wav
    from localize.ffmpeg import VideoEncoding
    from localize.locales import get_locale
    from localize.model import Segment
    from localize.stages import export as export_stage
    from localize.stages import mix as mix_stage
    from localize.stages import subtitles as subtitle_stage

    locale = get_locale(tag)
    samples, rate = read_wav(source.mix)
    options = profile.mix_options(mix_stage.MixOptions())
    mixed, _ = mix_stage.normalize_loudness(samples, rate, options)
    work.mkdir(parents=True, exist_ok=True)
    audio = work / f"mix.{profile.name}.{tag}.wav"
    write_wav(audio, mixed, rate)
    lines = [line for line in source.truth["lines"] if line["start_ms"] < source.duration_ms]
    texts = [SPANISH[i] if locale.language == "es" else line["en"] for i, line in enumerate(lines)]
    segments = [Segment(id=i, start_ms=line["start_ms"], end_ms=min(line["end_ms"], source.duration_ms - 100),
                        source_text=line["zh"], text=text) for i, (line, text) in enumerate(zip(lines, texts))]
    cues = subtitle_stage.build_cues(segments, locale)
    ass = work / f"subtitles.{tag}.ass"  # as the pipeline writes it: laid out on the source frame
    subtitle_stage.write_subtitles(cues, locale, 960, 1440, ass, "ass")
    episode = Path("/in") / series / "odd.mp4"  # only its names matter: series folder and stem
    outputs = profile.output_paths(out_dir, episode, locale)
    job = export_stage.ExportJob(picture=source.video, audio=audio, subtitles_ass=ass, cues=cues,
                                 locale=locale, width=960, height=1440, title=f"odd ({tag})",
                                 video_out=outputs["video"], srt_out=outputs["srt"], encoding=VideoEncoding(),
                                 profile=profile, outputs=outputs, series=series, episode="odd")
    return job, texts


def gray_frame(path: Path, at_s: float | None = None):
    """One frame of ``path`` at ``at_s`` as a 2-D uint8 luma array."""
    import numpy as np

    data = probe(path)
    video = streams(data, "video")[0]
    width, height = int(video["width"]), int(video["height"])
    seek = [] if at_s is None else ["-ss", f"{at_s:.3f}"]
    proc = subprocess.run(["ffmpeg", "-v", "error", *seek, "-i", str(path), "-frames:v", "1",
                           "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True)
    assert proc.returncode == 0, proc.stderr[-500:]
    return np.frombuffer(proc.stdout[: width * height], dtype=np.uint8).reshape(height, width)
