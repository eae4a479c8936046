import json

import pytest
import torch
from conftest import ROOT, load_script

from lenet import records
from lenet.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from lenet.cli import main, retain_freed_memory
from lenet.data import Split, make_transform
from lenet.inference import predict
from lenet.models import LeNet5Classic, LeNet5Modern
from lenet.recipes import TARGET_ACC, book_run, classic_config, fast_config, source_config
from lenet.recording import PREFIX_RTOL, compare, record_run, replay
from lenet.train import (
    PAPER_LR_MULTIPLIERS,
    REPLAY_STEPS,
    History,
    Runtime,
    TrainConfig,
    configure_optimizer,
    eval_loader,
    fit,
    make_loaders,
    train,
)

CPU = Runtime(device="cpu", progress=False)


def _slice(mnist, n_train=6000, n_test=2000):
    train_split, test_split = mnist
    return train_split.subset(n_train), test_split.subset(n_test)


def test_modern_short_run_beats_chance_by_far(mnist):
    cfg = TrainConfig(model="modern", epochs=1, batch_size=64, target_acc=0.5)
    model, hist = train(cfg, CPU, data=_slice(mnist))
    assert hist.test_acc > 0.75  # chance is 0.10
    assert hist.time_to_target_s is not None and hist.epochs_to_target == 1
    assert len(hist.epochs) == 1 and hist.epochs[0]["train_loss"] < 2.3


def test_classic_short_run_beats_chance_by_far(mnist):
    cfg = TrainConfig(model="classic", epochs=1, batch_size=32)
    model, hist = train(cfg, CPU, data=_slice(mnist))
    assert hist.test_acc > 0.6  # chance is 0.10; the RBF network starts slower
    assert hist.epochs[0]["train_loss"] > 0  # MAP loss of penalties


def test_fit_reports_what_a_plain_loop_measures(mnist):
    """fit against the training loop of chapter 6 written out (an independent reference): the same
    step losses, and an epoch's running loss and accuracy as the loop counts them."""
    data = _slice(mnist, 640, 200)
    cfg = TrainConfig(model="modern", epochs=1, batch_size=64, lr=2e-3, seed=5)
    train_loader, test_loader = make_loaders(cfg, data[0], data[1], "cpu")
    torch.manual_seed(cfg.seed)
    model = LeNet5Modern()
    history = fit(model, train_loader, test_loader, cfg, CPU)

    torch.manual_seed(cfg.seed)
    ref = LeNet5Modern()
    opt = torch.optim.Adam(ref.parameters(), lr=2e-3)
    order = torch.randperm(640, generator=torch.Generator().manual_seed(cfg.seed))
    transform = make_transform("unit")
    losses, loss_sum, correct = [], 0.0, 0
    for b in range(10):
        idx = order[b * 64 : (b + 1) * 64]
        x, y = transform(data[0].images[idx]), data[0].labels[idx]
        out = ref(x)
        loss = torch.nn.functional.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        loss_sum += loss.item() * 64
        correct += int((out.argmax(1) == y).sum())
    assert history.step_losses == losses
    epoch = history.epochs[0]
    assert epoch["train_samples"] == 640
    assert epoch["train_acc"] == correct / 640
    assert epoch["train_loss"] == pytest.approx(loss_sum / 640, rel=1e-6)
    test_acc = float((ref(transform(data[1].images)).argmax(1) == data[1].labels).double().mean())
    assert epoch["test_acc"] == pytest.approx(test_acc)


def test_a_recorded_run_keeps_its_fingerprint(mnist):
    """The first steps of the fast recipe's seed 0 match its record: a change to the data, the
    model, the optimiser or the schedule that moves a number fails here, in seconds."""
    rec = records.get_record("modern-fast-s0", ROOT / "results")
    history = replay(rec, mnist, steps=12)
    result = compare(rec, history)
    assert result.ok, result.message
    assert result.max_rel_diff <= PREFIX_RTOL


def test_cpu_runs_repeat_exactly_with_a_seed(mnist):
    data = _slice(mnist, 2000, 500)
    runs = [train(TrainConfig(epochs=2, batch_size=100, seed=7), CPU, data=data) for _ in range(2)]
    (m1, h1), (m2, h2) = runs
    assert [e["train_loss"] for e in h1.epochs] == [e["train_loss"] for e in h2.epochs]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    _, h3 = train(TrainConfig(epochs=1, batch_size=100, seed=8), CPU, data=data)
    assert h3.epochs[0]["train_loss"] != h1.epochs[0]["train_loss"]


