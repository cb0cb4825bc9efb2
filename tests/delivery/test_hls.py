"""HLS packages: one video rendition, an audio and a WebVTT rendition per market, one master playlist."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from localize.stages.export import hls
from localize.stages.export.manifest import verify_manifest
from localize.stages.export.profiles import DEFAULT_LABEL, load_profile
from localize.locales import get_locale
from localize.stages import export as export_stage

from delivery_helpers import ebur128, export_job, fps_of, probe, streams, vtt_cue_texts

MARKETS = ("en-US", "es-MX")


@pytest.fixture(scope="module")
def package(odd_source, tmp_path_factory):
    """Export the odd source as an HLS package for two markets, one after the other (as render_market does)."""
    out = tmp_path_factory.mktemp("hls")
    profile = load_profile("hls")
    texts, jobs, stamps = {}, {}, []
    for tag in MARKETS:
        job, texts[tag] = export_job(odd_source, profile, tag, out / "out", out / "work")
        export_stage.export(job)
        jobs[tag] = job
        stamps.append({p.name: p.stat().st_mtime_ns for p in hls.video_dir(job.outputs["hls"]).iterdir()})
    return jobs, texts, stamps


def attributes(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])}


def test_master_playlist_lists_every_market(package):
    jobs, _, _ = package
    master = jobs["en-US"].video_out
    lines = master.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    media = [attributes(line) for line in lines if line.startswith("#EXT-X-MEDIA:")]
    audio = {m["LANGUAGE"]: m for m in media if m["TYPE"] == "AUDIO"}
    subs = {m["LANGUAGE"]: m for m in media if m["TYPE"] == "SUBTITLES"}
    assert set(audio) == set(MARKETS) and set(subs) == set(MARKETS)
    assert {m["GROUP-ID"] for m in audio.values()} == {"aud"} and {m["GROUP-ID"] for m in subs.values()} == {"subs"}
    assert [m["DEFAULT"] for m in audio.values()].count("YES") == 1
    assert audio["en-US"]["URI"] == "audio-en-US/index.m3u8" and subs["es-MX"]["URI"] == "subs-es-MX/index.m3u8"
    variants = [i for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")]
    assert len(variants) == 1  # one video rendition
    variant = attributes(lines[variants[0]])
    assert lines[variants[0] + 1] == "video/index.m3u8"
    assert variant["AUDIO"] == "aud" and variant["SUBTITLES"] == "subs"
    assert variant["RESOLUTION"] == "1080x1920" and variant["CODECS"].startswith("avc1.64")
    assert variant["CODECS"].endswith("mp4a.40.2") and int(variant["BANDWIDTH"]) >= int(variant["AVERAGE-BANDWIDTH"])
    assert float(variant["FRAME-RATE"]) == pytest.approx(30.0)
    session = [attributes(line) for line in lines if line.startswith("#EXT-X-SESSION-DATA:")]
    assert session == [{"DATA-ID": hls.SESSION_DATA_ID, "VALUE": DEFAULT_LABEL}]


def test_ffprobe_opens_the_master_and_decodes_each_market(package):
    jobs, texts, _ = package
    master = jobs["en-US"].video_out
    data = probe(master)
    video = streams(data, "video")
    assert len(video) == 1 and video[0]["codec_name"] == "h264"
    assert (video[0]["width"], video[0]["height"]) == (1080, 1920) and fps_of(video[0]) == pytest.approx(30.0)
    audio = streams(data, "audio")
    assert sorted(s["tags"]["language"] for s in audio) == sorted(MARKETS)
    assert all(s["codec_name"] == "aac" and int(s["sample_rate"]) == 48000 and s["channels"] == 2 for s in audio)
    # Each market's audio, decoded through the master, is at the profile's loudness (-16 LUFS).
    for index, stream in enumerate(audio):
        measured = ebur128(master, stream=f"a:{index}")
        assert abs(measured["integrated_lufs"] + 16.0) <= 1.0 and measured["true_peak_db"] <= -0.9, measured
    # Subtitles: FFmpeg before 6.1 ignores SUBTITLES groups when opening a master, newer ones list them.
    listed = streams(data, "subtitle")
    assert not listed or sorted(s["tags"]["language"] for s in listed) == sorted(MARKETS)
    # Each subtitle rendition the master names decodes as WebVTT holding that market's lines.
    for tag in MARKETS:
        playlist = master.parent / f"subs-{tag}" / "index.m3u8"
        proc = subprocess.run(["ffmpeg", "-v", "error", "-i", str(playlist), "-map", "0:s:0", "-f", "webvtt", "-"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        decoded = " ".join(vtt_cue_texts(proc.stdout))
        for line in texts[tag]:
            assert " ".join(line.split()[:4]) in decoded, (tag, line, decoded)
        other = MARKETS[1 - MARKETS.index(tag)]
        assert " ".join(texts[other][0].split()[:4]) not in decoded


def test_video_encoded_once_and_segments_line_up(package):
    jobs, _, stamps = package
    assert stamps[0] == stamps[1]  # the second market reused the video rendition untouched
    folder = jobs["en-US"].outputs["hls"]
    info = json.loads((hls.video_dir(folder) / hls.RENDITION_INFO).read_text())
    video_start = float(probe(hls.video_dir(folder) / "seg_00000.ts")["format"]["start_time"])
    assert info["start_mpegts"] == round(video_start * 90000)
    for tag in MARKETS:
        audio_start = float(probe(folder / f"audio-{tag}" / "seg_00000.ts")["format"]["start_time"])
        # The first AAC packet is the encoder's 1024-sample priming; audio sample 0 meets frame 0.
        assert abs(audio_start + 1024 / 48000 - video_start) < 0.002
        first_vtt = (folder / f"subs-{tag}" / "seg_00000.vtt").read_text(encoding="utf-8")
        assert f"X-TIMESTAMP-MAP=MPEGTS:{info['start_mpegts']},LOCAL:00:00:00.000" in first_vtt
        video_segments = hls.playlist_segments(hls.video_dir(folder) / "index.m3u8")
        sub_segments = hls.playlist_segments(folder / f"subs-{tag}" / "index.m3u8")
        assert [round(d, 3) for d, _ in sub_segments] == [round(d, 3) for d, _ in video_segments]
    assert sum(d for d, _ in video_segments) == pytest.approx(8.0, abs=0.05)


def test_manifest_covers_the_package_and_labels_it(package):
    jobs, _, _ = package
    job = jobs["es-MX"]
    manifest_path = job.outputs["manifest"]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["profile"] == "hls" and sorted(manifest["locales"]) == sorted(MARKETS)
    assert manifest["ai_generated"] is True and manifest["visible_label"] == "AI-generated"
    assert verify_manifest(manifest_path, checksums=True) == []
    roles = {}
    for entry in manifest["files"]:
        roles.setdefault(entry["role"], []).append(entry["path"])
    assert "master.m3u8" in roles["master"] and "cover.jpg" in roles["cover"]
    assert {p.split("/")[0] for p in roles["audio"]} == {"audio-en-US", "audio-es-MX"}
    assert {p.split("/")[0] for p in roles["subtitles"]} == {"subs-en-US", "subs-es-MX"}
    audio_playlists = [e for e in manifest["files"] if e["role"] == "audio" and e["path"].endswith(".m3u8")]
    assert all(abs(e["loudness"]["integrated_lufs"] + 16) <= 1 for e in audio_playlists)
    assert all(p.is_file() for tag in MARKETS for p in export_stage.delivered_files(jobs[tag]))
    leftovers = [p for p in job.outputs["hls"].rglob("*") if ".part" in p.name or ".old-" in p.name]
    assert leftovers == []


def test_rerendering_one_market_keeps_the_others(package, odd_source, tmp_path):
    jobs, _, _ = package
    job = jobs["en-US"]
    export_stage.export(job)  # a rerun of en-US only
    text = job.video_out.read_text(encoding="utf-8")
    assert 'LANGUAGE="es-MX"' in text and 'LANGUAGE="en-US"' in text
    assert hls.find_renditions(job.outputs["hls"]) == hls.find_renditions(jobs["es-MX"].outputs["hls"])


def test_codec_strings():
    assert hls.codec_string({"codec_name": "h264", "profile": "High", "level": 40}) == "avc1.640028"
    assert hls.codec_string({"codec_name": "h264", "profile": "Main", "level": 31}) == "avc1.4d001f"
    assert hls.codec_string({"codec_name": "h264", "profile": "Constrained Baseline", "level": 30}) == "avc1.42401e"
    assert hls.codec_string({"codec_name": "hevc", "level": 123}).startswith("hvc1.")


def test_master_needs_an_audio_rendition(tmp_path):
    from localize.errors import OutputError

    with pytest.raises(OutputError):
        hls.master_playlist(tmp_path, "label", {"codecs": "avc1.640028", "width": 2, "height": 2, "fps": 30}, [])
    assert get_locale("es-MX").iso639_2 == "spa"
