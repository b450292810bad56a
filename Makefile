# Two commands do all setup: `make run` (serve the chat) and `make test` (the whole suite).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The CPU build of PyTorch; installed first so nothing pulls a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: install run test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: install
	$(PY) -m qa serve

lint: install
	$(VENV)/bin/ruff check qa tests bench app.py
	$(VENV)/bin/ruff format --check qa tests bench app.py
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* .pytest_cache .mypy_cache .ruff_cache
