"""The QC page: self-contained HTML with real plots and frames, drawn from a report and its files."""

from __future__ import annotations

import re
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from localize.qc import QcInputs, qc_path, short_term_loudness, write_qc_page
from localize.qc.flags import line_flags


def _segment(i: int, **extra) -> dict:
    return {"id": i, "start": 1.0 + 3 * i, "end": 2.5 + 3 * i, "speaker": f"S{i % 2 + 1}", "source_text": f"第{i}句",
            "text": f"Line <{i}> & more", "origin": "ocr", "translation_problems": [], "speed": 1.0, "stretch": 1.0,
            "fits": True, "dub_start": 1.0 + 3 * i, "dub_end": 2.4 + 3 * i, **extra}


@pytest.fixture
def inputs(tmp_path):
    if subprocess.run(["which", "ffmpeg"], capture_output=True).returncode:
        pytest.skip("needs ffmpeg")
    rate = 48000
    t = np.arange(12 * rate) / rate
    tone = 0.1 * np.sin(2 * np.pi * 220 * t) * (1 + (t > 6))  # 6 dB louder in the second half
    soundfile.write(tmp_path / "mix.wav", tone.astype(np.float32), rate)
    for name, colour in (("source", "red"), ("picture", "blue")):
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color={colour}:s=90x160:d=12:r=10",
                        "-pix_fmt", "yuv420p", str(tmp_path / f"{name}.mp4")], check=True)
    report = {"source": {"path": str(tmp_path / "ep01.mp4"), "duration": 12.0}, "locale": "en-US",
              "backends": {"voice": "kokoro", "translation": ["gemma"]}, "ai_label": "AI-generated",
              "loudness": {"lufs": -14.0, "true_peak_db": -1.5},
              "speakers": [{"id": "S1", "character": "Lin Xiao", "gender": "female", "segments": 2,
                            "voice": {"backend": "kokoro", "name": "jf_alpha", "pitch": 0.0}},
                           {"id": "S2", "character": "Mr. Gu", "gender": "male", "segments": 1,
                            "voice": {"backend": "kokoro", "name": "jm_kumo", "pitch": 0.0}}],
              "segments": [_segment(0), _segment(1, speed=1.3, fits=False),
                           _segment(2, translation_problems=["glossary-forced: 顾总"], asr_confidence=0.3)]}
    events = [SimpleNamespace(start_ms=1000, end_ms=3000)]
    return QcInputs(report=report, mix=tmp_path / "mix.wav", target_lufs=-14.0, source=tmp_path / "source.mp4",
                    picture=tmp_path / "picture.mp4", hardsub=SimpleNamespace(events=events))


def test_the_page_is_self_contained_and_shows_every_part(inputs, tmp_path):
    page = write_qc_page(qc_path(tmp_path / "ep01.en-US.json"), inputs)
    assert page.name == "ep01.en-US.html"
    text = page.read_text(encoding="utf-8")
    assert text.count("<svg") == 3  # timeline, loudness, speed/stretch
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing from the network
    assert len(re.findall(r'src="data:image/jpeg;base64,', text)) == 2  # before and after
    assert "Line &lt;1&gt; &amp; more" in text and "<1>" not in text.split("<svg")[0]
    for label in ("over budget", "sped up / stretched &gt; 1.1x", "glossary term forced in", "low ASR confidence"):
        assert label in text
    assert "Lin Xiao" in text and "jm_kumo" in text and "target -14 LUFS" in text


def test_loudness_over_time_follows_the_signal(inputs):
    times, values = short_term_loudness(inputs.mix)
    first = [v for t, v in zip(times, values) if t < 4.5]
    second = [v for t, v in zip(times, values) if t > 7.5]
    assert abs(np.median(second) - np.median(first) - 6.0) < 0.3  # the tone doubled at 6 s


def test_flags_of_a_line():
    assert line_flags({"fits": True, "speed": 1.0, "stretch": 1.0}) == []
    assert line_flags({"fits": False, "speed": 1.2, "stretch": 1.0, "translation_problems": ["length: too long"],
                       "speaker_confidence": 0.2, "asr_confidence": 0.9}) == \
        ["over_budget", "fast", "translation", "speaker"]
    assert line_flags({"stretch": 1.15, "translation_problems": ["glossary-fixed: 林晓"]}) == ["fast", "glossary_forced"]
