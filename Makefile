# The two commands of the README: `make quickstart` (the main job) and `make test`.
# Both create .venv on first use; torch comes from the pinned wheels in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.graphemo-ready

.PHONY: quickstart test lint bench clean-venv

$(READY): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch torchvision
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(READY)

quickstart: $(READY)
	$(BIN)/graphemo run experiments/quickstart.yaml

test: $(READY)
	$(BIN)/python -m ruff check graphemo tests tools
	$(BIN)/python -m pytest -q

lint: $(READY)
	$(BIN)/python -m ruff check graphemo tests tools

clean-venv:
	rm -rf $(VENV)
