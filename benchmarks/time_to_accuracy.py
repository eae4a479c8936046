"""Time to 99% on MNIST: the source tutorial's script against lenet's fast path, and the 1998
network's full schedule, on one machine.

    python benchmarks/time_to_accuracy.py                  # CPU or GPU, whatever is there
    python benchmarks/time_to_accuracy.py --seeds 10 --process-seeds 10 --source-runs 2 --ablation \\
        --out benchmarks/results/cpu-2core.json

(a) The source text's script as it is (``benchmarks/source_script.py``: torchvision ``MNIST``
    with ``ToTensor``, a ``DataLoader`` with batch 64 and shuffling, Adam (lr 1e-3), 10 epochs, a
    print every 100 steps), run as a whole process: start, imports, data, training, testing.
(b) ``python -m lenet train --fast`` as a whole process, one per seed, and where its time goes:
    start-up (the interpreter and the imports), the data (a ready tensor file after the first
    read), building the optimiser, training with the fast recipe (``lenet.recipes.fast_config``;
    on a GPU with what ``lenet.recipes.gpu_settings`` adds), evaluation, saving the checkpoint and
    the run record. The CLI's JSON line gives the parts; start-up is the rest of the wall time.
    More processes split the start-up into PyTorch's and the package's: ``python -c "import torch"``
    timed whole, and ``import lenet.cli`` timed inside a process after its ``import torch``.
(b') The same recipe trained in this process, training time only (forward, backward and update),
    with the data already on the device; on a GPU also ``torch.compile``, paid once by a warm-up
    run that is reported apart.
(c) The 1998 network with the paper's schedule, trained with Adam and with SDLM
    (``lenet.recipes.classic_config``, ``sdlm_config``): all 20 passes on a GPU (as CUDA graphs,
    ``gpu_settings``; ``--records DIR`` keeps them as run records too), the first pass on a CPU.

The test set is used only to report accuracies. ``--ablation`` times the speed-ups one at a time
(seed 0, same recipe); the evaluation of the test set is timed at several batch sizes. Results
files of the first format (before the parts of (b) were split further) are read by
:func:`upgrade`.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lenet.cli import retain_freed_memory  # noqa: E402
from lenet.data import fetch_mnist, load_mnist  # noqa: E402
from lenet.machine import machine_info, resolve_device  # noqa: E402
from lenet.recipes import book_run, fast_config, gpu_settings  # noqa: E402
from lenet.recording import record_book_run  # noqa: E402
from lenet.records import load_records, summarize  # noqa: E402
from lenet.speed import PROCESS_PARTS, process_parts  # noqa: E402
from lenet.train import Runtime, eval_loader, evaluate, train  # noqa: E402

SOURCE_SCRIPT = Path(__file__).with_name("source_script.py")
#: The batch sizes at which the evaluation of the test set is timed.
EVAL_BATCH_SIZES = (250, 500, 1000, 2000, 10_000)
#: The format of the results file; :func:`upgrade` reads the first one.
FORMAT = "lenet-benchmark/2"
#: Targets on a GPU (an H200): the fast recipe's training, and the 1998 network's 20 passes.
GPU_FAST_TARGET_S = 0.25
GPU_CLASSIC_TARGET_S = {"adam": 15.0, "sdlm": 20.0}
#: Target on a CPU: the fixed cost of a process beyond PyTorch's own (its import, and the
#: compiler stack that building any ``torch.optim`` optimiser imports) and the training.
CPU_FIXED_TARGET_S = 0.75


def source_model_class() -> type:
    """The source script's ``LeNet5`` class, read from ``source_script.py`` without running the script."""
    tree = ast.parse(SOURCE_SCRIPT.read_text())
    keep: List[ast.stmt] = [
        n
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom)) or (isinstance(n, ast.ClassDef) and n.name == "LeNet5")
    ]
    namespace: Dict[str, Any] = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(SOURCE_SCRIPT), "exec"), namespace)
    return namespace["LeNet5"]


# ----------------------------------------------------------------------------- whole processes


