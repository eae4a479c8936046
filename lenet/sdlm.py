"""The stochastic diagonal Levenberg-Marquardt method of LeCun et al. (1998), Appendix C.

Each trainable parameter ``w_k`` gets its own step size

.. math::  \\epsilon_k = \\frac{\\eta}{\\mu + h_{kk}}

where ``h_kk`` estimates the second derivative of the loss with respect to ``w_k`` and ``mu``
(0.02 in the paper) keeps the step bounded, by ``eta / mu``, where the curvature is small. The
estimate is the paper's Gauss-Newton one (Appendix C): second derivatives are propagated
backwards through the network like gradients,

* through a squashing function ``x = f(a)``:  ``h_a = f'(a)^2 h_x`` (the ``f''`` term dropped);
* through a weighted sum ``a_i = sum_j w_ij x_j``:  ``h_x_j = sum_i w_ij^2 h_a_i`` (cross terms
  between the ``a_i`` dropped), and for the weight ``h_w_ij = sum h_a_i x_j^2``, summed over every
  connection that shares the weight (all positions of a convolution kernel);

starting from the curvature of the loss with respect to F6's outputs, which for the RBF units and
the MAP loss (Eq. 9) is computed exactly here (:func:`output_curvature`). The estimate is the mean
over a set of patterns (500 in the paper, drawn before each pass and held fixed during it).

:func:`curvature` runs the sweep for :class:`lenet.models.LeNet5Classic`; :class:`SDLM` is the
optimiser that uses it. :func:`newton_step` and :func:`loss_along` show the idea on one parameter:
Newton's step, from a slope and a curvature measured by finite differences. The paper updates
after every pattern; :class:`SDLM` with ``batch_size`` B applies the sum of B patterns' gradients
at once, each with its per-pattern step (the paper's update, with the weights held fixed for B
patterns), so ``batch_size=1`` is the paper's method.
Chapter 6 teaches it; ``tests/test_sdlm.py`` checks the sweep against independent computations.

Everything that changes between passes (the curvature, mu, eta) lives in tensors that
:meth:`SDLM.begin_pass` updates in place, so a batch's update is always the same few tensor
operations on the same memory: one step recorded as a CUDA graph serves the whole run.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple, cast, overload

import torch
import torch.nn as nn
import torch.nn.functional as F

from .c3 import SparseConv2d
from .data import DeviceLoader
from .models import LeNet5Classic, evaluating, unwrap
from .pooling import ScaledTanh, Subsampling
from .rbf import RBFOutput
from .step import _Classifier

#: The paper's first eta, the learning rate of its first two passes (Sec. III.B).
ETA = 5e-4
#: The paper's mu (Appendix C): the step is at most eta / mu.
MU = 0.02
#: Patterns on which the curvature is estimated before each pass (Appendix C).
CURVATURE_PATTERNS = 500
#: mu over the run: 'constant' (the paper's) or 'eta' (falling with the learning rate, so that the
#: largest step, eta / mu, stays where the first pass put it).
MU_SCHEDULES = ("constant", "eta")
#: The only network the sweep is written for: the paper's (the default options of LeNet5Classic).
PAPER_OPTIONS = {"output": "rbf", "activation": "scaled_tanh", "pooling": "subsampling", "c3": "table"}


def loss_along(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, name: str, index: Tuple[int, ...]
) -> Callable[[float], float]:
    """The loss of ``model`` on the batch ``(x, y)`` as a function of one parameter, entry
    ``index`` of the parameter called ``name``, all the others held: ``E = loss_along(...)``, then
    ``E(w)``. Each call sets the entry to ``w``, computes the loss and puts the entry back.
    Chapter 6 draws it and takes Newton's step on it (:func:`newton_step`).

    Explained in: chapter 6, "Newton's method in one dimension".
    """
    params = dict(model.named_parameters())
    if name not in params:
        raise ValueError(f"the model has no parameter {name!r}; its parameters are: {', '.join(params)}")
    param = params[name]

    @torch.no_grad()
    def loss(w: float) -> float:
        kept = param[index].clone()
        param[index] = w
        value = float(cast(_Classifier, model).loss(model(x), y))  # a LeNet-5: it has a loss method
        param[index] = kept
        return value

    return loss


def newton_step(loss: Callable[[float], float], w: float, dw: float = 1e-3) -> Tuple[float, float, float]:
    """Newton's method on a function of one variable (the idea behind Appendix C's step sizes):
    at ``w``, the slope ``g`` and the curvature ``h`` of ``loss``, measured by central
    differences over ``dw``, and the step ``-g / h`` to the lowest point of the parabola with that
    slope and curvature, ``loss(w) + g d + h d^2 / 2``. Returns ``(g, h, step)``.

    Explained in: chapter 6, "Newton's method in one dimension".
    """
    up, here, down = loss(w + dw), loss(w), loss(w - dw)
    g = (up - down) / (2 * dw)
    h = (up - 2 * here + down) / dw**2
    if h == 0:
        raise ValueError(f"the curvature at w = {w} is 0 (a straight line): Newton's step is undefined there")
    return g, h, -g / h


def scaled_tanh_slope(a: torch.Tensor, f: ScaledTanh) -> torch.Tensor:
    """f'(a) for f(a) = A tanh(S a): A S (1 - tanh(S a)^2)."""
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

    Explained in: chapter 6, "Exercises".
    """
    y = ((x[:, None, :] - centres[None]) ** 2).sum(-1)  # (N, 10) penalties
    logits = torch.cat([-y, x.new_full((x.shape[0], 1), -float(j))], dim=1)
    q = torch.softmax(logits, dim=1)
    q_classes, q_rubbish = q[:, :-1], q[:, -1:]
    g = 2 * (x[:, None, :] - centres[None])  # (N, 10, 84)
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


def _subsampling_backward(layer: Subsampling, x: torch.Tensor, h_out: torch.Tensor):
    """S2/S4: ``a = coefficient * (sum of 2x2 inputs) + bias``, then the squashing function.
    Returns (h for the inputs, h for the coefficients, h for the biases)."""
    k = layer.kernel_size
    s = F.avg_pool2d(x, k) * (k * k)
    a = s * layer.coefficient.view(1, -1, 1, 1) + layer.bias.view(1, -1, 1, 1)
    h_a = scaled_tanh_slope(a, cast(ScaledTanh, layer.activation)) ** 2 * h_out  # the scaled tanh (curvature checks)
    h_coef = (h_a * s * s).sum((0, 2, 3))
    h_bias = h_a.sum((0, 2, 3))
    h_s = h_a * (layer.coefficient.view(1, -1, 1, 1) ** 2)
    h_x = h_s.repeat_interleave(k, dim=2).repeat_interleave(k, dim=3)  # each input's weight is 1
    if h_x.shape[-2:] != x.shape[-2:]:
        h_x = F.pad(h_x, (0, x.shape[-1] - h_x.shape[-1], 0, x.shape[-2] - h_x.shape[-2]))
    return h_x, h_coef, h_bias


def _linear(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return x @ w.t()


@torch.no_grad()
def curvature(model: nn.Module, x: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The paper's diagonal estimate of the loss's second derivative for every trainable parameter
    of the 1998 LeNet-5, averaged over the patterns ``x`` (N, 1, 32, 32) (no labels: the curvature
    of the MAP loss does not depend on them, :func:`output_curvature`).
    Returns ``{parameter name: h}``, each ``h`` shaped like its parameter, every entry >= 0.

    Explained in: chapter 6, "The paper's estimate: Gauss-Newton".
    """
    m = unwrap(model)
    if not isinstance(m, LeNet5Classic) or m.options != PAPER_OPTIONS:
        raise ValueError(
            "the SDLM curvature sweep is written for the paper's LeNet5Classic (RBF output, scaled "
            "tanh, trainable subsampling, Table I); use optimizer='adam' or 'sgd' for other networks"
        )
    f = cast(ScaledTanh, m.squash)  # the paper's options (checked above) fix every layer's type
    with torch.enable_grad():  # the squared sweeps use autograd
        layer = m.forward_layers(x)  # the forward pass, with the weighted sums the sweep needs
        h: Dict[str, torch.Tensor] = {}
        # the output: RBF units and the MAP loss, exactly
        h_x6 = output_curvature(layer["F6"], cast(RBFOutput, m.output).centres, m.j)
        # F6
        h_a6 = scaled_tanh_slope(layer["F6 sum"], f) ** 2 * h_x6
        h_x5, h["F6.weight"] = _squared_backward(_linear, layer["C5"], m.F6.weight, h_a6)
        h["F6.bias"] = h_a6.sum(0)
        # C5 (a convolution whose output is 1x1)
        a5 = layer["C5 sum"].view(-1, m.C5.out_channels, 1, 1)
        h_a5 = scaled_tanh_slope(a5, f) ** 2 * h_x5.view_as(a5)
        h_x4, h["C5.weight"] = _squared_backward(F.conv2d, layer["S4"], m.C5.weight, h_a5)
        h["C5.bias"] = h_a5.sum((0, 2, 3))
        # S4
        h_x3, h["S4.coefficient"], h["S4.bias"] = _subsampling_backward(cast(Subsampling, m.S4), layer["C3"], h_x4)
        # C3: the dense kernel's curvature, then the connected entries of Table I
        h_a3 = scaled_tanh_slope(layer["C3 sum"], f) ** 2 * h_x3
        h_x2, h_w3 = _squared_backward(F.conv2d, layer["S2"], cast(SparseConv2d, m.C3).dense_weight(), h_a3)
        h["C3.weight"] = h_w3[m.C3.out_index, m.C3.in_index]
        h["C3.bias"] = h_a3.sum((0, 2, 3))
        # S2
        h_x1, h["S2.coefficient"], h["S2.bias"] = _subsampling_backward(cast(Subsampling, m.S2), layer["C1"], h_x2)
        # C1
        h_a1 = scaled_tanh_slope(layer["C1 sum"], f) ** 2 * h_x1
        _, h["C1.weight"] = _squared_backward(F.conv2d, x, m.C1.weight, h_a1)
        h["C1.bias"] = h_a1.sum((0, 2, 3))
    n = x.shape[0]
    return {name: (h[name] / n).detach() for name, _ in m.named_parameters() if name in h}  # the network's order


