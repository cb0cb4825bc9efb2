"""Review from files: a CSV in ElevenLabs' manual-dubbing columns, or an SRT edited in Subtitle Edit or Aegisub.

CSV columns: ``speaker,start_time,end_time,transcription,translation`` (times ``HH:MM:SS,mmm``;
plain seconds are read too). Each row belongs to the report line it overlaps most; a changed
translation becomes a text edit and a changed speaker (a character's name or a speaker id) a
reassignment. An SRT's cues are matched to the lines the same way (a line split over several
cues gets their texts joined). Either way the edits go through :class:`ReviewDesk`, like the web
page's, and the caller then renders.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from localize.errors import InputError
from localize.fsutil import write_text_atomic
from localize.review.desk import ReportRef, ReviewDesk

CSV_COLUMNS = ("speaker", "start_time", "end_time", "transcription", "translation")
_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")


def timecode(seconds: float) -> str:
    """``HH:MM:SS,mmm``."""
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def parse_time(text: str) -> float:
    """Seconds from ``HH:MM:SS,mmm``, ``MM:SS.mmm`` or plain seconds."""
    text = text.strip()
    match = _TIME.match(text)
    if match:
        hours, minutes, secs, frac = match.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + (int(frac.ljust(3, "0")) / 1000 if frac else 0)
    try:
        return float(text)
    except ValueError:
        raise InputError(f"not a time: {text!r} (use HH:MM:SS,mmm or seconds)") from None


def export_csv(desk: ReviewDesk, ref: ReportRef, path: Path) -> int:
    """Write the report's lines (edits applied) as CSV; returns how many rows."""
    lines = desk.lines(ref)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        writer.writerow([line["character"], timecode(line["start"]), timecode(line["end"]), line["source_text"],
                         line["text"]])
    write_text_atomic(Path(path), buffer.getvalue())
    return len(lines)


def _best_line(lines: list[dict], start: float, end: float) -> dict | None:
    def overlap(line: dict) -> float:
        return min(end, line["end"]) - max(start, line["start"])

    best = max(lines, key=overlap, default=None)
    return best if best is not None and overlap(best) > 0 else None


def _read_csv(path: Path) -> list[dict]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    missing = [c for c in CSV_COLUMNS if rows and c not in rows[0]] or ([] if rows else ["any row"])
    if missing:
        raise InputError(f"{path}: missing {', '.join(missing)} (columns: {','.join(CSV_COLUMNS)})")
    return rows


def import_csv(desk: ReviewDesk, ref: ReportRef, path: Path) -> int:
    """Apply a CSV's translations and speakers to the report's lines; returns how many lines changed."""
    lines = desk.lines(ref)
    changed = 0
    for number, row in enumerate(_read_csv(path), start=2):
        line = _best_line(lines, parse_time(row["start_time"]), parse_time(row["end_time"]))
        if line is None:
            raise InputError(f"{path}:{number}: no line of {ref.id} at {row['start_time']}-{row['end_time']}")
        text = " ".join((row.get("translation") or "").split())
        speaker = (row.get("speaker") or "").strip()
        edit = {}
        if text and text != line["text"]:
            edit["text"] = text
        if speaker and speaker not in (line["speaker"], line["character"]):
            edit["speaker"] = speaker
        if edit:
            desk.edit(ref, line["id"], **edit)
            changed += 1
    return changed


def import_srt(desk: ReviewDesk, ref: ReportRef, path: Path) -> int:
    """Apply an edited SRT's texts to the report's lines; returns how many lines changed."""
    import pysubs2

    from localize.stages.translate.validate import join_lines

    try:
        subs = pysubs2.load(str(path), encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pysubs2.exceptions.Pysubs2Error, ValueError) as exc:
        raise InputError(f"cannot read subtitles {path}: {exc}") from None
    lines = desk.lines(ref)
    texts: dict[int, list[str]] = {}
    for event in subs.events:
        line = _best_line(lines, event.start / 1000, event.end / 1000)
        if line is not None and event.plaintext.strip():
            texts.setdefault(line["id"], []).append(join_lines(event.plaintext.split("\n")))
    changed = 0
    for line in lines:
        text = " ".join(" ".join(texts.get(line["id"], [])).split())
        if text and text != line["text"]:
            desk.edit(ref, line["id"], text=text)
            changed += 1
    return changed


def report_for_file(desk: ReviewDesk, path: Path) -> ReportRef:
    """The report an imported file is for: ``EP.LOCALE.srt`` names it; a CSV names it the same way
    (``EP.LOCALE.csv``) or, when the folder holds a single report, is for that one."""
    stem = Path(path).stem
    reports = desk.reports()
    for ref in reports:
        if ref.id == stem:
            return ref
    if Path(path).suffix.lower() == ".csv" and len(reports) == 1:
        return reports[0]
    raise InputError(f"{Path(path).name}: name it after its report (one of: {', '.join(r.id for r in reports)})")
