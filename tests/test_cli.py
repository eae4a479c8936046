import json
import subprocess
import sys

import pytest

from lenet.cli import main
from lenet.recipes import classic_config, classic_default_config, fast_config, sdlm_config

SUBCOMMANDS = ["data", "summary", "train", "eval", "record"]


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lenet", *args], capture_output=True, text=True, timeout=300, env=env)


def in_process(args, capsys):
    """(exit code, stdout, stderr) of ``python -m lenet ARGS``, run in this process (no torch
    import per call); the subprocess tests below check the real process once."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_every_subcommand_has_help(sub, capsys):
    code, out, _ = in_process([sub, "--help"], capsys)
    assert code == 0 and "usage:" in out


def test_the_real_process_prints_one_line_and_no_traceback():
    res = run("train", "--device", "tpu9")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m lenet train: error: unknown device 'tpu9'")


def test_summary_prints_the_papers_totals(capsys):
    assert main(["summary", "--model", "classic"]) == 0
    out = capsys.readouterr().out
    assert "60,000" in out and "340,908" in out and "151,600" in out
    assert main(["summary", "--model", "modern", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["parameters"] for r in rows) == 61_706


def test_data_reports_verified_files(capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert out.count("md5 ok") == 4


def test_train_and_eval_on_a_directory_of_idx_files(tiny_idx_dir, tmp_path):
    out = tmp_path / "run"
    res = run(
        "train",
        "--model",
        "modern",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--data-dir",
        str(tiny_idx_dir),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--quiet",
    )
    assert res.returncode == 0, res.stderr
    last = json.loads(res.stdout.strip().splitlines()[-1])
    assert {"test_acc", "epochs", "train_s", "time_to_target_s", "hardware"} <= set(last) and last["epochs"] == 1
    parts = ("setup_s", "train_s", "eval_s", "final_eval_s", "save_s")  # the benchmark's parts of the run
    assert all(last[k] >= 0 for k in parts) and last["data_s"] + sum(last[k] for k in parts) <= last["command_s"]
    assert last["train_s"] <= last["run_s"] <= last["command_s"]
    assert (out / "checkpoint.pt").is_file() and last["record"] == str(out / "record.json")
    record = json.loads((out / "record.json").read_text())
    assert record["format"] == "lenet-record/2" and record["final"]["test_acc"] == last["test_acc"]
    assert record["config"]["epochs"] == 1 and record["checkpoint"] == "checkpoint.pt"
    res = run("eval", "--checkpoint", str(out / "checkpoint.pt"), "--data-dir", str(tiny_idx_dir), "--device", "cpu")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["n"] == 10


def _capture_runs(monkeypatch):
    """Replace the run by a function that keeps what it was given and stops."""
    seen = []

    def fake_record_run(name, config, data, runtime, *args, **kwargs):
        seen.append((config, runtime))
        raise SystemExit(0)

    monkeypatch.setattr("lenet.cli.record_run", fake_record_run)
    monkeypatch.setattr("lenet.cli._load_data", lambda d: (None, None))
    return seen


def test_classic_defaults_are_the_full_schedule(monkeypatch):
    seen = _capture_runs(monkeypatch)
    with pytest.raises(SystemExit):
        main(["train", "--model", "classic"])
    cfg, runtime = seen[-1]
    assert (cfg.epochs, cfg.schedule, cfg.model, cfg.distortions) == (20, "paper", "classic", 0)
    assert cfg == classic_default_config() and runtime.progress
    for argv, want in (
        (["--optimizer", "sdlm"], sdlm_config()),
        (["--optimizer", "sdlm", "--distortions"], sdlm_config(distortions=1)),
        (["--optimizer", "sdlm", "--distortions", "3", "--mu", "5"], sdlm_config(distortions=3, mu=5.0)),
        (["--optimizer", "adam"], classic_config()),
    ):
        with pytest.raises(SystemExit):
            main(["train", "--model", "classic", "--quiet", *argv])
        assert seen[-1][0] == want and not seen[-1][1].progress, argv


def test_fast_flag_runs_the_fast_recipe_and_options_override_it(monkeypatch):
    seen = _capture_runs(monkeypatch)
    for argv in (
        ["train", "--fast", "--device", "cpu"],
        ["train", "--fast", "--epochs", "5", "--device", "cpu", "--cuda-graph", "--target-acc", "98.5"],
    ):
        with pytest.raises(SystemExit):
            main(argv)
    (fast, fast_runtime), (longer, longer_runtime) = seen
    assert fast == fast_config() and fast_runtime.device == "cpu" and not fast_runtime.cuda_graph
    assert (longer.epochs, longer.eval_every, longer.batch_size, longer.target_acc) == (5, 5, 256, 0.985)
    assert longer_runtime.cuda_graph


@pytest.mark.parametrize(
    "args,needle",
    [
        (["train", "--fast", "--model", "classic"], "--fast is the modern model's recipe"),
        (["train", "--model", "resnet"], "invalid choice: 'resnet'"),
        (["train", "--epochs", "0"], "expected a positive integer"),
        (["train", "--lr", "abc"], "expected a positive number"),
        (["train", "--data-dir", "/no/such/dir", "--epochs", "1"], "is not a directory"),
        (["train", "--device", "cuda:0"] if True else [], "cuda"),
        (["eval", "--checkpoint", "/no/such.pt"], "does not exist"),
        (["train", "--device", "tpu9"], "unknown device 'tpu9'"),
        (["train", "--out", "/proc/lenet-run", "--epochs", "1"], "cannot write to /proc/lenet-run"),
        (["record", "no-such-run"], "unknown book run 'no-such-run'"),
        (["train", "--optimizer", "sdlm"], "use --model classic"),
        (["train", "--optimizer", "sgd", "--cuda-graph", "--device", "cpu"], "a CUDA graph needs an optimiser"),
        (["train", "--target-acc", "150"], "expected an accuracy in (0, 1] or a percentage"),
        (["train", "--model", "classic", "--distortions", "0"], "expected a positive integer"),
        (["summary", "--model", "x"], "invalid choice"),
    ],
)
def test_bad_input_exits_nonzero_with_one_clear_line(args, needle, capsys):
    import torch

    if args[:3] == ["train", "--device", "cuda:0"] and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code, _, err = in_process(args, capsys)
    assert code != 0
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_corrupt_idx_in_data_dir_is_one_clear_line(tiny_idx_dir, capsys):
    path = tiny_idx_dir / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:500])
    code, _, err = in_process(["train", "--data-dir", str(tiny_idx_dir), "--epochs", "1", "--quiet"], capsys)
    assert code == 2 and "truncated IDX file" in err and len(err.strip().splitlines()) == 1
