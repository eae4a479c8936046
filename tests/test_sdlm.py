"""The paper's training method (lenet.sdlm) and its distortions (lenet.distort).

The curvature sweep is checked against computations that share none of its code: the exact
Hessian of the loss at the output (autograd), the exact Gauss-Newton diagonal where the paper's
recursion is exact (F6, the last layer with weights), and, for every layer, the same recursion
built from each pattern's explicit Jacobians (torch.func.jacrev), squared.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.autograd.functional import hessian
from torch.func import functional_call, jacrev

from lenet import distort
from lenet.models import LeNet5Classic
from lenet.rbf import map_loss
from lenet.recipes import SDLM_MU, SDLM_MU_SCHEDULE, paper_sdlm_config, sdlm_config
from lenet.sdlm import ETA, MU, MU_SCHEDULES, SDLM, curvature, output_curvature, step_size_ranges
from lenet.train import Runtime, TrainConfig, configure_optimizer, train

CPU = Runtime(device="cpu", progress=False)


def named_curvature(net, x):
    """:func:`lenet.sdlm.curvature` keyed by the parameters themselves, as SDLM.set_curvature takes it."""
    h = curvature(net, x)
    return {p: h[name] for name, p in net.named_parameters()}


@pytest.fixture(scope="module")
def net_and_batch():
    torch.manual_seed(0)
    net = LeNet5Classic().double()
    x = torch.randn(2, 1, 32, 32, dtype=torch.float64) * 0.6
    return net, x, torch.tensor([3, 7])


def _loss_at_f6(net, target):
    return lambda v: map_loss(((v[None] - net.output.centres[None]) ** 2).sum(-1), target, net.j)


def test_output_curvature_is_the_exact_hessian_diagonal(net_and_batch):
    net, _, _ = net_and_batch
    torch.manual_seed(1)
    x6 = torch.randn(4, 84, dtype=torch.float64) * 0.8
    target = torch.tensor([0, 3, 5, 9])
    got = output_curvature(x6, net.output.centres, j=net.j)
    for p in range(4):
        want = torch.diagonal(hessian(_loss_at_f6(net, target[p : p + 1]), x6[p]))
        assert torch.allclose(got[p], want, rtol=1e-9, atol=1e-12)
    assert bool((got >= 0).all())


def _slope2(a, f):  # f'(a)^2 by autograd, not by lenet.sdlm's formula
    a = a.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(a).sum(), a)
    return g * g


def _through(fn, params, inp, h_out):
    """h for fn's input and for each of its parameters, from h of its outputs: the squared
    explicit Jacobians, transposed, times h."""
    flat = h_out.reshape(-1)
    jx = jacrev(lambda v: fn(v, params).reshape(-1))(inp).reshape(flat.numel(), -1)
    h_in = ((jx**2).t() @ flat).reshape(inp.shape)
    h_params = {}
    for name, value in params.items():
        jw = jacrev(lambda w, name=name: fn(inp, {**params, name: w}).reshape(-1))(value).reshape(flat.numel(), -1)
        h_params[name] = ((jw**2).t() @ flat).reshape(value.shape)
    return h_in, h_params


def _by_jacobians(net, x, target):
    f = net.squash
    layer = lambda module: lambda v, p: functional_call(module, p, (v,))
    sub = lambda v, p: F.avg_pool2d(v, 2) * 4 * p["coefficient"].view(1, -1, 1, 1) + p["bias"].view(1, -1, 1, 1)
    params = lambda module: {k: v.detach() for k, v in module.named_parameters(recurse=False)}
    total = {}
    for p in range(x.shape[0]):
        with torch.no_grad():
            x0 = x[p : p + 1]
            a1 = net.C1(x0)
            x1 = f(a1)
            a2 = sub(x1, params(net.S2))
            x2 = f(a2)
            a3 = net.C3(x2)
            x3 = f(a3)
            a4 = sub(x3, params(net.S4))
            x4 = f(a4)
            a5 = net.C5(x4)
            x5 = f(a5).flatten(1)
            a6 = net.F6(x5)
            x6 = f(a6)
        h_x6 = torch.diagonal(hessian(_loss_at_f6(net, target[p : p + 1]), x6[0]))[None]
        found = {}
        h, found["F6"] = _through(layer(net.F6), params(net.F6), x5, _slope2(a6, f) * h_x6)
        h, found["C5"] = _through(layer(net.C5), params(net.C5), x4, _slope2(a5, f) * h.reshape(a5.shape))
        h, found["S4"] = _through(sub, params(net.S4), x3, _slope2(a4, f) * h)
        h, found["C3"] = _through(layer(net.C3), params(net.C3), x2, _slope2(a3, f) * h)
        h, found["S2"] = _through(sub, params(net.S2), x1, _slope2(a2, f) * h)
        _, found["C1"] = _through(layer(net.C1), params(net.C1), x0, _slope2(a1, f) * h)
        for layer_name, d in found.items():
            for name, v in d.items():
                key = f"{layer_name}.{name}"
                total[key] = total.get(key, 0) + v
    return {k: v / x.shape[0] for k, v in total.items()}


def test_curvature_sweep_equals_the_recursion_built_from_jacobians(net_and_batch):
    net, x, y = net_and_batch
    got = curvature(net, x)
    want = _by_jacobians(net, x, y)
    assert set(got) == set(want) == {n for n, _ in net.named_parameters()}
    for name in want:
        assert got[name].shape == want[name].shape, name
        assert torch.allclose(got[name], want[name], rtol=1e-8, atol=1e-14), (
            name,
            float((got[name] - want[name]).abs().max()),
        )
        assert bool((got[name] >= 0).all()), name


def test_f6_curvature_is_the_exact_gauss_newton_diagonal(net_and_batch):
    """For F6 the recursion drops nothing but f'': diag(J^T H J), from the full Hessian H of the
    loss at F6's outputs and the Jacobian J of those outputs with respect to F6's weights."""
    net, x, y = net_and_batch
    got = curvature(net, x)["F6.weight"]
    want = torch.zeros_like(net.F6.weight)
    for p in range(x.shape[0]):
        with torch.no_grad():
            x5 = net.squash(net.C5(net.S4(net.squash(net.C3(net.S2(net.squash(net.C1(x[p : p + 1])))))))).flatten(1)
        params = {k: v.detach() for k, v in net.F6.named_parameters()}
        out = lambda w, params=params, x5=x5: net.squash(functional_call(net.F6, {**params, "weight": w}, (x5,)))[0]
        jac = jacrev(out)(params["weight"]).reshape(84, -1)  # linear in the squash's input only
        a6 = functional_call(net.F6, params, (x5,))[0]
        h_full = hessian(_loss_at_f6(net, y[p : p + 1]), net.squash(a6))
        want += torch.einsum("ik,ij,jk->k", jac, h_full, jac).reshape(want.shape)
    assert torch.allclose(got, want / x.shape[0], rtol=1e-8, atol=1e-14)


def test_step_sizes_are_positive_and_bounded_by_eta_over_mu(net_and_batch):
    net, x, y = net_and_batch
    opt = SDLM(net, lr=5e-4, mu=MU)
    assert all(torch.equal(s, torch.full_like(s, 5e-4 / MU)) for s in opt.step_sizes().values())
    opt.set_curvature(named_curvature(net, x))
    for s in opt.step_sizes().values():
        assert bool((s > 0).all()) and bool((s <= 5e-4 / MU).all())
    with pytest.raises(ValueError, match="SDLM needs lr > 0"):
        SDLM(net, lr=0.0)
    with pytest.raises(ValueError, match="unknown mu_schedule 'fast'"):
        SDLM(net, mu_schedule="fast")
    ranges = step_size_ranges(curvature(net, x))
    assert list(ranges) == ["C1", "S2", "C3", "S4", "C5", "F6"]
    assert all(0 < lo <= hi <= 5e-4 / MU for lo, hi in ranges.values())


def test_sdlm_step_is_the_per_pattern_update(net_and_batch):
    net, x, y = net_and_batch
    net = LeNet5Classic().double()
    net.load_state_dict(net_and_batch[0].state_dict())
    h = named_curvature(net, x)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    opt = SDLM(net, lr=1e-3, mu=MU, batch_size=2)
    opt.set_curvature(h)
    opt.zero_grad()
    net.loss(net(x), y).backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters()}
    opt.step()
    for (n, p), hp in zip(net.named_parameters(), h.values()):
        # the mean over 2 patterns, times 2: the sum of the two patterns' gradients, per-pattern steps
        assert torch.allclose(p, before[n] - 1e-3 / (MU + hp) * 2 * grads[n]), n


def test_training_with_sdlm_and_distortions(mnist):
    data = (mnist[0].subset(2000), mnist[1].subset(500))
    cfg = sdlm_config(epochs=2, curvature_patterns=100)
    assert (
        cfg.lr == ETA == 5e-4
        and cfg.mu == SDLM_MU
        and isinstance(configure_optimizer(LeNet5Classic(), cfg, 10)[0], SDLM)
    )
    paper = paper_sdlm_config()
    assert (paper.batch_size, paper.mu, paper.lr, paper.epochs, paper.schedule) == (1, MU, 5e-4, 20, "paper")
    _, plain = train(cfg, CPU, data=data)
    assert plain.test_acc > 0.25 and plain.epochs[1]["lr"] == pytest.approx(5e-4)  # chance is 0.1
    assert plain.epochs[1]["train_loss"] < 0.6 * plain.step_losses[0]
    cfg_d = cfg.replace(distortions=2)
    _, dist = train(cfg_d, CPU, data=data)
    assert dist.epochs[0]["train_samples"] == 3 * 2000 and dist.test_acc > 0.25
    _, again = train(cfg_d, CPU, data=data)
    assert again.step_losses == dist.step_losses  # seeded: the same copies, the same order
    with pytest.raises(ValueError, match="written for the 1998 network"):
        TrainConfig(model="modern", optimizer="sdlm")
    with pytest.raises(ValueError, match="distorted copies per training image"):
        TrainConfig(distortions=-1)


def test_distortions_are_the_affine_maps_they_say():
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 10:20, 12:15] = 1.0
    params = torch.tensor([[0.0, 0.0, 1.0, 1.0, 0.0]])
    assert torch.allclose(distort.distort(x, params), x, atol=1e-6)  # the identity
    right = distort.distort(x, torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0]]))
    assert torch.allclose(right[..., 1:], x[..., :-1], atol=1e-6)  # one pixel to the right
    down = distort.distort(x, torch.tensor([[0.0, 2.0, 1.0, 1.0, 0.0]]))
    assert torch.allclose(down[..., 2:, :], x[..., :-2, :], atol=1e-6)  # two pixels down
    wide = distort.distort(x, torch.tensor([[0.0, 0.0, 1.0, 1.5, 0.0]]))  # squeezed: wider, shorter
    cols = lambda t: int((t[0, 0].sum(0) > 0.05).sum())
    rows = lambda t: int((t[0, 0].sum(1) > 0.05).sum())
    assert cols(wide) > cols(x) and rows(wide) < rows(x)
    assert rows(distort.distort(x, torch.tensor([[0.0, 0.0, 0.5, 1.0, 0.0]]))) <= rows(x) // 2 + 1  # scaled by half
    p = distort.draw_parameters(1000, torch.Generator().manual_seed(0))
    for k, (lo, hi) in enumerate(distort.RANGES.values()):
        assert lo <= float(p[:, k].min()) and float(p[:, k].max()) <= hi


def test_distorted_loader_covers_originals_and_copies(mnist):
    from lenet.data import make_transform

    split = mnist[0].subset(50)
    loader = distort.DistortedLoader(split, 16, copies=3, transform=make_transform("paper", pad=True), seed=1)
    assert loader.patterns == 200 and len(loader) == 13
    seen = torch.cat([y for _, y in loader])
    assert torch.equal(torch.bincount(seen, minlength=10), 4 * torch.bincount(split.labels, minlength=10))
    with pytest.raises(ValueError, match="copies must be a positive integer"):
        distort.DistortedLoader(split, 16, copies=0, transform=make_transform("paper", pad=True))


def test_distortions_are_redrawn_each_pass_or_fixed_as_the_papers(mnist):
    from lenet.data import make_transform

    split, transform = mnist[0].subset(20), make_transform("paper", pad=True)
    for redraw in (True, False):
        loader = distort.DistortedLoader(split, 40, copies=1, transform=transform, seed=3, redraw=redraw)
        passes = []
        for _ in range(2):
            x, _ = next(iter(loader))
            passes.append(x)
        again = distort.DistortedLoader(split, 40, copies=1, transform=transform, seed=3, redraw=redraw)
        assert torch.equal(next(iter(again))[0], passes[0])  # seeded
        # the same 40 patterns in another order: as sets of images, equal when the copies are fixed
        key = lambda t: sorted(t.flatten(1).sum(1).tolist())
        assert (key(passes[0]) == key(passes[1])) == (not redraw)


def test_the_books_mu_is_the_recorded_validation_choice():
    import json

    from conftest import ROOT, load_script

    chooser = load_script("benchmarks/choose_sdlm.py")
    stored = json.loads((ROOT / "benchmarks" / "results" / "sdlm-selection-cpu.json").read_text())
    chosen = chooser.choose(stored["candidates"], stored["floor"])
    assert chosen == stored["chosen"] and chosen["mu"] == SDLM_MU
    assert [r["mu"] for r in stored["candidates"]] == list(chooser.CANDIDATES)
    assert all(r["batch_size"] == sdlm_config().batch_size for r in stored["candidates"])
    assert chooser.choose_schedule(stored["schedules"]) == stored["chosen_schedule"]
    assert stored["chosen_schedule"]["mu_schedule"] == SDLM_MU_SCHEDULE and stored["chosen_schedule"]["mu"] == SDLM_MU
    assert [r["mu_schedule"] for r in stored["schedules"]] == list(MU_SCHEDULES)
    paper = next(r for r in stored["candidates"] if r["mu"] == MU)
    assert paper["min_val_acc"] < stored["floor"]  # the paper's mu does not train in batches