def _process(cmd: list, cwd: Path) -> tuple:
    """(wall seconds, stdout) of one process, started and waited for here."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} failed with exit status {proc.returncode}:\n{proc.stderr[-3000:]}"
        )
    return wall, proc.stdout


def import_times(repeats: int = 5) -> Dict[str, float]:
    """Median wall seconds of ``python -c "import torch"`` (the start-up under any PyTorch program),
    and of that start-up plus ``import lenet.cli`` (what ``python -m lenet`` imports before it starts).

    The package's own share is timed inside each process, after ``import torch``: the difference of
    two processes' times would carry the noise of both, which is larger than the share itself.
    """
    probe = (
        "import time; t0 = time.perf_counter(); import torch; t1 = time.perf_counter(); import lenet.cli; "
        "print(time.perf_counter() - t1)"
    )
    torch_s, lenet_s = [], []
    for _ in range(repeats):
        torch_s.append(_process([sys.executable, "-c", "import torch"], ROOT)[0])
        lenet_s.append(float(_process([sys.executable, "-c", probe], ROOT)[1].split()[-1]))
    return {
        "import_torch_s": statistics.median(torch_s),
        "import_lenet_s": statistics.median(torch_s) + statistics.median(lenet_s),
    }


def run_source_process(root: Path, workdir: Path) -> dict:
    """(a): ``python source_script.py`` in a folder whose ``./data`` is lenet's MNIST cache ``root``."""
    link = workdir / "data"
    if not link.exists():
        link.symlink_to(root, target_is_directory=True)
    wall, out = _process([sys.executable, str(SOURCE_SCRIPT)], workdir)
    found = re.search(r"Accuracy of the model on the 10000 test images: ([0-9.]+) %", out)
    if not found:
        raise RuntimeError(f"the source script printed no test accuracy:\n{out[-2000:]}")
    return {"process_s": wall, "test_acc": float(found.group(1)) / 100}


def run_fast_process(seed: int, device: torch.device, workdir: Path) -> dict:
    """(b): ``python -m lenet train --fast --seed <seed>``, and where its time went (the parts of
    :data:`lenet.speed.PROCESS_PARTS`): ``startup_s`` is the wall time before the command starts
    (the interpreter and the imports), ``other_s`` what the command's own parts leave."""
    cmd = [
        sys.executable,
        "-m",
        "lenet",
        "train",
        "--fast",
        "--seed",
        str(seed),
        "--device",
        device.type,
        "--quiet",
        "--out",
        str(workdir / f"fast-s{seed}"),
    ]
    wall, out = _process(cmd, ROOT)
    res = json.loads(out.strip().splitlines()[-1])
    parts = {
        "startup_s": wall - res["command_s"],
        "data_s": res["data_s"],
        "setup_s": res["setup_s"],
        "train_s": res["train_s"],
        "eval_s": res["eval_s"] + res["final_eval_s"],
        "save_s": res["save_s"],
    }
    parts["other_s"] = wall - sum(parts.values())
    return {"seed": seed, "process_s": wall, "test_acc": res["test_acc"], **parts}


# ----------------------------------------------------------------------------- (b') and (c) in this process


def run_fast(data, device: torch.device, seed: int, runtime: Optional[dict] = None, **config: Any) -> dict:
    """(b'): the fast recipe (with ``config`` changes) on ``device`` with ``runtime`` settings
    (default: what :func:`lenet.recipes.gpu_settings` adds there, with ``torch.compile``)."""
    cfg = fast_config(seed=seed, **config)
    settings = gpu_settings(device, cfg, compile=True) if runtime is None else runtime
    model, hist = train(cfg, Runtime(device=str(device), progress=False, **settings), data=data)
    return {
        "seed": seed,
        "train_s": hist.train_s,
        "test_acc": hist.test_acc,
        "model": model,
        "config": cfg,
        "runtime": settings,
    }


def ablation_variants(device: torch.device) -> Dict[str, tuple]:
    """Speed-ups switched on one at a time, on top of the same recipe: (config changes, runtime)."""
    if device.type == "cuda":
        return {
            "float32, no graph, no compile": (dict(channels_last=False), {}),
            "+ channels-last": (dict(channels_last=True), {}),
            "+ CUDA graph (float32)": (dict(channels_last=True), dict(cuda_graph=True)),
            "+ bf16 autocast": (dict(channels_last=True), dict(cuda_graph=True, amp=True)),
            "+ torch.compile (all on)": (dict(channels_last=True), dict(cuda_graph=True, amp=True, compile=True)),
        }
    return {
        "contiguous tensors": (dict(channels_last=False), {}),
        "channels-last (the recipe)": (dict(channels_last=True), {}),
        "channels-last + torch.compile": (dict(channels_last=True), dict(compile=True)),
        "channels-last + bf16 autocast (AMX; float32 without it)": (dict(channels_last=True), dict(amp=True)),
    }


