"""Checkers for the book's implementation exercises.

Each ``check_*`` function runs the student's function on random cases it generates, compares
with the reference in this package, and prints one clear line: ``PASS`` with what was checked,
or ``FAIL`` with the first failing case and a hint -- never the solution. It returns ``True`` or
``False`` so that tests and autograders can use it too.

A student edition of a notebook replaces each solution with ``exercises.todo("Exercise N.M
(label)")`` (see ``scripts/make_editions.py``), which raises :class:`NotImplementedYet`, a
``NotImplementedError``; the checkers recognise it and print ``NOT DONE YET`` instead of a
traceback.

Usage in a notebook::

    from lenet import exercises
    def my_conv2d(image, kernel):
        ...
    exercises.check_conv2d(my_conv2d)
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Iterable, Sequence, Tuple

import torch
import torch.nn.functional as F

from .c3 import C3_TABLE
from .data import normalize_paper
from .kernels import conv_output_size
from .models import LeNet5Modern
from .pooling import ScaledTanh
from .rbf import DIGIT_BITMAPS, map_loss
from .sdlm import scaled_tanh_slope


class NotImplementedYet(NotImplementedError):
    """What a student edition's stub raises; a plain ``NotImplementedError`` is treated the same."""


def todo(exercise: str) -> None:
    """Raise the friendly error a student edition puts where a solution was removed."""
    raise NotImplementedYet(f"{exercise}: not implemented yet -- write your solution in this cell, then run it again.")


class _Failure(Exception):
    pass


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().double().cpu()
    return torch.as_tensor(x).double()


def _close(got: Any, want: torch.Tensor, what: str, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    try:
        g = _as_tensor(got)
    except Exception:
        raise _Failure(f"{what}: returned {type(got).__name__}, which is not a tensor or array") from None
    w = want.double().cpu()
    if g.shape != w.shape:
        raise _Failure(f"{what}: returned shape {tuple(g.shape)}, expected {tuple(w.shape)}")
    if not torch.allclose(g, w, atol=atol, rtol=rtol):
        err = (g - w).abs().max().item()
        raise _Failure(f"{what}: values differ from the reference by up to {err:.3g}")


def _run(name: str, fn: Callable, cases: Iterable[Tuple[str, Callable[[], None]]], hint: str) -> bool:
    if not callable(fn):
        print(f"FAIL {name}: expected a function, got {type(fn).__name__}")
        return False
    n = 0
    for label, case in cases:
        try:
            case()
        except NotImplementedError as exc:
            print(f"NOT DONE YET {name}: {exc or 'the function raises NotImplementedError'}")
            return False
        except _Failure as exc:
            print(f"FAIL {name} on {label}: {exc}\n     hint: {hint}")
            return False
        except Exception as exc:  # the student's code crashed
            print(f"FAIL {name} on {label}: raised {type(exc).__name__}: {exc}\n     hint: {hint}")
            return False
        n += 1
    print(f"PASS {name}: {n} random cases agree with the reference")
    return True


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- chapter 1


def check_layer_counts(fn: Callable[[int, int, int, int], Tuple[int, int]], seed: int = 0) -> bool:
    """``fn(in_maps, out_maps, k, out_size) -> (parameters, connections)`` of a dense convolution
    layer with biases and square ``out_size`` x ``out_size`` output maps.

    Explained in: chapter 1, "Exercises".
    """
    g = _gen(seed)

    def case(cin, cout, k, n):
        def run():
            got = fn(cin, cout, k, n)
            params = (cin * k * k + 1) * cout
            want = (params, params * n * n)
            if tuple(int(v) for v in got) != want:
                raise _Failure(f"fn({cin}, {cout}, {k}, {n}) returned {tuple(got)}, expected a different pair")

        return run

    cases = [("C1 (1, 6, 5, 28)", case(1, 6, 5, 28))]
    for i in range(8):
        cin, cout, k, n = (
            int(torch.randint(1, 20, (1,), generator=g)),
            int(torch.randint(1, 50, (1,), generator=g)),
            int(torch.randint(1, 8, (1,), generator=g)),
            int(torch.randint(1, 30, (1,), generator=g)),
        )
        cases.append((f"case {i}", case(cin, cout, k, n)))
    return _run(
        "layer_counts",
        fn,
        cases,
        "each output map has one k x k kernel per input map plus one bias; every output unit uses all of them",
    )


# --------------------------------------------------------------------------- chapter 2


def check_output_size(fn: Callable[..., int], seed: int = 0) -> bool:
    """``fn(n, k, padding, stride) -> int``: the output length of a convolution.

    Explained in: chapter 2, "Exercises".
    """
    g = _gen(seed)

    def case(n, k, p, s):
        def run():
            got = fn(n, k, p, s)
            if int(got) != conv_output_size(n, k, p, s):
                raise _Failure(f"fn(n={n}, k={k}, padding={p}, stride={s}) returned {got}")

        return run

    cases = [("C1: n=32, k=5", case(32, 5, 0, 1)), ("padding 2: n=28, k=5", case(28, 5, 2, 1))]
    while len(cases) < 12:
        n, k = int(torch.randint(5, 64, (1,), generator=g)), int(torch.randint(1, 8, (1,), generator=g))
        p, s = int(torch.randint(0, 4, (1,), generator=g)), int(torch.randint(1, 4, (1,), generator=g))
        if n + 2 * p >= k:
            cases.append((f"n={n}, k={k}, p={p}, s={s}", case(n, k, p, s)))
    return _run(
        "output_size",
        fn,
        cases,
        "count the positions the kernel fits in the padded input, stepping by the stride; use floor division",
    )


def check_conv2d(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], seed: int = 0) -> bool:
    """``fn(image (H, W), kernel (k, k)) -> (H-k+1, W-k+1)``: 'valid' cross-correlation, no flip.

    Explained in: chapter 2, "Exercises".
    """
    g = _gen(seed)

    def case(h, w, k):
        def run():
            x = torch.randn(h, w, generator=g, dtype=torch.float64)
            kern = torch.randn(k, k, generator=g, dtype=torch.float64)
            want = F.conv2d(x[None, None], kern[None, None])[0, 0]
            _close(fn(x.clone(), kern.clone()), want, f"a {h}x{w} image with a {k}x{k} kernel")

        return run

    cases = [("asymmetric 3x3 kernel", case(6, 7, 3))] + [
        (
            f"random case {i}",
            case(
                int(torch.randint(5, 20, (1,), generator=g)),
                int(torch.randint(5, 20, (1,), generator=g)),
                int(torch.randint(1, 6, (1,), generator=g)),
            ),
        )
        for i in range(6)
    ]
    return _run(
        "conv2d",
        fn,
        cases,
        "PyTorch's conv2d does not flip the kernel: out[i, j] = sum over u, v of kernel[u, v] * image[i + u, j + v]",
    )


