"""The recorded benchmark runs: benchmarks/RESULTS.md is what the stored runs give, and each run's
numbers are consistent with themselves."""

import json

import pytest
import torch
from conftest import ROOT, load_script

from lenet.recipes import fast_config

bench = load_script("benchmarks/time_to_accuracy.py")
results_md = load_script("benchmarks/results_md.py")
CPU_RUN = bench.load(ROOT / "benchmarks" / "results" / "cpu-2core.json")
GPU_RUN = bench.load(ROOT / "benchmarks" / "results" / "gpu-h200.json")


def test_results_md_is_what_the_stored_runs_give():
    assert results_md.render() == (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8"), (
        "run `python benchmarks/results_md.py`"
    )


@pytest.mark.parametrize("run", [CPU_RUN, GPU_RUN], ids=["cpu", "gpu"])
def test_a_stored_run_is_the_current_recipe_and_its_targets_are_replayed(run):
    """The CPU run is re-made with every change of the recipe; a GPU run waits for the next GPU, and
    until then RESULTS.md says which recipe it timed and what the recipe has become."""
    fast, recipe = run["fast"], fast_config()
    ran = (fast["config"]["epochs"], fast["config"]["batch_size"], fast["config"]["lr"], tuple(fast["config"]["betas"]))
    current = (recipe.epochs, recipe.batch_size, recipe.lr, recipe.betas)
    if run is CPU_RUN or ran == current:
        assert ran == current
    else:
        said = " ".join(results_md.render().split())
        assert f"trained the fast recipe in {ran[0]} epochs of batch {ran[1]}" in said
        assert f"has since become {recipe.epochs} epochs of batch {recipe.batch_size}" in said
    assert len({r["seed"] for r in fast["per_seed"]}) == fast["runs"] >= 10
    assert fast["mean_acc"] == pytest.approx(sum(r["test_acc"] for r in fast["per_seed"]) / fast["runs"])
    process = run["process"]
    for r in process["fast"]["per_seed"]:  # the parts of a whole process add up to it
        assert sum(r[k] for k in bench.PARTS_LABELS if k in r) == pytest.approx(r["process_s"])
    assert process["ratio"] == pytest.approx(process["source"]["median_s"] / process["fast"]["median_s"])
    device = torch.device(run["machine"]["device"])
    assert run["targets"] == bench.targets(bench.upgrade(run), device) or device.type == "cuda"
    assert run["targets"]["every seed >= 99.0%"]


def test_the_gpu_run_checks_the_classic_network_and_its_records():
    c = GPU_RUN["classic"]
    assert {"adam", "sdlm"} <= set(c) and all(v["epochs"] == 20 and v["cuda_graph"] for v in c.values())
    for key in [k for k in GPU_RUN["targets"] if "passes" in k]:
        opt = key.split(",")[1].strip().split(":")[0]
        assert GPU_RUN["targets"][key] == (c[opt]["train_s"] <= bench.GPU_CLASSIC_TARGET_S[opt])


def test_the_fast_recipe_evaluates_in_batches_recorded_among_the_fastest_on_a_cpu():
    timed = CPU_RUN["fast"]["eval_s"]
    assert timed[str(fast_config().eval_batch_size)] <= 1.05 * min(timed.values())  # within the noise of the fastest


def test_targets_are_checked_per_device():
    run = {
        "fast": {"per_seed": [{"test_acc": 0.9905}, {"test_acc": 0.9912}], "median_s": 0.24},
        "classic": {},
        "process": {"fast": {"per_seed": [{"test_acc": 0.9901}]}},
    }
    assert bench.targets(run, torch.device("cpu")) == {"every seed >= 99.0%": True}
    assert bench.targets(run, torch.device("cuda")) == {
        "every seed >= 99.0%": True,
        "fast recipe: median training <= 0.25 s": True,
    }
    run["process"]["fast"]["per_seed"][0]["test_acc"] = 0.9899  # one seed below 99.0% fails the target
    assert not bench.targets(run, torch.device("cuda"))["every seed >= 99.0%"]
    run["classic"] = {"adam": {"epochs": 20, "train_s": 14.0, "test_error": 0.011}}
    assert bench.targets(run, torch.device("cuda"))["1998 network, adam: 20 passes <= 15 s"]


def test_results_of_the_first_format_are_read():
    old = json.loads((ROOT / "benchmarks" / "results" / "cpu-2core-2026-12-01.json").read_text())
    assert "format" not in old and "wall_s" in old["process"]["fast"]["per_seed"][0]
    new = bench.upgrade(old)
    assert (
        new["format"] == bench.FORMAT
        and new["process"]["fast"]["per_seed"][0]["process_s"] == old["process"]["fast"]["per_seed"][0]["wall_s"]
    )
    assert new["classic"]["adam"]["train_s"] == old["classic"]["wall_s"]


def test_source_script_is_the_tutorials_and_only_reads_local_data():
    text = bench.SOURCE_SCRIPT.read_text()
    assert text.count("root='./data', train=") == 2 and "download=True" not in text and "num_epoch = 10" in text
    assert "optim.Adam(model.parameters(), lr=0.001)" in text and "batch_size=64, shuffle=True" in text


def test_gpu_check_calls_the_scripts_with_options_they_have(capsys):
    """The GPU check runs where no one watches: an option a script lost would waste the device."""
    import re

    script = (ROOT / "benchmarks" / "gpu_check.sh").read_text()
    for name in ("time_to_accuracy", "gpu_profile"):
        call = " ".join(
            line for line in script.splitlines() if f"benchmarks/{name}.py" in line and line.startswith("step")
        )
        call += (
            next(
                (
                    line
                    for line in script.splitlines()[script.splitlines().index(call.splitlines()[0]) + 1 :]
                    if line.startswith("    --")
                ),
                "",
            )
            if call.rstrip().endswith("\\")
            else ""
        )
        module = bench if name == "time_to_accuracy" else load_script(f"benchmarks/{name}.py")
        with pytest.raises(SystemExit):
            module.main(["--help"])
        options = set(re.findall(r"--[a-z-]+", capsys.readouterr().out))
        assert set(re.findall(r"--[a-z-]+", call)) <= options, name
