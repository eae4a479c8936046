"""The CUDA path, on a CUDA GPU; skipped elsewhere (``benchmarks/gpu_check.sh`` runs it).

On a CPU, ``tests/test_step.py`` checks everything the CUDA graph records; here the recording
itself is checked: the replayed step trains like the eager one, and the full GPU recipe
(bf16 autocast, ``torch.compile``, CUDA graph) trains to a sensible accuracy.
"""

import pytest
import torch

from lenet.models import get_model
from lenet.step import WARMUP_STEPS, TrainStep
from lenet.recipes import fast_config, gpu_settings
from lenet.train import TrainConfig, make_optimizer, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_replayed_graph_trains_like_eager_steps():
    device = torch.device("cuda")
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(64, 1, 28, 28, generator=gen), torch.randint(0, 10, (64,), generator=gen)) for _ in range(10)]
    models = []
    for graph in (False, True):
        torch.manual_seed(0)
        model = get_model("modern").to(device)
        cfg = TrainConfig(cuda_graph=True, lr=1e-3)  # the same optimizer (tensor lr, capturable) for both
        step = TrainStep(model, make_optimizer(model, cfg), device, graph=graph)
        for x, y in batches:
            step(x.to(device), y.to(device))
        if graph:
            assert step.graph is not None and step.steps == len(batches) > WARMUP_STEPS
        models.append((model, float(step.loss_sum)))
    (eager, loss_eager), (replayed, loss_replayed) = models
    assert loss_eager == pytest.approx(loss_replayed, rel=1e-4)
    for a, b in zip(eager.parameters(), replayed.parameters()):
        assert torch.allclose(a, b, atol=1e-4)


def test_gpu_recipe_trains(mnist):
    train_split, test_split = mnist
    cfg = fast_config(progress=False, device="cuda", **gpu_settings("cuda"))
    _, hist = train(cfg, data=(train_split, test_split))
    assert hist.test_acc > 0.985
    assert hist.epochs[-1]["train_samples"] == (len(train_split) // cfg.batch_size) * cfg.batch_size