def test_checkpoint_round_trip_and_wrong_model_refusal(tmp_path, mnist):
    cfg = TrainConfig(model="modern", epochs=1, batch_size=256)
    model, hist = train(cfg, CPU, data=_slice(mnist, 2000, 500))
    path = save_checkpoint(tmp_path / "ck.pt", model, cfg, hist)
    loaded, payload = load_checkpoint(path)
    assert isinstance(loaded, LeNet5Modern) and payload["model"] == "modern"
    assert payload["config"] == cfg and payload["history"].test_acc == hist.test_acc
    images = mnist[1].images[:50]
    assert torch.equal(predict(model, images), predict(loaded, images))
    with pytest.raises(CheckpointError, match="holds a 'modern' LeNet-5.*cannot be loaded into a 'classic'"):
        load_checkpoint(path, LeNet5Classic())
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable lenet checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoints_of_the_first_format_still_load():
    """The book's checkpoints were written in the first format (the runtime inside the config, the
    target accuracy in percent)."""
    model, payload = load_checkpoint(ROOT / "results" / "checkpoints" / "classic-1998-s0.pt")
    assert payload["format"] == "lenet-checkpoint/1" and isinstance(payload["config"], TrainConfig)
    assert payload["config"].target_acc == pytest.approx(0.99) and payload["config"].optimizer == "adam"
    assert isinstance(model, LeNet5Classic) and model.normalization == "paper"


def test_config_is_checked_when_made_and_never_changed():
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="learning rate must be a positive"):
        TrainConfig(lr=-0.1)
    with pytest.raises(ValueError, match="unknown model"):
        TrainConfig(model="alexnet")
    with pytest.raises(ValueError, match=r"target_acc is a fraction in \(0, 1\] \(0.99 for 99%\), got 99.0"):
        TrainConfig(target_acc=99.0)
    with pytest.raises(ValueError, match="betas must be a tuple of two numbers"):
        TrainConfig(betas=(0.9, 1.5))
    cfg = TrainConfig(betas=(0.7, 0.9))
    with pytest.raises(AttributeError):
        cfg.epochs = 3  # frozen: what a run is does not change under it
    assert cfg.replace(epochs=3).epochs == 3 and cfg.epochs == 10
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg  # through JSON and back


def test_runtime_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match="a CUDA graph needs an optimiser whose step it can record"):
        Runtime(cuda_graph=True).check(TrainConfig(optimizer="sgd"))
    with pytest.raises(ValueError, match="SDLM in a CUDA graph reads its learning rate once per pass"):
        Runtime(cuda_graph=True).check(TrainConfig(model="classic", optimizer="sdlm", schedule="onecycle"))
    with pytest.raises(ValueError, match="unknown device 'tpu9'"):
        Runtime(device="tpu9").check(TrainConfig())


def test_optimisers_and_schedules_of_the_tutorial_and_paper():
    model = LeNet5Modern()
    adam, _ = configure_optimizer(model, TrainConfig(optimizer="adam"), 10)
    sgd, none = configure_optimizer(model, TrainConfig(optimizer="sgd"), 10)
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["lr"] == 1e-3 and none is None
    assert (
        isinstance(sgd, torch.optim.SGD)
        and sgd.param_groups[0]["lr"] == 0.01
        and sgd.param_groups[0]["momentum"] == 0.9
    )
    opt, sched = configure_optimizer(model, TrainConfig(optimizer="adam", lr=5e-4, schedule="paper", epochs=20), 10)
    lrs = []
    for _ in range(20 * 10):  # stepped after every batch, 10 batches an epoch
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    # the paper: 0.0005 (2 passes), 0.0002 (3), 0.0001 (3), 0.00005 (4), then 0.00001
    assert lrs[::10][:13] == pytest.approx([5e-4] * 2 + [2e-4] * 3 + [1e-4] * 3 + [5e-5] * 4 + [1e-5])
    assert all(len(set(lrs[e * 10 : (e + 1) * 10])) == 1 for e in range(20))  # constant within each epoch
    assert len(PAPER_LR_MULTIPLIERS) == 13
    opt, sched = configure_optimizer(model, TrainConfig(lr=0.01, schedule="onecycle", epochs=2), 50)
    seen = []
    for _ in range(100):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    assert max(seen) == pytest.approx(0.01, rel=0.05) and seen[-1] < 0.001


def test_source_and_fast_configs():
    src = source_config("sgd")
    assert (src.epochs, src.batch_size, src.lr, src.momentum) == (10, 64, None, 0.9)  # None: SGD's default, 0.01
    fast = fast_config()
    assert fast.model == "modern" and fast.schedule == "onecycle" and fast.normalization == "meanstd"
    assert fast.eval_every == fast.epochs and fast.channels_last and fast.target_acc == TARGET_ACC == 0.99


