"""The QC page of one market: a single HTML file beside the report that opens from disk, no server, no network.

It shows the timeline (each character's lines and where their dub sits), the loudness of the mix
over time against the market's target, each line's speed and stretch, the flags, the cast, and
one frame before and after the burned-in subtitles were removed. Plots are matplotlib SVG inlined
in the page; frames are JPEG data URIs.
"""

from __future__ import annotations

import base64
import html
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localize.ffmpeg import BandPatch
from localize.fsutil import write_text_atomic
from localize.qc.flags import FAST_FACTOR, FLAG_LABELS, line_flags

SHORT_TERM_WINDOW_S = 3.0  # EBU R128 short-term loudness window
SHORT_TERM_HOP_S = 0.5


@dataclass
class QcInputs:
    """What the page is drawn from: the market's report data and the files behind it."""

    report: dict
    mix: Path  # the final mix (WAV)
    target_lufs: float
    source: Path  # the original episode
    picture: Path  # the episode's picture
    hardsub: Any  # HardsubAnalysis: where the burned-in subtitles were
    band: BandPatch | None = None  # laid over ``picture``: the rows the subtitle removal rewrote


def qc_path(report_path: Path) -> Path:
    """``<stem>.<locale>.html`` beside ``<stem>.<locale>.json``."""
    return Path(report_path).with_suffix(".html")


