"""Run records: one JSON file per training run, the one format for every run the book stores.

A :class:`Record` holds everything needed to trust a number quoted from a run and to check it
again: what the run is (its :class:`lenet.train.TrainConfig`) and how it ran (its
:class:`lenet.train.Runtime`, kept apart), the per-epoch history (training loss and accuracy, test
accuracy, time), the final metrics, the training loss of each of the first steps, the machine
(device, hardware, threads, torch version), the time the whole run took, a hash of the training
code it ran and, where a chapter needs the trained weights, the path of its checkpoint.

This module stores and reads records; :mod:`lenet.recording` makes them (``python -m lenet
record``, ``python -m lenet train``) and replays them (``tests/test_records.py``). The book's
runs (:data:`lenet.recipes.BOOK_RUNS`) are kept under ``results/`` (checkpoints in
``results/checkpoints/``).

Where the records live (:func:`default_results_dir`): ``$LENET_RESULTS_DIR`` when set; else the
``results/`` folder of the book's repository when ``lenet`` is imported from a checkout of it;
else the copy installed with the package (``pip install`` puts ``results/`` into ``lenet/results``,
so the chapters find the records on Colab too).

Formats: ``lenet-record/2`` is written; ``lenet-record/1`` files (the first format, which kept
how a run ran inside its configuration, called the whole run's time ``wall_s`` and the hardware
``name``) are read through :func:`from_v1`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union, cast

import torch
import torch.nn as nn

from .checkpoints import config_from_v1, load_checkpoint
from .data import atomic_write
from .train import TrainConfig

PathLike = Union[str, "os.PathLike[str]"]

#: Environment variable naming the results directory.
RESULTS_DIR_ENV = "LENET_RESULTS_DIR"

#: Version tag written in every record.
RECORD_FORMAT = "lenet-record/2"
#: The first format, read through :func:`from_v1`.
RECORD_FORMAT_V1 = "lenet-record/1"

#: The modules whose source the code hash covers: everything a training run executes.
TRAINING_MODULES = (
    "c3.py",
    "data.py",
    "distort.py",
    "models.py",
    "pooling.py",
    "rbf.py",
    "recipes.py",
    "sdlm.py",
    "step.py",
    "train.py",
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class RecordError(ValueError):
    """A record is malformed, missing, or does not match what it claims."""


@dataclass
class Record:
    """One training run, as the book stores it (see the module docstring).

    ``config`` is the run's :class:`lenet.train.TrainConfig` and ``runtime`` the settings of its
    :class:`lenet.train.Runtime` that change how it computes (``amp``, ``compile``,
    ``cuda_graph``), as dicts. ``history`` has one dict per epoch (see
    :class:`lenet.train.History`). ``final`` holds ``test_acc``, ``test_loss``, ``train_s``
    (training time, evaluation excluded), ``fit_s`` (all of :func:`lenet.train.fit`),
    ``time_to_target_s``, ``epochs_to_target`` and ``target_acc``, and the final weights' loss and
    accuracy on the whole training set in evaluation mode, ``train_set_loss`` and
    ``train_set_acc``. ``run_s`` is the whole run from the loaded data on: batching, training,
    evaluation, saving. ``machine`` is :func:`lenet.machine.machine_info`. Accuracies are fractions
    (0.99 is 99%), times seconds.
    """

    name: str
    model: str
    parameters: int
    config: Dict[str, Any]
    history: List[Dict[str, Any]]
    final: Dict[str, Any]
    machine: Dict[str, Any]
    run_s: float
    code_hash: str
    runtime: Dict[str, Any] = field(default_factory=dict)
    run: str = ""
    title: str = ""
    chapter: str = ""
    notes: str = ""
    step_losses: List[float] = field(default_factory=list)
    checkpoint: Optional[str] = None
    created: str = ""
    format: str = RECORD_FORMAT

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`RecordError` naming the first field that is wrong."""
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise RecordError(
                f"record name {self.name!r} must be lower-case letters, digits, '-', '_' or '.', "
                "starting with a letter or digit (it becomes the file name)"
            )
        if self.format != RECORD_FORMAT:
            raise RecordError(f"{self.name}: format {self.format!r} is not {RECORD_FORMAT!r}")
        if not isinstance(self.parameters, int) or self.parameters < 0:
            raise RecordError(f"{self.name}: parameters must be a non-negative integer, got {self.parameters!r}")
        if not self.history:
            raise RecordError(f"{self.name}: the history is empty")
        acc = self.final.get("test_acc")
        if not isinstance(acc, (int, float)) or not 0.0 <= acc <= 1.0:
            raise RecordError(f"{self.name}: final test_acc must be a fraction in [0, 1], got {acc!r}")
        for key in ("train_s",):
            v = self.final.get(key)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise RecordError(f"{self.name}: final {key} must be a non-negative number of seconds, got {v!r}")
        if self.machine.get("device") not in ("cpu", "cuda"):
            raise RecordError(
                f"{self.name}: machine.device must be 'cpu' or 'cuda', got {self.machine.get('device')!r}"
            )

    # -- what chapters read most ------------------------------------------------------------
    @property
    def test_acc(self) -> float:
        return float(self.final["test_acc"])

    @property
    def test_error(self) -> float:
        return 1.0 - self.test_acc

    @property
    def train_s(self) -> float:
        """Training time in seconds (forward, backward, update; evaluation excluded)."""
        return float(self.final["train_s"])

    @property
    def epochs(self) -> int:
        return len(self.history)

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0))

    @property
    def on_gpu(self) -> bool:
        return self.machine["device"] == "cuda"

    @property
    def hardware(self) -> str:
        """The CPU or GPU the run trained on."""
        return str(self.machine.get("hardware", self.machine["device"]))

    def column(self, key: str) -> List[Optional[float]]:
        """One value per epoch: ``record.column("test_acc")``."""
        return [e.get(key) for e in self.history]

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Record:
        """Build a record from a dict (either format); unknown keys are ignored, missing required
        ones refused."""
        if not isinstance(d, dict):
            raise RecordError(f"a record must be a JSON object, got {type(d).__name__}")
        if d.get("format") == RECORD_FORMAT_V1:
            d = from_v1(d)
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [k for k in required if k not in d]
        if missing:
            raise RecordError(f"record {d.get('name', '?')!r} lacks the field(s) {', '.join(missing)}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def train_config(self) -> TrainConfig:
        """The run's :class:`lenet.train.TrainConfig`."""
        return TrainConfig.from_dict(self.config)


def from_v1(d: Dict[str, Any]) -> Dict[str, Any]:
    """A record of the first format (``lenet-record/1``) as a dict of the current one: the GPU
    settings leave the configuration for ``runtime``, the target accuracy becomes a fraction,
    ``wall_s`` becomes ``run_s``, ``final.total_s`` becomes ``fit_s`` and ``machine.name``
    becomes ``machine.hardware``.
    """
    config = d.get("config", {})
    final = {("fit_s" if k == "total_s" else k): v for k, v in d.get("final", {}).items()}
    machine = {("hardware" if k == "name" else k): v for k, v in d.get("machine", {}).items()}
    out = {k: v for k, v in d.items() if k not in ("wall_s", "config", "final", "machine", "format")}
    out.update(
        config=config_from_v1(config),
        final=final,
        machine=machine,
        format=RECORD_FORMAT,
        runtime={k: bool(config.get(k, False)) for k in ("amp", "compile", "cuda_graph")},
    )
    if "wall_s" in d:
        out["run_s"] = d["wall_s"]
    return out


# --------------------------------------------------------------------------- provenance


def code_hash() -> str:
    """SHA-256 (16 hex digits) of the training code: the syntax trees of :data:`TRAINING_MODULES`,
    without their docstrings and comments, so that rewording documentation keeps the hash and any
    change to what runs changes it.
    """
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in TRAINING_MODULES:
        tree = ast.parse((here / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (
                isinstance(body, list)
                and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                # any node with a list `body` (module, def, class, if, for, ...): ast.AST declares none
                cast(Any, node).body = body[1:] or [ast.Pass()]
        h.update(name.encode() + b"\0" + ast.dump(tree).encode() + b"\0")
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- storage


def default_results_dir() -> Path:
    """``$LENET_RESULTS_DIR``, else the repository's ``results/`` (when ``lenet`` is imported from a
    checkout of the book), else the records installed with the package (``lenet/results``, as on
    Colab), else ``./results``.

    Explained in: chapter 8.
    """
    env = os.environ.get(RESULTS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    here = Path(__file__).resolve().parent
    repo = here.parent
    if (repo / "pyproject.toml").is_file() and (repo / "notebooks").is_dir():
        return repo / "results"
    if (here / "results").is_dir():
        return here / "results"
    return Path.cwd() / "results"


def load_benchmark(name: str) -> Dict[str, Any]:
    """The run of ``benchmarks/time_to_accuracy.py`` stored as ``benchmarks/results/<name>.json``
    (in a checkout of the book; installed with the package as ``lenet/benchmarks``, as on Colab).

    Explained in: chapter 7, "Training fast".
    """
    here = Path(__file__).resolve().parent
    for folder in (here.parent / "benchmarks" / "results", here / "benchmarks"):
        path = folder / f"{name}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise RecordError(
        f"no benchmark run {name!r}: make it with `python benchmarks/time_to_accuracy.py --out "
        f"benchmarks/results/{name}.json`"
    )


def record_path(name: str, directory: Optional[PathLike] = None) -> Path:
    """Where the record called ``name`` is stored: ``<directory>/<name>.json``."""
    if not _NAME.match(name or ""):
        raise RecordError(f"record name {name!r} is not a valid file name (lower-case letters, digits, - _ .)")
    return Path(directory if directory is not None else default_results_dir()) / f"{name}.json"


def save_record(record: Record, directory: Optional[PathLike] = None, path: Optional[PathLike] = None) -> Path:
    """Write ``record`` as ``<directory>/<name>.json`` (or to ``path``), atomically; return the path."""
    record.validate()
    path = Path(path) if path is not None else record_path(record.name, directory)
    atomic_write(path, (json.dumps(record.to_dict(), indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return path


def load_record(path: PathLike) -> Record:
    """Read one record; raises :class:`RecordError` naming the file when it is not a record."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: not a readable JSON record ({type(exc).__name__}: {exc})") from None
    try:
        return Record.from_dict(data)
    except (RecordError, TypeError) as exc:
        raise RecordError(f"{path}: {exc}") from None


def load_records(directory: Optional[PathLike] = None, run: Optional[str] = None) -> List[Record]:
    """Every record in ``directory`` (default :func:`default_results_dir`), sorted by name; only
    those of the book run ``run`` if given. A missing directory gives an empty list.

    Explained in: chapter 6, "The full schedule, recorded".
    """
    directory = Path(directory if directory is not None else default_results_dir())
    if not directory.is_dir():
        return []
    records = [load_record(p) for p in sorted(directory.glob("*.json"))]
    return [r for r in records if run is None or r.run == run]


def get_record(name: str, directory: Optional[PathLike] = None) -> Record:
    """The record called ``name``, with a clear error saying how to make it when it is missing.

    Explained in: chapter 6.
    """
    path = record_path(name, directory)
    if not path.is_file():
        raise RecordError(
            f"no record {name!r} in {path.parent}; make it with `python -m lenet record {name.rsplit('-s', 1)[0]}`"
        )
    return load_record(path)


def load_model(
    record: Record, directory: Optional[PathLike] = None, map_location: Union[str, torch.device] = "cpu"
) -> nn.Module:
    """The trained model of ``record``, from its checkpoint (relative to the results directory).

    Explained in: chapter 6, "The digits it gets wrong".
    """
    if not record.checkpoint:
        raise RecordError(
            f"{record.name} keeps no checkpoint: only the seeds in its book run's checkpoint_seeds "
            f"(lenet.recipes.BOOK_RUNS) keep their weights; load seed {record.run}-s0 instead"
        )
    base = Path(directory if directory is not None else default_results_dir())
    model, _ = load_checkpoint(base / record.checkpoint, map_location=map_location)
    return model.eval()


def ensure_writable(folder: PathLike) -> Path:
    """Create ``folder`` if needed and check that a file can be written in it, so that a run never
    trains for minutes and then fails to save; raises :class:`RecordError` saying what to do.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RecordError(
            f"cannot write to {folder} ({exc.strerror or exc}); choose another directory with --out"
        ) from None
    return folder


# --------------------------------------------------------------------------- summaries


def summarize(records: Sequence[Record]) -> Dict[str, Any]:
    """Mean, spread and extremes over the seeds of one run: ``n``, ``mean_error``, ``sd_error``
    (sample standard deviation, 0 for one seed), ``min_error``, ``max_error``, ``mean_train_s``,
    ``seeds``.

    Explained in: chapter 6, "The full schedule, recorded".
    """
    if not records:
        raise RecordError("summarize needs at least one record")
    errors = [r.test_error for r in records]
    n = len(errors)
    mean = sum(errors) / n
    sd = math.sqrt(sum((e - mean) ** 2 for e in errors) / (n - 1)) if n > 1 else 0.0
    return {
        "n": n,
        "mean_error": mean,
        "sd_error": sd,
        "min_error": min(errors),
        "max_error": max(errors),
        "mean_train_s": sum(r.train_s for r in records) / n,
        "seeds": [r.seed for r in records],
    }


__all__ = [
    "RESULTS_DIR_ENV",
    "RECORD_FORMAT",
    "RECORD_FORMAT_V1",
    "TRAINING_MODULES",
    "Record",
    "RecordError",
    "from_v1",
    "code_hash",
    "default_results_dir",
    "load_benchmark",
    "record_path",
    "save_record",
    "load_record",
    "load_records",
    "get_record",
    "load_model",
    "ensure_writable",
    "summarize",
]
