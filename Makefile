# The two commands of a fresh machine:
#   make run   set up, build, serve the committed models on port 8000
#   make test  set up, build, run every check and test
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed-$(shell sha256sum tests/python/requirements.txt | cut -c1-16)
API_PORT ?= 8000

.PHONY: help setup ort venv chromium prometheus build run test lint fmt rust-test python-test models schema clean bench bench-build bench-startup bench-half-load bench-criterion

help:
	@echo "make run    set up, build and serve models/ on port $(API_PORT)"
	@echo "make test   set up, build and run every check and test"
	@echo "make models retrain, validate and publish the models (trainer all)"
	@echo "make bench  load-test prediction-api beside the Python servers (BENCH_ARGS=--help)"

## Set-up steps (idempotent, cached) ------------------------------------------------------------

setup: ort

ort:
	@scripts/setup-ort.sh

venv: $(VENV_STAMP)

# Headless Chromium from Debian, for the browser test of the /docs page.
chromium:
	@scripts/setup-chromium.sh

# Prometheus and promtool from Debian, for the monitoring tests against a real Prometheus.
prometheus:
	@scripts/setup-prometheus.sh

$(VENV_STAMP): tests/python/requirements.txt
	@echo "venv: installing test tooling into $(VENV)"
	@python3 -m venv $(VENV)
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

## Serving ------------------------------------------------------------------------------------

build: setup
	cargo build --release --bin prediction-api

run: build
	API_PORT=$(API_PORT) ./target/release/prediction-api

## Training -----------------------------------------------------------------------------------

models: setup
	cargo run --release -p trainer -- all

schema:
	cargo run --quiet -p trainer -- schema

## Benchmarks (never part of `make test`) ---------------------------------------------------

BENCH_ARGS ?=

bench-build: setup
	cargo build --release -p prediction-api -p upper-bound --bins
	@bench/setup.sh

bench: bench-build
	python3 bench/run.py $(BENCH_ARGS)

bench-startup: bench-build
	python3 bench/startup.py $(BENCH_ARGS)

bench-half-load: bench-build
	python3 bench/half_load.py $(BENCH_ARGS)

## Tests --------------------------------------------------------------------------------------

test: setup venv chromium prometheus lint rust-test python-test

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

rust-test:
	cargo test --workspace

python-test: venv
	cargo build --release --bins
	$(PYTHON) -m pytest -q tests/python

# The in-process request path (benches/README.md); not part of `test`, which only builds it
# (clippy --all-targets compiles the benches).
bench-criterion: setup
	cargo bench --bench request_path

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf $(VENV) artifacts data/processed
