"""Delivery: running the pipeline over many episodes.

- :mod:`.batch`: ``localize SERIES_DIR --to ...``: episodes in natural order, resumable, with a summary.
- :mod:`.jobs` and :mod:`.watch`: ``localize watch IN``: a crash-safe SQLite job queue fed by a folder.
- :mod:`.executors` (``local``) and :mod:`.ray_executor` (``ray``): where the analyses and market
  renders run; :mod:`.choose` picks one (``--executor``, ``executor``/``ray_address``, ``$RAY_ADDRESS``).
- :mod:`.jobs_api`: jobs over HTTP (``POST /api/jobs``), a FastAPI router; ``localize serve`` mounts it.

Export profiles, HLS packages and manifests are part of the export stage (:mod:`localize.stages.export`).
"""
