# Everything a fresh machine needs, from python3 and pip alone: uv is bootstrapped into .tools/,
# the project environment lives in .venv/ and uses this machine's python3 (no interpreter downloads).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export UV_LINK_MODE := copy
VENV_STAMP := .venv/.spotcheck-synced
MEMBERS := schemas sdk adapters gateway

.PHONY: setup serve test lint typecheck unit schemas bench bench-smoke demo clean browser-deps node-example

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV_STAMP): $(UV) uv.lock pyproject.toml $(foreach m,$(MEMBERS),$(m)/pyproject.toml)
	$(UV) sync --frozen --all-packages
	touch $@

setup: $(VENV_STAMP) ## create .venv with every package and dev tool

serve: $(VENV_STAMP) ## run the gateway on its embedded SQLite default at 127.0.0.1:8000
	.venv/bin/spotcheck serve

demo: $(VENV_STAMP) ## run one failing case end to end against a demo platform
	.venv/bin/spotcheck demo

lint: $(VENV_STAMP) ## ruff, the formatter, and the import contracts (pyproject.toml [tool.importlinter])
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-cache

typecheck: $(VENV_STAMP)
	.venv/bin/mypy

# The public pages are tested in a real headless Chromium with a CJK font (Debian packages; browser
# downloads are not possible here). Installed when missing and running as root, as on CI machines.
browser-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "WenQuanYi" && fc-list 2>/dev/null | grep -qi "Noto Serif CJK" \
		&& [ -x /usr/bin/pdftotext ] && ldconfig -p | grep -q libpangoft2-1.0; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing chromium, fonts (wqy, noto-cjk), poppler-utils and pango (Debian packages) for the browser and document tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei \
			fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0 >/dev/null) \
		|| echo "warning: could not install chromium; browser tests will fail under CI=true"; \
	else echo "warning: chromium/fonts/poppler missing and not root; run: sudo apt-get install chromium fonts-wqy-microhei fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0"; fi

# The Node.js platform example (examples/platform_node) installs exactly its committed lock file. Without node
# it is skipped locally (its tests skip too); under CI=true a missing node is a failure, as tests/conftest.py does.
NODE_EXAMPLE := examples/platform_node
node-example: ## npm ci for the Node.js platform example (when node is present)
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		if [ $(NODE_EXAMPLE)/node_modules/.package-lock.json -nt $(NODE_EXAMPLE)/package-lock.json ]; then :; \
		else echo "npm ci in $(NODE_EXAMPLE)"; \
			(cd $(NODE_EXAMPLE) && npm ci --no-audit --no-fund --loglevel=error) || exit 1; fi; \
	else case "$${CI,,}" in 1|true|yes) \
		echo "error: node and npm are required under CI=true (examples/platform_node)" >&2; exit 1;; esac; \
		echo "warning: node/npm not found: skipping $(NODE_EXAMPLE) (its tests skip; install Node.js 20+)"; fi

unit: $(VENV_STAMP) browser-deps node-example
	.venv/bin/pytest -n 2 --dist loadgroup

test: lint typecheck unit ## the whole suite: lint, types, tests (what CI runs)

schemas: $(VENV_STAMP) ## regenerate the committed JSON Schema and AsyncAPI files
	.venv/bin/python -m spotcheck.schemas.generate schemas/generated

bench: $(VENV_STAMP)
	.venv/bin/python bench/run.py --quick

bench-smoke: $(VENV_STAMP) ## every benchmark script end to end at a tiny size
	.venv/bin/pytest tests/bench -m bench_smoke -n 0

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache $(NODE_EXAMPLE)/node_modules
