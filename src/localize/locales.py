"""The target markets we can render, and what each needs from the stages."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from localize.errors import UsageError


@dataclass(frozen=True)
class Locale:
    """A market's language facts.

    ``kokoro_espeak`` is the espeak-ng voice that phonemises text for Kokoro (``None``
    when Kokoro does not cover the language); ``espeak_voice`` is the fallback TTS
    voice; ``chars_per_second`` is a comfortable speaking rate used for length budgets.
    """

    tag: str
    language: str
    name: str
    script: str
    espeak_voice: str
    kokoro_espeak: str | None = None
    rtl: bool = False
    chars_per_second: float = 15.0
    subtitle_font: str = "Noto Sans"

    @property
    def iso639_2(self) -> str:
        """The three-letter code MP4 language tags use."""
        return ISO639_2.get(self.language, "und")


ISO639_2 = {"en": "eng", "es": "spa", "pt": "por", "fr": "fra", "it": "ita", "de": "deu", "id": "ind",
            "vi": "vie", "hi": "hin", "th": "tha", "ar": "ara", "ja": "jpn", "ko": "kor", "zh": "zho"}


# Rates are measured with the voice each market ships with, at speed 1.0, characters counted by
# speech_length() (spaces and punctuation included; Thai and Arabic per code point of their own
# script); the slower of a male and a female voice sets the rate.
# - English: Kokoro spoke the 48 reference lines of tests/data/translation_eval.zh-en.tsv at 16.5
#   characters/s (jm_kumo; jf_alpha 17.3). Re-check:
#   tests/stages/translate/test_translate_budget.py::test_kokoro_english_rate (slow).
# - es, pt (Kokoro) and id, th, ar, vi (espeak-ng, which speaks them in the pipeline): 12 lines of the
#   eval set translated for bench/data/market_lines.tsv, `PYTHONPATH=src python bench/naturalness.py`:
#   es 13.86 (jm_kumo; jf_alpha 14.30), pt 14.02 (14.29), id 14.27 (f3; m3 14.92), th 9.64 (f3; m3 9.77),
#   ar 10.47 (f3; m3 10.96), vi 16.27 (f3; m3 17.17). The same 12 English lines: Kokoro 16.07, so the
#   12-line figures sit within 3 % of the 48-line one.
# - fr, it, hi, ja (Kokoro), de, ko (espeak-ng) are not measured yet: they stay estimates.
LOCALES: dict[str, Locale] = {loc.tag.lower(): loc for loc in [
    Locale("en-US", "en", "English", "latin", "en-us", kokoro_espeak="en-us", chars_per_second=16.5),
    Locale("en-GB", "en", "English", "latin", "en-gb", kokoro_espeak="en-gb", chars_per_second=16.5),
    Locale("es-MX", "es", "Spanish", "latin", "es-419", kokoro_espeak="es", chars_per_second=13.9),
    Locale("es-ES", "es", "Spanish", "latin", "es", kokoro_espeak="es", chars_per_second=13.9),
    Locale("pt-BR", "pt", "Brazilian Portuguese", "latin", "pt-br", kokoro_espeak="pt-br", chars_per_second=14.0),
    Locale("fr-FR", "fr", "French", "latin", "fr-fr", kokoro_espeak="fr-fr", chars_per_second=15.5),
    Locale("it-IT", "it", "Italian", "latin", "it", kokoro_espeak="it", chars_per_second=15.5),
    Locale("de-DE", "de", "German", "latin", "de", chars_per_second=14.5),
    Locale("id-ID", "id", "Indonesian", "latin", "id", chars_per_second=14.3),
    Locale("vi-VN", "vi", "Vietnamese", "latin", "vi", chars_per_second=16.3),
    Locale("hi-IN", "hi", "Hindi", "devanagari", "hi", kokoro_espeak="hi", chars_per_second=13.0,
           subtitle_font="Noto Sans Devanagari"),
    Locale("th-TH", "th", "Thai", "thai", "th", chars_per_second=9.6, subtitle_font="Noto Sans Thai"),
    Locale("ar-SA", "ar", "Arabic", "arabic", "ar", rtl=True, chars_per_second=10.5, subtitle_font="Noto Sans Arabic"),
    Locale("ja-JP", "ja", "Japanese", "cjk", "ja", kokoro_espeak="ja", chars_per_second=8.0,
           subtitle_font="Noto Sans CJK JP"),
    Locale("ko-KR", "ko", "Korean", "cjk", "ko", chars_per_second=7.0, subtitle_font="Noto Sans CJK KR"),
]}


def speech_length(text: str) -> int:
    """The characters a line counts as against :attr:`Locale.chars_per_second`.

    Code points of the NFC form with runs of spaces as one, the way every rate in
    :data:`LOCALES` was measured (``bench/naturalness.py``) and every length budget is checked
    (``localize.stages.translate``): Thai vowel and tone marks count (they are code points of
    their own and take time to say), a Vietnamese letter with stacked marks counts once
    whether it came precomposed or decomposed, and punctuation counts as it does in English.
    """
    return len(unicodedata.normalize("NFC", " ".join(text.split())))


def get_locale(tag: str) -> Locale:
    """Look up a locale tag case-insensitively; unknown tags raise :class:`UsageError`."""
    try:
        return LOCALES[tag.strip().lower().replace("_", "-")]
    except KeyError:
        known = ", ".join(loc.tag for loc in LOCALES.values())
        raise UsageError(f"unknown locale {tag!r}; supported: {known}") from None