def _svg(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG sits inside HTML


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; SVG out
    import matplotlib.pyplot as plt

    return plt


def timeline_svg(report: dict) -> str:
    """One lane per character: the source line's span (light) and its dub clip (dark)."""
    plt = _pyplot()
    names = {s["id"]: s.get("character") or s["id"] for s in report.get("speakers", [])}
    lanes = list(dict.fromkeys(names.get(seg["speaker"], seg["speaker"]) for seg in report["segments"]))
    figure, axes = plt.subplots(figsize=(11, 0.6 + 0.55 * max(len(lanes), 1)))
    for seg in report["segments"]:
        y = lanes.index(names.get(seg["speaker"], seg["speaker"]))
        axes.broken_barh([(seg["start"], seg["end"] - seg["start"])], (y - 0.35, 0.3), color="#9db8d9")
        dub_end = seg.get("dub_end") or seg["end"]
        axes.broken_barh([(seg["dub_start"], dub_end - seg["dub_start"])], (y + 0.02, 0.3),
                         color="#d9534f" if line_flags(seg) else "#2e6da4")
        axes.text(seg["start"], y - 0.4, str(seg["id"]), fontsize=7, va="bottom")
    axes.set_yticks(range(len(lanes)), lanes)
    axes.set_ylim(len(lanes) - 0.4, -0.7)
    axes.set_xlim(0, report["source"]["duration"])
    axes.set_xlabel("seconds (light: source line, dark: dub clip, red: flagged)")
    return _svg(figure)


def short_term_loudness(mix: Path) -> tuple[list[float], list[float]]:
    """Short-term loudness (LUFS over 3 s windows every 0.5 s) of a WAV, by pyloudnorm's BS.1770 meter."""
    import numpy as np
    import pyloudnorm
    import soundfile

    samples, rate = soundfile.read(str(mix), always_2d=True)
    meter = pyloudnorm.Meter(rate, block_size=0.4)
    window, hop = int(SHORT_TERM_WINDOW_S * rate), int(SHORT_TERM_HOP_S * rate)
    times, values = [], []
    for start in range(0, max(len(samples) - window, 0) + 1, hop):
        chunk = samples[start:start + window]
        if np.max(np.abs(chunk)) < 1e-5:
            continue  # digital silence has no loudness
        times.append((start + window / 2) / rate)
        values.append(float(meter.integrated_loudness(chunk)))
    return times, values


def loudness_svg(mix: Path, target_lufs: float, integrated: float | None) -> str:
    plt = _pyplot()
    times, values = short_term_loudness(mix)
    figure, axes = plt.subplots(figsize=(11, 2.6))
    axes.plot(times, values, color="#2e6da4", label="short-term loudness (3 s)")
    axes.axhline(target_lufs, color="#d9534f", linestyle="--", label=f"target {target_lufs:g} LUFS")
    if integrated is not None:
        axes.axhline(integrated, color="#5cb85c", linestyle=":", label=f"integrated {integrated:g} LUFS")
    axes.set_xlabel("seconds")
    axes.set_ylabel("LUFS")
    axes.legend(loc="lower right", fontsize=8)
    return _svg(figure)


def speed_svg(report: dict) -> str:
    plt = _pyplot()
    ids = [str(seg["id"]) for seg in report["segments"]]
    figure, axes = plt.subplots(figsize=(11, 2.6))
    positions = range(len(ids))
    axes.bar([p - 0.2 for p in positions], [seg.get("speed") or 1 for seg in report["segments"]], 0.4, label="speed")
    axes.bar([p + 0.2 for p in positions], [seg.get("stretch") or 1 for seg in report["segments"]], 0.4,
             label="stretch")
    axes.axhline(FAST_FACTOR, color="#d9534f", linestyle="--", label=f"{FAST_FACTOR}x")
    axes.set_xticks(list(positions), ids, fontsize=7)
    axes.set_xlabel("line")
    axes.set_ylabel("factor")
    axes.legend(loc="upper right", fontsize=8)
    return _svg(figure)


def frame_jpeg(video: Path, at_s: float, width: int = 270, band: BandPatch | None = None) -> str:
    """One frame of ``video`` (with ``band`` laid over it) at ``at_s`` as a JPEG data URI (ffmpeg)."""
    seek = ["-ss", f"{at_s:.3f}"]
    # A band must stay frame-aligned with the video: decode from the start and drop frames instead.
    argv = [*seek, "-i", str(video)] if band is None else ["-i", str(video), *seek]
    filters = [*(band.filters() if band is not None else []), f"scale={width}:-2"]
    result = subprocess.run(["ffmpeg", "-v", "error", *argv, "-frames:v", "1", "-vf", ",".join(filters),
                             "-f", "image2pipe", "-vcodec", "mjpeg", "-q:v", "4", "-"],
                            capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(result.stdout).decode("ascii")


def _frames(inputs: QcInputs) -> str:
    events = getattr(inputs.hardsub, "events", None) or []
    if not events:
        return "<p>No burned-in subtitles were found, so none were removed.</p>"
    event = events[0]
    at = (event.start_ms + event.end_ms) / 2000
    before, after = frame_jpeg(inputs.source, at), frame_jpeg(inputs.picture, at, band=inputs.band)
    return (f'<div class="frames"><figure><img alt="before" src="{before}"><figcaption>before ({at:.1f} s)'
            f'</figcaption></figure><figure><img alt="after" src="{after}"><figcaption>after subtitle removal'
            f'</figcaption></figure></div>')


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _rows(report: dict) -> str:
    names = {s["id"]: s.get("character") or s["id"] for s in report.get("speakers", [])}
    rows = []
    for seg in report["segments"]:
        flags = ", ".join(FLAG_LABELS[f] for f in line_flags(seg))
        rows.append(f"<tr><td>{seg['id']}</td><td>{seg['start']:.2f}-{seg['end']:.2f}</td>"
                    f"<td>{_esc(names.get(seg['speaker'], seg['speaker']))}</td>"
                    f"<td>{_esc(seg['source_text'])} <small>({_esc(seg.get('origin'))})</small></td>"
                    f"<td>{_esc(seg['text'])}</td><td>{seg.get('speed')}</td><td>{seg.get('stretch')}</td>"
                    f"<td class='flags'>{_esc(flags)}</td></tr>")
    return "\n".join(rows)


def _cast(report: dict) -> str:
    rows = []
    for speaker in report.get("speakers", []):
        voice = speaker.get("voice") or {}
        rows.append(f"<tr><td>{_esc(speaker['id'])}</td><td>{_esc(speaker.get('character'))}</td>"
                    f"<td>{_esc(speaker.get('gender'))}</td><td>{_esc(speaker.get('segments'))}</td>"
                    f"<td>{_esc(voice.get('backend'))} {_esc(voice.get('name'))}</td></tr>")
    return "\n".join(rows)


_STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:1200px}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top}.flags{color:#b52b27}
.frames{display:flex;gap:1em}figure{margin:0}svg{max-width:100%;height:auto}"""


def render_page(inputs: QcInputs) -> str:
    """The page's HTML."""
    report = inputs.report
    loudness = report.get("loudness") or {}
    flagged = sum(1 for seg in report["segments"] if line_flags(seg))
    title = f"{Path(report['source']['path']).stem} ({report['locale']})"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>QC: {_esc(title)}</title><style>{_STYLE}</style></head>
<body><h1>QC: {_esc(title)}</h1>
<p>{len(report['segments'])} lines, {flagged} flagged. Loudness {_esc(loudness.get('lufs'))} LUFS
(target {inputs.target_lufs:g}), true peak {_esc(loudness.get('true_peak_db', loudness.get('peak_db')))} dB.
Voices: {_esc(report['backends'].get('voice'))}; translation: {_esc(', '.join(report['backends'].get('translation', [])))}.
{_esc(report.get('ai_label'))}</p>
<h2>Timeline</h2>{timeline_svg(report)}
<h2>Loudness over time</h2>{loudness_svg(inputs.mix, inputs.target_lufs, loudness.get('lufs'))}
<h2>Speed and stretch per line</h2>{speed_svg(report)}
<h2>Lines and flags</h2><table><tr><th>#</th><th>time (s)</th><th>character</th><th>source</th>
<th>translation</th><th>speed</th><th>stretch</th><th>flags</th></tr>
{_rows(report)}</table>
<h2>Cast</h2><table><tr><th>speaker</th><th>character</th><th>gender</th><th>lines</th><th>voice</th></tr>
{_cast(report)}</table>
<h2>Burned-in subtitle removal</h2>{_frames(inputs)}
</body></html>
"""


def write_qc_page(path: Path, inputs: QcInputs) -> Path:
    """Write the QC page atomically; returns its path."""
    write_text_atomic(Path(path), render_page(inputs))
    return Path(path)
