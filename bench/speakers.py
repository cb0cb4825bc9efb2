"""Benchmark speaker diarization on generated episodes whose speakers are known.

The main figures come from episodes drawn by seed (``localize sample --seed N``): a fixed list of
development seeds to tune on and a separate fixed list of evaluation seeds to report on. Each
episode's audio is rendered once into ``--cache`` (no video: the picture plays no part), the
dialogue + music mix goes through the pipeline's default separator (``dfn-repet``), and the
diarizer sees that separated dialogue stem at the truth lines' times, exactly as in the pipeline
(``--input dialogue`` feeds the true dialogue stem instead). Scores are pyannote.metrics' DER,
purity and coverage (time-weighted), the speaker count, and the confused gender pairs.

    python bench/speakers.py --set eval [--set dev] [--input separated|dialogue] [--json out.json]
    python bench/speakers.py --episodes episode01,episode02 [--transcribed]   # the repository's scripts
    python bench/speakers.py --pipeline OUT   # on a real run's segments and separated stem
    python bench/speakers.py --dub OUT [--market en-US]   # dub vs. original voice
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Tune on these only. The evaluation seeds are never looked at one by one while developing.
DEV_SEEDS = list(range(101, 113))
EVAL_SEEDS = list(range(9001, 9025))
SEPARATOR = "dfn-repet"  # the pipeline's default


def drawn_episode(cache: Path, seed: int, kind: str) -> tuple[Path, Path]:
    """(truth JSON, 16 kHz mono stem) of the episode drawn from ``seed``, rendered on first use.

    ``kind`` is ``dialogue`` (the true dialogue stem) or ``separated`` (the default separator's
    dialogue stem from the dialogue + music mix, which is what the pipeline diarizes).
    """
    from localize.audio import resample, to_mono, write_wav
    from localize.sample.draw import draw_script
    from localize.sample.generator import RATE, mix_stems, render_audio

    folder = cache / f"seed{seed}"
    truth_path, stem = folder / "truth.json", folder / f"{kind}.16k.wav"
    if not truth_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        script = draw_script(seed)
        audio = render_audio(script)
        mono = to_mono(audio.dialogue.astype("float32") / 32768)
        write_wav(folder / "dialogue.16k.wav", resample(mono, RATE, 16000), 16000)
        mix = mix_stems(audio.dialogue, audio.music).astype("float32") / 32768
        write_wav(folder / "mix.48k.wav", mix, RATE)
        write_wav(folder / "mix.16k.wav", resample(to_mono(mix), RATE, 16000), 16000)
        truth = {"seed": seed, "music_below_db": script.music_below_db, "duration_ms": audio.duration_ms,
                 "characters": {c.name: {"gender": c.gender, "variant": c.variant, "pitch": c.pitch,
                                         "speed": c.speed} for c in script.characters.values()},
                 "lines": [{"id": p.index, "start_ms": p.start_ms, "end_ms": p.end_ms, "speaker": p.line.speaker,
                            "zh": p.line.zh} for p in audio.placed]}
        truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    if not stem.exists():
        from localize.stages.separate import SEPARATORS

        stems = SEPARATORS.create(SEPARATOR).separate(folder / "mix.48k.wav", folder / "mix.16k.wav", folder)
        from localize.audio import read_wav

        samples, rate = read_wav(folder / stems.dialogue)
        write_wav(stem, resample(to_mono(samples), rate, 16000), 16000)
    return truth_path, stem


def suite(cache: Path, name: str, seeds: list[int], kind: str) -> list[dict]:
    """Diarize every drawn episode of one seed list at its truth lines' times; print a row each."""
    from localize.audio import read_wav, to_mono

    rows = []
    for seed in seeds:
        truth_path, stem = drawn_episode(cache, seed, kind)
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        samples, rate = read_wav(stem)
        genders = {n: c["gender"] for n, c in truth["characters"].items()}
        row = {"set": name, "seed": seed, **measure(f"seed{seed}", truth_segments(truth["lines"]), truth["lines"],
                                                    to_mono(samples), rate, genders)}
        pairs = "".join(sorted(g[0] for g in genders.values()))
        row["cast"] = pairs
        rows.append(row)
        print(f"{name} seed {seed:5d} cast {pairs:6s} lines={row['segments']:3d} "
              f"speakers={row['speakers_found']}/{row['speakers_true']} purity={row['purity']:.3f} "
              f"coverage={row['coverage']:.3f} DER={row['der']:.3f} ({row['seconds']} s) {row['confusion'] or ''}",
              flush=True)
    return rows


