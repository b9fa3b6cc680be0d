# Two commands: `make demo` (the main job) and `make test` (ruff, mypy and the test suite).
# Each sets up the project's own virtualenv in .venv first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo matrix test test-deep lint bench suite clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[all,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/conformance demo

# The reference suite against localstripe and the project's own test fake, side by side (exit 1 only means a
# target breaks a documented behaviour: the matrix itself was made).
matrix: $(STAMP)
	$(BIN)/conformance matrix cassettes --workers 2 --tokens localstripe=create \
	  --target-cmd "localstripe=$(BIN)/python -m conformance.suite.localstripe_target --port {port}" \
	  --target-cmd "test-fake=$(BIN)/python -m tests.stripe_fake --port {port}" \
	  --reports-dir reports/matrix --json-report reports/matrix/matrix.json \
	  --markdown-report reports/matrix/matrix.md --html-report reports/matrix/matrix.html || [ $$? -eq 1 ]

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Two workers, each taking whole files (a file's module fixtures, such as a built wheel, are made once).
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The property tests with thousands of fresh examples each (CI runs each property's explicit examples and a fixed,
# derandomized share): the adversarial counts docs/security.md gives were measured so. Every property written with
# tests/conftest.py's examples(ci=, deep=) is here.
PROPERTY_TESTS := tests/unit/test_redaction_properties.py tests/unit/test_reader.py tests/unit/test_emitter.py \
  tests/unit/test_writers_guard.py tests/unit/test_forms.py tests/unit/test_matching.py tests/unit/test_report_reading.py \
  tests/unit/test_engine_speed.py tests/unit/test_engine_routes.py tests/unit/test_target_client.py
test-deep: $(STAMP)
	HYPOTHESIS_PROFILE=deep $(BIN)/python -m pytest -n 2 $(PROPERTY_TESTS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Re-capture the reference suite in cassettes/ from tests/stripe_fake.py (its provenance in every header).
suite: $(STAMP)
	$(BIN)/python -m tests.stripe_fake --capture cassettes

clean:
	rm -rf $(VENV) reports bench/results
