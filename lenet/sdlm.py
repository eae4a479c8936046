"""The stochastic diagonal Levenberg-Marquardt method of LeCun et al. (1998), Appendix C.

Each trainable parameter ``w_k`` gets its own step size

.. math::  \\epsilon_k = \\frac{\\eta}{\\mu + h_{kk}}

where ``h_kk`` estimates the second derivative of the loss with respect to ``w_k`` and ``mu``
(0.02 in the paper) keeps the step bounded, by ``eta / mu``, where the curvature is small. The
estimate is the paper's Gauss-Newton one (Appendix C): second derivatives are propagated backwards through the network like gradients,

* through a squashing function ``x = f(a)``:  ``h_a = f'(a)^2 h_x`` (the ``f''`` term dropped);
* through a weighted sum ``a_i = sum_j w_ij x_j``:  ``h_x_j = sum_i w_ij^2 h_a_i`` (cross terms
  between the ``a_i`` dropped), and for the weight ``h_w_ij = sum h_a_i x_j^2``, summed over every
  connection that shares the weight (all positions of a convolution kernel);

starting from the curvature of the loss with respect to F6's outputs, which for the RBF units and
the MAP loss (Eq. 9) is computed exactly here (:func:`output_curvature`). The estimate is the mean
over a set of patterns (500 in the paper, drawn before each pass and held fixed during it).

:func:`curvature` runs the sweep for :class:`lenet.models.LeNet5Classic`; :class:`SDLM` is the
optimiser that uses it. The paper updates after every pattern; :class:`SDLM` with ``batch_size``
B applies the sum of B patterns' gradients at once, each with its per-pattern step (the paper's
update, with the weights held fixed for B patterns), so ``batch_size=1`` is the paper's method.
Chapter 6 teaches it; ``tests/test_sdlm.py`` checks the sweep against independent computations.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .models import LeNet5Classic, unwrap
from .pooling import ScaledTanh

#: The paper's mu (Appendix C): the step is at most eta / mu.
MU = 0.02
#: Patterns on which the curvature is estimated before each pass (Appendix C).
CURVATURE_PATTERNS = 500


def scaled_tanh_slope(a: torch.Tensor, f: ScaledTanh) -> torch.Tensor:
    """f'(a) for f(a) = A tanh(S a): A S (1 - tanh(S a)^2).

    Chapters: none (the package and its command line use it).
    """
    t = torch.tanh(f.slope * a)
    return f.amplitude * f.slope * (1 - t * t)


def output_curvature(x: torch.Tensor, centres: torch.Tensor, j: float) -> torch.Tensor:
    """The second derivative of the MAP loss (Eq. 9) with respect to each of F6's outputs, per
    pattern: (N, 84). Exact: with penalties ``y_i = ||x - w_i||^2`` and ``q_i`` the softmax of
    ``-y`` over the ten classes and the constant ``j``,

    ``d2E/dx_m^2 = sum_i q_i g_im^2 - (sum_i q_i g_im)^2 + 2 q_j``,  ``g_im = 2 (x_m - w_im)``,

    the variance of the penalties' slopes under ``q`` plus twice the rubbish class's share ``q_j``
    (from the curvature of the penalties themselves). Both terms are >= 0, and neither depends on
    the pattern's label: the correct class's penalty has the same curvature as every other's.

    Chapters: 6.
    """
    y = ((x[:, None, :] - centres[None]) ** 2).sum(-1)                          # (N, 10) penalties
    logits = torch.cat([-y, x.new_full((x.shape[0], 1), -float(j))], dim=1)
    q = torch.softmax(logits, dim=1)
    q_classes, q_rubbish = q[:, :-1], q[:, -1:]
    g = 2 * (x[:, None, :] - centres[None])                                     # (N, 10, 84)
    mean = (q_classes[..., None] * g).sum(1)
    second = (q_classes[..., None] * g * g).sum(1)
    return second - mean * mean + 2 * q_rubbish


def _squared_backward(op, x: torch.Tensor, weight: torch.Tensor, h_out: torch.Tensor):
    """For a weighted sum ``out = op(x, weight)`` (a convolution or a linear map, no bias), the
    backward sweep of second derivatives: (h for each input, h for each weight, summed over the
    connections that share it). It is the gradient sweep of the same operation with squared inputs
    and squared weights, which autograd computes."""
    xs = (x * x).detach().requires_grad_(True)
    ws = (weight * weight).detach().requires_grad_(True)
    out = op(xs, ws)
    h_x, h_w = torch.autograd.grad(out, (xs, ws), h_out)
    return h_x, h_w


def _subsampling_backward(layer, x: torch.Tensor, h_out: torch.Tensor):
    """S2/S4: ``a = coefficient * (sum of 2x2 inputs) + bias``, then the squashing function.
    Returns (h for the inputs, h for the coefficients, h for the biases)."""
    k = layer.kernel_size
    s = F.avg_pool2d(x, k) * (k * k)
    a = s * layer.coefficient.view(1, -1, 1, 1) + layer.bias.view(1, -1, 1, 1)
    h_a = scaled_tanh_slope(a, layer.activation) ** 2 * h_out
    h_coef = (h_a * s * s).sum((0, 2, 3))
    h_bias = h_a.sum((0, 2, 3))
    h_s = h_a * (layer.coefficient.view(1, -1, 1, 1) ** 2)
    h_x = h_s.repeat_interleave(k, dim=2).repeat_interleave(k, dim=3)           # each input's weight is 1
    if h_x.shape[-2:] != x.shape[-2:]:
        h_x = F.pad(h_x, (0, x.shape[-1] - h_x.shape[-1], 0, x.shape[-2] - h_x.shape[-2]))
    return h_x, h_coef, h_bias


@torch.no_grad()
def curvature(model: nn.Module, x: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The paper's diagonal estimate of the loss's second derivative for every trainable parameter
    of the 1998 LeNet-5, averaged over the patterns ``x`` (N, 1, 32, 32) (no labels: the curvature
    of the MAP loss does not depend on them, :func:`output_curvature`).
    Returns ``{parameter name: h}``, each ``h`` shaped like its parameter, every entry >= 0.

    Chapters: 6.
    """
    m = unwrap(model)
    if not isinstance(m, LeNet5Classic) or m.options != {"output": "rbf", "activation": "scaled_tanh",
                                                          "pooling": "subsampling", "c3": "table"}:
        raise ValueError("the SDLM curvature sweep is written for the paper's LeNet5Classic (RBF output, scaled "
                         "tanh, trainable subsampling, Table I); use optimizer='adam' or 'sgd' for other networks")
    f = m.squash
    with torch.enable_grad():  # the squared sweeps use autograd
        # the forward pass, keeping what the sweep needs
        a1 = m.C1(x); x1 = f(a1)
        x2 = m.S2(x1)
        w3 = m.C3.dense_weight()
        a3 = F.conv2d(x2, w3, m.C3.bias); x3 = f(a3)
        x4 = m.S4(x3)
        a5 = m.C5(x4); x5 = f(a5).flatten(1)
        a6 = m.F6(x5); x6 = f(a6)
        h: Dict[str, torch.Tensor] = {}
        # the output: RBF units and the MAP loss, exactly
        h_x6 = output_curvature(x6, m.output.centres, m.j)
        # F6
        h_a6 = scaled_tanh_slope(a6, f) ** 2 * h_x6
        h_x5, h["F6.weight"] = _squared_backward(lambda u, w: u @ w.t(), x5, m.F6.weight, h_a6)
        h["F6.bias"] = h_a6.sum(0)
        # C5 (a convolution whose output is 1x1)
        h_a5 = scaled_tanh_slope(a5, f) ** 2 * h_x5.view_as(a5)
        h_x4, h["C5.weight"] = _squared_backward(F.conv2d, x4, m.C5.weight, h_a5)
        h["C5.bias"] = h_a5.sum((0, 2, 3))
        # S4
        h_x3, h["S4.coefficient"], h["S4.bias"] = _subsampling_backward(m.S4, x3, h_x4)
        # C3: the dense kernel's curvature, then the connected entries of Table I
        h_a3 = scaled_tanh_slope(a3, f) ** 2 * h_x3
        h_x2, h_w3 = _squared_backward(F.conv2d, x2, w3, h_a3)
        h["C3.weight"] = h_w3[m.C3.out_index, m.C3.in_index]
        h["C3.bias"] = h_a3.sum((0, 2, 3))
        # S2
        h_x1, h["S2.coefficient"], h["S2.bias"] = _subsampling_backward(m.S2, x1, h_x2)
        # C1
        h_a1 = scaled_tanh_slope(a1, f) ** 2 * h_x1
        _, h["C1.weight"] = _squared_backward(F.conv2d, x, m.C1.weight, h_a1)
        h["C1.bias"] = h_a1.sum((0, 2, 3))
    n = x.shape[0]
    return {name: (h[name] / n).detach() for name, _ in m.named_parameters() if name in h}  # the network's order


