# The README's two commands: `make demo` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTIONS := $(VENV)/collections
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_LOCAL_TEMP := $(CURDIR)/.ansible/tmp
export ANSIBLE_HOME := $(CURDIR)/.ansible

.PHONY: venv demo test unit pscheck lint sanity integration molecule bench clean

venv: $(STAMP)

$(STAMP): tests/requirements-dev.txt requirements.txt tests/simulator/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r tests/requirements-dev.txt -r requirements.txt
	$(BIN)/python -m pip install -q -e tests/simulator
	mkdir -p $(COLLECTIONS)/ansible_collections/ecs_windows
	ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/ecs_windows/task_iam
	touch $(STAMP)

demo: venv
	$(BIN)/python tests/demo.py

test: venv
	tests/run-all.sh

unit: venv
	$(BIN)/python -m pytest -q tests/unit

pscheck: venv
	$(BIN)/python -m pytest -q tests/unit/test_powershell_static.py

lint: venv
	$(BIN)/python tests/collection_path.py >/dev/null
	$(BIN)/ansible-lint

sanity: venv
	tests/sanity.sh

integration: venv
	$(BIN)/python -m pytest -q tests/integration
	$(BIN)/python -m pytest -q tests/simulator/tests

molecule: venv
	tests/molecule.sh

bench: venv
	$(BIN)/python tests/bench/bench.py

clean:
	rm -rf $(VENV) .ansible .pytest_cache tests/output
