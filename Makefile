# Olympus developer commands. Only Python 3.11 is needed on the machine:
# PostgreSQL and Redis are embedded when DATABASE_URL / REDIS_URL are unset.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test typecheck bench bench-scale lint format lock stop clean contract-long

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the pinned requirements change.
$(STAMP): requirements/base.txt requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	@touch $(STAMP)

install: $(STAMP)

## make run: migrate, seed demo data, then web + Celery worker + beat (Ctrl-C stops all)
run: install
	$(BIN)/python -m olympus.launch

## make test: lint, types, migration check and the whole suite on real PostgreSQL and Redis
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck
	DJANGO_SETTINGS_MODULE=olympus.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/pytest

## make contract-long: schemathesis over the whole OpenAPI document with many cases (docs/api-contract.md)
contract-long: install
	rm -f .data/contract-long.json
	CONTRACT_REPORT=$(CURDIR)/.data/contract-long.json SCHEMATHESIS_MAX_EXAMPLES=$${SCHEMATHESIS_MAX_EXAMPLES:-100} \
		$(BIN)/pytest -m contract -n 2 -q
	@cat .data/contract-long.json

## make bench: benchmarks with timing goals (tools/bench; `make bench ARGS=orders` runs one module)
bench: install
	$(BIN)/python -m tools.bench $(ARGS)

## make bench-scale: the same requests on a large (1M products, 1M orders) and a small database, ratios
## (tools/bench/scale.py; its own embedded PostgreSQL under .data/scale, kept between runs; sizes: SCALE_*)
bench-scale: install
	OLYMPUS_DATA_DIR=$(CURDIR)/.data/scale $(BIN)/python -m tools.bench.scale

## make typecheck: mypy with django-stubs (strict on services and selectors; see [tool.mypy] in pyproject.toml).
## Settings start nothing, so the Django plugin reads them with placeholder URLs: nothing connects.
typecheck: install
	DATABASE_URL=postgresql://typecheck@localhost/typecheck REDIS_URL=redis://localhost:6379/0 $(BIN)/mypy

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make lock: recompile the pinned requirements from the .in files
lock: $(BIN)/python
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements/base.txt requirements/base.in
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements/dev.txt requirements/dev.in

## make stop: stop embedded PostgreSQL / Redis left behind by a crashed process
stop: install
	$(BIN)/python -m olympus.embedded stop

clean: stop
	rm -rf .data
