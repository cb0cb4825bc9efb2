"""The delivery argv builders of the ffmpeg wrapper, and the ebur128 parser: no ffmpeg run needed."""

from pathlib import Path

import pytest

from localize import ffmpeg
from localize.errors import ToolError


def value(argv, flag):
    return argv[argv.index(flag) + 1]


def test_fit_frame_filters_per_policy():
    assert ffmpeg.fit_frame_filters(resize="keep", width=1080, height=1920) == []
    assert ffmpeg.fit_frame_filters(resize="keep", width=1080, height=1920, fps=30) == ["fps=30"]
    pad = ffmpeg.fit_frame_filters(resize="pad", width=1080, height=1920, fps=29.97)
    assert pad[0] == "fps=29.97"
    assert pad[1].startswith("scale=1080:1920:force_original_aspect_ratio=decrease")
    assert pad[2].startswith("pad=1080:1920:(ow-iw)/2:(oh-ih)/2")
    scale = ffmpeg.fit_frame_filters(resize="scale", width=720, height=1280)
    assert scale == ["scale=720:1280:force_original_aspect_ratio=increase:flags=lanczos", "crop=720:1280"]
    with pytest.raises(ValueError):
        ffmpeg.fit_frame_filters(resize="stretch", width=2, height=2)


def test_video_codec_args_crf_bitrate_and_gop():
    crf = ffmpeg.video_codec_args(codec="libx264", preset="veryfast", pix_fmt="yuv420p", crf=21, maxrate="8M",
                                  h264_profile="high")
    assert value(crf, "-crf") == "21" and value(crf, "-maxrate") == "8M" and value(crf, "-bufsize") == "16M"
    assert value(crf, "-profile:v") == "high" and "-b:v" not in crf
    rate = ffmpeg.video_codec_args(codec="libx264", preset="fast", pix_fmt="yuv420p", bitrate="2500k", gop_frames=60)
    assert value(rate, "-b:v") == "2500k" and value(rate, "-bufsize") == "5000k" and "-crf" not in rate
    assert value(rate, "-g") == "60" and value(rate, "-keyint_min") == "60" and value(rate, "-sc_threshold") == "0"
    hevc = ffmpeg.video_codec_args(codec="libx265", preset="fast", pix_fmt="yuv420p", crf=24, h264_profile="high")
    assert value(hevc, "-tag:v") == "hvc1" and "-profile:v" not in hevc


def test_audio_codec_args_keeps_layout_unless_asked():
    assert ffmpeg.audio_codec_args(codec="aac", bitrate="128k", rate=44100) == ["-c:a", "aac", "-b:a", "128k",
                                                                                "-ar", "44100"]
    assert value(ffmpeg.audio_codec_args(codec="aac", bitrate="128k", rate=48000, channels=2), "-ac") == "2"


def test_export_argv_soft_subtitles_metadata_and_languages():
    argv = ffmpeg.export_argv(Path("pic.mp4"), Path("mix.wav"), Path("out.mp4"), video_filters=["fps=30", "setsar=1"],
                              video_args=["-c:v", "libx264"], audio_args=["-c:a", "aac"],
                              metadata={"title": "T", "comment": "AI-generated"}, audio_language="eng",
                              soft_subtitles=Path("s.srt"), subtitle_language="eng", subtitle_title="English")
    inputs = [argv[i + 1] for i, a in enumerate(argv) if a == "-i"]
    assert inputs == ["pic.mp4", "mix.wav", "s.srt"]
    maps = [argv[i + 1] for i, a in enumerate(argv) if a == "-map"]
    assert maps == ["0:v:0", "1:a:0", "2:s:0"]
    assert value(argv, "-c:s") == "mov_text" and value(argv, "-map_metadata") == "-1"
    assert value(argv, "-metadata:s:s:0") == "language=eng" and value(argv, "-metadata:s:a:0") == "language=eng"
    assert "comment=AI-generated" in argv and "title=T" in argv
    assert value(argv, "-vf") == "fps=30,setsar=1"
    assert argv[-3:] == ["-f", "mp4", "out.mp4"] and "+faststart" in argv
    plain = ffmpeg.export_argv(Path("p"), Path("a"), Path("o.mp4"), video_filters=[], video_args=[], audio_args=[])
    assert "-c:s" not in plain and "-vf" not in plain and plain.count("-i") == 2


