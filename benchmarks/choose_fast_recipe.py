"""How the fast recipe (``lenet.recipes.fast_config``) was chosen: on a validation split, never the test set.

    python benchmarks/choose_fast_recipe.py --out benchmarks/results/recipe-selection-cpu.json

Every candidate trains the modern LeNet-5 on the first 50,000 training images and is scored on
the last 10,000 (the validation split), for ``--seeds`` seeds. The rule (:func:`choose`), fixed
before any test accuracy was looked at: among the candidates whose *worst* seed reaches
``--target`` on validation, the cheapest: the fewest passes over the data, then the fewest steps
(a larger batch). Cost is counted, not timed, so that a busy machine cannot change the choice;
the measured times are stored beside it.

The target asks for a margin. A model trained on 50,000 images and scored on these 10,000 lands
lower than one trained on all 60,000 and scored on the test set: for the book's earlier 2-epoch
recipe (batch 256, one-cycle to 0.01) the gap was 0.21 points (98.86% mean on this split, 99.07%
mean on the test set over 10 seeds), and its worst test seed was exactly 99.00%, with two of five
other seeds below 99% on a GPU. Every seed at 99.0% on the test set needs every seed clearly above
99.0% less that gap on validation: the default target is 98.9%.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from lenet.data import load_mnist, validation_split
from lenet.recipes import fast_config
from lenet.train import Runtime, train

#: Candidates: (epochs, batch size, peak learning rate, Adam betas). The betas (0.7, 0.9) are
#: those of tuomaso/train_mnist_fast; the defaults are (0.9, 0.999).
CANDIDATES = [
    (2, 256, 1e-2, (0.7, 0.9)),  # the book's earlier recipe: every seed at 99.0% with no margin
    (2, 128, 1e-2, (0.7, 0.9)),
    (3, 512, 1e-2, (0.7, 0.9)),
    (3, 512, 1.5e-2, (0.7, 0.9)),
    (3, 512, 2e-2, (0.7, 0.9)),
    (3, 384, 1e-2, (0.7, 0.9)),
    (3, 384, 1.5e-2, (0.7, 0.9)),
    (3, 256, 1e-2, (0.7, 0.9)),
    (3, 256, 1.5e-2, (0.7, 0.9)),
    (4, 512, 2e-2, (0.7, 0.9)),
    (4, 256, 1e-2, (0.7, 0.9)),
]


def choose(rows: list, target: float) -> dict | None:
    """The selection rule: of the candidates whose worst seed reaches ``target``, the cheapest (fewest
    epochs, then fewest steps)."""
    ok = [r for r in rows if r["min_val_acc"] >= target]
    return min(ok, key=lambda r: (r["epochs"], -r["batch_size"])) if ok else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--target", type=float, default=98.9, help="validation accuracy every seed must reach, in percent")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (one: candidates timed alike)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    fit_split, val_split = validation_split(load_mnist("train"))
    rows = []
    for epochs, batch, lr, betas in CANDIDATES:
        accs, times = [], []
        for seed in range(args.seeds):
            cfg = fast_config(epochs=epochs, batch_size=batch, lr=lr, betas=betas, eval_every=epochs, seed=seed)
            _, hist = train(cfg, Runtime(device=args.device, progress=False), data=(fit_split, val_split))
            if hist.test_acc is None:  # never: train() evaluates the last pass
                raise RuntimeError(f"{cfg} was never evaluated on the validation split")
            accs.append(100 * hist.test_acc)
            times.append(hist.train_s)
        row = {
            "epochs": epochs,
            "batch_size": batch,
            "lr": lr,
            "betas": list(betas),
            "val_acc": accs,
            "mean_val_acc": statistics.mean(accs),
            "min_val_acc": min(accs),
            "mean_s": statistics.mean(times),
        }
        rows.append(row)
        print(
            f"{epochs} epoch(s), batch {batch:>3}, lr {lr:<6g} betas {betas}: validation {row['mean_val_acc']:.2f}% "
            f"(worst {row['min_val_acc']:.2f}%), {row['mean_s']:.1f} s",
            flush=True,
        )
    chosen = choose(rows, args.target)
    if chosen:
        print(
            f"chosen: {chosen['epochs']} epoch(s), batch {chosen['batch_size']}, lr {chosen['lr']:g}, "
            f"betas {tuple(chosen['betas'])}"
        )
    else:
        print(f"no candidate reaches {args.target}% on validation")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "target": args.target,
                    "seeds": args.seeds,
                    "threads": args.threads,
                    "date": time.strftime("%Y-%m-%d"),
                    "candidates": rows,
                    "chosen": chosen,
                },
                indent=2,
            )
        )
        print(f"wrote {args.out}")
    return 0 if chosen else 1


if __name__ == "__main__":
    raise SystemExit(main())
