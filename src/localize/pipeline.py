"""The pipeline: analyse an episode once, then render each target market from that analysis.

Both halves are declared graphs of stages (:mod:`localize.graph`) run by
:class:`localize.stages.contract.Runner`, which keys every stage's artifact in the episode's work
directory from the stage's declarations (see docs/architecture.md). This module chooses the
work dir, stages the outputs and writes the report.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from localize import __version__
from localize.errors import OutputError
from localize.ffmpeg import VideoEncoding
from localize.fsutil import atomic_path, file_digest, staged_outputs, write_json_atomic
from localize.graph import ANALYSIS, MARKET
from localize.locales import Locale, get_locale
from localize.model import Transcript, with_speakers
from localize.progress import announce_stage
from localize.qc import QcInputs, qc_path, write_qc_page
from localize.review.runs import save_run_options
from localize.stages.contract import Runner
from localize.stages.cast import save as cast_save
from localize.stages.cast.stage import STAGE as CAST_STAGE
from localize.stages.diarize import Diarization, Speaker
from localize.stages.export import AI_LABEL, ExportJob
from localize.stages.hardsubs import HardsubAnalysis, HardsubOptions
from localize.stages.hardsubs.stage import Picture
from localize.stages.ingest import IngestResult, check_readable
from localize.stages.ingest.stage import Source
from localize.stages.mix import MixOptions
from localize.stages.separate import Stems, copy_stem
from localize.stages.transcribe import TranscribeOptions
from localize.workdir import WORK_FOLDER, WorkDir

if TYPE_CHECKING:
    from localize.stages.export.profiles import ExportProfile


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that changes what the pipeline produces."""

    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)
    separator: str = "dfn-repet"
    bed_file: Path | None = None
    separator_model: Path | None = None  # checkpoint of a separator loaded from a file (``demucs``)
    num_speakers: int | None = None
    translators: tuple[str, ...] = ("gemma",)
    translator_model: str | None = None  # the GGUF file of translator "llama" (--translator-model)
    voice_backend: str = "kokoro"
    voice_model: Path | None = None  # model folder of a neural (cloning) voice backend
    voice_match: bool = True  # move each dub voice toward its actor's pitch and envelope (tts.convert)
    naturalness: bool = True  # DNSMOS and the speaking rate of each market's dub, in the report
    glossary: Path | None = None
    keep_stems: bool = False
    mix: MixOptions = field(default_factory=MixOptions)
    encoding: VideoEncoding = field(default_factory=VideoEncoding)
    work_root: Path | None = None
    lipsync_checkpoint: Path | None = None
    hardsubs: HardsubOptions = field(default_factory=HardsubOptions)
    # Delivery profile (localize.stages.export.profiles.ExportProfile); None keeps the plain MP4 export.
    profile: "ExportProfile | None" = None

    def absolute(self) -> "PipelineOptions":
        """These options with every path made absolute, as the pipeline takes them: the work dir's
        records and a worker elsewhere (Ray) must not read a path against another current folder."""
        changes = {f.name: Path(value).absolute() for f in dataclasses.fields(self)
                   if isinstance(value := getattr(self, f.name), Path)}
        return dataclasses.replace(self, **changes)


@dataclass
class Analysis:
    """What every market shares: the analysis graph's artifacts, held by the runner that made them."""

    runner: Runner

    @property
    def ingest(self) -> IngestResult:
        return self.runner.artifacts["media"]

    @property
    def stems(self) -> Stems:
        return self.runner.artifacts["stems"]

    @property
    def transcript(self) -> Transcript:
        """The fused transcript, each segment labelled with its speaker."""
        transcript = self.runner.artifacts["transcript"]
        diarization = self.diarization
        return dataclasses.replace(transcript, segments=with_speakers(transcript.segments, diarization.labels,
                                                                      diarization.confidence))

    @property
    def diarization(self) -> Diarization:
        return self.runner.artifacts["speakers"]

    @property
    def speakers(self) -> list[Speaker]:
        return self.diarization.speakers

    @property
    def hardsub(self) -> HardsubAnalysis:
        return self.runner.artifacts["hardsub"]

    @property
    def picture(self) -> Picture:
        """The episode's picture with its burned-in subtitles removed (or the episode itself); waits
        for the removal when it still runs beside the first market."""
        return self.runner.artifact("picture")


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


def analyse(episode: Path, options: PipelineOptions, work: WorkDir, digest: str, *,
            picture_later: bool = False) -> Analysis:
    """Run the analysis graph (ingest, separate, transcribe, burned-in subtitles, diarize), each stage cached.

    With ``picture_later`` the subtitle removal may still be running when this returns: the first
    market's translation and voices start beside it, and what needs the picture waits for it.
    """
    runner = Runner(work, options, episode, on_stage=announce_stage)
    runner.give("source", Source(path=str(episode), digest=digest), digest)
    runner.run(ANALYSIS, background=("picture",) if picture_later else ())
    return Analysis(runner)


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


