import json

import pytest
import torch
from conftest import ROOT, load_script

from lenet.models import LeNet5Classic, LeNet5Modern
from lenet.recipes import classic_config, fast_config, source_config
from lenet.train import (
    REPLAY_STEPS, CheckpointError, History, PAPER_LR_MULTIPLIERS, TrainConfig, load_checkpoint, make_optimizer,
    make_scheduler, predict, save_checkpoint, train,
)


def _slice(mnist, n_train=6000, n_test=2000):
    train_split, test_split = mnist
    return train_split.subset(n_train), test_split.subset(n_test)


def test_modern_short_run_beats_chance_by_far(mnist):
    cfg = TrainConfig(model="modern", epochs=1, batch_size=64, progress=False, device="cpu", target_acc=0.5)
    model, hist = train(cfg, data=_slice(mnist))
    assert hist.test_acc > 0.75  # chance is 0.10
    assert hist.time_to_target_s is not None and hist.epochs_to_target == 1
    assert len(hist.epochs) == 1 and hist.epochs[0]["train_loss"] < 2.3


def test_classic_short_run_beats_chance_by_far(mnist):
    cfg = TrainConfig(model="classic", epochs=1, batch_size=32, progress=False, device="cpu")
    model, hist = train(cfg, data=_slice(mnist))
    assert hist.test_acc > 0.6  # chance is 0.10; the RBF network starts slower
    assert hist.epochs[0]["train_loss"] > 0  # MAP loss of penalties


def test_cpu_runs_repeat_exactly_with_a_seed(mnist):
    data = _slice(mnist, 2000, 500)
    runs = [train(TrainConfig(epochs=2, batch_size=100, seed=7, progress=False, device="cpu"), data=data) for _ in range(2)]
    (m1, h1), (m2, h2) = runs
    assert [e["train_loss"] for e in h1.epochs] == [e["train_loss"] for e in h2.epochs]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    _, h3 = train(TrainConfig(epochs=1, batch_size=100, seed=8, progress=False, device="cpu"), data=data)
    assert h3.epochs[0]["train_loss"] != h1.epochs[0]["train_loss"]


def test_checkpoint_round_trip_and_wrong_model_refusal(tmp_path, mnist):
    cfg = TrainConfig(model="modern", epochs=1, batch_size=256, progress=False, device="cpu")
    model, hist = train(cfg, data=_slice(mnist, 2000, 500))
    path = save_checkpoint(tmp_path / "ck.pt", model, cfg, hist)
    loaded, payload = load_checkpoint(path)
    assert isinstance(loaded, LeNet5Modern) and payload["model"] == "modern"
    assert TrainConfig.from_dict(payload["config"]) == cfg
    assert History.from_dict(payload["history"]).test_acc == hist.test_acc
    images = mnist[1].images[:50]
    assert torch.equal(predict(model, images), predict(loaded, images))
    with pytest.raises(CheckpointError, match="holds a 'modern' LeNet-5.*cannot be loaded into a 'classic'"):
        load_checkpoint(path, LeNet5Classic())
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable lenet checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_config_validation_messages():
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="learning rate must be a positive"):
        TrainConfig(lr=-0.1)
    with pytest.raises(ValueError, match="unknown model"):
        TrainConfig(model="alexnet")
    assert TrainConfig(target_acc=99.0).target_fraction == pytest.approx(0.99)
    assert TrainConfig(target_acc=0.99).target_fraction == pytest.approx(0.99)


