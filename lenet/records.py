"""Run records: one JSON file per training run, the one format for every run the book stores.

A :class:`Record` holds everything needed to trust a number quoted from a run and to check it
again: the configuration, the per-epoch history (training loss and accuracy, test accuracy,
time), the final metrics, the training loss of each of the first steps, the machine (CPU or GPU
name, threads, torch version), the wall time, a hash of the training code it ran and, where a
chapter needs the trained weights, the path of its checkpoint.

The book's runs (:data:`lenet.recipes.BOOK_RUNS`) are made by one command,
``python -m lenet record``, and kept under ``results/`` (checkpoints in
``results/checkpoints/``); ``python -m lenet train`` writes the same record beside its checkpoint.
:func:`replay` re-runs the start of a recorded run and :func:`compare` says whether it matches:
bit for bit where this machine computes exactly as the recording one did, else within
:data:`PREFIX_RTOL` over the first :data:`PREFIX_STEPS` steps (training is chaotic: tiny rounding
differences grow step after step, so later steps of another machine's run differ visibly).
``tests/test_records.py`` replays every record.

Where the records live (:func:`default_results_dir`): ``$LENET_RESULTS_DIR`` when set; else the
``results/`` folder of the book's repository when ``lenet`` is imported from a checkout of it;
else the copy installed with the package (``pip install`` puts ``results/`` into ``lenet/results``,
so the chapters find the records on Colab too).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import math
import os
import platform
import re
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from .data import Split, atomic_write
from .models import count_parameters, unwrap

PathLike = Union[str, "os.PathLike[str]"]

#: Environment variable naming the results directory.
RESULTS_DIR_ENV = "LENET_RESULTS_DIR"

#: Version tag written in every record.
RECORD_FORMAT = "lenet-record/1"

#: The modules whose source the code hash covers: everything a training run executes.
TRAINING_MODULES = ("c3.py", "data.py", "distort.py", "models.py", "pooling.py", "rbf.py", "recipes.py", "sdlm.py", "step.py",
                    "train.py")

#: A replay on a machine that rounds differently must agree over this many first steps...
PREFIX_STEPS = 10
#: ... to this relative tolerance (the spread measured between thread counts and instruction sets).
PREFIX_RTOL = 1e-4

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class RecordError(ValueError):
    """A record is malformed, missing, or does not match what it claims.

    Chapters: none (the package and its command line use it).
    """


@dataclass
class Record:
    """One training run, as the book stores it (see the module docstring).

    ``history`` has one dict per epoch: ``epoch``, ``lr``, ``train_loss`` and ``train_acc`` (running
    means over the epoch, in training mode), ``test_loss`` and ``test_acc`` (``None`` where the test
    set was not evaluated), ``train_s`` (training time so far) and ``elapsed_s``. ``final`` holds
    ``test_acc``, ``test_loss``, ``train_s`` (training time, evaluation excluded), ``total_s``,
    ``time_to_target_s``, ``epochs_to_target`` and ``target_acc``, and the final weights' loss and
    accuracy on the whole training set in evaluation mode, ``train_set_loss`` and
    ``train_set_acc``. ``wall_s`` is the whole run from the loaded data on: batching, training,
    evaluation, saving. Accuracies are fractions (0.99 is 99%).

    Chapters: none (the package and its command line use it).
    """

    name: str
    model: str
    parameters: int
    config: Dict[str, Any]
    history: List[Dict[str, Any]]
    final: Dict[str, Any]
    machine: Dict[str, Any]
    wall_s: float
    code_hash: str
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
            raise RecordError(f"record name {self.name!r} must be lower-case letters, digits, '-', '_' or '.', "
                              "starting with a letter or digit (it becomes the file name)")
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
            raise RecordError(f"{self.name}: machine.device must be 'cpu' or 'cuda', got {self.machine.get('device')!r}")

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
    def device(self) -> str:
        """The CPU or GPU the run trained on."""
        return str(self.machine.get("name", self.machine["device"]))

    def column(self, key: str) -> List[Optional[float]]:
        """One value per epoch: ``record.column("test_acc")``."""
        return [e.get(key) for e in self.history]

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Record":
        """Build a record from a dict; unknown keys are ignored, missing required ones refused."""
        if not isinstance(d, dict):
            raise RecordError(f"a record must be a JSON object, got {type(d).__name__}")
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [k for k in required if k not in d]
        if missing:
            raise RecordError(f"record {d.get('name', '?')!r} lacks the field(s) {', '.join(missing)}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def train_config(self):
        """The run's :class:`lenet.train.TrainConfig`."""
        from .train import TrainConfig

        return TrainConfig.from_dict(self.config)


