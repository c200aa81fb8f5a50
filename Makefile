# Two commands set up a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
FLASK  := $(BIN)/flask --app wsgi
CHROMIUM ?= /usr/bin/chromium

.PHONY: install run dev setup-demo test test-production test-embedded services test-deps lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

setup-demo: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) keys ensure
	$(FLASK) demo seed

## make run: embedded default (SQLite under instance/, no Redis) on http://127.0.0.1:8000,
## served by the production server (granian WSGI, gateway/serving.py): one process on
## SQLite, threads from the core count (a VNeID sign-in makes the gateway call the offline
## sandbox it serves itself, so two requests must be served at once)
run: setup-demo
	@echo "Serving on 127.0.0.1:8000 — open http://localhost:8000/demo/ (the issuer; passkeys need a host name)"
	$(BIN)/python -m gateway.serving --host 127.0.0.1 --port 8000

## make dev: the same, under Flask's development server, reloading on every change
dev: setup-demo
	@echo "Development server on 127.0.0.1:8000 (reloads on change) — open http://localhost:8000/demo/"
	$(FLASK) run --host 127.0.0.1 --port 8000 --with-threads --reload

## make test: the whole suite on PostgreSQL + Redis and on the embedded default, both at once
test: $(STAMP) test-deps services
	$(BIN)/ruff check .
	BIN=$(BIN) scripts/test-both.sh

test-production: $(STAMP) test-deps services
	GATEWAY_TEST_BACKEND=production $(BIN)/pytest -q

test-embedded: $(STAMP) test-deps
	GATEWAY_TEST_BACKEND=embedded $(BIN)/pytest -q

services:
	scripts/services.sh

# Debian's Chromium for the Playwright tests (never a downloaded browser), and the Node
# relying party (openid-client) and OpenID provider (oidc-provider, playing VNeID) for the
# interop tests.
test-deps:
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); } || \
	  { echo "test-deps: $(CHROMIUM) is missing: install Debian's chromium package" >&2; exit 1; }
	@test -x $(CHROMIUM) || { echo "test-deps: $(CHROMIUM) is missing" >&2; exit 1; }
	@command -v node >/dev/null || { echo "test-deps: node (20+) is missing" >&2; exit 1; }
	@test -d tests/interop/node_modules/oidc-provider -a -d tests/interop/node_modules/openid-client -a -d tests/interop/node_modules/jose || \
	  (cd tests/interop && npm ci --no-audit --no-fund --silent)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP) services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
