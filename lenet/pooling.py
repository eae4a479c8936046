"""Pooling from scratch, and the trainable subsampling layers S2 and S4 of the 1998 LeNet-5.

LeCun et al. (1998), Sec. II.B: in S2 "each unit ... is connected to a 2x2 neighborhood in the
corresponding feature map in C1. The four inputs to a unit in S2 are added, then multiplied by a
trainable coefficient, and added to a trainable bias. The result is passed through a sigmoidal
function." The sigmoidal function of the paper is its squashing function
f(a) = A tanh(S a) with A = 1.7159 and S = 2/3 (Sec. II.A and Appendix A), which is what
:class:`Subsampling` uses by default. Each map has 2 parameters; S2 has 12 and 5,880
connections, S4 has 32 and 2,000.

Modern networks use parameter-free max or average pooling instead; the from-scratch versions
below are loops written to be read, and are checked against ``torch.nn.functional``.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

#: The squashing function's amplitude A and slope S (LeCun et al. 1998, Eq. 6 and Appendix A):
#: f(a) = A tanh(S a), chosen so that f(1) = 1 and f(-1) = -1.
SQUASH_AMPLITUDE = 1.7159
SQUASH_SLOPE = 2.0 / 3.0


def _check_4d(x: torch.Tensor, what: str) -> None:
    if x.ndim != 4:
        raise ValueError(
            f"{what} expects a 4-D input (N, C, H, W), got shape {tuple(x.shape)}; "
            f"for a single 2-D map, add the batch and channel axes: x[None, None]"
        )


def _pooled_size(x: torch.Tensor, k: int, s: int, mode: str) -> Tuple[int, int]:
    """Check the input of :func:`pool2d_loops` and return the output's height and width,
    floor((H - k) / s) + 1 and floor((W - k) / s) + 1."""
    _check_4d(x, "pool2d_loops")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    if k < 1 or s < 1:
        raise ValueError(f"kernel_size and stride must be positive integers, got {k} and {s}")
    h, w = x.shape[-2:]
    if h < k or w < k:
        raise ValueError(f"a {k}x{k} window does not fit in a {h}x{w} input: use a smaller kernel_size")
    return (h - k) // s + 1, (w - k) // s + 1


def pool2d_loops(
    x: torch.Tensor, kernel_size: int = 2, stride: Optional[int] = None, mode: str = "max"
) -> torch.Tensor:
    """Max or average pooling, one output position at a time.

    ``x`` is (N, C, H, W). Each k x k window (``kernel_size``), moved ``stride`` pixels at a time
    (default k: windows that do not overlap), becomes one number: its largest value (``mode="max"``)
    or its mean (``mode="avg"``). Each map is pooled on its own.

    Explained in: chapter 3, "Max and average pooling".
    """
    k, s = kernel_size, stride or kernel_size
    out_h, out_w = _pooled_size(x, k, s, mode)
    reduce = torch.amax if mode == "max" else torch.mean
    out = x.new_empty(x.shape[0], x.shape[1], out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * s : i * s + k, j * s : j * s + k]  # (N, C, k, k): all images and maps
            out[:, :, i, j] = reduce(window, dim=(2, 3))
    return out


def pool2d_vectorized(x: torch.Tensor, kernel_size: int = 2, mode: str = "max") -> torch.Tensor:
    """Non-overlapping pooling with one reshape: (N, C, H, W) -> (N, C, H/k, W/k, k, k) -> reduce.

    Explained in: chapter 3, "Max and average pooling".
    """
    _check_4d(x, "pool2d_vectorized")
    k = kernel_size
    n, c, h, w = x.shape
    x = x[:, :, : h - h % k, : w - w % k]
    blocks = x.reshape(n, c, h // k, k, w // k, k)
    return blocks.amax(dim=(3, 5)) if mode == "max" else blocks.mean(dim=(3, 5))


class ScaledTanh(nn.Module):
    r"""The squashing function of LeCun et al. (1998), Eq. (6) and Appendix A:
    :math:`f(a) = A \tanh(S a)`, A = 1.7159, S = 2/3, so that f(1) = 1 and f(-1) = -1.

    Explained in: chapter 3, "The 1998 subsampling".
    """

    def __init__(self, amplitude: float = SQUASH_AMPLITUDE, slope: float = SQUASH_SLOPE) -> None:
        super().__init__()
        self.amplitude = amplitude
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)

    def extra_repr(self) -> str:
        return f"A={self.amplitude}, S={self.slope:.4f}"


class Subsampling(nn.Module):
    r"""The trainable subsampling layer of the 1998 LeNet-5 (S2, S4).

    .. math::  y_{c,i,j} = f\Big(\beta_c \sum_{u,v \in \{0,1\}} x_{c,2i+u,2j+v} + b_c\Big)

    with one coefficient :math:`\beta_c` and one bias :math:`b_c` per map (2 x channels
    parameters) and f the squashing function (:class:`ScaledTanh` unless ``activation`` names
    another module; ``nn.Identity()`` gives the bare affine map).

    Shape: (N, C, H, W) -> (N, C, H // 2, W // 2).

    Explained in: chapter 3, "The 1998 subsampling".
    """

    def __init__(self, channels: int, activation: Optional[nn.Module] = None, kernel_size: int = 2) -> None:
        super().__init__()
        self.channels = channels
        self.kernel_size = kernel_size
        self.coefficient = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        self.activation = activation if activation is not None else ScaledTanh()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in +-2.4 / fan-in, fan-in = 4 inputs (LeCun et al. 1998, Appendix A)."""
        bound = 2.4 / self.kernel_size**2
        nn.init.uniform_(self.coefficient, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """S2 and S4 (Sec. II.B): y = f(beta x (sum of a k x k window) + b), one beta and one b per map."""
        self._check_input(x)
        k = self.kernel_size
        # the k x k inputs of each window added (k*k times their mean)
        window_sum = F.avg_pool2d(x, k) * (k * k)
        # one trainable coefficient and one trainable bias per map, shaped to broadcast over (N, C, H, W)
        beta = self.coefficient.view(1, -1, 1, 1)
        b = self.bias.view(1, -1, 1, 1)
        f = self.activation  # the squashing function, A tanh(S a) by default
        return f(window_sum * beta + b)

    def _check_input(self, x: torch.Tensor) -> None:
        _check_4d(x, "Subsampling")
        if x.shape[1] != self.channels:
            raise ValueError(
                f"Subsampling({self.channels}) got {x.shape[1]} channels: input shape {tuple(x.shape)}; "
                f"make the layer with Subsampling({x.shape[1]}) or give it {self.channels} maps"
            )

    def num_connections(self, output_shape: Sequence[int]) -> int:
        """(k x k inputs + 1 bias) per output unit: S2 is (4 + 1) x 6 x 14 x 14 = 5,880."""
        return (self.kernel_size**2 + 1) * math.prod(output_shape[-3:])

    def extra_repr(self) -> str:
        return f"channels={self.channels}, kernel_size={self.kernel_size}"


def subsampling_loops(
    x: torch.Tensor,
    coefficient: torch.Tensor,
    bias: torch.Tensor,
    activation: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
) -> torch.Tensor:
    """Reference loop for :class:`Subsampling`: every output unit computed one at a time.

    ``activation`` defaults to the layer's own :class:`ScaledTanh`.

    Explained in: chapter 3, "The 1998 subsampling".
    """
    _check_4d(x, "subsampling_loops")
    activation = activation if activation is not None else ScaledTanh()
    n, c, h, w = x.shape
    out = x.new_empty(n, c, h // 2, w // 2)
    for b in range(n):
        for ch in range(c):
            for i in range(h // 2):
                for j in range(w // 2):
                    total = x[b, ch, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].sum()
                    out[b, ch, i, j] = activation(coefficient[ch] * total + bias[ch])
    return out


__all__ = [
    "SQUASH_AMPLITUDE",
    "SQUASH_SLOPE",
    "pool2d_loops",
    "pool2d_vectorized",
    "ScaledTanh",
    "Subsampling",
    "subsampling_loops",
]
