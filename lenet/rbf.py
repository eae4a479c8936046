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

from typing import Optional, Sequence

import torch
import torch.nn as nn

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
    r"""Euclidean RBF output units, Eq. (7) of LeCun et al. (1998): :math:`y_i = \|x - w_i\|^2`.

    The centres ``w_i`` are the flattened 7x12 :data:`DIGIT_BITMAPS`, kept fixed (a buffer, not a
    parameter) as in the paper. The layer has 84 x 10 = 840 connections and no trainable
    parameter.

    Shape: input (N, 84) -> output (N, 10) penalties (smaller is better).

    Chapters: 5.
    """

    def __init__(self, centres: torch.Tensor = DIGIT_BITMAPS) -> None:
        super().__init__()
        centres = centres.reshape(centres.shape[0], -1).float()
        self.register_buffer("centres", centres.clone())
        self.in_features = centres.shape[1]
        self.out_features = centres.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"RBFOutput expects input (N, {self.in_features}), got {tuple(x.shape)}")
        # ||x||^2 - 2 x.w + ||w||^2, exactly the sum of squared differences
        return (x.unsqueeze(1) - self.centres.unsqueeze(0)).pow(2).sum(-1)

    def num_connections(self, output_shape: Sequence[int]) -> int:
        return self.in_features * self.out_features

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, centres=fixed 7x12 bitmaps"


def map_loss(penalties: torch.Tensor, target: torch.Tensor, j: float = 0.1, reduction: str = "mean") -> torch.Tensor:
    r"""The MAP criterion of LeCun et al. (1998), Eq. (9).

    ``loss_p = y_{D_p} + log(exp(-j) + sum_i exp(-y_i))`` for each example p, computed with a
    log-sum-exp so it neither overflows nor underflows. ``penalties`` is (N, C), ``target`` is
    (N,) class indices. ``reduction`` is 'mean', 'sum' or 'none'.

    Chapters: 5.
    """
    if penalties.ndim != 2:
        raise ValueError(f"penalties must be (N, classes), got {tuple(penalties.shape)}")
    if target.shape != penalties.shape[:1]:
        raise ValueError(f"target must be ({penalties.shape[0]},) class indices, got {tuple(target.shape)}")
    if j < 0:
        raise ValueError(f"j must be a non-negative constant, got {j}")
    correct = penalties.gather(1, target.view(-1, 1)).squeeze(1)
    const = penalties.new_full((penalties.shape[0], 1), -float(j))
    competition = torch.logsumexp(torch.cat([const, -penalties], dim=1), dim=1)
    loss = correct + competition
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def bitmap_distances(bitmaps: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(K, K) squared Euclidean distances between the flattened bitmaps: the penalty an RBF unit
    of Eq. (7) gives another class's bitmap. For +-1 vectors this is 4 x (number of cells in
    which two bitmaps differ). Chapter 5 uses it.

    Chapters: 5.
    """
    b = DIGIT_BITMAPS if bitmaps is None else torch.as_tensor(bitmaps)
    b = b.reshape(b.shape[0], -1).double()
    return ((b[:, None, :] - b[None, :, :]) ** 2).sum(-1)


__all__ = ["DIGIT_BITMAPS", "RBFOutput", "map_loss", "bitmap_distances"]