# --------------------------------------------------------------------------- chapter 3


def check_max_pool(fn: Callable[[torch.Tensor, int], torch.Tensor], seed: int = 0) -> bool:
    """``fn(x (N, C, H, W), k) -> (N, C, H // k, W // k)``: non-overlapping max pooling.

    Explained in: chapter 3, "Exercises".
    """
    g = _gen(seed)

    def case(n, c, h, w, k):
        def run():
            x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
            _close(fn(x.clone(), k), F.max_pool2d(x, k), f"x of shape {(n, c, h, w)} with k={k}")

        return run

    cases = [
        ("2x2 on 28x28", case(2, 6, 28, 28, 2)),
        ("odd size 7x9", case(1, 3, 7, 9, 2)),
        ("k=3", case(2, 2, 9, 12, 3)),
    ]
    return _run(
        "max_pool", fn, cases, "take the maximum of each k x k block; drop rows/columns that do not fill a block"
    )


def check_subsampling(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor], seed: int = 0) -> bool:
    """``fn(x (N, C, H, W), coefficient (C,), bias (C,))``: the 1998 subsampling before the squashing,
    i.e. coefficient x (sum of each 2x2 block) + bias.

    Explained in: chapter 3, "Exercises".
    """
    g = _gen(seed)

    def case(n, c, h, w):
        def run():
            x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
            coef = torch.randn(c, generator=g, dtype=torch.float64)
            bias = torch.randn(c, generator=g, dtype=torch.float64)
            want = F.avg_pool2d(x, 2) * 4 * coef.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)
            _close(fn(x.clone(), coef.clone(), bias.clone()), want, f"x of shape {(n, c, h, w)}")

        return run

    cases = [
        ("S2-sized input", case(2, 6, 28, 28)),
        ("S4-sized input", case(3, 16, 10, 10)),
        ("one map", case(1, 1, 4, 6)),
    ]
    return _run(
        "subsampling",
        fn,
        cases,
        "sum (not average) the four inputs, then multiply by that map's coefficient and add its bias",
    )


# --------------------------------------------------------------------------- chapter 4