def curvature_sample(
    loader: DeviceLoader, patterns: int = CURVATURE_PATTERNS, seed: int = 0, epoch: int = 0
) -> torch.Tensor:
    """The ``patterns`` training patterns on which SDLM estimates its curvature before pass
    ``epoch``: original images of ``loader``, prepared as it prepares them, drawn from ``seed`` and
    the pass.
    """
    n = loader.images.shape[0]
    gen = torch.Generator().manual_seed(1_000_003 + seed + epoch)
    idx = torch.randperm(n, generator=gen)[:patterns].to(loader.device)
    return loader.transform(loader.images[idx])


class SDLM(torch.optim.Optimizer):
    """Stochastic diagonal Levenberg-Marquardt (LeCun et al. 1998, Appendix C).

    Each parameter moves by ``-lr / (mu + h) * batch_size * grad``: the gradient of a batch's
    *mean* loss times ``batch_size`` is the sum of its patterns' gradients, each applied with the
    per-pattern step ``lr / (mu + h)`` (``lr`` is the paper's eta).

    Before each pass, :meth:`begin_pass` estimates ``h`` with :func:`curvature` on
    ``curvature_patterns`` training patterns and holds it for the pass; with
    ``mu_schedule="eta"`` it also lowers ``mu`` in proportion to ``lr``. The step reads ``mu + h``
    and ``-lr * batch_size`` from tensors that only :meth:`begin_pass` (and a changed ``lr``)
    rewrite, in place: a step recorded as a CUDA graph replays correctly for the whole run, as
    long as ``lr`` changes only between passes (the paper's schedule does).

    Args:
        model: the 1998 LeNet-5 (its parameters are trained; its layers give the curvature).
        lr: eta (the paper's first is :data:`ETA`).
        mu: mu in the first pass (the paper's is :data:`MU`).
        batch_size: patterns per update (1 is the paper's method).
        mu_schedule: one of :data:`MU_SCHEDULES`.
        curvature_patterns: patterns the curvature is estimated on (:data:`CURVATURE_PATTERNS`).
        seed: draws the curvature's patterns (with the pass number).
    """

    def __init__(
        self,
        model: nn.Module,
        lr: float = ETA,
        mu: float = MU,
        batch_size: int = 1,
        mu_schedule: str = "constant",
        curvature_patterns: int = CURVATURE_PATTERNS,
        seed: int = 0,
    ) -> None:
        if not lr > 0 or not mu > 0 or batch_size < 1 or curvature_patterns < 1:
            raise ValueError(
                f"SDLM needs lr > 0, mu > 0, batch_size >= 1 and curvature_patterns >= 1, got {lr}, {mu}, "
                f"{batch_size}, {curvature_patterns}"
            )
        if mu_schedule not in MU_SCHEDULES:
            raise ValueError(f"unknown mu_schedule {mu_schedule!r}; choose {' or '.join(MU_SCHEDULES)}")
        self.model = unwrap(model)
        params = [p for p in self.model.parameters() if p.requires_grad]
        super().__init__(params, dict(lr=lr, mu=mu, batch_size=batch_size))
        self.first_lr, self.first_mu = lr, mu
        self.mu_schedule, self.curvature_patterns, self.seed = mu_schedule, curvature_patterns, seed
        for group in self.param_groups:
            group["scale"] = torch.empty((), device=params[0].device)  # -lr * batch_size, for the step
            group["scale_lr"] = None  # the lr it was computed from
            for p in group["params"]:
                self.state[p]["h"] = torch.zeros_like(p)  # until the first curvature
                self.state[p]["denominator"] = torch.empty_like(p)  # mu + h, for the step
        self._refresh()

    def set_curvature(self, h: Dict[nn.Parameter, torch.Tensor]) -> None:
        """Hold these curvature estimates (``{parameter: h}``) fixed until the next call."""
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["h"].copy_(h[p])
        self._refresh()

    def begin_pass(self, loader: DeviceLoader, epoch: int) -> None:
        """The paper's work before each pass: ``h`` from :func:`curvature` on
        ``curvature_patterns`` patterns of ``loader`` (:func:`curvature_sample`), held for the
        pass; with ``mu_schedule="eta"``, mu falls with eta (the largest step, eta / mu, stays as
        in pass 1)."""
        x = curvature_sample(loader, self.curvature_patterns, self.seed, epoch)
        with evaluating(self.model):
            h = curvature(self.model, x)
        params = dict(self.model.named_parameters())
        for group in self.param_groups:
            if self.mu_schedule == "eta":
                group["mu"] = self.first_mu * group["lr"] / self.first_lr
        self.set_curvature({params[name]: v for name, v in h.items()})

    def _refresh(self) -> None:
        """Write ``mu + h`` and ``-lr * batch_size`` into the tensors the step reads, in place."""
        for group in self.param_groups:
            group["scale"].fill_(-group["lr"] * group["batch_size"])
            group["scale_lr"] = group["lr"]
            for p in group["params"]:
                torch.add(self.state[p]["h"], group["mu"], out=self.state[p]["denominator"])

    def step_sizes(self) -> Dict[nn.Parameter, torch.Tensor]:
        """The per-pattern step size of every parameter, ``lr / (mu + h)``."""
        return {
            p: group["lr"] / (group["mu"] + self.state[p]["h"]) for group in self.param_groups for p in group["params"]
        }

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], float]) -> float: ...

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """``p += (-lr * batch_size) * grad / (mu + h)`` for every parameter, as a few tensor
        operations over all of them at once (``torch._foreach_*``, the multi-tensor kernels of
        PyTorch's own optimisers)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            if group["lr"] != group["scale_lr"]:  # a schedule changed lr within the pass (eager runs only)
                self._refresh()
            params = [p for p in group["params"] if p.grad is not None]
            update = torch._foreach_mul([p.grad for p in params], group["scale"])
            torch._foreach_div_(update, [self.state[p]["denominator"] for p in params])
            torch._foreach_add_(params, update)
        return loss


def step_size_ranges(h: Dict[str, torch.Tensor], lr: float = ETA, mu: float = MU) -> Dict[str, Tuple[float, float]]:
    """Per layer, the smallest and largest per-pattern step ``lr / (mu + h)`` of its parameters
    (weights and biases together), from :func:`curvature`'s ``{parameter name: h}``. Every step
    lies in (0, lr / mu]. Chapter 6 prints it for a fresh network.

    Explained in: chapter 6, "The steps of a fresh network".
    """
    layers: Dict[str, list] = {}
    for name, v in h.items():
        layers.setdefault(name.split(".")[0], []).append(lr / (mu + v.flatten()))
    return {layer: (float(torch.cat(v).min()), float(torch.cat(v).max())) for layer, v in layers.items()}


__all__ = [
    "ETA",
    "MU",
    "CURVATURE_PATTERNS",
    "MU_SCHEDULES",
    "PAPER_OPTIONS",
    "loss_along",
    "newton_step",
    "scaled_tanh_slope",
    "output_curvature",
    "curvature",
    "curvature_sample",
    "step_size_ranges",
    "SDLM",
]
