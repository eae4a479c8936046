"""One JSON record per model trained in the book, kept under ``results/``.

Chapters 6 and 7 train models and save a :class:`Result` for each; chapter 8 loads them all
and tabulates them. A record holds what is needed to compare runs -- the model, its trainable
parameters, its test accuracy, its training time, the device, the number of epochs and the
full training configuration -- but no weights (checkpoints are separate, see
:func:`lenet.train.save_checkpoint`).

Where the records live (:func:`default_results_dir`): ``$LENET_RESULTS_DIR`` when set; else the
``results/`` folder of the book's repository when ``lenet`` is imported from a checkout of it;
else ``results/`` in the current directory (a pip-installed package on Colab, say).

Usage::

    from lenet import results
    record = results.make_record("classic-1998", model, config, history, budget="CPU (short)")
    results.save_result(record)
    for r in results.load_results():
        print(r.name, r.test_acc)
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import torch
import torch.nn as nn

from .data import atomic_write

PathLike = Union[str, "os.PathLike[str]"]

#: Environment variable naming the results directory.
RESULTS_DIR_ENV = "LENET_RESULTS_DIR"

#: Version tag written in every record, so a later format can still read old files.
RESULT_FORMAT = "lenet-result/1"

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class ResultError(ValueError):
    """A record is malformed: a missing field, a bad name or a value out of range."""


@dataclass
class Result:
    """What one training run achieved.

    ``test_acc`` is a fraction (0.99 is 99%); ``train_s`` is the training time in seconds
    (forward, backward and update, without evaluation), ``epochs`` the number of epochs run.
    ``test_acc_per_epoch`` has one entry per epoch (``None`` where the test set was not
    evaluated). ``budget`` says which schedule ran (the full one on a GPU or a short one on a
    CPU).
    """

    name: str
    model: str
    parameters: int
    test_acc: float
    train_s: float
    device: str
    epochs: int
    config: Dict[str, Any] = field(default_factory=dict)
    budget: str = ""
    chapter: str = ""
    time_to_target_s: Optional[float] = None
    epochs_to_target: Optional[int] = None
    target_acc: Optional[float] = None
    test_acc_per_epoch: List[Optional[float]] = field(default_factory=list)
    notes: str = ""
    torch_version: str = ""
    format: str = RESULT_FORMAT

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ResultError` naming the first field that is wrong."""
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ResultError(
                f"result name {self.name!r} must be lower-case letters, digits, '-', '_' or '.', "
                "starting with a letter or digit (it becomes the file name)"
            )
        if not isinstance(self.parameters, int) or self.parameters < 0:
            raise ResultError(f"{self.name}: parameters must be a non-negative integer, got {self.parameters!r}")
        if not isinstance(self.test_acc, (int, float)) or not 0.0 <= self.test_acc <= 1.0:
            raise ResultError(f"{self.name}: test_acc must be a fraction in [0, 1], got {self.test_acc!r}")
        if not isinstance(self.train_s, (int, float)) or not math.isfinite(self.train_s) or self.train_s < 0:
            raise ResultError(f"{self.name}: train_s must be a non-negative number of seconds, got {self.train_s!r}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ResultError(f"{self.name}: epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.model, str) or not self.model:
            raise ResultError(f"{self.name}: model must be a non-empty string, got {self.model!r}")

    @property
    def test_error(self) -> float:
        """1 - test accuracy (a fraction)."""
        return 1.0 - self.test_acc

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Result":
        """Build a record from a dict; unknown keys are ignored, missing required ones refused."""
        if not isinstance(d, dict):
            raise ResultError(f"a result must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [k for k in required if k not in d]
        if missing:
            raise ResultError(f"result {d.get('name', '?')!r} lacks the field(s) {', '.join(missing)}")
        return cls(**{k: v for k, v in d.items() if k in known})


def default_results_dir() -> Path:
    """``$LENET_RESULTS_DIR``, else the repository's ``results/`` (when ``lenet`` is imported from a
    checkout of the book), else ``./results``."""
    env = os.environ.get(RESULTS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file() and (repo / "notebooks").is_dir():
        return repo / "results"
    return Path.cwd() / "results"


def make_record(
    name: str,
    model: nn.Module,
    config: Any,
    history: Any,
    budget: str = "",
    chapter: str = "",
    notes: str = "",
) -> Result:
    """A :class:`Result` from a trained ``model``, its :class:`lenet.train.TrainConfig` and the
    :class:`lenet.train.History` that :func:`lenet.train.train` returned."""
    base = getattr(model, "_orig_mod", model)
    parameters = sum(p.numel() for p in base.parameters() if p.requires_grad)
    if history.test_acc is None:
        raise ResultError(f"{name}: the history has no test accuracy (was a test set given?)")
    cfg = asdict(config) if hasattr(config, "__dataclass_fields__") else dict(config)
    return Result(
        name=name,
        model=getattr(base, "name", type(base).__name__),
        parameters=int(parameters),
        test_acc=float(history.test_acc),
        train_s=float(history.wall_s),
        device=str(history.device),
        epochs=len(history.epochs),
        config=cfg,
        budget=budget,
        chapter=chapter,
        time_to_target_s=history.time_to_target_s,
        epochs_to_target=history.epochs_to_target,
        target_acc=getattr(config, "target_fraction", None),
        test_acc_per_epoch=[rec.get("test_acc") for rec in history.epochs],
        notes=notes,
        torch_version=torch.__version__,
    )


def result_path(name: str, directory: Optional[PathLike] = None) -> Path:
    """Where the record called ``name`` is stored: ``<directory>/<name>.json``."""
    if not _NAME.match(name or ""):
        raise ResultError(f"result name {name!r} is not a valid file name (lower-case letters, digits, - _ .)")
    return Path(directory if directory is not None else default_results_dir()) / f"{name}.json"


def save_result(record: Result, directory: Optional[PathLike] = None) -> Path:
    """Write ``record`` as ``<directory>/<name>.json`` (atomically; an old record of that name is
    replaced) and return the path."""
    record.validate()
    path = result_path(record.name, directory)
    text = json.dumps(record.to_dict(), indent=2, sort_keys=True) + "\n"
    atomic_write(path, text.encode("utf-8"))
    return path


def load_result(path: PathLike) -> Result:
    """Read one record; raises :class:`ResultError` naming the file when it is not a record."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultError(f"{path}: not a readable JSON result ({type(exc).__name__}: {exc})") from None
    try:
        return Result.from_dict(data)
    except (ResultError, TypeError) as exc:
        raise ResultError(f"{path}: {exc}") from None


def load_results(directory: Optional[PathLike] = None) -> List[Result]:
    """Every record in ``directory`` (default :func:`default_results_dir`), sorted by name.

    A missing directory gives an empty list; a malformed file raises :class:`ResultError`.
    """
    directory = Path(directory if directory is not None else default_results_dir())
    if not directory.is_dir():
        return []
    return [load_result(p) for p in sorted(directory.glob("*.json"))]


__all__ = [
    "RESULTS_DIR_ENV", "RESULT_FORMAT", "Result", "ResultError", "default_results_dir", "make_record",
    "result_path", "save_result", "load_result", "load_results",
]
