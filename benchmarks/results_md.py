"""Write ``benchmarks/RESULTS.md`` from the stored benchmark runs and run records.

    python benchmarks/results_md.py            # rewrite RESULTS.md
    python benchmarks/results_md.py --check    # exit 1 if RESULTS.md is not what the files give

Every number in RESULTS.md comes from a file in ``benchmarks/results/`` or ``results/``, through
the functions of ``time_to_accuracy.py`` (the tables and verdicts it prints), ``step_variants.py``
and ``lenet.records``; the prose around them says what was run. ``tests/test_benchmarks.py`` runs
``--check``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from lenet.records import load_records, summarize  # noqa: E402

RESULTS = HERE / "results"
OUT = HERE / "RESULTS.md"
CPU_RUN = "cpu-2core"  # the current CPU run of time_to_accuracy.py
CPU_RUN_BEFORE = "cpu-2core-2026-12-01"  # the run before it (the 2-epoch recipe), with ...
CPU_RUN_MALLOC = "cpu-2core-default-malloc"  # ... the same run with glibc's default malloc settings
GPU_RUN = "gpu-h200"  # the current GPU run (benchmarks/gpu_check.sh)
GPU_PROFILE = "gpu-runs/h200-2026-12-04-7140012/gpu-profile.json"
GPU_RUN_EARLIER = "gpu-runs/h200-2026-12-04-0f10d7c/benchmark-gpu-h200.json"
FIRST_SELECTION = "recipe-selection-cpu-2026-12-04"  # the selection rule's first run, archived


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", HERE / f"{name}.py")
    if spec is None or spec.loader is None:  # not a Python source file
        raise ImportError(f"cannot import {HERE / f'{name}.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _json(name: str) -> Dict[str, Any]:
    path = RESULTS / (name if name.endswith(".json") else f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def recipe_table(selection: Dict[str, Any]) -> str:
    """The candidates of ``benchmarks/choose_fast_recipe.py``'s stored run, the chosen one marked; a
    candidate stopped at its first seed under the target shows how many seeds it ran."""
    chosen = selection["chosen"]
    rows = [
        "| epochs | batch | peak lr | Adam betas | seeds run | validation acc (mean) | worst seed |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for c in selection["candidates"]:
        mark = " **(chosen)**" if c == chosen else ""
        stopped = "" if c.get("complete", True) else " (under the target: stopped)"
        rows.append(
            f"| {c['epochs']} | {c['batch_size']} | {c['lr']:g} | ({c['betas'][0]:g}, {c['betas'][1]:g}) "
            f"| {len(c['val_acc'])} | {c['mean_val_acc']:.2f}%{mark} | {c['min_val_acc']:.2f}%{stopped} |"
        )
    return "\n".join(rows)


def first_selection_lines(first: Dict[str, Any]) -> List[str]:
    """The rule's first run, archived with the test records of the recipe it chose."""
    c = first["chosen"]
    tests = first["test_runs_of_chosen"]
    accs = tests["test_acc"]
    worst = min(accs, key=accs.get)
    reached = sum(a >= 0.99 for a in accs.values())
    return [
        f"The rule's first run ({first['seeds']} seeds, target {first['target']:g}%, {first['date']}; "
        f"[`results/{FIRST_SELECTION}.json`](results/{FIRST_SELECTION}.json))",
        f"chose {c['epochs']} epochs of batch {c['batch_size']}, whose worst validation seed was "
        f"{c['min_val_acc']:.2f}%. Its {len(accs)} test records",
        f"({tests['hardware']}) then reached 99% in {reached} of {len(accs)} seeds: seed {worst} reached "
        f"{100 * accs[worst]:.2f}%. So the rule now looks at as many seeds as the book",
        "records, and asks more of the worst one (the script's docstring gives the numbers behind the target).",
    ]


def gpu_recipe_lines(
    gpu: Dict[str, Any], earlier: Dict[str, Any], chosen: Dict[str, Any], median_s: float, runs: int
) -> List[str]:
    """What the GPU run's fast recipe was, against the book's recipe now."""
    ran = gpu["fast"]["config"]
    before = earlier["fast"]["config"]["epochs"]
    same = (ran["epochs"], ran["batch_size"], ran["lr"]) == (chosen["epochs"], chosen["batch_size"], chosen["lr"])
    lines = [
        f"This run trained the fast recipe in {ran['epochs']} epochs of batch {ran['batch_size']} (the earlier "
        f"run below trained {before}); on the H200",
        f"its median training was {median_s:.2f} s, and every one of the {runs} runs above reached 99%.",
    ]
    if not same:
        lines += [
            f"The book's recipe has since become {chosen['epochs']} epochs of batch {chosen['batch_size']} "
            f"(peak learning rate {chosen['lr']:g}), chosen again on the",
            "validation split (below); the next run of `benchmarks/gpu_check.sh` times it on a GPU.",
        ]
    return lines


