"""The training step and the GPU-only speed-ups, checked on the CPU.

A CUDA graph cannot be recorded without a GPU, but everything around it can be checked here:
the static-buffer step that the graph records trains exactly like the plain loop, the
optimisers it needs (Adam with a tensor learning rate, SDLM with its step sizes in tensors
rewritten in place) follow every schedule, and both models compile into a single graph
(``fullgraph=True``), which is what ``torch.compile`` needs on the GPU.
"""

import pytest
import torch

from lenet.data import DeviceLoader
from lenet.distort import DistortedLoader, distort
from lenet.models import LeNet5Classic, get_model
from lenet.recipes import classic_config, fast_config, gpu_settings, sdlm_config
from lenet.step import TrainStep
from lenet.train import SCHEDULES, Runtime, TrainConfig, configure_optimizer, fit, make_loaders, train, transform_for

CPU = Runtime(device="cpu", progress=False)


def _data(mnist, n_train=3072, n_test=500):
    return mnist[0].subset(n_train), mnist[1].subset(n_test)


def test_static_buffer_step_is_the_plain_step():
    """With the same optimizer, the graph-ready step (static buffers, no zeroing inside) and the
    plain step give the same weights after a run of batches, the learning rate changing each step."""
    gen = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(32, 1, 28, 28, generator=gen), torch.randint(0, 10, (32,), generator=gen)) for _ in range(12)
    ]
    cfg = TrainConfig(lr=3e-3, schedule="onecycle", epochs=1, channels_last=True)
    runs = []
    for graph in (False, True):
        torch.manual_seed(0)
        model = get_model("modern").to(memory_format=torch.channels_last)
        opt, sched = configure_optimizer(model, cfg, steps_per_epoch=len(batches), graph=True)
        step = TrainStep(model, opt, graph=graph, channels_last=True)
        for x, y in batches:
            step(x, y)
            sched.step()
        runs.append((model, step))
    (plain, s_plain), (static, s_static) = runs
    assert s_static.x.is_contiguous(memory_format=torch.channels_last) and s_static.seen == 12 * 32
    for a, b in zip(plain.parameters(), static.parameters()):
        assert torch.allclose(a, b, rtol=0, atol=1e-6)
    assert float(s_plain.loss_sum) == pytest.approx(float(s_static.loss_sum), rel=1e-6)
    assert int(s_plain.correct) == int(s_static.correct)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_graph_ready_training_matches_the_plain_loop(mnist, schedule):
    data = _data(mnist)  # 3072 = 24 batches of 128: no partial batch is dropped
    cfg = TrainConfig(model="modern", epochs=2, batch_size=128, schedule=schedule, lr=2e-3, seed=3, channels_last=True)
    plain = train(cfg, CPU, data=data)[1]
    static = train(cfg, Runtime(device="cpu", progress=False, cuda_graph=True), data=data)[1]
    # The graph path keeps Adam's learning rate in a float32 tensor, the plain one in a Python float:
    # the rates agree to float32 precision, and the runs to within rounding.
    assert [e["lr"] for e in plain.epochs] == pytest.approx([e["lr"] for e in static.epochs], rel=1e-6)
    assert [e["train_loss"] for e in plain.epochs] == pytest.approx([e["train_loss"] for e in static.epochs], rel=1e-3)
    assert abs(plain.test_acc - static.test_acc) <= 0.004


def _sdlm_run(mnist, graph: bool, distortions: int = 0):
    """Two passes of the book's SDLM on 1,024 digits through ``fit``, eager or with the fixed-buffer
    graph step (which on a CPU runs the very step a CUDA graph records)."""
    cfg = sdlm_config(epochs=3, train_subset=1024, curvature_patterns=64, distortions=distortions, seed=2)
    train_loader, test_loader = make_loaders(cfg, mnist[0], mnist[1].subset(300), "cpu", drop_last=True)
    torch.manual_seed(cfg.seed)
    model = LeNet5Classic()
    history = fit(
        model, train_loader, test_loader, cfg, Runtime(device="cpu", progress=False, cuda_graph=graph), stop_after=2
    )
    return model, history


