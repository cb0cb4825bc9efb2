"""Every MP4 profile's real export, checked with ffprobe and ffmpeg's ebur128 meter.

The source is an 8 s, 960x1440 (2:3), 50 fps cut of the generated episode, so each profile's
size policy (keep / pad / scale-and-crop) and frame-rate cap shows in the figures. The audio
is brought to the profile's loudness by the mix stage's normaliser, as in the pipeline.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from localize.stages.export.manifest import verify_manifest
from localize.stages.export.profiles import DEFAULT_LABEL, load_profile
from localize.stages import export as export_stage

from delivery_helpers import ebur128, export_job, fps_of, gray_frame, probe, streams

# profile: (width, height, fps, audio rate, subtitle track?, sidecars, label keys, LUFS, true-peak ceiling)
EXPECTED = {
    "generic-mp4": (960, 1440, 50, 48000, False, {"srt"}, {"comment"}, -14.0, -1.0),
    "reelshort": (1080, 1920, 30, 44100, True, {"srt"}, {"comment", "description"}, -14.0, -1.0),
    "dramabox": (1080, 1920, 30, 48000, False, {"srt", "vtt"}, {"description"}, -16.0, -1.5),
    "tiktok": (1080, 1920, 30, 44100, False, set(), {"comment", "description"}, -14.0, -1.0),
    "youtube-shorts": (1080, 1920, 50, 48000, False, {"srt", "vtt"}, {"comment", "description"}, -14.0, -1.0),
}


@pytest.fixture(scope="module")
def exports(odd_source, tmp_path_factory):
    out = tmp_path_factory.mktemp("profiles")
    made = {}
    for name in EXPECTED:
        profile = load_profile(name)
        job, texts = export_job(odd_source, profile, "en-US", out / "out", out / "work" / name)
        export_stage.export(job)
        made[name] = (job, texts, probe(job.video_out))
    return out, made


@pytest.mark.parametrize("name", list(EXPECTED))
def test_profile_output_figures(exports, odd_source, name):
    width, height, fps, rate, soft, sidecars, label_keys, lufs, peak = EXPECTED[name]
    _, made = exports
    job, texts, data = made[name]
    profile = job.profile
    video = streams(data, "video")
    audio = streams(data, "audio")
    subs = streams(data, "subtitle")
    assert len(video) == 1 and video[0]["codec_name"] == "h264" and video[0]["pix_fmt"] == "yuv420p"
    assert (video[0]["width"], video[0]["height"]) == (width, height)
    assert abs(fps_of(video[0]) - fps) < 0.01
    assert video[0].get("sample_aspect_ratio", "1:1") in ("1:1", "0:1")
    if profile.video.h264_profile:
        assert video[0]["profile"].lower() == profile.video.h264_profile
    assert len(audio) == 1 and audio[0]["codec_name"] == "aac"
    assert int(audio[0]["sample_rate"]) == rate and audio[0]["channels"] == 2
    assert audio[0]["tags"]["language"] == "eng"
    duration = float(data["format"]["duration"])
    assert abs(duration - odd_source.duration_ms / 1000) < 0.1
    # Subtitle track: a soft mov_text track in English only where the profile asks for it.
    assert [(s["codec_name"], s["tags"]["language"]) for s in subs] == ([("mov_text", "eng")] if soft else [])
    # Metadata: the AI-content label under each key the profile names, and the title.
    tags = data["format"]["tags"]
    for key in label_keys:
        assert tags[key] == DEFAULT_LABEL
    assert "AI-generated" in DEFAULT_LABEL
    assert tags["title"] == ("odd-series odd (en-US)" if name == "reelshort" else
                             "odd-series odd" if name == "dramabox" else
                             "odd (en-US)")
    # Loudness of the delivered file, by ffmpeg's BS.1770 meter.
    measured = ebur128(job.video_out)
    assert abs(measured["integrated_lufs"] - lufs) <= 1.0, measured
    assert measured["true_peak_db"] <= peak + 0.3, measured
    # Sidecars hold the translated lines; nothing half-written is left behind.
    for fmt in ("srt", "vtt"):
        path = job.outputs[fmt]
        assert path.is_file() == (fmt in sidecars), path
        if fmt in sidecars:
            text = " ".join(path.read_text(encoding="utf-8").split())
            assert all(" ".join(t.split()[:3]) in text for t in texts)
    folder = job.video_out.parent
    assert not [p for p in folder.rglob("*") if ".part" in p.name]
    assert all(p.is_file() for p in export_stage.delivered_files(job))


@pytest.mark.parametrize("name", [n for n in EXPECTED if load_profile(n).manifest])
def test_manifest_and_cover(exports, name):
    _, made = exports
    job, _, data = made[name]
    manifest_path = job.outputs["manifest"]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["profile"] == name and manifest["locales"] == ["en-US"] and manifest["ai_generated"] is True
    assert manifest["ai_label"] == DEFAULT_LABEL
    assert verify_manifest(manifest_path, checksums=True) == []
    roles = {entry["role"]: entry for entry in manifest["files"]}
    video = roles["video"]
    assert video["path"] == job.video_out.name and video["bytes"] == job.video_out.stat().st_size
    assert {t["type"] for t in video["tracks"]} >= {"video", "audio"}
    assert abs(video["duration"] - float(data["format"]["duration"])) < 0.01
    assert abs(video["loudness"]["integrated_lufs"] - EXPECTED[name][7]) <= 1.0
    cover = job.outputs["cover"]
    assert "cover" in roles and cover.is_file()
    cover_video = probe(cover)["streams"][0]
    assert cover_video["codec_name"] == "mjpeg"
    assert (cover_video["width"], cover_video["height"]) == EXPECTED[name][:2]


def _region(frame, box):
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return frame[y0:y1, x0:x1].astype(np.float32)


def test_burned_subtitles_and_visible_label_are_in_the_picture(exports):
    """Against the clean cover (same frame, no text): TikTok's label and subtitles are drawn, ReelShort's are not."""
    _, made = exports
    for name, drawn in (("tiktok", True), ("reelshort", False)):
        job, _, _ = made[name]
        at = load_profile(name).cover.at * (8.0 - 0.1)
        frame = gray_frame(job.video_out, at)
        clean = gray_frame(job.outputs["cover"])
        h, w = frame.shape
        label_box = (w * 0.06, h * 0.14, w * 0.40, h * 0.14 + h * 0.035)  # top-left, below the app bar
        subtitle_box = (w * 0.10, h * 0.62, w * 0.90, h * 0.76)  # above the bottom safe zone
        quiet_box = (w * 0.10, h * 0.40, w * 0.90, h * 0.50)  # no text here in either
        diff = {key: float(np.mean(np.abs(_region(frame, box) - _region(clean, box))))
                for key, box in (("label", label_box), ("subtitle", subtitle_box), ("quiet", quiet_box))}
        assert diff["quiet"] < 4.0, (name, diff)
        if drawn:
            assert diff["label"] > 3 * diff["quiet"] + 4 and diff["subtitle"] > 3 * diff["quiet"] + 4, (name, diff)
        else:
            assert diff["label"] < 4.0 and diff["subtitle"] < 4.0, (name, diff)


def test_clean_picture_profiles_encode_the_picture_once_for_all_markets(odd_source, tmp_path):
    """Sidecar/soft-subtitle profiles: market two copies market one's picture; only sound and text differ."""
    import subprocess
    import time

    profile = load_profile("youtube-shorts")
    assert export_stage.picture_is_shared(profile) and not export_stage.picture_is_shared(load_profile("tiktok"))
    seconds, videos = [], []
    for tag in ("en-US", "es-MX"):
        job, _ = export_job(odd_source, profile, tag, tmp_path / "out", tmp_path / "work")
        job.work_dir = tmp_path / "work"
        started = time.perf_counter()
        export_stage.export(job)
        seconds.append(time.perf_counter() - started)
        videos.append(job.video_out)
    assert len(list((tmp_path / "work").glob("picture.youtube-shorts.*.mp4"))) == 1
    digests = [subprocess.run(["ffmpeg", "-v", "error", "-i", str(v), "-map", "0:v:0", "-c", "copy", "-f", "md5",
                               "-"], capture_output=True, text=True).stdout for v in videos]
    assert digests[0] == digests[1] and digests[0].startswith("MD5=")
    languages = [streams(probe(v), "audio")[0]["tags"]["language"] for v in videos]
    assert languages == ["eng", "spa"]
    v = streams(probe(videos[1]), "video")[0]
    assert (v["width"], v["height"]) == (1080, 1920) and abs(fps_of(v) - 50) < 0.01
    print(f"youtube-shorts export: first market {seconds[0]:.1f} s, second {seconds[1]:.1f} s")


