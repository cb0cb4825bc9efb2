"""Separation backends (one module each) and their shared spectral tools.

Each backend module registers itself into :data:`localize.stages.separate.SEPARATORS`;
that stage module imports them all at its end. Importing the stage module first, here,
keeps that order whichever module a caller imports first.
"""

from ..stages import separate as _separate  # noqa: F401
