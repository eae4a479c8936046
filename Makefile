# The README's two commands: `make book` and `make test`. Each installs what it needs first.
PYTHON ?= python3
PIP_INSTALL = $(PYTHON) -m pip install -q -r requirements.txt

.PHONY: book test check lint install data notebooks editions clean

install:
	$(PIP_INSTALL)

book: install
	jupyter-book build . -W -n --keep-going

data: install
	$(PYTHON) -m lenet data

test: data lint
	$(PYTHON) -m pytest --nbval

# Lint, format and types (configured in pyproject.toml): ruff and mypy.
lint: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

# Lint, then the unit tests alone (no notebooks, no book build, no browser, no record replays): under a minute.
check: data lint
	$(PYTHON) -m pytest -m "not slow" tests

notebooks: install
	$(PYTHON) scripts/execute_notebooks.py

editions: install
	$(PYTHON) scripts/make_editions.py

clean:
	rm -rf _build editions .pytest_cache
