"""The review desk over HTTP on a real localized episode: an edit re-voices one line, a voice change one character."""

from __future__ import annotations

import html
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pysubs2
from fastapi.testclient import TestClient

RATE = 16000
SLOT_MARGIN_S = 0.6


def wait_for_job(client, job: str, timeout_s: float = 900) -> dict:
    """Poll ``/api/jobs/{job}`` until it is done or failed."""
    deadline = time.monotonic() + timeout_s
    state = {}
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job}").json()
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.5)
    raise AssertionError(f"job {job} still {state.get('state')} after {timeout_s} s")


def decode_audio(video: Path) -> np.ndarray:
    """A video's audio as mono float samples at 16 kHz (ffmpeg)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-vn", "-ac", "1", "-ar", str(RATE),
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.float32)


def changed_spans(old: np.ndarray, new: np.ndarray, window_s: float = 0.05, relative_db: float = -10.0,
                  floor_db: float = -40.0) -> list[float]:
    """Centres (s) of the 50 ms windows where ``new`` says something else than ``old``: the difference
    is within ``relative_db`` of the louder of the two and above ``floor_db`` full scale.

    Outside an edited line the mix differs only by the loudness normalisation's whole-episode gain
    (hundredths of a dB) and the AAC encoder's noise on it: measured on this sample in three renders,
    at most 15 dB under the signal there (up to -29 dBFS on a transient), while inside the re-voiced
    line the difference is as loud as the speech (up to 4.6 dB over it, -4 dBFS).
    """
    n = min(len(old), len(new))
    hop = int(window_s * RATE)
    times = []
    for start in range(0, n - hop + 1, hop):
        a, b = old[start:start + hop], new[start:start + hop]
        diff = 20 * np.log10(np.sqrt(np.mean((b - a) ** 2)) + 1e-12)
        level = 20 * np.log10(max(np.sqrt(np.mean(a ** 2)), np.sqrt(np.mean(b ** 2))) + 1e-12)
        if diff > floor_db and diff > level + relative_db:
            times.append((start + hop / 2) / RATE)
    return times


def render(client, report_id: str) -> dict:
    response = client.post(f"/api/reports/{report_id}/render")
    assert response.status_code == 202, response.text
    state = wait_for_job(client, response.json()["job"])
    assert state["state"] == "done", state
    return state


def test_an_edited_line_is_the_only_one_revoiced_and_a_voice_change_revoices_that_character(localized):
    from localize.review.server import create_app

    with TestClient(create_app(localized), base_url="http://127.0.0.1") as client:
        listed = client.get("/api/reports").json()
        assert [(r["id"], r["episode"], r["locale"]) for r in listed] == [("ep01.en-US", "ep01", "en-US")]
        assert listed[0]["video"] == "/media/ep01.en-US.mp4" and listed[0]["stale"] == 0
        report = client.get("/api/reports/ep01.en-US").json()
        video = localized / "ep01.en-US.mp4"
        old_audio = decode_audio(video)
        target = report["segments"][1]
        new_text = "Mr. Gu, are you sure you have the right woman?"

        edited = client.patch(f"/api/reports/ep01.en-US/segments/{target['id']}", json={"text": new_text}).json()
        assert edited["stale"] is True and edited["stale_because"] == ["text"] and edited["text"] == new_text
        stale = [s["id"] for s in client.get("/api/reports/ep01.en-US").json()["segments"] if s["stale"]]
        assert stale == [target["id"]]
        # The edit is in the series memory as a human edit already (it survives any later `localize` run).
        memory = json.loads((localized.parent / "work" / "translation-memory.json").read_text(encoding="utf-8"))
        assert any(e["text"] == new_text and e["origin"] == "human" for e in memory["entries"]["en-US"].values())

        state = render(client, "ep01.en-US")
        assert state["lines_revoiced"] == 1

        after = client.get("/api/reports/ep01.en-US").json()
        line = next(s for s in after["segments"] if s["id"] == target["id"])
        assert line["text"] == line["voiced_text"] == new_text and not line["stale"]
        assert [s["text"] for s in after["segments"] if s["id"] != target["id"]] == \
            [s["text"] for s in report["segments"] if s["id"] != target["id"]]
        srt = pysubs2.load(str(localized / "ep01.en-US.srt"))
        assert "right woman" in " ".join(event.plaintext.replace("\n", " ") for event in srt)
        on_disk = json.loads((localized / "ep01.en-US.json").read_text(encoding="utf-8"))
        assert on_disk["segments"][1]["text"] == new_text
        assert html.escape(new_text) in (localized / "ep01.en-US.html").read_text(encoding="utf-8")

        # The new audio differs from the old only inside the line's slot (old or new clip) +- 0.6 s.
        new_audio = decode_audio(video)
        assert abs(len(new_audio) - len(old_audio)) < RATE // 10
        low = min(target["start"], target["dub_start"], line["dub_start"]) - SLOT_MARGIN_S
        high = max(target["end"], target["dub_end"], line["dub_end"]) + SLOT_MARGIN_S
        changed = changed_spans(old_audio, new_audio)
        assert changed, "the edited line's audio did not change"
        assert all(low <= t <= high for t in changed), (low, high, [t for t in changed if not low <= t <= high])

        # A character's new voice: exactly that character's lines are stale, then re-voiced.
        speaker = after["speakers"][0]
        used = {s["voice"]["name"] for s in after["speakers"]}
        voices = client.get("/api/reports/ep01.en-US/voices").json()
        gender = speaker["gender"][0]  # kokoro ids start with the accent and gender: af_, am_, ...
        choice = next(v["name"] for v in voices if v["name"] not in used and v["name"][1:2] == gender)
        changed_voice = client.patch(f"/api/reports/ep01.en-US/speakers/{speaker['id']}", json={"voice": choice})
        assert changed_voice.status_code == 200, changed_voice.text
        theirs = [s["id"] for s in after["segments"] if s["speaker"] == speaker["id"]]
        now = client.get("/api/reports/ep01.en-US").json()
        assert [s["id"] for s in now["segments"] if s["stale"]] == theirs
        assert render(client, "ep01.en-US")["lines_revoiced"] == len(theirs)
        final = client.get("/api/reports/ep01.en-US").json()
        assert next(s for s in final["speakers"] if s["id"] == speaker["id"])["voice"]["name"] == choice
        assert not any(s["stale"] for s in final["segments"])

        # A line given to the other character: that line alone, and diarization is not run again.
        line = final["segments"][-1]
        other = next(s["id"] for s in final["speakers"] if s["id"] != line["speaker"])
        moved = client.patch(f"/api/reports/ep01.en-US/segments/{line['id']}", json={"speaker": other}).json()
        assert moved["stale_because"] == ["speaker"] and moved["speaker"] == other
        state = render(client, "ep01.en-US")
        assert state["lines_revoiced"] == 1
        assert "reassign" in state["stages_run"] and "diarize" not in state["stages_run"]
        assert client.get("/api/reports/ep01.en-US").json()["segments"][-1]["speaker"] == other


def test_a_moved_output_folder_is_reviewed_and_rendered_where_it_is_now(localized_with_own_work_dir, tmp_path):
    """The report's paths are absolute; moved with its ``.localize-work`` and cast, the folder still works."""
    from localize.review.server import create_app

    studio = localized_with_own_work_dir.parent
    old_work = Path(json.loads((studio / "out" / "ep01.en-US.json").read_text(encoding="utf-8"))["work_dir"])
    assert old_work.parent == studio / "out" / ".localize-work"
    moved = tmp_path / "archive" / "studio"
    moved.parent.mkdir()
    studio.rename(moved)
    out = moved / "out"
    work = out / ".localize-work" / old_work.name

    with TestClient(create_app(out), base_url="http://127.0.0.1") as client:
        listed = client.get("/api/reports").json()
        assert [(r["id"], r["video"]) for r in listed] == [("ep01.en-US", "/media/ep01.en-US.mp4")]
        assert client.get(listed[0]["video"]).status_code == 200
        report = client.get("/api/reports/ep01.en-US").json()
        assert report["segments"] and not any(s["stale"] for s in report["segments"])

        target = report["segments"][0]
        new_text = "Mr. Gu, a word with you."
        edited = client.patch(f"/api/reports/ep01.en-US/segments/{target['id']}", json={"text": new_text})
        assert edited.status_code == 200, edited.text
        # The desk's record is in the work dir where it is now, not made again where it was.
        assert (work / "review.en-US.json").is_file() and not old_work.exists()
        assert render(client, "ep01.en-US")["lines_revoiced"] == 1

    rendered = json.loads((out / "ep01.en-US.json").read_text(encoding="utf-8"))
    assert (rendered["work_dir"], rendered["outputs"]["video"]) == (str(work), str(out / "ep01.en-US.mp4"))
    assert next(s for s in rendered["segments"] if s["id"] == target["id"])["text"] == new_text
