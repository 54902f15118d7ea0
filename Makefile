# Everything a developer or CI needs, from nothing. See README.md.
# Python: the newest CPython 3.13, 3.12 or 3.11 found (tools/find-python), or the one named by PYTHON=.
PYTHON_BIN := $(shell PYTHON='$(PYTHON)' tools/find-python)
PYTHON_VERSION := $(if $(PYTHON_BIN),$(shell $(PYTHON_BIN) -c 'import sys; print(sys.version.split()[0])'))
# The functions' Lambda runtime (template.yaml); sam build needs this Python to build the layer.
LAMBDA_PYTHON := 3.13
VENV ?= .venv
BIN := $(VENV)/bin
SAM := .tools/sam/bin/sam
CHECKOV := .tools/checkov/bin/checkov
DYNAMODB_LOCAL := tools/dynamodb-local/node_modules/amplify-dynamodb-simulator/emulator/DynamoDBLocal.jar
SHAKA := tools/shaka-player/node_modules/shaka-player/dist/shaka-player.compiled.js
export SAM_CLI_TELEMETRY := 0

.PHONY: install run test unit unit-clock-shifted integration lint format bench build validate check-layer check clean browser-deps python

install: $(VENV)/.installed-dev

## python: say which Python the commands use, or what to install when there is none
python:
	@test -n "$(PYTHON_BIN)" || { echo "make: no Python 3.11 to 3.13 to run on (see above); install one, or give PYTHON=" >&2; exit 1; }
	@echo "make: Python $(PYTHON_VERSION) ($(PYTHON_BIN)), virtualenv $(VENV)"

# The virtualenv belongs to one Python: another one (PYTHON=, or a newer one installed) makes it anew.
$(VENV)/.python-$(PYTHON_VERSION): | python
	rm -rf $(VENV)
	$(PYTHON_BIN) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	touch $@

# What running needs (the service, the CLI, the embedded engine, the demo's packager), and on
# top of it what developing and testing need: `make run` installs only the first.
$(VENV)/.installed-run: pyproject.toml $(VENV)/.python-$(PYTHON_VERSION)
	$(BIN)/pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.python-$(PYTHON_VERSION)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

$(DYNAMODB_LOCAL): tools/dynamodb-local/package.json tools/dynamodb-local/package-lock.json
	npm ci --prefix tools/dynamodb-local --no-audit --no-fund --loglevel=error
	touch $@

$(SHAKA): tools/shaka-player/package.json tools/shaka-player/package-lock.json
	npm ci --prefix tools/shaka-player --no-audit --no-fund --loglevel=error
	touch $@

## browser-deps: Debian's chromium, chromium-driver and ffmpeg (apt, as root), and Shaka Player (npm)
browser-deps: $(SHAKA)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && command -v ffmpeg >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver ffmpeg >/dev/null; \
	else echo "browser-deps: chromium, chromium-driver or ffmpeg missing and no root apt: the browser test will be skipped"; fi

# checkov and SAM each get a virtualenv of their own: their pins clash with the project's.
$(CHECKOV): | python
	$(PYTHON_BIN) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet --upgrade pip
	.tools/checkov/bin/pip install --quiet 'checkov>=3.2,<4'

$(SAM): | python
	$(PYTHON_BIN) -m venv .tools/sam
	.tools/sam/bin/pip install --quiet --upgrade pip
	.tools/sam/bin/pip install --quiet 'aws-sam-cli>=1.170,<2'

## run: the whole API on http://127.0.0.1:3000 with an embedded database and a demo customer
run: python $(VENV)/.installed-run browser-deps
	$(BIN)/drmtoken serve

## test: unit (moto), property, checkov and integration tests (DynamoDB Local), installing what they need
# Tests run in parallel (pytest-xdist), a file per worker, each worker with its own DynamoDB Local:
# most tests wait on sockets, engines and stand-ins, so 4 workers use the 2 cores here well.
TEST_WORKERS ?= 4
test: python install $(DYNAMODB_LOCAL) $(CHECKOV) browser-deps
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## unit-clock-shifted: the unit tests with the clock an hour ahead of collection (no test may depend on the suite's pace)
unit-clock-shifted: python install $(CHECKOV)
	DRMTOKEN_TEST_CLOCK_SHIFT=3600 $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile tests/unit

unit: python install $(CHECKOV)
	$(BIN)/pytest tests/unit

integration: python install $(DYNAMODB_LOCAL)
	$(BIN)/pytest tests/integration

lint: python install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	for app in functions/*/app.py; do $(BIN)/mypy $$app || exit 1; done
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: python install $(DYNAMODB_LOCAL)
	$(BIN)/python -m bench

validate: $(SAM)
	$(SAM) validate --lint

# BuildMethod python$(LAMBDA_PYTHON) makes sam look for python$(LAMBDA_PYTHON) on PATH: put the one found first.
build: $(SAM)
	@LAMBDA_BIN=$$(PYTHON= tools/find-python $(LAMBDA_PYTHON)) || { echo "make build: the functions run on Python $(LAMBDA_PYTHON); install it to build them" >&2; exit 1; }; \
	  echo "make build: layer and functions for python$(LAMBDA_PYTHON) with $$LAMBDA_BIN"; \
	  PATH="$$(dirname $$LAMBDA_BIN):$$PATH" $(SAM) build

## check-layer: the built layer holds python/drmtoken/ with only what the functions import, and its dependencies
check-layer: build
	$(BIN)/python tools/check_layer.py .aws-sam/build/DrmTokenLayer/python
	test -d .aws-sam/build/DrmTokenLayer/python/aws_lambda_powertools
	test -d .aws-sam/build/DrmTokenLayer/python/cryptography

check: lint test validate check-layer

clean:
	rm -rf $(VENV) .venv-* .bench .tools .aws-sam tools/dynamodb-local/node_modules tools/shaka-player/node_modules .pytest_cache .mypy_cache .ruff_cache