def test_audio_encode_keeps_true_peak_under_the_ceiling_after_the_codec(tmp_path):
    """Dense, loud material that AAC overshoots by 3 dB still comes out under the ceiling."""
    from localize import ffmpeg
    from localize.audio import write_wav
    from localize.stages import mix as mix_stage

    rate = 48000
    t = np.arange(3 * rate) / rate
    wave = np.sign(np.sin(2 * np.pi * 220 * t)) * 0.5 + 0.3 * np.sin(2 * np.pi * 3000 * t)
    samples = mix_stage.limit_true_peak(np.stack([wave, wave], 1).astype(np.float32) * 1.5, rate, -2.0)
    assert mix_stage.true_peak_db(samples, rate) <= -1.99
    write_wav(tmp_path / "mix.wav", samples, rate)
    args = ffmpeg.audio_codec_args(codec="aac", bitrate="96k", rate=44100, channels=2)
    ffmpeg.run(ffmpeg.encode_audio_argv(tmp_path / "mix.wav", tmp_path / "plain.m4a", audio_args=args), what="t")
    plain = ffmpeg.measure_loudness(tmp_path / "plain.m4a")
    guarded = export_stage.encode_audio(tmp_path / "mix.wav", tmp_path / "guarded.m4a", args, -1.0)
    assert plain["true_peak_db"] > -1.0  # the codec alone breaks the ceiling...
    assert guarded["true_peak_db"] <= -1.0  # ...the guarded encode does not
    assert guarded == ffmpeg.measure_loudness(tmp_path / "guarded.m4a")


