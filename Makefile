# One entry point for people and CI: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= torch,tensorflow,dev
# The stamp changes whenever the declared or pinned dependencies change, so `setup` is a no-op otherwise.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt requirements/*.txt 2>/dev/null | sha256sum | cut -c1-16)

.PHONY: setup demo demo-images test lint format bench clean protos gpu-images gpu-wheels gpu-check

setup: $(STAMP)

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	$(BIN)/python -m pip install -q -c constraints.txt -r requirements/test-clients.txt
	$(BIN)/python -m pip install -q --no-deps -c constraints.txt -r requirements/test-clients-nodeps.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: setup
	$(BIN)/modelship demo

# The image classifier end to end: synthetic images, CNN, served version, b64 JPEG predictions.
demo-images: setup
	$(BIN)/modelship demo-images

# Lint first: a style, type or layering error fails in seconds, before the long test run.
test: lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

# Every speed target in one run (40 min on a busy 2-core machine, plus 8-15 min for the
# peers' environments the first time); the
# targets, tables and plots go to benchmarks/results/. BENCH_ARGS=--quick checks the plumbing.
bench: setup
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Regenerates the protobuf modules checked in beside their .proto files.
protos: setup
	PYTHON=$(BIN)/python scripts/gen-protos.sh

# The GPU images (CUDA libraries from PyPI wheels on the Debian base): downloads several GB.
gpu-images:
	scripts/build-base-image.sh
	scripts/build-images.sh serving-gpu training-gpu

# Wheels the GPU check installs where no package index is reachable (.gpu-wheels/, < 40 MB).
gpu-wheels: setup
	PYTHON=$(BIN)/python scripts/gpu-wheels.sh

# On a machine with an NVIDIA GPU and PyTorch for CUDA: GPU tests and the GPU/CPU benchmark.
gpu-check:
	scripts/gpu-check.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
