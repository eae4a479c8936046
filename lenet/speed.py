"""Where a program's time goes: the book's appendix on speed reads the benchmark runs
(``benchmarks/time_to_accuracy.py``, stored as ``benchmarks/results/*.json`` and read with
:func:`lenet.records.load_benchmark`) through these functions.
"""

from __future__ import annotations

import statistics
from typing import Dict, Mapping

import matplotlib.pyplot as plt

from .viz import legible


#: The parts of a whole ``python -m lenet train --fast`` process, as ``benchmarks/time_to_accuracy.py``
#: measures them (``--process-seeds``), and how the book names them. (Runs of its first format
#: split a process into start-up, data, training and "the rest" only.)
PROCESS_PARTS = {"startup_s": "start-up and imports", "data_s": "data", "setup_s": "optimiser set-up",
                 "train_s": "training", "eval_s": "evaluation", "save_s": "saving", "other_s": "the rest"}


def process_parts(benchmark: Mapping) -> Dict[str, float]:
    """Median seconds of each part (:data:`PROCESS_PARTS`) of the fast recipe's whole processes in
    a run of ``benchmarks/time_to_accuracy.py`` (:func:`lenet.records.load_benchmark`).

    Chapters: 7.
    """
    runs = benchmark["process"]["fast"]["per_seed"]
    return {key: statistics.median(r[key] for r in runs) for key in PROCESS_PARTS if key in runs[0]}


def plot_process_times(benchmark: Mapping, ax=None):
    """The source script's whole process against the fast recipe's, as bars in seconds, the fast
    one split into its parts (:func:`process_parts`, medians over the seeds).

    Chapters: 7.
    """
    proc = benchmark["process"]
    parts = process_parts(benchmark)
    source_s = proc["source"]["median_s"]
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


__all__ = ["PROCESS_PARTS", "process_parts", "plot_process_times"]
