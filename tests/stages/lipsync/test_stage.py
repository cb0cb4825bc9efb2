"""End-to-end lip-sync on a face video made from a real photo, with a random-init generator."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from localize import ffmpeg
from localize.audio import write_wav
from localize.stages.lipsync import LipsyncOptions, build_wav2lip, checkpoint_state, run_lipsync
from localize.rawvideo import FrameFormat
from localize.errors import ModelError

WIDTH, HEIGHT, FPS = 360, 640, 25
N_FRAMES = 60                  # 2.4 s
CUT = 32                       # first frame of the second shot
FLASH = 45                     # a white flash frame, with a click in the audio at the same time
LINES = [(400, 1100), (1400, 2200)]


def head_rect(i: int) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the pasted head photo in frame ``i``: it moves and grows; a new framing at CUT."""
    second = i >= CUT
    t = (i - CUT) / (N_FRAMES - CUT) if second else i / CUT
    width = int((200 if second else 170) + 40 * t)
    height = int(width * 300 / 260)
    x = int((60 if second else 40) + (40 if second else 60) * t)
    y = int((240 if second else 120) + 30 * t)
    return x, y, width, height


def _face_frames() -> list[np.ndarray]:
    """RGB frames: the astronaut's head (a real photo) over a textured background."""
    import cv2
    from skimage import data

    head = data.astronaut()[0:300, 110:370]          # 300 x 260: hair to shoulders
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 30, (HEIGHT, WIDTH, 1), dtype=np.uint8)
    frames = []
    for i in range(N_FRAMES):
        second = i >= CUT
        frame = (np.full((HEIGHT, WIDTH, 3), 60 if second else 150, np.uint8) + texture).astype(np.uint8)
        frame[:, :, 2 if second else 0] //= 2
        x, y, width, height = head_rect(i)
        frame[y:y + height, x:x + width] = cv2.resize(head, (width, height), interpolation=cv2.INTER_AREA)
        if i == FLASH:
            frame[:] = 255
        frames.append(frame)
    return frames