def time_evaluation(run: dict, data, device: torch.device, batch_sizes=EVAL_BATCH_SIZES, rounds: int = 7) -> dict:
    """Seconds for one pass over the 10,000 test images (inference_mode), by batch size: the best of
    ``rounds`` rounds, each of which times every batch size once, so that a slow spell of a shared
    machine falls on all of them alike, and the best time is the one least disturbed by it."""
    loaders = {b: eval_loader(run["config"].replace(eval_batch_size=b), data[1], device) for b in batch_sizes}
    times: Dict[int, List[float]] = {b: [] for b in batch_sizes}
    for _ in range(rounds):
        for batch_size, loader in loaders.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            evaluate(run["model"], loader, run["runtime"].get("amp", False))  # returns Python numbers: synchronised
            times[batch_size].append(time.perf_counter() - t0)
    return {str(b): min(t) for b, t in times.items()}


def run_classic(
    data, device: torch.device, optimizer: str, epochs: int, seed: int = 0, records_dir: Optional[Path] = None
) -> dict:
    """(c): the 1998 network with the paper's schedule and ``optimizer`` ('adam' or 'sdlm'), its
    first ``epochs`` passes (the schedule stays the full run's), with what a GPU adds. A full run
    with ``records_dir`` is recorded there too, as the book's run (``classic-1998`` or
    ``classic-sdlm``) on this device, so that one training serves both."""
    run = book_run("classic-sdlm" if optimizer == "sdlm" else "classic-1998")
    cfg = run.make(seed)
    settings = gpu_settings(device, cfg)
    runtime = Runtime(device=str(device), progress=False, **settings)
    if records_dir is not None and epochs == cfg.epochs:
        rec = record_book_run(run, seed, data, runtime, records_dir)
        train_s, test_acc = rec.train_s, rec.test_acc
    else:
        _, hist = train(cfg, runtime, data=data, stop_after=epochs)
        if hist.test_acc is None:  # never: train() evaluates the last pass
            raise RuntimeError(f"{run.name}: {epochs} pass(es) trained, none evaluated on the test set")
        train_s, test_acc = hist.train_s, hist.test_acc
    return {
        "optimizer": optimizer,
        "epochs": epochs,
        "train_s": train_s,
        "s_per_epoch": train_s / epochs,
        "test_acc": test_acc,
        "test_error": 1 - test_acc,
        **settings,
    }


def strip(run: dict) -> dict:
    """A run's numbers, without the model and config objects."""
    return {k: v for k, v in run.items() if k not in ("model", "config", "runtime")}


def seed_stats(runs: List[dict], key: str) -> dict:
    """Median, range of ``key`` (seconds) and the mean and worst test accuracy over ``runs``."""
    times = [r[key] for r in runs]
    accs = [r["test_acc"] for r in runs]
    return {
        "runs": len(runs),
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "mean_acc": statistics.mean(accs),
        "min_acc": min(accs),
    }


# ----------------------------------------------------------------------------- reading results, targets


def upgrade(results: dict) -> dict:
    """A results file of the first format (no ``format`` key) as the current one reads: a whole
    process's time was ``wall_s`` (now ``process_s``), the in-process training time ``wall_s``
    (now ``train_s``), the classic network one Adam run (now ``classic["adam"]``); its processes
    were split into start-up, data, training and one "other" part."""
    if results.get("format") == FORMAT:
        return results
    r = json.loads(json.dumps(results))
    process = r.get("process", {})
    for run in process.get("fast", {}).get("per_seed", []) + process.get("source", {}).get("per_run", []):
        run["process_s"] = run.pop("wall_s")
    for run in r["fast"]["per_seed"]:
        run["train_s"] = run.pop("wall_s")
    for a in r.get("ablation", {}).values():
        if "wall_s" in a:
            a["train_s"] = a.pop("wall_s")
    c = r.pop("classic")
    r["classic"] = {
        "adam": {
            "optimizer": "adam",
            "epochs": c["epochs"],
            "train_s": c["wall_s"],
            "s_per_epoch": c["s_per_epoch"],
            "test_acc": c["test_acc"],
            "test_error": 1 - c["test_acc"],
        }
    }
    if "import_torch_s" in process:
        process.setdefault("import_lenet_s", None)
    r["format"] = FORMAT
    r["targets"] = targets(r, torch.device(r["machine"]["device"]))
    return r