# --------------------------------------------------------------------------- provenance


def code_hash() -> str:
    """SHA-256 (16 hex digits) of the training code: the syntax trees of :data:`TRAINING_MODULES`,
    without their docstrings and comments, so that rewording documentation keeps the hash and any
    change to what runs changes it.

    Chapters: none (the package and its command line use it).
    """
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in TRAINING_MODULES:
        tree = ast.parse((here / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
        h.update(name.encode() + b"\0" + ast.dump(tree).encode() + b"\0")
    return h.hexdigest()[:16]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: Union[str, torch.device] = "cpu") -> Dict[str, Any]:
    """Where a run happens: ``device`` ('cpu' or 'cuda'), ``name`` (CPU model or GPU name), the
    CPU, its thread count and vector instruction set as torch uses them, torch and Python versions.

    Chapters: none (the package and its command line use it).
    """
    device = torch.device(device)
    info = {
        "device": device.type,
        "name": torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name(),
        "cpu": _cpu_name(),
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    return info


# --------------------------------------------------------------------------- storage


def default_results_dir() -> Path:
    """``$LENET_RESULTS_DIR``, else the repository's ``results/`` (when ``lenet`` is imported from a
    checkout of the book), else the records installed with the package (``lenet/results``, as on
    Colab), else ``./results``.

    Chapters: 8.
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

    Chapters: 7.
    """
    here = Path(__file__).resolve().parent
    for folder in (here.parent / "benchmarks" / "results", here / "benchmarks"):
        path = folder / f"{name}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise RecordError(f"no benchmark run {name!r}: make it with `python benchmarks/time_to_accuracy.py --out "
                      f"benchmarks/results/{name}.json`")


def record_path(name: str, directory: Optional[PathLike] = None) -> Path:
    """Where the record called ``name`` is stored: ``<directory>/<name>.json``.

    Chapters: none (the package and its command line use it).
    """
    if not _NAME.match(name or ""):
        raise RecordError(f"record name {name!r} is not a valid file name (lower-case letters, digits, - _ .)")
    return Path(directory if directory is not None else default_results_dir()) / f"{name}.json"


def save_record(record: Record, directory: Optional[PathLike] = None, path: Optional[PathLike] = None) -> Path:
    """Write ``record`` as ``<directory>/<name>.json`` (or to ``path``), atomically; return the path.

    Chapters: none (the package and its command line use it).
    """
    record.validate()
    path = Path(path) if path is not None else record_path(record.name, directory)
    atomic_write(path, (json.dumps(record.to_dict(), indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return path


def load_record(path: PathLike) -> Record:
    """Read one record; raises :class:`RecordError` naming the file when it is not a record.

    Chapters: none (the package and its command line use it).
    """
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

    Chapters: 6, 7, 8.
    """
    directory = Path(directory if directory is not None else default_results_dir())
    if not directory.is_dir():
        return []
    records = [load_record(p) for p in sorted(directory.glob("*.json"))]
    return [r for r in records if run is None or r.run == run]


def get_record(name: str, directory: Optional[PathLike] = None) -> Record:
    """The record called ``name``, with a clear error saying how to make it when it is missing.

    Chapters: 6, 7.
    """
    path = record_path(name, directory)
    if not path.is_file():
        raise RecordError(f"no record {name!r} in {path.parent}; make it with `python -m lenet record {name.rsplit('-s', 1)[0]}`")
    return load_record(path)


def load_model(record: Record, directory: Optional[PathLike] = None, map_location: Union[str, torch.device] = "cpu") -> nn.Module:
    """The trained model of ``record``, from its checkpoint (relative to the results directory).

    Chapters: 6, 7, 8.
    """
    from .train import load_checkpoint

    if not record.checkpoint:
        raise RecordError(f"{record.name} keeps no checkpoint: only the seeds in its book run's checkpoint_seeds "
                          f"(lenet.recipes.BOOK_RUNS) keep their weights; load seed {record.run}-s0 instead")
    base = Path(directory if directory is not None else default_results_dir())
    model, _ = load_checkpoint(base / record.checkpoint, map_location=map_location)
    return model.eval()


# --------------------------------------------------------------------------- making records


def make_record(name: str, model: nn.Module, config: Any, history: Any, *, wall_s: float,
                train_set: Optional[Tuple[float, float]] = None, run: str = "", title: str = "",
                chapter: str = "", notes: str = "", checkpoint: Optional[str] = None,
                device: Union[str, torch.device, None] = None) -> Record:
    """A :class:`Record` of a finished run: the trained ``model``, its
    :class:`lenet.train.TrainConfig` and :class:`lenet.train.History`, the run's ``wall_s`` and,
    optionally, ``train_set`` = (loss, accuracy) of the final weights on the training set.

    Chapters: none (the package and its command line use it).
    """
    if history.test_acc is None:
        raise RecordError(f"{name}: the history has no test accuracy (was a test set given?)")
    last = next(e for e in reversed(history.epochs) if e.get("test_acc") is not None)
    final = {
        "test_acc": float(history.test_acc),
        "test_loss": float(last["test_loss"]),
        "train_s": float(history.wall_s),
        "total_s": float(history.total_s),
        "time_to_target_s": history.time_to_target_s,
        "epochs_to_target": history.epochs_to_target,
        "target_acc": config.target_fraction,
        "train_set_loss": None if train_set is None else float(train_set[0]),
        "train_set_acc": None if train_set is None else float(train_set[1]),
    }
    if device is None:
        device = next(unwrap(model).parameters()).device
    return Record(
        name=name, model=unwrap(model).name, parameters=count_parameters(unwrap(model)),
        config=json.loads(json.dumps(asdict(config))),  # as it reads back from the file (tuples become lists)
        history=[dict(e) for e in history.epochs], final=final, machine=machine_info(device), wall_s=float(wall_s),
        code_hash=code_hash(), run=run or name, title=title, chapter=chapter, notes=notes,
        step_losses=[float(v) for v in history.step_losses], checkpoint=checkpoint,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def record_run(name: str, config: Any, data: Tuple[Split, Split], directory: Optional[PathLike] = None,
               *, run: str = "", title: str = "", chapter: str = "", notes: str = "",
               checkpoint: bool = True, record_file: Optional[PathLike] = None) -> Record:
    """Train ``config`` on ``data`` = (train, test), evaluate the final weights on both sets, save
    the checkpoint (``<directory>/checkpoints/<name>.pt``, or beside ``record_file``) and the record;
    return the record. The output location is checked to be writable before training starts.

    Chapters: none (the package and its command line use it).
    """
    from .train import evaluate, make_loaders, resolve_device, save_checkpoint, train

    directory = Path(directory if directory is not None else default_results_dir())
    out = Path(record_file) if record_file is not None else record_path(name, directory)
    ckpt_file = (out.parent / "checkpoint.pt") if record_file is not None else directory / "checkpoints" / f"{name}.pt"
    for folder in {out.parent, ckpt_file.parent} if checkpoint else {out.parent}:
        ensure_writable(folder)
    start = time.perf_counter()
    config.validate()
    device = resolve_device(config.device)
    model, history = train(config, data=data)
    seen = data[0].subset(config.train_subset) if config.train_subset else data[0]
    _, train_eval = make_loaders(config, seen, seen, device)  # the training images, as a test set is read
    train_set = evaluate(model, train_eval, config.amp)
    rel = None
    if checkpoint:
        save_checkpoint(ckpt_file, model, config)
        rel = os.path.relpath(ckpt_file, out.parent)
    record = make_record(name, model, config, history, wall_s=time.perf_counter() - start, train_set=train_set, run=run,
                         title=title, chapter=chapter, notes=notes, checkpoint=rel, device=device)
    save_record(record, path=out)
    return record


def ensure_writable(folder: PathLike) -> Path:
    """Create ``folder`` if needed and check that a file can be written in it, so that a run never
    trains for minutes and then fails to save; raises :class:`RecordError` saying what to do.

    Chapters: none (the package and its command line use it).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RecordError(f"cannot write to {folder} ({exc.strerror or exc}); choose another directory with --out") from None
    return folder


# --------------------------------------------------------------------------- replaying records


@contextlib.contextmanager
def _threads(n: Optional[int]) -> Iterator[None]:
    old = torch.get_num_threads()
    if n and n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def replay(record: Record, data: Tuple[Split, Split], *, steps: Optional[int] = None, epochs: Optional[int] = None,
           progress: bool = False):
    """Re-run the start of ``record`` on the CPU, with the record's thread count: its first
    ``steps`` steps, or its first ``epochs`` epochs (evaluated as the run evaluated them). The
    schedule is the full run's, so the replay is an exact prefix of it. Returns the
    :class:`lenet.train.History`.

    Chapters: 6, 7.
    """
    from dataclasses import replace

    from .train import train

    if (steps is None) == (epochs is None):
        raise ValueError("replay needs exactly one of steps= or epochs=")
    config = replace(record.train_config(), device="cpu", progress=progress, amp=False, compile=False, cuda_graph=False)
    with _threads(record.machine.get("threads")):
        _, history = train(config, data=data, stop_after=epochs, max_steps=steps)
    return history


@dataclass
class Comparison:
    """How a replay compares with its record. ``exact`` is True when every compared number is
    equal bit for bit; ``ok`` when the replay matches (exactly, or within :data:`PREFIX_RTOL` over
    the first :data:`PREFIX_STEPS` steps where this machine rounds differently).

    Chapters: none (the package and its command line use it).
    """

    record: str
    steps: int
    epochs: int
    exact: bool
    ok: bool
    max_rel_diff: float
    message: str


_EPOCH_KEYS = ("train_loss", "train_acc", "train_samples", "test_loss", "test_acc", "lr")


def compare(record: Record, history: Any) -> Comparison:
    """Compare a :func:`replay` with ``record``: the per-step losses it shares with the record, and
    the metrics of every epoch it completed.

    Chapters: 6, 7.
    """
    got, want = list(history.step_losses), record.step_losses
    n = min(len(got), len(want))
    if n == 0:
        raise RecordError(f"{record.name}: nothing to compare (the record or the replay has no step losses)")
    rel = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(got[:n], want[:n])]
    steps_exact = got[:n] == want[:n]
    done = [e for e in history.epochs if e["train_samples"] == record.history[e["epoch"] - 1]["train_samples"]]
    wrong = [(e["epoch"], k) for e in done for k in _EPOCH_KEYS if e.get(k) != record.history[e["epoch"] - 1].get(k)]
    exact = steps_exact and not wrong
    prefix = min(n, PREFIX_STEPS)
    close = max(rel[:prefix]) <= PREFIX_RTOL
    where = f"{n} steps" + (f" and {len(done)} epoch(s)" if done else "")
    if exact:
        message = f"{record.name}: {where} replayed bit for bit"
    elif steps_exact:  # the same arithmetic, yet other epoch numbers: the record was altered
        epoch, key = wrong[0]
        message = (f"{record.name}: the steps replay bit for bit, but epoch {epoch}'s {key} is "
                   f"{record.history[epoch - 1].get(key)!r} in the record and {done[epoch - 1].get(key)!r} in the replay: "
                   f"the record was edited by hand; re-make it with `python -m lenet record {record.run}`")
        close = False
    elif close:
        first = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
        message = (f"{record.name}: the first {prefix} steps agree to {max(rel[:prefix]):.1e} (tolerance {PREFIX_RTOL:g}) but "
                   f"not bit for bit (first difference at step {first + 1}): this machine rounds differently from the one "
                   f"that made the record ({record.machine.get('cpu')}, {record.machine.get('cpu_capability')}, "
                   f"{record.machine.get('threads')} threads, torch {record.machine.get('torch')})")
    else:
        worst = max(range(prefix), key=lambda i: rel[i])
        message = (f"{record.name}: step {worst + 1} has loss {got[worst]!r}, the record {want[worst]!r} (relative difference "
                   f"{rel[worst]:.1e} > {PREFIX_RTOL:g}): the record does not come from this code and configuration; "
                   f"re-make it with `python -m lenet record {record.run}`")
    return Comparison(record.name, n, len(done), exact, exact or close, max(rel), message)


# --------------------------------------------------------------------------- summaries


def summarize(records: Sequence[Record]) -> Dict[str, Any]:
    """Mean, spread and extremes over the seeds of one run: ``n``, ``mean_error``, ``sd_error``
    (sample standard deviation, 0 for one seed), ``min_error``, ``max_error``, ``mean_train_s``,
    ``seeds``.

    Chapters: 6, 7, 8.
    """
    if not records:
        raise RecordError("summarize needs at least one record")
    errors = [r.test_error for r in records]
    n = len(errors)
    mean = sum(errors) / n
    sd = math.sqrt(sum((e - mean) ** 2 for e in errors) / (n - 1)) if n > 1 else 0.0
    return {"n": n, "mean_error": mean, "sd_error": sd, "min_error": min(errors), "max_error": max(errors),
            "mean_train_s": sum(r.train_s for r in records) / n, "seeds": [r.seed for r in records]}


__all__ = [
    "RESULTS_DIR_ENV", "RECORD_FORMAT", "TRAINING_MODULES", "PREFIX_STEPS", "PREFIX_RTOL", "Record", "RecordError",
    "Comparison", "code_hash", "machine_info", "default_results_dir", "load_benchmark", "record_path", "save_record", "load_record",
    "load_records", "get_record", "load_model", "make_record", "record_run", "ensure_writable", "replay", "compare",
    "summarize",
]
