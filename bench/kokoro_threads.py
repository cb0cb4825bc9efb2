"""Benchmark Kokoro's onnxruntime threads with and without spinning, alone and beside an x264 encode.

A later market's voices are synthesized while that market's picture is encoded by x264 in the
background (burned subtitles). onnxruntime's idle intra-op threads busy-wait by default; on a
2-core machine they then take CPU from the encoder. This speaks the same Spanish lines with
spinning on and off, each on an idle machine and beside a continuous x264 encode (a harsher case
than the pipeline's, whose encode ends), alternating the settings so drift hits both, and prints
Kokoro's wall and CPU seconds. Figures are only comparable within one run.

    .venv/bin/python bench/kokoro_threads.py [--rounds 2] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time

LINES = [
    "¿Qué estás haciendo aquí a estas horas de la noche?",
    "No me importa lo que digan los demás, yo confío en ti.",
    "Señor presidente, la reunión empieza en cinco minutos.",
    "¡Déjame en paz! Ya no quiero hablar contigo.",
    "Mañana firmaremos el contrato con la empresa del señor Li.",
    "Lo siento, fue mi culpa. Te lo compensaré.",
]


def speak_all(backend, voice, locale) -> dict:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    speech_s = 0.0
    for line in LINES * 2:
        speech = backend.synthesize(line, voice, locale)
        speech_s += len(speech.samples) / speech.rate
    return {"wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0, "speech_s": speech_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()

    from localize.locales import get_locale
    from localize.stages.synthesize.kokoro import KokoroBackend

    locale = get_locale("es-MX")
    backends = {spinning: KokoroBackend(spinning=spinning) for spinning in (True, False)}
    voice = backends[False].voices()[0]
    for backend in backends.values():
        backend.synthesize("Hola.", voice, locale)  # load the session outside the timing
    results: dict[str, list[dict]] = {}
    for machine in ("idle", "beside x264"):
        encoder = None
        if machine != "idle":
            encoder = subprocess.Popen(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=720x1280:rate=30",
                                        "-t", "3600", "-c:v", "libx264", "-preset", "veryfast", "-f", "null", "-"])
            time.sleep(1)
        try:
            for _ in range(args.rounds):
                for spinning, backend in backends.items():
                    key = f"{machine}, spinning {'on' if spinning else 'off'}"
                    results.setdefault(key, []).append(speak_all(backend, voice, locale))
        finally:
            if encoder is not None:
                encoder.kill()
                encoder.wait()
    summary = {key: {"wall_s": round(statistics.median(r["wall"] for r in runs), 2),
                     "cpu_s": round(statistics.median(r["cpu"] for r in runs), 2),
                     "speech_s": round(runs[0]["speech_s"], 1)} for key, runs in results.items()}
    for key, row in summary.items():
        print(f"{key:28s} wall {row['wall_s']:6.2f} s  cpu {row['cpu_s']:6.2f} s  ({row['speech_s']} s of speech)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)


if __name__ == "__main__":
    main()
