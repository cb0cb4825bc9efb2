"""The ffmpeg wrapper's argv builders and probe parsing: no ffmpeg run needed."""

from pathlib import Path

import pytest

from localize import ffmpeg
from localize.errors import InputError


def test_extract_audio_argv_selects_first_audio_stream_as_pcm():
    argv = ffmpeg.extract_audio_argv(Path("in.mp4"), Path("out.wav"), rate=16000, channels=1)
    assert argv[0] == "ffmpeg"
    assert argv[argv.index("-i") + 1] == "in.mp4"
    assert argv[argv.index("-map") + 1] == "0:a:0"
    assert argv[argv.index("-ar") + 1] == "16000"
    assert argv[argv.index("-ac") + 1] == "1"
    assert argv[-1] == "out.wav"
    assert "-nostdin" in argv and "-y" in argv


def test_filter_path_escapes_filtergraph_specials():
    escaped = ffmpeg.filter_path(Path("/tmp/a:b/it's [x],y.ass"))
    # Every special character is preceded by a backslash; no raw ':' or ',' remains unescaped.
    assert "\\:" in escaped and "\\," in escaped and "\\[" in escaped
    for index, char in enumerate(escaped):
        if char in ":,[]'":
            assert escaped[index - 1] == "\\"


def test_render_argv_burns_subtitles_and_tags_language():
    argv = ffmpeg.render_argv(Path("v.mp4"), Path("a.wav"), Path("o.mp4"), subtitles=Path("/w/s.ass"),
                              fonts_dir=None, encoding=ffmpeg.VideoEncoding(crf=23, preset="fast"),
                              metadata={"comment": "AI"}, audio_language="eng")
    assert argv[argv.index("-vf") + 1] == "ass=/w/s.ass"
    assert argv[argv.index("-crf") + 1] == "23"
    assert "comment=AI" in argv
    assert argv[argv.index("-metadata:s:a:0") + 1] == "language=eng"
    assert argv.count("-map") == 2 and "1:a:0" in argv
    assert argv[-1] == "o.mp4" and argv[-3:-1] == ["-f", "mp4"]


def _probe_json(**video_overrides):
    video = {"codec_type": "video", "codec_name": "h264", "width": 1080, "height": 1920,
             "avg_frame_rate": "30/1", "r_frame_rate": "30/1"}
    video.update(video_overrides)
    return {"streams": [video, {"codec_type": "audio", "codec_name": "aac", "channels": 2, "sample_rate": "48000"}],
            "format": {"duration": "75.5", "format_name": "mov,mp4"}}


def test_parse_probe_reads_size_rate_and_audio():
    info = ffmpeg.parse_probe(_probe_json())
    assert (info.width, info.height, info.fps, info.duration_ms) == (1080, 1920, 30.0, 75500)
    assert info.has_audio and info.audio_channels == 2 and info.rotation == 0


def test_parse_probe_reads_rotation_from_side_data():
    info = ffmpeg.parse_probe(_probe_json(side_data_list=[{"rotation": -90}]))
    assert info.rotation == 270


def test_parse_probe_without_video_is_an_input_error():
    with pytest.raises(InputError, match="no video"):
        ffmpeg.parse_probe({"streams": [{"codec_type": "audio"}], "format": {"duration": "3"}})


def test_parse_probe_ntsc_rate_is_exact():
    info = ffmpeg.parse_probe(_probe_json(avg_frame_rate="30000/1001"))
    assert (info.fps_num, info.fps_den) == (30000, 1001)
