"""Run records (lenet.records): the format, and a replay of every record the book stores.

The replay tests are what keeps the book's numbers honest: every record under results/ is re-run
from its configuration on this CPU and must match what it says, so no recorded number can be typed
by hand or go stale when the training code changes. Where this machine rounds exactly as the
recording one did (same instruction set, threads and torch), the match is bit for bit, over the
first steps and the whole first epoch; elsewhere the first steps must agree to PREFIX_RTOL, and the
test says so in its output.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import pytest
import torch
from conftest import ROOT

from lenet import records
from lenet.cli import main
from lenet.inference import predict
from lenet.machine import machine_info
from lenet.recipes import BOOK_RUNS, TARGET_ACC, book_run
from lenet.recording import ARITHMETIC_KEYS, compare, make_record, record_run, replay, rounds_as_recorded
from lenet.train import History, Runtime, TrainConfig, eval_loader, evaluate

RESULTS = ROOT / "results"
STORED = records.load_records(RESULTS)
BY_NAME = {r.name: r for r in STORED}
#: One record per distinct configuration (seed 0 of each run): their whole first epoch is replayed,
#: where it took at most FIRST_EPOCH_S to record (the per-pattern SDLM passes take minutes; the
#: replay of their first 200 steps covers them).
FIRST_EPOCH_S = 60.0
FIRST_SEEDS = [
    r
    for r in STORED
    if r.seed == min(s.seed for s in STORED if s.run == r.run) and r.history[0]["train_s"] <= FIRST_EPOCH_S
]


def _history(accs=(0.95, 0.97), train_s=12.5):
    h = History(hardware="cpu", train_s=train_s, fit_s=train_s + 1, step_losses=[2.3, 2.1, 1.9])
    for e, a in enumerate(accs):
        h.epochs.append(
            {
                "epoch": e + 1,
                "lr": 1e-3,
                "train_loss": 1.0 / (e + 1),
                "train_acc": a - 0.01,
                "train_samples": 100,
                "test_loss": 0.5 / (e + 1),
                "test_acc": a,
                "train_s": train_s * (e + 1) / len(accs),
                "elapsed_s": 1.0,
            }
        )
    return h


def _record(name="run-a", **kw):
    from lenet.models import LeNet5Modern

    rec = make_record(
        name,
        LeNet5Modern(),
        TrainConfig(epochs=2, target_acc=0.99),
        _history(),
        run_s=20.0,
        train_set=(0.1, 0.97),
        run="run",
    )
    for k, v in kw.items():
        setattr(rec, k, v)
    rec.validate()
    return rec


# --------------------------------------------------------------------------- the format


def test_record_holds_config_history_final_metrics_machine_and_code_hash():
    rec = _record()
    assert rec.parameters == 61_706 and rec.model == "modern" and rec.epochs == 2
    assert rec.test_acc == 0.97 and rec.train_s == 12.5 and rec.run_s == 20.0 and rec.final["fit_s"] == 13.5
    assert rec.column("test_acc") == [0.95, 0.97] and rec.step_losses == [2.3, 2.1, 1.9]
    assert rec.final["target_acc"] == pytest.approx(0.99) and rec.final["train_set_acc"] == 0.97
    assert rec.machine["device"] == "cpu" and rec.machine["torch"] == torch.__version__ and rec.machine["threads"] >= 1
    assert rec.code_hash == records.code_hash() and len(rec.code_hash) == 16
    assert rec.config["epochs"] == 2 and rec.train_config() == TrainConfig(epochs=2, target_acc=0.99)
    assert rec.runtime == {"amp": False, "compile": False, "cuda_graph": False} and "progress" not in rec.config


def test_code_hash_ignores_docstrings_and_comments(tmp_path, monkeypatch):
    import lenet

    src = ROOT / "lenet"
    fake = tmp_path / "lenet"
    fake.mkdir()
    for name in records.TRAINING_MODULES:
        (fake / name).write_text((src / name).read_text())
    monkeypatch.setattr(records, "__file__", str(fake / "records.py"))
    base = records.code_hash()
    text = (fake / "train.py").read_text()
    (fake / "train.py").write_text(
        text.replace('"""Training and evaluation', '"""Reworded: training and evaluation', 1) + "\n# a comment\n"
    )
    assert records.code_hash() == base
    (fake / "train.py").write_text(text.replace("REPLAY_STEPS = 200", "REPLAY_STEPS = 201"))
    assert records.code_hash() != base
    assert lenet  # the package itself is untouched


def test_save_load_roundtrip_and_listing(tmp_path):
    rec = _record()
    path = records.save_record(rec, tmp_path)
    assert path == tmp_path / "run-a.json" and json.loads(path.read_text())["format"] == records.RECORD_FORMAT
    assert records.load_record(path) == rec
    records.save_record(_record(name="run-b"), tmp_path)
    assert [r.name for r in records.load_records(tmp_path)] == ["run-a", "run-b"]
    assert records.load_records(tmp_path / "missing") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-a.json", "run-b.json"]  # no temporary file left


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"name": "Bad Name"}, "record name"),
        ({"name": "../escape"}, "record name"),
        ({"final": {"test_acc": 99.0, "train_s": 1.0}}, "fraction"),
        ({"final": {"test_acc": 0.9, "train_s": float("nan")}}, "train_s"),
        ({"parameters": -1}, "parameters"),
        ({"history": []}, "history is empty"),
        ({"machine": {"device": "tpu"}}, "machine.device"),
    ],
)
def test_record_validation_names_the_field(kw, match):
    with pytest.raises(records.RecordError, match=match):
        _record(**kw)


def test_malformed_and_missing_records_are_reported(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(records.RecordError, match="broken.json"):
        records.load_records(tmp_path)
    (tmp_path / "broken.json").write_text(json.dumps({"name": "broken", "model": "modern"}))
    with pytest.raises(records.RecordError, match="lacks the field"):
        records.load_record(tmp_path / "broken.json")
    with pytest.raises(records.RecordError, match="python -m lenet record classic-1998"):
        records.get_record("classic-1998-s7", tmp_path)


def test_unwritable_output_is_caught_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(records.RecordError, match="cannot write to .*choose another directory"):
        records.ensure_writable(blocker / "sub")


def test_records_of_the_first_format_are_read():
    """The book's records before the second format: how a run ran was inside its configuration,
    its target in percent, the whole run's time ``wall_s`` and the hardware ``machine.name``."""
    old = json.loads((RESULTS / "classic-1998-s0.json").read_text())
    assert old["format"] == records.RECORD_FORMAT_V1 and "device" in old["config"]
    rec = records.Record.from_dict(old)
    assert (
        rec.format == records.RECORD_FORMAT
        and rec.run_s == old["wall_s"]
        and rec.final["fit_s"] == old["final"]["total_s"]
    )
    assert rec.hardware == old["machine"]["name"] and rec.runtime == {
        "amp": False,
        "compile": False,
        "cuda_graph": False,
    }
    assert rec.train_config().target_acc == pytest.approx(TARGET_ACC) and "device" not in rec.config


