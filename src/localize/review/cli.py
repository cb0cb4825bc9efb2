"""``localize review OUT_DIR``: serve the desk, or export/import a file and render what it changed."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click

from localize.errors import UsageError

TOKEN_ENV = "LOCALIZE_REVIEW_TOKEN"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def review_token(host: str) -> str | None:
    """The token requests must carry: required off loopback, used on loopback when set."""
    token = os.environ.get(TOKEN_ENV) or None
    if token is None and not is_loopback(host):
        raise UsageError(f"refusing to serve the review desk on {host} without a token: set {TOKEN_ENV} "
                         f"(every request must then carry it), or bind 127.0.0.1")
    if token is not None and len(token) < 16:
        raise UsageError(f"{TOKEN_ENV} is too short: use at least 16 random characters")
    return token


def serve(out_dir: Path, host: str, port: int) -> None:
    import uvicorn

    from localize.review.server import create_app

    token = review_token(host)
    app = create_app(out_dir, token=token, loopback_only=is_loopback(host))
    url = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    click.echo(f"review desk for {Path(out_dir).resolve()} at {url}", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def export_file(out_dir: Path, target: Path, report_id: str | None) -> None:
    from localize.review.desk import ReviewDesk
    from localize.review.files import export_csv, report_for_file

    if target.suffix.lower() != ".csv":
        raise UsageError(f"--export writes a CSV file, not {target.name}")
    desk = ReviewDesk(out_dir)
    ref = desk.report(report_id) if report_id else report_for_file(desk, target)
    rows = export_csv(desk, ref, target)
    click.echo(f"{target}: {rows} lines of {ref.id}")


def import_file(out_dir: Path, source: Path, report_id: str | None, render: bool) -> None:
    from localize.errors import InputError
    from localize.review.desk import ReviewDesk
    from localize.review.files import import_csv, import_srt, report_for_file
    from localize.review.render import render_report

    if not source.is_file():
        raise InputError(f"no such file: {source}")
    desk = ReviewDesk(out_dir)
    ref = desk.report(report_id) if report_id else report_for_file(desk, source)
    suffix = source.suffix.lower()
    if suffix == ".csv":
        changed = import_csv(desk, ref, source)
    elif suffix == ".srt":
        changed = import_srt(desk, ref, source)
    else:
        raise UsageError(f"--import takes a .csv or an .srt file, not {source.name}")
    stale = desk.summary(ref)["stale"]
    click.echo(f"{source.name}: {changed} lines of {ref.id} changed, {stale} to re-voice")
    if render:
        result = render_report(desk, ref)
        click.echo(f"rendered {ref.id} in {result.seconds:.1f} s: {result.lines_revoiced} lines re-voiced "
                   f"({', '.join(result.stages_run) or 'nothing else'} ran)")
