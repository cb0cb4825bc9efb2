"""Atomic single files and sets of outputs that appear together."""

from __future__ import annotations

import json
import os
import stat

import pytest

from localize.errors import OutputError
from localize.fsutil import StagedOutputs, atomic_path, current_umask, staged_outputs


def _visible(root):
    """Files under their final names (hidden names are temporaries)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def test_atomic_path_renames_only_on_success(tmp_path):
    final = tmp_path / "ep.mp4"
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"half")
            assert tmp.suffix == ".mp4" and tmp.name.startswith(".")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(final) as tmp:
        tmp.write_bytes(b"whole")
    assert final.read_bytes() == b"whole"


def test_staged_set_appears_at_the_end_with_relative_names_kept(tmp_path):
    out = tmp_path / "out"
    finals = {"video": out / "ep.en-US.mp4", "srt": out / "ep.en-US.srt", "nested": out / "series" / "ep.jpg",
              "manifest": out / "ep.en-US.manifest.json", "never": out / "ep.bed.wav"}
    with staged_outputs(out, "ep.en-US") as stage:
        staged = stage.paths(finals)
        for role in ("video", "srt", "nested"):
            staged[role].write_text(role)
        # A manifest written beside its staged neighbours names them as they will be named.
        staged["manifest"].write_text(json.dumps(sorted(p.name for p in staged["manifest"].parent.iterdir()
                                                        if p.is_file())))
        assert _visible(out) == []  # nothing under a final name yet
        assert [p.name.startswith(".") and p.name.endswith(".part") for p in out.iterdir()] == [True]
        assert stage.final(staged["srt"]) == finals["srt"]
    assert _visible(out) == ["ep.en-US.manifest.json", "ep.en-US.mp4", "ep.en-US.srt", "series/ep.jpg"]
    assert json.loads(finals["manifest"].read_text()) == ["ep.en-US.mp4", "ep.en-US.srt"]
    assert finals["video"].read_text() == "video"
    mode = stat.S_IMODE(finals["video"].stat().st_mode)
    assert mode == 0o666 & ~current_umask()  # the usual mode, not the private one a temporary gets
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # staging folder gone


def test_failed_set_leaves_previous_files_and_no_staging(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "ep.mp4").write_text("previous")
    with pytest.raises(KeyboardInterrupt):
        with staged_outputs(out) as stage:
            stage.path(out / "ep.mp4").write_text("new")
            stage.path(out / "ep.srt").write_text("new")
            raise KeyboardInterrupt
    assert _visible(out) == ["ep.mp4"] and (out / "ep.mp4").read_text() == "previous"
    assert list(out.iterdir()) == [out / "ep.mp4"]
    with staged_outputs(out) as stage:
        stage.path(out / "ep.mp4").write_text("new")
    assert list(out.iterdir()) == [out / "ep.mp4"] and (out / "ep.mp4").read_text() == "new"


def test_interrupted_commit_puts_the_previous_files_back(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.srt").write_text("previous")
    stage = StagedOutputs(out)
    for name in ("a.mp4", "b.srt", "c.json"):
        stage.path(out / name).write_text(name)
    real_replace = os.replace
    calls = []

    def interrupted_replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:  # a.mp4 in place, the old b.srt set aside, the new one not yet in
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        stage.commit()
    assert [p.name for p in out.iterdir()] == ["b.srt"] and (out / "b.srt").read_text() == "previous"


def test_paths_outside_the_root_are_not_staged_and_unwritable_root_is_one_error(tmp_path):
    stage = StagedOutputs(tmp_path / "out")
    assert stage.path(tmp_path / "elsewhere.txt") == tmp_path / "elsewhere.txt"
    assert stage.folder is None
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(OutputError, match="cannot write to"):
        StagedOutputs(blocked).path(blocked / "ep.mp4")
