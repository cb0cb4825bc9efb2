"""Benchmark voice choice and voice matching: how close is each dubbed line to its original actor?

For each generated sample episode (in series order, sharing one voice cast), the speakers are
diarized on the truth lines of the clean dialogue stem, cast through ``localize.stages.cast`` (actor
profiles measured from their lines, voices chosen by similarity), and every line's English text
is spoken by Kokoro and fitted to its slot as the pipeline does. Each dub line is scored BEFORE
and AFTER voice matching (``localize.stages.synthesize.convert.match_voice``):

- Resemblyzer cosine similarity of the line to every original speaker's voice print (the
  diarizer's centroid of that speaker's original lines): the share of lines closest to their
  own speaker (target >= 90 %), the mean similarity to their own and to the best other speaker;
- the median F0 of the dub lines of male and of female characters (male must be clearly lower).

It also checks that each character keeps one voice across the episodes, and with ``--asr`` that
matching keeps the words (Whisper base word error rate of the lines before and after). Writes
JSON, prints a table.

    /tmp/venv/bin/python bench/voices.py [--cache /tmp/localize-bench-speakers]
        [--episodes episode01,episode02] [--json voices.json] [--limit N] [--asr]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from speakers import dialogue_16k, episode, truth_segments  # noqa: E402  (after the path entry)


def score_clip(samples: np.ndarray, rate: int, prints: dict[str, np.ndarray]) -> dict[str, float]:
    """Cosine similarity of a clip's Resemblyzer embedding to each voice print."""
    from localize.stages import diarize as D

    vector = D.embed(samples, rate)
    return {sid: round(float(vector @ p / (np.linalg.norm(p) + 1e-9)), 4) for sid, p in prints.items()}


def dub_f0(samples: np.ndarray, rate: int) -> float:
    from localize.audio import resample
    from localize.stages import diarize as D

    return round(D.median_f0(resample(samples, rate, 16000), 16000), 1)


_WHISPER: list = []


def asr_wer(samples: np.ndarray, rate: int, text: str) -> float:
    """Word error rate of Whisper base (English) on a clip against its text."""
    from localize.audio import resample
    from localize.metrics import wer

    if not _WHISPER:
        from faster_whisper import WhisperModel

        from localize.models import whisper_base

        _WHISPER.append(WhisperModel(str(whisper_base()), device="cpu", compute_type="int8", cpu_threads=2))
    segments, _ = _WHISPER[0].transcribe(resample(samples, rate, 16000), language="en", beam_size=1)
    return round(wer(text, " ".join(s.text for s in segments)), 4)


