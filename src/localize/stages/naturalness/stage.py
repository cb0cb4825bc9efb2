"""The naturalness stage, declared: the dub's clips in, their DNSMOS and speaking rate out.

Each line's score is a cached unit keyed by its clip's content, so a changed line is scored
again alone. ``naturalness: false`` in the config skips the scoring (the artifact says so).
"""

from __future__ import annotations

from localize.audio import read_wav, to_mono
from localize.stages.contract import Stage, StageContext, fingerprint
from localize.stages.naturalness import VERSION, LineSound, line_scores, measure


def _run(ctx: StageContext) -> dict:
    if not ctx.settings.naturalness:
        return {"skipped": True}
    work = ctx.work
    lines = []
    for dub_line, translation in zip(ctx.inputs["dub"]["lines"], ctx.inputs["translations"]):
        samples, rate = read_wav(work.path(dub_line["clip"]))
        lines.append(LineSound(dub_line["id"], translation["text"], to_mono(samples), rate))
    clips = {line.id: work.path(dub_line["clip"]) for line, dub_line in zip(lines, ctx.inputs["dub"]["lines"])}

    def cached_score(line: LineSound):
        data, _key = ctx.unit("dnsmos", {"clip": fingerprint(clips[line.id])},
                              lambda _key: {"dnsmos": line_scores(line)})
        return data["dnsmos"]

    return measure(lines, ctx.locale, score_line=cached_score)


STAGE = Stage(name="naturalness", version=VERSION, gives="naturalness", needs=("dub", "translations"),
              settings=("naturalness",), per_market=True, run=_run,
              summary="DNSMOS of every dubbed line and of the episode, and the dub's speaking rate")
