"""Translation stage: glossary-aware, validated, with retries and backend fallback.

Importing this package registers the built-in backends; their models load only
when a translation actually runs.
"""

from __future__ import annotations

from .base import TRANSLATORS, TranslatedLine, TranslationRequest, Translator, translate_lines
from .glossary import Glossary, enforce_terms, find_terms, load_glossary
from .srt import translate_srt
from .validate import validate_line

from . import gemma  # noqa: E402,F401  (registers the "gemma" backend)

__all__ = [
    "TRANSLATORS", "Glossary", "TranslatedLine", "TranslationRequest", "Translator", "enforce_terms",
    "find_terms", "load_glossary", "translate_lines", "translate_srt", "validate_line",
]
