"""Delivery: running the pipeline over many episodes.

- :mod:`.batch`: ``localize SERIES_DIR --to ...``: episodes in natural order, resumable, with a summary.
- :mod:`.jobs` and :mod:`.watch`: ``localize watch IN``: a crash-safe SQLite job queue fed by a folder.

Export profiles, HLS packages and manifests are part of the export stage (:mod:`localize.stages.export`).
"""
