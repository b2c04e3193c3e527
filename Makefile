# Corral: `make run` serves the site on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
PORT ?= 8000

.PHONY: run test lint venv

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(STAMP)

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py build_demo_model --if-missing
	$(PY) manage.py seed_demo
	PORT=$(PORT) $(PY) manage.py serve

# Tests run with development security settings (no HTTPS redirect); the
# production settings are checked by tests/corral/test_deploy.py in a subprocess.
test: venv
	DEBUG=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