def _asr_confidence(segment) -> float | None:
    """Whisper's mean word probability over the line (None without word timings)."""
    if not segment.words:
        return None
    return round(sum(word.probability for word in segment.words) / len(segment.words), 3)


def write_report(path: Path, episode: Path, analysis: Analysis, locale: Locale, market: dict, work: WorkDir,
                 options: PipelineOptions, outputs: dict[str, Path]) -> dict:
    """The market's JSON report: source facts, stage timings, loudness, speakers and every segment."""
    media = analysis.ingest.media
    segments = analysis.transcript.segments
    translations, synth, mixed = market["translations"], market["dub"], market["mix"]
    lipsync_result = market["lipsync"]
    by_id = {line["id"]: line for line in synth["lines"]}
    prosody = {line["id"]: line for line in mixed.get("prosody", [])}
    heard = market.get("naturalness") or {}
    rated = {line["id"]: line for line in heard.get("lines", [])}
    report = {
        "tool": {"name": "localize", "version": __version__},
        "ai_generated": True,
        "ai_label": AI_LABEL,
        # Absolute: the review desk renders the market again from wherever it is started.
        "source": {"path": str(episode.resolve()), "sha256": analysis.ingest.digest,
                   "duration": media.duration_ms / 1000,
                   "width": media.width, "height": media.height, "fps": round(media.fps, 3),
                   "audio_channels": media.audio_channels, "language": analysis.transcript.language,
                   **({"language_note": analysis.transcript.language_note}
                      if analysis.transcript.language_note else {}),
                   # Variable frame rate or an odd size: the picture was conformed first (why, here).
                   **({"conformed": analysis.ingest.conformed} if analysis.ingest.conformed else {})},
        "locale": locale.tag,
        "backends": {"separation": analysis.stems.backend, "transcription": options.transcribe.model,
                     "translation": list(options.translators), "voice": synth["backend"]},
        # cpu_seconds: the process's CPU while the stage ran (stages side by side share it).
        "stages": [{"stage": r.stage, "seconds": r.seconds, "cpu_seconds": r.cpu_seconds,
                    "started_at": r.started_at, "cached": r.cached,
                    **({"units_made": r.units_made, "units_cached": r.units_cached}
                       if r.units_made or r.units_cached else {})} for r in work.records],
        "burned_in_subtitles": {"band": dataclasses.asdict(analysis.hardsub.band) if analysis.hardsub.band else None,
                                "events": len(analysis.hardsub.events),
                                "removed": analysis.runner.artifact("picture").removed},
        "onscreen_text": [dataclasses.asdict(item) for item in analysis.hardsub.onscreen],
        "loudness": mixed["loudness"],
        # DNSMOS of the dub (1-5, length-weighted over its lines) and the rate it really speaks at.
        **({"naturalness": heard["episode"]} if "episode" in heard else {}),
        # With --keep-nonverbal: how much of the original gasps, sobs and laughter went back into the bed.
        **({"nonverbal_kept_ms": mixed["nonverbal_ms"]} if "nonverbal_ms" in mixed else {}),
        "lipsync": {k: lipsync_result.get(k) for k in ("applied", "reason", "frames_changed", "frames_total",
                                                        "face_frames", "detector", "device")},
        "speakers": [{"id": s.id, "gender": s.gender, "f0_median_hz": s.f0_median_hz, "segments": s.segments,
                      "character": synth.get("characters", {}).get(s.id),
                      "voice": synth["voices"].get(s.id)} for s in analysis.speakers],
        "segments": [{
            "id": seg.id, "start": seg.start_ms / 1000, "end": seg.end_ms / 1000, "speaker": seg.speaker,
            "speaker_confidence": seg.speaker_confidence,
            "source_text": seg.source_text, "text": tr["text"], "origin": seg.origin,
            "translation_backend": tr["backend"], "translation_problems": tr["problems"],
            # Mean token log-probability of the model's choice (Gemma, llama); low ones carry "low-confidence".
            "translation_confidence": tr.get("confidence"),
            "speed": by_id[seg.id]["speed"], "stretch": by_id[seg.id]["stretch"], "fits": by_id[seg.id]["fits"],
            "dub_start": by_id[seg.id].get("start_ms", seg.start_ms) / 1000,
            "dub_end": (by_id[seg.id].get("start_ms", seg.start_ms) + by_id[seg.id].get("duration_ms", 0)) / 1000,
            "asr_confidence": _asr_confidence(seg),
            "borrowed_ms": [by_id[seg.id].get("borrowed_before_ms", 0), by_id[seg.id].get("borrowed_after_ms", 0)],
            "energy_db": prosody.get(seg.id, {}).get("energy_db"), "gain_db": prosody.get(seg.id, {}).get("gain_db"),
            **({"dnsmos": rated[seg.id]["dnsmos"], "chars_per_second": rated[seg.id]["chars_per_second"]}
               if seg.id in rated else {}),
            # A line no voice can say (punctuation only) stays silent; the reason says why.
            **({"unvoiced": by_id[seg.id]["unvoiced"]} if by_id[seg.id].get("unvoiced") else {}),
        } for seg, tr in zip(segments, translations)],
        "outputs": {name: str(p) for name, p in outputs.items()},
        "work_dir": str(work.root.resolve()),
        "cast_file": str(Path(synth["cast"]).resolve()) if synth.get("cast") else None,
    }
    write_json_atomic(path, report)
    return report