@pytest.mark.parametrize("distortions", [0, 1])
def test_sdlm_fixed_buffer_step_equals_the_eager_step_bit_for_bit(mnist, distortions):
    """SDLM's step reads eta, mu and the curvature from tensors that it rewrites in place before each
    pass, so the step recorded once serves every pass: here the static-buffer step (the one a CUDA
    graph records) and the eager one train bit for bit alike over two passes whose curvature, eta
    and mu all change."""
    (eager, h_eager), (fixed, h_fixed) = (_sdlm_run(mnist, graph, distortions) for graph in (False, True))
    assert h_eager.step_losses == h_fixed.step_losses and len(h_eager.step_losses) == 2 * 1024 * (1 + distortions) // 32
    assert [e["lr"] for e in h_eager.epochs] == [5e-4, 5e-4] and h_eager.epochs == [
        {**e, "train_s": a["train_s"], "elapsed_s": a["elapsed_s"]} for e, a in zip(h_fixed.epochs, h_eager.epochs)
    ]
    for a, b in zip(eager.parameters(), fixed.parameters()):
        assert torch.equal(a, b)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`")
def test_sdlm_step_sizes_live_in_tensors_rewritten_in_place(mnist):
    cfg = sdlm_config(epochs=5, train_subset=256, curvature_patterns=32)
    loader, _ = make_loaders(cfg, mnist[0], None, "cpu", drop_last=True)
    model = LeNet5Classic()
    opt, sched = configure_optimizer(model, cfg, len(loader), graph=True)
    group = opt.param_groups[0]
    scale, denominators = group["scale"], [opt.state[p]["denominator"] for p in group["params"]]
    pointers = [scale.data_ptr()] + [d.data_ptr() for d in denominators]
    for epoch in range(3):  # the 'paper' schedule: 5e-4, 5e-4, then 2e-4; mu falls with eta
        opt.begin_pass(loader, epoch)
        lr = group["lr"]
        assert float(scale) == pytest.approx(-lr * cfg.batch_size)
        assert group["mu"] == pytest.approx(cfg.mu * lr / 5e-4)
        for p, d in zip(group["params"], denominators):
            assert torch.equal(d, opt.state[p]["h"] + group["mu"]) and bool((opt.state[p]["h"] >= 0).all())
        for _ in range(len(loader)):
            sched.step()
    assert [scale.data_ptr()] + [d.data_ptr() for d in denominators] == pointers  # the same memory all along
    assert group["lr"] == pytest.approx(5e-4 * 0.4)  # pass 4's rate, after three passes of steps


def test_distorted_batches_need_no_test_on_the_device(mnist):
    """Each distorted pattern is what warping it alone gives, and the originals keep their pixels,
    with no data-dependent branch (which would make the GPU wait)."""
    split = mnist[0].subset(64)
    transform = transform_for(TrainConfig(model="classic"))
    loader = DistortedLoader(split, 32, 1, transform, seed=4)
    plain = DeviceLoader(split, 64, transform=transform)
    x_all = next(iter(plain))[0]
    n = 64
    order = torch.randperm(loader.patterns, generator=torch.Generator().manual_seed(4))
    batch = next(iter(loader))[0]
    idx = order[:32]
    for i, pattern in enumerate(idx.tolist()):
        image, copy = pattern % n, pattern // n
        want = x_all[image] if copy == 0 else distort(x_all[image : image + 1], loader.params[image : image + 1])[0]
        assert torch.equal(batch[i], want)


def test_graph_step_drops_the_partial_batch_and_rejects_other_shapes(mnist):
    _, hist = train(
        TrainConfig(epochs=1, batch_size=128),
        Runtime(device="cpu", progress=False, cuda_graph=True),
        data=_data(mnist, 1000),
    )
    assert hist.epochs[0]["train_samples"] == 7 * 128  # of 1000: the last 104 do not fill a batch
    model = get_model("modern")
    opt, _ = configure_optimizer(model, TrainConfig(), 1, graph=True)
    step = TrainStep(model, opt, graph=True)
    step(torch.randn(8, 1, 28, 28), torch.zeros(8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"have the shape \(8, 1, 28, 28\).*drop_last=True"):
        step(torch.randn(5, 1, 28, 28), torch.zeros(5, dtype=torch.long))


def test_graph_optimizer_reads_a_tensor_learning_rate():
    model = get_model("modern")
    opt, _ = configure_optimizer(model, TrainConfig(lr=0.01, betas=(0.7, 0.9)), 1, graph=True)
    lr = opt.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor) and float(lr) == pytest.approx(0.01)
    assert opt.param_groups[0]["betas"] == (0.7, 0.9)


@pytest.mark.parametrize("name", ["modern", "classic"])
def test_models_compile_as_one_graph(name):
    torch.manual_seed(0)
    model = get_model(name)
    x = torch.randn(16, 1, model.input_size, model.input_size)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")  # fails on any graph break
    out = compiled(x)
    out.square().sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    ref = model(x)
    ref.square().sum().backward()
    assert torch.allclose(out, ref, atol=1e-5)
    assert all(torch.allclose(g, p.grad, atol=1e-5) for g, p in zip(grads, model.parameters()))


def test_gpu_settings_say_what_a_gpu_run_adds():
    fast, classic, sdlm, sgd = fast_config(), classic_config(), sdlm_config(), fast_config(optimizer="sgd", lr=None)
    assert all(gpu_settings("cpu", c) == {} for c in (fast, classic, sdlm, sgd))
    assert gpu_settings("cuda", fast) == {"cuda_graph": True, "amp": True, "compile": False}
    assert gpu_settings("cuda", fast, compile=True)["compile"]
    assert gpu_settings("cuda", classic) == {"cuda_graph": True, "amp": False, "compile": False}
    assert gpu_settings("cuda", sdlm)["cuda_graph"] and not gpu_settings("cuda", sgd)["cuda_graph"]
    for config in (fast, classic, sdlm, sgd):
        settings = gpu_settings("cuda", config)
        if settings["cuda_graph"]:
            Runtime(device="cpu", cuda_graph=True).check(config)  # a valid pairing


def test_autocast_only_where_the_hardware_has_bf16():
    from lenet.step import autocast, native_bf16

    cpu = torch.device("cpu")
    amx = bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    assert native_bf16(cpu) is amx
    with autocast(cpu, enabled=True):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == (torch.bfloat16 if amx else torch.float32)
    with autocast(cpu, enabled=False):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32
