"""The training step and the GPU-only speed-ups, checked on the CPU.

A CUDA graph cannot be recorded without a GPU, but everything around it can be checked here:
the static-buffer step that the graph records trains exactly like the plain loop, the
optimizer it needs (tensor learning rate) follows every schedule, and both models compile
into a single graph (``fullgraph=True``), which is what ``torch.compile`` needs on the GPU.
"""

import pytest
import torch

from lenet.models import get_model
from lenet.step import TrainStep
from lenet.recipes import gpu_settings
from lenet.train import SCHEDULES, TrainConfig, make_optimizer, make_scheduler, train


def _data(mnist, n_train=3072, n_test=500):
    return mnist[0].subset(n_train), mnist[1].subset(n_test)


def test_static_buffer_step_is_the_plain_step():
    """With the same optimizer, the graph-ready step (static buffers, no zeroing inside) and the
    plain step give the same weights after a run of batches, the learning rate changing each step."""
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(32, 1, 28, 28, generator=gen), torch.randint(0, 10, (32,), generator=gen)) for _ in range(12)]
    cfg = TrainConfig(cuda_graph=True, lr=3e-3, schedule="onecycle", epochs=1, channels_last=True)
    runs = []
    for graph in (False, True):
        torch.manual_seed(0)
        model = get_model("modern").to(memory_format=torch.channels_last)
        opt = make_optimizer(model, cfg)
        sched = make_scheduler(opt, cfg, steps_per_epoch=len(batches))
        step = TrainStep(model, opt, torch.device("cpu"), graph=graph, channels_last=True)
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
    runs = []
    for graph in (False, True):
        cfg = TrainConfig(model="modern", epochs=2, batch_size=128, schedule=schedule, lr=2e-3, seed=3,
                          channels_last=True, cuda_graph=graph, progress=False, device="cpu")
        runs.append(train(cfg, data=data)[1])
    plain, static = runs
    # The graph path keeps the learning rate in a float32 tensor, the plain one in a Python float:
    # the rates agree to float32 precision, and the runs to within rounding.
    assert [e["lr"] for e in plain.epochs] == pytest.approx([e["lr"] for e in static.epochs], rel=1e-6)
    assert [e["train_loss"] for e in plain.epochs] == pytest.approx([e["train_loss"] for e in static.epochs], rel=1e-3)
    assert abs(plain.test_acc - static.test_acc) <= 0.004


def test_graph_step_drops_the_partial_batch_and_rejects_other_shapes(mnist):
    cfg = TrainConfig(epochs=1, batch_size=128, cuda_graph=True, progress=False, device="cpu")
    _, hist = train(cfg, data=_data(mnist, 1000))
    assert hist.epochs[0]["train_samples"] == 7 * 128  # of 1000: the last 104 do not fill a batch
    model = get_model("modern")
    step = TrainStep(model, make_optimizer(model, cfg), torch.device("cpu"), graph=True)
    step(torch.randn(8, 1, 28, 28), torch.zeros(8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"have the shape \(8, 1, 28, 28\).*drop_last=True"):
        step(torch.randn(5, 1, 28, 28), torch.zeros(5, dtype=torch.long))


def test_graph_optimizer_reads_a_tensor_learning_rate():
    model = get_model("modern")
    opt = make_optimizer(model, TrainConfig(cuda_graph=True, lr=0.01, betas=(0.7, 0.9)))
    lr = opt.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor) and float(lr) == pytest.approx(0.01)
    assert opt.param_groups[0]["betas"] == (0.7, 0.9)
    with pytest.raises(ValueError, match="cuda_graph=True needs optimizer='adam'"):
        TrainConfig(optimizer="sgd", cuda_graph=True)
    with pytest.raises(ValueError, match="betas must be two numbers"):
        TrainConfig(betas=(0.9, 1.5))


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


def test_gpu_settings_only_on_cuda():
    assert gpu_settings("cpu") == {}
    cuda = gpu_settings("cuda")
    assert cuda["cuda_graph"] and cuda["amp"] and cuda["compile"]
    TrainConfig(**cuda)  # a valid configuration


def test_autocast_only_where_the_hardware_has_bf16():
    from lenet.step import autocast, native_bf16

    cpu = torch.device("cpu")
    amx = bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    assert native_bf16(cpu) is amx
    with autocast(cpu, enabled=True):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == (torch.bfloat16 if amx else torch.float32)
    with autocast(cpu, enabled=False):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32