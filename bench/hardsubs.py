"""Burned-in subtitles on the generated sample episode: read, fuse, remove, replace.

    /tmp/venv/bin/python bench/hardsubs.py [--out build/bench-hardsubs] [--fps 2,4,6] [--no-reuse 2] [--no-asr]
        [--no-render] [--samples samples] [--json out.json]

Prints, against the episode's ground truth (episode.truth.json):

1. band detection: where the band is and what it cost;
2. band OCR at each sampling rate (and, for comparison, with OCR on every sample): OCR calls,
   seconds, events found, CER of the events' text, and how far event boundaries are from the
   frames the subtitle really starts and ends on;
3. transcript CER: ASR only (faster-whisper base, as the transcribe stage runs it), OCR only,
   and fused (:func:`localize.stages.hardsubs.fuse`), with the origin of each fused line;
4. removal: time, and the share of frames, sampled through every line, on which OCR of the
   band (full resolution, padded by a row) still finds any Chinese;
5. replacement: the removed video with the English reference subtitles burned into the band
   (stages.subtitles + ffmpeg.render_argv); OCR of the band on each cue's middle frame, scored
   with chrF (sacrebleu) against the subtitle text.

With ``--samples DIR`` it also writes the before/after frame pair (small JPEGs) there.
The episode is generated under ``--out`` on the first run and reused afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path


def episode(out: Path):
    from localize.sample import SampleEpisode, generate_sample

    folder = out / "sample"
    if (folder / "episode.truth.json").is_file():
        truth = json.loads((folder / "episode.truth.json").read_text(encoding="utf-8"))
        return SampleEpisode(video=folder / "episode.mp4", truth=folder / "episode.truth.json",
                             music=folder / "episode.music.wav", dialogue=folder / "episode.dialogue.wav",
                             duration_ms=truth["duration_ms"])
    return generate_sample(folder)


def burned_times(video: Path, lines: list[dict]) -> None:
    """Give each truth line the times of the ASS event that was burned in (centiseconds, rounded half up)."""
    import pysubs2

    events = pysubs2.load(str(video.with_suffix(".zh.ass")))
    assert len(events) == len(lines)
    for line, event in zip(lines, events):
        line["shown_ms"] = (event.start, event.end)


def true_frames(line: dict, fps: float) -> tuple[int, int]:
    """The frames a burned-in line is shown on, [first, end): those whose time t has start <= t < end."""
    import math

    start, end = line.get("shown_ms", (line["start_ms"], line["end_ms"]))
    return math.ceil(start * fps / 1000 - 1e-9), math.ceil(end * fps / 1000 - 1e-9)


def match_events(events, lines, fps: float) -> dict:
    """Pair each truth line with the event overlapping it most; boundary errors in frames, CER of the text."""
    from localize.metrics import cer, han_chars

    start_err, end_err, matched = [], [], 0
    for line in lines:
        first, end = true_frames(line, fps)
        best = max(events, key=lambda e: min(e.end_frame, end) - max(e.start_frame, first), default=None)
        if best is None or min(best.end_frame, end) <= max(best.start_frame, first):
            continue
        matched += 1
        start_err.append(best.start_frame - first)
        end_err.append(best.end_frame - end)
    script = "".join(line["zh"] for line in lines)
    text = "".join(e.text for e in events)
    return {"events": len(events), "matched": matched, "cer": cer(script, text),
            "chars": len(han_chars(script)),
            "start_frames_max_abs": max(map(abs, start_err), default=None),
            "end_frames_max_abs": max(map(abs, end_err), default=None),
            "exact_boundaries": sum(1 for a, b in zip(start_err, end_err) if a == 0 and b == 0)}


def transcribe(video: Path, out: Path, duration_ms: int):
    from localize import ffmpeg
    from localize.stages.transcribe import FasterWhisper, TranscribeOptions

    audio = out / "audio.16k.wav"
    ffmpeg.run(ffmpeg.extract_audio_argv(video, audio, rate=16000, channels=1), what="extracting audio")
    started = time.monotonic()
    backend = FasterWhisper()
    transcript = backend.transcribe(audio, TranscribeOptions(), duration_ms)
    backend.close()
    return transcript.segments, time.monotonic() - started


def timing_error(segments, lines) -> float:
    """Mean |start| + |end| error (ms) of the segment overlapping each line most."""
    errors = []
    for line in lines:
        best = max(segments, key=lambda s: min(s.end_ms, line["end_ms"]) - max(s.start_ms, line["start_ms"]))
        errors.append((abs(best.start_ms - line["start_ms"]) + abs(best.end_ms - line["end_ms"])) / 2)
    return sum(errors) / len(errors)


def check_frames(lines, fps: float, per_line: int = 5) -> list[int]:
    """``per_line`` frames spread over each line, its first and last frame included."""
    import numpy as np

    frames = []
    for line in lines:
        first, end = true_frames(line, fps)
        frames += np.linspace(first, end - 1, per_line).round().astype(int).tolist()
    return sorted(set(frames))


def band_region(band, width: int, height: int) -> tuple[int, int, int, int]:
    from localize.stages.hardsubs.detect import even

    top = even(max(0, band.top - band.line_height))
    bottom = min(height, band.bottom + band.line_height)
    return 0, top, width, even(bottom - top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/bench-hardsubs"))
    parser.add_argument("--fps", default="2,4,6", help="band OCR sampling rates to compare")
    parser.add_argument("--no-reuse", default="2", help="rates also run with OCR on every sample ('' for none)")
    parser.add_argument("--fuse-fps", type=float, default=4.0, help="the rate whose events are fused and removed")
    parser.add_argument("--removal", default="inpaint", choices=("inpaint", "blur", "box"))
    parser.add_argument("--no-asr", action="store_true")
    parser.add_argument("--no-render", action="store_true")
    parser.add_argument("--samples", type=Path, default=None, help="write the before/after JPEG pair here")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import cv2

    from localize import ffmpeg
    from localize.stages.hardsubs import HardsubAnalysis, HardsubOptions, fuse, remove_hardsubs
    from localize.stages.hardsubs.detect import detect_band, video_geometry
    from localize.stages.hardsubs.ocr import ocr_band, ocr_frames
    from localize.locales import get_locale
    from localize.metrics import cer, has_han
    from localize.model import Segment
    from localize.stages.subtitles import Placement, build_cues, to_ssa

    args.out.mkdir(parents=True, exist_ok=True)
    sample = episode(args.out)
    truth = json.loads(Path(sample.truth).read_text(encoding="utf-8"))
    lines = truth["lines"]
    burned_times(sample.video, lines)
    script = "".join(line["zh"] for line in lines)
    geometry = video_geometry(sample.video)
    fps = geometry.fps
    report: dict = {"episode": str(sample.video), "duration_s": sample.duration_ms / 1000, "lines": len(lines)}
    options = HardsubOptions(sample_fps=args.fuse_fps, removal=args.removal)

    # 1. Band.
    band, onscreen, stats = detect_band(sample.video, fps=options.detect_fps, max_frames=options.detect_max_frames,
                                        max_side=options.detect_max_side, threads=options.threads)
    if band is None:
        sys.exit("no subtitle band found on the sample episode")
    report["band"] = {"top": band.top, "bottom": band.bottom, "centre_ratio": round(band.center_ratio, 4),
                      "true_centre_ratio": truth["subtitle_band"]["center_ratio"], "line_height": band.line_height,
                      "onscreen": len(onscreen), **stats}
    print(f"\nband: rows {band.top}-{band.bottom} (centre {band.center_ratio:.3f} of the height; truth "
          f"{truth['subtitle_band']['center_ratio']}), row height {band.line_height} px, "
          f"{stats['detect_samples']} frames OCR'd in {stats['detect_seconds']:.1f} s, "
          f"{len(onscreen)} other on-screen texts")

    # 2. Sampling rate: accuracy against cost.
    rows = []
    passes = {}
    constant = [o for o in onscreen if o.kind == "constant"]
    runs = [(float(r), True) for r in args.fps.split(",")]
    runs += [(float(r), False) for r in args.no_reuse.split(",") if r]
    for rate, reuse in runs:
        result = ocr_band(sample.video, band, geometry, sample_fps=rate, ocr_text_height=options.ocr_text_height,
                          constant=constant, reuse=reuse, threads=options.threads)
        if reuse:
            passes[rate] = result
        m = match_events(result.events, lines, fps)
        rows.append({"fps": rate, "reuse": reuse, "samples": len(result.readings), "ocr_calls": result.ocr_calls,
                     "checks": result.checks, "seconds": result.seconds, "shortest_line_ms": round(1000 / rate),
                     **m})
    report["sampling"] = rows
    print("\nband OCR by sampling rate. reuse: a sample whose band did not change reuses the last reading.\n"
          "start/end: frames off the truth (max over lines); exact: lines with both boundaries on the frame;\n"
          "seen: lines at least this long are always sampled (shorter ones can be missed)")
    print(f"{'fps':>4} {'reuse':>5} {'samples':>7} {'OCR calls':>9} {'checks':>6} {'seconds':>7} {'events':>6} "
          f"{'CER':>6} {'start':>5} {'end':>4} {'exact':>5} {'seen':>7}")
    for r in rows:
        print(f"{r['fps']:>4g} {'yes' if r['reuse'] else 'no':>5} {r['samples']:>7} {r['ocr_calls']:>9} "
              f"{r['checks']:>6} {r['seconds']:>7.1f} {r['events']:>6} {r['cer']:>6.2%} "
              f"{r['start_frames_max_abs']:>5} {r['end_frames_max_abs']:>4} {r['exact_boundaries']:>2}/{len(lines)} "
              f"{r['shortest_line_ms']:>5}ms")

    chosen = passes.get(args.fuse_fps) or passes[sorted(passes)[0]]
    analysis = HardsubAnalysis(band, chosen.events, onscreen, stats["detect_seconds"] + chosen.seconds,
                               {"frames": chosen.frames})

    # 3. Transcript.
    ocr_segments = [Segment(i, e.start_ms, e.end_ms, e.text, origin="ocr") for i, e in enumerate(chosen.events)]
    print("\ntranscript CER against the script (Chinese characters)")
    report["transcript"] = {"ocr_only_cer": cer(script, "".join(s.source_text for s in ocr_segments))}
    if not args.no_asr:
        segments, asr_seconds = transcribe(sample.video, args.out, sample.duration_ms)
        fused = fuse(segments, chosen.events)
        origins = {o: sum(1 for s in fused if s.origin == o) for o in ("ocr+asr", "asr", "ocr")}
        report["transcript"].update(
            asr_cer=cer(script, "".join(s.source_text for s in segments)), asr_segments=len(segments),
            asr_seconds=round(asr_seconds, 1), fused_cer=cer(script, "".join(s.source_text for s in fused)),
            fused_segments=len(fused), origins=origins, asr_timing_error_ms=round(timing_error(segments, lines), 1),
            fused_timing_error_ms=round(timing_error(fused, lines), 1))
        t = report["transcript"]
        print(f"  ASR only  {t['asr_cer']:6.2%}  ({t['asr_segments']} segments, {t['asr_seconds']} s, "
              f"mean boundary error {t['asr_timing_error_ms']} ms)")
        print(f"  OCR only  {t['ocr_only_cer']:6.2%}  ({len(ocr_segments)} events)")
        print(f"  fused     {t['fused_cer']:6.2%}  ({t['fused_segments']} segments: {origins}; "
              f"mean boundary error {t['fused_timing_error_ms']} ms)")
    else:
        print(f"  OCR only  {report['transcript']['ocr_only_cer']:6.2%}")

    # 4. Removal.
    removed = args.out / f"removed.{args.removal}.mkv"
    started = time.monotonic()
    patch = remove_hardsubs(sample.video, analysis, removed.with_suffix(".band.mkv"),
                            replace(options, removal=args.removal))
    removal_seconds = time.monotonic() - started
    ffmpeg.write_clean_picture(patch, removed)
    region = band_region(band, geometry.width, geometry.height)
    frames = check_frames(lines, fps)
    readings = ocr_frames(removed, frames, region=region, threads=options.threads)
    left = [f for f in frames if any(has_han(ln.text) for ln in readings.get(f, []))]
    report["removal"] = {"mode": args.removal, "seconds": round(removal_seconds, 1), "frames_checked": len(frames),
                         "frames_with_chinese": len(left), "share": len(left) / max(1, len(frames)),
                         "texts_left": sorted({ln.text for f in left for ln in readings[f] if has_han(ln.text)})}
    print(f"\nremoval ({args.removal}): {removal_seconds:.1f} s; Chinese found by OCR on {len(left)} of {len(frames)} "
          f"band crops sampled through every line ({len(left) / max(1, len(frames)):.1%})")

    # 5. English subtitles in the band.
    if not args.no_render:
        import sacrebleu

        english = get_locale("en-US")
        segments = [Segment(line["id"], line["start_ms"], line["end_ms"], line["zh"], text=line["en"])
                    for line in lines]
        cues = build_cues(segments, english)
        ass = args.out / "subtitles.en-US.ass"
        to_ssa(cues, english, geometry.width, geometry.height, placement=Placement.from_band(band)).save(str(ass))
        rendered = args.out / "rendered.en-US.mp4"
        started = time.monotonic()
        ffmpeg.run(ffmpeg.render_argv(removed, sample.video, rendered, subtitles=ass, fonts_dir=None,
                                      encoding=ffmpeg.VideoEncoding(preset="ultrafast")),
                   what="burning the English subtitles in")
        render_seconds = time.monotonic() - started
        middles = {geometry.frame_at((c.start_ms + c.end_ms) / 2): c for c in cues}
        read = ocr_frames(rendered, sorted(middles), region=region, threads=options.threads)
        hyps, refs = [], []
        for frame, cue in sorted(middles.items()):
            got = read.get(frame, [])
            hyps.append(" ".join(ln.text for ln in sorted(got, key=lambda ln: (ln.box[1], ln.box[0]))))
            refs.append(cue.text.replace("\n", " "))
        chrf = sacrebleu.corpus_chrf(hyps, [refs]).score
        worst = min(((sacrebleu.sentence_chrf(h, [r]).score, r, h) for h, r in zip(hyps, refs)), default=None)
        han_left = sum(1 for h in hyps if has_han(h))
        report["replacement"] = {
            "cues": len(cues), "chrf": round(chrf, 2), "render_seconds": round(render_seconds, 1),
            "cues_with_chinese": han_left,
            "worst": {"chrf": round(worst[0], 1), "ref": worst[1], "ocr": worst[2]} if worst else None}
        print(f"\nEnglish subtitles in the band: chrF {chrf:.1f} over {len(cues)} cues (OCR of each cue's middle "
              f"frame); Chinese read on {han_left} of them; render {render_seconds:.1f} s")
        if worst:
            print(f"  worst cue: chrF {worst[0]:.1f}  ref {worst[1]!r}  read {worst[2]!r}")

        if args.samples is not None:
            line = lines[4]
            at = (line["start_ms"] + line["end_ms"]) // 2
            args.samples.mkdir(parents=True, exist_ok=True)
            for src, name in ((sample.video, "hardsubs-before.jpg"), (rendered, "hardsubs-after.jpg")):
                png = args.out / f"{name}.png"
                ffmpeg.run(ffmpeg.extract_frame_argv(src, png, at_ms=at), what="extracting a frame")
                picture = cv2.resize(cv2.imread(str(png)), (432, 768), interpolation=cv2.INTER_AREA)
                cv2.imwrite(str(args.samples / name), picture, [cv2.IMWRITE_JPEG_QUALITY, 80])
            print(f"  wrote {args.samples / 'hardsubs-before.jpg'} and hardsubs-after.jpg (line {line['id']}, {at} ms)")

    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
