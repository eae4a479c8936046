"""The output layer of LeNet-5: Euclidean radial basis function units and the MAP loss.

LeCun et al. (1998), Sec. II.B, Eq. (7): each output unit i computes

.. math::  y_i = \\sum_j (x_j - w_{ij})^2

the squared Euclidean distance between F6's 84-dimensional state x and a fixed parameter
vector w_i. The vectors are "chosen by hand and set to -1 or +1": stylised images of the
ten digits drawn on a 7x12 bitmap (Fig. 3 of the paper), hence F6's 84 = 7 x 12 units.
The output is a *penalty*: the smaller y_i, the more the input looks like class i, and the
network's answer is the class with the smallest penalty.

Training minimises the MAP criterion of Eq. (9),

.. math::  E(W) = \\frac{1}{P} \\sum_p \\Big( y_{D^p}(Z^p, W)
           + \\log\\big(e^{-j} + \\sum_i e^{-y_i(Z^p, W)}\\big) \\Big)

which pulls down the penalty of the correct class and, through the second term, pushes up
the penalties of the others (the constant j keeps that push from acting on classes whose
penalty is already large).
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .pooling import ScaledTanh

# The ten digits drawn on a 7-wide, 12-tall grid in the style of Fig. 3 of the paper
# ('#' = +1, ink; '.' = -1, background). Redrawn for this book; the paper's own bitmaps are
# only published as a figure.
_DIGIT_ART = {
    0: """
.......
..###..
.#...#.
#.....#
#....##
#...#.#
#.#...#
##....#
#.....#
.#...#.
..###..
.......""",
    1: """
.......
...#...
..##...
.#.#...
...#...
...#...
...#...
...#...
...#...
...#...
.#####.
.......""",
    2: """
.......
..###..
.#...#.
#.....#
......#
.....#.
....#..
...#...
..#....
.#.....
#######
.......""",
    3: """
.......
.#####.
#.....#
......#
......#
...###.
......#
......#
......#
#.....#
.#####.
.......""",
    4: """
.......
....##.
...#.#.
..#..#.
.#...#.
#....#.
#######
.....#.
.....#.
.....#.
.....#.
.......""",
    5: """
.......
#######
#......
#......
#####..
.....#.
......#
......#
......#
#....#.
.####..
.......""",
    6: """
.......
..####.
.#.....
#......
#......
#.###..
##...#.
#.....#
#.....#
.#...#.
..###..
.......""",
    7: """
.......
#######
......#
.....#.
....#..
...#...
...#...
..#....
..#....
..#....
..#....
.......""",
    8: """
.......
..###..
.#...#.
#.....#
.#...#.
..###..
.#...#.
#.....#
#.....#
.#...#.
..###..
.......""",
    9: """
.......
..###..
.#...#.
#.....#
#.....#
.#...##
..###.#
......#
......#
.....#.
.####..
.......""",
}


def _art_to_tensor(art: str) -> torch.Tensor:
    rows = [r for r in art.strip().splitlines()]
    if len(rows) != 12 or any(len(r) != 7 for r in rows):
        raise ValueError("each digit bitmap must be 12 rows of 7 characters")
    return torch.tensor([[1.0 if c == "#" else -1.0 for c in r] for r in rows])


#: (10, 12, 7) tensor of +1 (ink) / -1 (background): the RBF centres, one bitmap per digit.
DIGIT_BITMAPS: torch.Tensor = torch.stack([_art_to_tensor(_DIGIT_ART[d]) for d in range(10)])


class RBFOutput(nn.Module):
    r"""The output layer of LeNet-5: ten Euclidean RBF units, Eq. (7) of LeCun et al. (1998).

    Unit i outputs the penalty y_i = sum_j (x_j - w_ij)^2: the squared distance between F6's state
    x (84 values) and the bitmap w_i of class i (``DIGIT_BITMAPS``, flattened row by row). The
    bitmaps are fixed: stored as a buffer, not a parameter, so the layer has 84 x 10 = 840
    connections and no trainable parameter.

    Shape: (N, 84) -> (N, 10) penalties; the network's answer is the smallest.

    Explained in: chapter 5, "The output layer: distances, not dot products".
    """

    centres: torch.Tensor  # a buffer made in __init__

    def __init__(self, centres: torch.Tensor = DIGIT_BITMAPS) -> None:
        super().__init__()
        w = centres.reshape(centres.shape[0], -1).float()  # (10, 84): one bitmap per row
        self.register_buffer("centres", w.clone())  # fixed: a buffer, not a parameter
        self.out_features, self.in_features = w.shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_states(x, self.in_features)
        x = x.unsqueeze(1)  # (N, 1, 84): F6's state x_j, once for every class
        w = self.centres.unsqueeze(0)  # (1, 10, 84): the bitmaps w_ij
        return (x - w).pow(2).sum(-1)  # Eq. (7): y_i = sum_j (x_j - w_ij)^2, shape (N, 10)

    def num_connections(self, output_shape: Sequence[int]) -> int:
        return self.in_features * self.out_features  # every unit reads all 84 states

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, centres=fixed 7x12 bitmaps"


def _check_states(x: torch.Tensor, features: int) -> None:
    if x.ndim != 2 or x.shape[1] != features:
        hint = " (flatten it first: x.flatten(1))" if x.ndim > 2 and x[0].numel() == features else ""
        raise ValueError(f"RBFOutput expects F6's states, shape (N, {features}), got {tuple(x.shape)}{hint}")


def map_loss(penalties: torch.Tensor, target: torch.Tensor, j: float = 0.1, reduction: str = "mean") -> torch.Tensor:
    r"""The MAP criterion, Eq. (9) of LeCun et al. (1998), on RBF penalties (N, C) and targets (N,):

        E = (1/P) sum_p [ y_{D^p} + log(e^{-j} + sum_i e^{-y_i}) ]

    The log of a sum of exponentials is computed by ``torch.logsumexp``, which neither overflows
    nor underflows. ``reduction`` is 'mean' (Eq. 9), 'sum' or 'none' (one loss per example).

    Explained in: chapter 5, "The MAP loss and its constant $j$".
    """
    _check_map_inputs(penalties, target, j, reduction)
    # the first term: the penalty of the correct class, y_{D^p}
    y_correct = penalties.gather(1, target.view(-1, 1)).squeeze(1)
    # the second term: log(e^{-j} + sum_i e^{-y_i}), a log-sum-exp of -j and the -y_i
    minus_j = penalties.new_full((penalties.shape[0], 1), -float(j))
    competition = torch.logsumexp(torch.cat([minus_j, -penalties], dim=1), dim=1)
    loss = y_correct + competition  # one loss per example p
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


def _check_map_inputs(penalties: torch.Tensor, target: torch.Tensor, j: float, reduction: str) -> None:
    if penalties.ndim != 2:
        raise ValueError(f"penalties must be (N, classes), got {tuple(penalties.shape)}")
    if target.shape != penalties.shape[:1]:
        raise ValueError(f"target must be ({penalties.shape[0]},) class indices, got {tuple(target.shape)}")
    if j < 0:
        raise ValueError(f"j must be a non-negative constant, got {j}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def penalty_text(value: float) -> str:
    """A penalty as the book prints it: 3 significant digits (161, 95.4, 2.00, 0.612), whole numbers
    from 1,000 on, as the drawing pad of chapter 6 shows it. A winning penalty is small but, to any
    number of digits, not 0.

    Explained in: chapter 5, "Penalties of a trained network are not zero".
    """
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"a penalty is a squared distance, finite and >= 0; got {value}")
    return f"{value:.0f}" if value >= 999.5 else f"{value:#.3g}".rstrip(".")


def bitmap_distances(bitmaps: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(K, K) squared Euclidean distances between the flattened bitmaps: the penalty an RBF unit
    of Eq. (7) gives another class's bitmap. For +-1 vectors this is 4 x (number of cells in
    which two bitmaps differ). Chapter 5 uses it.

    Explained in: chapter 5, "How far apart are the bitmaps?".
    """
    b = DIGIT_BITMAPS if bitmaps is None else torch.as_tensor(bitmaps)
    b = b.reshape(b.shape[0], -1).double()
    return ((b[:, None, :] - b[None, :, :]) ** 2).sum(-1)


