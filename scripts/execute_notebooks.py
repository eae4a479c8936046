#!/usr/bin/env python
"""Re-execute the book's notebooks in place, top to bottom, each in a fresh kernel.

Usage::

    python scripts/execute_notebooks.py                         # every notebooks/*.ipynb
    python scripts/execute_notebooks.py notebooks/02_convolution.ipynb [more.ipynb ...]
    python scripts/execute_notebooks.py --timeout 1800           # seconds allowed per cell

The book build does not execute anything (``execute_notebooks: "off"`` in ``_config.yml``): it
shows the outputs committed with the notebooks, and strict ``pytest --nbval`` checks that running
a notebook again reproduces them. This script is how those outputs are made:

* one new ``python3`` kernel per notebook, started in the notebook's folder, with the repository
  root first on ``PYTHONPATH`` (so the working tree's ``lenet`` is the one imported, and the setup
  cell installs nothing), ``PYTHONHASHSEED=0`` and the inline matplotlib backend;
* the ipywidgets state is saved in the notebook (``store_widget_state=True``), so the HTML book can
  render the widgets; the widgets' random model ids are replaced by ids derived from the notebook
  name and the widget's rank, so re-executing an unchanged notebook does not change them;
* what a cell prints or plots inside an ``Output`` widget (``interact`` uses one) is kept as an
  ordinary output of the cell, as ``pytest --nbval`` records it, not inside the widget;
* no timing metadata is recorded, and timing metadata left by an editor (``metadata.execution``,
  ``metadata.ExecuteTime``) is removed from every cell, so a re-run gives a small diff;
* a notebook is written only when it ran to the end without an error (cells tagged
  ``raises-exception`` may raise); a failed notebook is left as it was and the error is printed.

It prints one line per notebook with its wall time, then a summary, and exits with status 1 if
any notebook failed. Before a chapter runs, the words of its prose (before its exercises) are
counted into ``results/book/chapter-prose.json``, from which the box at the top of each chapter gives
its reading time (:mod:`lenet.chapters`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from typing import List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
TIMING_KEYS = ("execution", "ExecuteTime")
ID_NAMESPACE = uuid.UUID("6f1d2b1e-5e2a-4c8e-9a51-1e0b0b5c1998")  # any fixed UUID will do


def kernel_environment() -> None:
    """Set the variables the kernels inherit (they are started from this process)."""
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + path if path else "")
    # Quiet kernels: no debugger warning about frozen modules, no Jupyter path-migration notice.
    # Nothing else is changed, so that `pytest --nbval` (which starts its kernels with the plain
    # environment) sees the same outputs.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")


def strip_timing(nb) -> None:
    for cell in nb.cells:
        for key in TIMING_KEYS:
            cell.metadata.pop(key, None)


def stable_widget_ids(nb, name: str):
    """Replace the random widget model ids by ids derived from ``name`` and each widget's rank."""
    import nbformat

    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return nb
    text = nbformat.writes(nb)
    for rank, old in enumerate(list(state)):
        new = uuid.uuid5(ID_NAMESPACE, f"{name}/{rank}").hex
        text = text.replace(old, new)
    return nbformat.reads(text, as_version=4)


def execute(path: Path, timeout: int, kernel_name: str) -> Optional[str]:
    """Execute one notebook in place; return None on success, else the error message."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,
        # The kernel's own log (not the notebook's output) at ERROR: no warning per kernel about
        # its local TCP transport.
        extra_arguments=["--IPKernelApp.log_level=40"],
    )
    # Do not emulate the front end's Output widget: what a cell prints or displays inside an
    # Output widget (and so inside `interact`) stays an ordinary output of the cell. That is what
    # `pytest --nbval` sees when it re-runs the cell, and the static HTML book then shows it
    # under the controls instead of in an empty widget.
    client.widget_registry.pop("@jupyter-widgets/output", None)
    try:
        client.execute()
    except Exception as exc:  # CellExecutionError, DeadKernelError, CellTimeoutError, ...
        return f"{type(exc).__name__}: {exc}"
    strip_timing(nb)
    nb = stable_widget_ids(nb, path.name)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return None


def prose_words(path: Path) -> int:
    """Words in a notebook's markdown cells before its ``## Exercises`` heading (code, math and
    markup count as words too: a rough measure, as reading times are)."""
    import nbformat

    words = 0
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        if "## Exercises" in text:
            words += len(text.split("## Exercises")[0].split())
            break
        words += len(text.split())
    return words


def record_words(chapter: int, words: int) -> None:
    """Enter a chapter's prose words in results/book/chapter-prose.json (:mod:`lenet.chapters`)."""
    import json

    sys.path.insert(0, str(ROOT))
    from lenet.data import atomic_write

    path = ROOT / "results" / "book" / "chapter-prose.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[str(chapter)] = words
    atomic_write(path, (json.dumps(dict(sorted(data.items(), key=lambda kv: int(kv[0]))), indent=1) + "\n").encode())


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks to execute (default: every notebooks/*.ipynb)"
    )
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell (default: %(default)s)")
    parser.add_argument("--kernel", default="python3", help="kernel name (default: %(default)s)")
    args = parser.parse_args(argv)

    paths: List[Path] = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    missing = [p for p in paths if not p.is_file()]
    if missing:
        parser.error("no such notebook: " + ", ".join(map(str, missing)))
    if not paths:
        print("execute_notebooks: no notebooks to execute")
        return 0

    kernel_environment()
    results = []
    for path in paths:
        print(f"executing {display(path)} ...", flush=True)
        if path.resolve().parent == NOTEBOOKS and path.name[:2].isdigit():
            record_words(int(path.name[:2]), prose_words(path))
        start = time.perf_counter()
        error = execute(path, args.timeout, args.kernel)
        seconds = time.perf_counter() - start
        results.append((path, error, seconds))
        print(f"  {'ok' if error is None else 'FAILED'} in {seconds:.1f} s", flush=True)
        if error is not None:
            print(error, file=sys.stderr, flush=True)

    width = max(len(display(p)) for p, _, _ in results)
    print("\nsummary")
    for path, error, seconds in results:
        print(f"  {display(path):<{width}}  {'ok' if error is None else 'FAILED':<6}  {seconds:8.1f} s")
    failed = sum(error is not None for _, error, _ in results)
    total = sum(seconds for _, _, seconds in results)
    print(f"  {len(results) - failed} executed, {failed} failed, {total:.1f} s in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