def test_burned_picture_is_encoded_in_the_background_and_copied_into_the_market(odd_source, tmp_path):
    """A burned-subtitle profile's picture: started early (as the pipeline does before voicing), kept, copied in."""
    import subprocess

    profile = load_profile("tiktok")
    work = tmp_path / "work"
    job, _ = export_job(odd_source, profile, "en-US", tmp_path / "out", work)
    job.work_dir = work
    task = export_stage.start_picture(job)
    assert task is not None and task.target.name.startswith("market-picture.tiktok.en-US.")
    job.picture_task = task
    export_stage.export(job)
    assert task.target.is_file() and not [p for p in tmp_path.rglob("*") if ".part" in p.name]

    def picture_md5(path):
        return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "md5",
                               "-"], capture_output=True, text=True).stdout

    # The delivered picture is the background encode, copied (not encoded a second time).
    assert picture_md5(job.video_out) == picture_md5(task.target) and picture_md5(task.target).startswith("MD5=")
    v = streams(probe(job.video_out), "video")[0]
    assert (v["width"], v["height"]) == (1080, 1920) and abs(fps_of(v) - 30) < 0.01
    # The subtitles are burned into it: against the clean cover, the subtitle area changed.
    frame, clean = gray_frame(job.video_out, profile.cover.at * (8.0 - 0.1)), gray_frame(job.outputs["cover"])
    h, w = frame.shape
    assert float(np.mean(np.abs(_region(frame, (w * 0.10, h * 0.62, w * 0.90, h * 0.76))
                               - _region(clean, (w * 0.10, h * 0.62, w * 0.90, h * 0.76))))) > 4.0
    # Asked again (a re-voiced market), the kept picture is reused; nothing is encoded.
    again = export_stage.start_picture(job)
    assert again is not None and again.target == task.target and again.wait() == task.target
    # Another market has its own picture; one stopped before it finished leaves nothing behind.
    spanish, _ = export_job(odd_source, profile, "es-MX", tmp_path / "out", work)
    spanish.work_dir = work
    stopped = export_stage.start_picture(spanish)
    assert stopped is not None and stopped.target != task.target
    stopped.close()
    assert not stopped.target.exists() and not [p for p in work.iterdir() if ".part" in p.name]
