# Both `make serve` and `make test` create .venv and install on first use; a fresh machine needs
# only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint bench build dump clean soak

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# `make serve PORT=8001 HOST=127.0.0.1 KG_WRITE_TOKEN=...`: KG_* settings given here or in the
# environment reach the server (variables set on make's command line are exported to its commands).
HOST ?= 127.0.0.1
PORT ?= 8000
serve: $(STAMP)
	exec $(BIN)/kg-service serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

build: $(STAMP)
	$(BIN)/kg-service build

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

soak: $(STAMP)
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
