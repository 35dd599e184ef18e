# Everything a fresh clone needs: `make demo` and `make test` create .venv themselves.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
STAMP_RUN := $(VENV)/.installed

.PHONY: demo test lint types unit bench clean system-deps generate

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(STAMP_RUN)

# Prometheus and Alertmanager binaries for the integration tests (Debian packages; we are root in CI).
system-deps:
	@if ! command -v promtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null; \
	  else \
	    echo "prometheus/promtool/alertmanager missing: run 'sudo apt-get install prometheus prometheus-alertmanager'"; \
	  fi; \
	fi

demo: $(STAMP_RUN)
	$(BIN)/cdr-detector demo

lint: $(STAMP)
	$(BIN)/ruff check detector tests bench tools
	$(BIN)/ruff format --check detector tests bench tools
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: $(STAMP) system-deps lint types
	$(BIN)/pytest -q

# Rewrite the checked-in files derived from others (tests fail while they are stale).
generate: $(STAMP)
	$(BIN)/python -m tools.dashboards

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
