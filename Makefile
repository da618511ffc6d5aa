# The two commands a newcomer needs: `make demo` and `make test`.
# Both create or update the virtual environment themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint types pytest venv clean bench policy-reference

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/escalator demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy over escalator/, tests/ and bench/ (pyproject [tool.mypy]), then each conftest.py on
# its own: pytest gives every one its own name, but to mypy (helpers are top-level modules,
# see pyproject) they are all the module `conftest`, and one run holds one file per name.
types: $(STAMP)
	$(BIN)/mypy
	for conftest in $$(find tests -name conftest.py | sort); do \
		$(BIN)/mypy $$conftest || exit 1; \
	done

# Everything on the time-skipping server (two modules at a time: most of a module's time
# is spent waiting on Temporal, a subprocess or a timer; 6.5 min instead of 10.5 here),
# then the workflow suite again on the
# dev server users run (same tests, second-scale policies there; modules that start a
# dev server of their own ran on one already and are left out), then the
# fault-injection suite (tests/faults: it starts its own dev server on a file, the
# real `escalator worker`, fake Slack/Twilio, a PostgreSQL database of its own;
# figures in .escalator/faults-figures.json).
pytest: $(STAMP)
	$(BIN)/python scripts/pytest_guard.py -m "not faults" -n 2 --dist loadfile
	$(BIN)/python scripts/pytest_guard.py --workflow-environment local \
		-m "temporal and not time_skipping_only and not own_dev_server" \
		tests/workflows tests/test_temporal_fixtures.py
	$(BIN)/python scripts/pytest_guard.py -m faults --tb=native tests/faults

test: lint types pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench all

clean:
	rm -rf $(VENV) .escalator .pytest_cache .mypy_cache .ruff_cache

policy-reference: $(STAMP)
	$(BIN)/python -m escalator.policies.reference