def run_episode(name: str, truth_path: Path, cast_file: Path, backend, limit: int | None,
                asr: bool = False, choice: str = "similarity") -> dict:
    from localize.stages import cast as C
    from localize.locales import get_locale
    from localize.stages import diarize as D
    from localize.stages.synthesize import fit as F
    from localize.stages.synthesize.convert import match_voice, profile_from_spans

    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    samples, rate = dialogue_16k(truth_path)
    segments = truth_segments(truth["lines"])
    started = time.perf_counter()
    diarization = D.diarize(segments, samples, rate)
    for segment, label in zip(segments, diarization.labels):
        segment.speaker = label
    who = {label: line["speaker"] for label, line in zip(diarization.labels, truth["lines"])}
    audio = C.SpeakerAudio(samples=samples, rate=rate, spans={})
    for segment in segments:
        audio.spans.setdefault(segment.speaker, []).append((segment.start_ms, segment.end_ms))
    if choice == "similarity":  # what the pipeline does
        cast = C.cast_episode(cast_file, "bench", name, diarization.speakers, backend, audio)
    else:  # baselines: voices by pitch alone (no actor audio to cast with), or in plain casting order
        cast = C.cast_episode(cast_file, "bench", name, diarization.speakers, backend)
        if choice == "order":
            from localize.stages.synthesize import assign_voices

            cast.voices = assign_voices([(s.id, s.gender) for s in diarization.speakers], backend)
        cast.profiles = {s.id: profile_from_spans(samples, rate, audio.spans[s.id], s.f0_median_hz)
                         for s in diarization.speakers}
    cast_seconds = time.perf_counter() - started
    prints = {s.id: np.asarray(s.embedding) for s in diarization.speakers}
    locale = get_locale("en-US")
    lines, prev_end = [], 0
    count = len(truth["lines"]) if limit is None else min(limit, len(truth["lines"]))
    for index in range(count):
        line = truth["lines"][index]
        sid = diarization.labels[index]
        next_start = truth["lines"][index + 1]["start_ms"] if index + 1 < len(truth["lines"]) else truth["duration_ms"]
        slot = F.plan_slot(line["start_ms"], line["end_ms"], prev_end, next_start)
        fitted = F.fit_to_slot(backend, line["en"], cast.voices[sid], locale, slot)
        prev_end = fitted.start_ms + fitted.duration_ms
        before = fitted.speech
        profile = cast.profiles.get(sid)
        t0 = time.perf_counter()
        after = match_voice(before, profile) if profile else before
        match_seconds = time.perf_counter() - t0
        assert len(after.samples) == len(before.samples)
        row = {"id": line["id"], "speaker": sid, "character": who[sid], "voice": cast.voices[sid].label,
               "duration_ms": before.duration_ms, "match_s": round(match_seconds, 3)}
        for tag, speech in (("before", before), ("after", after)):
            sims = score_clip(speech.samples, speech.rate, prints)
            others = [v for k, v in sims.items() if k != sid]
            row[tag] = {"similarity": sims, "own": sims[sid], "best_other": max(others) if others else None,
                        "closest_own": not others or sims[sid] > max(others),
                        "f0_hz": dub_f0(speech.samples, speech.rate)}
            if asr:
                row[tag]["wer"] = asr_wer(speech.samples, speech.rate, line["en"])
        lines.append(row)
    speakers = [{"id": s.id, "character": who[s.id], "gender": s.gender, "actor_f0_hz": s.f0_median_hz,
                 "segments": s.segments, "voice": cast.voices[s.id].label, "cast_as": cast.characters[s.id],
                 "profile_f0_hz": round(cast.profiles[s.id].f0_median_hz, 1) if cast.profiles.get(s.id) else None}
                for s in diarization.speakers]
    return {"episode": name, "cast_seconds": round(cast_seconds, 1), "speakers": speakers, "lines": lines}