def cast_file_for(episode: Path, work: WorkDir, options: PipelineOptions) -> Path:
    """The series cast file: ``voices/<series>.yaml`` beside the series folder when that ``voices/``
    folder exists, else in the output folder's ``voices/`` (the work root's, when one is set)."""
    from localize.stages import cast as cast_module

    # The work dir is <out>/.localize-work/<episode> unless a work root was given.
    out_dir = Path(options.work_root) if options.work_root else work.root.parent.parent
    return cast_module.cast_path(episode, out_dir)


def render_market(episode: Path, analysis: Analysis, locale: Locale, out_dir: Path, options: PipelineOptions,
                  work: WorkDir) -> Path:
    """Run the market graph (translate, subtitles, cast, voices, mix, lip-sync, export); returns the report path."""
    from localize.stages.export.stage import MarketDelivery
    from localize.stages.translate.memory import TranslationMemory
    from localize.stages.translate.stage import memory_path_in

    # Absolute, as the work dir records them: a relative path there is read as one inside it.
    out_dir, options = Path(out_dir).absolute(), options.absolute()
    profile = options.profile
    if profile is not None:  # the profile's loudness target goes into the mix
        options = dataclasses.replace(options, mix=profile.mix_options(options.mix))
    outputs = output_paths(out_dir, episode.stem, locale) if profile is None else \
        profile.output_paths(out_dir, episode, locale)
    # Edits a person made to segments[].text in the previous report go into the series memory first.
    memory = TranslationMemory(memory_path_in(work))
    if import_report_edits(outputs["report"], work.artifact(f"translate.{locale.tag}"), memory, locale.tag):
        memory.save()
    media = analysis.ingest.media
    width, height = (media.height, media.width) if media.rotation in (90, 270) else (media.width, media.height)
    final_job = ExportJob(  # the picture and the subtitles come in as they are made
        picture=Path(), audio=work.path(f"mix.{locale.tag}.wav"), subtitles_ass=Path(), cues=[],
        locale=locale, width=width, height=height, title=f"{episode.stem} ({locale.tag})", video_out=outputs["video"],
        srt_out=outputs["srt"], encoding=options.encoding, profile=profile, outputs=outputs,
        series=episode.parent.name, episode=episode.stem, work_dir=work.root, true_peak_db=options.mix.true_peak_db)
    # The market's files are written under a hidden folder and appear together at the end, report last:
    # an interrupted run leaves the previous set as it was, never half of a new one. (An HLS package
    # is its own unit: its renditions are added under the package's lock.)
    package = outputs.get("hls")
    flat = {role: path for role, path in outputs.items() if role != "report"
            and (package is None or not (path == package or package in path.parents))}
    runner = analysis.runner.for_options(options)
    # The review desk renders this market again later with exactly these options.
    save_run_options(work.root, locale.tag, options)
    qc_page = qc_path(outputs["report"])
    with staged_outputs(out_dir, f"{episode.stem}.{locale.tag}") as staging:
        staged = {**outputs, **staging.paths({**flat, "qc": qc_page, "report": outputs["report"]})}
        delivery = MarketDelivery(job=dataclasses.replace(final_job, video_out=staged["video"], srt_out=staged["srt"],
                                                          outputs=staged),
                                  staging=staging, final_outputs=outputs)

        def subtitles_ready(subtitles: dict) -> None:
            delivery.with_subtitles(subtitles, work.root)
            if options.lipsync_checkpoint is None:  # x264 runs while Python voices, once the picture exists
                delivery.start_picture_when_ready(lambda: analysis.picture, episode, work.root)

        cast_updates: list = []
        try:
            market = runner.run(MARKET, locale=locale, after={"subtitles": subtitles_ready},
                                runtime={"delivery": delivery, "cast_file": cast_file_for(episode, work, options),
                                         "cast_updates": cast_updates})
        finally:
            delivery.close()
        if options.keep_stems:
            copy_stem(work.path(analysis.stems.bed), staged["bed"])
            copy_stem(work.path(market["mix"]["dub"]), staged["dialogue"])
        listed = {role: outputs[role] for role in outputs
                  if role in ("video", "srt", "report") or outputs[role].exists() or staged[role].exists()}
        report = write_report(staged["report"], episode, analysis, locale, market, work, options, listed)
        write_qc_page(staged["qc"], QcInputs(report=report, mix=work.path(market["mix"]["mix"]),
                                             target_lufs=options.mix.target_lufs, source=episode,
                                             picture=analysis.picture.video(episode, work.root),
                                             hardsub=analysis.hardsub, band=analysis.picture.clean(episode, work.root)))
    for path, cast in cast_updates:  # the market is delivered: its casting joins the series cast
        cast_save(cast, path)
    if cast_updates:  # the cast artifact now matches the file it wrote
        runner.rekey(CAST_STAGE, locale=locale, runtime={"cast_file": cast_file_for(episode, work, options)})
    return outputs["report"]


