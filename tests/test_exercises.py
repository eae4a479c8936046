"""Every exercise checker of lenet.exercises on a right answer (PASS), a wrong one (FAIL, with its
hint) and a student edition's stub (NOT DONE YET)."""

from __future__ import annotations

import math
import statistics

import pytest
import torch
import torch.nn.functional as F

from lenet import exercises
from lenet.data import normalize_paper
from lenet.kernels import conv_output_size
from lenet.pooling import ScaledTanh
from lenet.rbf import map_loss
from lenet.sdlm import scaled_tanh_slope


def _central_differences(f, w, h=1e-6):
    grad = torch.zeros_like(w)
    for i in range(w.numel()):
        keep = float(w.view(-1)[i])
        w.view(-1)[i] = keep + h
        up = f(w)
        w.view(-1)[i] = keep - h
        down = f(w)
        w.view(-1)[i] = keep
        grad.view(-1)[i] = (up - down) / (2 * h)
    return grad


def _forward_differences(f, w, h=1e-3):  # one-sided, and a step too large: not accurate enough
    base, grad = f(w), torch.zeros_like(w)
    for i in range(w.numel()):
        keep = float(w.view(-1)[i])
        w.view(-1)[i] = keep + h
        grad.view(-1)[i] = (f(w) - base) / h
        w.view(-1)[i] = keep
    return grad


def _f6_curvature(x5, a6, h_x6):
    h_a6 = scaled_tanh_slope(a6, ScaledTanh()) ** 2 * h_x6
    return (h_a6.t() @ (x5 * x5)) / x5.shape[0], h_a6.mean(0)


# (checker, a right answer, a wrong answer, a word of the checker's hint)
CASES = [
    (
        exercises.check_layer_counts,
        lambda cin, cout, k, n: ((cin * k * k + 1) * cout, (cin * k * k + 1) * cout * n * n),
        lambda cin, cout, k, n: (cin * k * k * cout, cin * k * k * cout * n * n),
        "bias",
    ),
    (exercises.check_output_size, conv_output_size, lambda n, k, p, s: (n - k) // s + 1, "padded"),
    (
        exercises.check_conv2d,
        lambda x, k: F.conv2d(x[None, None], k[None, None])[0, 0],
        lambda x, k: F.conv2d(x[None, None], k.flip(0, 1)[None, None])[0, 0],
        "flip",
    ),
    (exercises.check_max_pool, F.max_pool2d, F.avg_pool2d, "maximum"),
    (
        exercises.check_subsampling,
        lambda x, c, b: F.avg_pool2d(x, 2) * 4 * c.view(1, -1, 1, 1) + b.view(1, -1, 1, 1),
        lambda x, c, b: F.avg_pool2d(x, 2) * c.view(1, -1, 1, 1) + b.view(1, -1, 1, 1),
        "sum (not average)",
    ),
    (
        exercises.check_table_parameters,
        lambda table, k: sum(len(t) * k * k + 1 for t in table),
        lambda table, k: sum(len(t) * k * k for t in table),
        "one bias",
    ),
    (
        exercises.check_rbf,
        lambda x, c: ((x[:, None] - c[None]) ** 2).sum(-1),
        lambda x, c: torch.cdist(x, c),
        "no square root",
    ),
    (
        exercises.check_map_loss,
        map_loss,
        lambda y, t, j: (y.gather(1, t[:, None])[:, 0] + torch.log(torch.exp(-y).sum(1))).mean(),
        "exp(-j)",
    ),
    (exercises.check_paper_normalization, normalize_paper, lambda x: x.float() / 255.0, "(0, -0.1)"),
    (
        exercises.check_accuracy,
        lambda logits, y: float((logits.argmax(1) == y).double().mean()),
        lambda logits, y: float((logits.argmax(0)[: len(y)] == y).double().mean()),
        "dim=1",
    ),
    (
        exercises.check_f6_curvature,
        _f6_curvature,
        lambda x5, a6, h: (_f6_curvature(x5, a6, h)[0] * 2, _f6_curvature(x5, a6, h)[1]),
        "input squared",
    ),
    (
        exercises.check_standard_error,
        lambda a, b: math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b)),
        lambda a, b: math.sqrt(statistics.pvariance(a) / len(a) + statistics.pvariance(b) / len(b)),
        "n - 1",
    ),
    (exercises.check_numerical_gradient, _central_differences, _forward_differences, "(f(w + h) - f(w - h))"),
    (
        exercises.check_multiply_adds,
        exercises._reference_multiply_adds,
        lambda model, size: sum(p.numel() for p in model.parameters()),
        "biases are not counted",
    ),
]


def test_every_checker_is_covered():
    checkers = {name for name in vars(exercises) if name.startswith("check_") and callable(getattr(exercises, name))}
    assert checkers == {c.__name__ for c, *_ in CASES}


@pytest.mark.parametrize("checker, right, wrong, hint", CASES, ids=[c[0].__name__ for c in CASES])
def test_checker_passes_right_fails_wrong_and_waits_for_a_stub(checker, right, wrong, hint, capsys):
    assert checker(right) is True
    assert capsys.readouterr().out.startswith("PASS ")
    assert checker(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("FAIL ") and "hint:" in out and hint in out, out

    def stub(*args):
        exercises.todo("Exercise 1.1 (a label)")

    assert checker(stub) is False
    out = capsys.readouterr().out
    assert out.startswith("NOT DONE YET ") and "not implemented yet" in out
    assert checker("not a function") is False
    assert "expected a function" in capsys.readouterr().out


def test_a_crashing_answer_is_a_failure_with_its_error(capsys):
    assert exercises.check_accuracy(lambda logits, y: 1 / 0) is False
    assert "raised ZeroDivisionError" in capsys.readouterr().out