def seed_features(cache: Path, seed: int, kind: str):
    """(line features, truth speakers) of a drawn episode; the features are kept in the cache."""
    import pickle

    from localize.audio import read_wav, to_mono
    from localize.stages.diarize.features import line_features

    truth_path, stem = drawn_episode(cache, seed, kind)
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    kept = truth_path.with_name(f"features.{kind}.pkl")
    if kept.exists():
        lines = pickle.loads(kept.read_bytes())
    else:
        samples, rate = read_wav(stem)
        lines = line_features(truth_segments(truth["lines"]), to_mono(samples), rate)
        kept.write_bytes(pickle.dumps(lines))
    return lines, [line["speaker"] for line in truth["lines"]]


def fit(cache: Path, seeds: list[int], kind: str) -> None:
    """Fit the pair model (clustering.PAIR_BIAS/PAIR_WEIGHTS) on ``seeds`` and show what clustering
    with it gives there. Only ever run on the development seeds."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from localize.stages.diarize import clustering as C

    episodes = [seed_features(cache, seed, kind) for seed in seeds]
    xs, ys, ws = [], [], []
    for lines, truth in episodes:
        features = C.pair_features(lines)
        upper = np.triu_indices(len(lines), 1)
        same = np.array(truth)[:, None] == np.array(truth)[None, :]
        xs.append(features[upper])
        ys.append(same[upper])
        ws.append(np.full(len(upper[0]), 1.0 / len(upper[0])))  # every episode weighs the same
    model = LogisticRegression(C=10.0, max_iter=2000)
    model.fit(np.concatenate(xs), np.concatenate(ys), sample_weight=np.concatenate(ws) * len(episodes))
    print("PAIR_BIAS =", round(float(model.intercept_[0]), 3))
    print("PAIR_WEIGHTS =", dict(zip(C.FEATURES, np.round(model.coef_[0], 3).tolist())))
    C.PAIR_BIAS, C.PAIR_WEIGHTS = float(model.intercept_[0]), model.coef_[0]
    from localize.stages.diarize.scoring import score

    def lines_of(seed: int) -> list[dict]:
        return json.loads(drawn_episode(cache, seed, kind)[0].read_text(encoding="utf-8"))["lines"]

    segments = {seed: truth_segments(lines_of(seed)) for seed in seeds}
    chosen = C.MERGE_LOGIT
    for merge in (-1.0, -0.5, 0.0, 0.5, 1.0):
        C.MERGE_LOGIT = merge
        found = [score(segments[seed], [str(x) for x in C.cluster(lines)[0]], truth)
                 for seed, (lines, truth) in zip(seeds, episodes)]
        exact = np.mean([f.speakers_found == f.speakers_true for f in found])
        print(f"MERGE_LOGIT {merge:+.1f}: count exact {exact:.2f} "
              f"purity {np.mean([f.purity for f in found]):.3f} coverage {np.mean([f.coverage for f in found]):.3f} "
              f"DER {np.mean([f.der for f in found]):.3f}")
    C.MERGE_LOGIT = chosen
    for seed, (lines, truth) in zip(seeds, episodes):
        labels, sure = C.cluster(lines)
        found = score(segments[seed], [str(x) for x in labels], truth)
        print(seed, f"found {found.speakers_found}/{found.speakers_true} purity {found.purity:.3f} "
              f"coverage {found.coverage:.3f} DER {found.der:.3f}", "".join(str(x) for x in labels),
              "sure(min)", round(float(sure.min()), 2), flush=True)


def summary(rows: list[dict]) -> dict:
    """Means over one seed list, the share with the exact count, and the confusion summed by gender pair."""
    import numpy as np

    confusion: dict[str, float] = {}
    for row in rows:
        for pair, seconds in row["confusion"].items():
            confusion[pair] = round(confusion.get(pair, 0.0) + seconds, 2)
    return {"episodes": len(rows), "count_exact": round(float(np.mean([r["speakers_found"] == r["speakers_true"]
                                                                      for r in rows])), 3),
            "purity": round(float(np.mean([r["purity"] for r in rows])), 4),
            "coverage": round(float(np.mean([r["coverage"] for r in rows])), 4),
            "der": round(float(np.mean([r["der"] for r in rows])), 4),
            "seconds_mean": round(float(np.mean([r["seconds"] for r in rows])), 2),
            "lines": sum(len(r["truth"]) for r in rows), "confused_seconds_by_gender": confusion}


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


def measure(name: str, segments, lines: list[dict], samples, rate: int, genders: dict[str, str] | None = None,
            num_speakers: int | None = None) -> dict:
    from localize.stages import diarize as D
    from localize.stages.diarize.scoring import score

    started = time.perf_counter()
    result = D.diarize(segments, samples, rate, num_speakers)
    seconds = time.perf_counter() - started
    truth = [D.truth_speaker(s.start_ms, s.end_ms, lines) for s in segments]
    found = score(segments, result.labels, truth, genders)
    speakers = []
    for speaker in result.speakers:
        mine = [t for label, t in zip(result.labels, truth) if label == speaker.id]
        speakers.append({"id": speaker.id, "truth": max(set(mine), key=mine.count), "segments": speaker.segments,
                         "f0_median_hz": speaker.f0_median_hz, "gender": speaker.gender})
    return {"episode": name, "segments": len(segments), **dataclasses.asdict(found),
            "seconds": round(seconds, 1), "speakers": speakers,
            "confidence": [round(c, 3) for c in result.confidence], "truth": truth, "labels": result.labels}


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
    parser.add_argument("--set", dest="sets", action="append", choices=("dev", "eval"),
                        help="drawn seed list(s) to run (default: both)")
    parser.add_argument("--seeds", help="instead of --set: comma-separated seeds")
    parser.add_argument("--input", choices=("separated", "dialogue"), default="separated",
                        help="the separated dialogue stem of the mix (as in the pipeline) or the true dialogue stem")
    parser.add_argument("--episodes", help="instead: the repository's scripts, e.g. episode01,episode02")
    parser.add_argument("--transcribed", action="store_true", help="with --episodes: also diarize Whisper's segments")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--fit", action="store_true", help="fit the pair model on the development seeds")
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

    if args.fit:
        fit(args.cache, [int(x) for x in args.seeds.split(",")] if args.seeds else DEV_SEEDS, args.input)
        return 0
    if not args.episodes:
        lists = {"dev": DEV_SEEDS, "eval": EVAL_SEEDS}
        if args.seeds:
            chosen = [("seeds", [int(x) for x in args.seeds.split(",")])]
        else:
            chosen = [(name, lists[name]) for name in (args.sets or ["dev", "eval"])]
        report = {}
        for name, seeds in chosen:
            rows = suite(args.cache, name, seeds, args.input)
            report[name] = {"summary": summary(rows), "episodes": rows}
            print(name, json.dumps(report[name]["summary"]), flush=True)
        if args.json:
            args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
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
            genders = {n: c["gender"] for n, c in truth["characters"].items()}
            row = {"segmentation": kind, **measure(name, segments, truth["lines"], samples, rate, genders)}
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