def check_table_parameters(fn: Callable[[Sequence[Sequence[int]], int], int], seed: int = 0) -> bool:
    """``fn(table, k) -> int``: trainable parameters of a sparsely connected convolution whose
    output map j reads the input maps ``table[j]`` through k x k kernels, with one bias per map.

    Explained in: chapter 4, "Exercises".
    """
    g = _gen(seed)

    def case(table, k):
        def run():
            want = sum(len(t) * k * k + 1 for t in table)
            got = fn(table, k)
            if int(got) != want:
                raise _Failure(f"a table of {len(table)} maps with k={k}: returned {got}")

        return run

    cases = [("Table I, k=5", case(C3_TABLE, 5))]
    for i in range(6):
        n_out = int(torch.randint(1, 20, (1,), generator=g))
        table = [
            tuple(torch.randperm(6, generator=g)[: int(torch.randint(1, 7, (1,), generator=g))].tolist())
            for _ in range(n_out)
        ]
        cases.append((f"random table {i}", case(table, int(torch.randint(1, 7, (1,), generator=g)))))
    return _run(
        "table_parameters", fn, cases, "each output map has one k x k kernel per connected input map, and one bias"
    )


# --------------------------------------------------------------------------- chapter 5


def check_rbf(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], seed: int = 0) -> bool:
    """``fn(x (N, 84), centres (10, 84)) -> (N, 10)``: squared Euclidean distances, Eq. (7).

    Explained in: chapter 5, "Exercises".
    """
    g = _gen(seed)

    def case(n):
        def run():
            x = torch.randn(n, 84, generator=g, dtype=torch.float64)
            c = DIGIT_BITMAPS.reshape(10, -1).double()
            want = ((x[:, None] - c[None]) ** 2).sum(-1)
            _close(fn(x.clone(), c.clone()), want, f"{n} inputs")

        return run

    return _run(
        "rbf",
        fn,
        [("one input", case(1)), ("a batch of 5", case(5)), ("a batch of 64", case(64))],
        "y_i is the squared distance (no square root) from x to centre i; the output has one column per centre",
    )


def check_map_loss(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor], seed: int = 0) -> bool:
    """``fn(penalties (N, 10), target (N,), j) -> scalar``: the MAP criterion, Eq. (9), averaged.

    Explained in: chapter 5, "Exercises".
    """
    g = _gen(seed)

    def case(n, j, scale):
        def run():
            y = torch.rand(n, 10, generator=g, dtype=torch.float64) * scale
            t = torch.randint(0, 10, (n,), generator=g)
            _close(
                fn(y.clone(), t.clone(), j),
                map_loss(y, t, j),
                f"{n} examples, j={j}, penalties up to {scale}",
                atol=1e-5,
            )

        return run

    cases = [
        ("small penalties", case(4, 0.1, 1.0)),
        ("j = 1", case(8, 1.0, 5.0)),
        ("large penalties", case(8, 0.1, 500.0)),
    ]
    return _run(
        "map_loss",
        fn,
        cases,
        "per example: y[target] + log(exp(-j) + sum_i exp(-y_i)); "
        "use torch.logsumexp so large penalties do not underflow",
    )


# --------------------------------------------------------------------------- chapters 6 and 7


def check_paper_normalization(fn: Callable[[torch.Tensor], torch.Tensor], seed: int = 0) -> bool:
    """``fn(uint8 images) -> float``: background 0 -> -0.1, foreground 255 -> 1.175, linear between.

    Explained in: chapter 6, "Exercises".
    """
    g = _gen(seed)

    def case(shape):
        def run():
            x = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
            _close(fn(x.clone()), normalize_paper(x), f"uint8 images of shape {shape}", atol=1e-5)

        return run

    cases = [
        (
            "the extremes",
            lambda: _close(
                fn(torch.tensor([0, 255], dtype=torch.uint8)), torch.tensor([-0.1, 1.175]), "[0, 255]", atol=1e-5
            ),
        ),
        ("a batch", case((4, 28, 28))),
    ]
    return _run(
        "paper_normalization", fn, cases, "a straight line through (0, -0.1) and (255, 1.175); convert to float first"
    )


def check_accuracy(fn: Callable[[torch.Tensor, torch.Tensor], float], seed: int = 0) -> bool:
    """``fn(logits (N, 10), labels (N,)) -> float``: the fraction of rows whose largest logit is the label.

    Explained in: chapter 7, "Exercises".
    """
    g = _gen(seed)

    def case(n):
        def run():
            logits = torch.randn(n, 10, generator=g)
            labels = torch.randint(0, 10, (n,), generator=g)
            want = (logits.argmax(1) == labels).double().mean()
            got = fn(logits.clone(), labels.clone())
            got = float(got.item() if isinstance(got, torch.Tensor) else got)
            if not math.isclose(got, float(want), abs_tol=1e-6):
                raise _Failure(f"{n} examples: returned {got:.4f}; is it a fraction in [0, 1]?")

        return run

    return _run(
        "accuracy",
        fn,
        [(f"{n} examples", case(n)) for n in (1, 10, 1000)],
        "compare argmax over the class dimension (dim=1) with the labels, and average",
    )


