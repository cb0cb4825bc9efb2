"""The voice stage: text-to-speech backends, voice casting and fitting lines to their slots.

Importing this package registers the backends (``kokoro``, ``espeak``) in :data:`VOICES`.
"""

from __future__ import annotations

from . import espeak as _espeak  # noqa: F401  (registers "espeak")
from . import kokoro as _kokoro  # noqa: F401  (registers "kokoro")
from .base import VOICES, Speech, Voice, VoiceBackend, assign_voices, backend_for
from .fit import FittedLine, fit_to_slot, pitch_shift, time_stretch

__all__ = ["VOICES", "FittedLine", "Speech", "Voice", "VoiceBackend", "assign_voices", "backend_for",
           "fit_to_slot", "pitch_shift", "time_stretch"]
