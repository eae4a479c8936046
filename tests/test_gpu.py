"""The CUDA path, on a CUDA GPU; skipped elsewhere (``benchmarks/gpu_check.sh`` runs it).

On a CPU, ``tests/test_step.py`` checks everything the CUDA graph records; here the recording
itself is checked: the replayed step trains like the eager one, for Adam and for SDLM (whose
step sizes change between passes), with distorted digits warped on the device, and the full GPU
recipe (bf16 autocast, ``torch.compile``, CUDA graph) trains to a sensible accuracy.
"""

import pytest
import torch

from lenet.models import LeNet5Classic, get_model
from lenet.recipes import fast_config, gpu_settings, sdlm_config
from lenet.step import WARMUP_STEPS, TrainStep
from lenet.train import Runtime, TrainConfig, configure_optimizer, fit, make_loaders, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_replayed_graph_trains_like_eager_steps():
    device = torch.device("cuda")
    gen = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(64, 1, 28, 28, generator=gen), torch.randint(0, 10, (64,), generator=gen)) for _ in range(10)
    ]
    models = []
    for graph in (False, True):
        torch.manual_seed(0)
        model = get_model("modern").to(device)
        opt, _ = configure_optimizer(model, TrainConfig(lr=1e-3), 10, graph=True)  # the same optimizer for both
        step = TrainStep(model, opt, graph=graph)
        for x, y in batches:
            step(x.to(device), y.to(device))
        if graph:
            assert step.graph is not None and step.steps == len(batches) > WARMUP_STEPS
        models.append((model, float(step.loss_sum)))
    (eager, loss_eager), (replayed, loss_replayed) = models
    assert loss_eager == pytest.approx(loss_replayed, rel=1e-4)
    for a, b in zip(eager.parameters(), replayed.parameters()):
        assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("distortions", [0, 1])
def test_sdlm_as_a_cuda_graph_trains_like_the_eager_step(mnist, distortions):
    """Two passes of the book's SDLM (curvature, eta and mu change between them) on 2,048 digits:
    the step recorded once and replayed matches the eager step."""
    cfg = sdlm_config(epochs=3, train_subset=2048, distortions=distortions, seed=1)
    runs = []
    for graph in (False, True):
        train_loader, test_loader = make_loaders(cfg, mnist[0], mnist[1].subset(1000), "cuda", drop_last=True)
        torch.manual_seed(cfg.seed)
        model = LeNet5Classic().cuda()
        history = fit(
            model,
            train_loader,
            test_loader,
            cfg,
            Runtime(device="cuda", progress=False, cuda_graph=graph),
            stop_after=2,
        )
        runs.append(history)
    eager, replayed = runs
    assert replayed.step_losses[:20] == pytest.approx(eager.step_losses[:20], rel=1e-3)
    assert [e["train_loss"] for e in replayed.epochs] == pytest.approx(
        [e["train_loss"] for e in eager.epochs], rel=2e-2
    )
    assert abs(replayed.test_acc - eager.test_acc) <= 0.02 and replayed.test_acc > 0.15  # chance is 0.10


def test_gpu_recipe_trains(mnist):
    train_split, test_split = mnist
    cfg = fast_config()
    _, hist = train(
        cfg,
        Runtime(device="cuda", progress=False, **gpu_settings("cuda", cfg, compile=True)),
        data=(train_split, test_split),
    )
    assert hist.test_acc > 0.985
    assert hist.epochs[-1]["train_samples"] == (len(train_split) // cfg.batch_size) * cfg.batch_size
