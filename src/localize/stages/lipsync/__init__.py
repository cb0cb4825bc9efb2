"""Lip-sync: re-lip-sync the on-screen faces to the dubbed lines with a Wav2Lip generator.

Public entry points (torch and OpenCV load only when a function needs them):

- :func:`run_lipsync` with :class:`LipsyncOptions` -> :class:`LipsyncResult` (the stage);
- :func:`load_wav2lip` / :func:`build_wav2lip` (the generator, public checkpoint layout);
- :func:`melspectrogram` / :func:`mel_windows` (Wav2Lip's audio front end).
"""

from localize.stages.lipsync.audio import MelParams, mel_windows, melspectrogram
from localize.stages.lipsync.stage import VERSION, LipsyncOptions, LipsyncResult, run_lipsync
from localize.stages.lipsync.wav2lip import build_wav2lip, checkpoint_state, load_wav2lip

__all__ = ["VERSION", "LipsyncOptions", "LipsyncResult", "MelParams", "build_wav2lip", "checkpoint_state",
           "load_wav2lip", "mel_windows", "melspectrogram", "run_lipsync"]
