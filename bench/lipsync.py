"""Lip-sync throughput on this machine: the Wav2Lip generator and face detection, measured separately.

    python bench/lipsync.py [--batch 16] [--frames 64] [--threads 0] [--device auto] [--json out.json]

Generator: a random-initialised Wav2Lip (the speed does not depend on the weights), batches of
96x96 faces + 80x16 mel windows, in eval mode under ``torch.inference_mode``.
Detection: a 1080x1920 vertical frame holding scikit-image's astronaut photo, shrunk to the
stage's detection height (640) exactly as the stage does, then each detector in turn.
Detection runs on one torch thread, as in the stage. Prints one JSON object; frames per second are
per video frame.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np


def bench_generator(batch: int, frames: int, device: str) -> dict:
    import torch

    from localize.stages.lipsync.wav2lip import build_wav2lip, parameter_count

    model = build_wav2lip().to(device)
    rng = np.random.default_rng(0)
    faces = torch.from_numpy(rng.random((batch, 6, 96, 96), dtype=np.float32)).to(device)
    mels = torch.from_numpy(rng.uniform(-4, 4, (batch, 1, 80, 16)).astype(np.float32)).to(device)
    with torch.inference_mode():
        model(mels, faces)  # warm-up (allocations, kernel selection)
        if device == "cuda":
            torch.cuda.synchronize()
        runs = max(1, frames // batch)
        start = time.perf_counter()
        for _ in range(runs):
            model(mels, faces)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return {"batch": batch, "frames": runs * batch, "seconds": round(seconds, 3),
            "fps": round(runs * batch / seconds, 2), "parameters": parameter_count(model)}


def test_frame() -> np.ndarray:
    """A 1080x1920 RGB frame with the astronaut's head (about 500 px wide) in the upper half."""
    import cv2
    from skimage import data

    frame = np.full((1920, 1080, 3), 120, np.uint8)
    head = cv2.resize(data.astronaut()[0:300, 110:370], (520, 600), interpolation=cv2.INTER_AREA)
    frame[400:1000, 280:800] = head
    return frame


def bench_detector(name: str, frames: int, detect_height: int = 640) -> dict:
    import cv2

    from localize.errors import ModelError
    from localize.stages.lipsync.faces import DETECTORS

    full = test_frame()
    scale = detect_height / full.shape[0]
    small = cv2.resize(full, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    min_face = int(0.1 * min(small.shape[:2]))
    try:
        detector = DETECTORS.create(name, min_face=min_face)
    except ModelError as exc:
        return {"detector": name, "error": str(exc)}
    found = detector.detect(small)  # warm-up
    start = time.perf_counter()
    for _ in range(frames):
        detector.detect(small)
    seconds = time.perf_counter() - start
    box = [round(v / scale) for v in found[0].box] if found else None
    return {"detector": name, "frame": f"{small.shape[1]}x{small.shape[0]} (from 1080x1920)",
            "frames": frames, "seconds": round(seconds, 3), "fps": round(frames / seconds, 2),
            "faces": len(found), "box_in_1080x1920": box}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=64, help="generator frames to time")
    parser.add_argument("--detect-frames", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()

    import torch

    from localize.stages.lipsync.stage import resolve_device

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "torch_threads": torch.get_num_threads(),
                    "device": device, "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None},
        "generator": bench_generator(args.batch, args.frames, device),
    }
    torch.set_num_threads(1)  # the stage runs detection on one thread (see stage.py)
    result["detection"] = [bench_detector(name, args.detect_frames) for name in ("mtcnn", "lbp")]
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
