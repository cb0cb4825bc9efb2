"""DNSMOS naturalness and speaking rate of every voice we ship, per language, on the same lines.

For each (backend, language) pair the lines of ``bench/data/market_lines.tsv`` (English: the
first lines of tests/data/translation_eval.zh-en.tsv's references; Thai, Arabic, Vietnamese,
Indonesian, Spanish, Portuguese: translations of the same lines written for this bench) are spoken
at speed 1.0 by one male and one female voice. Reported per pair: DNSMOS overall / signal / P.808
(speechmos's ONNX models, :mod:`localize.stages.synthesize.dnsmos`, one 9 s window of each line
repeated, as the pipeline's naturalness stage scores a line), and characters per second
(:func:`localize.locales.speech_length` of the line over the trimmed clip, the slower voice's rate,
as Locale.chars_per_second is defined and the translation budgets count). English lines (Kokoro
and espeak-ng) are also scored after voice matching (``match_voice``, the change the pipeline makes
to every line) toward stand-in "actors": espeak-ng's m1 and f2 reading the same lines.

    PYTHONPATH=src python bench/naturalness.py [--json out.json] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from localize.locales import get_locale, speech_length  # noqa: E402
from localize.stages.synthesize import VOICES, Voice  # noqa: E402
from localize.stages.synthesize.dnsmos import score  # noqa: E402

PAIRS = [("kokoro", "en-US"), ("espeak", "en-US"), ("kokoro", "es-MX"), ("kokoro", "pt-BR"),
         ("espeak", "id-ID"), ("espeak", "th-TH"), ("espeak", "ar-SA"), ("espeak", "vi-VN")]


def lines_by_locale(limit: int) -> dict[str, list[str]]:
    with open(ROOT / "bench" / "data" / "market_lines.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t"))
    return {tag: [row[tag] for row in rows[:limit]] for tag in rows[0] if tag != "zh"}


def run_pair(backend_name: str, tag: str, lines: list[str], match_to=None) -> dict:
    from localize.stages.synthesize.convert import match_voice

    backend = VOICES.create(backend_name)
    locale = get_locale(tag)
    males = [v for v in backend.voices() if v.gender == "male"][:1]
    females = [v for v in backend.voices() if v.gender == "female"][:1]
    rows = {}
    for voice in males + females:
        scores, chars, seconds, matched = [], 0, 0.0, []
        for text in lines:
            speech = backend.synthesize(text, voice, locale)
            scores.append(score(speech.samples, speech.rate, windows=1))
            chars += speech_length(text)
            seconds += len(speech.samples) / speech.rate
            if match_to is not None:
                matched.append(score(match_voice(speech, match_to[voice.gender]).samples, speech.rate, windows=1))
        row = {"voice": voice.label, "chars_per_second": round(chars / seconds, 2),
               "dnsmos_overall": round(float(np.mean([s.overall for s in scores])), 2),
               "dnsmos_signal": round(float(np.mean([s.signal for s in scores])), 2),
               "p808": round(float(np.mean([s.p808 for s in scores])), 2)}
        if matched:
            row["dnsmos_overall_matched"] = round(float(np.mean([s.overall for s in matched])), 2)
        rows[voice.label] = row
    backend.close()
    return {"backend": backend_name, "locale": tag, "voices": list(rows.values()),
            "chars_per_second": min(r["chars_per_second"] for r in rows.values())}


def actor_profiles(lines: list[str]):
    """Stand-in actors: espeak-ng's other-gender voice reading the lines (a different timbre and pitch)."""
    from localize.stages.synthesize.convert import actor_profile

    espeak, locale = VOICES.create("espeak"), get_locale("en-US")
    out = {}
    for gender, variant in (("male", "m1"), ("female", "f2")):
        audio = [espeak.synthesize(t, Voice("espeak", variant, gender), locale) for t in lines]
        out[gender] = actor_profile(np.concatenate([a.samples for a in audio]), audio[0].rate)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=12)
    args = parser.parse_args()
    lines = lines_by_locale(args.limit)
    results, actors = [], None
    for backend, tag in PAIRS:
        if tag == "en-US" and actors is None:
            actors = actor_profiles(lines[tag])
        match_to = actors if tag == "en-US" else None
        result = run_pair(backend, tag, lines[tag], match_to)
        results.append(result)
        for row in result["voices"]:
            extra = f"  matched {row['dnsmos_overall_matched']:.2f}" if "dnsmos_overall_matched" in row else ""
            print(f"{backend:7s} {tag:6s} {row['voice']:28s} {row['chars_per_second']:6.2f} chars/s  DNSMOS "
                  f"{row['dnsmos_overall']:.2f} (sig {row['dnsmos_signal']:.2f}, P.808 {row['p808']:.2f}){extra}",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
