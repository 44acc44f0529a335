# The two commands of the README: `make run` and `make test`. Both create or reuse .venv/.
# newsdesk runs on Python 3.11 to 3.13; requirements.lock pins a tree that installs on each.
SUPPORTED := 3.11 3.12 3.13
PYTHON ?= $(shell command -v python3.11 || command -v python3)
# The newest supported Python, where the machine has one (a pyenv shim of a version that is
# not selected exits non-zero, so each candidate is run, not just found).
NEWEST_PYTHON ?= $(shell for candidate in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	$$candidate -c 'import sys; print(sys.executable)' 2>/dev/null && break; done)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NEWEST_VENV := .venv-newest

.PHONY: run test test-newest ui clean

# Reinstall when the dependencies change; requirements.lock pins the whole tested tree.
$(INSTALLED): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(0 if v in "$(SUPPORTED)".split() else "newsdesk needs Python 3.11 to 3.13, found " + v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $(INSTALLED)

$(NEWEST_VENV)/.installed: pyproject.toml requirements.lock
	test -x $(NEWEST_VENV)/bin/python || $(NEWEST_PYTHON) -m venv $(NEWEST_VENV)
	$(NEWEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $@

run: $(INSTALLED)
	$(BIN)/newsdesk run

# Every test on the default Python, then the fast tier on the newest supported one; the tests
# run on every core (pytest-xdist): most of the slow ones wait on subprocesses and servers.
test: $(INSTALLED)
	$(BIN)/pytest -n auto
	$(MAKE) --no-print-directory test-newest

test-newest:
ifeq ($(strip $(NEWEST_PYTHON)),)
	@echo "no Python 3.13 on this machine: the fast tier did not run on the newest Python"
else
	$(MAKE) --no-print-directory $(NEWEST_VENV)/.installed
	$(NEWEST_VENV)/bin/pytest -n auto -m "not slow" -p no:cacheprovider
endif

ui: $(INSTALLED)
	$(BIN)/newsdesk ui

clean:
	rm -rf var
