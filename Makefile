# The two commands of the README: `make run` and `make test`. Both create or reuse .venv/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test ui bench clean

# Reinstall when the dependencies change; requirements.lock pins the whole tested tree.
$(INSTALLED): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "newsdesk needs Python 3.11, found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/newsdesk run

test: $(INSTALLED)
	$(BIN)/pytest

ui: $(INSTALLED)
	$(BIN)/newsdesk ui

clean:
	rm -rf var
