"""Where a program's time goes: the book's appendix on speed (chapter 9) reads the benchmark runs
through these functions.

The runs are files, never typed numbers:

* ``benchmarks/time_to_accuracy.py`` writes ``benchmarks/results/<name>.json`` (read with
  :func:`lenet.records.load_benchmark`): whole processes of the source's script and of
  ``python -m lenet train --fast``, the fast recipe trained in one process over many seeds, the
  ablation of its speed-ups, the 1998 network's passes, and the targets the run was checked
  against. Its first format (no ``format`` key) called a whole process's time ``wall_s`` and split
  it into start-up, data, training and one "other" part; the current one (``lenet-benchmark/2``)
  says ``process_s`` and splits it finer (set-up, evaluation, saving). Every function here reads
  both.
* ``benchmarks/gpu_profile.py`` writes a per-step profile of a GPU run (:func:`load_gpu_profile`).
* The GPU run records, ``results/<run>-s<seed>-cuda.json``, sit beside their CPU counterparts
  (:func:`gpu_against_cpu`).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Union

import matplotlib.pyplot as plt
import torch

from .records import RecordError
from .viz import legible

#: The parts of a whole ``python -m lenet train --fast`` process, as ``benchmarks/time_to_accuracy.py``
#: measures them (``--process-seeds``), and how the book names them. (Runs of its first format
#: split a process into start-up, data, training and "the rest" only.)
PROCESS_PARTS = {
    "startup_s": "start-up and imports",
    "data_s": "data",
    "setup_s": "optimiser set-up",
    "train_s": "training",
    "eval_s": "evaluation",
    "save_s": "saving",
    "other_s": "the rest",
}

#: The GPU run whose per-step profile the appendix reads (``benchmarks/results/gpu-runs/<name>/``).
GPU_PROFILE_RUN = "h200-2026-12-04-7140012"


def process_seconds(run: Mapping) -> float:
    """The seconds of one whole process of a benchmark run, in either format (``process_s``, first
    format ``wall_s``).
    """
    for key in ("process_s", "wall_s"):
        if key in run:
            return float(run[key])
    raise KeyError(f"a process of a benchmark run has 'process_s' (or 'wall_s'); this one has {sorted(run)}")


def process_parts(benchmark: Mapping) -> Dict[str, float]:
    """Median seconds of each part (:data:`PROCESS_PARTS`) of the fast recipe's whole processes in
    a run of ``benchmarks/time_to_accuracy.py`` (:func:`lenet.records.load_benchmark`).

    Explained in: chapter 9, "A whole program on a CPU".
    """
    runs = benchmark["process"]["fast"]["per_seed"]
    return {key: statistics.median(r[key] for r in runs) for key in PROCESS_PARTS if key in runs[0]}


def process_summary(benchmark: Mapping) -> Dict[str, float]:
    """The whole processes of a benchmark run in a few numbers (medians over the runs, seconds):
    ``source_s`` (the source's script), ``fast_s`` (``python -m lenet train --fast``), ``ratio``
    (of the two), ``train_s`` (the fast process's training), ``rest_s`` (everything else in it),
    ``rest_share`` (that part of the whole, a fraction), ``import_torch_s`` (a process that only
    imports torch) and ``ratio_without_training``: the ratio if training took no time at all,
    the most that a faster recipe could give.

    Explained in: chapter 9, "A whole program on a CPU".
    """
    proc = benchmark["process"]
    runs = proc["fast"]["per_seed"]
    rest = statistics.median(process_seconds(r) - r["train_s"] for r in runs)
    return {
        "source_s": proc["source"]["median_s"],
        "fast_s": proc["fast"]["median_s"],
        "ratio": proc["ratio"],
        "train_s": statistics.median(r["train_s"] for r in runs),
        "rest_s": rest,
        "rest_share": statistics.median((process_seconds(r) - r["train_s"]) / process_seconds(r) for r in runs),
        "import_torch_s": proc.get("import_torch_s"),
        "ratio_without_training": proc["source"]["median_s"] / rest,
    }


def plot_process_times(benchmark: Mapping, ax=None):
    """The source script's whole process against the fast recipe's, as bars in seconds, the fast
    one split into its parts (:func:`process_parts`, medians over the seeds).

    Explained in: chapter 9, "A whole program on a CPU".
    """
    proc = benchmark["process"]
    parts = process_parts(benchmark)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(10, 2.6))
    ax.barh(1, proc["source"]["median_s"], color="0.65")
    ax.text(proc["source"]["median_s"], 1, f" {proc['source']['median_s']:.1f} s", va="center")
    left = 0.0
    for i, (key, label) in enumerate((k, v) for k, v in PROCESS_PARTS.items() if k in parts):
        ax.barh(0, parts[key], left=left, color=f"C{i}", label=f"{label} {parts[key]:.2f} s")
        left += parts[key]
    ax.text(left, 0, f" {left:.1f} s", va="center")
    ax.set_yticks([0, 1], ["python -m lenet train --fast", "the source's script"])
    ax.set_xlim(0, 1.12 * proc["source"]["median_s"])
    ax.set_xlabel("seconds for the whole process (median over the runs)")
    ax.set_title(f"{benchmark['device']}: {proc['ratio']:.1f} times faster")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False, title="the fast process")
    fig.tight_layout()
    return legible(fig)


def ablation_seconds(benchmark: Mapping) -> Dict[str, float]:
    """The fast recipe's training time (seed 0, in one process) with each setting of the run's
    ablation, by the name the benchmark gives the setting (either format).

    Explained in: chapter 9, "The recipe's speed-ups on a CPU".
    """
    out = {}
    for label, a in benchmark.get("ablation", {}).items():
        if "error" not in a:
            out[label] = float(a.get("train_s", a.get("wall_s")))
    return out


def plot_ablation(benchmark: Mapping, ax=None):
    """The ablation of a benchmark run (:func:`ablation_seconds`) as horizontal bars, in the order
    the run measured its settings, each bar labelled with its seconds.

    Explained in: chapter 9, "The recipe's speed-ups on a CPU".
    """
    seconds = ablation_seconds(benchmark)
    if not seconds:
        raise ValueError(
            f"the benchmark run of {benchmark.get('device', '?')} has no ablation: make one with "
            "`python benchmarks/time_to_accuracy.py --ablation`"
        )
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 0.45 * len(seconds) + 1.0))
    labels = list(seconds)[::-1]
    ax.barh(range(len(labels)), [seconds[k] for k in labels], color="C0")
    for i, k in enumerate(labels):
        ax.text(seconds[k], i, f" {seconds[k]:.2f} s", va="center")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlim(0, 1.2 * max(seconds.values()))
    ax.set_xlabel("training time of the fast recipe, seed 0 (seconds)")
    ax.set_title(benchmark["device"])
    fig.tight_layout()
    return legible(fig)


def _measured(benchmark: Mapping, label: str) -> str:
    """What a target of ``benchmark["targets"]`` was decided by, as text."""
    if label.startswith("every seed"):
        runs = benchmark["fast"]["per_seed"] + benchmark.get("process", {}).get("fast", {}).get("per_seed", [])
        return f"worst of {len(runs)} runs {min(r['test_acc'] for r in runs):.2%}"
    if label.startswith("fast recipe"):
        return f"{benchmark['fast']['median_s']:.2f} s"
    if label.startswith("1998 network"):
        optimizer = label.split(",")[1].split(":")[0].strip()
        run = benchmark["classic"][optimizer]
        return f"{run['train_s']:.1f} s" if "passes" in label else f"{run['test_error']:.2%} error"
    if label.startswith("whole-process ratio"):
        return f"{benchmark['process']['ratio']:.1f}"
    if label.startswith("fixed cost"):  # the package's imports, and the parts beside PyTorch's and the training
        proc, parts = benchmark["process"], process_parts(benchmark)
        cost = proc["import_lenet_s"] - proc["import_torch_s"]
        cost += sum(parts.get(k, 0.0) for k in ("data_s", "eval_s", "save_s", "other_s"))
        return f"{cost:.2f} s"
    return ""


def target_rows(benchmark: Mapping) -> List[Dict[str, object]]:
    """The targets a benchmark run was checked against (its ``targets``, written by
    ``benchmarks/time_to_accuracy.py``), each with the number that decided it: rows of
    ``target`` (the benchmark's own wording, limit included), ``measured`` and ``met``.

    Explained in: chapter 9, "Why the ratio stops where it does".
    """
    return [
        {"target": label, "measured": _measured(benchmark, label), "met": bool(met)}
        for label, met in benchmark.get("targets", {}).items()
    ]


def load_gpu_profile(run: str = GPU_PROFILE_RUN) -> Dict[str, Dict[str, float]]:
    """The per-step profile of a GPU run (``benchmarks/gpu_profile.py``): for each recipe its
    ``batch_size``, ``kernels`` (CUDA kernels of one eager step), ``replay_us`` (the recorded step
    replayed alone), ``loop_us`` (a step as the training loop runs it: next batch, replay,
    schedule), ``loader_us`` and ``schedule_us``, in microseconds; with ``device`` and ``torch``.

    Explained in: chapter 9, "Bound by kernels, not by arithmetic".
    """
    here = Path(__file__).resolve().parent
    for folder in (here.parent / "benchmarks" / "results" / "gpu-runs", here / "benchmarks" / "gpu-runs"):
        path = folder / run / "gpu-profile.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise RecordError(
        f"no GPU profile of the run {run!r}: make one on a CUDA GPU with "
        f"`python benchmarks/gpu_profile.py --out benchmarks/results/gpu-runs/{run}/gpu-profile.json`"
    )


def epoch_of_batches_s(
    loader: Iterable,
    device: Optional[Union[str, torch.device]] = None,
    batches: int = 100,
    repeats: int = 3,
    threads: Optional[int] = None,
) -> float:
    """Seconds that ``loader`` takes to produce one epoch of batches, each moved to ``device`` if
    given, estimated from its first ``batches`` batches, the best of ``repeats`` tries (the least
    disturbed by whatever else the machine runs); no network runs. With ``threads``, PyTorch
    computes on that many threads meanwhile (one thread does not wait on a busy second core).

    Explained in: chapter 9, "Making batches one image at a time".
    """
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            n = 0
            for x, y in loader:
                if device is not None:
                    x, y = x.to(device), y.to(device)
                n += 1
                if n == batches:
                    break
            if n == 0:
                raise ValueError("the loader gave no batch")
            best = min(best, (time.perf_counter() - start) / n)
    finally:
        torch.set_num_threads(before)
    return best * len(loader)  # type: ignore[arg-type]


def _mean(values: List[float]) -> Optional[float]:
    return statistics.mean(values) if values else None


def gpu_against_cpu(records: Iterable) -> List[Dict[str, object]]:
    """Each GPU run record (``.on_gpu``) beside the CPU records of the same run: ``run``, ``name``,
    ``epochs`` (of the GPU run and of the CPU runs), ``gpu_s`` and ``cpu_s`` (training time; the
    CPU's a mean over its seeds), ``speedup`` (per epoch, so that runs of different lengths
    compare), ``gpu_acc`` and ``cpu_acc`` (the CPU's a mean), ``cpu_seeds``, ``settings`` (the
    GPU run's :class:`lenet.train.Runtime` settings that were on) and ``hardware``.

    Explained in: chapter 9, "The GPU records beside the CPU's".
    """
    records = list(records)
    rows = []
    for g in (r for r in records if r.on_gpu):
        cpu = [r for r in records if r.run == g.run and not r.on_gpu]
        cpu_epochs = sorted({r.epochs for r in cpu})
        cpu_s = _mean([r.train_s for r in cpu])
        per_epoch_cpu = _mean([r.train_s / r.epochs for r in cpu])
        rows.append(
            {
                "run": g.run,
                "name": g.name,
                "epochs": g.epochs,
                "cpu_epochs": cpu_epochs,
                "gpu_s": g.train_s,
                "cpu_s": cpu_s,
                "speedup": None if per_epoch_cpu is None else per_epoch_cpu / (g.train_s / g.epochs),
                "gpu_acc": g.test_acc,
                "cpu_acc": _mean([r.test_acc for r in cpu]),
                "cpu_seeds": len(cpu),
                "settings": [k for k, v in g.runtime.items() if v],
                "hardware": g.hardware,
            }
        )
    return rows


__all__ = [
    "PROCESS_PARTS",
    "GPU_PROFILE_RUN",
    "process_seconds",
    "process_parts",
    "process_summary",
    "plot_process_times",
    "ablation_seconds",
    "plot_ablation",
    "target_rows",
    "load_gpu_profile",
    "epoch_of_batches_s",
    "gpu_against_cpu",
]
