# Understudy: one entry per job. Every target sets up what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run serve test lint bench schema clean

install: $(STAMP)

# Reinstall only when the dependency list changes, so `make install` is idempotent and quick.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/understudy run

serve: install
	$(BIN)/understudy serve

test: install
	$(BIN)/understudy validate personas/
	$(BIN)/python -m pytest -q
	$(BIN)/understudy test --quiet personas/tests

lint: install
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/mypy

bench: install
	$(BIN)/python -m benchmarks.engine
	$(BIN)/python -m benchmarks.e2e
	$(BIN)/python -m benchmarks.storage

schema: install
	$(BIN)/python -c "from bot.persona.loader import write_schema; write_schema()"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
