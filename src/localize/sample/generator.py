"""`localize sample`: build a synthetic Chinese microdrama episode with its ground truth.

From a YAML script it makes a vertical 1080x1920 H.264/AAC episode whose
Mandarin dialogue is spoken by espeak-ng, over a synthetic music bed, with
Chinese subtitles burned in where microdramas put them (about two thirds of
the way down). Beside the video it writes the two true audio stems and a JSON
file with every line's exact timing, speaker, Chinese text and reference
English, so later stages (separation, ASR, OCR, diarization, translation)
can be measured against it.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from localize import ffmpeg
from localize.errors import ConfigError, ToolError, UsageError
from localize.fsutil import atomic_path
from localize.sample.music import MusicPlan, music_bed
from localize.sample.photo import SubtitleStyle, draw_style, plan_shots, render_frames
from localize.sample.picture import Canvas, draw, write_ppm
from localize.sample.script import Character, Line, Scene, Script, load_script
from localize.sample.voice import active_rms, espeak_variants, speak, to_pinyin, trim_silence

if TYPE_CHECKING:
    import pysubs2

RATE = 48000
WIDTH, HEIGHT, FPS = 1080, 1920, 30
SUBTITLE_FONT = "Noto Sans CJK SC"
SUBTITLE_SIZE = 66
SUBTITLE_CENTER = 0.66  # of the frame height: where microdramas put their subtitle band
SUBTITLE_ROW_CHARS = 13
DIALOGUE_RMS_DBFS = -18.0  # active-speech level of every line
PEAK_CEILING = 10 ** (-1 / 20)  # -1 dBFS
PAN_MARGIN = 40


def _default_script() -> Path:
    resource = importlib.resources.files("localize") / "data" / "episode01.yaml"
    return Path(str(resource))


DEFAULT_SCRIPT: Path = _default_script()


@dataclass(frozen=True)
class SampleEpisode:
    """The files of one generated episode."""

    video: Path  # episode.mp4
    truth: Path  # episode.truth.json
    music: Path  # episode.music.wav: the true background stem, 48 kHz stereo
    dialogue: Path  # episode.dialogue.wav: the true dialogue stem, 48 kHz stereo
    duration_ms: int
    clean: Path | None = None  # episode.clean.mp4 (photo scenery): the same picture without subtitles


@dataclass(frozen=True)
class PlacedLine:
    """A line of the script with its speech placed on the timeline."""

    index: int
    line: Line
    scene: str
    pinyin: str
    start_ms: int
    end_ms: int
    samples: np.ndarray  # float32 mono at RATE, already levelled


def subtitle_text(zh: str, row_chars: int = SUBTITLE_ROW_CHARS) -> str:
    """The text as burned in: clause punctuation becomes a space and closing 。，are dropped (as in
    real microdramas); a long line breaks into two rows (ASS ``\\N``) at a space or after ？/！,
    choosing the break that balances the rows, or in the middle when no break fits."""
    text = re.sub(r"[，。、；：…—,.;:]+", " ", zh)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= row_chars:
        return text
    cuts: list[tuple[str, str]] = []
    for i, ch in enumerate(text):
        if ch == " ":
            cuts.append((text[:i], text[i + 1:]))
        elif ch in "？！?!" and i + 1 < len(text):
            cuts.append((text[:i + 1], text[i + 1:].lstrip()))
    if cuts:
        left, right = min(cuts, key=lambda c: max(len(c[0]), len(c[1])))
        if max(len(left), len(right)) <= row_chars + 1:
            return left + r"\N" + right
    cut = -(-len(text) // 2)
    return text[:cut].rstrip() + r"\N" + text[cut:].lstrip()


def _scene_of_lines(script: Script) -> list[str]:
    """Each line's scene: the last one named at or before it (the first named, before any)."""
    first = next((line.scene for line in script.lines if line.scene), None) or "default"
    current, out = first, []
    for line in script.lines:
        current = line.scene or current
        out.append(current)
    return out