#: The two criteria of :func:`learnable_centres`: Eq. (8) alone, and the MAP loss of Eq. (9).
CRITERIA = ("first term only", "MAP loss")


def learnable_centres(
    criterion: str, steps: int = 600, n: int = 500, seed: int = 0, j: float = 0.1
) -> List[Tuple[int, float, float]]:
    """Sec. II.C's collapse, on a small problem: an "F6" and *learnable* RBF centres (fixed in
    LeNet-5), trained with ``criterion``: "first term only" (Eq. 8) or "MAP loss" (Eq. 9).

    The data are ``n`` points of 20 values in ten overlapping Gaussian clouds, one per class; "F6"
    is a linear layer and the scaled tanh, 84 units; the centres start at the ten bitmaps. Adam,
    learning rate 0.01, all points in every step. Returns ``(step, spread, accuracy)`` every 20
    steps: the mean squared distance between two different centres, and the fraction of points
    whose smallest penalty is their own class's.

    Explained in: chapter 5, "Why not just the first term? The collapse".
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    points, labels, f6 = _clouds_and_f6(n, seed)
    centres = nn.Parameter(DIGIT_BITMAPS.reshape(10, 84).clone())  # learnable here
    optimizer = torch.optim.Adam([*f6.parameters(), centres], lr=0.01)
    trace = []
    for step in range(steps + 1):
        penalties = (f6(points)[:, None, :] - centres[None]).pow(2).sum(-1)  # Eq. (7)
        if step % 20 == 0:
            trace.append((step, _spread(centres), _accuracy(penalties, labels)))
        if criterion == "first term only":
            loss = penalties.gather(1, labels[:, None]).mean()  # Eq. (8)
        else:
            loss = map_loss(penalties, labels, j)  # Eq. (9)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return trace


def _clouds_and_f6(n: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor, nn.Module]:
    """``n`` points in ten Gaussian clouds (unit spread around ten random centres in 20
    dimensions), their classes, and a fresh "F6" (Linear(20, 84) and the scaled tanh), all from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    points = torch.randn(10, 20, generator=g)[labels] + torch.randn(n, 20, generator=g)
    with torch.random.fork_rng(devices=[]):  # leaves the caller's random numbers alone
        torch.manual_seed(seed)
        f6 = nn.Sequential(nn.Linear(20, 84), ScaledTanh())
    return points, labels, f6


def _spread(centres: torch.Tensor) -> float:
    with torch.no_grad():
        k = centres.shape[0]
        return float((centres[:, None] - centres[None]).pow(2).sum(-1).sum() / (k * (k - 1)))


def _accuracy(penalties: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float((penalties.argmin(1) == labels).double().mean())


__all__ = [
    "DIGIT_BITMAPS",
    "RBFOutput",
    "map_loss",
    "penalty_text",
    "bitmap_distances",
    "CRITERIA",
    "learnable_centres",
]
