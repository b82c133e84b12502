# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app manufacturing
HOST ?= 127.0.0.1
PORT ?= 5000
# The suite runs in two workers, one per database (SQLite and, with TEST_DATABASE_URL, PostgreSQL).
TEST_WORKERS ?= 2
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: run test lint install install-test db demo serve worker bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/activate setup.cfg setup.py pyproject.toml manufacturing/core/_audit_fast.c
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

instance/secret_key:
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@
	chmod 600 $@

instance/audit_key:
	mkdir -p instance
	(umask 077; $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@)
	chmod 600 $@

instance/site-certificate.pem: | install instance/secret_key
	$(FLASK) records make-site-cert

instance/checkpoint_key.pem: | install instance/secret_key
	$(FLASK) audit keygen

db: install instance/secret_key instance/audit_key instance/site-certificate.pem instance/checkpoint_key.pem
	$(FLASK) db upgrade

demo: db
	$(FLASK) demo load

serve:
	$(BIN)/gunicorn --preload --workers 2 --timeout 120 --bind $(HOST):$(PORT) --access-logfile - wsgi:app

# The documents worker (PostgreSQL): stores certificates and batch records after releases. SQLite needs none.
worker: install
	$(FLASK) documents worker

run: demo serve

test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

# The page benchmarks load gunicorn with wrk (Debian package), installed here if the machine lacks it.
bench: install-test
	command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends wrk; }
	$(BIN)/python -m pytest tests/benchmarks --benchmark-only --benchmark-columns=min,median,max,rounds $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