def _synthesise(script: Script) -> list[tuple[str, np.ndarray]]:
    """(pinyin, trimmed and levelled speech) for every line, two espeak processes at a time."""
    target = 10 ** (DIALOGUE_RMS_DBFS / 20)

    def one(line: Line) -> tuple[str, np.ndarray]:
        character = script.characters[line.speaker]
        pinyin = line.pinyin or to_pinyin(line.zh)
        clip = trim_silence(speak(character, pinyin, RATE), RATE)
        if len(clip) < RATE // 10:
            raise ToolError(f"espeak-ng produced no speech for {line.speaker}: {line.zh}")
        return pinyin, (clip * (target / active_rms(clip, RATE))).astype(np.float32)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, script.lines))


def place_lines(script: Script, speech: list[tuple[str, np.ndarray]]) -> tuple[list[PlacedLine], int]:
    """Lay the lines end to end with their pauses; return them and the episode length in ms.

    The length is rounded up to a whole 100 ms, which is a whole number of frames at 30 fps,
    so the audio and the picture end together.
    """
    scenes = _scene_of_lines(script)
    placed: list[PlacedLine] = []
    cursor = 0
    for index, (line, (pinyin, samples)) in enumerate(zip(script.lines, speech)):
        if line.pause_ms is not None:
            pause = line.pause_ms
        else:
            pause = script.lead_ms if index == 0 else script.default_pause_ms
        start = cursor + pause
        end = start + int(round(len(samples) * 1000 / RATE))
        placed.append(PlacedLine(index + 1, line, scenes[index], pinyin, start, end, samples))
        cursor = end
    duration = -(-(cursor + script.tail_ms) // 100) * 100
    return placed, duration


def build_stems(placed: list[PlacedLine], duration_ms: int, music: np.ndarray, music_below_db: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """The dialogue and music stems as int16 stereo arrays of equal length.

    Both are quantised separately and scaled together so that their integer sum (the mix the
    episode is encoded from) cannot clip: mix == dialogue + music holds exactly, sample for sample.
    """
    n = duration_ms * RATE // 1000
    dialogue = np.zeros(n, dtype=np.float32)
    for p in placed:
        at = p.start_ms * RATE // 1000
        chunk = p.samples[: n - at]
        dialogue[at:at + len(chunk)] += chunk
    music = music[:n]
    music_rms = float(np.sqrt(np.mean(music.astype(np.float64) ** 2)))
    if music_rms > 0:
        music = music * (10 ** ((DIALOGUE_RMS_DBFS - music_below_db) / 20) / music_rms)
    stereo_dialogue = np.repeat(dialogue[:, None], 2, axis=1)
    # Keep the mix's sample peak at or under -1 dBFS so the AAC encode has headroom too.
    peak = float(np.max(np.abs(stereo_dialogue + music)))
    gain = min(1.0, PEAK_CEILING / peak) if peak > 0 else 1.0
    d16 = np.round(stereo_dialogue * gain * 32767).astype(np.int16)
    m16 = np.round(music * gain * 32767).astype(np.int16)
    return d16, m16


def mix_stems(dialogue: np.ndarray, music: np.ndarray) -> np.ndarray:
    """The exact integer mix of two int16 stems; raises if it would clip (it never should)."""
    total = dialogue.astype(np.int32) + music.astype(np.int32)
    if total.max(initial=0) > 32767 or total.min(initial=0) < -32768:
        raise ValueError("dialogue + music clips")
    return total.astype(np.int16)


SCENERIES = ("drawn", "photo")
DEFAULT_STYLE = SubtitleStyle(font_size=SUBTITLE_SIZE, outline=4.0, shadow=1.5, color=(255, 255, 255),
                              center_ratio=SUBTITLE_CENTER, row_chars=SUBTITLE_ROW_CHARS)


def build_subtitles(placed: list[PlacedLine], style: SubtitleStyle = DEFAULT_STYLE) -> pysubs2.SSAFile:
    """An ASS file (pysubs2) with one event per line, centred on the subtitle band."""
    import pysubs2

    subs = pysubs2.SSAFile()
    subs.info["PlayResX"] = str(WIDTH)
    subs.info["PlayResY"] = str(HEIGHT)
    subs.info["WrapStyle"] = "0"
    subs.info["ScaledBorderAndShadow"] = "yes"
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname=SUBTITLE_FONT, fontsize=style.font_size, bold=True,
        primarycolor=pysubs2.Color(*style.color), outlinecolor=pysubs2.Color(0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 128), outline=style.outline, shadow=style.shadow,
        alignment=pysubs2.Alignment.MIDDLE_CENTER, marginl=60, marginr=60, marginv=0)
    x, y = WIDTH // 2, round(HEIGHT * style.center_ratio)
    for p in placed:
        text = "{\\an5\\pos(%d,%d)}" % (x, y) + subtitle_text(p.line.zh, style.row_chars)
        subs.append(pysubs2.SSAEvent(start=p.start_ms, end=p.end_ms, text=text, name=p.line.speaker))
    return subs


def picture_plan(placed: list[PlacedLine], duration_ms: int) -> list[tuple[str, str | None, int, int]]:
    """(scene, speaker or None, start_ms, end_ms) spans covering the episode.

    The speaker's silhouette shows while they speak; scene cuts fall in the middle of a pause.
    """
    spans: list[tuple[str, str | None, int, int]] = []
    cursor, scene = 0, placed[0].scene
    for p in placed:
        if p.scene != scene:
            cut = (cursor + p.start_ms) // 2
            spans.append((scene, None, cursor, cut))
            cursor, scene = cut, p.scene
        if p.start_ms > cursor:
            spans.append((scene, None, cursor, p.start_ms))
        spans.append((scene, p.line.speaker, p.start_ms, p.end_ms))
        cursor = p.end_ms
    spans.append((scene, None, cursor, duration_ms))
    return [s for s in spans if s[3] > s[2]]


def _truth(script: Script, script_name: str, placed: list[PlacedLine], duration_ms: int, name: str,
           dialogue: np.ndarray, music: np.ndarray, style: SubtitleStyle = DEFAULT_STYLE) -> dict:
    def rms_db(x: np.ndarray) -> float:
        value = float(np.sqrt(np.mean((x.astype(np.float64) / 32768) ** 2)))
        return round(20 * np.log10(max(value, 1e-10)), 2)

    speech = np.concatenate([dialogue[p.start_ms * RATE // 1000:p.end_ms * RATE // 1000, 0] for p in placed])

    def character(c: Character) -> dict:
        return {"gender": c.gender, "voice": c.voice, "engine": "espeak-ng", "variant": c.variant,
                "pitch": c.pitch, "speed": c.speed, "en": c.en, "role": c.role, "color": c.color}

    return {
        "title": script.title, "title_en": script.title_en, "series": script.series, "series_en": script.series_en,
        "episode": script.episode, "duration_ms": duration_ms, "width": WIDTH, "height": HEIGHT, "fps": FPS,
        "language": "zh", "synthetic": True, "generator": "localize sample", "script": script_name,
        "files": {"video": f"{name}.mp4", "music": f"{name}.music.wav", "dialogue": f"{name}.dialogue.wav",
                  "subtitles": f"{name}.zh.ass"},
        "audio": {"rate": RATE, "channels": 2, "dialogue_rms_dbfs_in_lines": rms_db(speech),
                  "music_rms_dbfs": rms_db(music), "music_below_db": script.music_below_db},
        "subtitle_band": {"font": SUBTITLE_FONT, "font_size": style.font_size,
                          "center_y": round(HEIGHT * style.center_ratio), "center_ratio": style.center_ratio},
        "characters": {c.name: character(c) for c in script.characters.values()},
        "scenes": {s.name: {"top": s.top, "bottom": s.bottom} for s in _scenes(script, placed).values()},
        "lines": [{"id": p.index, "start_ms": p.start_ms, "end_ms": p.end_ms, "start": p.start_ms / 1000,
                   "end": p.end_ms / 1000, "speaker": p.line.speaker, "zh": p.line.zh, "en": p.line.en,
                   "pinyin": p.pinyin, "subtitle": subtitle_text(p.line.zh, style.row_chars).replace(r"\N", "\n"),
                   "scene": p.scene} for p in placed],
    }


def _scenes(script: Script, placed: list[PlacedLine]) -> dict[str, Scene]:
    scenes = dict(script.scenes)
    for p in placed:
        if p.scene not in scenes:  # only "default": a script that names no scene at all
            scenes[p.scene] = Scene(p.scene, "#1d2b53", "#7e5a9b")
    return scenes


def _check_name(name: str) -> None:
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) or name.endswith("."):
        raise UsageError(f"sample name {name!r} must be a plain file name (letters, digits, '.', '_', '-')")


@dataclass(frozen=True)
class RenderedAudio:
    """An episode's sound before any picture: the placed lines and the int16 stereo stems at :data:`RATE`."""

    placed: list[PlacedLine]
    duration_ms: int
    dialogue: np.ndarray
    music: np.ndarray


def check_voices(parsed: Script, source: str) -> None:
    """Raise :class:`ConfigError` for a character whose espeak-ng variant does not exist."""
    known = espeak_variants()
    for character in parsed.characters.values():
        if known and character.variant not in known:
            raise ConfigError(f"{source}: character {character.name!r}: espeak-ng has no voice variant "
                              f"{character.variant!r} (try one of m1-m7, f1-f5)")


def render_audio(parsed: Script) -> RenderedAudio:
    """Speak every line, place the lines and build the dialogue and music stems (no video)."""
    speech = _synthesise(parsed)
    placed, duration_ms = place_lines(parsed, speech)
    n = duration_ms * RATE // 1000
    music_float = music_bed(n, RATE, MusicPlan(seed=parsed.seed))
    dialogue, music = build_stems(placed, duration_ms, music_float, parsed.music_below_db)
    return RenderedAudio(placed, duration_ms, dialogue, music)


def script_label(parsed: Script) -> str:
    """What the truth file names as the script of a drawn (not file-based) episode."""
    return f"drawn from seed {parsed.seed}"


def scene_cuts(placed: list[PlacedLine], duration_ms: int) -> list[int]:
    """The times (ms) where the scene changes, as :func:`picture_plan` cuts them."""
    spans = picture_plan(placed, duration_ms)
    return [b[2] for a, b in zip(spans, spans[1:]) if a[0] != b[0]]


def _encode_photo_episode(placed: list[PlacedLine], duration_ms: int, rng: np.random.Generator, mix_path: Path,
                          subtitles: Path, video: Path, clean: Path, encoding: ffmpeg.VideoEncoding,
                          metadata: dict[str, str]) -> list[dict]:
    """Draw the photo shots once and encode them twice: ``video`` with subtitles and sound, ``clean`` without."""
    from localize.rawvideo import encode_frames

    shots = plan_shots(scene_cuts(placed, duration_ms), duration_ms, rng)
    n_frames = duration_ms * FPS // 1000
    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(encode_frames(
            dst, lambda tmp, sub=sub, audio=audio: ffmpeg.raw_rgb_video_argv(
                tmp, width=WIDTH, height=HEIGHT, fps=FPS, duration_ms=duration_ms, audio=audio, subtitles=sub,
                encoding=encoding, metadata=metadata), what))
            for dst, sub, audio, what in ((video, subtitles, mix_path, "encoding the sample episode"),
                                          (clean, None, None, "encoding the sample's clean plate"))]
        for frame in render_frames(shots, WIDTH, HEIGHT, FPS, n_frames):
            data = frame.tobytes()
            for write in writers:
                write(data)
    return [{"start_ms": s.start_ms, "end_ms": s.end_ms, "photo": s.photo, "move": s.move,
             "amount": round(s.amount, 3)} for s in shots]


def generate_sample(out_dir: Path, script: Path | Script | None = None, *, name: str = "episode",
                    scenery: str = "drawn", look_seed: int | None = None) -> SampleEpisode:
    """Generate an episode from ``script`` (a YAML path, a :class:`Script` such as
    :func:`localize.sample.draw.draw_script` gives, or :data:`DEFAULT_SCRIPT`) into ``out_dir``.

    ``scenery`` "drawn" (default) paints gradient sets with silhouettes; "photo" films photographs
    with camera moves and cuts (:mod:`localize.sample.photo`), draws the subtitle style from
    ``look_seed`` (default: the script's seed), and also writes ``{name}.clean.mp4``: the same
    picture without subtitles, the ground truth for subtitle removal.

    Writes ``{name}.mp4``, ``{name}.truth.json``, ``{name}.music.wav``, ``{name}.dialogue.wav`` and
    ``{name}.zh.ass``. All of them appear together at the end, or none does.
    """
    import json

    import soundfile as sf

    _check_name(name)
    if scenery not in SCENERIES:
        raise UsageError(f"unknown scenery {scenery!r}; choose one of: {', '.join(SCENERIES)}")
    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            raise ToolError(f"{tool} not found on PATH; install it (Debian: apt-get install {tool})")
    if isinstance(script, Script):
        parsed, script_name = script, script_label(script)
    else:
        script_path = Path(script) if script is not None else DEFAULT_SCRIPT
        parsed, script_name = load_script(script_path), script_path.name
    check_voices(parsed, script_name)
    out_dir = Path(out_dir)

    rendered = render_audio(parsed)
    placed, duration_ms, dialogue, music = rendered.placed, rendered.duration_ms, rendered.dialogue, rendered.music
    mix = mix_stems(dialogue, music)

    finals = {key: out_dir / f"{name}.{suffix}" for key, suffix in
              (("truth", "truth.json"), ("video", "mp4"), ("music", "music.wav"),
               ("dialogue", "dialogue.wav"), ("subtitles", "zh.ass"))
              + ((("clean", "clean.mp4"),) if scenery == "photo" else ())}
    rng = np.random.default_rng(parsed.seed if look_seed is None else look_seed)
    style = draw_style(rng) if scenery == "photo" else DEFAULT_STYLE
    with tempfile.TemporaryDirectory(prefix="localize-sample-") as work_name, contextlib.ExitStack() as stack:
        work = Path(work_name)
        # Entered first, renamed last: the truth file's presence means the episode is complete.
        tmp = {key: stack.enter_context(atomic_path(path)) for key, path in finals.items()}

        mix_path = work / "mix.wav"
        sf.write(mix_path, mix, RATE, subtype="PCM_16")
        sf.write(tmp["dialogue"], dialogue, RATE, subtype="PCM_16", format="WAV")
        sf.write(tmp["music"], music, RATE, subtype="PCM_16", format="WAV")

        subs = build_subtitles(placed, style)
        subs.save(str(tmp["subtitles"]), format_="ass")
        encoding = ffmpeg.VideoEncoding(crf=23, preset="ultrafast", audio_bitrate="160k")
        metadata = {"title": f"{parsed.series} {parsed.title}",
                    "comment": "Synthetic sample episode made by localize (espeak-ng voices, synthetic music). "
                               "AI-generated content."}
        truth = _truth(parsed, script_name, placed, duration_ms, name, dialogue, music, style)
        if scenery == "photo":
            shots = _encode_photo_episode(placed, duration_ms, rng, mix_path, tmp["subtitles"], tmp["video"],
                                          tmp["clean"], encoding, metadata)
            truth.update(scenery="photo", subtitle_style=style.to_dict(), shots=shots)
            truth["files"]["clean"] = f"{name}.clean.mp4"
            tmp["truth"].write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            return SampleEpisode(video=finals["video"], truth=finals["truth"], music=finals["music"],
                                 dialogue=finals["dialogue"], duration_ms=duration_ms, clean=finals["clean"])

        canvas = Canvas(WIDTH, HEIGHT, PAN_MARGIN)
        scenes = _scenes(parsed, placed)
        slots = {c: i for i, c in enumerate(parsed.characters)}
        pictures: dict[tuple[str, str | None], Path] = {}
        stills: list[tuple[Path, int]] = []
        for scene, speaker, start, end in picture_plan(placed, duration_ms):
            key = (scene, speaker)
            if key not in pictures:
                pictures[key] = work / f"still{len(pictures):03d}.ppm"
                color = parsed.characters[speaker].color if speaker else None
                write_ppm(pictures[key], draw(canvas, scenes[scene], color, slots.get(speaker, 0)))
            stills.append((pictures[key], end - start))
        concat = work / "stills.ffconcat"
        concat.write_text(ffmpeg.concat_stills_list(stills), encoding="utf-8")

        ffmpeg.run(ffmpeg.stills_video_argv(concat, mix_path, tmp["video"], width=WIDTH, height=HEIGHT, fps=FPS,
                                            duration_ms=duration_ms, subtitles=tmp["subtitles"],
                                            pan_margin=PAN_MARGIN, encoding=encoding, metadata=metadata),
                   what="encoding the sample episode")

        tmp["truth"].write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    return SampleEpisode(video=finals["video"], truth=finals["truth"], music=finals["music"],
                         dialogue=finals["dialogue"], duration_ms=duration_ms)
