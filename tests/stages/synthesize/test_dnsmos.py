"""DNSMOS from the speechmos wheel's ONNX models, on real speech and on noise."""

import numpy as np

from localize.locales import get_locale
from localize.stages.synthesize import VOICES, Voice
from localize.stages.synthesize.dnsmos import episode, score


def test_speech_scores_above_noise_and_lines_and_episode_are_reported():
    speech = VOICES.create("espeak").synthesize("I never wanted your money. I only wanted you to believe me.",
                                                Voice("espeak", "f3", "female"), get_locale("en-US"))
    clean = score(speech.samples, speech.rate)
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, speech.samples.size).astype(np.float32)
    noisy = score(np.clip(speech.samples + noise, -1, 1), speech.rate)
    assert 1.0 <= noisy.overall < clean.overall <= 5.0
    assert noisy.background < clean.background
    # One window of the repeated line (what the pipeline scores per line) rates it as all of speechmos's do.
    once = score(speech.samples, speech.rate, windows=1)
    assert abs(once.overall - clean.overall) < 0.2 and once.overall > noisy.overall
    report = episode([speech.samples, speech.samples[: speech.rate]], speech.rate, track=speech.samples)
    assert len(report["lines"]) == 2 and set(report["mean"]) == {"overall", "signal", "background", "p808"}
    assert report["track"]["overall"] == round(clean.overall, 3)
