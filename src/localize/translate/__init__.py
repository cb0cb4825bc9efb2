"""Translation stage: glossary-aware, validated, with retries and backend fallback.

Importing this package registers the built-in backends; their models load only
when a translation actually runs.
"""

from __future__ import annotations

from .base import TRANSLATORS, TranslatedLine, TranslationRequest, Translator, translate_lines
from .glossary import Glossary, enforce_terms, find_terms, load_glossary
from .markets import MarketRules, load_market
from .memory import TranslationMemory, import_edits
from .srt import translate_srt
from .validate import validate_line

from . import gemma, openai, seq2seq  # noqa: E402,F401  (register the "gemma", "openai", "seq2seq" backends)

__all__ = [
    "TRANSLATORS", "Glossary", "MarketRules", "TranslatedLine", "TranslationMemory", "TranslationRequest",
    "Translator", "enforce_terms", "find_terms", "import_edits", "load_glossary", "load_market", "translate_lines",
    "translate_srt", "validate_line",
]
