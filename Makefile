# The two commands of the README: `make quickstart` (the main job) and `make test`.
# Both create .venv on first use; torch comes from the pinned wheels in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.graphemo-ready

.PHONY: quickstart test lint bench clean-venv extract-env

# `graphemo extract` runs MediaPipe in its own environment: mediapipe 0.10.14 needs protobuf<5 and
# opencv-contrib-python, which clash with this environment's protobuf>=5 (mlflow) and opencv-python-headless.
# Keep MEDIAPIPE_VERSION equal to graphemo/sources/video/mediapipe_worker.py's (a test checks it).
EXTRACT_PYTHON ?= $(PYTHON)
EXTRACT_VENV ?= .venv-extract
EXTRACT_READY := $(EXTRACT_VENV)/.graphemo-ready
MEDIAPIPE_VERSION := 0.10.14

$(READY): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch torchvision
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,sweep,export,team]'
	touch $(READY)

quickstart: $(READY)
	$(BIN)/graphemo run experiments/quickstart.yaml

test: $(READY) $(EXTRACT_READY)
	$(BIN)/python -m ruff check graphemo tests tools
	$(BIN)/python -m pytest -q

lint: $(READY)
	$(BIN)/python -m ruff check graphemo tests tools

clean-venv:
	rm -rf $(VENV)

$(EXTRACT_READY):
	test -x $(EXTRACT_VENV)/bin/python || $(EXTRACT_PYTHON) -m venv $(EXTRACT_VENV)
	$(EXTRACT_VENV)/bin/python -m pip install --quiet mediapipe==$(MEDIAPIPE_VERSION)
	$(EXTRACT_VENV)/bin/python -I graphemo/sources/video/mediapipe_worker.py --check > /dev/null 2> $(EXTRACT_VENV)/check.log \
		|| { cat $(EXTRACT_VENV)/check.log; exit 1; }
	touch $(EXTRACT_READY)

extract-env: $(EXTRACT_READY)
