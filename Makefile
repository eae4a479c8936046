# The README's two commands: `make book` and `make test`. Each installs what it needs first.
PYTHON ?= python3
PIP_INSTALL = $(PYTHON) -m pip install -q -r requirements.txt

.PHONY: book test install data notebooks editions clean

install:
	$(PIP_INSTALL)

book: install
	jupyter-book build . -W -n --keep-going

data: install
	$(PYTHON) -m lenet data

test: data
	$(PYTHON) -m pytest --nbval

notebooks: install
	$(PYTHON) scripts/execute_notebooks.py

editions: install
	$(PYTHON) scripts/make_editions.py

clean:
	rm -rf _build editions .pytest_cache