def test_optimisers_and_schedules_of_the_tutorial_and_paper():
    model = LeNet5Modern()
    adam = make_optimizer(model, TrainConfig(optimizer="adam"))
    sgd = make_optimizer(model, TrainConfig(optimizer="sgd"))
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["lr"] == 1e-3
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["lr"] == 0.01 and sgd.param_groups[0]["momentum"] == 0.9
    cfg = TrainConfig(optimizer="adam", lr=5e-4, schedule="paper", epochs=20)
    opt = make_optimizer(model, cfg)
    sched = make_scheduler(opt, cfg, 10)
    lrs = []
    for _ in range(20 * 10):  # stepped after every batch, 10 batches an epoch
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    # the paper: 0.0005 (2 passes), 0.0002 (3), 0.0001 (3), 0.00005 (4), then 0.00001
    assert lrs[::10][:13] == pytest.approx([5e-4] * 2 + [2e-4] * 3 + [1e-4] * 3 + [5e-5] * 4 + [1e-5])
    assert all(len(set(lrs[e * 10:(e + 1) * 10])) == 1 for e in range(20))   # constant within each epoch
    assert len(PAPER_LR_MULTIPLIERS) == 13
    cfg = TrainConfig(lr=0.01, schedule="onecycle", epochs=2)
    opt = make_optimizer(model, cfg)
    sched = make_scheduler(opt, cfg, 50)
    seen = []
    for _ in range(100):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    assert max(seen) == pytest.approx(0.01, rel=0.05) and seen[-1] < 0.001
    assert make_scheduler(opt, TrainConfig(schedule="constant"), 50) is None


def test_source_and_fast_configs():
    src = source_config("sgd")
    assert (src.epochs, src.batch_size, src.learning_rate, src.momentum) == (10, 64, 0.01, 0.9)
    assert source_config().learning_rate == 1e-3
    fast = fast_config()
    assert fast.model == "modern" and fast.schedule == "onecycle" and fast.normalization == "meanstd"
    assert (fast.epochs, fast.batch_size, fast.learning_rate, fast.betas) == (2, 256, 0.01, (0.7, 0.9))
    assert fast.eval_every == fast.epochs and fast.channels_last


def test_fast_recipe_is_the_one_chosen_on_the_validation_split():
    """fast_config() is what benchmarks/choose_fast_recipe.py's rule picks from its recorded run."""
    chooser = load_script("benchmarks/choose_fast_recipe.py")
    record = json.loads((ROOT / "benchmarks/results/recipe-selection-cpu.json").read_text())
    chosen = chooser.choose(record["candidates"], record["target"])
    assert chosen == record["chosen"]
    fast = fast_config()
    assert (chosen["epochs"], chosen["batch_size"], chosen["lr"], tuple(chosen["betas"])) == (
        fast.epochs, fast.batch_size, fast.learning_rate, fast.betas)
    assert [tuple(c[:3]) + (tuple(c[3]),) for c in chooser.CANDIDATES] == [
        (r["epochs"], r["batch_size"], r["lr"], tuple(r["betas"])) for r in record["candidates"]]


def test_stop_rules_give_exact_prefixes_of_the_full_run(mnist):
    data = _slice(mnist, 1200, 300)
    cfg = TrainConfig(model="modern", epochs=3, batch_size=100, schedule="onecycle", lr=0.01, progress=False, device="cpu")
    full_model, full = train(cfg, data=data)
    assert len(full.step_losses) == min(REPLAY_STEPS, 36) and len(full.epochs) == 3
    _, first = train(cfg, data=data, stop_after=1)
    def metrics(epochs):  # everything but the timings
        return [{k: v for k, v in e.items() if not k.endswith("_s")} for e in epochs]

    assert metrics(first.epochs) == metrics(full.epochs[:1])
    assert first.step_losses == full.step_losses[:12]
    _, part = train(cfg, data=data, max_steps=5)
    assert part.step_losses == full.step_losses[:5] and part.epochs[0]["train_samples"] == 500
    assert part.epochs[0]["test_acc"] is None  # a cut-short epoch is not evaluated


def test_classic_recipe_is_the_full_schedule():
    cfg = classic_config()
    assert (cfg.model, cfg.epochs, cfg.batch_size, cfg.optimizer, cfg.learning_rate, cfg.schedule) == (
        "classic", 20, 32, "adam", 1e-3, "paper")
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        classic_config(epochs=0)


def test_retain_freed_memory_applies_where_there_is_glibc():
    import platform

    from lenet.train import retain_freed_memory

    applied = retain_freed_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert applied is True
