"""Benchmark dub sync: do the dubbed words land where the actor spoke the line?

Runs the pipeline on a generated sample episode (``samples/episode01.yaml`` by default) to the
dub, transcribes the dub alone (``--keep-stems``' dialogue stem) with faster-whisper word
timestamps (Whisper base, the embedded model), aligns the words to the translated lines, and
reports:

* the share of English words inside their source line's time window +-0.5 s (target >= 90 %),
  over the words matched to a line's text (the rest are ASR errors; their share is given too);
* the share of lines time-stretched above 1.1x (target <= 10 %);
* the TTS speed distribution, the borrowed silence and the lines that did not fit.

    /tmp/venv/bin/python bench/sync.py [--script samples/episode01.yaml] [--market en-US]
        [--cache /tmp/localize-bench-sync] [--voice kokoro] [--speedup 1.6] [--json out.json]

The episode and the analysis stages are cached in ``--cache``; a rerun redoes only what changed.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE_S = 0.5
STRETCH_LIMIT = 1.1


def normalise(word: str) -> str:
    """Lower-case letters and digits only (``Gu's`` -> ``gus``), for matching ASR to the script."""
    return re.sub(r"[^a-z0-9]", "", word.lower())


def line_words(segments: list[dict]) -> list[tuple[str, int]]:
    """Each script word (normalised, empty ones dropped) with the index of its line."""
    out = []
    for index, seg in enumerate(segments):
        for word in seg["text"].split():
            if normalise(word):
                out.append((normalise(word), index))
    return out


def align_words(heard: list[dict], segments: list[dict]) -> list[dict]:
    """Match transcribed words (``word``, ``start``, ``end`` in s) to the script's words in order.

    Returns one entry per heard word: its line index (None when it matched no script word),
    and whether it lies inside that line's window +-:data:`TOLERANCE_S`.
    """
    script = line_words(segments)
    heard_norm = [normalise(w["word"]) for w in heard]
    matcher = difflib.SequenceMatcher(a=heard_norm, b=[w for w, _ in script], autojunk=False)
    line_of: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            line_of[block.a + k] = script[block.b + k][1]
    out = []
    for i, word in enumerate(heard):
        index = line_of.get(i) if heard_norm[i] else None
        inside = None
        if index is not None:
            seg = segments[index]
            inside = bool(word["start"] >= seg["start"] - TOLERANCE_S and word["end"] <= seg["end"] + TOLERANCE_S)
        out.append({**word, "line": index, "inside": inside})
    return out


def transcribe_words(dub_wav: Path, language: str) -> list[dict]:
    """Whisper base word timestamps on the dub alone."""
    from faster_whisper import WhisperModel

    from localize.audio import read_wav, resample, to_mono
    from localize.models import whisper_base

    samples, rate = read_wav(dub_wav)
    audio = resample(to_mono(samples), rate, 16000)
    model = WhisperModel(str(whisper_base()), device="cpu", compute_type="int8", cpu_threads=2)
    segments, _info = model.transcribe(audio, language=language, word_timestamps=True, beam_size=5,
                                       condition_on_previous_text=False, vad_filter=True)
    return [{"word": w.word.strip(), "start": round(float(w.start), 3), "end": round(float(w.end), 3)}
            for seg in segments for w in (seg.words or [])]


def summarise(report: dict, words: list[dict]) -> dict:
    """The sync figures from the pipeline report's segments and the aligned words."""
    segments = report["segments"]
    matched = [w for w in words if w["line"] is not None]
    inside = sum(1 for w in matched if w["inside"])
    speeds = [s["speed"] for s in segments]
    stretches = [s["stretch"] for s in segments]
    borrowed = [s.get("borrowed_ms", [0, 0]) for s in segments]
    gains = [s.get("gain_db") for s in segments if s.get("gain_db") is not None]
    per_line = []
    for index, seg in enumerate(segments):
        mine = [w for w in matched if w["line"] == index]
        per_line.append({"id": seg["id"], "start": seg["start"], "end": seg["end"], "speed": seg["speed"],
                         "stretch": seg["stretch"], "borrowed_ms": seg.get("borrowed_ms"), "fits": seg["fits"],
                         "energy_db": seg.get("energy_db"), "gain_db": seg.get("gain_db"), "words": len(mine),
                         "inside": sum(1 for w in mine if w["inside"]), "text": seg["text"]})
    return {
        "lines": len(segments),
        "words_heard": len(words),
        "words_matched": len(matched),
        "matched_share": round(len(matched) / len(words), 4) if words else 0.0,
        "words_inside_window_pct": round(100 * inside / len(matched), 2) if matched else 0.0,
        "stretch_above_1_1_pct": round(100 * sum(s > STRETCH_LIMIT for s in stretches) / len(segments), 2),
        "speed": {"min": min(speeds), "median": statistics.median(speeds), "mean": round(statistics.mean(speeds), 3),
                  "max": max(speeds), "at_1.0": sum(s == 1.0 for s in speeds),
                  "1.0-1.1": sum(1.0 < s <= 1.1 for s in speeds), "1.1-1.2": sum(1.1 < s <= 1.2 for s in speeds),
                  "above_1.2": sum(s > 1.2 for s in speeds)},
        "stretch": {"max": max(stretches), "lines_stretched": sum(s > 1.0 for s in stretches)},
        "borrowed_lines": sum(1 for b in borrowed if b[0] or b[1]),
        "borrowed_before_ms_max": max((b[0] for b in borrowed), default=0),
        "borrowed_after_ms_max": max((b[1] for b in borrowed), default=0),
        "lines_not_fitting": sum(not s["fits"] for s in segments),
        "gain_db": {"min": min(gains), "max": max(gains)} if gains else None,
        "per_line": per_line,
    }


def episode_for(script: Path, cache: Path, speedup: float = 1.0) -> Path:
    """The generated episode of ``script`` in ``cache``, generating it on first use.

    ``speedup`` > 1 makes the actors talk that much faster (espeak syllables per minute) with
    pauses that much shorter: denser Chinese lines leave the English dub less room, which
    exercises the speed / borrowed-silence / stretch remedies.
    """
    import yaml

    from localize.sample import generate_sample

    name = script.stem if speedup == 1.0 else f"{script.stem}-x{speedup:g}"
    episode = cache / f"{name}.mp4"
    if not episode.exists():
        cache.mkdir(parents=True, exist_ok=True)
        if speedup != 1.0:
            data = yaml.safe_load(script.read_text(encoding="utf-8"))
            for character in data["characters"].values():
                character["speed"] = min(450, round(character.get("speed", 160) * speedup))
                character.pop("word_gap", None)
            data["default_pause_ms"] = round(data.get("default_pause_ms", 700) / speedup)
            for line in data["lines"]:
                if "pause_ms" in line:
                    line["pause_ms"] = round(line["pause_ms"] / speedup)
            script = cache / f"{name}.yaml"
            script.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        generate_sample(cache, script, name=name)
    return episode


def run(episode: Path, out: Path, market: str, voice: str) -> tuple[dict, list[dict], float]:
    """Localize ``episode`` into ``out``; returns the report, the aligned words and the run time."""
    from localize.locales import get_locale
    from localize.pipeline import PipelineOptions, load_report, localize_episode

    started = time.perf_counter()
    report_path = localize_episode(episode, [market], out, PipelineOptions(voice_backend=voice, keep_stems=True))[0]
    seconds = time.perf_counter() - started
    report = load_report(report_path)
    dub = out / f"{episode.stem}.{market}.dialogue.wav"
    words = align_words(transcribe_words(dub, get_locale(market).language), report["segments"])
    return report, words, seconds


def print_table(name: str, figures: dict) -> None:
    print(f"\n{name}: {figures['lines']} lines, {figures['words_heard']} words heard, "
          f"{figures['words_matched']} matched to the script ({100 * figures['matched_share']:.0f} %)")
    print(f"{'id':>3} {'start':>6} {'end':>6} {'speed':>5} {'strch':>5} {'borrow ms':>10} {'gain':>5} "
          f"{'in/words':>8}  text")
    for line in figures["per_line"]:
        borrow = "{}/{}".format(*line["borrowed_ms"]) if line["borrowed_ms"] else "-"
        gain = f"{line['gain_db']:+.1f}" if line["gain_db"] is not None else "-"
        print(f"{line['id']:>3} {line['start']:>6.2f} {line['end']:>6.2f} {line['speed']:>5.2f} "
              f"{line['stretch']:>5.2f} {borrow:>10} {gain:>5} {line['inside']:>3}/{line['words']:<4}  "
              f"{line['text'][:60]}")
    speed = figures["speed"]
    print(f"\nwords inside their line's window +-{TOLERANCE_S} s: {figures['words_inside_window_pct']:.1f} % "
          f"(target >= 90 %)")
    print(f"lines stretched above {STRETCH_LIMIT}x: {figures['stretch_above_1_1_pct']:.1f} % (target <= 10 %); "
          f"max stretch {figures['stretch']['max']}")
    print(f"TTS speed: min {speed['min']} median {speed['median']} mean {speed['mean']} max {speed['max']}; "
          f"1.0: {speed['at_1.0']}, (1.0,1.1]: {speed['1.0-1.1']}, (1.1,1.2]: {speed['1.1-1.2']}, "
          f">1.2: {speed['above_1.2']}")
    print(f"borrowed silence on {figures['borrowed_lines']} lines (max {figures['borrowed_before_ms_max']} ms "
          f"before, {figures['borrowed_after_ms_max']} ms after); {figures['lines_not_fitting']} lines did not fit")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--script", type=Path, default=ROOT / "samples" / "episode01.yaml")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/localize-bench-sync"))
    parser.add_argument("--market", default="en-US")
    parser.add_argument("--voice", default="kokoro")
    parser.add_argument("--speedup", type=float, default=1.0,
                        help="generate the episode with the actors talking this much faster (stress test)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    episode = episode_for(args.script, args.cache, args.speedup)
    report, words, seconds = run(episode, args.cache / "out", args.market, args.voice)
    figures = summarise(report, words)
    figures.update(episode=episode.stem, speedup=args.speedup, market=args.market, voice=report["backends"]["voice"],
                   pipeline_seconds=round(seconds, 1), words=words)
    print_table(episode.stem, figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
