"""The recorded benchmark runs: the numbers in benchmarks/RESULTS.md are those of the JSON files."""

import json

import pytest
import torch

from conftest import ROOT, load_script
from lenet.recipes import fast_config

bench = load_script("benchmarks/time_to_accuracy.py")
RESULTS_MD = (ROOT / "benchmarks" / "RESULTS.md").read_text()
CPU_RUN = json.loads((ROOT / "benchmarks" / "results" / "cpu-2core.json").read_text())


def test_results_md_shows_the_recorded_cpu_run():
    assert bench.markdown_table(CPU_RUN) in RESULTS_MD


def test_recorded_cpu_run_is_the_current_recipe_and_meets_its_targets():
    fast = CPU_RUN["fast"]
    recipe = fast_config()
    assert (fast["config"]["epochs"], fast["config"]["batch_size"], fast["config"]["lr"], tuple(fast["config"]["betas"])) == (
        recipe.epochs, recipe.batch_size, recipe.learning_rate, recipe.betas)
    assert fast["runs"] >= 5 and len({r["seed"] for r in fast["per_seed"]}) == fast["runs"]
    assert fast["mean_acc"] == pytest.approx(sum(r["test_acc"] for r in fast["per_seed"]) / fast["runs"])
    assert CPU_RUN["targets"] == bench.targets(CPU_RUN, torch.device("cpu"))
    assert CPU_RUN["ratio"] == pytest.approx(CPU_RUN["source"]["median_s"] / fast["median_s"])


def test_targets_are_checked_per_device():
    run = {"fast": {"mean_acc": 0.9905, "median_s": 0.8}, "ratio": 7.9}
    assert bench.targets(run, torch.device("cpu")) == {"mean test accuracy >= 99.0%": True, "ratio (a)/(b) >= 8": False}
    assert bench.targets(run, torch.device("cuda")) == {"mean test accuracy >= 99.0%": True, "median training time <= 1 s": True}
    run["fast"]["mean_acc"] = 0.9899
    assert not bench.targets(run, torch.device("cuda"))["mean test accuracy >= 99.0%"]


def test_classic_full_schedule_records_are_reported():
    from lenet import records

    runs = records.load_records(ROOT / "results", run="classic-1998")
    assert len(runs) >= 3 and all(r.epochs == 20 for r in runs)
    assert bench.classic_full_summary(runs) in RESULTS_MD
