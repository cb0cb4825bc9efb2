"""espeak-ng voices: robotic, but fast and available for every market's language."""

from __future__ import annotations

import io
import subprocess
from functools import lru_cache

import numpy as np

from localize.errors import ConfigError, ToolError, UnspeakableText
from localize.locales import Locale
from localize.stages.synthesize.base import VOICES, Speech, Voice, VoiceBackend, check_speed, check_text, trim_silence
from localize.stages.synthesize.phonemes import espeak_binary, speakable

BASE_WPM = 175          # espeak-ng's default rate; speed 1.0 maps to it
BASE_PITCH = 50         # espeak-ng's default -p (0..99)
PITCH_PER_SEMITONE = 6.0  # measured with pyworld: -p 30 / 50 / 70 on m3 gave 85 / 102 / 125 Hz

CAST: tuple[Voice, ...] = (
    Voice("espeak", "m3", "male"),                 # ~100 Hz median F0 (id-ID)
    Voice("espeak", "f3", "female"),               # ~200 Hz
    Voice("espeak", "m1", "male", pitch=-2.0),     # ~80 Hz
    Voice("espeak", "f2", "female", pitch=-2.0),   # ~170 Hz
    Voice("espeak", "m7", "male", pitch=2.0),      # ~115 Hz
    Voice("espeak", "f4", "female", pitch=2.0),    # ~200 Hz, breathier
    Voice("espeak", "f5", "female", pitch=4.0),    # ~250 Hz
)


@lru_cache(maxsize=1)
def installed_voices() -> frozenset[str]:
    """Language voice names espeak-ng knows (``en-us``, ``id``, ``th``...)."""
    proc = subprocess.run([espeak_binary(), "--voices"], capture_output=True, text=True, errors="replace",
                          check=False)
    if proc.returncode != 0:
        raise ToolError(f"espeak-ng --voices failed: {proc.stderr.strip()[:200]}")
    names: set[str] = set()
    for line in proc.stdout.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 4:
            names.add(cols[1].lower())       # the language column
            names.add(cols[3].lower())       # the voice name column
            names.update(tag.strip("()").split()[0].lower() for tag in cols[5:] if tag.startswith("("))
    return frozenset(names)


def espeak_argv(text: str, voice: Voice, locale: Locale, speed: float = 1.0) -> list[str]:
    """The espeak-ng command line that writes ``text`` as WAV to stdout."""
    pitch = round(min(99.0, max(0.0, BASE_PITCH + PITCH_PER_SEMITONE * voice.pitch)))
    wpm = round(BASE_WPM * speed)
    return ["espeak-ng", "-v", f"{locale.espeak_voice}+{voice.name}", "-p", str(pitch), "-s", str(wpm),
            "--stdout", "--", text]


@VOICES.register("espeak")
class EspeakBackend(VoiceBackend):
    """espeak-ng at its native 22050 Hz."""

    name = "espeak"

    def supports(self, locale: Locale) -> bool:
        return locale.espeak_voice.lower() in installed_voices()

    def voices(self) -> list[Voice]:
        return list(CAST)

    def synthesize(self, text: str, voice: Voice, locale: Locale, speed: float = 1.0) -> Speech:
        import soundfile as sf

        text = check_text(speakable(text))
        speed = check_speed(speed)
        if not self.supports(locale):
            raise ConfigError(f"espeak-ng has no voice {locale.espeak_voice!r} for {locale.tag}")
        argv = espeak_argv(text, voice, locale, speed)
        argv[0] = espeak_binary()
        proc = subprocess.run(argv, capture_output=True, check=False)
        if proc.returncode != 0 or not proc.stdout:
            message = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
            raise ToolError(f"espeak-ng failed for voice {argv[2]!r}: {message.splitlines()[-1]}")
        # espeak streams its WAV with a placeholder size in the header; soundfile copes.
        samples, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=False)
        samples = trim_silence(np.asarray(samples, dtype=np.float32).reshape(-1), int(rate))
        if samples.size == 0:
            raise UnspeakableText(f"espeak-ng produced no sound for {text!r} in {locale.tag}")
        return Speech(samples, int(rate))