def test_cover_argv_one_jpeg_frame():
    argv = ffmpeg.cover_argv(Path("v.mp4"), Path("c.jpg"), at_ms=2500, video_filters=["scale=1080:1920"], quality=3)
    assert value(argv, "-ss") == "2.500" and argv.index("-ss") < argv.index("-i")
    assert value(argv, "-frames:v") == "1" and value(argv, "-q:v") == "3" and value(argv, "-c:v") == "mjpeg"
    assert value(argv, "-vf") == "scale=1080:1920" and argv[-1] == "c.jpg"


def test_hls_argvs_segment_into_the_playlist_folder():
    video = ffmpeg.hls_video_argv(Path("p.mp4"), Path("/pkg/video/index.m3u8"), video_filters=["setsar=1"],
                                  video_args=["-c:v", "libx264"], segment_seconds=6)
    assert value(video, "-f") == "hls" and value(video, "-hls_time") == "6" and "-an" in video
    assert value(video, "-hls_segment_filename") == "/pkg/video/seg_%05d.ts"
    assert value(video, "-hls_playlist_type") == "vod" and video[-1] == "/pkg/video/index.m3u8"
    audio = ffmpeg.hls_audio_argv(Path("mix.wav"), Path("/pkg/audio-en-US/index.m3u8"), audio_args=["-c:a", "aac"],
                                  segment_seconds=4.5, language="eng")
    assert value(audio, "-map") == "0:a:0" and "-vn" in audio and value(audio, "-hls_time") == "4.5"
    assert value(audio, "-metadata:s:a:0") == "language=eng"


SUMMARY = """[Parsed_ebur128_0 @ 0x55] t: 7.9  TARGET:-23 LUFS    M: -15.2 S: -14.9     I: -14.3 LUFS
[Parsed_ebur128_0 @ 0x55] Summary:

  Integrated loudness:
    I:         -14.1 LUFS
    Threshold: -24.3 LUFS

  Loudness range:
    LRA:         3.2 LU
    Threshold: -34.4 LUFS
    LRA low:   -16.0 LUFS
    LRA high:  -12.8 LUFS

  True peak:
    Peak:       -1.6 dBFS
"""


def test_ebur128_argv_and_summary_parser():
    argv = ffmpeg.ebur128_argv(Path("x.mp4"))
    assert value(argv, "-af") == "ebur128=peak=true" and value(argv, "-map") == "0:a:0"
    assert "-loglevel" not in argv  # the summary is printed at info level
    assert ffmpeg.parse_ebur128(SUMMARY) == {"integrated_lufs": -14.1, "range_lu": 3.2, "true_peak_db": -1.6}
    with pytest.raises(ToolError):
        ffmpeg.parse_ebur128("no summary here")



def test_video_only_argv_drops_audio_and_subtitles():
    argv = ffmpeg.video_only_argv(Path("p.mkv"), Path("/w/pic.mp4"), video_filters=["fps=30", "setsar=1"],
                                  video_args=["-c:v", "libx264", "-crf", "20"])
    assert value(argv, "-map") == "0:v:0" and "-an" in argv and "-sn" in argv
    assert value(argv, "-vf") == "fps=30,setsar=1" and value(argv, "-crf") == "20"
    assert argv[-3:] == ["-f", "mp4", "/w/pic.mp4"]


def test_audio_encode_and_float_decode_argvs():
    enc = ffmpeg.encode_audio_argv(Path("mix.wav"), Path("/t/a.m4a"), audio_args=["-c:a", "aac", "-b:a", "128k"])
    assert value(enc, "-map") == "0:a:0" and "-vn" in enc and value(enc, "-b:a") == "128k"
    assert enc[-3:] == ["-f", "mp4", "/t/a.m4a"]
    dec = ffmpeg.decode_audio_f32_argv(Path("a.m4a"), Path("/t/a.wav"), rate=48000, channels=2)
    assert value(dec, "-c:a") == "pcm_f32le" and value(dec, "-ar") == "48000" and value(dec, "-ac") == "2"
    assert dec[-3:] == ["-f", "wav", "/t/a.wav"]