def load(path: Path) -> dict:
    """A results file of either format, as the current one reads."""
    return upgrade(json.loads(Path(path).read_text()))


def fixed_cost(results: dict) -> Optional[float]:
    """The median process's fixed cost beyond PyTorch's (its import and the compiler stack the
    optimiser imports) and the training: the package's imports, the data, evaluation, saving and
    the rest. None for a results file that did not split the process that finely."""
    p = results.get("process", {})
    if not p.get("import_lenet_s") or not p.get("fast"):
        return None
    parts = process_parts(results)
    return (p["import_lenet_s"] - p["import_torch_s"]) + sum(
        parts[k] for k in ("data_s", "eval_s", "save_s", "other_s")
    )


def _per_seed_accuracies(results: dict) -> list:
    runs = results["fast"]["per_seed"] + results.get("process", {}).get("fast", {}).get("per_seed", [])
    return [r["test_acc"] for r in runs]


def targets(results: dict, device: torch.device, classic_records: Optional[Dict[str, list]] = None) -> dict:
    """The targets, checked against this run. Everywhere: every seed of the fast recipe at 99.0% or
    more (in this process and as whole processes). On a GPU: the fast recipe's median training at
    most :data:`GPU_FAST_TARGET_S`, the 1998 network's 20 passes within :data:`GPU_CLASSIC_TARGET_S`
    and, given the CPU records of each (``classic_records``), at their error (within twice their
    seeds' standard deviation of their mean). On a CPU: the fixed cost of a process
    (:func:`fixed_cost`) at most :data:`CPU_FIXED_TARGET_S`."""
    out = {"every seed >= 99.0%": min(_per_seed_accuracies(results)) >= 0.99}
    if device.type == "cuda":
        out[f"fast recipe: median training <= {GPU_FAST_TARGET_S} s"] = results["fast"]["median_s"] <= GPU_FAST_TARGET_S
        for opt, limit in GPU_CLASSIC_TARGET_S.items():
            c = results["classic"].get(opt)
            if c is None or c["epochs"] < 20:
                continue
            out[f"1998 network, {opt}: 20 passes <= {limit:g} s"] = c["train_s"] <= limit
            if classic_records and classic_records.get(opt):
                s = summarize(classic_records[opt])
                out[f"1998 network, {opt}: error within 2 s.d. of the CPU records"] = (
                    abs(c["test_error"] - s["mean_error"]) <= 2 * s["sd_error"]
                )
    else:
        cost = fixed_cost(results)
        if cost is not None:
            out[f"fixed cost beyond PyTorch and training <= {CPU_FIXED_TARGET_S} s"] = cost <= CPU_FIXED_TARGET_S
    return out


# ----------------------------------------------------------------------------- reporting


def _row(label: str, s: dict, digits: int = 2) -> str:
    return (
        f"| {label} | {s['median_s']:.{digits}f} s | {s['min_s']:.{digits}f}–{s['max_s']:.{digits}f} s "
        f"| {100 * s['mean_acc']:.2f}% | {100 * s['min_acc']:.2f}% |"
    )