def check_f6_curvature(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], Tuple[torch.Tensor, torch.Tensor]], seed: int = 0
) -> bool:
    """``fn(x5 (N, 120), a6 (N, 84), h_x6 (N, 84)) -> (h_weight (84, 120), h_bias (84,))``: the
    paper's diagonal curvature estimate (Appendix C) for F6, averaged over the N patterns, from
    C5's outputs ``x5``, F6's weighted sums ``a6`` and the curvature ``h_x6`` of the loss with
    respect to F6's outputs ``x6 = f(a6)`` (the scaled tanh of the 1998 network).

    Explained in: chapter 6, "Exercises".
    """
    g = _gen(seed)
    f = ScaledTanh()

    def case(n):
        def run():
            x5 = torch.randn(n, 120, generator=g, dtype=torch.float64)
            a6 = torch.randn(n, 84, generator=g, dtype=torch.float64)
            h_x6 = torch.rand(n, 84, generator=g, dtype=torch.float64) * 3
            h_a6 = scaled_tanh_slope(a6, f) ** 2 * h_x6
            got = fn(x5.clone(), a6.clone(), h_x6.clone())
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise _Failure("return a pair (h_weight, h_bias)")
            _close(got[1], h_a6.mean(0), f"h_bias for {n} patterns")
            _close(got[0], (h_a6.t() @ (x5 * x5)) / n, f"h_weight for {n} patterns")

        return run

    return _run(
        "f6_curvature",
        fn,
        [(f"{n} pattern(s)", case(n)) for n in (1, 7, 64)],
        "h_a = f'(a)^2 h_x with f'(a) = A S (1 - tanh(S a)^2); a weight's h is h_a of its unit times its "
        "input squared; average over the patterns",
    )


# --------------------------------------------------------------------------- chapter 8


def check_standard_error(fn: Callable[[Sequence[float], Sequence[float]], float], seed: int = 0) -> bool:
    """``fn(errors_a, errors_b) -> float``: the standard error of the difference of two runs' mean
    test errors from their seeds' errors, ``sqrt(s_a^2 / n_a + s_b^2 / n_b)`` with ``s`` the
    sample standard deviation (divided by ``n - 1``), as :func:`lenet.report.standard_error_of_difference`
    computes it from two runs' summaries.

    Explained in: chapter 8, "Exercises".
    """
    g = _gen(seed)

    def variance_of_mean(x: Sequence[float], ddof: int = 1) -> float:
        """s^2 / n, with the sample variance s^2 (ddof 1: divided by n - 1) or the population one (ddof 0)."""
        mean = sum(x) / len(x)
        return sum((v - mean) ** 2 for v in x) / (len(x) - ddof) / len(x)

    def case(n_a, n_b):
        def run():
            a = (0.01 + 0.002 * torch.randn(n_a, generator=g, dtype=torch.float64)).tolist()
            b = (0.012 + 0.003 * torch.randn(n_b, generator=g, dtype=torch.float64)).tolist()
            got = fn(list(a), list(b))
            try:
                got = float(got)
            except (TypeError, ValueError):
                raise _Failure(f"returned {type(got).__name__}; return a number") from None
            want = math.sqrt(variance_of_mean(a) + variance_of_mean(b))
            if math.isclose(got, math.sqrt(variance_of_mean(a, 0) + variance_of_mean(b, 0)), rel_tol=1e-9):
                raise _Failure("this divides by n; the sample standard deviation divides by n - 1")
            if not math.isclose(got, want, rel_tol=1e-6):
                raise _Failure(f"returned {got:.6g}, expected {want:.6g}")

        return run

    cases = [(f"{n_a} and {n_b} seeds", case(n_a, n_b)) for n_a, n_b in ((3, 3), (2, 5), (20, 3))]
    return _run(
        "standard_error",
        fn,
        cases,
        "for each run: the sample variance of its errors (divide by n - 1) over its n; add the two; take the root",
    )


# --------------------------------------------------------------------------- chapter 0


