"""One exception hierarchy for the whole toolchain.

The CLI turns any :class:`LocalizeError` into a single line on stderr and the
class's ``exit_code``; anything else is a bug and gets a traceback.
"""

from __future__ import annotations


class LocalizeError(Exception):
    """Base class of every error a user can cause or fix."""

    exit_code = 1


class UsageError(LocalizeError):
    """A bad option value, such as an unknown locale."""

    exit_code = 2


class InputError(LocalizeError):
    """The input file is missing, unreadable, corrupt or unsuitable."""

    exit_code = 3


class NoAudioError(InputError):
    """The input has no audio track."""


class SilentInputError(InputError):
    """The input's audio holds no speech to localize."""


class UnspeakableText(InputError):
    """A line with nothing a voice can say (punctuation only, empty). The pipeline keeps such a line
    silent and flags it; only a direct synthesis call sees this error."""


class ModelError(LocalizeError):
    """A model is missing, incomplete or fails to load."""

    exit_code = 4


class ToolError(LocalizeError):
    """An external tool (ffmpeg, espeak-ng) is missing or failed."""

    exit_code = 5


class OutputError(LocalizeError):
    """An output cannot be written (read-only folder, full disk)."""

    exit_code = 6

    @classmethod
    def cannot_write(cls, folder: object, exc: OSError) -> OutputError:
        """The one-line error for ``folder`` when the system refused a write there."""
        return cls(f"cannot write to {folder}: {exc.strerror or exc}")


class ConfigError(LocalizeError):
    """A config, glossary, cast or script file is malformed."""

    exit_code = 2
