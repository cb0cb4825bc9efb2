"""Translation stage: glossary-aware, validated, with retries and backend fallback.

Importing this package registers the built-in backends; their models load only
when a translation actually runs.
"""

from __future__ import annotations

from localize.stages.translate.base import TRANSLATORS, TranslatedLine, TranslationRequest, Translator, translate_lines
from localize.stages.translate.glossary import Glossary, enforce_terms, find_terms, load_glossary
from localize.stages.translate.markets import MarketRules, load_market
from localize.stages.translate.memory import TranslationMemory, import_edits
from localize.stages.translate.srt import translate_srt
from localize.stages.translate.validate import validate_line

from localize.stages.translate import gemma, llama, openai, seq2seq  # noqa: E402,F401  (register the backends)

__all__ = [
    "TRANSLATORS", "Glossary", "MarketRules", "TranslatedLine", "TranslationMemory", "TranslationRequest",
    "Translator", "enforce_terms", "find_terms", "import_edits", "load_glossary", "load_market", "translate_lines",
    "translate_srt", "validate_line",
]
