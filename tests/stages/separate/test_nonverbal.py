"""Non-verbal vocals: a dialogue stem's gasps and sobs outside the lines go back into the bed, its lines do not."""

from __future__ import annotations

import numpy as np
import pytest

from localize.audio import resample
from localize.stages.separate.synthetic import speak_mandarin
from localize.stages.mix import add_nonverbal, nonverbal_vocals

RATE = 16000


def gasp(ms: int, seed: int = 0) -> np.ndarray:
    """A breathy in-take: band-limited noise with a fast rise and a slower fall."""
    from scipy.signal import butter, sosfilt

    n = RATE * ms // 1000
    noise = np.random.default_rng(seed).standard_normal(n)
    breath = sosfilt(butter(4, (600, 3500), btype="bandpass", fs=RATE, output="sos"), noise)
    envelope = np.minimum(1.0, np.linspace(0, 6, n)) * np.linspace(1.0, 0.3, n)
    return (0.08 * breath * envelope / np.abs(breath).max() * 4).astype(np.float32)


def sob(ms: int) -> np.ndarray:
    """A voiced sob: a 260 Hz harmonic tone with a 6 Hz shudder."""
    t = np.arange(RATE * ms // 1000) / RATE
    tone = sum(np.sin(2 * np.pi * 260 * k * t) / k for k in range(1, 6))
    envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.06)  # 60 ms rise and fall
    return (0.06 * tone * (0.7 + 0.3 * np.sin(2 * np.pi * 6 * t)) * envelope).astype(np.float32)


