# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
# Two pytest workers (pytest-xdist): each gets its own test database; set PYTEST_ARGS to run a subset.
PYTEST_ARGS ?= -n 2
UV_VERSION := 0.13.8
VENV := .venv
UV := .tools/bin/uv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never
export PYTHONUNBUFFERED := 1
ifneq ($(wildcard /etc/ssl/certs/ca-certificates.crt),)
export SSL_CERT_FILE ?= /etc/ssl/certs/ca-certificates.crt
endif

.PHONY: run test env lint browser stop clean

## run: create the environment, start embedded PostgreSQL, migrate, load demo data, run web + worker + beat
run: env
	$(VENV)/bin/python manage.py runstack

## test: the whole suite against a real PostgreSQL (embedded unless DATABASE_URL), plus ruff and migrations check
test: env browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python manage.py makemigrations --check --dry-run
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

env: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

## browser: Debian's Chromium for the Playwright tests (Playwright cannot download its own browser here)
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need /usr/bin/chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

lint: env
	$(VENV)/bin/ruff check .

## stop: stop the embedded PostgreSQL left running by `make test`
stop: env
	$(VENV)/bin/python -m registry.core.embedded_postgres stop

clean: stop
	rm -rf .data $(VENV) .tools
