"""The lip-sync stage: re-lip-sync the faces on screen while a dubbed line plays.

Two passes over the decoded video, so memory stays a few frames whatever the episode length:

1. *analysis*: every frame's luma histogram (shot cuts), and face detection on a downscaled
   copy of the frames inside a dubbed line (plus a small margin for smoothing);
   detections become a smoothed per-shot track (:mod:`.faces`).
2. *render*: frames inside a line with a tracked face are batched through the Wav2Lip
   generator and blended back (:mod:`.blend`); every frame is written to the output.

Bit-exactness: frames are decoded to the source's own planar YUV (no RGB round trip), only
bytes under the lower-face mask are rewritten, and the output is encoded losslessly
(FFV1 in Matroska, picture only). Decoding the output therefore gives,
byte for byte, the decoded source on every frame outside a line or without a face, and on
every pixel outside the face box of the frames that were changed. The output is an
intermediate for the export stage, which takes its picture from it and its sound from the mix.
It carries no audio on purpose: copying the source's AAC into Matroska shifts the video's start
by the AAC priming delay (about 21 ms at 48 kHz), which would then desynchronise the export.
Assumes constant frame rate (the output is written at the source's average rate).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localize import ffmpeg
from localize.errors import InputError
from localize.ffmpeg import BandPatch
from localize.stages.contract import Stage, StageContext
from localize.rawvideo import FrameDecoder, FrameFormat, encode_frames, probe_frame_format
from localize.stages.lipsync.audio import mel_windows, melspectrogram
from localize.stages.lipsync.blend import align_box, crop_bgr, frame_to_rgb, generator_input, paste
from localize.stages.lipsync.faces import DETECTORS, FaceDetector, Track, TrackOptions, default_detector, luma_histogram, shot_cuts, track
from localize.workdir import work_file

VERSION = "1"
# Extra box height added below the detected box so the jaw and chin are regenerated too
# (Wav2Lip pads its S3FD boxes by 10 px at the bottom; MTCNN boxes end near the chin,
# the LBP cascade's near the upper lip).
CHIN_PAD = {"mtcnn": 0.10, "lbp": 0.20}


@dataclass(frozen=True)
class LipsyncOptions:
    """Settings of the lip-sync stage.

    ``checkpoint``: a Wav2Lip or Wav2Lip-GAN generator ``.pth``; None skips the stage.
    ``detector``: 'auto' (MTCNN if its weights are installed, else LBP), 'mtcnn' or 'lbp'.
    ``detect_height``: frames are shrunk to this height (at most) for detection.
    ``min_face_fraction``: smallest face searched, as a fraction of the detection frame's shorter side.
    ``detect_every``: run the detector on every n-th line frame; the tracker interpolates between.
    ``threads``: torch CPU threads for the generator (0 leaves torch's setting); detection always uses 1.
    """

    checkpoint: Path | None = None
    batch_size: int = 16
    device: str = "auto"
    detector: str = "auto"
    detect_height: int = 640
    min_face_fraction: float = 0.1
    detect_every: int = 1
    threads: int = 0
    track: TrackOptions = field(default_factory=TrackOptions)


@dataclass
class LipsyncResult:
    """What the stage did; ``applied`` False with a ``reason`` when it was skipped."""

    applied: bool
    reason: str
    frames_changed: int = 0
    frames_total: int = 0
    face_frames: int = 0
    line_frames: int = 0
    shot_cuts: int = 0
    detector: str = ""
    device: str = ""
    seconds: float = 0.0
    output: str | None = None


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'cpu'."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def line_frames(lines: list[tuple[int, int]], n_frames: int, fps: float) -> np.ndarray:
    """Boolean per frame: True where the frame's start time lies inside a line [start_ms, end_ms)."""
    inside = np.zeros(n_frames, dtype=bool)
    times = np.arange(n_frames) * 1000.0 / fps
    for start, end in lines:
        inside |= (times >= start) & (times < end)
    return inside


def analyse(video: Path, fmt: FrameFormat, pix_fmt: str, detector: FaceDetector,
            options: LipsyncOptions, fps: float, lines: list[tuple[int, int]],
            band: BandPatch | None = None) -> tuple[Track, int]:
    """Pass 1: shot cuts over all frames, detections on the frames near a line. Returns (track, frames)."""
    scale = min(1.0, options.detect_height / fmt.height)
    margin = options.track.median_window + options.track.max_gap
    histograms, detections = [], []
    decoder = FrameDecoder(video, fmt, pix_fmt, "lip-sync", band)
    try:
        for index, buf in enumerate(decoder):
            planes = fmt.planes(buf)
            histograms.append(luma_histogram(planes[0]))
            near = _near_line(index, fps, lines, margin)
            if near and index % max(1, options.detect_every) == 0:
                faces = detector.detect(frame_to_rgb(planes, fmt, scale))
                detections.append([f.scaled(1.0 / scale) for f in faces])
            else:
                detections.append(None)
    finally:
        decoder.close()
    cuts = shot_cuts(histograms)
    tracked = track(detections, cuts, options.track)
    return tracked, len(histograms)


def _near_line(index: int, fps: float, lines: list[tuple[int, int]], margin_frames: int) -> bool:
    t = index * 1000.0 / fps
    pad = margin_frames * 1000.0 / fps
    return any(start - pad <= t < end + pad for start, end in lines)


def face_box(box: tuple[float, float, float, float], detector_name: str, fmt: FrameFormat) -> tuple[int, int, int, int]:
    """The generator's crop for a tracked face box: the box with chin padding, chroma-aligned, clipped."""
    x1, y1, x2, y2 = box
    pad = CHIN_PAD.get(detector_name, 0.1) * (y2 - y1)
    return align_box((x1, y1, x2, y2 + pad), fmt)


def run_lipsync(video: Path, dub_audio_16k: np.ndarray, lines: list[tuple[int, int]], out_video: Path,
                options: LipsyncOptions = LipsyncOptions(), band: BandPatch | None = None) -> LipsyncResult:
    """Re-lip-sync the faces in ``video`` to ``dub_audio_16k`` during ``lines`` and write ``out_video``.

    ``dub_audio_16k``: the dub track (mono float, 16 kHz) on the video's timeline.
    ``lines``: (start_ms, end_ms) of the dubbed lines; other frames pass through bit-exact.
    ``band``: the subtitle removal's band, laid over ``video`` (the frames read are the clean picture's).
    ``out_video``: a lossless Matroska intermediate (FFV1, no audio), frame for frame the source's timeline.
    Without a checkpoint (or without lines) nothing is written and the result says why;
    a checkpoint path that is missing or wrong raises :class:`ModelError`. Once the stage runs,
    ``out_video`` is always written; ``applied`` is False when no frame had a face to change.
    """
    started = time.monotonic()
    if options.checkpoint is None:
        return LipsyncResult(False, "skipped: no Wav2Lip checkpoint given (use --lipsync-checkpoint PATH or "
                                    "lipsync_checkpoint in the config)")
    if not lines:
        return LipsyncResult(False, "skipped: no dubbed lines")
    import torch

    from localize.stages.lipsync.wav2lip import load_wav2lip

    device = resolve_device(options.device)
    previous_threads = torch.get_num_threads()
    if options.threads > 0:
        torch.set_num_threads(options.threads)
    try:
        model = load_wav2lip(options.checkpoint, device)
        info = ffmpeg.probe(Path(video))
        fps = info.fps
        fmt, pix_fmt = probe_frame_format(Path(video), info)
        det_height = min(options.detect_height, fmt.height)
        min_face = max(20, int(options.min_face_fraction * min(det_height, det_height * fmt.width / fmt.height)))
        if options.detector == "auto":
            detector = default_detector(device)
            if hasattr(detector, "min_face"):
                detector.min_face = max(detector.min_face, min_face)
        else:
            detector = DETECTORS.create(options.detector, min_face=min_face)
        # MTCNN's many tiny convolutions gain nothing from threads and lose badly to contention
        # (bench/lipsync.py on the shared 2-core box: 12 fps with 1 thread, 0.3 fps with 2 under load).
        torch.set_num_threads(1)
        try:
            tracked, n_frames = analyse(Path(video), fmt, pix_fmt, detector, options, fps, lines, band)
        finally:
            torch.set_num_threads(options.threads if options.threads > 0 else previous_threads)
        in_line = line_frames(lines, n_frames, fps)
        process = np.array([in_line[i] and tracked.boxes[i] is not None for i in range(n_frames)])
        mel = melspectrogram(np.asarray(dub_audio_16k, dtype=np.float32).reshape(-1))
        changed = _render(Path(video), Path(out_video), fmt, pix_fmt, info, tracked, process, mel, fps, model,
                          detector.name, options.batch_size, device, band)
    finally:
        if options.threads > 0:
            torch.set_num_threads(previous_threads)
    reason = "applied" if changed else "no face visible during the dubbed lines; picture unchanged"
    return LipsyncResult(changed > 0, reason, frames_changed=changed, frames_total=n_frames,
                         face_frames=int(process.sum()), line_frames=int(in_line.sum()),
                         shot_cuts=len(tracked.cuts), detector=detector.name, device=device,
                         seconds=round(time.monotonic() - started, 3), output=str(out_video))


def _render(video: Path, out_video: Path, fmt: FrameFormat, pix_fmt: str, info: ffmpeg.MediaInfo, tracked: Track,
            process: np.ndarray, mel: np.ndarray, fps: float, model, detector_name: str, batch_size: int,
            device: str, band: BandPatch | None = None) -> int:
    """Pass 2: run the generator on the frames to process, blend, and encode every frame in order."""
    import torch

    changed = 0
    def argv_for(tmp: Path) -> list[str]:
        return ffmpeg.encode_raw_video_argv(tmp, width=fmt.width, height=fmt.height, pix_fmt=pix_fmt,
                                            fps_num=info.fps_num, fps_den=info.fps_den, full_range=fmt.full_range)

    with encode_frames(out_video, argv_for, "encoding the lip-synced video") as write:
        queue: list[tuple[int, bytearray]] = []
        pending = 0

        def flush() -> None:
            nonlocal changed, pending
            jobs = [(i, buf) for i, buf in queue if process[i]]
            if jobs:
                boxes = [face_box(tracked.boxes[i], detector_name, fmt) for i, _ in jobs]
                faces = np.stack([generator_input(crop_bgr(fmt.planes(buf), box, fmt))
                                  for (i, buf), box in zip(jobs, boxes)])
                mels = mel_windows(mel, [i for i, _ in jobs], fps)
                with torch.inference_mode():
                    out = model(torch.from_numpy(mels).to(device), torch.from_numpy(faces).to(device))
                generated = (out.float().cpu().numpy().transpose(0, 2, 3, 1) * 255.0).clip(0, 255).astype(np.uint8)
                for (i, buf), box, gen in zip(jobs, boxes, generated):
                    if paste(fmt.planes(buf), box, gen, fmt):
                        changed += 1
            for _, buf in queue:
                write(buf)
            queue.clear()
            pending = 0

        decoder = FrameDecoder(video, fmt, pix_fmt, "lip-sync", band)
        try:
            for index, buf in enumerate(decoder):
                if index >= len(process):
                    raise InputError("the video decoded to a different number of frames on the second pass")
                queue.append((index, buf))
                pending += int(process[index])
                # Flush a full batch, or a long run of pass-through frames so memory stays bounded.
                if pending >= batch_size or (pending == 0 and len(queue) >= 8) or len(queue) >= 4 * batch_size:
                    flush()
            flush()
        finally:
            decoder.close()
    return changed


# --- the stage, declared -----------------------------------------------------------------------

def _run_stage(ctx: StageContext) -> dict:
    from localize.audio import read_wav, resample, to_mono

    checkpoint = ctx.settings.lipsync_checkpoint
    clean = ctx.inputs["picture"]
    picture = clean.video(ctx.episode, ctx.work.root)
    if checkpoint is None:
        skipped = run_lipsync(picture, np.zeros(0, dtype=np.float32), [], ctx.work.path("unused"), LipsyncOptions())
        return {**dataclasses.asdict(skipped), "picture": ""}
    out_video = ctx.work.path(f"lipsync.{ctx.locale.tag}.mkv")
    dub, rate = read_wav(ctx.work.path(ctx.inputs["mix"]["dub"]))
    lines = [(seg.start_ms, seg.end_ms) for seg in ctx.inputs["transcript"].segments]
    result = run_lipsync(picture, resample(to_mono(dub), rate, 16000), lines, out_video,
                         LipsyncOptions(checkpoint=Path(checkpoint)), band=clean.clean(ctx.episode, ctx.work.root))
    made = result.output is not None and out_video.exists()
    return {**dataclasses.asdict(result), "picture": out_video.name if made else ""}


def synced_picture(data: dict, work_root: Path) -> Path | None:
    """The picture lip-sync made (``data`` is its record), in ``work_root``; None when it made none
    and the clean picture stands."""
    if not data.get("output") or not data.get("picture"):
        return None
    return work_file(work_root, data["picture"])


STAGE = Stage(name="lipsync", version=VERSION, gives="lipsync", needs=("mix", "picture", "transcript"),
              settings=("lipsync_checkpoint",), per_market=True, run=_run_stage,
              # Its own picture, by name (the clean one is the removal's).
              files=lambda data: (Path(data["picture"]).name,) if data.get("output") and data.get("picture") else (),
              summary="re-lip-sync faces to the dub where a Wav2Lip checkpoint is given (else skipped)")
