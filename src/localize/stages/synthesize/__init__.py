"""The voice stage: text-to-speech backends, voice casting and fitting lines to their slots.

Importing this package registers the backends (``kokoro``, ``espeak``, ``speecht5``, ``mms``) in :data:`VOICES`.
"""

from __future__ import annotations

from localize.stages.synthesize import espeak as _espeak  # noqa: F401  (registers "espeak")
from localize.stages.synthesize import kokoro as _kokoro  # noqa: F401  (registers "kokoro")
from localize.stages.synthesize import mms as _mms  # noqa: F401  (registers "mms", VITS / MMS-TTS from a folder)
from localize.stages.synthesize import speecht5 as _speecht5  # noqa: F401  (registers "speecht5", the cloning backend)
from localize.stages.synthesize.base import VOICES, Speech, Voice, VoiceBackend, assign_voices, backend_for
from localize.stages.synthesize.fit import FittedLine, Slot, SpeakingPace, fit_to_slot, pitch_shift, plan_slot, time_stretch
from localize.stages.synthesize.speecht5 import CLONING_BACKENDS, CloningBackend

# Backends that load their model from a folder the user gives (--voice-model / neural_voice_model).
MODEL_FOLDER_BACKENDS = (*CLONING_BACKENDS, "mms")

__all__ = ["CLONING_BACKENDS", "MODEL_FOLDER_BACKENDS", "VOICES", "CloningBackend", "FittedLine", "Speech", "Voice", "VoiceBackend",
           "assign_voices", "backend_for", "Slot", "SpeakingPace", "fit_to_slot", "pitch_shift", "plan_slot", "time_stretch"]
