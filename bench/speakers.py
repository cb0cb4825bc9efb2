"""Benchmark speaker diarization on generated sample episodes whose speakers are known.

For each episode it prints purity and coverage of the speaker labels against the truth,
the speaker count found vs. true, and each found speaker's median F0 and gender. Two
segmentations are measured: the truth lines' own times (diarization alone) and, with
``--transcribed``, Whisper's segments on the true dialogue stem (what the pipeline feeds it;
each segment's truth speaker is the line it overlaps most).

Episodes are generated from ``samples/episode01.yaml`` and ``episode02.yaml`` into ``--cache``
once and reused.

    /tmp/venv/bin/python bench/speakers.py [--cache /tmp/localize-bench-speakers] [--transcribed]
        [--episodes episode01,episode02] [--json out.json]
    /tmp/venv/bin/python bench/speakers.py --pipeline OUT   # on a real run's segments and separated stem
    /tmp/venv/bin/python bench/speakers.py --dub OUT [--market en-US]   # dub vs. original voice
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def episode(cache: Path, name: str) -> Path:
    """The generated episode's truth JSON path, generating it on first use."""
    from localize.sample import generate_sample

    truth = cache / f"{name}.truth.json"
    if not truth.exists():
        cache.mkdir(parents=True, exist_ok=True)
        generate_sample(cache, ROOT / "samples" / f"{name}.yaml", name=name)
    return truth


def dialogue_16k(truth: Path):
    from localize.audio import read_wav, resample, to_mono

    samples, rate = read_wav(truth.with_name(truth.name.replace(".truth.json", ".dialogue.wav")))
    return resample(to_mono(samples), rate, 16000), 16000


def truth_segments(lines: list[dict]):
    from localize.model import Segment

    return [Segment(id=line["id"], start_ms=line["start_ms"], end_ms=line["end_ms"], source_text=line["zh"])
            for line in lines]


def transcribed_segments(samples, rate: int, work: Path, duration_ms: int):
    from localize.audio import write_wav
    from localize.stages import transcribe as transcribe_stage

    wav = work / "dialogue.16k.wav"
    write_wav(wav, samples, rate)
    options = transcribe_stage.TranscribeOptions()
    transcriber = transcribe_stage.TRANSCRIBERS.create(options.model)
    try:
        return transcriber.transcribe(wav, options, duration_ms).segments
    finally:
        transcriber.close()


def measure(name: str, segments, lines: list[dict], samples, rate: int) -> dict:
    from localize.stages import diarize as D

    started = time.perf_counter()
    result = D.diarize(segments, samples, rate)
    seconds = time.perf_counter() - started
    truth = [D.truth_speaker(s.start_ms, s.end_ms, lines) for s in segments]
    found = D.score(result.labels, truth)
    speakers = []
    for speaker in result.speakers:
        mine = [t for label, t in zip(result.labels, truth) if label == speaker.id]
        speakers.append({"id": speaker.id, "truth": max(set(mine), key=mine.count), "segments": speaker.segments,
                         "f0_median_hz": speaker.f0_median_hz, "gender": speaker.gender})
    return {"episode": name, "segments": len(segments), **dataclasses.asdict(found),
            "seconds": round(seconds, 1), "speakers": speakers}