def summary(lines: list[dict], genders: dict[str, str]) -> dict:
    out = {"lines": len(lines)}
    for tag in ("before", "after"):
        rows = [line[tag] for line in lines]
        f0 = {g: [r["f0_hz"] for line, r in zip(lines, rows) if genders[line["character"]] == g and r["f0_hz"] > 0]
              for g in ("male", "female")}
        out[tag] = {"closest_own": round(float(np.mean([r["closest_own"] for r in rows])), 3),
                    "mean_own": round(float(np.mean([r["own"] for r in rows])), 3),
                    "mean_best_other": round(float(np.mean([r["best_other"] for r in rows
                                                            if r["best_other"] is not None])), 3),
                    "wer": round(float(np.mean([r["wer"] for r in rows])), 4) if rows and "wer" in rows[0] else None,
                    "male_f0_hz": round(float(np.median(f0["male"])), 1) if f0["male"] else None,
                    "female_f0_hz": round(float(np.median(f0["female"])), 1) if f0["female"] else None}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/localize-bench-speakers"))
    parser.add_argument("--episodes", default="episode01,episode02")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N lines of each episode")
    parser.add_argument("--asr", action="store_true", help="also Whisper WER of each line before and after")
    parser.add_argument("--choice", choices=("similarity", "pitch", "order"), default="similarity",
                        help="how voices are chosen: the pipeline's (similarity to the matched actor), by pitch "
                             "alone, or in plain casting order (the old behaviour); matching is the same")
    args = parser.parse_args(argv)

    from localize.stages import cast as C
    from localize.stages.synthesize import VOICES

    backend = VOICES.create("kokoro")
    episodes = []
    with tempfile.TemporaryDirectory(prefix="localize-bench-voices-") as tmp:
        cast_file = Path(tmp) / "voices" / "bench.yaml"
        for name in args.episodes.split(","):
            truth_path = episode(args.cache, name)
            episodes.append(run_episode(name, truth_path, cast_file, backend, args.limit, args.asr, args.choice))
        cast = C.load(cast_file, "bench")
    backend.close()

    genders: dict[str, str] = {}
    for ep in episodes:
        truth = json.loads(episode(args.cache, ep["episode"]).read_text(encoding="utf-8"))
        genders.update({name: c["gender"] for name, c in truth["characters"].items()})
    voice_of: dict[str, set[str]] = {}
    for ep in episodes:
        for s in ep["speakers"]:
            voice_of.setdefault(s["character"], set()).add(s["voice"])
    result = {"choice": args.choice, "episodes": [{k: v for k, v in ep.items()} | {"summary": summary(ep["lines"], genders)}
                           for ep in episodes],
              "all": summary([line for ep in episodes for line in ep["lines"]], genders),
              "same_voice_across_episodes": all(len(v) == 1 for v in voice_of.values()),
              "voices": {k: sorted(v) for k, v in voice_of.items()},
              "cast": [{"name": c.name, "gender": c.gender, "f0_median_hz": c.f0_median_hz,
                        "voice": c.voices["kokoro"].name, "pitch": c.voices["kokoro"].pitch} for c in cast.characters]}

    print(f"{'episode':10s} {'lines':>5s}  {'closest to own':>15s}  {'mean sim own':>13s}  "
          f"{'best other':>11s}  {'male F0':>13s}  {'female F0':>13s}")
    print(f"{'':10s} {'':>5s}  {'before  after':>15s}  {'before after':>13s}  {'bef.  aft.':>11s}  "
          f"{'before after':>13s}  {'before after':>13s}")
    for label, s in [(ep["episode"], ep["summary"]) for ep in result["episodes"]] + [("all", result["all"])]:
        b, a = s["before"], s["after"]
        print(f"{label:10s} {s['lines']:5d}  {b['closest_own']:6.1%}  {a['closest_own']:6.1%}  "
              f"{b['mean_own']:6.3f} {a['mean_own']:6.3f}  {b['mean_best_other']:5.3f} {a['mean_best_other']:5.3f}  "
              f"{b['male_f0_hz'] or 0:6.1f} {a['male_f0_hz'] or 0:6.1f}  {b['female_f0_hz'] or 0:6.1f} "
              f"{a['female_f0_hz'] or 0:6.1f}")
    for ep in result["episodes"]:
        for s in ep["speakers"]:
            mine = [line for line in ep["lines"] if line["speaker"] == s["id"]]
            own_b = np.mean([line["before"]["own"] for line in mine]) if mine else float("nan")
            own_a = np.mean([line["after"]["own"] for line in mine]) if mine else float("nan")
            f0_a = np.median([line["after"]["f0_hz"] for line in mine]) if mine else float("nan")
            print(f"  {ep['episode']} {s['id']} {s['character']} ({s['gender']}, actor {s['actor_f0_hz']} Hz) "
                  f"-> {s['cast_as']} {s['voice']}: own sim {own_b:.3f} -> {own_a:.3f}, dub F0 {f0_a:.0f} Hz")
    if result["all"]["before"]["wer"] is not None:
        print(f"Whisper WER of the dub lines: before {result['all']['before']['wer']:.3f}, "
              f"after {result['all']['after']['wer']:.3f}")
    print(f"same voice across episodes: {result['same_voice_across_episodes']}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
