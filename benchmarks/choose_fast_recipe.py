"""How the fast recipe (``lenet.recipes.fast_config``) was chosen: on a validation split, never the test set.

    python benchmarks/choose_fast_recipe.py --out benchmarks/results/recipe-selection-cpu.json

Every candidate trains the modern LeNet-5 on the first 50,000 training images and is scored on
the last 10,000 (the validation split), for ``--seeds`` seeds. The rule (:func:`choose`), fixed
before any test accuracy was looked at: among the candidates whose mean validation accuracy is
at least ``--target`` and whose worst seed is within 0.1 point of it, take those with the fewest
epochs, and of these the most accurate. (Candidates with the same epochs and batch size cost
the same; their measured times differ only by noise.)

The default target, 98.8%, is 99.0% less the gap between validation and test accuracy measured
for the book's previous recipe (4 epochs at batch 256, one-cycle to 0.004): 98.77% on this
validation split against 99.11% on the test set (5 seeds). A model trained on 50,000 images and
scored on these 10,000 lands lower than one trained on all 60,000 and scored on the test set.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lenet.data import load_mnist, validation_split  # noqa: E402
from lenet.train import TrainConfig, train  # noqa: E402

#: Candidates: (epochs, batch size, peak learning rate, Adam betas). The betas (0.7, 0.9) are
#: those of tuomaso/train_mnist_fast; the defaults are (0.9, 0.999).
CANDIDATES = [
    (1, 128, 1e-2, (0.7, 0.9)),
    (1, 64, 5e-3, (0.7, 0.9)),
    (2, 512, 2e-2, (0.7, 0.9)),
    (2, 256, 4e-3, (0.9, 0.999)),
    (2, 256, 1e-2, (0.7, 0.9)),
    (2, 256, 2e-2, (0.7, 0.9)),
    (3, 512, 1.5e-2, (0.7, 0.9)),
    (4, 256, 4e-3, (0.9, 0.999)),
]


def choose(rows: list, target: float) -> dict | None:
    """The selection rule: fewest epochs among the candidates that reach ``target``, then the most accurate."""
    ok = [r for r in rows if r["mean_val_acc"] >= target and r["min_val_acc"] >= target - 0.1]
    return min(ok, key=lambda r: (r["epochs"], -r["mean_val_acc"])) if ok else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--target", type=float, default=98.8, help="mean validation accuracy to reach, in percent")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)

    fit_split, val_split = validation_split(load_mnist("train"))
    rows = []
    for epochs, batch, lr, betas in CANDIDATES:
        accs, times = [], []
        for seed in range(args.seeds):
            cfg = TrainConfig(model="modern", epochs=epochs, batch_size=batch, optimizer="adam", lr=lr, betas=betas,
                              schedule="onecycle", normalization="meanstd", channels_last=True, eval_every=epochs,
                              seed=seed, device=args.device, progress=False)
            _, hist = train(cfg, data=(fit_split, val_split))
            accs.append(100 * hist.test_acc)
            times.append(hist.wall_s)
        row = {"epochs": epochs, "batch_size": batch, "lr": lr, "betas": list(betas), "val_acc": accs,
               "mean_val_acc": statistics.mean(accs), "min_val_acc": min(accs), "mean_s": statistics.mean(times)}
        rows.append(row)
        print(f"{epochs} epoch(s), batch {batch:>3}, lr {lr:<6g} betas {betas}: validation {row['mean_val_acc']:.2f}% "
              f"(worst {row['min_val_acc']:.2f}%), {row['mean_s']:.1f} s", flush=True)
    chosen = choose(rows, args.target)
    if chosen:
        print(f"chosen: {chosen['epochs']} epoch(s), batch {chosen['batch_size']}, lr {chosen['lr']:g}, betas {tuple(chosen['betas'])}")
    else:
        print(f"no candidate reaches {args.target}% on validation")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"target": args.target, "seeds": args.seeds, "date": time.strftime("%Y-%m-%d"),
                                        "candidates": rows, "chosen": chosen}, indent=2))
        print(f"wrote {args.out}")
    return 0 if chosen else 1


if __name__ == "__main__":
    raise SystemExit(main())
