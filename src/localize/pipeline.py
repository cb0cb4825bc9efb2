"""The pipeline: analyse an episode once, then render each target market from that analysis.

Every stage stores a JSON artifact in the episode's work directory under a key made
of its inputs' keys, its settings and its version (see :mod:`localize.workdir`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from localize import __version__
from localize.audio import read_wav, resample, to_mono, write_wav
from localize.errors import OutputError
from localize.ffmpeg import VideoEncoding
from localize.fsutil import atomic_path, digest_of, file_digest, staged_outputs, write_json_atomic
from localize.stages.hardsubs import VERSION as HARDSUBS_VERSION
from localize.stages.hardsubs import HardsubAnalysis, HardsubOptions, analyse_hardsubs, fuse, remove_hardsubs
from localize.locales import Locale, get_locale
from localize.model import Segment, Transcript, from_dict, to_dict
from localize.progress import progress
from localize.stages import diarize as diarize_stage
from localize.stages import export as export_stage
from localize.stages import ingest as ingest_stage
from localize.stages import mix as mix_stage
from localize.stages import separate as separate_stage
from localize.stages import subtitles as subtitle_stage
from localize.stages import transcribe as transcribe_stage
from localize.stages.synthesize.fit import BORROW_GAP_MS
from localize.workdir import WorkDir

if TYPE_CHECKING:
    from localize.stages.export.profiles import ExportProfile

SYNTH_VERSION = "5"


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that changes what the pipeline produces."""

    transcribe: transcribe_stage.TranscribeOptions = field(default_factory=transcribe_stage.TranscribeOptions)
    separator: str = "dfn-repet"
    bed_file: Path | None = None
    separator_model: Path | None = None  # checkpoint of a separator loaded from a file (``demucs``)
    num_speakers: int | None = None
    translators: tuple[str, ...] = ("gemma",)
    voice_backend: str = "kokoro"
    voice_model: Path | None = None  # model folder of a neural (cloning) voice backend
    voice_match: bool = True  # move each dub voice toward its actor's pitch and envelope (tts.convert)
    glossary: Path | None = None
    keep_stems: bool = False
    mix: mix_stage.MixOptions = field(default_factory=mix_stage.MixOptions)
    encoding: VideoEncoding = field(default_factory=VideoEncoding)
    work_root: Path | None = None
    lipsync_checkpoint: Path | None = None
    hardsubs: HardsubOptions = field(default_factory=HardsubOptions)
    # Delivery profile (localize.stages.export.profiles.ExportProfile); None keeps the plain MP4 export.
    profile: "ExportProfile | None" = None


@dataclass
class Analysis:
    """What every market shares: the input, its stems and the speaker-labelled transcript."""

    ingest: ingest_stage.IngestResult
    stems: separate_stage.Stems
    transcript: Transcript
    speakers: list[diarize_stage.Speaker]
    keys: dict[str, str]
    hardsub: HardsubAnalysis
    picture: Path  # the episode's picture with its burned-in subtitles removed (or the episode itself)


def output_paths(out_dir: Path, stem: str, locale: Locale) -> dict[str, Path]:
    """The output contract: names that users' scripts rely on."""
    base = out_dir / f"{stem}.{locale.tag}"
    return {"video": base.with_name(base.name + ".mp4"), "srt": base.with_name(base.name + ".srt"),
            "report": base.with_name(base.name + ".json"), "bed": base.with_name(base.name + ".bed.wav"),
            "dialogue": base.with_name(base.name + ".dialogue.wav")}


def ensure_writable(out_dir: Path) -> None:
    """Fail early, before hours of work, when outputs cannot be written."""
    try:
        with atomic_path(out_dir / ".localize-write-check") as tmp:
            tmp.write_bytes(b"")
        (out_dir / ".localize-write-check").unlink()
    except OSError as exc:
        raise OutputError.cannot_write(out_dir, exc) from None


