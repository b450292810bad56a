# Two commands do all setup: `make run` (serve the chat) and `make test` (the whole suite).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# Serving needs the package alone; the suite also needs the dev, Milvus and Ray extras.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
# The CPU build of PyTorch; installed first so nothing pulls a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: install install-run run test lint clean train-reader

install-run: $(RUN_STAMP)

install: $(STAMP)

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(PY) -m pip install -q -e ".[dev,milvus,ray]"
	touch $(STAMP)

run: install-run
	$(PY) -m qa serve

lint: install
	$(VENV)/bin/ruff check qa training tests bench app.py
	$(VENV)/bin/ruff format --check qa training tests bench app.py
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

# The reader shipped in qa/models/reader: trained (about 50 min on 2 cores), calibrated on the
# tune split, measured, and installed with its model card. Needs ../shared/data/squad.
train-reader: install
	HF_HUB_OFFLINE=1 $(PY) -m training.train_reader --out build/reader
	HF_HUB_OFFLINE=1 $(PY) -m training.calibrate_reader --model build/reader --install qa/models/reader

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* .pytest_cache .mypy_cache .ruff_cache
