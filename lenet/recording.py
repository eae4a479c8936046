"""Making run records and checking them again.

* :func:`record_run` trains a configuration, evaluates the final weights on both sets, saves the
  checkpoint and the :class:`lenet.records.Record` (``python -m lenet record`` and ``python -m
  lenet train`` both use it); :func:`make_record` builds the record of a finished run.
* :func:`replay` re-runs the start of a recorded run on this CPU and :func:`compare` says whether
  it matches: bit for bit where this machine computes exactly as the recording one did, else
  within :data:`PREFIX_RTOL` over the first :data:`PREFIX_STEPS` steps (training is chaotic: tiny
  rounding differences grow step after step, so later steps of another machine's run differ
  visibly). ``tests/test_records.py`` replays every record of the book.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple, Union, cast

import torch
import torch.nn as nn

from .checkpoints import save_checkpoint
from .data import Split
from .machine import machine_info, resolve_device
from .models import count_parameters, unwrap
from .recipes import BookRun
from .records import (
    PathLike,
    Record,
    RecordError,
    code_hash,
    default_results_dir,
    ensure_writable,
    record_path,
    save_record,
)
from .train import History, Runtime, TrainConfig, eval_loader, evaluate, train

#: A replay on a machine that rounds differently must agree over this many first steps... (an AMD
#: EPYC replaying the Intel Xeon records agreed within 5e-7 over the first 5 steps of every record;
#: the fast recipe then doubles a one-ulp difference about every step: 3e-4 by step 10 for seed 18)
PREFIX_STEPS = 5
#: ... to this relative tolerance (the spread measured between thread counts and instruction sets).
PREFIX_RTOL = 1e-4
#: What a replay needs from this machine to match a record bit for bit: the same CPU, the same
#: vector instruction set as torch uses it and the same torch (the thread count is the record's own).
ARITHMETIC_KEYS = ("cpu", "cpu_capability", "torch")
#: The settings of a :class:`lenet.train.Runtime` that a record keeps: those that change how a run computes.
RUNTIME_KEYS = ("amp", "compile", "cuda_graph")


def make_record(
    name: str,
    model: nn.Module,
    config: TrainConfig,
    history: History,
    *,
    run_s: float,
    runtime: Runtime = Runtime(),
    train_set: Optional[Tuple[float, float]] = None,
    run: str = "",
    title: str = "",
    chapter: str = "",
    notes: str = "",
    checkpoint: Optional[str] = None,
    device: Union[str, torch.device, None] = None,
) -> Record:
    """A :class:`lenet.records.Record` of a finished run: the trained ``model``, its configuration
    and :class:`lenet.train.History`, the whole run's ``run_s`` and, optionally, ``train_set`` =
    (loss, accuracy) of the final weights on the training set.
    """
    if history.test_acc is None:
        raise RecordError(f"{name}: the history has no test accuracy (was a test set given?)")
    last = next(e for e in reversed(history.epochs) if e.get("test_acc") is not None)
    final = {
        "test_acc": float(history.test_acc),
        "test_loss": float(last["test_loss"]),
        "train_s": float(history.train_s),
        "fit_s": float(history.fit_s),
        "time_to_target_s": history.time_to_target_s,
        "epochs_to_target": history.epochs_to_target,
        "target_acc": config.target_acc,
        "train_set_loss": None if train_set is None else float(train_set[0]),
        "train_set_acc": None if train_set is None else float(train_set[1]),
    }
    base = unwrap(model)
    return Record(
        name=name,
        model=cast(str, base.name),  # a class attribute of both LeNet-5s; nn.Module's stubs cannot know it
        parameters=count_parameters(base),
        config=json.loads(json.dumps(config.to_dict())),  # as it reads back from the file (tuples become lists)
        runtime={k: getattr(runtime, k) for k in RUNTIME_KEYS},
        history=[dict(e) for e in history.epochs],
        final=final,
        machine=machine_info(device if device is not None else next(base.parameters()).device),
        run_s=float(run_s),
        code_hash=code_hash(),
        run=run or name,
        title=title,
        chapter=chapter,
        notes=notes,
        step_losses=[float(v) for v in history.step_losses],
        checkpoint=checkpoint,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def record_run(
    name: str,
    config: TrainConfig,
    data: Tuple[Split, Split],
    runtime: Runtime = Runtime(),
    directory: Optional[PathLike] = None,
    *,
    run: str = "",
    title: str = "",
    chapter: str = "",
    notes: str = "",
    checkpoint: bool = True,
    record_file: Optional[PathLike] = None,
    train_set: bool = True,
    timings: Optional[Dict[str, float]] = None,
) -> Record:
    """Train ``config`` on ``data`` = (train, test) as ``runtime`` says, evaluate the final weights
    on the test set and, with ``train_set``, on the training set (as much of it as the run saw: its
    first ``train_subset`` images), save the checkpoint (``<directory>/checkpoints/<name>.pt``, or
    beside ``record_file``) and the record; return the record. The output location is checked to
    be writable before training starts. ``timings``, when given, receives where the time went:
    ``setup_s``, ``train_s`` and ``eval_s`` (from the run's :class:`lenet.train.History`),
    ``final_eval_s`` (the training set read with the final weights) and ``save_s``.

    Explained in: chapter 8, "Exercises".
    """
    directory = Path(directory if directory is not None else default_results_dir())
    out = Path(record_file) if record_file is not None else record_path(name, directory)
    ckpt_file = (out.parent / "checkpoint.pt") if record_file is not None else directory / "checkpoints" / f"{name}.pt"
    for folder in {out.parent, ckpt_file.parent} if checkpoint else {out.parent}:
        ensure_writable(folder)
    start = time.perf_counter()
    device = resolve_device(runtime.device)
    model, history = train(config, runtime, data=data)
    t_eval = time.perf_counter()
    seen = data[0].subset(config.train_subset) if config.train_subset else data[0]
    train_metrics = evaluate(model, eval_loader(config, seen, device), runtime.amp) if train_set else None
    t_save = time.perf_counter()
    rel = None
    if checkpoint:
        save_checkpoint(ckpt_file, model, config)
        rel = os.path.relpath(ckpt_file, out.parent)
    record = make_record(
        name,
        model,
        config,
        history,
        run_s=time.perf_counter() - start,
        runtime=runtime,
        train_set=train_metrics,
        run=run,
        title=title,
        chapter=chapter,
        notes=notes,
        checkpoint=rel,
        device=device,
    )
    save_record(record, path=out)
    if timings is not None:
        timings.update(
            setup_s=history.setup_s,
            train_s=history.train_s,
            eval_s=history.eval_s,
            final_eval_s=t_save - t_eval,
            save_s=time.perf_counter() - t_save,
        )
    return record


def record_book_run(
    run: BookRun, seed: int, data: Tuple[Split, Split], runtime: Runtime, directory: Optional[PathLike] = None
) -> Record:
    """Record seed ``seed`` of the book's run ``run`` (:data:`lenet.recipes.BOOK_RUNS`) as ``python -m
    lenet record`` does: named ``<run>-s<seed>`` (with ``-cuda`` on a GPU), with the run's title,
    chapter and notes, keeping the weights of the seeds the chapters read.
    """
    suffix = "-cuda" if resolve_device(runtime.device).type == "cuda" else ""
    return record_run(
        run.record_name(seed) + suffix,
        run.make(seed),
        data,
        runtime,
        directory,
        run=run.name,
        title=run.title,
        chapter=run.chapter,
        notes=run.notes,
        checkpoint=seed in run.checkpoint_seeds,
    )


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


def replay(
    record: Record,
    data: Tuple[Split, Split],
    *,
    steps: Optional[int] = None,
    epochs: Optional[int] = None,
    progress: bool = False,
) -> History:
    """Re-run the start of ``record`` on the CPU, with the record's thread count: its first
    ``steps`` steps, or its first ``epochs`` epochs (evaluated as the run evaluated them). The
    schedule is the full run's, so the replay is an exact prefix of it. Returns the
    :class:`lenet.train.History`.

    Explained in: chapter 6, "A live run".
    """
    if (steps is None) == (epochs is None):
        raise ValueError("replay needs exactly one of steps= or epochs=")
    with _threads(record.machine.get("threads")):
        _, history = train(
            record.train_config(),
            Runtime(device="cpu", progress=progress),
            data=data,
            stop_after=epochs,
            max_steps=steps,
        )
    return history


@dataclass
class Comparison:
    """How a replay compares with its record. ``exact`` is True when every compared number is
    equal bit for bit; ``ok`` when the replay matches (exactly, or within :data:`PREFIX_RTOL` over
    the first :data:`PREFIX_STEPS` steps where this machine rounds differently).
    """

    record: str
    steps: int
    epochs: int
    exact: bool
    ok: bool
    max_rel_diff: float
    message: str


_EPOCH_KEYS = ("train_loss", "train_acc", "train_samples", "test_loss", "test_acc", "lr")


def rounds_as_recorded(record: Record) -> bool:
    """Whether this CPU computes as the one that made ``record`` did (:data:`ARITHMETIC_KEYS`): only
    then can a replay be required to match the record bit for bit.
    """
    here = machine_info("cpu")
    return not record.on_gpu and all(record.machine.get(k) == here[k] for k in ARITHMETIC_KEYS)


def compare(record: Record, history: History) -> Comparison:
    """Compare a :func:`replay` with ``record``: the per-step losses it shares with the record, and
    the metrics of every epoch it completed.

    Explained in: chapter 6, "A live run".
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
        message = (
            f"{record.name}: the steps replay bit for bit, but epoch {epoch}'s {key} is "
            f"{record.history[epoch - 1].get(key)!r} in the record and {done[epoch - 1].get(key)!r} in the replay: "
            f"the record was edited by hand; re-make it with `python -m lenet record {record.run}`"
        )
        close = False
    elif close:
        first = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
        message = (
            f"{record.name}: the first {prefix} steps agree to {max(rel[:prefix]):.1e} (tolerance {PREFIX_RTOL:g}) but "
            f"not bit for bit (first difference at step {first + 1}): this machine rounds differently from the one "
            f"that made the record ({record.machine.get('cpu')}, {record.machine.get('cpu_capability')}, "
            f"{record.machine.get('threads')} threads, torch {record.machine.get('torch')})"
        )
    else:
        worst = max(range(prefix), key=lambda i: rel[i])
        message = (
            f"{record.name}: step {worst + 1} has loss {got[worst]!r}, the record {want[worst]!r} (relative difference "
            f"{rel[worst]:.1e} > {PREFIX_RTOL:g}): the record does not come from this code and configuration; "
            f"re-make it with `python -m lenet record {record.run}`"
        )
    return Comparison(record.name, n, len(done), exact, exact or close, max(rel), message)


__all__ = [
    "PREFIX_STEPS",
    "PREFIX_RTOL",
    "ARITHMETIC_KEYS",
    "rounds_as_recorded",
    "RUNTIME_KEYS",
    "make_record",
    "record_run",
    "record_book_run",
    "replay",
    "Comparison",
    "compare",
]
