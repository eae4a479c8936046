"""Where a training step's time goes on a CUDA GPU: the graph's own work against what runs around it.

    python benchmarks/gpu_profile.py --out gpu-profile.json        (on a machine with a CUDA GPU)

For the fast recipe and the 1998 network (Adam and SDLM, batch 32), with what
``lenet.recipes.gpu_settings`` adds (no ``torch.compile``), this times, per step, in microseconds:

* ``replay_us`` -- replaying the recorded step alone, back to back (the GPU's work, plus one launch);
* ``loop_us`` -- a step as :func:`lenet.train.fit` runs it: the next batch from the loader, the
  replay, the learning-rate schedule;
* ``loader_us`` -- the loader alone (indexing and preparing a batch);
* ``schedule_us`` -- the schedule's step alone (Python, and a fill of Adam's tensor learning rate);

and counts the CUDA kernels of one eager step (``kernels``). When ``loop_us`` is close to
``replay_us`` the GPU is the bound; when it is well above, the Python around the replay is.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lenet.data import load_mnist
from lenet.recipes import classic_config, fast_config, gpu_settings, sdlm_config
from lenet.step import TrainStep
from lenet.train import build_model, configure_optimizer, make_loaders

STEPS = 300


def _per_step_us(fn, n: int = STEPS) -> float:
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return 1e6 * (time.perf_counter() - t0) / n


def profile_recipe(config, data, device: torch.device) -> dict:
    settings = gpu_settings(device, config)
    loader, _ = make_loaders(config, data[0], None, device, drop_last=settings["cuda_graph"])
    model = build_model(config, device)
    optimizer, schedule = configure_optimizer(model, config, len(loader), graph=settings["cuda_graph"])
    if hasattr(optimizer, "begin_pass"):
        optimizer.begin_pass(loader, 0)
    batches = iter(loader)

    def next_batch():
        nonlocal batches
        try:
            return next(batches)
        except StopIteration:
            batches = iter(loader)
            return next(batches)

    eager = TrainStep(model, optimizer, graph=False, amp=settings["amp"], channels_last=config.channels_last)
    x, y = next_batch()
    eager(x, y)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        eager(x, y)
        torch.cuda.synchronize()
    kernels = sum(1 for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)

    step = TrainStep(
        model, optimizer, graph=settings["cuda_graph"], amp=settings["amp"], channels_last=config.channels_last
    )
    for _ in range(5):  # warm-up, then the recording
        step(*next_batch())
    out = {
        "batch_size": config.batch_size,
        "optimizer": config.optimizer,
        "graph": step.graph is not None,
        "kernels": kernels,
    }
    if step.graph is not None:
        out["replay_us"] = _per_step_us(step.graph.replay)

    def loop():
        step(*next_batch())
        if schedule is not None:
            schedule.step()

    out["loop_us"] = _per_step_us(loop)
    out["loader_us"] = _per_step_us(next_batch)
    if schedule is not None:
        out["schedule_us"] = _per_step_us(schedule.step)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_profile.py needs a CUDA GPU")
        return 2
    device = torch.device("cuda")
    data = (load_mnist("train"), load_mnist("test"))
    results: Dict[str, Any] = {"device": torch.cuda.get_device_name(device), "torch": torch.__version__, "recipes": {}}
    for name, config in (("fast", fast_config()), ("classic-adam", classic_config()), ("classic-sdlm", sdlm_config())):
        try:
            r = results["recipes"][name] = profile_recipe(config, data, device)
        except Exception as exc:  # keep going: the other recipes' numbers still count
            results["recipes"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"{name}: FAILED {type(exc).__name__}: {exc}", flush=True)
            continue
        print(
            f"{name:<13} batch {r['batch_size']:>3}: {r['kernels']} kernels an eager step; per step: replay "
            f"{r.get('replay_us', float('nan')):.0f} us, in the loop {r['loop_us']:.0f} us, "
            f"loader {r['loader_us']:.0f} us, schedule {r.get('schedule_us', 0):.0f} us",
            flush=True,
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