@pytest.fixture(scope="module")
def stem():
    """8 s of dialogue stem: a line at 1.0 s, a gasp at 4.5 s, a sob at 6.0 s, faint music residue throughout."""
    line = resample(speak_mandarin("你为什么要骗我？", "f3", 70, 165), 48000, RATE)
    line = line * (0.1 / np.sqrt(np.mean(line ** 2)))
    track = np.zeros(8 * RATE, dtype=np.float32)
    start = RATE
    track[start:start + len(line)] += line
    span = (1000, 1000 + len(line) * 1000 // RATE)
    g, s = gasp(350), sob(600)
    track[int(4.5 * RATE):int(4.5 * RATE) + len(g)] += g
    track[6 * RATE:6 * RATE + len(s)] += s
    t = np.arange(len(track)) / RATE
    residue = (0.001 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # ~40 dB under the line
    return track + residue, span, (g, s)


def test_burst_outside_lines_is_kept_and_the_line_is_not(stem):
    track, span, (g, s) = stem
    kept = nonverbal_vocals(track, RATE, [span])
    assert kept.shape == track.shape
    # The line, widened by the 250 ms margin, contributes nothing.
    first, last = (span[0] - 250) * RATE // 1000, (span[1] + 250) * RATE // 1000
    assert not kept[first:last].any()
    # The gasp and the sob come through whole in their cores (the fades sit at their edges).
    gasp_at, sob_at = int(4.5 * RATE), 6 * RATE
    core = slice(gasp_at + len(g) // 4, gasp_at + 3 * len(g) // 4)
    np.testing.assert_array_equal(kept[core], track[core])
    core = slice(sob_at + len(s) // 4, sob_at + 3 * len(s) // 4)
    np.testing.assert_array_equal(kept[core], track[core])
    energy = lambda x: float(np.sum(x.astype(np.float64) ** 2))  # noqa: E731
    assert energy(kept[gasp_at:gasp_at + len(g)]) > 0.9 * energy(g)  # measured 0.99
    assert energy(kept[sob_at:sob_at + len(s)]) > 0.9 * energy(s)
    # The faint music residue between events is not kept.
    assert not kept[int(3.0 * RATE):int(4.3 * RATE)].any()
    assert not kept[int(7.0 * RATE):].any()


def test_events_fade_in_and_out(stem):
    track, span, _ = stem
    kept = nonverbal_vocals(track, RATE, [span], fade_ms=40)
    nonzero = np.flatnonzero(kept)
    onset = nonzero[nonzero > 4 * RATE][0]
    ramp = slice(onset, onset + 60 * RATE // 1000)  # the 40 ms fade, rounded out to whole 10 ms frames
    gain = np.abs(kept[ramp]) / np.maximum(np.abs(track[ramp]), 1e-9)
    # Rising over the fade, from near zero to one, never a step.
    assert gain[0] < 0.2 and gain[-1] > 0.95
    assert np.all(np.diff(gain[np.abs(track[onset:onset + len(gain)]) > 1e-4]) > -1e-3)


def test_a_span_covering_the_burst_removes_it(stem):
    track, span, _ = stem
    kept = nonverbal_vocals(track, RATE, [span, (4400, 5000), (5900, 6700)])
    assert not kept.any()


def test_added_to_a_stereo_bed_centred(stem):
    track, span, _ = stem
    bed = np.zeros((8 * 48000, 2), dtype=np.float32)
    mixed, kept_ms = add_nonverbal(bed, 48000, track, RATE, [span])
    assert mixed.shape == bed.shape and np.array_equal(mixed[:, 0], mixed[:, 1])
    assert 800 < kept_ms < 1200  # the 350 ms gasp and 600 ms sob, with their fades
    assert np.abs(mixed[int(6.2 * 48000):int(6.4 * 48000), 0]).max() > 0.03  # the sob, at full level
    assert not mixed[int(0.8 * 48000):int((span[1] + 200) * 48)].any()  # the line, nowhere


@pytest.mark.parametrize("backend", ["dfn-repet", "none"])
def test_render_mix_keeps_them_only_when_asked(stem, tmp_path, backend):
    """The pipeline's mix step: with keep_nonverbal the gasp and sob reach the final mix; the line never
    does; a bed that already holds the dialogue (``none``) is left alone."""
    import dataclasses

    from pathlib import Path

    from localize.audio import read_wav, write_wav
    from localize.locales import get_locale
    from localize.model import Segment, Transcript
    from localize.pipeline import PipelineOptions
    from localize.stages.contract import Graph, Runner
    from localize.stages.mix.stage import STAGE as MIX
    from localize.stages.separate import Stems
    from localize.stages.mix import MixOptions
    from localize.workdir import WorkDir

    track, span, _ = stem
    work = WorkDir(tmp_path / "work")
    rng = np.random.default_rng(3)
    write_wav(work.path("bed.wav"), 0.01 * rng.standard_normal((8 * 48000, 2)), 48000)  # a quiet bed
    write_wav(work.path("dialogue.wav"), track, RATE)
    (work.root / "dub.en-US").mkdir()
    t = np.arange(int(1.2 * 24000)) / 24000
    write_wav(work.path("dub.en-US/0000.wav"), 0.2 * np.sin(2 * np.pi * 220 * t), 24000)
    given = {"stems": Stems("dialogue.wav", "bed.wav", backend, backend == "none"),
             "transcript": Transcript("zh", [Segment(0, span[0], span[1], "你为什么要骗我？")]),
             "dub": {"lines": [{"id": 0, "clip": "dub.en-US/0000.wav", "start_ms": span[0]}]}}
    results = {}
    for keep in (False, True):
        options = dataclasses.replace(PipelineOptions(), mix=MixOptions(keep_nonverbal=keep))
        runner = Runner(work, options, Path("ep.mp4"))
        for name, value in given.items():
            runner.give(name, value, key=repr(value))
        mixed = runner.run(Graph("g", (MIX,), given=tuple(given)), locale=get_locale("en-US"))["mix"]
        results[keep] = (mixed, read_wav(work.path(mixed["mix"]))[0])
    (off, off_audio), (on, on_audio) = results[False], results[True]
    assert "nonverbal_ms" not in off
    sob = slice(int(6.1 * 48000), int(6.5 * 48000))
    if backend == "none":
        assert "nonverbal_ms" not in on
        return
    assert 800 < on["nonverbal_ms"] < 1200
    # Loudness normalisation scales both mixes alike; the sob lifts the "on" mix well above the quiet bed.
    assert np.sqrt(np.mean(on_audio[sob] ** 2)) > 3 * np.sqrt(np.mean(off_audio[sob] ** 2))
