# Two commands do all the set-up: `make run` (the main job) and `make test` (the suite).
# Both create .venv on first use and install the project with the pinned constraints.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint serve viz jupyter mlflow constraints clean-data

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install  ## kedro run on the embedded default data (all pipelines)
	$(BIN)/kedro run $(ARGS)

test: install  ## the whole test suite, slow end-to-end tests included
	$(BIN)/pytest $(ARGS)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

serve: install  ## the HTTP service on $(HOST):$(PORT)
	$(BIN)/uvicorn ncf_recommender.serving.api:app --host $(HOST) --port $(PORT)

viz: install
	$(BIN)/kedro viz run --host $(HOST) --port 4141

jupyter: install
	$(BIN)/kedro jupyter lab --no-browser

MLFLOW_PORT ?= 5000
mlflow: install  ## the MLflow UI on the project's tracking store (mlruns/; every kedro run is a run there)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db --host $(HOST) --port $(MLFLOW_PORT)

constraints:  ## re-pin constraints.txt from the current environment
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^ncf.recommender' > constraints.txt
