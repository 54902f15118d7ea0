# Everything a developer or CI needs, from nothing. See README.md.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SAM := .tools/sam/bin/sam
CHECKOV := .tools/checkov/bin/checkov
DYNAMODB_LOCAL := tools/dynamodb-local/node_modules/amplify-dynamodb-simulator/emulator/DynamoDBLocal.jar
SHAKA := tools/shaka-player/node_modules/shaka-player/dist/shaka-player.compiled.js
export SAM_CLI_TELEMETRY := 0

.PHONY: install run test unit integration lint format bench build validate check-layer check clean browser-deps

install: $(VENV)/.installed-dev

# What running needs (the service, the CLI, the embedded engine, the demo's packager), and on
# top of it what developing and testing need: `make run` installs only the first.
$(VENV)/.installed-run: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
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
$(CHECKOV):
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet --upgrade pip
	.tools/checkov/bin/pip install --quiet 'checkov>=3.2,<4'

$(SAM):
	$(PYTHON) -m venv .tools/sam
	.tools/sam/bin/pip install --quiet --upgrade pip
	.tools/sam/bin/pip install --quiet 'aws-sam-cli>=1.170,<2'

## run: the whole API on http://127.0.0.1:3000 with an embedded database and a demo customer
run: $(VENV)/.installed-run browser-deps
	$(BIN)/drmtoken serve

## test: unit (moto), property, checkov and integration tests (DynamoDB Local), installing what they need
test: install $(DYNAMODB_LOCAL) $(CHECKOV) browser-deps
	$(BIN)/pytest

unit: install $(CHECKOV)
	$(BIN)/pytest tests/unit

integration: install $(DYNAMODB_LOCAL)
	$(BIN)/pytest tests/integration

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	for app in functions/*/app.py; do $(BIN)/mypy $$app || exit 1; done
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install $(DYNAMODB_LOCAL)
	$(BIN)/python -m bench

validate: $(SAM)
	$(SAM) validate --lint

build: $(SAM)
	$(SAM) build

## check-layer: the built layer holds python/drmtoken/ with only what the functions import, and its dependencies
check-layer: build
	$(BIN)/python tools/check_layer.py .aws-sam/build/DrmTokenLayer/python
	test -d .aws-sam/build/DrmTokenLayer/python/aws_lambda_powertools
	test -d .aws-sam/build/DrmTokenLayer/python/cryptography

check: lint test validate check-layer

clean:
	rm -rf $(VENV) .tools .aws-sam tools/dynamodb-local/node_modules tools/shaka-player/node_modules .pytest_cache .mypy_cache .ruff_cache
