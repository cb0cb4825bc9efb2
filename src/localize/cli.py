"""Command line: ``localize EPISODE --to LOCALE`` plus the ``sample``, ``translate`` and ``models`` commands.

Heavy modules are imported inside the commands so ``localize --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .errors import LocalizeError

EPISODE_COMMAND = "run"


class EpisodeFirstGroup(click.Group):
    """A group whose first argument may be an episode path: ``localize ep.mp4 ...`` means ``localize run ep.mp4``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [EPISODE_COMMAND, *args]
        return super().parse_args(ctx, args)


@click.group(cls=EpisodeFirstGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="localize")
def cli() -> None:
    """Dub and subtitle Chinese microdramas for overseas markets.

    \b
    localize EPISODE.mp4 --to en-US [--to es-MX ...] [--out DIR]
    localize sample --out DIR
    localize translate SRC.srt --to en-US --out OUT.srt
    """


def _settings(config: Path | None):
    from .config import load_settings

    return load_settings(config)


@cli.command(EPISODE_COMMAND)
@click.argument("episode", type=click.Path(path_type=Path))
@click.option("--to", "locales", multiple=True, required=True, metavar="LOCALE",
              help="Target market, e.g. en-US. Repeat for several markets.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: beside the episode).")
@click.option("--glossary", type=click.Path(path_type=Path), default=None, help="Series glossary YAML.")
@click.option("--keep-stems", is_flag=True, help="Also write the background and dub stems as WAV.")
@click.option("--bed", "bed_file", type=click.Path(path_type=Path), default=None,
              help="A music-and-effects stem to use as the background instead of separating.")
@click.option("--speakers", "num_speakers", type=click.IntRange(1, 20), default=None,
              help="Number of speakers, when known (default: found automatically).")
@click.option("--translator", "translators", multiple=True, help="Translation backend(s), in fallback order.")
@click.option("--voice", "voice_backend", default=None, help="Voice backend (default: kokoro).")
@click.option("--separator", default=None, help="Separation backend (default from config).")
@click.option("--work-dir", type=click.Path(path_type=Path), default=None,
              help="Where the episode's cached artifacts live (default: OUT/.localize-work).")
@click.option("--lipsync-checkpoint", type=click.Path(path_type=Path), default=None,
              help="Wav2Lip or Wav2Lip-GAN generator checkpoint (.pth); without one, lip-sync is skipped.")
@click.option("--config", type=click.Path(path_type=Path), default=None, help="Config file (YAML).")
def run_episode(episode: Path, locales: tuple[str, ...], out_dir: Path | None, glossary: Path | None,
                keep_stems: bool, bed_file: Path | None, num_speakers: int | None, translators: tuple[str, ...],
                voice_backend: str | None, separator: str | None, work_dir: Path | None,
                lipsync_checkpoint: Path | None, config: Path | None) -> None:
    """Localize EPISODE into each --to market: dubbed MP4, SRT and a JSON report."""
    from .ffmpeg import VideoEncoding
    from .locales import get_locale
    from .pipeline import PipelineOptions, load_report, localize_episode
    from .stages.mix import MixOptions
    from .stages.transcribe import TranscribeOptions

    settings = _settings(config)
    for tag in locales:
        get_locale(tag)  # refuse an unknown locale before any work
    options = PipelineOptions(
        transcribe=TranscribeOptions(model=settings.transcription_model, language=settings.source_language),
        separator="file" if bed_file else (separator or settings.separator),
        bed_file=bed_file,
        num_speakers=num_speakers,
        translators=translators or settings.translators,
        voice_backend=voice_backend or settings.voice_backend,
        glossary=glossary,
        keep_stems=keep_stems,
        mix=MixOptions(target_lufs=settings.target_lufs, true_peak_db=settings.true_peak_db),
        encoding=VideoEncoding(crf=settings.crf, preset=settings.preset),
        work_root=work_dir or (Path(settings.work_dir) if settings.work_dir else None),
        lipsync_checkpoint=lipsync_checkpoint or (Path(settings.lipsync_checkpoint)
                                                  if settings.lipsync_checkpoint else None),
    )
    reports = localize_episode(episode, list(locales), out_dir or episode.parent, options)
    for report in reports:
        lipsync = load_report(report).get("lipsync") or {}
        if not lipsync.get("applied"):
            click.echo(f"localize: note: lip-sync {lipsync.get('reason', 'skipped')}", err=True)
        click.echo(str(report.with_suffix(".mp4")))


@cli.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("sample"), show_default=True,
              help="Folder for the episode, its ground truth and its stems.")
@click.option("--script", type=click.Path(path_type=Path), default=None,
              help="Episode script YAML (default: samples/episode01.yaml).")
@click.option("--name", default="episode", show_default=True, help="File name stem of the episode.")
def sample(out_dir: Path, script: Path | None, name: str) -> None:
    """Generate a synthetic Chinese microdrama episode with ground truth."""
    from .sample import generate_sample

    episode = generate_sample(out_dir, script, name=name)
    click.echo(str(episode.video))


@cli.command("translate")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--to", "locale", required=True, metavar="LOCALE", help="Target locale, e.g. en-US.")
@click.option("--glossary", type=click.Path(path_type=Path), default=None, help="Series glossary YAML.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="Output subtitle file.")
@click.option("--translator", "translators", multiple=True, help="Translation backend(s), in fallback order.")
@click.option("--config", type=click.Path(path_type=Path), default=None, help="Config file (YAML).")
def translate_command(source: Path, locale: str, glossary: Path | None, out_path: Path,
                      translators: tuple[str, ...], config: Path | None) -> None:
    """Translate a subtitle file event by event, keeping every timing."""
    from .errors import InputError
    from .locales import get_locale
    from .translate import load_glossary, translate_srt

    target = get_locale(locale)
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    settings = _settings(config)
    count = translate_srt(source, out_path, target, load_glossary(glossary), translators or settings.translators)
    click.echo(f"{out_path} ({count} events)")


@cli.command()
@click.option("--prepare", is_flag=True, help="Assemble every embedded model now (done by `make setup`).")
def models(prepare: bool) -> None:
    """List the embedded models and where they are assembled."""
    from . import models as embedded

    if prepare:
        for name, path in embedded.prepare_all().items():
            click.echo(f"{name}: {path}")
        from .translate.gemma import prepare as prepare_gemma

        click.echo(f"gemma-3-270m (transformers): {prepare_gemma()}")
        return
    click.echo(f"models folder: {embedded.models_dir()}")
    for name in embedded.EMBEDDED:
        click.echo(f"  {name}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn :class:`LocalizeError` into one line and an exit code."""
    try:
        cli.main(args=argv, prog_name="localize", standalone_mode=False)
    except LocalizeError as exc:
        click.echo(f"localize: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("localize: interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("localize: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
