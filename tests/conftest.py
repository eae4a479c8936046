"""Shared fixtures. MNIST comes from the normal cache (fetched once, by `python -m lenet data` in CI)."""

import gzip
import importlib.util
import struct
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seeded_torch():
    """Every test starts from the same random state, so a test that draws random inputs draws the
    same ones on every run (no flaky tolerances)."""
    import torch

    torch.manual_seed(0)


@pytest.fixture(scope="session")
def build():
    """The book built once per session (``jupyter-book build . -W -n --keep-going --all``), for
    ``test_book_html.py`` and ``test_book_browser.py``: a ``book_browser_helpers.Build``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import book_browser_helpers

    return book_browser_helpers.build_book(Path(__file__).resolve().parent.parent)


@pytest.fixture(scope="session")
def mnist():
    """(train, test) MNIST splits, loaded once per test session."""
    from lenet.data import load_mnist

    return load_mnist("train"), load_mnist("test")


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """Write ``array`` (uint8) as an IDX file, optionally gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def tiny_idx_dir(tmp_path):
    """A directory holding a tiny dataset in the MNIST file layout (20 train, 10 test images)."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 10)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, (n,)))
    return tmp_path


ROOT = Path(__file__).resolve().parent.parent


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` (or a path relative to the repository, such as
    ``benchmarks/time_to_accuracy.py``) as a module; the scripts are not a package."""
    path = ROOT / name if name.endswith(".py") else ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_book_scripts_{path.stem}", path)
    if spec is None or spec.loader is None:  # not a Python source file
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