def test_record_run_then_replay_matches_bit_for_bit_and_detects_a_wrong_record(tmp_path, mnist):
    data = (mnist[0].subset(1500), mnist[1].subset(500))
    cfg = TrainConfig(model="classic", epochs=2, batch_size=50, lr=1e-3, schedule="paper")
    rec = record_run("tiny-s0", cfg, data, Runtime(device="cpu", progress=False), tmp_path, run="tiny", title="tiny")
    assert (tmp_path / "tiny-s0.json").is_file() and (tmp_path / rec.checkpoint).is_file()
    assert rec.epochs == 2 and len(rec.step_losses) == 60 and rec.final["train_set_acc"] is not None
    cmp = compare(rec, replay(rec, data, epochs=1))
    assert cmp.exact and cmp.ok and cmp.epochs == 1 and cmp.steps == 30, cmp.message
    model = records.load_model(rec, tmp_path)
    assert float((predict(model, data[1].images) == data[1].labels).double().mean()) == rec.test_acc
    forged = replace(rec, step_losses=[v * 1.001 for v in rec.step_losses])
    bad = compare(forged, replay(forged, data, steps=12))
    assert not bad.ok and "does not come from this code" in bad.message
    typed = replace(rec, history=[dict(rec.history[0], test_acc=0.99)] + rec.history[1:])
    edited = compare(typed, replay(typed, data, epochs=1))
    assert not edited.ok and "edited by hand" in edited.message and "test_acc" in edited.message


