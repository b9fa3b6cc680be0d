# Two commands: `make demo` (the main job) and `make test` (ruff, mypy and the test suite).
# Each sets up the project's own virtualenv in .venv first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench suite clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[demo,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/conformance demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Re-capture the reference suite in cassettes/ from tests/stripe_fake.py (its provenance in every header).
suite: $(STAMP)
	$(BIN)/python -m tests.stripe_fake --capture cassettes

clean:
	rm -rf $(VENV) reports bench/results