def check_options(options: PipelineOptions) -> None:
    """Refuse a bad option or settings file before any stage runs: every backend name is known,
    every file an option names exists, and the glossary parses."""
    from localize.errors import ConfigError, UsageError
    from localize.stages.hardsubs.remove import MODES
    from localize.stages.separate.registry import SEPARATORS
    from localize.stages.synthesize import VOICES
    from localize.stages.transcribe import TRANSCRIBERS
    from localize.stages.translate import TRANSLATORS, load_glossary

    for registry, names, option in ((SEPARATORS, [options.separator], "--separator"),
                                    (TRANSCRIBERS, [options.transcribe.model], "transcription_model"),
                                    (TRANSLATORS, list(options.translators), "--translator"),
                                    (VOICES, [options.voice_backend], "--voice")):
        for name in names:
            if name not in registry.names():
                raise UsageError(f"{option}: unknown {registry.kind} backend {name!r}; "
                                 f"choose one of: {', '.join(registry.names())}")
    from faster_whisper.tokenizer import _LANGUAGE_CODES as WHISPER_LANGUAGES

    if options.transcribe.language not in WHISPER_LANGUAGES:
        raise UsageError(f"--from: Whisper knows no language {options.transcribe.language!r} "
                         f"(use a code such as zh, yue, en, ja)")
    if options.hardsubs.removal not in MODES:
        raise UsageError(f"unknown subtitle removal mode {options.hardsubs.removal!r}; choose one of: "
                         f"{', '.join(MODES)}")
    for path, option in ((options.bed_file, "--bed"), (options.separator_model, "--separator-model"),
                         (options.voice_model, "--voice-model"), (options.lipsync_checkpoint, "--lipsync-checkpoint")):
        if path is not None and not Path(path).exists():
            raise ConfigError(f"{option}: {path} not found")
    load_glossary(options.glossary)


def work_dir_for(episode: Path, digest: str, out_dir: Path, options: PipelineOptions) -> WorkDir:
    root = options.work_root or out_dir / WORK_FOLDER
    return WorkDir(Path(root).resolve() / f"{episode.stem}-{digest[:12]}")


def localize_episode(episode: Path, locales: list[str], out_dir: Path,
                     options: PipelineOptions = PipelineOptions()) -> list[Path]:
    """Localize ``episode`` into each of ``locales``; returns the report paths.

    Analysis runs once; each market is rendered from it. Outputs follow
    :func:`output_paths` and are written atomically.
    """
    episode = Path(episode)
    # One market once, however often it was asked for.
    targets = list({locale.tag: locale for locale in (get_locale(tag) for tag in locales)}.values())
    check_options(options)
    options = options.absolute()
    check_readable(episode)
    # Absolute from here on: the report's outputs and work dir are read later from anywhere (the review
    # desk), and the work dir's records are looked for inside it unless absolute.
    out_dir = Path(out_dir).resolve()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    ensure_writable(out_dir)
    digest = file_digest(episode)
    work = work_dir_for(episode, digest, out_dir, options)
    try:
        analysis = analyse(episode, options, work, digest, picture_later=True)
    except BaseException:
        work.discard_if_unused()
        raise
    analysis_stages = {stage.name for stage in ANALYSIS.stages}
    reports = []
    for locale in targets:
        # Each market's report lists the analysis (the subtitle removal ends during the first market).
        work.records = [record for record in work.records if record.stage in analysis_stages]
        reports.append(render_market(episode, analysis, locale, out_dir, options, work))
    return reports


def load_report(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))

