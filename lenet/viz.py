"""Figures for the book, each drawn from the objects it shows (no number is typed by hand).

Every function returns a matplotlib ``Figure`` (and accepts an ``ax`` where one panel is
drawn), so a notebook cell can end with ``plt.show()`` and a test can count the axes. Text in the
figures is ASCII only: most machines have no CJK font. Each docstring names the part of
LeCun, Bottou, Bengio and Haffner (1998), "Gradient-based learning applied to document
recognition", that the figure illustrates.

Functions:

* :func:`architecture_diagram` -- the layers of a model as stacks of maps (Fig. 2 of the paper);
* :func:`show_digits`, :func:`show_images`, :func:`plot_feature_maps` -- image grids;
* :func:`plot_kernel`, :func:`kernel_matrices`, :func:`kernel_gallery` -- kernels and their effect;
* :func:`pooling_grid` -- a small pooling worked example with the numbers written in;
* :func:`squashing_functions` -- the logistic sigmoid, tanh and the paper's scaled tanh;
* :func:`connection_table` -- Table I, the C3 connection table, with its four groups.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union, cast

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.text import Text

from .c3 import C3_GROUPS, C3_TABLE, connection_mask
from .kernels import KERNEL_TITLES, KERNELS, apply_kernel, conv2d_loops, conv_output_size
from .models import LeNet5Classic
from .pooling import ScaledTanh, pool2d_vectorized
from .summary import layer_table

ArrayLike = Union[np.ndarray, torch.Tensor]

#: Colours of the layer kinds in :func:`architecture_diagram` (colour-blind-safe palette).
KIND_COLOURS = {
    "input": "#bbbbbb",
    "conv": "#4477aa",
    "pool": "#ee7733",
    "linear": "#228833",
    "output": "#aa3377",
}

#: Colours of the four groups of Table I in :func:`connection_table`.
GROUP_COLOURS = ("#cce5ff", "#ffe0b3", "#d4edda", "#f3d1e6")


def _np(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=np.float32)


#: The width of the book's text column on a laptop screen (1280 px wide), in CSS pixels, and the
#: smallest text a figure may show there: a figure wider than the column is scaled down to fit it.
COLUMN_PX = 690
MIN_TEXT_PX = 9.0


def legible(fig: Figure, column_px: float = COLUMN_PX, min_px: float = MIN_TEXT_PX) -> Figure:
    """Enlarge every text of ``fig`` that would show smaller than ``min_px`` pixels once the figure
    is scaled down to a ``column_px``-wide column (a figure of ``w`` inches at ``dpi`` is
    ``w * dpi`` pixels wide, and a font of ``s`` points ``s * dpi / 72`` pixels high). Returns
    ``fig``; every figure function of the book ends with it.

    Explained in: chapter 1, "A short history".
    """
    width_px = fig.get_figwidth() * fig.dpi
    scale = min(1.0, column_px / width_px)
    smallest_pt = min_px / scale * 72 / fig.dpi
    for text in fig.findobj(Text):
        if text.get_text() and float(text.get_fontsize()) < smallest_pt:
            text.set_fontsize(smallest_pt)
    return fig


def _new_axes(ax: Optional[Axes], figsize: Tuple[float, float]) -> Tuple[Figure, Axes]:

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return cast(Figure, ax.figure), ax  # axes from plt.subplots: on a Figure, not a SubFigure


def _grid(n: int, ncols: int, size: float, extra_h: float = 0.0, row_h: float = 0.3):

    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + row_h) * nrows + extra_h), squeeze=False)
    flat = axes.ravel()
    for ax in flat[n:]:
        fig.delaxes(ax)
    return fig, flat[:n]


def layer_kind(kind: str) -> str:
    """The colour class of a layer type name: 'conv', 'pool', 'linear' or 'output'."""
    k = kind.lower()
    if "rbf" in k:
        return "output"
    if "conv" in k:
        return "conv"
    if "pool" in k or "subsampling" in k:
        return "pool"
    return "linear"


# --------------------------------------------------------------------------- chapter 1


def architecture_diagram(
    model: Optional[nn.Module] = None,
    input_size: Optional[int] = None,
    ax: Optional[Axes] = None,
    title: Optional[str] = None,
) -> Figure:
    """Draw a model as a row of feature-map stacks, in the manner of Fig. 2 of LeCun et al. (1998).

    The shapes come from :func:`lenet.summary.layer_table` (one dummy forward pass), so the figure
    always matches the model: a (C, H, W) output is drawn as a stack of squares whose side grows
    with H and whose depth grows with C, labelled ``C@HxW``; a vector output of length n is drawn
    as a bar labelled ``n``. Colours mark convolutions, pooling/subsampling, full connections and
    the RBF output. ``model`` defaults to :class:`lenet.models.LeNet5Classic`.

    Explained in: chapter 1, "The architecture, drawn from the model".
    """
    model = model if model is not None else LeNet5Classic()
    size = input_size or cast(int, getattr(model, "input_size", 32))  # a LeNet-5 names its input size
    rows = layer_table(model, size)
    items = [("input", "input", (1, size, size))] + [(r.name, r.kind, tuple(r.output_shape)) for r in rows]
    fig, ax = _new_axes(ax, (max(10.0, 1.6 * len(items)), 3.4))

    largest = max(s[-1] for _, _, s in items if len(s) == 3)
    offset, gap = 0.09, 0.9
    x0, prev_right, top_max = 0.0, None, 0.0
    for name, kind, shape in items:
        colour = KIND_COLOURS["input"] if kind == "input" else KIND_COLOURS[layer_kind(kind)]
        if len(shape) == 3 and shape[-1] > 1:
            c, h, w = shape
            side = 0.5 + 1.3 * h / largest
            depth = min(c, 8)
            for d in range(depth - 1, -1, -1):
                ax.add_patch(
                    Rectangle(
                        (x0 + d * offset, 1.0 - side / 2 + d * offset),
                        side,
                        side,
                        facecolor=colour,
                        edgecolor="black",
                        linewidth=0.7,
                        alpha=0.9,
                    )
                )
            label = f"{c}@{h}x{w}"
            width, top = side + (depth - 1) * offset, 1.0 + side / 2 + (depth - 1) * offset
        else:
            n = int(np.prod(shape))
            height = 0.6 + 2.0 * min(1.0, np.sqrt(n / 120.0))
            ax.add_patch(
                Rectangle((x0, 1.0 - height / 2), 0.25, height, facecolor=colour, edgecolor="black", linewidth=0.7)
            )
            label = f"{n}" if len(shape) == 1 else f"{shape[0]}@1x1"
            width, top = 0.25, 1.0 + height / 2
        centre = x0 + width / 2
        ax.text(centre, top + 0.12, name, ha="center", va="bottom", fontsize=11, fontweight="bold")
        ax.text(centre, -0.45, label, ha="center", va="top", fontsize=10)
        ax.text(centre, -0.85, "" if kind == "input" else kind, ha="center", va="top", fontsize=8, color="0.35")
        if prev_right is not None:
            ax.add_patch(
                FancyArrowPatch(
                    (prev_right + 0.1, 1.0), (x0 - 0.1, 1.0), arrowstyle="->", mutation_scale=12, color="0.3"
                )
            )
        prev_right = x0 + width
        top_max = max(top_max, top)
        x0 = prev_right + gap + max(0.0, 0.55 - width / 2)
    if prev_right is None:  # never: items holds the input at least
        raise ValueError("architecture_diagram: nothing to draw")
    ax.set_xlim(-0.6, prev_right + 0.6)
    ax.set_ylim(-1.3, top_max + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or f"{type(model).__name__}: output shape of every layer for a {size}x{size} input")
    return legible(fig)


def show_digits(
    images: ArrayLike,
    labels: Optional[Sequence[int]] = None,
    predictions: Optional[Sequence[int]] = None,
    titles: Optional[Sequence[str]] = None,
    colors: Optional[Sequence[str]] = None,
    ncols: int = 8,
    size: float = 1.3,
    title: Optional[str] = None,
    cmap: str = "gray_r",
) -> Figure:
    """A grid of digit images, (N, H, W) or (N, 1, H, W), the one digit grid of the book.

    Each panel is titled by ``titles`` (coloured by ``colors``) if given; otherwise by its label
    and prediction, in crimson where the two differ. MNIST is the test bed of LeCun et al. (1998),
    Sec. III.A; ``gray_r`` draws ink dark on white as on paper.

    Explained in: chapter 0, "Tensors".
    """

    imgs = _np(images)
    if imgs.ndim == 4:
        imgs = imgs[:, 0]
    n = len(imgs)
    if n == 0:
        fig, ax = plt.subplots(figsize=(3, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "(no images)", ha="center", va="center")
        return legible(fig)
    if titles is None and (labels is not None or predictions is not None):
        titles, colors = [], []
        for i in range(n):
            parts = [f"label {int(labels[i])}"] if labels is not None else []
            parts += [f"pred {int(predictions[i])}"] if predictions is not None else []
            titles.append(", ".join(parts))
            wrong = labels is not None and predictions is not None and int(labels[i]) != int(predictions[i])
            colors.append("crimson" if wrong else "black")
    fig, axes = _grid(n, ncols, size, extra_h=0.4 if title else 0.0)
    for i, ax in enumerate(axes):
        ax.imshow(imgs[i], cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=8, color=colors[i] if colors is not None else "black")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return legible(fig)


def show_images(
    images: Sequence[ArrayLike],
    titles: Optional[Sequence[str]] = None,
    ncols: int = 4,
    size: float = 2.6,
    cmap: Union[str, Sequence[str]] = "gray",
    suptitle: Optional[str] = None,
    colorbar: bool = False,
    vrange: Union[None, Tuple[float, float], Sequence[Optional[Tuple[float, float]]]] = None,
) -> Figure:
    """A row (or grid) of 2-D images with titles.

    ``cmap`` is one colour map for all panels or one per panel. ``vrange`` fixes the colour scale:
    one (vmin, vmax) pair for all panels, or a list with a pair (or None, automatic) per panel;
    the string ``"symmetric"`` in such a list means (-m, m) with m the panel's largest absolute value.

    Explained in: chapter 1, "The MNIST digits".
    """
    n = len(images)
    cmaps = [cmap] * n if isinstance(cmap, str) else list(cmap)
    if vrange is None or (len(vrange) == 2 and all(isinstance(v, (int, float)) for v in vrange)):
        ranges: List[Any] = [vrange] * n  # per panel: None, a (vmin, vmax) pair or "symmetric"
    else:
        ranges = list(vrange)
    fig, axes = _grid(n, ncols, size, extra_h=0.4 if suptitle else 0.0)
    for i, ax in enumerate(axes):
        img = _np(images[i])
        r = ranges[i]
        if isinstance(r, str) and r == "symmetric":
            m = float(np.abs(img).max()) or 1.0
            r = (-m, m)
        kw = {} if r is None else {"vmin": r[0], "vmax": r[1]}
        im = ax.imshow(img, cmap=cmaps[i], **kw)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
        if colorbar:
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return legible(fig)


def plot_feature_maps(
    maps: ArrayLike,
    ncols: int = 8,
    titles: Optional[Sequence[str]] = None,
    size: float = 1.5,
    suptitle: Optional[str] = None,
    cmap: str = "gray",
) -> Figure:
    """The maps of one layer, (C, H, W) -- e.g. the 6 maps of C1 (LeCun et al. 1998, Sec. II.B).

    Explained in: chapter 2, "C1: 156 parameters, 122,304 connections".
    """
    m = _np(maps)
    if m.ndim == 4:
        m = m[0]
    titles = titles if titles is not None else [f"map {i}" for i in range(len(m))]
    return show_images(list(m), titles, ncols=ncols, size=size, cmap=cmap, suptitle=suptitle)


# --------------------------------------------------------------------------- chapter 2


def _fraction(v: float) -> str:
    f = Fraction(float(v)).limit_denominator(256)
    if abs(float(f) - v) > 1e-6:
        return f"{v:.2f}"
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def plot_kernel(
    kernel: ArrayLike,
    ax: Optional[Axes] = None,
    title: Optional[str] = None,
    annotate: bool = True,
    cmap: str = "RdBu_r",
) -> Figure:
    """A kernel as a heat map with its weights written in (as fractions where exact).

    The weights are the shared weights of one feature map (LeCun et al. 1998, Sec. II.A);
    red is positive, blue negative, on a scale symmetric about zero.

    Explained in: chapter 6, "What C1 learnt".
    """
    w = _np(kernel)
    fig, ax = _new_axes(ax, (2.6, 2.6))
    lim = float(np.abs(w).max()) or 1.0
    ax.imshow(w, cmap=cmap, vmin=-lim, vmax=lim)
    if annotate:
        fs = 10 if w.shape[0] <= 3 else 7
        for (i, j), v in np.ndenumerate(w):
            ax.text(
                j,
                i,
                _fraction(v),
                ha="center",
                va="center",
                fontsize=fs,
                color="white" if abs(v) > 0.6 * lim else "black",
            )
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return legible(fig)


def kernel_matrices(
    kernels: Mapping[str, ArrayLike] = KERNELS,
    titles: Mapping[str, str] = KERNEL_TITLES,
    ncols: int = 4,
    size: float = 2.4,
) -> Figure:
    """Every kernel of ``kernels`` drawn with :func:`plot_kernel`, one panel each.

    Explained in: chapter 2, "The source text's kernels".
    """
    names = list(kernels)
    fig, axes = _grid(len(names), ncols, size)
    for ax, name in zip(axes, names):
        plot_kernel(kernels[name], ax=ax, title=titles.get(name, name))
    fig.tight_layout()
    return legible(fig)


def kernel_gallery(
    image: ArrayLike,
    kernels: Mapping[str, ArrayLike] = KERNELS,
    titles: Mapping[str, str] = KERNEL_TITLES,
    ncols: int = 4,
    size: float = 2.8,
    clip: bool = True,
    suptitle: Optional[str] = None,
    cmap: str = "gray",
) -> Figure:
    """The image filtered by every kernel (with :func:`lenet.kernels.apply_kernel`), one panel each.

    This is what one convolutional feature map computes before its bias and squashing function
    (LeCun et al. 1998, Sec. II.A), with hand-made rather than learned weights. ``clip`` clamps each
    result to the input's range so that edge maps and blurs share one grey scale.

    Explained in: chapter 2, "The source text's kernels".
    """
    names = list(kernels)
    fig, axes = _grid(len(names), ncols, size, extra_h=0.4 if suptitle else 0.0)
    lo, hi = float(_np(image).min()), float(_np(image).max())
    for ax, name in zip(axes, names):
        out = apply_kernel(image, kernels[name], clip=clip)
        ax.imshow(_np(out), cmap=cmap, vmin=lo if clip else None, vmax=hi if clip else None)
        ax.set_title(titles.get(name, name), fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return legible(fig)


# --------------------------------------------------------------------------- chapter 3


def pooling_grid(
    x: ArrayLike,
    kernel_size: int = 2,
    mode: str = "max",
    coefficient: float = 1.0,
    bias: float = 0.0,
    size: float = 0.55,
) -> Figure:
    """A small worked example of pooling: the input with its windows outlined, and the output,
    every value written in.

    ``mode`` is 'max' (the winner of each window is highlighted), 'avg', or 'sum' -- the 1998
    subsampling before its squashing function, ``coefficient`` x (window sum) + ``bias``
    (LeCun et al. 1998, Sec. II.B, layer S2).

    Explained in: chapter 3, "Max and average pooling".
    """

    if mode not in ("max", "avg", "sum"):
        raise ValueError(f"mode must be 'max', 'avg' or 'sum', got {mode!r}")
    a = _np(x)
    if a.ndim != 2:
        raise ValueError(f"pooling_grid expects a 2-D array, got shape {a.shape}")
    k = kernel_size
    oh, ow = a.shape[0] // k, a.shape[1] // k
    pooled = pool2d_vectorized(
        torch.as_tensor(a, dtype=torch.float64)[None, None], k, "max" if mode == "max" else "avg"
    )[0, 0].numpy()
    out = pooled if mode != "sum" else coefficient * (k * k) * pooled + bias
    blocks = a[: oh * k, : ow * k].reshape(oh, k, ow, k).transpose(0, 2, 1, 3).reshape(oh, ow, k * k)  # for the winners
    fig, (ax_in, ax_out) = plt.subplots(
        1,
        2,
        figsize=(size * (a.shape[1] + ow) + 1.5, size * a.shape[0] + 0.9),
        gridspec_kw={"width_ratios": [a.shape[1], max(ow, 1)]},
    )
    ax_in.imshow(a, cmap="Blues", vmin=a.min() - 0.2 * (np.ptp(a) or 1), vmax=a.max() + 1.2 * (np.ptp(a) or 1))
    ax_out.imshow(
        out, cmap="Oranges", vmin=out.min() - 0.2 * (np.ptp(out) or 1), vmax=out.max() + 1.2 * (np.ptp(out) or 1)
    )
    for (i, j), v in np.ndenumerate(a):
        winner = False
        if mode == "max" and i < oh * k and j < ow * k:
            bi, bj = i // k, j // k
            winner = int(blocks[bi, bj].argmax()) == (i % k) * k + (j % k)
        ax_in.text(
            j,
            i,
            _fraction(v) if float(v).is_integer() else f"{v:.2f}",
            ha="center",
            va="center",
            fontsize=11 if winner else 10,
            fontweight="bold" if winner else "normal",
            color="crimson" if winner else "black",
        )
    for (i, j), v in np.ndenumerate(out):
        ax_out.text(j, i, f"{v:g}" if float(v).is_integer() else f"{v:.2f}", ha="center", va="center", fontsize=10)
        ax_in.add_patch(Rectangle((j * k - 0.5, i * k - 0.5), k, k, fill=False, edgecolor="black", linewidth=2))
    for ax in (ax_in, ax_out):
        ax.set_xticks([])
        ax.set_yticks([])
    ax_in.set_title(f"input {a.shape[0]}x{a.shape[1]}, windows {k}x{k}", fontsize=10)
    names = {"max": "max pooling", "avg": "average pooling", "sum": f"{coefficient:g} x sum + {bias:g}"}
    ax_out.set_title(f"{names[mode]}: {oh}x{ow}", fontsize=10)
    fig.tight_layout()
    return legible(fig)


def squashing_functions(ax: Optional[Axes] = None, a_max: float = 4.0) -> Figure:
    """The logistic sigmoid, tanh, and the squashing function of LeNet-5,
    f(a) = 1.7159 tanh(2a/3) (LeCun et al. 1998, Sec. II.B, Eq. 6 and Appendix A).

    The points f(1) = 1 and f(-1) = -1 are marked: the constants are chosen so that the targets
    +-1 sit where the second derivative of f is largest, and the gain near 0 is close to 1.

    Explained in: chapter 3, "The 1998 subsampling".
    """
    fig, ax = _new_axes(ax, (6.0, 3.8))
    a = torch.linspace(-a_max, a_max, 401)
    f = ScaledTanh()
    ax.plot(a, torch.sigmoid(a), label="logistic sigmoid 1/(1+exp(-a))", color="0.5", linestyle="--")
    ax.plot(a, torch.tanh(a), label="tanh(a)", color=KIND_COLOURS["conv"])
    ax.plot(
        a,
        f(a),
        label=f"{f.amplitude} tanh({Fraction(f.slope).limit_denominator(10)} a)  (LeNet-5)",
        color=KIND_COLOURS["output"],
        linewidth=2,
    )
    pts = torch.tensor([-1.0, 1.0])
    ax.plot(pts, f(pts), "o", color=KIND_COLOURS["output"])
    for p in pts.tolist():
        ax.annotate(
            f"f({p:g}) = {float(f(torch.tensor(p))):.3f}",
            (p, float(f(torch.tensor(p)))),
            textcoords="offset points",
            xytext=(10 if p > 0 else -95, -15 if p > 0 else 8),
            fontsize=9,
        )
    ax.axhline(0, color="0.8", linewidth=0.8)
    ax.axvline(0, color="0.8", linewidth=0.8)
    ax.set_xlabel("weighted sum a")
    ax.set_ylabel("state f(a)")
    ax.set_title("Squashing functions")
    ax.legend(fontsize=8, loc="lower right")
    return legible(fig)


# --------------------------------------------------------------------------- chapter 4


def connection_table(
    table: Sequence[Sequence[int]] = C3_TABLE,
    groups: Optional[Sequence[Tuple[str, Sequence[int]]]] = C3_GROUPS,
    in_maps: int = 6,
    ax: Optional[Axes] = None,
    title: Optional[str] = None,
    in_label: str = "S2 feature map",
    out_label: str = "C3 feature map",
) -> Figure:
    """Table I of LeCun et al. (1998), Sec. II.B: which S2 maps (rows) each C3 map (columns) reads.

    An X marks a connection, exactly where :func:`lenet.c3.connection_mask` is True; the columns of
    each of the four groups of ``groups`` are shaded in one colour and named underneath. Pass
    ``groups=None`` for a table without groups (a dense or a home-made one), and ``in_label`` /
    ``out_label`` to name other layers than S2 and C3.

    Explained in: chapter 4, "Table I".
    """

    mask = connection_mask(table, in_maps).numpy()
    n_in, n_out = mask.shape
    fig, ax = _new_axes(ax, (0.5 * n_out + 1.6, 0.5 * n_in + 1.9))
    if groups:
        for g, (name, cols) in enumerate(groups):
            cols = list(cols)
            colour = GROUP_COLOURS[g % len(GROUP_COLOURS)]
            for c in cols:
                ax.add_patch(Rectangle((c - 0.5, -0.5), 1, n_in, facecolor=colour, edgecolor="none"))
            lo, hi = min(cols), max(cols)
            ax.add_patch(Rectangle((lo - 0.5, -0.5), hi - lo + 1, n_in, fill=False, edgecolor="0.25", linewidth=1.6))
            ax.text(
                (lo + hi) / 2,
                n_in - 0.3,
                name.replace(" S2 maps", ""),
                ha="center",
                va="top",
                fontsize=9,
                clip_on=False,
            )
    for (i, j), on in np.ndenumerate(mask):
        if on:
            ax.text(j, i, "X", ha="center", va="center", fontsize=11, fontweight="bold")
    ax.set_xticks(range(n_out))
    ax.set_yticks(range(n_in))
    ax.set_xticks(np.arange(-0.5, n_out, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_in, 1), minor=True)
    ax.grid(which="minor", color="0.75", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(out_label)
    ax.set_ylabel(in_label)
    ax.set_xlim(-0.5, n_out - 0.5)
    ax.set_ylim(n_in - 0.5, -0.5)
    ax.set_title(title or f"Connection table: {int(mask.sum())} of {mask.size} possible S2-C3 connections", pad=10)
    fig.tight_layout()
    return legible(fig)


__all__ = [
    "KIND_COLOURS",
    "GROUP_COLOURS",
    "layer_kind",
    "architecture_diagram",
    "show_digits",
    "show_images",
    "plot_feature_maps",
    "plot_kernel",
    "kernel_matrices",
    "kernel_gallery",
    "pooling_grid",
    "squashing_functions",
    "connection_table",
]


# --------------------------------------------------------------------------- chapter 2: the patch (im2col) matrix


def _draw_cells(
    ax: Axes, values: np.ndarray, x0: float, y0: float, fill: np.ndarray, title: str = "", fontsize: float = 11
) -> None:
    """Draw ``values`` (2-D) as a grid of unit squares with their numbers, top-left corner at (x0, y0),
    each square filled with the colour of ``fill`` (an array of colour strings of the same shape)."""
    for (i, j), v in np.ndenumerate(values):
        ax.add_patch(Rectangle((x0 + j, y0 + i), 1, 1, facecolor=fill[i, j], edgecolor="0.35", linewidth=0.8))
        ax.text(x0 + j + 0.5, y0 + i + 0.5, _fraction(float(v)), ha="center", va="center", fontsize=fontsize)
    if title:
        ax.text(x0 + values.shape[1] / 2, y0 - 0.35, title, ha="center", va="bottom", fontsize=11)


def patch_matrix(
    image: ArrayLike, kernel: ArrayLike, stride: int = 1, highlight: Optional[int] = None, cell: float = 0.4
) -> Figure:
    """Why a convolution is one matrix product (im2col): the k x k patches of a small image laid out
    as the columns of the patch matrix, the kernel as a row, and their product, the output map.

    Top: the image x, with the patch of output position ``highlight`` outlined (by default the
    second position, counted row by row from 0), and the pixels that no patch reads (with a
    stride larger than 1) in grey; the kernel w; the output y of
    :func:`lenet.kernels.conv2d_loops`. Bottom: w as a row (1 x k^2) times the patch matrix
    (k^2 x positions, one column per output position, each patch read row by row) equals y as a
    row. The highlighted column and output value belong to the outlined patch. All numbers are
    computed (``F.unfold`` makes the patch matrix), and the product is checked against
    ``conv2d_loops``: one feature map, with one kernel shared by every position (LeCun et al.
    1998, Sec. II.A).

    Explained in: chapter 2, "From loops to one matrix product".
    """
    x = torch.as_tensor(_np(image), dtype=torch.float64)
    w = torch.as_tensor(_np(kernel), dtype=torch.float64)
    if x.ndim != 2 or w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(
            f"patch_matrix expects a 2-D image and a square 2-D kernel, got {tuple(x.shape)} and {tuple(w.shape)}"
        )
    k = w.shape[0]
    rows = conv_output_size(x.shape[0], k, stride=stride)
    cols = conv_output_size(x.shape[1], k, stride=stride)
    if k * k > 25 or rows * cols > 12:
        raise ValueError(
            f"a {tuple(x.shape)} image with a {k}x{k} kernel gives a {k * k} x {rows * cols} patch "
            f"matrix, too large to draw: use at most 25 kernel weights and 12 output positions "
            f"(a 4x4 image with a 3x3 kernel, say)"
        )
    if highlight is None:
        highlight = min(1, rows * cols - 1)
    if not 0 <= highlight < rows * cols:
        raise ValueError(f"highlight must be an output position from 0 to {rows * cols - 1}, got {highlight}")
    patches = torch.nn.functional.unfold(x[None, None], k, stride=stride)[0]  # (k^2, positions)
    product = w.reshape(1, -1) @ patches  # (1, positions)
    y = conv2d_loops(x, w, stride=stride)
    if not torch.allclose(product.reshape(rows, cols), y):
        raise RuntimeError("the patch matrix times the kernel disagrees with conv2d_loops")
    read = torch.nn.functional.fold(torch.ones_like(patches)[None], tuple(x.shape), k, stride=stride)[0, 0] > 0

    plain, grey, mark, dark = "white", "0.82", "#fde2b8", "#d55e00"
    hi, hj = divmod(highlight, cols)
    # top: image, kernel, output map
    n = rows * cols
    width = k * k + n + 1.5 + 1.5 + n  # the bottom line
    top_w = x.shape[1] + 1.5 + k + 1.5 + cols
    fig, ax = plt.subplots()
    x0 = max(0.0, (width - top_w) / 2)  # the top line, centred above it
    fill = np.where(read.numpy(), plain, grey).astype(object)
    fill[hi * stride : hi * stride + k, hj * stride : hj * stride + k] = mark
    _draw_cells(ax, x.numpy(), x0, 0, fill, f"image x, {x.shape[0]}x{x.shape[1]}")
    if not bool(read.all()):
        ax.text(x0 + x.shape[1] / 2, x.shape[0] + 0.3, "grey: read by no window", ha="center", va="top", fontsize=11)
    ax.add_patch(Rectangle((x0 + hj * stride, hi * stride), k, k, fill=False, edgecolor=dark, linewidth=2.5))
    kx = x0 + x.shape[1] + 1.5
    _draw_cells(ax, w.numpy(), kx, 0, np.full((k, k), "#e8e8f4", dtype=object), f"kernel w, {k}x{k}")
    yx = kx + k + 1.5
    fill = np.full((rows, cols), plain, dtype=object)
    fill[hi, hj] = mark
    _draw_cells(ax, y.numpy(), yx, 0, fill, f"output y, {rows}x{cols}")
    ax.add_patch(Rectangle((yx + hj, hi), 1, 1, fill=False, edgecolor=dark, linewidth=2.5))
    # bottom: w as a row @ patch matrix = y as a row
    by = max(x.shape[0], k, rows) + 2.0
    mid = by + (k * k - 1) / 2
    _draw_cells(
        ax, w.reshape(1, -1).numpy(), 0, mid, np.full((1, k * k), "#e8e8f4", dtype=object), f"w as a row, 1x{k * k}"
    )
    px = k * k + 1.5
    ax.text(px - 0.75, mid + 0.5, "@", ha="center", va="center", fontsize=14)
    fill = np.full((k * k, n), plain, dtype=object)
    fill[:, highlight] = mark
    _draw_cells(ax, patches.numpy(), px, by, fill, f"patches of x as columns, {k * k}x{n}")
    ox = px + n + 1.5
    ax.text(ox - 0.75, mid + 0.5, "=", ha="center", va="center", fontsize=14)
    fill = np.full((1, n), plain, dtype=object)
    fill[0, highlight] = mark
    _draw_cells(ax, product.numpy(), ox, mid, fill, f"y as a row, 1x{n}")
    ax.add_patch(Rectangle((px + highlight, by), 1, k * k, fill=False, edgecolor=dark, linewidth=2.5))
    ax.add_patch(Rectangle((ox + highlight, mid), 1, 1, fill=False, edgecolor=dark, linewidth=2.5))
    width, height = max(width, yx + cols), by + k * k
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(height + 0.2, -1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.set_size_inches(cell * (width + 0.4), cell * (height + 1.4))
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    return legible(fig)


__all__ += ["patch_matrix"]