def test_cli_record_lists_the_book_runs(capsys):
    assert main(["record", "--list", "--out", str(RESULTS)]) == 0
    out = capsys.readouterr().out
    assert all(run.name in out for run in BOOK_RUNS)
    assert main(["record", "no-such-run"]) == 2
    assert "unknown book run 'no-such-run'" in capsys.readouterr().err


# --------------------------------------------------------------------------- the stored records


def test_every_book_run_is_recorded_with_its_current_recipe():
    for run in BOOK_RUNS:
        for seed in run.seeds:
            name = run.record_name(seed)
            assert name in BY_NAME, f"no record {name}: run `python -m lenet record {run.name}`"
            rec = BY_NAME[name]
            want = run.make(seed)
            assert rec.train_config() == want, (
                f"{name} was made with another recipe: re-run `python -m lenet record {run.name}`"
            )
            assert (rec.run, rec.chapter, rec.title) == (run.name, run.chapter, run.title)
            assert (rec.checkpoint is not None) == (seed in run.checkpoint_seeds)
            assert rec.epochs == want.epochs and rec.final["train_set_acc"] is not None
    known = {run.record_name(s) for run in BOOK_RUNS for s in run.seeds}
    extra = [r.name for r in STORED if r.name.removesuffix("-cuda") not in known]
    assert not extra, f"records of no book run: {extra}"


@pytest.mark.slow
@pytest.mark.parametrize("rec", STORED, ids=lambda r: r.name)
def test_record_replays(rec, mnist):
    """The first steps of every record, replayed on this CPU."""
    if rec.on_gpu:
        pytest.skip(f"GPU-only record ({rec.hardware}): its bf16/CUDA arithmetic is not replayed on a CPU")
    cmp = compare(rec, replay(rec, mnist, steps=len(rec.step_losses)))
    assert cmp.ok, cmp.message
    if not cmp.exact:
        warnings.warn(cmp.message, stacklevel=1)
    if rec.code_hash != records.code_hash():
        warnings.warn(
            f"{rec.name} was made by training code {rec.code_hash}, this is {records.code_hash()}; it still replays",
            stacklevel=1,
        )


@pytest.mark.slow
@pytest.mark.parametrize("rec", FIRST_SEEDS, ids=lambda r: r.name)
def test_record_first_epoch_replays_exactly(rec, mnist):
    """The whole first epoch, bit for bit, where this machine rounds as the recording one did."""
    if rec.on_gpu:
        pytest.skip(f"GPU-only record ({rec.hardware})")
    if not rounds_as_recorded(rec):
        here = machine_info("cpu")
        pytest.skip(
            "bit-for-bit replay needs the recording machine's arithmetic: the record was made on "
            + ", ".join(f"{rec.machine.get(k)}" for k in ARITHMETIC_KEYS)
            + "; this is "
            + ", ".join(f"{here[k]}" for k in ARITHMETIC_KEYS)
        )
    cmp = compare(rec, replay(rec, mnist, epochs=1))
    assert cmp.exact and cmp.epochs == 1, cmp.message


@pytest.mark.slow
@pytest.mark.parametrize("rec", [r for r in STORED if r.checkpoint], ids=lambda r: r.name)
def test_record_checkpoint_gives_its_final_metrics(rec, mnist):
    model = records.load_model(rec, RESULTS)
    loss, acc = evaluate(model, eval_loader(rec.train_config(), mnist[1], "cpu"))
    mistakes, recorded = round((1 - acc) * len(mnist[1])), round(rec.test_error * len(mnist[1]))
    if not rounds_as_recorded(rec):
        assert abs(mistakes - recorded) <= 2, f"{rec.name}: {mistakes} mistakes, the record says {recorded}"
    else:
        assert acc == rec.test_acc and loss == pytest.approx(rec.final["test_loss"], rel=1e-6)


def test_book_run_lookup_names_the_choices():
    assert book_run("modern-fast").seeds
    with pytest.raises(ValueError, match="unknown book run 'x'; choose from: classic-1998"):
        book_run("x")