def check_numerical_gradient(fn: Callable[..., torch.Tensor], seed: int = 0) -> bool:
    """``fn(f, w) -> tensor shaped like w``: the gradient of ``f`` (a function of a float64 tensor
    ``w`` that returns a number) at ``w``, one entry at a time by the central difference
    ``(f(w + h e_i) - f(w - h e_i)) / 2h``; ``w`` must hold its values again afterwards. Compared
    with autograd's gradient.

    Explained in: chapter 0, "Exercises".
    """
    g = _gen(seed)

    def case(shape):
        def run():
            w = torch.randn(shape, generator=g, dtype=torch.float64)
            a = torch.randn(shape, generator=g, dtype=torch.float64)

            def f(v: torch.Tensor) -> float:
                return float((a * v**3).sum() + torch.sin(v).sum() * (v**2).sum() / 4)

            start = w.clone().requires_grad_(True)
            (a * start**3).sum().add(torch.sin(start).sum() * (start**2).sum() / 4).backward()
            kept = w.clone()
            got = fn(f, w)
            if not torch.allclose(w, kept, rtol=0, atol=1e-12):
                raise _Failure("w was changed: put every entry back after the two evaluations")
            _close(got, start.grad, f"a function of a tensor of shape {tuple(shape)}", atol=1e-6, rtol=1e-6)

        return run

    return _run(
        "numerical_gradient",
        fn,
        [(f"shape {s}", case(s)) for s in ((3,), (2, 4))],
        "for each entry i: keep its value, set it to value + h and evaluate f, to value - h and "
        "evaluate f, put the value back; the entry's gradient is (f(w + h) - f(w - h)) / (2h)",
    )


# --------------------------------------------------------------------------- chapter 9


def _reference_multiply_adds(model: torch.nn.Module, input_size: int) -> int:
    """Multiply-adds of one image's forward pass through the model's ``nn.Conv2d`` and ``nn.Linear``
    layers, weights only: each convolution output costs one product per weight of its filter."""
    total = 0

    def count(module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            total += output[0].numel() * module.weight[0].numel()
        elif isinstance(module, torch.nn.Linear):
            total += module.weight.numel()

    hooks = [m.register_forward_hook(count) for m in model.modules()]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, input_size, input_size))
    finally:
        for h in hooks:
            h.remove()
    return total


def _random_network(g: torch.Generator, input_size: int) -> torch.nn.Module:
    """A small random stack: two convolutions (random widths, kernels, strides, padding), ReLU,
    max pooling, then two linear layers."""

    def pick(*choices: int) -> int:
        return choices[int(torch.randint(len(choices), (1,), generator=g))]

    c1, c2 = pick(2, 4, 6), pick(3, 8)
    convs = torch.nn.Sequential(
        torch.nn.Conv2d(1, c1, pick(3, 5), stride=pick(1, 2), padding=pick(0, 1, 2)),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(c1, c2, 3, padding=pick(0, 1)),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
    )
    with torch.no_grad():
        width = convs(torch.zeros(1, 1, input_size, input_size)).shape[1]
    hidden = pick(16, 50)
    return torch.nn.Sequential(convs, torch.nn.Linear(width, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))


def check_multiply_adds(fn: Callable[[torch.nn.Module, int], int], seed: int = 0) -> bool:
    """``fn(model, input_size) -> int``: the multiply-adds of one image's forward pass (one channel,
    ``input_size`` x ``input_size``) through the ``nn.Conv2d`` and ``nn.Linear`` layers of
    ``model``, weights only; checked on the modern LeNet-5 and on small random networks.

    Explained in: chapter 9, "Exercises".
    """
    g = _gen(seed)

    def case(make: Callable[[], torch.nn.Module], size: int, what: str) -> Callable[[], None]:
        def run() -> None:
            model = make()
            want = _reference_multiply_adds(model, size)
            got = fn(model, size)
            if not isinstance(got, (int, float)) or isinstance(got, bool) or int(got) != got:
                raise _Failure(f"{what}: returned {got!r}; return a whole number")
            if int(got) != want:
                raise _Failure(f"{what}: returned {int(got):,}, expected {want:,}")

        return run

    cases = [("the modern LeNet-5", case(LeNet5Modern, 28, "LeNet5Modern at 28x28"))]
    for i, size in enumerate((16, 28, 32)):
        cases.append(
            (
                f"random network {i + 1}",
                case(functools.partial(_random_network, g, size), size, f"a random network at {size}x{size}"),
            )
        )
    return _run(
        "multiply_adds",
        fn,
        cases,
        "a convolution: (output channels x output height x output width) x (input channels x kernel "
        "height x kernel width); a linear layer: in_features x out_features; biases are not counted",
    )