class SDLM(torch.optim.Optimizer):
    """Stochastic diagonal Levenberg-Marquardt (LeCun et al. 1998, Appendix C).

    ``p -= lr / (mu + h) * batch_size * grad``: the gradient of a batch's *mean* loss times
    ``batch_size`` is the sum of its patterns' gradients, each applied with the per-pattern step
    ``lr / (mu + h)`` (``lr`` is the paper's eta). ``h`` is set, one tensor per parameter, by
    :meth:`set_curvature` (before each pass); until then it is 0, and the step is ``lr / mu``.

    Chapters: none (the package and its command line use it).
    """

    def __init__(self, params: Iterable[nn.Parameter], lr: float = 5e-4, mu: float = MU, batch_size: int = 1) -> None:
        if not lr > 0 or not mu > 0 or batch_size < 1:
            raise ValueError(f"SDLM needs lr > 0, mu > 0 and batch_size >= 1, got {lr}, {mu}, {batch_size}")
        super().__init__(params, dict(lr=lr, mu=mu, batch_size=batch_size))

    def set_curvature(self, h: Dict[nn.Parameter, torch.Tensor]) -> None:
        """Hold these curvature estimates (``{parameter: h}``) fixed until the next call."""
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["h"] = h[p].to(p)

    def step_sizes(self) -> Dict[nn.Parameter, torch.Tensor]:
        """The per-pattern step size of every parameter, ``lr / (mu + h)``."""
        out = {}
        for group in self.param_groups:
            for p in group["params"]:
                h = self.state[p].get("h")
                out[p] = group["lr"] / (group["mu"] + (h if h is not None else torch.zeros_like(p)))
        return out

    @torch.no_grad()
    def step(self, closure: Optional[callable] = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                h = self.state[p].get("h")
                denom = group["mu"] + h if h is not None else group["mu"]
                p.addcdiv_(p.grad, denom if torch.is_tensor(denom) else torch.full_like(p, denom),
                           value=-group["lr"] * group["batch_size"])
        return loss


def step_size_ranges(h: Dict[str, torch.Tensor], lr: float = 5e-4, mu: float = MU) -> Dict[str, Tuple[float, float]]:
    """Per layer, the smallest and largest per-pattern step ``lr / (mu + h)`` of its parameters
    (weights and biases together), from :func:`curvature`'s ``{parameter name: h}``. Every step
    lies in (0, lr / mu]. Chapter 6 prints it for a fresh network.

    Chapters: 6.
    """
    layers: Dict[str, list] = {}
    for name, v in h.items():
        layers.setdefault(name.split(".")[0], []).append(lr / (mu + v.flatten()))
    return {layer: (float(torch.cat(v).min()), float(torch.cat(v).max())) for layer, v in layers.items()}


def named_curvature(model: nn.Module, x: torch.Tensor) -> Dict[nn.Parameter, torch.Tensor]:
    """:func:`curvature` keyed by the parameters themselves, for :meth:`SDLM.set_curvature`.

    Chapters: none (the package and its command line use it).
    """
    m = unwrap(model)
    h = curvature(m, x)
    return {p: h[name] for name, p in m.named_parameters() if p.requires_grad}


__all__ = ["MU", "CURVATURE_PATTERNS", "scaled_tanh_slope", "output_curvature", "curvature", "step_size_ranges",
           "named_curvature", "SDLM"]
