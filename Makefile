# The README's two commands: `make book` and `make test`. Each installs what it needs first.
PYTHON ?= python3
PIP_INSTALL = $(PYTHON) -m pip install -q -r requirements.txt

.PHONY: book book-en book-zh translation test check lint install data notebooks editions clean

install:
	$(PIP_INSTALL)

# Both editions: English in _build/html, Chinese in _build/html/zh (scripts/translation.py).
book: book-en book-zh

book-en: install
	jupyter-book build . -W -n --keep-going

book-zh: install
	$(PYTHON) scripts/translation.py build

# After changing the English prose: new strings into the Chinese catalogues, then what is left to translate.
translation: install
	$(PYTHON) scripts/translation.py update
	-$(PYTHON) scripts/translation.py check

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
