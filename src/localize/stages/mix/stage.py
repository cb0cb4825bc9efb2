"""The mix stage, declared: the dub clips and the background in, the dub track and the final mix out."""

from __future__ import annotations

from localize.audio import read_wav, to_mono, write_wav
from localize.stages.contract import Stage, StageContext
from localize.stages.mix import VERSION, PlacedClip, add_nonverbal, apply_prosody, line_energies, mix, place_clips


def _run(ctx: StageContext) -> dict:
    work, locale = ctx.work, ctx.locale
    stems = ctx.inputs["stems"]
    dub_lines = ctx.inputs["dub"]["lines"]
    segments = ctx.inputs["transcript"].segments
    options = ctx.settings.mix
    names = {"dub": f"dub.{locale.tag}.wav", "mix": f"mix.{locale.tag}.wav"}
    bed, rate = read_wav(work.path(stems.bed))
    by_id = {s.id: s for s in segments}
    # Prosody: each original line's loudness (vs. the episode's median line) carries into its dub.
    dialogue, dialogue_rate = read_wav(work.path(stems.dialogue))
    energies = line_energies(to_mono(dialogue), dialogue_rate,
                             [(by_id[line["id"]].start_ms, by_id[line["id"]].end_ms) for line in dub_lines])
    clips, prosody = [], []
    for line, energy in zip(dub_lines, energies):
        samples, clip_rate = read_wav(work.path(line["clip"]))
        samples, gain_db = apply_prosody(to_mono(samples), clip_rate, energy)
        prosody.append({"id": line["id"], "energy_db": energy, "gain_db": gain_db})
        # Placed where it was fitted: silence borrowed before the line moves its start earlier.
        clips.append(PlacedClip(line.get("start_ms", by_id[line["id"]].start_ms), samples, clip_rate))
    dub = place_clips(clips, len(bed), rate)
    spans = [(s.start_ms, s.end_ms) for s in segments] if stems.bed_has_dialogue else []
    extra = {}
    if options.keep_nonverbal and stems.vocals_alone:
        dubbed = [(s.start_ms, s.end_ms) for s in segments] + \
            [(c.start_ms, c.start_ms + len(c.samples) * 1000 // c.rate) for c in clips]
        bed, extra["nonverbal_ms"] = add_nonverbal(bed, rate, dialogue, dialogue_rate, dubbed)
    mixed, loudness = mix(bed, dub, rate, options, spans)
    write_wav(work.path(names["dub"]), dub, rate)
    write_wav(work.path(names["mix"]), mixed, rate)
    return {"rate": rate, "loudness": loudness, "prosody": prosody, **extra, **names}


STAGE = Stage(name="mix", version=VERSION, gives="mix", needs=("dub", "stems", "transcript"), settings=("mix",),
              per_market=True, run=_run, files=lambda data: (data["dub"], data["mix"]),
              summary="place the clips, carry each line's loudness, duck the bed, hit the market loudness")
