"""The C3 layer of LeNet-5 and its connection table (LeCun et al. 1998, Sec. II.B, Table I).

C3 has 16 feature maps of 10x10. Each is computed from a *subset* of the 6 maps of S2:

* maps 0-5 see 3 contiguous S2 maps,
* maps 6-11 see 4 contiguous S2 maps,
* maps 12-14 see 4 non-contiguous S2 maps,
* map 15 sees all 6.

("Contiguous" wraps around: map 4 sees S2 maps 4, 5 and 0.) The paper gives two reasons: it keeps
the number of connections "within reasonable bounds", and it "forces a break of symmetry in the
network": different maps are forced to extract different features because they get different
inputs. The layer has 1,516 trainable parameters and 151,600 connections.
"""

from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# fmt: off
#: Table I of LeCun et al. (1998): for each of the 16 C3 maps (the table's columns, in order),
#: the S2 maps (the table's rows) it is connected to.
C3_TABLE: Tuple[Tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)
# fmt: on

#: The four groups of the table, as the source text describes them: (name, C3 map indices).
C3_GROUPS: Tuple[Tuple[str, Tuple[int, ...]], ...] = (
    ("3 contiguous S2 maps", (0, 1, 2, 3, 4, 5)),
    ("4 contiguous S2 maps", (6, 7, 8, 9, 10, 11)),
    ("4 non-contiguous S2 maps", (12, 13, 14)),
    ("all 6 S2 maps", (15,)),
)


def connection_mask(table: Sequence[Sequence[int]] = C3_TABLE, in_maps: int = 6) -> torch.Tensor:
    """Boolean (in_maps, out_maps) matrix: ``mask[i, j]`` is True when output map j reads input map i.

    With the default table this is Table I of the paper exactly (rows: S2 maps, columns: C3 maps).

    Explained in: chapter 4, "Table I".
    """
    mask = torch.zeros(in_maps, len(table), dtype=torch.bool)
    for j, inputs in enumerate(table):
        for i in inputs:
            mask[i, j] = True
    return mask


def _validate_table(table: Sequence[Sequence[int]], in_channels: int) -> Tuple[Tuple[int, ...], ...]:
    out = []
    for j, inputs in enumerate(table):
        inputs = tuple(int(i) for i in inputs)
        if not inputs:
            raise ValueError(f"connection table entry {j} is empty: every output map needs at least one input")
        if len(set(inputs)) != len(inputs):
            raise ValueError(f"connection table entry {j} repeats an input map: {inputs}")
        bad = [i for i in inputs if not 0 <= i < in_channels]
        if bad:
            raise ValueError(f"connection table entry {j} names input maps {bad}, but there are only {in_channels}")
        out.append(inputs)
    return tuple(out)


class SparseConv2d(nn.Module):
    r"""A convolution in which output map :math:`j` sees only the input maps listed in ``table[j]``.

    .. math::
        y_j = b_j + \sum_{i \in \mathrm{table}[j]} w_{j,i} \star x_i

    Only the connected kernels are parameters: ``weight`` has shape
    (sum of len(table[j]), k, k), ``bias`` has shape (len(table),). For Table I that is
    60 kernels of 5x5 plus 16 biases = 1,516 parameters, against 16 x (6 x 25 + 1) = 2,416
    for a dense 6 -> 16 convolution. The forward pass scatters the kernels into a dense
    (out, in, k, k) weight whose unconnected entries are zero and calls ``F.conv2d``: the result
    is exactly the per-map sum above, and gradients flow only to connected kernels.

    Shape: input (N, in_channels, H, W) -> output (N, len(table), H - k + 1, W - k + 1).

    Explained in: chapter 4, "A sparse convolution".
    """

    out_index: torch.Tensor  # buffers made in __init__: stored kernel n joins input map in_index[n]
    in_index: torch.Tensor  # to output map out_index[n]

    def __init__(self, in_channels: int = 6, table: Sequence[Sequence[int]] = C3_TABLE, kernel_size: int = 5) -> None:
        super().__init__()
        self.table = _validate_table(table, in_channels)
        self.in_channels = in_channels
        self.out_channels = len(self.table)
        self.kernel_size = kernel_size
        # One stored kernel per connection of the table, output map after output map:
        # kernel n joins input map in_index[n] to output map out_index[n].
        out_idx = [j for j, inputs in enumerate(self.table) for _ in inputs]
        in_idx = [i for inputs in self.table for i in inputs]
        self.register_buffer("out_index", torch.tensor(out_idx, dtype=torch.long), persistent=False)
        self.register_buffer("in_index", torch.tensor(in_idx, dtype=torch.long), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(in_idx), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in +-2.4 / fan-in, fan-in = (connected maps) x k x k (LeCun et al. 1998, App. A)."""
        k2 = self.kernel_size**2
        with torch.no_grad():
            for j, ins in enumerate(self.table):
                bound = 2.4 / (len(ins) * k2)
                rows = (self.out_index == j).nonzero().flatten()
                self.weight[rows] = torch.empty(len(rows), self.kernel_size, self.kernel_size).uniform_(-bound, bound)
                self.bias[j] = torch.empty(()).uniform_(-bound, bound)

    def dense_weight(self) -> torch.Tensor:
        """The (out, in, k, k) weight of a dense convolution that computes the same maps: stored
        kernel n goes to output map ``out_index[n]``, input map ``in_index[n]``; every kernel
        the table does not list stays zero."""
        k = self.kernel_size
        dense = self.weight.new_zeros(self.out_channels, self.in_channels, k, k)
        dense[self.out_index, self.in_index] = self.weight
        return dense

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Output map j = bias j + the sum of its kernels applied to the input maps of table[j] (Sec. II.B)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SparseConv2d expects a batch of {self.in_channels} maps, "
                f"shape (N, {self.in_channels}, H, W); got {tuple(x.shape)}"
            )
        return F.conv2d(x, self.dense_weight(), self.bias)

    def num_connections(self, output_shape: Sequence[int]) -> int:
        """Connections = sum over maps of (inputs x k x k + 1 bias) x output positions per map."""
        positions = math.prod(output_shape[-2:])
        return sum(len(ins) * self.kernel_size**2 + 1 for ins in self.table) * positions

    def extra_repr(self) -> str:
        kernels = self.weight.shape[0]
        table = "Table I" if self.table == C3_TABLE else f"{kernels} of {self.out_channels * self.in_channels} kernels"
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, connections={table}"


def c3_loop(x: torch.Tensor, layer: SparseConv2d) -> torch.Tensor:
    """Reference implementation of :class:`SparseConv2d`: one ``F.conv2d`` per output map on its inputs.

    Slow and obviously right; used to check the scatter-into-dense forward pass.

    Explained in: chapter 4, "A sparse convolution".
    """
    maps: List[torch.Tensor] = []
    start = 0
    for j, inputs in enumerate(layer.table):
        kernels = layer.weight[start : start + len(inputs)]  # map j's kernels, stored after map j-1's
        start += len(inputs)
        # map j from its input maps only: a convolution with len(inputs) input maps and 1 output map
        maps.append(F.conv2d(x[:, list(inputs)], kernels.unsqueeze(0), layer.bias[j : j + 1]))
    return torch.cat(maps, dim=1)


__all__ = ["C3_TABLE", "C3_GROUPS", "connection_mask", "SparseConv2d", "c3_loop"]