def dub_similarity(work: Path, market: str) -> dict:
    """Resemblyzer similarity of each dubbed line to its original speaker's voice print vs. the others,
    and the dub's median F0 per speaker.

    ``work`` is an episode's work dir (``<out>/.localize-work/<episode>-<digest>``) after a run
    with ``--to market``; the voice prints are the diarizer's speaker centroids.
    """
    import numpy as np

    from localize.audio import read_wav, to_mono
    from localize.stages import diarize as D

    def data(stage: str):
        return json.loads((work / f"{stage}.json").read_text(encoding="utf-8"))["data"]

    diarization = data("diarize")
    speaker_of = dict(zip((s["id"] for s in data("transcribe")["segments"]), diarization["labels"]))
    prints = {s["id"]: np.asarray(s["embedding"]) for s in diarization["speakers"]}
    own, other, closest, lines = [], [], 0, 0
    f0s: dict[str, list[float]] = {}
    for line in data(f"synthesize.{market}")["lines"]:
        samples, rate = read_wav(work / line["clip"])
        vector = D.embed(to_mono(samples), rate)
        sims = {sid: float(vector @ p / (np.linalg.norm(p) + 1e-9)) for sid, p in prints.items()}
        mine = speaker_of[line["id"]]
        others = [v for k, v in sims.items() if k != mine]
        own.append(sims[mine])
        if others:
            other.append(max(others))
        closest += not others or sims[mine] > max(others)
        lines += 1
        f0 = D.median_f0(to_mono(samples), rate)
        if f0 > 0:
            f0s.setdefault(mine, []).append(f0)
    return {"lines": lines, "closest_to_own": round(closest / max(lines, 1), 3),
            "mean_own": round(float(np.mean(own)), 3) if own else None,
            "mean_best_other": round(float(np.mean(other)), 3) if other else None,
            "dub_f0_hz": {s["id"]: {"gender": s["gender"], "actor": s["f0_median_hz"],
                                    "dub": round(float(np.median(f0s[s["id"]])), 1) if f0s.get(s["id"]) else None}
                          for s in diarization["speakers"]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/localize-bench-speakers"))
    parser.add_argument("--episodes", default="episode01,episode02")
    parser.add_argument("--transcribed", action="store_true", help="also diarize Whisper's segments")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--dub", type=Path, metavar="OUT",
                        help="instead: score the dubbed lines of every episode localized into OUT")
    parser.add_argument("--market", default="en-US")
    parser.add_argument("--pipeline", type=Path, metavar="OUT",
                        help="instead: diarize the transcripts and separated stems of the episodes run into OUT")
    args = parser.parse_args(argv)
    if args.pipeline:
        # The pipeline's own input: its transcript's segments on its separated dialogue stem.
        from localize.audio import read_wav, to_mono
        from localize.model import Segment

        for transcript in sorted(args.pipeline.glob(".localize-work/*/transcribe.json")):
            name = transcript.parent.name.rsplit("-", 1)[0]
            truth_path = episode(args.cache, name)
            lines = json.loads(truth_path.read_text(encoding="utf-8"))["lines"]
            stems = sorted(transcript.parent.glob("dialogue.*.16k.wav"))
            if not stems:
                continue
            samples, rate = read_wav(stems[0])
            segments = [Segment(id=s["id"], start_ms=s["start_ms"], end_ms=s["end_ms"], source_text=s["source_text"])
                        for s in json.loads(transcript.read_text(encoding="utf-8"))["data"]["segments"]]
            row = measure(name, segments, lines, to_mono(samples), rate)
            print(f"{name} pipeline segments={row['segments']:3d} purity={row['purity']:.3f} "
                  f"coverage={row['coverage']:.3f} speakers={row['speakers_found']}/{row['speakers_true']}")
            for s in row["speakers"]:
                print(f"    {s['id']}: {s['truth']} x{s['segments']} F0 {s['f0_median_hz']} Hz -> {s['gender']}")
        return 0
    if args.dub:
        for work in sorted(args.dub.glob(".localize-work/*/diarize.json")):
            if (work.parent / f"synthesize.{args.market}.json").exists():
                print(work.parent.name, dub_similarity(work.parent, args.market))
        return 0

    rows = []
    for name in args.episodes.split(","):
        truth_path = episode(args.cache, name)
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        samples, rate = dialogue_16k(truth_path)
        runs = [("truth", truth_segments(truth["lines"]))]
        if args.transcribed:
            runs.append(("whisper", transcribed_segments(samples, rate, args.cache, truth["duration_ms"])))
        for kind, segments in runs:
            row = {"segmentation": kind, **measure(name, segments, truth["lines"], samples, rate)}
            rows.append(row)
            print(f"{name} {kind:8s} segments={row['segments']:3d} purity={row['purity']:.3f} "
                  f"coverage={row['coverage']:.3f} speakers={row['speakers_found']}/{row['speakers_true']} "
                  f"({row['seconds']} s)")
            for s in row["speakers"]:
                print(f"    {s['id']}: {s['truth']} x{s['segments']} F0 {s['f0_median_hz']} Hz -> {s['gender']}")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