def _audio(seconds: float, rate: int = 48000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    audio = 0.05 * np.sin(2 * np.pi * 220 * t)
    click = int(FLASH / FPS * rate)
    audio[click:click + rate // 100] = 0.9
    return audio.astype(np.float32)


def _make_video(folder: Path) -> Path:
    raw = folder / "frames.rgb"
    raw.write_bytes(b"".join(f.tobytes() for f in _face_frames()))
    wav = folder / "audio.wav"
    write_wav(wav, _audio(N_FRAMES / FPS), 48000)
    video = folder / "face.mp4"
    ffmpeg.run(ffmpeg.ffmpeg_argv("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-framerate",
                                  str(FPS), "-i", str(raw), "-i", str(wav), "-c:v", "libx264", "-crf", "18",
                                  "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                                  str(video)), what="making the test video")
    return video


def decode_yuv(path: Path) -> np.ndarray:
    """All frames as raw yuv420p bytes, shape (frames, frame_bytes)."""
    fmt = FrameFormat(WIDTH, HEIGHT)
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough",
                          "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, fmt.frame_bytes)


def stream_info(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format",
                          "-print_format", "json", str(path)], capture_output=True, check=True, text=True).stdout
    return json.loads(out)


def expected_changed_frames() -> list[int]:
    """Frames whose start lies in a line, minus the flash frame (no face on it)."""
    out = []
    for i in range(N_FRAMES):
        t = i * 1000 / FPS
        if any(start <= t < end for start, end in LINES) and i != FLASH:
            out.append(i)
    return out


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    """The test video, a random-init checkpoint in the public layout, and one lip-sync run."""
    import torch

    folder = tmp_path_factory.mktemp("lipsync")
    video = _make_video(folder)
    torch.manual_seed(0)
    checkpoint = folder / "wav2lip.pth"
    torch.save(checkpoint_state(build_wav2lip()), checkpoint)
    rng = np.random.default_rng(0)
    dub = (0.1 * rng.standard_normal(int(N_FRAMES / FPS * 16000))).astype(np.float32)
    out = folder / "lipsync.mkv"
    result = run_lipsync(video, dub, LINES, out, LipsyncOptions(checkpoint=checkpoint, batch_size=8, threads=1))
    return {"folder": folder, "video": video, "out": out, "result": result, "checkpoint": checkpoint}


def test_skipped_without_checkpoint(tmp_path):
    result = run_lipsync(tmp_path / "any.mp4", np.zeros(16000, np.float32), LINES, tmp_path / "out.mkv",
                         LipsyncOptions(checkpoint=None))
    assert not result.applied and "no Wav2Lip checkpoint" in result.reason and "--lipsync-checkpoint" in result.reason
    assert not (tmp_path / "out.mkv").exists()


def test_missing_checkpoint_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="--lipsync-checkpoint PATH"):
        run_lipsync(tmp_path / "any.mp4", np.zeros(16000, np.float32), LINES, tmp_path / "out.mkv",
                    LipsyncOptions(checkpoint=tmp_path / "missing.pth"))


def test_no_lines_is_skipped(episode, tmp_path):
    result = run_lipsync(episode["video"], np.zeros(16000, np.float32), [], tmp_path / "out.mkv",
                         LipsyncOptions(checkpoint=episode["checkpoint"]))
    assert not result.applied and "no dubbed lines" in result.reason


def test_result_figures(episode):
    result = episode["result"]
    expected = expected_changed_frames()
    assert result.applied and result.reason == "applied"
    assert result.frames_total == N_FRAMES
    assert result.line_frames == len(expected) + 1          # the flash frame is in a line
    assert result.face_frames == len(expected) == result.frames_changed
    assert result.shot_cuts >= 1 and result.device == "cpu" and result.seconds > 0


def test_only_face_boxes_in_line_frames_change(episode):
    source, output = decode_yuv(episode["video"]), decode_yuv(episode["out"])
    assert output.shape == source.shape
    changed = [i for i in range(N_FRAMES) if not np.array_equal(source[i], output[i])]
    assert changed == expected_changed_frames()
    fmt = FrameFormat(WIDTH, HEIGHT)
    for i in changed:
        before, after = fmt.planes(source[i]), fmt.planes(output[i])
        x, y, w, h = head_rect(i)
        rows, cols = np.nonzero(before[0] != after[0])
        # Inside the photo's head, below its eyes (about 1/3 down the photo) and above its bottom.
        assert x <= cols.min() and cols.max() < x + w, i
        assert y + 0.33 * h <= rows.min() and rows.max() < y + h, i
        for plane_before, plane_after in zip(before[1:], after[1:]):
            crow, ccol = np.nonzero(plane_before != plane_after)
            if len(crow):
                assert x // 2 <= ccol.min() and ccol.max() < (x + w + 1) // 2, i
                assert (y + 0.33 * h) // 2 - 1 <= crow.min() and crow.max() < (y + h + 1) // 2, i


def test_frame_count_duration_and_timestamps(episode):
    src, out = stream_info(episode["video"]), stream_info(episode["out"])
    video_src = next(s for s in src["streams"] if s["codec_type"] == "video")
    video_out = next(s for s in out["streams"] if s["codec_type"] == "video")
    assert int(video_out["nb_read_frames"]) == int(video_src["nb_read_frames"]) == N_FRAMES
    assert video_out["codec_name"] == "ffv1" and video_out["pix_fmt"] == "yuv420p"
    assert video_out["avg_frame_rate"] == "25/1"
    assert float(out["format"]["duration"]) == pytest.approx(N_FRAMES / FPS, abs=0.5 / FPS)
    assert float(video_out.get("start_time", 0)) == pytest.approx(0.0, abs=1e-3)
    assert not [s for s in out["streams"] if s["codec_type"] == "audio"]


def test_export_keeps_audio_video_sync(episode):
    """Mux the lip-synced picture with the episode's sound as the export does: flash and click coincide."""
    folder = episode["folder"]
    audio = folder / "sound.wav"
    ffmpeg.run(ffmpeg.extract_audio_argv(episode["video"], audio, rate=48000, channels=1), what="extracting audio")
    exported = folder / "export.mp4"
    ffmpeg.run(ffmpeg.render_argv(episode["out"], audio, exported, subtitles=None, fonts_dir=None,
                                  encoding=ffmpeg.VideoEncoding(preset="ultrafast")), what="exporting")
    frames = decode_yuv(exported)
    assert len(frames) == N_FRAMES
    luma = frames[:, :WIDTH * HEIGHT].mean(axis=1)
    assert int(np.argmax(luma)) == FLASH
    check = folder / "check.wav"
    ffmpeg.run(ffmpeg.extract_audio_argv(exported, check, rate=48000, channels=1), what="decoding the export")
    from localize.audio import read_wav

    samples, rate = read_wav(check)
    onset = int(np.argmax(np.abs(samples) > 0.5)) / rate
    info = stream_info(exported)
    starts = {s["codec_type"]: float(s.get("start_time", 0)) for s in info["streams"]}
    flash_time = starts["video"] + FLASH / FPS
    # Measured 0.0 s; 5 ms would still catch an AAC priming shift (21 ms at 48 kHz).
    assert onset + starts["audio"] == pytest.approx(flash_time, abs=0.005)


def test_no_face_leaves_the_picture_unchanged(episode, tmp_path):
    video = tmp_path / "flat.mp4"
    ffmpeg.run(ffmpeg.ffmpeg_argv("-f", "lavfi", "-i", f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration=0.4",
                                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video)),
               what="making a faceless video")
    out = tmp_path / "flat.mkv"
    result = run_lipsync(video, np.zeros(16000, np.float32), [(0, 400)], out,
                         LipsyncOptions(checkpoint=episode["checkpoint"], threads=1))
    assert not result.applied and "no face" in result.reason
    assert result.frames_total == 10 and result.line_frames == 10 and result.frames_changed == 0
    assert np.array_equal(decode_yuv(video), decode_yuv(out))


def test_line_frames():
    from localize.stages.lipsync.stage import line_frames

    inside = line_frames([(0, 80), (200, 240)], 10, 25.0)      # frames start every 40 ms
    assert inside.tolist() == [True, True, False, False, False, True, False, False, False, False]