def read_hardsubs(episode: Path, ingested: ingest_stage.IngestResult, options: PipelineOptions, work: WorkDir,
                  ingest_key: str) -> tuple[HardsubAnalysis, str, Path]:
    """Read the burned-in subtitles and remove them from the picture (both cached)."""
    hardsub_options = options.hardsubs
    data, key = work.run("hardsubs", (HARDSUBS_VERSION, ingest_key, hardsub_options),
                         lambda: analyse_hardsubs(episode, ingested.media.duration_ms, hardsub_options).to_dict())
    hardsub = HardsubAnalysis.from_dict(data)
    if hardsub.band is None:
        return hardsub, key, episode
    clean = work.path("picture.clean.mkv")
    work.run("unsubtitle", (HARDSUBS_VERSION, key, hardsub_options),
             lambda: {"video": str(remove_hardsubs(episode, hardsub, clean, hardsub_options))}, files=(clean.name,))
    return hardsub, key, clean


def analyse(episode: Path, options: PipelineOptions, work: WorkDir, digest: str) -> Analysis:
    """Ingest, separate, transcribe and diarize, each cached in ``work``."""
    keys: dict[str, str] = {}
    data, keys["ingest"] = work.run(
        "ingest", (ingest_stage.VERSION, digest),
        lambda: ingest_stage.to_json(ingest_stage.ingest(episode, digest, work)),
        files=("audio.16k.wav", "audio.48k.wav"))
    ingested = ingest_stage.IngestResult.from_json(data)

    # Backends configured by a file (a delivered M&E stem, a separator checkpoint) get it; its digest keys the cache.
    separator_file = {"file": options.bed_file, "demucs": options.separator_model}.get(options.separator)
    separator_options = {"path": separator_file} if options.separator in ("file", "demucs") else {}
    separator = separate_stage.SEPARATORS.create(options.separator, **separator_options)
    data, keys["separate"] = work.run(
        "separate", (separate_stage.VERSION, keys["ingest"], options.separator,
                     file_digest(separator_file) if separator_file and Path(separator_file).is_file() else None),
        lambda: dataclasses.asdict(separator.separate(work.path(ingested.audio_mix),
                                                      work.path(ingested.audio_analysis), work.root)))
    stems = separate_stage.Stems(**data)

    transcriber = transcribe_stage.TRANSCRIBERS.create(options.transcribe.model)
    try:
        data, keys["transcribe"] = work.run(
            "transcribe", (transcribe_stage.VERSION, keys["separate"], options.transcribe),
            lambda: to_dict(transcriber.transcribe(work.path(stems.dialogue), options.transcribe,
                                                   ingested.media.duration_ms)))
    finally:
        transcriber.close()
    transcript = from_dict(Transcript, data)

    hardsub, keys["hardsubs"], picture = read_hardsubs(episode, ingested, options, work, keys["ingest"])
    if hardsub.events:
        transcript.segments = fuse(transcript.segments, hardsub.events)
        for index, segment in enumerate(transcript.segments):
            segment.id = index
        # Everything downstream of the transcript now depends on the burned-in text as well.
        keys["transcribe"] = digest_of("fused", keys["transcribe"], keys["hardsubs"])

    def run_diarization() -> dict:
        samples, rate = read_wav(work.path(stems.dialogue))
        try:
            return to_dict(diarize_stage.diarize(transcript.segments, to_mono(samples), rate, options.num_speakers))
        finally:
            diarize_stage.release()

    data, keys["diarize"] = work.run("diarize", (diarize_stage.VERSION, keys["transcribe"], options.num_speakers),
                                     run_diarization)
    diarization = from_dict(diarize_stage.Diarization, data)
    diarize_stage.label_segments(transcript.segments, diarization)
    return Analysis(ingested, stems, transcript, diarization.speakers, keys, hardsub, picture)


