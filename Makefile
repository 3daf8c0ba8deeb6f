# frontdoor: two runtimes hidden behind one Makefile.
#   .venv       Python 3.11: the front door, actions, kb, handoff, intake (pyproject.toml)
#   .venv-rasa  Python 3.10: Rasa Open Source 3.6 (requirements-rasa.txt)
SHELL := /bin/bash
PY311 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11*/bin/python3.11) $(shell command -v python3.11))
PY310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10) $(shell command -v python3.10))
VENV := .venv
RASA_VENV := .venv-rasa
PYTEST_ARGS ?=

# What the tests need from the operating system (Debian's packages; never a browser a tool downloads): Chromium
# and CJK fonts for the browser tests, HAProxy for the multi-replica test.
SYSTEM_PACKAGES := chromium fonts-noto-cjk haproxy

.PHONY: install system-packages train run serve demo-history test test-fast lint format typecheck bench clean vendor

install: $(VENV)/.installed $(RASA_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x "$(PY311)" || { echo "Python 3.11 not found (set PY311=/path/to/python3.11)"; exit 1; }
	test -d $(VENV) || $(PY311) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip setuptools wheel
	# The CPU build of torch first: a plain 'torch' requirement would pull GBs of CUDA.
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

$(RASA_VENV)/.installed: requirements-rasa.txt
	@test -x "$(PY310)" || { echo "Python 3.10 not found (set PY310=/path/to/python3.10)"; exit 1; }
	test -d $(RASA_VENV) || $(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade pip setuptools wheel
	$(RASA_VENV)/bin/pip install -q -r requirements-rasa.txt
	touch $@

train: install
	$(VENV)/bin/frontdoor train

run: install
	$(VENV)/bin/frontdoor run

serve: install
	$(VENV)/bin/frontdoor serve

# 60 days of demo history (both languages, handoffs, tickets, surveys, SLA misses) for the analytics dashboard.
demo-history: install
	$(VENV)/bin/frontdoor demo history --days 60

# Installs what is missing with apt-get (as root, or through sudo); a no-op when everything is there.
system-packages:
	@missing=""; for pkg in $(SYSTEM_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

test: install system-packages
	$(VENV)/bin/frontdoor train
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: install
	$(VENV)/bin/pytest -m "not e2e and not browser" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	$(VENV)/bin/mypy

# Extracts every message id (babel.cfg; i18n/extract.py says which files feed which domain) and updates
# i18n/locale/*/LC_MESSAGES/*.po: new ids arrive untranslated (the tests fail until zh_CN has them), unused ones go.
.PHONY: i18n
i18n: install
	$(VENV)/bin/python -m i18n.extract

bench: install
	$(VENV)/bin/frontdoor train
	$(VENV)/bin/python bench/turn_latency.py

clean:
	rm -rf var models .pytest_cache .mypy_cache .ruff_cache

# Apache ECharts for the analytics page, from the npm registry at a pinned version. The copy in staff/static/vendor/
# is committed (the product runs offline, never from a CDN); this target re-creates it, e.g. after changing the pin.
ECHARTS_VERSION := 6.1.0
VENDOR_DIR := staff/static/vendor
vendor:
	npm install --prefix var/npm --no-save --no-audit --no-fund echarts@$(ECHARTS_VERSION)
	mkdir -p $(VENDOR_DIR)
	cp var/npm/node_modules/echarts/dist/echarts.min.js $(VENDOR_DIR)/echarts.min.js
	cp var/npm/node_modules/echarts/LICENSE $(VENDOR_DIR)/echarts.LICENSE
	cp var/npm/node_modules/echarts/NOTICE $(VENDOR_DIR)/echarts.NOTICE