def profile_table(profile: Dict[str, Any]) -> str:
    """``benchmarks/gpu_profile.py``'s run: per step, the graph's replay against the loop around it."""
    rows = [
        f"{profile['device']}, torch {profile['torch']}:",
        "",
        "| recipe | batch | kernels (eager step) | replay alone | step in the loop | loader | schedule |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in profile["recipes"].items():
        if "error" in r:
            rows.append(f"| {name} | failed: {r['error'][:60]} | | | | | |")
            continue
        rows.append(
            f"| {name} | {r['batch_size']} | {r['kernels']} | {r.get('replay_us', float('nan')):.0f} us "
            f"| {r['loop_us']:.0f} us | {r['loader_us']:.0f} us | {r.get('schedule_us', 0):.0f} us |"
        )
    return "\n".join(rows)


def gpu_records_table() -> str:
    """Each run recorded on a GPU against the same run's CPU records (seed 0 of each): training
    time, and test error."""
    every = load_records(ROOT / "results")
    gpu = sorted((r for r in every if r.on_gpu), key=lambda r: r.run)
    rows = [
        "| run | GPU settings | epochs (GPU / CPU) | GPU: training | GPU: test error | CPU: training (seed 0) "
        "| CPU: test error, mean of seeds | speed-up per epoch |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for g in gpu:
        cpu = [r for r in every if r.run == g.run and not r.on_gpu]
        settings = ", ".join(k for k, v in g.runtime.items() if v) or "none"
        if not cpu:
            continue
        c0 = next((r for r in cpu if r.seed == g.seed), cpu[0])
        s = summarize(cpu)
        speedup = (c0.train_s / c0.epochs) / (g.train_s / g.epochs)  # per epoch: the two may differ in length
        rows.append(
            f"| {g.run} | {settings} | {g.epochs} / {c0.epochs} | {g.train_s:.1f} s | {100 * g.test_error:.2f}% "
            f"| {c0.train_s:.1f} s | {100 * s['mean_error']:.2f}% ({s['n']} seeds) | {speedup:.1f}x |"
        )
    machine = gpu[0].machine if gpu else {}
    cpus: Dict[str, List[str]] = {}
    for g in gpu:
        cpu0 = next((r for r in every if r.run == g.run and not r.on_gpu), None)
        if cpu0 is not None:
            cpus.setdefault(cpu0.hardware, []).append(g.run)
    head = (
        f"{machine.get('hardware', '?')}, torch {machine.get('torch', '?')}; CPU records: "
        + "; ".join(f"{hw} ({', '.join(runs)})" for hw, runs in cpus.items())
        + ":"
    )
    return head + "\n\n" + "\n".join(rows)


def classic_lines() -> List[str]:
    bench = _script("time_to_accuracy")
    lines = []
    for run in ("classic-1998", "classic-sdlm", "classic-sdlm-distorted"):
        runs = [r for r in load_records(ROOT / "results", run=run) if not r.on_gpu]
        if runs:
            lines.append(f"- `{run}`: " + bench.classic_full_summary(runs))
    return lines


def render() -> str:
    bench = _script("time_to_accuracy")
    steps = _script("step_variants")
    cpu = bench.load(RESULTS / f"{CPU_RUN}.json")
    gpu = bench.load(RESULTS / f"{GPU_RUN}.json")
    earlier = bench.load(RESULTS / GPU_RUN_EARLIER)
    before, malloc = _json(CPU_RUN_BEFORE), _json(CPU_RUN_MALLOC)
    selection = _json("recipe-selection-cpu")
    chosen = selection["chosen"]
    gpu_fast = statistics.median(r["train_s"] for r in gpu["fast"]["per_seed"])
    parts = [
        "# Time to 99% on MNIST: measured results",
        "",
        "Written by `python benchmarks/results_md.py` from the stored runs; `tests/test_benchmarks.py` checks that",
        "this file is what they give. The CPU run was made with",
        "",
        "    python benchmarks/time_to_accuracy.py --seeds 10 --process-seeds 10 --source-runs 2 --ablation \\",
        f"        --out benchmarks/results/{CPU_RUN}.json",
        "",
        "and the GPU run by `bash benchmarks/gpu_check.sh` (its logs, with the profile and the earlier GPU run, are",
        "in [`results/gpu-runs/`](results/gpu-runs/)). Each table's first line names the machine. The book's",
        "appendix on speed (`notebooks/09_speed.ipynb`) shows the same runs.",
        "",
        "## 2 CPU cores",
        "",
        bench.markdown_table(cpu),
        "",
        "The targets, checked by the script on this run:",
        "",
        bench.verdict(cpu),
        "",
        "What the rows are:",
        "- (a) and (b) are whole processes, started by the benchmark one after the other and timed from outside:",
        "  the interpreter, the imports, the data, training, evaluation, saving. (a) is `benchmarks/source_script.py`,",
        "  the tutorial's code unchanged, reading the same MNIST files through torchvision (no download).",
        "- (b)'s parts come from the JSON line of `python -m lenet train`: start-up is the wall time before the",
        "  command begins (the interpreter and the imports: a process of its own times `import torch`, and",
        "  another `import lenet.cli` after it); then reading the data; building the optimiser, its schedule",
        "  and the training step",
        "  (PyTorch's optimisers import its compiler, `torch._dynamo`, the first time one is built: the source",
        "  script pays it too); training; reading the test set; saving the checkpoint and the run record; the",
        "  rest. The fixed cost the verdict checks is everything but `import torch`, the optimiser's set-up and",
        "  the training: what the package itself adds to a run.",
        "- (b') trains in the benchmark's own process with the data already in memory: training time only. The",
        "  ablation and evaluation rows are seed 0 of (b'), one change at a time.",
        "- (c) is the 1998 network's first pass with Adam and with SDLM, the paper's schedule; the full 20",
        "  passes are the run records below.",
        "",
        "## One NVIDIA H200",
        "",
        bench.markdown_table(gpu),
        "",
        bench.verdict(gpu),
        "",
        *gpu_recipe_lines(gpu, earlier, chosen, gpu_fast, len(bench._per_seed_accuracies(gpu))),
        "",
        "Where a training step's time goes there (`benchmarks/gpu_profile.py`, per step, microseconds: the recorded",
        "step replayed alone, back to back; a step as `lenet.train.fit` runs it, with the next batch and the",
        "schedule around it; the loader and the schedule alone):",
        "",
        profile_table(_json(GPU_PROFILE)),
        "",
        "The step in the loop takes about as long as its replay alone: the GPU, not Python, is the bound, and",
        "its time is the number of kernels the step launches (over a hundred, each a few microseconds) more than",
        "their arithmetic. Fewer kernels is the way on: the fused Adam of the CUDA-graph path (one kernel for the",
        "update, where the multi-tensor one launched dozens; in the code since this run), `torch.compile`.",
        "",
        "The book's runs recorded on the GPU (`python -m lenet record --device cuda`, one seed each), against the",
        "same runs' CPU records:",
        "",
        gpu_records_table(),
        "",
        "## The earlier H200 run (commit 0f10d7c)",
        "",
        "Before the CUDA graphs of the 1998 network and SDLM, with the 2-epoch fast recipe "
        "([`results/gpu-runs/h200-2026-12-04-0f10d7c/`](results/gpu-runs/h200-2026-12-04-0f10d7c/)):",
        "",
        bench.markdown_table(earlier),
        "",
        "## The memory allocator",
        "",
        "glibc's `malloc` gives large freed blocks back to the system and page-faults them in again at the next",
        "step; `lenet.cli.retain_freed_memory`, which `python -m lenet train` and `record` call, keeps them. Two",
        "runs of this benchmark with the 2-epoch recipe, without and with it: "
        + bench.allocator_comparison(malloc, before)
        + ".",
        "",
        "## The 1998 LeNet-5, full schedule, on the CPU",
        "",
        "`python -m lenet record` (the run records, with the test error after every pass, are",
        "[`results/`](../results/); chapter 6 shows them):",
        "",
        *classic_lines(),
        "",
        "## How the fast recipe was chosen (validation split, not the test set)",
        "",
        "`python benchmarks/choose_fast_recipe.py --jobs 2 --log benchmarks/results/recipe-selection-runs.jsonl \\",
        "--out benchmarks/results/recipe-selection-cpu.json` trains each candidate on the first 50,000 training",
        f"images and scores it on the last 10,000, for {selection['seeds']} seeds. The rule (fixed before the test "
        "runs): of the",
        f"candidates whose worst seed reaches {selection['target']:g}% on validation, the cheapest (fewest epochs, "
        "then the largest",
        "batch). A candidate stops at its first seed under the target, which rejects it. Raw numbers:",
        "[`results/recipe-selection-cpu.json`](results/recipe-selection-cpu.json), and every run in",
        "[`results/recipe-selection-runs.jsonl`](results/recipe-selection-runs.jsonl).",
        "",
        *first_selection_lines(_json(FIRST_SELECTION)),
        "",
        recipe_table(selection),
        "",
        "## What was tried for a faster step on this CPU",
        "",
        "`python benchmarks/step_variants.py --out benchmarks/results/step-variants-cpu.json` (random data, best of",
        "3 rounds of 20 steps, batch 256):",
        "",
        steps.markdown_table(_json("step-variants-cpu")),
        "",
        "- Kept: channels-last tensors; max-pooling before the ReLU (the same function, bit for bit, checked by",
        "  `tests/test_models.py`); data resident as uint8; evaluation only at the end, in `inference_mode`.",
        "- Not kept: `torch.compile` on the CPU (the ablation: slower per run, and the first run pays for",
        "  compiling); Adam's `fused` implementation on the CPU (within the noise of this machine); bf16 autocast",
        "  (the run records replay in float32 on every machine, so a bf16 recipe needs records of its own).",
        "",
    ]
    return "\n".join(parts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="compare with RESULTS.md instead of writing it")
    args = p.parse_args(argv)
    text = render()
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print("benchmarks/RESULTS.md is not what the stored runs give: run `python benchmarks/results_md.py`")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