def test_fast_recipe_is_the_one_chosen_on_the_validation_split():
    """fast_config() is what benchmarks/choose_fast_recipe.py's rule picks from its recorded run."""
    chooser = load_script("benchmarks/choose_fast_recipe.py")
    record = json.loads((ROOT / "benchmarks/results/recipe-selection-cpu.json").read_text())
    chosen = chooser.choose(record["candidates"], record["target"])
    assert chosen == record["chosen"] and record["seeds"] >= len(book_run("modern-fast").seeds)  # as many as recorded
    assert chosen["complete"] and len(chosen["val_acc"]) == record["seeds"]
    fast = fast_config()
    assert (chosen["epochs"], chosen["batch_size"], chosen["lr"], tuple(chosen["betas"])) == (
        fast.epochs,
        fast.batch_size,
        fast.lr,
        fast.betas,
    )
    assert [tuple(c[:3]) + (tuple(c[3]),) for c in chooser.CANDIDATES] == [
        (r["epochs"], r["batch_size"], r["lr"], tuple(r["betas"])) for r in record["candidates"]
    ]


def test_the_choosing_rule_takes_the_cheapest_candidate_whose_every_seed_ran_and_reached_the_target():
    choose = load_script("benchmarks/choose_fast_recipe.py").choose
    rows = [
        {"epochs": 3, "batch_size": 256, "min_val_acc": 98.94, "complete": False},  # stopped at a seed under it
        {"epochs": 4, "batch_size": 256, "min_val_acc": 98.95, "complete": True},  # reaches it exactly
        {"epochs": 4, "batch_size": 512, "min_val_acc": 99.10, "complete": False},  # interrupted: not all seeds
        {"epochs": 5, "batch_size": 512, "min_val_acc": 99.20, "complete": True},
    ]
    assert choose(rows, 98.95) is rows[1]
    assert choose(rows, 99.0) is rows[3] and choose(rows, 99.5) is None


def test_stop_rules_give_exact_prefixes_of_the_full_run(mnist):
    data = _slice(mnist, 1200, 300)
    cfg = TrainConfig(model="modern", epochs=3, batch_size=100, schedule="onecycle", lr=0.01)
    full_model, full = train(cfg, CPU, data=data)
    assert len(full.step_losses) == min(REPLAY_STEPS, 36) and len(full.epochs) == 3
    _, first = train(cfg, CPU, data=data, stop_after=1)

    def metrics(epochs):  # everything but the timings
        return [{k: v for k, v in e.items() if not k.endswith("_s")} for e in epochs]

    assert metrics(first.epochs) == metrics(full.epochs[:1])
    assert first.step_losses == full.step_losses[:12]
    _, part = train(cfg, CPU, data=data, max_steps=5)
    assert part.step_losses == full.step_losses[:5] and part.epochs[0]["train_samples"] == 500
    assert part.epochs[0]["test_acc"] is None  # a cut-short epoch is not evaluated


def test_history_times_add_up(mnist):
    _, h = train(TrainConfig(epochs=2, batch_size=200), CPU, data=_slice(mnist, 1000, 300))
    assert 0 < h.setup_s and 0 < h.train_s and 0 < h.eval_s
    assert h.setup_s + h.train_s + h.eval_s <= h.fit_s
    assert History.from_dict({"device": "cpu", "wall_s": 1.5, "total_s": 2.0}) == History(
        hardware="cpu", train_s=1.5, fit_s=2.0
    )


def test_test_subset_applies_to_the_test_set_only(mnist, tmp_path, capsys):
    """A run with a test subset evaluates that many test images, its record's whole-training-set
    metrics read every training image it saw, and `eval` of its checkpoint reads the whole test set."""
    data = _slice(mnist, 600, 400)
    cfg = TrainConfig(epochs=1, batch_size=100, test_subset=50)
    _, test_loader = make_loaders(cfg, data[0], data[1], "cpu")
    assert test_loader.images.shape[0] == 50
    assert eval_loader(cfg, data[0], "cpu").images.shape[0] == 600
    rec = record_run("subset-s0", cfg, data, CPU, tmp_path)
    model = records.load_model(rec, tmp_path)
    seen = predict(model, data[0].images)
    assert rec.final["train_set_acc"] == pytest.approx(float((seen == data[0].labels).double().mean()))
    assert main(["eval", "--checkpoint", str(tmp_path / rec.checkpoint), "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == len(mnist[1]) == 10_000
    assert out["test_acc"] == pytest.approx(float((predict(model, mnist[1].images) == mnist[1].labels).double().mean()))


def test_classic_recipe_is_the_full_schedule():
    cfg = classic_config()
    assert (cfg.model, cfg.epochs, cfg.batch_size, cfg.optimizer, cfg.lr, cfg.schedule) == (
        "classic",
        20,
        32,
        "adam",
        1e-3,
        "paper",
    )
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        classic_config(epochs=0)


def test_retain_freed_memory_applies_where_there_is_glibc():
    import platform

    applied = retain_freed_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert applied is True


def test_a_split_of_any_size_trains():
    rng = torch.Generator().manual_seed(0)
    split = Split(
        torch.randint(0, 256, (50, 28, 28), dtype=torch.uint8, generator=rng),
        torch.randint(0, 10, (50,), generator=rng),
    )
    _, hist = train(TrainConfig(epochs=1, batch_size=16), CPU, data=(split, split))
    assert hist.epochs[0]["train_samples"] == 50
