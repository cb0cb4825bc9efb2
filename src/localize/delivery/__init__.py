"""Delivery: export profiles, HLS packages, manifests, series batches and a watch folder.

- :mod:`.profiles`: per-app export profiles (YAML, user-extensible) -> :class:`ExportProfile`.
- :mod:`.hls`: one video, an audio + WebVTT rendition per market, one master playlist.
- :mod:`.manifest`: delivered files with checksums, durations, tracks and loudness.
- :mod:`.batch`: ``localize SERIES_DIR --to ...``: episodes in natural order, resumable, with a summary.
- :mod:`.jobs` and :mod:`.watch`: ``localize watch IN``: a crash-safe SQLite job queue fed by a folder.

Submodules are imported on use so ``import localize.delivery`` stays light.
"""

from __future__ import annotations

from .profiles import DEFAULT_PROFILE, ExportProfile, available_profiles, load_profile

__all__ = ["DEFAULT_PROFILE", "ExportProfile", "available_profiles", "load_profile"]
