"""Repository-wide pytest set-up, for ``pytest --nbval`` over tests/ and notebooks/ alike.

Chapters 6 and 7 save their training records and chapter 8 reads them (``lenet.results``). Under
pytest they use a copy of ``results/`` in a temporary directory (``$LENET_RESULTS_DIR``, which
the notebook kernels inherit), so a test run leaves the committed records untouched.
"""

import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def pytest_configure(config):
    from lenet.results import RESULTS_DIR_ENV

    if os.environ.get(RESULTS_DIR_ENV):
        return
    scratch = Path(tempfile.mkdtemp(prefix="lenet-pytest-"))
    copy = scratch / "results"  # the same name as the committed folder: chapter 8 prints it
    if (ROOT / "results").is_dir():
        shutil.copytree(ROOT / "results", copy)
    else:
        copy.mkdir()
    os.environ[RESULTS_DIR_ENV] = str(copy)
    config.add_cleanup(lambda: shutil.rmtree(scratch, ignore_errors=True))
