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

.PHONY: venv lanes demo test unit pscheck lint format sanity integration molecule bench changelog clean

venv: $(STAMP)

# The version lanes of `make test` (tests/lane.sh): each its own venv .venv-LANE from tests/requirements-LANE.txt,
# rebuilt when that file or the simulator's packaging changes, on the Python tests/find-python.sh finds (pyenv first).
# When there is none, tests/output/lanes/LANE.missing says so and the lane reports itself skipped.
LANES := core2.17 core2.21
LANE_NOTES := $(CURDIR)/tests/output/lanes
LANE_PYTHON_RANGE_core2.17 := 3.11 3.11
LANE_PYTHON_RANGE_core2.21 := 3.12
lanes: $(foreach lane,$(LANES),$(CURDIR)/.venv-$(lane)/.installed)

$(CURDIR)/.venv-%/.installed: tests/requirements-%.txt tests/simulator/pyproject.toml tests/find-python.sh
	@mkdir -p $(LANE_NOTES) && rm -f $(LANE_NOTES)/$*.missing
	@if ! py="$$(tests/find-python.sh $(LANE_PYTHON_RANGE_$*) 2>$(LANE_NOTES)/$*.find)"; then \
	    echo "lane $*: $$(tail -1 $(LANE_NOTES)/$*.find)" | tee $(LANE_NOTES)/$*.missing; \
	    rm -rf $(CURDIR)/.venv-$*; \
	else \
	    cat $(LANE_NOTES)/$*.find; \
	    want="$$("$$py" -c 'import sys; print(sys.version.split()[0])')"; \
	    have="$$($(CURDIR)/.venv-$*/bin/python -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)"; \
	    [ "$$want" = "$$have" ] || { rm -rf $(CURDIR)/.venv-$*; "$$py" -m venv $(CURDIR)/.venv-$*; } && \
	    $(CURDIR)/.venv-$*/bin/python -m pip install -q --upgrade pip && \
	    $(CURDIR)/.venv-$*/bin/python -m pip install -q -r tests/requirements-$*.txt && \
	    $(CURDIR)/.venv-$*/bin/python -m pip install -q -e tests/simulator && \
	    cp $(LANE_NOTES)/$*.find $(CURDIR)/.venv-$*/python-source && \
	    touch $@; \
	fi
	@rm -f $(LANE_NOTES)/$*.find

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

test: venv lanes
	tests/run-all.sh

unit: venv
	$(BIN)/python -m pytest -q tests/unit

pscheck: venv
	$(BIN)/python -m pytest -q tests/unit/test_powershell_static.py
	$(BIN)/python -m pytest -q -rs tests/unit/test_ps51_catalog.py

lint: venv
	$(BIN)/python tests/collection_path.py >/dev/null
	$(BIN)/ansible-lint

# Format the collection's Python (ruff.toml); `make test` checks it is formatted (tests/run-all.sh).
format: venv
	$(BIN)/ruff format plugins

sanity: venv
	tests/sanity.sh

integration: venv
	$(BIN)/python -m pytest -q tests/integration
	$(BIN)/python -m pytest -q tests/simulator/tests

molecule: venv
	tests/molecule.sh

bench: venv
	$(BIN)/python tests/bench/bench.py

# CHANGELOG.rst as antsibull-changelog makes it from changelogs/ for galaxy.yml's version (docs/release.md).
changelog: venv
	$(BIN)/python tests/changelog.py

clean:
	rm -rf $(VENV) $(foreach lane,$(LANES),.venv-$(lane)) .ansible .pytest_cache tests/output
