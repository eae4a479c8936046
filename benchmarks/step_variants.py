"""Time one training step of the modern LeNet-5 in several variants (random data, no accuracy).

    python benchmarks/step_variants.py --out benchmarks/results/step-variants-cpu.json

Each variant runs the same forward, cross-entropy, backward and Adam update on a batch of 256;
the variants take turns for ``--rounds`` rounds and the best round counts, which filters out
the noise of a shared machine. Variants: the tutorial's order ``pool(relu(conv))`` against
``relu(pool(conv))`` (the same function, see ``LeNet5Modern``), contiguous against channels-last
tensors, Adam's ``foreach`` against its ``fused`` implementation, float32 against bf16 autocast
(on a CPU with AMX; elsewhere that variant runs in float32).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lenet.cli import retain_freed_memory
from lenet.machine import machine_info
from lenet.models import LeNet5Modern
from lenet.step import autocast

VARIANTS = {  # name: (forward, channels_last, fused Adam, bf16 autocast)
    "tutorial order, contiguous": ("as_written", False, False, False),
    "tutorial order, channels-last": ("as_written", True, False, False),
    "pool before ReLU, contiguous": ("forward", False, False, False),
    "pool before ReLU, channels-last (the recipe)": ("forward", True, False, False),
    "pool before ReLU, channels-last, fused Adam": ("forward", True, True, False),
    "pool before ReLU, channels-last, bf16 autocast (AMX; float32 without it)": ("forward", True, False, True),
}


def markdown_table(results: dict) -> str:
    """The recorded run as the table of ``benchmarks/RESULTS.md`` (a test checks that it is there)."""
    timed = results["ms_per_step"]
    baseline = timed["tutorial order, contiguous"]
    rows = [
        f"{results['device']}, torch {results['torch']}, {results['date']}:",
        "",
        f"| variant (batch {results['batch_size']}) | ms per step | speed-up |",
        "| --- | ---: | ---: |",
    ]
    rows += [f"| {name} | {ms:.1f} | {baseline / ms:.2f}x |" for name, ms in timed.items()]
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=20, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)

    retain_freed_memory()  # as `python -m lenet train` does: no page faults from memory given back
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch_size, 1, 28, 28, generator=gen)
    y = torch.randint(0, 10, (args.batch_size,), generator=gen)
    setups = {}
    for name, (fwd, cl, fused, amp) in VARIANTS.items():
        torch.manual_seed(0)
        model = LeNet5Modern()
        if cl:
            model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
        xx = x.contiguous(memory_format=torch.channels_last) if cl else x
        forward = model.forward if fwd == "forward" else model.forward_as_written
        setups[name] = (forward, opt, xx, amp)
    best = {name: float("inf") for name in VARIANTS}
    for _ in range(args.rounds):
        for name, (forward, opt, xx, amp) in setups.items():
            for i in range(args.steps + 3):
                if i == 3:
                    t0 = time.perf_counter()
                with autocast(torch.device("cpu"), amp):
                    out = forward(xx)
                loss = F.cross_entropy(out.float(), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            best[name] = min(best[name], (time.perf_counter() - t0) / args.steps)
    machine = machine_info("cpu")
    device = f"CPU ({machine['hardware']}, {machine['cpu_capability']}, {torch.get_num_threads()} threads)"
    print(f"{device}, torch {torch.__version__}, batch {args.batch_size}")
    baseline = best["tutorial order, contiguous"]
    for name, s in best.items():
        print(f"{name:<72}{1000 * s:8.2f} ms/step  {baseline / s:5.2f}x")
    results = {
        "device": device,
        "torch": torch.__version__,
        "batch_size": args.batch_size,
        "date": time.strftime("%Y-%m-%d"),
        "ms_per_step": {k: 1000 * v for k, v in best.items()},
    }
    print()
    print(markdown_table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
