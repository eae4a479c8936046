"""Figures and tables for chapters 5-8: digit bitmaps, training curves, confusion matrices,
grids of digits and the table of results. The metrics they show are computed in
:mod:`lenet.metrics` and :mod:`lenet.rbf`, and re-exported here for the chapters.

Every function computes from its arguments (a model's outputs, a :class:`lenet.train.History`,
records from :mod:`lenet.records`); nothing is typed in by hand. Figures are returned so a
notebook can save or adjust them; no text inside a figure is anything but ASCII.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.ticker import FuncFormatter

from .metrics import confusion_matrix, misclassified, most_confused
from .pooling import SQUASH_AMPLITUDE, SQUASH_SLOPE
from .rbf import DIGIT_BITMAPS, bitmap_distances, map_loss
from .records import summarize
from .viz import legible, show_digits

#: The test error of LeNet-5 without distortions reported by LeCun et al. (1998), Sec. III.B.
PAPER_TEST_ERROR = 0.0095
#: The same network trained with distorted (augmented) training images, Sec. III.B.
PAPER_TEST_ERROR_DISTORTED = 0.0080


def _plain_log_axis(axis) -> None:
    """Tick labels of a log axis as plain numbers (2, 3, 5, 10 rather than 2 x 10^0)."""

    def minor(v, _):
        lo, hi = sorted(abs(t) for t in axis.get_view_interval())
        decades = math.log10(hi / lo) if lo > 0 else math.inf
        lead = f"{v:e}"[0]
        if decades < 1.2 or (decades < 2.5 and lead in "25"):
            return f"{v:g}"
        return ""

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(minor))


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


# --------------------------------------------------------------------------- chapter 5


def plot_bitmaps(
    bitmaps: Optional[torch.Tensor] = None, labels: Optional[Sequence[str]] = None, ncols: int = 10, cell: float = 0.9
):
    """The RBF centres as pictures: +1 (ink) black, -1 (background) white, as in Fig. 3 of the
    paper. ``bitmaps`` is (K, 12, 7) or (K, 84); default :data:`lenet.rbf.DIGIT_BITMAPS`.

    Explained in: chapter 5, "The ten digit bitmaps".
    """
    b = _np(DIGIT_BITMAPS if bitmaps is None else bitmaps).reshape(-1, 12, 7)
    k = b.shape[0]
    labels = [str(i) for i in range(k)] if labels is None else list(labels)
    ncols = min(ncols, k)
    nrows = -(-k // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * 12 / 7 * nrows + 0.3), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= k:
            ax.axis("off")
            continue
        ax.imshow(b[i], cmap="gray_r", vmin=-1, vmax=1)
        # thin grid lines between the 84 cells
        ax.set_xticks(np.arange(-0.5, 7, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, 12, 1), minor=True)
        ax.grid(which="minor", color="0.75", linewidth=0.4)
        ax.tick_params(which="minor", length=0)
        ax.set_title(labels[i], fontsize=10)
    fig.tight_layout()
    return legible(fig)


def plot_matrix(
    matrix,
    ax=None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    labels: Optional[Sequence[str]] = None,
    fmt: str = "{:.0f}",
    cmap: str = "viridis",
    log: bool = False,
):
    """A square matrix as a heat map with every entry written in its cell.

    Explained in: chapter 5, "How far apart are the bitmaps?".
    """
    m = _np(matrix).astype(float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.6))
    else:
        fig = ax.figure
    shown = np.log1p(m) if log else m
    im = ax.imshow(shown, cmap=cmap)
    n = m.shape[0]
    labels = [str(i) for i in range(n)] if labels is None else list(labels)
    ax.set_xticks(range(m.shape[1]), labels[: m.shape[1]])
    ax.set_yticks(range(n), labels[:n])
    hi = shown.max() if shown.size else 0
    for i in range(n):
        for j in range(m.shape[1]):
            ax.text(
                j,
                i,
                fmt.format(m[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="black" if shown[i, j] > 0.6 * hi else "white",
            )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="log(1 + count)" if log else None)
    fig.tight_layout()
    return legible(fig)


def plot_squash(amplitude: float = SQUASH_AMPLITUDE, slope: float = SQUASH_SLOPE, ax=None):
    r"""The scaled tanh f(a) = A tanh(S a) with its second derivative, and where |f''| peaks
    (Appendix A of the paper: at a = +-1, where f(a) = +-1).

    Explained in: chapter 5, "The squashing function and targets of $\pm 1$".
    """
    a = torch.linspace(-4, 4, 801, dtype=torch.float64)
    t = torch.tanh(slope * a)
    f = amplitude * t
    f2 = -2 * amplitude * slope**2 * t * (1 - t**2)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
    else:
        fig = ax.figure
    ax.plot(a, f, label=f"f(a) = {amplitude:g} tanh({slope:.3g} a)")
    ax.plot(a, f2, label="f''(a)")
    peak = float(a[torch.argmax(f2.abs() * (a > 0))])
    for s in (-1, 1):
        ax.axvline(s * peak, color="0.6", linestyle=":", linewidth=1)
        ax.plot([s], [s], "ko", markersize=4)
    ax.axhline(0, color="0.8", linewidth=0.8)
    ax.set_xlabel("a (weighted sum)")
    ax.set_title("targets +-1 = f(+-1), where |f''| is largest")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return legible(fig)


def plot_f6_states(images, states, penalties, ncols: Optional[int] = None, bitmaps: Optional[torch.Tensor] = None):
    """For each input digit: the digit, F6's 84 outputs drawn as a 12x7 picture, and the bitmap of
    the class with the smallest penalty (the network's answer), with that penalty.

    Explained in: chapter 5, "Penalties of a trained network are not zero".
    """
    imgs = _np(images)
    if imgs.ndim == 4:
        imgs = imgs[:, 0]
    st = _np(states).reshape(-1, 12, 7)
    pen = torch.as_tensor(penalties).detach().cpu()
    bm = _np(DIGIT_BITMAPS if bitmaps is None else bitmaps).reshape(-1, 12, 7)
    n = imgs.shape[0]
    ncols = ncols or n
    fig, axes = plt.subplots(3, n, figsize=(1.15 * n, 5.2), squeeze=False)
    for k in range(n):
        best = int(pen[k].argmin())
        panels = (
            (imgs[k], "gray_r", None, "input"),
            (st[k], "gray_r", (-SQUASH_AMPLITUDE, SQUASH_AMPLITUDE), "F6 state"),
            (bm[best], "gray_r", (-1, 1), f"bitmap {best}\ny = {float(pen[k, best]):.1f}"),
        )
        for row, (pic, cmap, lim, title) in enumerate(panels):
            ax = axes[row, k]
            if lim is None:
                ax.imshow(pic, cmap=cmap)
            else:
                ax.imshow(pic, cmap=cmap, vmin=lim[0], vmax=lim[1])
            ax.set_xticks([])
            ax.set_yticks([])
            if row or k == 0:
                ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return legible(fig)


def plot_map_loss(y_correct: float = 5.0, js: Sequence[float] = (0.0, 0.1, 1.0, 3.0), wrong=None):
    """The MAP loss of one example (Eq. 9) and the push it gives a wrong class, as functions of
    the penalty y of the nine wrong classes (all equal), the correct class's penalty fixed at
    ``y_correct``; one curve per j, plus j = infinity (softmax cross-entropy on -y).

    Explained in: chapter 5, "The MAP loss and its constant $j$".
    """
    y = (
        torch.linspace(0.0, 20.0, 401, dtype=torch.float64)
        if wrong is None
        else torch.as_tensor(wrong, dtype=torch.float64)
    )
    fig, (ax_l, ax_g) = plt.subplots(1, 2, figsize=(10, 3.8))
    target = torch.zeros(len(y), dtype=torch.long)
    for k, j in enumerate(list(js) + [math.inf]):
        pen = torch.cat([torch.full((len(y), 1), y_correct, dtype=torch.float64), y[:, None].repeat(1, 9)], 1)
        pen.requires_grad_(True)
        if math.isinf(j):
            loss = F.cross_entropy(-pen, target, reduction="none")
            label = "j = inf (cross-entropy)"
        else:
            loss = map_loss(pen, target, j, reduction="none")
            label = f"j = {j:g}"
        (grad,) = torch.autograd.grad(loss.sum(), pen)
        style = "--" if math.isinf(j) else "-"
        ax_l.plot(y, loss.detach(), style, color=f"C{k}", label=label)
        ax_g.plot(y, -grad[:, 1], style, color=f"C{k}", label=label)
    for ax in (ax_l, ax_g):
        ax.axvline(y_correct, color="0.6", linestyle=":", linewidth=1)
        ax.set_xlabel("penalty y of each of the 9 wrong classes")
        ax.grid(alpha=0.3, which="both")
    ax_l.set_ylabel("loss of the example")
    ax_l.set_title(f"MAP loss, correct penalty = {y_correct:g}")
    ax_g.set_yscale("log")
    ax_g.set_ylim(1e-9, 1)
    ax_g.set_ylabel("push on one wrong class, -dE/dy")
    ax_g.set_title("how hard a wrong class is pushed up")
    ax_l.legend(fontsize=8)
    fig.tight_layout()
    return legible(fig)


# --------------------------------------------------------------------------- training curves


def _as_histories(histories) -> Dict[str, object]:
    if isinstance(histories, Mapping):
        return dict(histories)
    return {"": histories}


def _epochs(h) -> List[Dict]:
    """The per-epoch dicts of a :class:`lenet.train.History` or a :class:`lenet.records.Record`."""
    return h.history if hasattr(h, "history") else h.epochs


def plot_history(
    histories,
    reference_error: Optional[float] = None,
    reference_label: str = "",
    figsize: Tuple[float, float] = (10, 3.6),
):
    """Training curves: loss (train solid, test dashed) and test error in percent, per epoch.

    ``histories`` is one :class:`lenet.train.History` or :class:`lenet.records.Record`, or a dict
    ``{label: history or record}``. The training curves are running means over each epoch. With
    ``reference_error`` (a fraction) a horizontal line marks it on the error panel.

    Explained in: chapter 6, "The full schedule, recorded".
    """
    hs = _as_histories(histories)
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=figsize)
    for i, (label, h) in enumerate(hs.items()):
        color = f"C{i}"
        ep = [r["epoch"] for r in _epochs(h)]
        ax_loss.plot(
            ep, [r["train_loss"] for r in _epochs(h)], "-o", color=color, markersize=3, label=f"{label} train".strip()
        )
        te = [(r["epoch"], r["test_loss"]) for r in _epochs(h) if r.get("test_loss") is not None]
        if te:
            ax_loss.plot(*zip(*te), "--s", color=color, markersize=3, label=f"{label} test".strip())
        tr_err = [100 * (1 - r["train_acc"]) for r in _epochs(h)]
        ax_err.plot(ep, tr_err, "-o", color=color, markersize=3, label=f"{label} train".strip())
        te_err = [(r["epoch"], 100 * (1 - r["test_acc"])) for r in _epochs(h) if r.get("test_acc") is not None]
        if te_err:
            ax_err.plot(*zip(*te_err), "--s", color=color, markersize=3, label=f"{label} test".strip())
    if reference_error is not None:
        ax_err.axhline(
            100 * reference_error,
            color="k",
            linestyle=":",
            linewidth=1.2,
            label=reference_label or f"{100 * reference_error:.2f}%",
        )
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.set_yscale("log")
    _plain_log_axis(ax_loss.yaxis)
    ax_loss.set_title("loss")
    ax_err.set_xlabel("epoch")
    ax_err.set_ylabel("error (%)")
    ax_err.set_yscale("log")
    _plain_log_axis(ax_err.yaxis)
    ax_err.set_title("error rate")
    for ax in (ax_loss, ax_err):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return legible(fig)


# --------------------------------------------------------------------------- confusion matrix


def plot_confusion_matrix(cm: torch.Tensor, ax=None, title: str = "confusion matrix (test set)"):
    """The confusion matrix with counts in the cells, colours on a log scale so that the few
    errors show next to the large diagonal.

    Explained in: chapter 6, "The digits it gets wrong".
    """
    return plot_matrix(cm, ax=ax, title=title, xlabel="predicted digit", ylabel="true digit", log=True)


# --------------------------------------------------------------------------- grids of digits


def plot_misclassified(images, labels, preds, max_n: int = 32, ncols: int = 8):
    """The first ``max_n`` misclassified digits, titled 'pred p (true t)'.

    Explained in: chapter 6, "The digits it gets wrong".
    """
    idx = misclassified(labels, preds)[:max_n]
    titles = [f"pred {int(preds[i])} (true {int(labels[i])})" for i in idx]
    return show_digits(images[idx], titles=titles, colors=["crimson"] * len(idx), ncols=ncols, size=1.25)


def plot_predictions(images, preds, labels=None, ncols: int = 10):
    """Digits titled with the predicted label; red where ``labels`` say the prediction is wrong.

    Explained in: chapter 7, "Predictions on test digits".
    """
    titles = [f"pred {int(p)}" for p in preds]
    colors = None
    if labels is not None:
        colors = ["black" if int(p) == int(t) else "crimson" for p, t in zip(preds, labels)]
    return show_digits(images, titles=titles, colors=colors, ncols=ncols, size=1.15)


def plot_records_by_epoch(records, ax=None, reference_error: Optional[float] = PAPER_TEST_ERROR, labels=None):
    """Test error after each epoch of each record, log scale, with the paper's 0.95% as a dashed
    line (chapters 6-8). Records of one run share a colour; ``labels`` maps a run to its legend.

    Explained in: chapter 6, "The paper's method, recorded".
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    runs = list(dict.fromkeys(r.run for r in records))
    shown = set()
    for r in records:
        i = runs.index(r.run)
        points = [(e + 1, 100 * (1 - a)) for e, a in enumerate(r.column("test_acc")) if a is not None]
        label = None if r.run in shown else (labels or {}).get(r.run, r.title or r.run)
        shown.add(r.run)
        if points:
            ax.plot(*zip(*points), "-o", color=f"C{i}", markersize=3, alpha=0.8, label=label)
    if reference_error is not None:
        ax.axhline(
            100 * reference_error, color="k", linestyle="--", linewidth=1, label=f"paper ({100 * reference_error:.2f}%)"
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%)")
    ax.set_yscale("log")
    _plain_log_axis(ax.yaxis)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return legible(fig)


# --------------------------------------------------------------------------- tables of runs


def _fmt_time(s: Optional[float]) -> str:
    if s is None:
        return "-"
    return f"{s:.1f} s" if s < 600 else f"{s / 60:.1f} min"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A Markdown table; the columns whose indices are in ``right`` are right-aligned.

    Explained in: chapter 7, "Training fast".
    """
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---:" if i in right else "---" for i in range(len(columns))) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def error_cell(summary: Mapping) -> str:
    """'0.98% +- 0.04 (0.95-1.02)' from :func:`lenet.records.summarize`: mean test error, standard
    deviation over the seeds and the range; just the error for one seed.
    """
    if summary["n"] == 1:
        return f"{100 * summary['mean_error']:.2f}%"
    return (
        f"{100 * summary['mean_error']:.2f}% &plusmn; {100 * summary['sd_error']:.2f} "
        f"({100 * summary['min_error']:.2f}-{100 * summary['max_error']:.2f})"
    )


def group_runs(records) -> Dict[str, list]:
    """Records by run, in the order they come."""
    groups: Dict[str, list] = {}
    for r in records:
        groups.setdefault(r.run, []).append(r)
    return groups


#: The columns :func:`runs_table` can show, in their order: heading and whether it is right-aligned.
RUN_COLUMNS: Dict[str, Tuple[str, bool]] = {
    "run": ("run", False),
    "model": ("model", False),
    "parameters": ("parameters", True),
    "seeds": ("seeds", True),
    "error": ("test error (mean &plusmn; sd, range)", False),
    "epochs": ("epochs", True),
    "recipe": ("optimiser, schedule, batch", False),
    "train time": ("train time", True),
    "per epoch": ("per epoch", True),
    "threads": ("threads", True),
    "device": ("device, threads", False),
}


def _threads(n: Any) -> str:
    """``'1 thread'``, ``'2 threads'``; ``'? threads'`` where the record does not say."""
    return f"{n} thread" if n == 1 else f"{n if n is not None else '?'} threads"


def runs_table(
    records,
    columns: Sequence[str] = (
        "run",
        "model",
        "parameters",
        "seeds",
        "error",
        "epochs",
        "recipe",
        "train time",
        "per epoch",
        "device",
    ),
) -> str:
    """One row per run (chapter 8): what it trains, its seeds, the mean test error with its
    spread, epochs, the mean training time, the time per epoch and the machine with its threads;
    ``columns`` keeps only some of them (keys of :data:`RUN_COLUMNS`, in its order).

    Explained in: chapter 8, "The runs".
    """
    unknown = [c for c in columns if c not in RUN_COLUMNS]
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(map(repr, unknown))}; choose from: {', '.join(RUN_COLUMNS)}")
    keys = [k for k in RUN_COLUMNS if k in columns]
    rows = []
    for run, recs in group_runs(records).items():
        s, r = summarize(recs), recs[0]
        cfg = r.config
        cells = {
            "run": r.title or run,
            "model": r.model,
            "parameters": f"{r.parameters:,}",
            "seeds": str(s["n"]),
            "error": error_cell(s),
            "epochs": str(r.epochs),
            "recipe": f"{cfg['optimizer']}, {cfg['schedule']}, batch {cfg['batch_size']}",
            "train time": _fmt_time(s["mean_train_s"]),
            "per epoch": f"{s['mean_train_s'] / r.epochs:.1f} s",
            "threads": str(r.machine.get("threads", "?")),
            "device": f"{r.hardware}, {_threads(r.machine.get('threads'))}",
        }
        rows.append([cells[k] for k in keys])
    return markdown_table(
        [RUN_COLUMNS[k][0] for k in keys], rows, right=[i for i, k in enumerate(keys) if RUN_COLUMNS[k][1]]
    )


def standard_error_of_difference(a: Mapping, b: Mapping) -> float:
    """The standard error of the difference of two runs' mean test errors,
    ``sqrt(s_a^2 / n_a + s_b^2 / n_b)``, from :func:`lenet.records.summarize` of each (``s`` the
    seeds' standard deviation, ``n`` their number). The book calls a change *beyond the noise*
    when it is more than twice this (chapter 8).

    Explained in: chapter 8, "What each change from 1998 buys".
    """
    return math.sqrt(a["sd_error"] ** 2 / a["n"] + b["sd_error"] ** 2 / b["n"])


def ablation_rows(steps: Sequence[Tuple[str, str]], records) -> List[Dict]:
    """For each (run, label) of ``steps`` (chapter 8): the label, the parameters, the summary of
    its seeds, the change of the mean test error from the step before, its standard error
    (:func:`standard_error_of_difference`) and whether the change is beyond the noise, more than
    twice that (``None`` and ``"-"`` for the first step).

    Explained in: chapter 8, "What each change from 1998 buys".
    """
    groups = group_runs(records)
    out, previous = [], None
    for run, label in steps:
        recs = groups.get(run)
        if not recs:
            raise ValueError(f"no records of run {run!r}; make them with `python -m lenet record {run}`")
        s = summarize(recs)
        row = {
            "run": run,
            "label": label,
            "parameters": recs[0].parameters,
            "summary": s,
            "per_epoch_s": s["mean_train_s"] / recs[0].epochs,
            "hardware": recs[0].hardware,
            "change": None,
            "se": None,
            "beyond noise": "-",
        }
        if previous is not None:
            row["change"], row["se"] = (
                s["mean_error"] - previous["mean_error"],
                standard_error_of_difference(previous, s),
            )
            row["beyond noise"] = "yes" if abs(row["change"]) > 2 * row["se"] else "no"
        out.append(row)
        previous = s
    return out


def ablation_table(rows: Sequence[Mapping], se: bool = False) -> str:
    """The rows of :func:`ablation_rows` as a Markdown table (chapter 8); with ``se`` each change
    is followed by its standard error (``-0.74 &plusmn; 0.15``). A time measured on another machine
    than the first row's names that machine: times compare only on one machine.

    Explained in: chapter 8, "What each change from 1998 buys".
    """

    def change(r: Mapping) -> str:
        if r["change"] is None:
            return "-"
        return f"{100 * r['change']:+.2f}" + (f" &plusmn; {100 * r['se']:.2f}" if se else "")

    cells = [
        [
            r["label"],
            f"{r['parameters']:,}",
            error_cell(r["summary"]),
            change(r),
            f"{r['per_epoch_s']:.1f} s"
            + (
                f" (on {r['hardware']})"
                if r.get("hardware", rows[0].get("hardware")) != rows[0].get("hardware")
                else ""
            ),
            r["beyond noise"],
        ]
        for r in rows
    ]
    return markdown_table(
        [
            "design",
            "parameters",
            "test error (mean &plusmn; sd, range)",
            "change (points" + (" &plusmn; s.e.)" if se else ")"),
            "per epoch",
            "beyond the noise?",
        ],
        cells,
        right=(1, 3, 4),
    )


# --------------------------------------------------------------------------- a 2 x 2 design


@dataclass(frozen=True)
class Effect:
    """A change of mean test error (a fraction; ``+0.004`` is 0.4 points worse) and its standard
    error. The book calls it *beyond the noise* when it is more than twice its standard error.
    """

    change: float
    se: float

    @property
    def beyond_noise(self) -> bool:
        return abs(self.change) > 2 * self.se

    def __str__(self) -> str:
        return f"{100 * self.change:+.2f} points (standard error {100 * self.se:.2f})"


def effect(before: Mapping, after: Mapping) -> Effect:
    """The change from run ``before`` to run ``after`` (summaries of :func:`lenet.records.summarize`).

    Explained in: chapter 8, "What each change from 1998 buys".
    """
    return Effect(after["mean_error"] - before["mean_error"], standard_error_of_difference(before, after))


def interaction(cells: Sequence[Sequence[Mapping]]) -> Effect:
    """How much the second factor's effect changes with the first, in a 2 x 2 design of runs,
    ``cells[i][j]`` with level ``i`` of the first factor and ``j`` of the second: the difference
    of the two differences, ``(d - c) - (b - a)`` for ``[[a, b], [c, d]]``. Its standard error
    adds the four cells' ``s^2 / n``, as :func:`standard_error_of_difference` adds two.

    Explained in: chapter 8, "ReLU and max pooling, with and without each other".
    """
    (a, b), (c, d) = cells
    change = (d["mean_error"] - c["mean_error"]) - (b["mean_error"] - a["mean_error"])
    return Effect(change, math.sqrt(sum(s["sd_error"] ** 2 / s["n"] for s in (a, b, c, d))))


@dataclass(frozen=True)
class TwoByTwo:
    """Four runs that cross two factors of two levels each (chapter 8): ``cells[i][j]`` summarises
    the run with level ``i`` of the row factor and level ``j`` of the column factor. Made by
    :func:`two_by_two`.
    """

    runs: Tuple[Tuple[str, str], Tuple[str, str]]
    rows: Tuple[str, str]
    columns: Tuple[str, str]
    cells: Tuple[Tuple[Dict, Dict], Tuple[Dict, Dict]]

    def column_effect(self, row: int) -> Effect:
        """The effect of the column factor (column 0 to column 1) in row ``row``."""
        return effect(self.cells[row][0], self.cells[row][1])

    def row_effect(self, column: int) -> Effect:
        """The effect of the row factor (row 0 to row 1) in column ``column``."""
        return effect(self.cells[0][column], self.cells[1][column])

    @property
    def interaction(self) -> Effect:
        return interaction(self.cells)


def two_by_two(runs: Sequence[Sequence[str]], records, rows: Sequence[str], columns: Sequence[str]) -> TwoByTwo:
    """The 2 x 2 design of ``runs`` (``runs[i][j]``, the run with level ``rows[i]`` and level
    ``columns[j]``), from ``records``; a clear error names a run without records.

    Explained in: chapter 8, "ReLU and max pooling, with and without each other".
    """
    if len(runs) != 2 or any(len(r) != 2 for r in runs) or len(rows) != 2 or len(columns) != 2:
        raise ValueError("a 2 x 2 design needs runs [[a, b], [c, d]], two row labels and two column labels")
    groups = group_runs(records)
    missing = [run for pair in runs for run in pair if not groups.get(run)]
    if missing:
        raise ValueError(
            f"no records of run(s) {', '.join(missing)}; make them with `python -m lenet record {' '.join(missing)}`"
        )
    (a, b), (c, d) = runs
    cells = ((summarize(groups[a]), summarize(groups[b])), (summarize(groups[c]), summarize(groups[d])))
    return TwoByTwo(((a, b), (c, d)), (rows[0], rows[1]), (columns[0], columns[1]), cells)


def two_by_two_table(design: TwoByTwo) -> str:
    """``design`` as a Markdown table: each cell's mean test error &plusmn; the seeds' standard
    deviation; in the last column and the last row, each factor's effect with the other factor
    held at each level, and their interaction in the corner, in points &plusmn; standard error,
    in bold when beyond the noise.

    Explained in: chapter 8, "ReLU and max pooling, with and without each other".
    """

    def cell(s: Mapping) -> str:
        return f"{100 * s['mean_error']:.2f}% &plusmn; {100 * s['sd_error']:.2f}"

    def shown(e: Effect) -> str:
        text = f"{100 * e.change:+.2f} &plusmn; {100 * e.se:.2f}"
        return f"**{text}**" if e.beyond_noise else text

    body = [[design.rows[i], *(cell(s) for s in design.cells[i]), shown(design.column_effect(i))] for i in range(2)]
    body.append(
        [
            f"effect of {design.rows[1]}",
            shown(design.row_effect(0)),
            shown(design.row_effect(1)),
            "interaction " + shown(design.interaction),
        ]
    )
    return markdown_table(["", *design.columns, f"effect of {design.columns[1]}"], body)


def plot_results(records, ax=None, labels=None):
    """Test error against training time (log scale), one point per record, one colour per run.

    Explained in: chapter 8, "The runs".
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
    else:
        fig = ax.figure
    markers = {"classic": "s", "modern": "o"}
    for i, (run, recs) in enumerate(group_runs(records).items()):
        ax.scatter(
            [max(r.train_s, 1e-3) for r in recs],
            [100 * r.test_error for r in recs],
            marker=markers.get(recs[0].model, "^"),
            color=f"C{i}",
            s=40,
            label=(labels or {}).get(run, recs[0].title or run),
        )
    ax.axhline(100 * PAPER_TEST_ERROR, color="k", linestyle="--", linewidth=1, label="paper LeNet-5 (0.95%)")
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis)
    ax.set_xlabel("training time (s, log scale)")
    ax.set_ylabel("test error (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return legible(fig)


__all__ = [
    "PAPER_TEST_ERROR",
    "PAPER_TEST_ERROR_DISTORTED",
    "plot_bitmaps",
    "bitmap_distances",
    "plot_matrix",
    "plot_squash",
    "plot_f6_states",
    "plot_map_loss",
    "plot_history",
    "confusion_matrix",
    "most_confused",
    "plot_confusion_matrix",
    "misclassified",
    "plot_misclassified",
    "plot_predictions",
    "plot_records_by_epoch",
    "markdown_table",
    "error_cell",
    "group_runs",
    "RUN_COLUMNS",
    "runs_table",
    "standard_error_of_difference",
    "ablation_rows",
    "ablation_table",
    "Effect",
    "effect",
    "interaction",
    "TwoByTwo",
    "two_by_two",
    "two_by_two_table",
    "plot_results",
]
