"""The review model: a series output folder's reports, a person's edits to them, and which lines are stale.

Where edits live:

- a line's text and its approval: ``<work>/review.<locale>.json`` (the desk's record), and the
  text also in the series translation memory as a human edit, which the translate stage reads
  (so the edit survives any later ``localize`` run and carries to later episodes);
- who speaks a line: ``<work>/review.speakers.json``, the outside input of the ``reassign`` stage
  (:mod:`localize.stages.reassign`), one per episode since who speaks is not per market;
- a character's voice and name: the series cast file (``voices/<series>.yaml``), the outside input
  of the cast stage.

A line is *stale* when what it should say now (text, speaker, that speaker's voice) differs from
what its current clip was made from (the report of the last render). Rendering runs the market
graph again (:mod:`localize.review.render`), which re-voices exactly the lines whose clip inputs
changed.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localize.errors import ConfigError, InputError
from localize.fsutil import write_json_atomic
from localize.qc.flags import line_flags
from localize.stages.reassign import load_overrides, overrides_path, save_overrides
from localize.workdir import WORK_FOLDER

REPORT_SUFFIX = ".json"


class UnknownItem(InputError):
    """A report, line, speaker or job the desk does not have (HTTP 404)."""


class BadEdit(InputError):
    """An edit that cannot apply (HTTP 422): an empty text, a speaker not in the episode, a taken voice."""


def _is_report(data: Any) -> bool:
    return isinstance(data, dict) and (data.get("tool") or {}).get("name") == "localize" \
        and isinstance(data.get("segments"), list) and "locale" in data


@dataclass
class ReportRef:
    """One market's report in the output folder."""

    id: str  # the report's file stem, e.g. ``ep01.en-US``
    path: Path
    data: dict

    @property
    def locale(self) -> str:
        return self.data["locale"]

    @property
    def episode(self) -> str:
        return self.id[: -len(self.locale) - 1] if self.id.endswith("." + self.locale) else self.id

    @property
    def work_root(self) -> Path:
        """The episode's work dir: as the report records it, else its default place beside the report
        (older reports record none; a moved output folder took its ``.localize-work`` along)."""
        default = self.path.parent / WORK_FOLDER / f"{Path(self.data['source']['path']).stem}-" \
                                                   f"{self.data['source']['sha256'][:12]}"
        recorded = self.data.get("work_dir")
        if recorded and (Path(recorded).is_dir() or not default.is_dir()):
            return Path(recorded)
        return default

    @property
    def video(self) -> Path | None:
        """The delivered video, where the report says, or at the same place in a moved output folder."""
        video = (self.data.get("outputs") or {}).get("video")
        return self._here(Path(video)) if video else None

    def _here(self, recorded: Path) -> Path:
        """``recorded`` (an absolute path under the output folder when the report was written), in the
        output folder as it is now: the report's own folder, when the folder has moved since."""
        work_dir = Path(self.data.get("work_dir") or "")
        if recorded.exists() or work_dir.parent.name != WORK_FOLDER:
            return recorded
        try:  # the work dir's default place says where the output folder was
            moved = self.path.parent / recorded.relative_to(work_dir.parent.parent)
        except ValueError:
            return recorded
        return moved if moved.exists() else recorded

    def segment(self, segment_id: int) -> dict:
        for segment in self.data["segments"]:
            if segment["id"] == segment_id:
                return segment
        raise UnknownItem(f"{self.id} has no line {segment_id}")