def import_report_edits(report: Path, previous: Path, memory, locale_tag: str) -> int:
    """Record as human edits the report lines whose text differs from what the model last produced."""
    from localize.stages.translate.memory import HUMAN

    try:
        segments = json.loads(report.read_text(encoding="utf-8"))["segments"]
        produced = json.loads(previous.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    changed = 0
    for segment, line in zip(segments, produced):
        text = " ".join(str(segment.get("text", "")).split())
        if text and text != line.get("text") and memory.put(locale_tag, segment["source_text"], text, HUMAN):
            changed += 1
    return changed


def translate(analysis: Analysis, locale: Locale, options: PipelineOptions, work: WorkDir,
              edited_report: Path) -> tuple[list[dict], str]:
    """Translate every segment for ``locale`` (cached per locale), through the series' translation memory.

    Edits a person made to ``segments[].text`` in the previous report are imported into the
    memory first, so they win on this and later runs. The memory lives beside the episodes'
    work folders (one per output folder, i.e. per series).
    """
    from localize.stages.translate import TranslationRequest, load_glossary, translate_lines
    from localize.stages.translate.budget import line_budgets
    from localize.stages.synthesize.fit import MAX_BORROW_AFTER_MS
    from localize.stages.translate.markets import markets_dir
    from localize.stages.translate.memory import TranslationMemory

    memory = TranslationMemory(work.root.parent / "translation-memory.json")
    if import_report_edits(edited_report, work.path(f"translate.{locale.tag}.json"), memory, locale.tag):
        memory.save()
    human = {k: e.text for k, e in memory.entries.get(locale.tag, {}).items() if e.origin == "human"}
    market_files = sorted(markets_dir().glob("*.yaml")) if markets_dir().is_dir() else []
    glossary_digest = file_digest(options.glossary) if options.glossary else None
    # Budget slot = the line plus the silence after it that the voice stage may borrow (at most
    # MAX_BORROW_AFTER_MS, stopping BORROW_GAP_MS before the next line); see localize.stages.translate.budget.
    budgets = line_budgets([(seg.start_ms, seg.end_ms) for seg in analysis.transcript.segments], locale,
                           analysis.ingest.media.duration_ms, gap_ms=BORROW_GAP_MS,
                           max_borrow_ms=MAX_BORROW_AFTER_MS)

    def compute() -> list[dict]:
        request = TranslationRequest(lines=[s.source_text for s in analysis.transcript.segments], locale=locale,
                                     glossary=load_glossary(options.glossary),
                                     speakers=[s.speaker for s in analysis.transcript.segments], budgets_chars=budgets)
        lines = translate_lines(request, options.translators, memory=memory, episode=analysis.ingest.digest[:12])
        memory.save()
        return [dataclasses.asdict(line) for line in lines]

    return work.run(f"translate.{locale.tag}", ("translate-3", analysis.keys["transcribe"], analysis.keys["diarize"],
                                                 locale.tag, glossary_digest, options.translators, human,
                                                 [file_digest(f) for f in market_files]), compute)


def voice_backend(locale: Locale, options: PipelineOptions):
    """The chosen voice backend (given its model folder when ``voice_model`` is set) if it speaks
    ``locale``, else espeak-ng."""
    from localize.stages import synthesize as tts
    from localize.errors import ConfigError

    if options.voice_model is None:
        return tts.backend_for(locale, options.voice_backend)
    if options.voice_backend not in tts.CLONING_BACKENDS:
        raise ConfigError(f"--voice-model is for a neural cloning voice backend (speecht5), "
                          f"not {options.voice_backend!r}; pass --voice speecht5")
    backend = tts.VOICES.create(options.voice_backend, model_dir=options.voice_model)
    if backend.supports(locale):
        return backend
    backend.close()
    return tts.backend_for(locale, "espeak")


def synthesize(analysis: Analysis, locale: Locale, segments: list[Segment], options: PipelineOptions,
               work: WorkDir, translate_key: str) -> tuple[dict, str]:
    """Voice each translated line, fitted to its slot; clips go to ``dub.<locale>/``.

    Voices come from the series cast (:mod:`localize.stages.cast`): ``voices/<series>.yaml`` beside the
    series folder when that ``voices/`` folder exists, else in the output folder's ``voices/``
    (the work root's, when one is set). A character keeps its voice in every episode.
    """
    from localize.stages import cast as cast_module
    from localize.stages import synthesize as tts
    from localize.stages.synthesize.convert import match_voice

    backend = voice_backend(locale, options)
    episode = Path(analysis.ingest.source)
    # The work dir is <out>/.localize-work/<episode> unless a work root was given.
    out_dir = Path(options.work_root) if options.work_root else work.root.parent.parent
    # Voice matching (tts.convert) needs each actor's lines alone; a cloning backend speaks in their voice already.
    matching = options.voice_match and not isinstance(backend, tts.CloningBackend) and analysis.stems.vocals_alone
    audio = cast_module.speaker_audio(work.path(analysis.stems.dialogue), analysis.transcript.segments) \
        if matching else None
    cast = cast_module.cast_episode(cast_module.cast_path(episode, out_dir), cast_module.series_of(episode),
                                    episode.stem, analysis.speakers, backend, audio)
    match_key = sorted((k, p.to_dict()) for k, p in cast.profiles.items() if p) if matching else None
    voices = cast.voices
    if isinstance(backend, tts.CloningBackend):  # speak in each actor's own voice, cloned from diarization
        actors = {s.id: s for s in analysis.speakers if s.embedding}
        voices = {k: backend.clone(k, v.gender, np.asarray(actors[k].embedding)) if k in actors else v
                  for k, v in voices.items()}
    # The cast file is user-editable: a changed voice must re-synthesize.
    voice_key = sorted((k, v.label, cast.characters[k]) for k, v in voices.items())

    def compute() -> dict:
        try:
            clip_dir = work.path(f"dub.{locale.tag}")
            clip_dir.mkdir(exist_ok=True)
            lines = []
            prev_end = 0  # where the previous clip really ends, borrowed time included
            pace = tts.SpeakingPace(locale.chars_per_second)
            for index, segment in enumerate(progress(iterable=segments, desc=f"voice {locale.tag}", unit="line")):
                next_start = segments[index + 1].start_ms if index + 1 < len(segments) else \
                    analysis.ingest.media.duration_ms
                slot = tts.plan_slot(segment.start_ms, segment.end_ms, prev_end,
                                     min(next_start, analysis.ingest.media.duration_ms))
                voice = voices[segment.speaker]
                fitted = tts.fit_to_slot(backend, segment.text, voice, locale, slot, pace=pace)
                if matching and cast.profiles.get(segment.speaker):  # toward the actor; same length
                    fitted.speech = match_voice(fitted.speech, cast.profiles[segment.speaker])
                prev_end = fitted.start_ms + fitted.duration_ms
                clip = clip_dir / f"{segment.id:04d}.wav"
                write_wav(clip, fitted.speech.samples, fitted.speech.rate)
                lines.append({"id": segment.id, "clip": str(clip.relative_to(work.root)), "slot_ms": slot.room_ms,
                              "start_ms": fitted.start_ms, "borrowed_before_ms": fitted.borrowed_before_ms,
                              "borrowed_after_ms": fitted.borrowed_after_ms,
                              "duration_ms": fitted.duration_ms, "speed": round(fitted.speed, 3),
                              "stretch": round(fitted.stretch, 3), "fits": fitted.fits,
                              "voice": dataclasses.asdict(voice)})
            return {"backend": backend.name, "lines": lines,
                    "voices": {k: dataclasses.asdict(v) for k, v in voices.items()},
                    "characters": dict(cast.characters), "cast": str(cast.path)}
        finally:
            backend.close()

    try:
        return work.run(f"synthesize.{locale.tag}", (SYNTH_VERSION, translate_key, analysis.keys["diarize"],
                                                       options.voice_backend, voice_key,
                                                       str(options.voice_model or ""), match_key), compute)
    finally:
        backend.close()  # when the cached result was used, compute() never ran


def render_mix(analysis: Analysis, locale: Locale, synth: dict, options: PipelineOptions, work: WorkDir,
               synth_key: str) -> tuple[dict, str]:
    """Build the dub track and the final mix for ``locale``."""
    bed_path = work.path(analysis.stems.bed)
    names = {"dub": f"dub.{locale.tag}.wav", "mix": f"mix.{locale.tag}.wav"}

    def compute() -> dict:
        bed, rate = read_wav(bed_path)
        by_id = {s.id: s for s in analysis.transcript.segments}
        # Prosody: each original line's loudness (vs. the episode's median line) carries into its dub.
        dialogue, dialogue_rate = read_wav(work.path(analysis.stems.dialogue))
        energies = mix_stage.line_energies(to_mono(dialogue), dialogue_rate,
                                           [(by_id[line["id"]].start_ms, by_id[line["id"]].end_ms)
                                            for line in synth["lines"]])
        clips, prosody = [], []
        for line, energy in zip(synth["lines"], energies):
            samples, clip_rate = read_wav(work.path(line["clip"]))
            samples, gain_db = mix_stage.apply_prosody(to_mono(samples), clip_rate, energy)
            prosody.append({"id": line["id"], "energy_db": energy, "gain_db": gain_db})
            # Placed where it was fitted: silence borrowed before the line moves its start earlier.
            start = line.get("start_ms", by_id[line["id"]].start_ms)
            clips.append(mix_stage.PlacedClip(start, samples, clip_rate))
        dub = mix_stage.place_clips(clips, len(bed), rate)
        spans = [(s.start_ms, s.end_ms) for s in analysis.transcript.segments] if analysis.stems.bed_has_dialogue \
            else []
        extra = {}
        if options.mix.keep_nonverbal and analysis.stems.vocals_alone:
            dubbed = [(s.start_ms, s.end_ms) for s in analysis.transcript.segments] + \
                [(c.start_ms, c.start_ms + len(c.samples) * 1000 // c.rate) for c in clips]
            bed, extra["nonverbal_ms"] = mix_stage.add_nonverbal(bed, rate, dialogue, dialogue_rate, dubbed)
        mixed, loudness = mix_stage.mix(bed, dub, rate, options.mix, spans)
        write_wav(work.path(names["dub"]), dub, rate)
        write_wav(work.path(names["mix"]), mixed, rate)
        return {"rate": rate, "loudness": loudness, "prosody": prosody, **extra, **names}

    return work.run(f"mix.{locale.tag}", (mix_stage.VERSION, synth_key, analysis.keys["separate"], options.mix),
                    compute, files=tuple(names.values()))


def lipsync(analysis: Analysis, locale: Locale, picture: Path, mixed: dict, segments: list[Segment],
            options: PipelineOptions, work: WorkDir, mix_key: str) -> tuple[dict, Path]:
    """Re-lip-sync faces to the dub when a Wav2Lip checkpoint is given; returns (result, picture to export)."""
    from localize.stages.lipsync import VERSION as LIPSYNC_VERSION
    from localize.stages.lipsync.stage import LipsyncOptions, run_lipsync

    checkpoint = options.lipsync_checkpoint
    if checkpoint is None:
        skipped = run_lipsync(picture, np.zeros(0, dtype=np.float32), [], work.path("unused"), LipsyncOptions())
        return dataclasses.asdict(skipped), picture
    out_video = work.path(f"lipsync.{locale.tag}.mkv")
    stat = Path(checkpoint).stat() if Path(checkpoint).exists() else None
    checkpoint_id = (str(checkpoint), stat.st_size, stat.st_mtime_ns) if stat else str(checkpoint)

    def compute() -> dict:
        dub, rate = read_wav(work.path(mixed["dub"]))
        lines = [(seg.start_ms, seg.end_ms) for seg in segments]
        result = run_lipsync(picture, resample(to_mono(dub), rate, 16000), lines, out_video,
                             LipsyncOptions(checkpoint=Path(checkpoint)))
        return dataclasses.asdict(result)

    data, _key = work.run(f"lipsync.{locale.tag}", (LIPSYNC_VERSION, mix_key, checkpoint_id, str(picture)), compute)
    return data, (out_video if out_video.exists() and data.get("output") else picture)


def write_report(path: Path, episode: Path, analysis: Analysis, locale: Locale, segments: list[Segment],
                 translations: list[dict], synth: dict, mixed: dict, work: WorkDir, options: PipelineOptions,
                 outputs: dict[str, Path], lipsync_result: dict) -> dict:
    media = analysis.ingest.media
    by_id = {line["id"]: line for line in synth["lines"]}
    prosody = {line["id"]: line for line in mixed.get("prosody", [])}
    report = {
        "tool": {"name": "localize", "version": __version__},
        "ai_generated": True,
        "ai_label": export_stage.AI_LABEL,
        "source": {"path": str(episode), "sha256": analysis.ingest.digest, "duration": media.duration_ms / 1000,
                   "width": media.width, "height": media.height, "fps": round(media.fps, 3),
                   "audio_channels": media.audio_channels, "language": analysis.transcript.language},
        "locale": locale.tag,
        "backends": {"separation": analysis.stems.backend, "transcription": options.transcribe.model,
                     "translation": list(options.translators), "voice": synth["backend"]},
        "stages": [{"stage": r.stage, "seconds": r.seconds, "cached": r.cached} for r in work.records],
        "burned_in_subtitles": {"band": dataclasses.asdict(analysis.hardsub.band) if analysis.hardsub.band else None,
                                "events": len(analysis.hardsub.events),
                                "removed": analysis.picture != episode},
        "onscreen_text": [dataclasses.asdict(item) for item in analysis.hardsub.onscreen],
        "loudness": mixed["loudness"],
        # With --keep-nonverbal: how much of the original gasps, sobs and laughter went back into the bed.
        **({"nonverbal_kept_ms": mixed["nonverbal_ms"]} if "nonverbal_ms" in mixed else {}),
        "lipsync": {k: lipsync_result.get(k) for k in ("applied", "reason", "frames_changed", "frames_total",
                                                        "face_frames", "detector", "device")},
        "speakers": [{"id": s.id, "gender": s.gender, "f0_median_hz": s.f0_median_hz, "segments": s.segments,
                      "voice": synth["voices"].get(s.id)} for s in analysis.speakers],
        "segments": [{
            "id": seg.id, "start": seg.start_ms / 1000, "end": seg.end_ms / 1000, "speaker": seg.speaker,
            "speaker_confidence": seg.speaker_confidence, "source_text": seg.source_text, "text": seg.text, "origin": seg.origin,
            "translation_backend": tr["backend"], "translation_problems": tr["problems"],
            "speed": by_id[seg.id]["speed"], "stretch": by_id[seg.id]["stretch"], "fits": by_id[seg.id]["fits"],
            "dub_start": by_id[seg.id].get("start_ms", seg.start_ms) / 1000,
            "borrowed_ms": [by_id[seg.id].get("borrowed_before_ms", 0), by_id[seg.id].get("borrowed_after_ms", 0)],
            "energy_db": prosody.get(seg.id, {}).get("energy_db"), "gain_db": prosody.get(seg.id, {}).get("gain_db"),
        } for seg, tr in zip(segments, translations)],
        "outputs": {name: str(p) for name, p in outputs.items()},
    }
    write_json_atomic(path, report)
    return report


def render_market(episode: Path, analysis: Analysis, locale: Locale, out_dir: Path, options: PipelineOptions,
                  work: WorkDir) -> Path:
    """Translate, voice, mix, subtitle and export one market; returns the report path."""
    profile = options.profile
    if profile is not None:  # the profile's loudness target goes into the mix
        options = dataclasses.replace(options, mix=profile.mix_options(options.mix))
    outputs = output_paths(out_dir, episode.stem, locale) if profile is None else \
        profile.output_paths(out_dir, episode, locale)
    translations, translate_key = translate(analysis, locale, options, work, outputs["report"])
    segments = [dataclasses.replace(seg, text=tr["text"]) for seg, tr in zip(analysis.transcript.segments,
                                                                               translations)]
    media = analysis.ingest.media
    width, height = (media.height, media.width) if media.rotation in (90, 270) else (media.width, media.height)
    cues = subtitle_stage.build_cues(segments, locale)
    ass = work.path(f"subtitles.{locale.tag}.ass")
    band = analysis.hardsub.band
    placement = subtitle_stage.Placement.from_band(band) if band is not None else None
    subtitle_stage.write_subtitles(cues, locale, width, height, ass, "ass", placement=placement)

    final_job = export_stage.ExportJob(
        picture=analysis.picture, audio=work.path(f"mix.{locale.tag}.wav"), subtitles_ass=ass, cues=cues,
        locale=locale, width=width, height=height, title=f"{episode.stem} ({locale.tag})", video_out=outputs["video"],
        srt_out=outputs["srt"], encoding=options.encoding, profile=profile, outputs=outputs,
        series=episode.parent.name, episode=episode.stem, work_dir=work.root, true_peak_db=options.mix.true_peak_db)
    # The market's files are written under a hidden folder and appear together at the end, report last:
    # an interrupted run leaves the previous set as it was, never half of a new one. (An HLS package
    # is its own unit: its renditions are added under the package's lock.)
    package = outputs.get("hls")
    flat = {role: path for role, path in outputs.items() if role != "report"
            and (package is None or not (path == package or package in path.parents))}
    with staged_outputs(out_dir, f"{episode.stem}.{locale.tag}") as stage:
        staged = {**outputs, **stage.paths({**flat, "report": outputs["report"]})}
        job = dataclasses.replace(final_job, video_out=staged["video"], srt_out=staged["srt"], outputs=staged)
        # Without lip-sync the picture is known now: x264 encodes it while Python voices and mixes.
        picture_task = export_stage.start_picture(job) if options.lipsync_checkpoint is None else None
        try:
            synth, synth_key = synthesize(analysis, locale, segments, options, work, translate_key)
            mixed, mix_key = render_mix(analysis, locale, synth, options, work, synth_key)
            lipsync_result, picture = lipsync(analysis, locale, analysis.picture, mixed, segments, options, work,
                                              mix_key)
            job = dataclasses.replace(job, picture=picture, audio=work.path(mixed["mix"]),
                                      picture_task=picture_task if picture == analysis.picture else None)

            def export_market() -> dict:
                made = export_stage.export(job)
                return {role: str(stage.final(path)) for role, path in made.items()}

            # Absolute output paths: a deleted or moved output forces a new render.
            work.run(f"export.{locale.tag}", (export_stage.VERSION, mix_key, analysis.keys["ingest"],
                                              file_digest(ass), str(picture), options.encoding,
                                              str(outputs["video"]), *((profile.key(),) if profile else ())),
                     export_market, files=tuple(str(p) for p in export_stage.delivered_files(final_job)))
        finally:
            if picture_task is not None:
                picture_task.close()  # keeps a finished picture for later runs, stops an unfinished one
        if options.keep_stems:
            separate_stage.copy_stem(work.path(analysis.stems.bed), staged["bed"])
            separate_stage.copy_stem(work.path(mixed["dub"]), staged["dialogue"])
        listed = {role: outputs[role] for role in outputs
                  if role in ("video", "srt", "report") or outputs[role].exists() or staged[role].exists()}
        write_report(staged["report"], episode, analysis, locale, segments, translations, synth, mixed, work,
                     options, listed, lipsync_result)
    return outputs["report"]


def work_dir_for(episode: Path, digest: str, out_dir: Path, options: PipelineOptions) -> WorkDir:
    root = options.work_root or out_dir / ".localize-work"
    return WorkDir(Path(root) / f"{episode.stem}-{digest[:12]}")


def localize_episode(episode: Path, locales: list[str], out_dir: Path,
                     options: PipelineOptions = PipelineOptions()) -> list[Path]:
    """Localize ``episode`` into each of ``locales``; returns the report paths.

    Analysis runs once; each market is rendered from it. Outputs follow
    :func:`output_paths` and are written atomically.
    """
    episode = Path(episode)
    targets = [get_locale(tag) for tag in locales]
    ingest_stage.check_readable(episode)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    ensure_writable(out_dir)
    digest = file_digest(episode)
    work = work_dir_for(episode, digest, out_dir, options)
    analysis = analyse(episode, options, work, digest)
    analysis_records = list(work.records)
    reports = []
    for locale in targets:
        work.records = list(analysis_records)
        reports.append(render_market(episode, analysis, locale, out_dir, options, work))
    return reports


def load_report(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))

