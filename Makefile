# Everything a fresh clone needs: `make demo` and `make test` create .venv themselves.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
STAMP_RUN := $(VENV)/.installed

.PHONY: demo test lint types unit bench clean system-deps generate goldens

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(STAMP_RUN)

# Debian packages the tests run (we are root in CI), each installed only when its tool is
# missing: prometheus (prometheus, promtool), prometheus-alertmanager (amtool), systemd
# (systemd-analyze verify), kubectl (kustomize rendering; best effort: it is not in every
# Debian release, and the tests that need it skip without it), chromium (the alert email
# rendered by a headless browser). Python validators (hadolint,
# kubernetes-validate, check-jsonschema) come with the dev extras in pyproject.toml.
SYSTEM_TOOLS := promtool:prometheus prometheus-alertmanager:prometheus-alertmanager \
	amtool:prometheus-alertmanager systemd-analyze:systemd chromium:chromium
system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing:$$missing: run 'sudo apt-get install$$missing'"; \
	  fi; \
	fi; \
	if ! command -v kubectl >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl >/dev/null 2>&1 \
	    || echo "kubectl not installable here: the kustomize tests will skip"; \
	fi

# `make demo DEMO_ARGS="--stop-after 60"` passes options to `cdr-detector demo`.
DEMO_ARGS ?=
demo: $(STAMP_RUN)
	$(BIN)/cdr-detector demo $(DEMO_ARGS)

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
	$(BIN)/python -m tools.k8s

# Golden notifications of every rule in rules/ (review the diff), and the docs' screenshots.
goldens: $(STAMP)
	$(BIN)/python -m tools.goldens
	$(BIN)/python -m tools.emailshots

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