class ReviewDesk:
    """The reports of one series output folder and the edits made to them.

    Methods are safe to call from several threads (the web app's requests and its render worker):
    every read-modify-write of the desk's files happens under one lock.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir).resolve()
        if not self.out_dir.is_dir():
            raise InputError(f"not a folder: {out_dir}")
        self.lock = threading.RLock()

    # -- reports ------------------------------------------------------------------------------

    def reports(self) -> list[ReportRef]:
        """Every localize report directly in the output folder, by id."""
        found = []
        for path in sorted(self.out_dir.glob(f"*{REPORT_SUFFIX}")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if _is_report(data) and path.resolve().parent == self.out_dir:
                found.append(ReportRef(id=path.stem, path=path, data=data))
        return found

    def report(self, report_id: str) -> ReportRef:
        """The report ``report_id`` (its file stem); :class:`UnknownItem` for any other name."""
        for ref in self.reports():
            if ref.id == report_id:
                return ref
        raise UnknownItem(f"no report {report_id!r} in {self.out_dir}")

    # -- the desk's record of edits -----------------------------------------------------------

    def _state_path(self, ref: ReportRef) -> Path:
        return ref.work_root / f"review.{ref.locale}.json"

    def _state(self, ref: ReportRef) -> dict:
        path = self._state_path(ref)
        if not path.is_file():
            return {"segments": {}}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data.setdefault("segments", {})
            return data
        except (OSError, ValueError) as exc:
            raise ConfigError(f"review record {path} is unreadable: {exc}") from None

    def _save_state(self, ref: ReportRef, state: dict) -> None:
        write_json_atomic(self._state_path(ref), state)

    # -- the cast -----------------------------------------------------------------------------

    def _cast(self, ref: ReportRef):
        from localize.pipeline import cast_file_for
        from localize.review.runs import load_run_options
        from localize.stages import cast as cast_module
        from localize.workdir import WorkDir

        episode = Path(ref.data["source"]["path"])
        # The cast file the next render reads (a cached cast artifact may name an older place).
        path = cast_file_for(episode, WorkDir(ref.work_root), load_run_options(ref.work_root, ref.locale))
        return Path(path), cast_module.load(Path(path), cast_module.series_of(episode))

    def characters(self, ref: ReportRef) -> dict[str, str]:
        """Speaker id -> character name, as the cast file says now."""
        path, cast = self._cast(ref)
        episode = Path(ref.data["source"]["path"]).stem
        names = {}
        for character in cast.characters:
            appearance = character.episodes.get(episode)
            if appearance is not None:
                names[appearance.speaker] = character.name
        return {s["id"]: names.get(s["id"], s.get("character") or s["id"]) for s in ref.data.get("speakers", [])}

    def _voices_now(self, ref: ReportRef) -> dict[str, dict | None]:
        """Speaker id -> the voice the cast file gives their character now (on the report's voice backend)."""
        _path, cast = self._cast(ref)
        names = self.characters(ref)
        voices = {}
        for speaker in ref.data.get("speakers", []):
            used = speaker.get("voice") or {}
            try:
                voice = cast.character(names[speaker["id"]]).voices.get(used.get("backend"))
            except KeyError:
                voice = None
            voices[speaker["id"]] = None if voice is None else {"name": voice.name, "pitch": voice.pitch}
        return voices

    # -- lines --------------------------------------------------------------------------------

    def lines(self, ref: ReportRef) -> list[dict]:
        """The report's segments as a reviewer sees them: edits applied, with flags, stale, approved."""
        with self.lock:
            state = self._state(ref)["segments"]
            overrides = load_overrides(overrides_path(ref.work_root))
            voices_now = self._voices_now(ref)
            names = self.characters(ref)
        used = {s["id"]: s.get("voice") or {} for s in ref.data.get("speakers", [])}
        out = []
        for segment in ref.data["segments"]:
            edit = state.get(str(segment["id"]), {})
            text = edit.get("text", segment["text"])
            speaker = overrides.get(segment["id"], segment["speaker"])
            reasons = []
            if text != segment["text"]:
                reasons.append("text")
            if speaker != segment["speaker"]:
                reasons.append("speaker")
            voice_now, voice_used = voices_now.get(speaker), used.get(segment["speaker"], {})
            if speaker == segment["speaker"] and voice_now is not None and \
                    (voice_now["name"], float(voice_now["pitch"])) != (voice_used.get("name"),
                                                                       float(voice_used.get("pitch", 0.0))):
                reasons.append("voice")
            out.append({**segment, "text": text, "voiced_text": segment["text"], "speaker": speaker,
                        "character": names.get(speaker, speaker), "approved": bool(edit.get("approved")),
                        "flags": line_flags(segment), "stale": bool(reasons), "stale_because": reasons})
        return out

    def line(self, ref: ReportRef, segment_id: int) -> dict:
        ref.segment(segment_id)
        return next(line for line in self.lines(ref) if line["id"] == segment_id)

    def summary(self, ref: ReportRef) -> dict:
        """The counts the list page shows."""
        lines = self.lines(ref)
        return {"lines": len(lines), "flagged": sum(1 for line in lines if line["flags"]),
                "approved": sum(1 for line in lines if line["approved"]),
                "stale": sum(1 for line in lines if line["stale"])}

    # -- edits --------------------------------------------------------------------------------

    def edit(self, ref: ReportRef, segment_id: int, *, text: str | None = None, speaker: str | None = None,
             approved: bool | None = None) -> dict:
        """Change a line's text, speaker or approval; returns the line as :meth:`lines` gives it."""
        segment = ref.segment(segment_id)
        with self.lock:
            state = self._state(ref)
            entry = state["segments"].setdefault(str(segment_id), {})
            if text is not None:
                text = " ".join(text.split())
                if not text:
                    raise BadEdit("a line's text cannot be empty")
                entry["text"] = text
                self._remember(ref, segment["source_text"], text)
            if speaker is not None:
                self._reassign(ref, segment_id, speaker)
            if approved is not None:
                entry["approved"] = bool(approved)
            self._save_state(ref, state)
        return self.line(ref, segment_id)

    def approve_all(self, ref: ReportRef, approved: bool = True) -> int:
        """Approve (or un-approve) every line of the report; returns how many lines."""
        with self.lock:
            state = self._state(ref)
            for segment in ref.data["segments"]:
                state["segments"].setdefault(str(segment["id"]), {})["approved"] = approved
            self._save_state(ref, state)
        return len(ref.data["segments"])

    def _memory(self, ref: ReportRef):
        from localize.stages.translate.memory import TranslationMemory

        # The translate stage's place for it: beside the episodes' work dirs.
        return TranslationMemory(ref.work_root.parent / "translation-memory.json")

    def _remember(self, ref: ReportRef, source: str, text: str) -> None:
        from localize.stages.translate.memory import HUMAN

        memory = self._memory(ref)
        if memory.put(ref.locale, source, text, HUMAN, episode=ref.episode):
            memory.save()

    def sync_memory(self, ref: ReportRef) -> int:
        """Put the desk's text edits of ``ref`` into the memory again (a render run meanwhile may have
        saved the memory as it read it before the edit); returns how many entries changed."""
        from localize.stages.translate.memory import HUMAN

        with self.lock:
            edits = self._state(ref)["segments"]
            memory = self._memory(ref)
            changed = 0
            for segment in ref.data["segments"]:
                text = edits.get(str(segment["id"]), {}).get("text")
                entry = memory.get(ref.locale, segment["source_text"])
                if text and (entry is None or entry.text != text or entry.origin != HUMAN):
                    changed += memory.put(ref.locale, segment["source_text"], text, HUMAN, episode=ref.episode)
            if changed:
                memory.save()
        return changed

    def _speaker_id(self, ref: ReportRef, who: str) -> str:
        """A speaker id of the episode, given its id or its character's name."""
        ids = [s["id"] for s in ref.data.get("speakers", [])]
        if who in ids:
            return who
        for speaker_id, name in self.characters(ref).items():
            if name == who:
                return speaker_id
        raise BadEdit(f"{who!r} does not speak in {ref.episode} (speakers: {', '.join(ids)})")

    def _reassign(self, ref: ReportRef, segment_id: int, who: str) -> None:
        speaker = self._speaker_id(ref, who)
        path = overrides_path(ref.work_root)
        overrides = load_overrides(path)
        overrides[segment_id] = speaker
        save_overrides(path, overrides)

    def set_voice(self, ref: ReportRef, who: str, voice: str, pitch: float | None = None) -> dict:
        """Give a character (by speaker id or name) another voice on the report's voice backend, in the cast file."""
        from localize.stages import cast as cast_module

        speaker = self._speaker_id(ref, who)
        backend = next(((s.get("voice") or {}).get("backend") for s in ref.data["speakers"] if s["id"] == speaker),
                       None) or ref.data["backends"]["voice"]
        if not voice.strip():
            raise BadEdit("a voice name cannot be empty")
        with self.lock:
            path, cast = self._cast(ref)
            character = cast.character(self.characters(ref)[speaker])
            old = character.voices.get(backend)
            character.voices[backend] = cast_module.CastVoice(
                name=voice.strip(), pitch=float(pitch if pitch is not None else (old.pitch if old else 0.0)))
            try:
                cast_module.save(cast, path)
            except ConfigError as exc:  # two characters would share a voice
                raise BadEdit(str(exc)) from None
        return {"speaker": speaker, "character": character.name, "backend": backend,
                "voice": {"name": character.voices[backend].name, "pitch": character.voices[backend].pitch}}

    def rename(self, ref: ReportRef, who: str, name: str) -> dict:
        """Rename a character in the series cast file (no line is re-voiced for it)."""
        from localize.stages import cast as cast_module

        speaker = self._speaker_id(ref, who)
        name = " ".join(name.split())
        if not name:
            raise BadEdit("a character's name cannot be empty")
        with self.lock:
            path, cast = self._cast(ref)
            character = cast.character(self.characters(ref)[speaker])
            if any(c.name == name for c in cast.characters if c is not character):
                raise BadEdit(f"another character is already named {name!r}")
            character.name = name
            cast_module.save(cast, path)
        return {"speaker": speaker, "character": name}