def markdown_table(results: dict) -> str:
    """A run as the Markdown table of ``benchmarks/RESULTS.md`` (a test checks that it is there)."""
    results = upgrade(results)
    f = results["fast"]
    cfg = f["config"]
    flags = ", ".join(k for k in ("amp", "compile", "cuda_graph") if cfg.get(k)) or "no GPU settings"
    recipe = (
        f"{cfg['epochs']} epochs, batch {cfg['batch_size']}, one-cycle to {cfg['lr']:g}, "
        f"Adam betas ({cfg['betas'][0]:g}, {cfg['betas'][1]:g})"
    )
    m = results.get("machine", {})
    rows = [
        f"{results['device']}, {m.get('cpu_capability', '?')} kernels, torch {results['torch']}, {results['date']}:",
        "",
        "| run | median time | spread | mean test acc | min test acc |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    p = results.get("process", {})
    if "source" in p:
        rows.append(
            _row(
                f"(a) the source script as written (`benchmarks/source_script.py`), whole process, "
                f"{p['source']['runs']} run(s)",
                p["source"],
                1,
            )
        )
    if "fast" in p:
        rows.append(
            _row(f"(b) `python -m lenet train --fast`, whole process ({recipe}), {p['fast']['runs']} seeds", p["fast"])
        )
        parts = process_parts(results)
        rows.append(
            "| (b), where the time goes (medians): "
            + ", ".join(f"{label} {parts[key]:.2f} s" for key, label in PARTS_LABELS.items() if key in parts)
            + " | | | | |"
        )
        if p.get("import_lenet_s"):
            rows.append(
                f"| (b)'s start-up, in processes of their own: `import torch` {p['import_torch_s']:.2f} s, "
                f"`import lenet.cli` {p['import_lenet_s']:.2f} s | | | | |"
            )
    if "ratio" in p:
        rows.append(f"| ratio (a)/(b), whole process | **{p['ratio']:.1f}x** | | | |")
    rows.append(_row(f"(b') the fast recipe in this process, training only ({flags}), {f['runs']} seeds", f))
    for opt, c in results["classic"].items():
        name = {"adam": "Adam", "sdlm": "SDLM"}[opt]
        graph = ", CUDA graph" if c.get("cuda_graph") else ""
        rows.append(
            f"| (c) the 1998 LeNet-5, {name}, the paper's schedule, {c['epochs']} pass(es){graph} "
            f"| {c['train_s']:.1f} s ({c['s_per_epoch']:.2f} s/pass) | | {100 * c['test_error']:.2f}% error "
            f"(paper: 0.95%) | |"
        )
    for label, a in results.get("ablation", {}).items():
        if "error" in a:
            rows.append(f"| ablation, seed 0: {label} | failed: {a['error'][:80]} | | | |")
            continue
        rows.append(
            f"| ablation, seed 0: {label} | {a['train_s']:.2f} s | first run {a['first_run_s']:.1f} s "
            f"| {100 * a['test_acc']:.2f}% | |"
        )
    evals = ", ".join(f"{int(b):,}: {1000 * t:.0f} ms" for b, t in f["eval_s"].items())
    rows.append(f"| evaluation of the 10,000 test images (`inference_mode`), by batch size: {evals} | | | | |")
    return "\n".join(rows)


#: How the table names the parts of a whole process (:data:`lenet.speed.PROCESS_PARTS`; a run of the
#: first format has only start-up, data, training and "the rest").
PARTS_LABELS = PROCESS_PARTS


def verdict(results: dict) -> str:
    """The targets as Markdown bullets, with the numbers that decide them (``RESULTS.md`` shows
    them under the table; a test checks that they are there)."""
    results = upgrade(results)
    accs = _per_seed_accuracies(results)
    word = {True: "**met**", False: "**not met**"}
    lines = []
    for label, met in results["targets"].items():
        if label == "every seed >= 99.0%":
            detail = (
                f"{len(accs)} runs of the fast recipe, in this process and as whole processes: worst "
                f"{100 * min(accs):.2f}%, mean {100 * statistics.mean(accs):.2f}%"
            )
        elif label.startswith("fast recipe"):
            detail = f"{results['fast']['median_s']:.2f} s"
        elif label.startswith("fixed cost"):
            p = results["process"]
            parts = process_parts(results)
            detail = (
                f"{fixed_cost(results):.2f} s: the package's imports "
                f"{p['import_lenet_s'] - p['import_torch_s']:.2f} s, "
                + ", ".join(f"{PARTS_LABELS[k]} {parts[k]:.2f} s" for k in ("data_s", "eval_s", "save_s", "other_s"))
                + f"; beside them `import torch` {p['import_torch_s']:.2f} s, the optimiser's set-up "
                f"{parts['setup_s']:.2f} s (building any `torch.optim` optimiser imports `torch._dynamo`) and "
                f"training {parts['train_s']:.2f} s"
            )
        elif "passes" in label:
            c = results["classic"][label.split(",")[1].strip().split(":")[0]]
            detail = f"{c['train_s']:.1f} s"
        else:
            opt = label.split(",")[1].strip().split(":")[0]
            detail = f"{100 * results['classic'][opt]['test_error']:.2f}%"
        lines.append(f"- {label}: {word[met]} ({detail}).")
    return "\n".join(lines)


def allocator_comparison(before: dict, after: dict) -> str:
    """What :func:`lenet.cli.retain_freed_memory` changed, from two runs of this benchmark: one
    made before it existed (glibc's default ``malloc`` settings) and one with it."""

    def medians(run):
        runs = upgrade(run)["process"]["fast"]["per_seed"]
        return statistics.median(r["train_s"] for r in runs), statistics.median(r["process_s"] for r in runs)

    (train0, wall0), (train1, wall1) = medians(before), medians(after)
    return (
        f"with glibc's default settings, training in a fresh process took {train0:.2f} s (median of "
        f"{before['process']['fast']['runs']} seeds) and the whole process {wall0:.2f} s; with "
        f"`retain_freed_memory`, {train1:.2f} s and {wall1:.2f} s"
    )


def classic_full_summary(runs) -> str:
    """One line for the run records of the classic network's full schedule (``results/<run>-s*.json``,
    made by ``python -m lenet record``): a list of :class:`lenet.records.Record` of one run."""
    s, r = summarize(runs), runs[0]
    cfg = r.config
    return (
        f"{len(runs)} seeds of {r.epochs} passes at batch {cfg['batch_size']} "
        f"({cfg['optimizer']}, the paper's schedule) "
        f"on {r.hardware} ({r.machine['threads']} threads): {s['mean_train_s'] / 60:.1f} min of training each, "
        f"{s['mean_train_s'] / r.epochs:.1f} s/pass; test error after the last pass "
        f"{', '.join(f'{100 * x.test_error:.2f}%' for x in runs)} (mean {100 * s['mean_error']:.2f}%); the paper: 0.95%"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10, help="seeds of the fast recipe trained in this process, (b')")
    p.add_argument("--process-seeds", type=int, default=10, help="seeds of `python -m lenet train --fast`, (b)")
    p.add_argument("--source-runs", type=int, default=1, help="runs of the source script, (a) (a minute each on a CPU)")
    p.add_argument("--classic-epochs", type=int, default=None, help="passes of (c): default 20 on a GPU, 1 on a CPU")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=None, help="JSON file for the results")
    p.add_argument("--ablation", action="store_true", help="also time each speed-up on its own (seed 0)")
    p.add_argument(
        "--records",
        type=Path,
        default=None,
        help="record (c)'s full runs there too, as the book's classic-1998 and classic-sdlm runs",
    )
    args = p.parse_args(argv)

    device = resolve_device(args.device)
    retain_freed_memory()  # as `python -m lenet train` does, for the runs in this process
    root = fetch_mnist(verbose=False).parents[1]  # <cache>/MNIST/raw -> <cache>, torchvision's root
    data = (load_mnist("train"), load_mnist("test"))  # also writes the tensor cache the processes read
    machine = machine_info(device)
    name = (
        machine["hardware"] if device.type == "cuda" else f"CPU ({machine['hardware']}, {machine['threads']} threads)"
    )
    print(f"device: {name}; torch {torch.__version__}", flush=True)
    results: Dict[str, Any] = {
        "format": FORMAT,
        "device": name,
        "machine": machine,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d"),
    }

    with tempfile.TemporaryDirectory() as tmp:  # the whole processes first, on an idle machine
        workdir = Path(tmp)
        process: Dict[str, Any] = {}
        if args.process_seeds:
            runs = []
            for seed in range(args.process_seeds):
                r = run_fast_process(seed, device, workdir)
                runs.append(r)
                print(
                    f"(b)  fast process, seed {seed}: {r['process_s']:6.2f} s (training {r['train_s']:.2f} s)  "
                    f"test acc {100 * r['test_acc']:.2f}%",
                    flush=True,
                )
            process["fast"] = {**seed_stats(runs, "process_s"), "per_seed": runs}
        if args.source_runs:
            runs = []
            for i in range(args.source_runs):
                r = run_source_process(root, workdir)
                runs.append(r)
                print(
                    f"(a)  source script, run {i + 1}: {r['process_s']:6.1f} s  test acc {100 * r['test_acc']:.2f}%",
                    flush=True,
                )
            process["source"] = {**seed_stats(runs, "process_s"), "per_run": runs}
        if "fast" in process and "source" in process:
            process["ratio"] = process["source"]["median_s"] / process["fast"]["median_s"]
        if process:
            process.update(import_times())
            print(
                f"python -c 'import torch': {process['import_torch_s']:.2f} s; "
                f"python -c 'import lenet.cli': {process['import_lenet_s']:.2f} s",
                flush=True,
            )
            results["process"] = process

    if device.type == "cuda":  # warm-up: one-time CUDA initialisation and torch.compile, reported apart
        t0 = time.perf_counter()
        run_fast(data, device, seed=1000)
        results["warmup_s"] = time.perf_counter() - t0
        print(f"warm-up (compile) run: {results['warmup_s']:.1f} s", flush=True)

    fast_runs = []
    for seed in range(args.seeds):
        r = run_fast(data, device, seed)
        fast_runs.append(r)
        print(
            f"(b') fast, in process, seed {seed}: {r['train_s']:6.2f} s  test acc {100 * r['test_acc']:.2f}%",
            flush=True,
        )
    cfg = fast_runs[0]["config"]
    results["fast"] = {
        "config": {
            "epochs": cfg.epochs,
            "batch_size": cfg.batch_size,
            "lr": cfg.lr,
            "betas": list(cfg.betas),
            **fast_runs[0]["runtime"],
        },
        **seed_stats(fast_runs, "train_s"),
        "per_seed": [strip(r) for r in fast_runs],
    }
    results["fast"]["eval_s"] = time_evaluation(fast_runs[0], data, device)
    print(
        "evaluation of the 10,000 test images: "
        + ", ".join(f"batch {b}: {1000 * t:.1f} ms" for b, t in results["fast"]["eval_s"].items()),
        flush=True,
    )

    if args.ablation:
        results["ablation"] = {}
        for label, (config, settings) in ablation_variants(device).items():
            t0 = time.perf_counter()
            try:
                r = run_fast(data, device, 0, settings, **config)
                first_s = time.perf_counter() - t0
                if settings.get("compile"):  # the first run paid for compiling: time a second one
                    r = run_fast(data, device, 0, settings, **config)
            except Exception as exc:  # one failing speed-up must not hide the others' numbers
                results["ablation"][label] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"ablation {label:<32} FAILED: {type(exc).__name__}: {exc}", flush=True)
                continue
            results["ablation"][label] = {"train_s": r["train_s"], "test_acc": r["test_acc"], "first_run_s": first_s}
            print(
                f"ablation {label:<32}{r['train_s']:8.2f} s  test acc {100 * r['test_acc']:.2f}%"
                f"  (first run, compile included: {first_s:.1f} s)",
                flush=True,
            )

    classic_epochs = args.classic_epochs or (20 if device.type == "cuda" else 1)
    results["classic"] = {}
    for opt in ("adam", "sdlm"):
        c = results["classic"][opt] = run_classic(data, device, opt, classic_epochs, records_dir=args.records)
        print(
            f"(c)  the 1998 network, {opt}: {c['epochs']} pass(es), {c['train_s']:.1f} s "
            f"({c['s_per_epoch']:.2f} s/pass), "
            f"test error {100 * c['test_error']:.2f}% (paper: 0.95%)",
            flush=True,
        )

    # the CPU records of the classic runs, for the GPU's error target
    classic_records = {
        opt: [r for r in load_records(run=run) if not r.on_gpu]
        for opt, run in (("adam", "classic-1998"), ("sdlm", "classic-sdlm"))
    }
    results["targets"] = targets(results, device, classic_records)
    print()
    print(markdown_table(results))
    print()
    print(verdict(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
