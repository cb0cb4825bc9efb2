"""The export stage, declared: the mix, the picture and the cues in, the market's delivered files out.

What the export writes to is the caller's (:class:`MarketDelivery`, given as ``runtime["delivery"]``):
the files go under a hidden staging folder and appear together when the market is done, and the
picture's x264 encode may already be running in the background. Neither changes what is made,
so neither is part of the key; the final output paths are.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localize.errors import LocalizeError
from localize.stages.contract import Stage, StageContext
from localize.stages.export import VERSION, ExportJob, PictureTask, delivered_files, export, start_picture
from localize.stages.hardsubs.stage import Picture
from localize.stages.lipsync.stage import synced_picture
from localize.stages.subtitles.stage import cues_of


@dataclass
class MarketDelivery:
    """Where one market's export goes: its job (staged output paths), the staging folder, and the
    picture's early encode once started."""

    job: ExportJob
    staging: Any  # localize.fsutil.StagedOutputs
    final_outputs: dict[str, Path]
    picture_task: PictureTask | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _settled: bool = False  # the export took what there was, or the market ended: start nothing more

    def with_subtitles(self, subtitles: dict, work_root: Path) -> None:
        """The cues are known: the job gets them (and the ASS file burned subtitles are drawn from)."""
        self.job = dataclasses.replace(self.job, subtitles_ass=work_root / subtitles["ass"], cues=cues_of(subtitles))

    def start_picture_when_ready(self, picture: Callable[[], Picture], episode: Path, work_root: Path) -> None:
        """Start x264 on the picture as soon as ``picture()`` gives it (the subtitle removal may still
        be running), from a thread of its own, so it runs while the voices are made and mixed."""
        def start() -> None:
            try:
                clean = picture()
            except BaseException:  # noqa: BLE001 - the export stage meets the same error and reports it
                return
            with self._lock:
                if not self._settled:
                    self.job = dataclasses.replace(self.job, picture=clean.video(episode, work_root),
                                                   band=clean.clean(episode, work_root))
                    try:
                        self.picture_task = start_picture(self.job)
                    except (LocalizeError, OSError):
                        pass  # no early encode: the export encodes the picture itself and reports what fails

        threading.Thread(target=start, name="picture-encode", daemon=True).start()

    def take_picture_task(self) -> PictureTask | None:
        """The early encode, if one started; none starts after this."""
        with self._lock:
            self._settled = True
            return self.picture_task

    def close(self) -> None:
        task = self.take_picture_task()
        if task is not None:
            task.close()  # keeps a finished picture for later runs, stops an unfinished one


def _external(ctx: StageContext) -> list[str]:
    # A deleted or moved output forces a new render.
    return sorted(str(path) for path in ctx.runtime["delivery"].final_outputs.values())


def _run(ctx: StageContext) -> dict:
    delivery: MarketDelivery = ctx.runtime["delivery"]
    clean: Picture = ctx.inputs["picture"]
    synced = synced_picture(ctx.inputs["lipsync"], ctx.work.root)  # a whole new picture made from the clean one
    task = delivery.take_picture_task()
    job = dataclasses.replace(delivery.job, audio=ctx.work.path(ctx.inputs["mix"]["mix"]),
                              picture=synced or clean.video(ctx.episode, ctx.work.root),
                              band=None if synced else clean.clean(ctx.episode, ctx.work.root),
                              picture_task=None if synced else task)
    made = export(job)
    final_job = dataclasses.replace(job, video_out=delivery.final_outputs["video"],
                                    srt_out=delivery.final_outputs["srt"], outputs=delivery.final_outputs)
    return {"outputs": {role: str(delivery.staging.final(Path(path))) for role, path in made.items()},
            "delivered": [str(path) for path in delivered_files(final_job)]}


STAGE = Stage(name="export", version=VERSION, gives="delivery", needs=("mix", "lipsync", "subtitles", "picture"),
              settings=("encoding", "profile", "mix.true_peak_db"), per_market=True, run=_run, external=_external,
              files=lambda data: data["delivered"],
              summary="encode the market's video, subtitles and profile extras (cover, manifest, HLS)")
