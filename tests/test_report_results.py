"""Tests for lenet.results, lenet.report and lenet.draw (chapters 5-8). No dataset needed."""

from __future__ import annotations

import json
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lenet import draw, report, results  # noqa: E402
from lenet.models import LeNet5Classic, LeNet5Modern  # noqa: E402
from lenet.rbf import DIGIT_BITMAPS  # noqa: E402
from lenet.train import History, TrainConfig  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(accs=(0.95, 0.97, 0.98), wall_s=12.5, device="cpu"):
    h = History(device=device)
    for e, a in enumerate(accs):
        h.epochs.append({"epoch": e + 1, "lr": 1e-3, "train_loss": 1.0 / (e + 1), "train_acc": a - 0.01,
                         "test_loss": 0.5 / (e + 1), "test_acc": a, "train_s": wall_s * (e + 1) / len(accs)})
    h.wall_s = wall_s
    return h


def _record(name="run-a", model="modern", parameters=61_706, test_acc=0.99, **kw):
    base = dict(name=name, model=model, parameters=parameters, test_acc=test_acc, train_s=10.0, device="cpu",
                epochs=2, config={"epochs": 2, "batch_size": 64, "optimizer": "adam", "schedule": "constant"},
                test_acc_per_epoch=[0.98, test_acc])
    base.update(kw)
    return results.Result(**base)


# --------------------------------------------------------------------------- results


def test_make_record_from_model_config_history():
    model = LeNet5Modern()
    config = TrainConfig(model="modern", epochs=3, progress=False, target_acc=99.0)
    rec = results.make_record("modern-test", model, config, _history(), budget="CPU (short)", chapter="7")
    assert rec.parameters == 61_706
    assert rec.model == "modern"
    assert rec.test_acc == 0.98 and rec.epochs == 3 and rec.train_s == 12.5
    assert rec.test_acc_per_epoch == [0.95, 0.97, 0.98]
    assert rec.config["epochs"] == 3 and rec.target_acc == pytest.approx(0.99)
    assert rec.budget == "CPU (short)" and rec.torch_version == torch.__version__
    assert results.make_record("c", LeNet5Classic(), TrainConfig(model="classic"), _history()).parameters == 60_000


def test_make_record_refuses_history_without_test_accuracy():
    h = History(device="cpu", epochs=[{"epoch": 1, "test_acc": None}])
    with pytest.raises(results.ResultError, match="no test accuracy"):
        results.make_record("x", LeNet5Modern(), TrainConfig(), h)


def test_save_load_roundtrip(tmp_path):
    rec = _record()
    path = results.save_result(rec, tmp_path)
    assert path == tmp_path / "run-a.json"
    data = json.loads(path.read_text())
    assert data["name"] == "run-a" and data["format"] == results.RESULT_FORMAT
    assert results.load_result(path) == rec
    # saving again replaces the file and leaves no temporary file behind
    results.save_result(_record(test_acc=0.995), tmp_path)
    assert results.load_result(path).test_acc == 0.995
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-a.json"]


def test_load_results_sorted_and_empty(tmp_path):
    assert results.load_results(tmp_path / "missing") == []
    for name in ("zeta", "alpha", "mid"):
        results.save_result(_record(name=name), tmp_path)
    assert [r.name for r in results.load_results(tmp_path)] == ["alpha", "mid", "zeta"]


def test_default_results_dir_env(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_DIR_ENV, str(tmp_path / "elsewhere"))
    assert results.default_results_dir() == tmp_path / "elsewhere"
    results.save_result(_record(name="via-env"))
    assert (tmp_path / "elsewhere" / "via-env.json").is_file()
    monkeypatch.delenv(results.RESULTS_DIR_ENV)
    assert results.default_results_dir().name == "results"


@pytest.mark.parametrize("kw, match", [
    ({"name": "Bad Name"}, "result name"),
    ({"name": "../escape"}, "result name"),
    ({"test_acc": 99.0}, "fraction"),
    ({"test_acc": -0.1}, "fraction"),
    ({"parameters": -1}, "parameters"),
    ({"epochs": 0}, "epochs"),
    ({"train_s": float("nan")}, "train_s"),
])
def test_result_validation(kw, match):
    with pytest.raises(results.ResultError, match=match):
        _record(**kw)


def test_malformed_files_are_reported(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(results.ResultError, match="broken.json"):
        results.load_results(tmp_path)
    (tmp_path / "broken.json").write_text(json.dumps({"name": "broken", "model": "modern"}))
    with pytest.raises(results.ResultError, match="lacks the field"):
        results.load_result(tmp_path / "broken.json")
    # unknown keys (a newer format) are ignored
    d = _record().to_dict()
    d["added_later"] = 1
    (tmp_path / "broken.json").write_text(json.dumps(d))
    assert results.load_result(tmp_path / "broken.json").name == "run-a"


# --------------------------------------------------------------------------- report


def test_confusion_matrix_counts():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    preds = torch.tensor([0, 1, 1, 2, 0, 2])
    cm = report.confusion_matrix(labels, preds, num_classes=3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert int(cm.sum()) == 6 and int(cm.trace()) == 4
    with pytest.raises(ValueError):
        report.confusion_matrix(labels, preds[:-1], num_classes=3)
    with pytest.raises(ValueError):
        report.confusion_matrix(torch.tensor([3]), torch.tensor([0]), num_classes=3)


def test_most_confused_and_misclassified():
    cm = torch.tensor([[5, 2, 0], [3, 4, 3], [0, 1, 6]])
    assert report.most_confused(cm, k=3) == [(1, 0, 3), (1, 2, 3), (0, 1, 2)]
    assert report.misclassified(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 0, 3, 0])).tolist() == [1, 3]


def test_bitmap_distances_are_four_times_hamming():
    d = report.bitmap_distances()
    flat = DIGIT_BITMAPS.reshape(10, 84)
    hamming = (flat[:, None] != flat[None]).sum(-1)
    assert torch.equal(d, 4.0 * hamming.double())
    assert torch.equal(d, d.T) and bool((d.diag() == 0).all()) and bool((d + torch.eye(10) * 999 > 0).all())
    small = torch.tensor([[1.0, -1.0], [1.0, 1.0]])
    assert report.bitmap_distances(small).tolist() == [[0.0, 4.0], [4.0, 0.0]]


def test_results_table_formats():
    recs = [_record(name="a-run", test_acc=0.9847), _record(name="b-run", model="classic", parameters=60_000)]
    md = report.results_table(recs)
    lines = md.splitlines()
    assert lines[0].startswith("| run | model | parameters | test accuracy")
    assert len(lines) == 4 and "| a-run | modern | 61,706 | 98.47% | 1.53% |" in lines[2]
    text = report.results_table(recs, columns=["run", "test accuracy"], fmt="text")
    assert text.splitlines()[2].split() == ["a-run", "98.47%"]
    with pytest.raises(ValueError):
        report.results_table(recs, fmt="html")


def test_figures_build():
    h = _history()
    assert len(report.plot_bitmaps().axes) == 10
    assert len(report.plot_history({"a": h, "b": _history((0.9, 0.95))}, reference_error=0.0095).axes) == 2
    fig = report.plot_test_error(h)
    assert len(fig.axes[0].lines) == 2                  # the run and the 0.95% line
    cm = report.confusion_matrix(torch.arange(10), torch.arange(10))
    assert len(report.plot_confusion_matrix(cm).axes) == 2    # the matrix and its colour bar
    imgs = torch.randint(0, 255, (5, 28, 28), dtype=torch.uint8)
    assert len(report.plot_misclassified(imgs, torch.tensor([0, 1, 2, 3, 4]), torch.tensor([0, 2, 2, 0, 4]), ncols=8).axes) == 2
    assert len(report.plot_predictions(imgs, [1, 2, 3, 4, 5], ncols=5).axes) == 5
    assert len(report.plot_f6_states(imgs[:3], torch.randn(3, 84), torch.rand(3, 10)).axes) == 9
    assert len(report.plot_map_loss().axes) == 2
    assert len(report.plot_squash().axes) == 1
    recs = [_record(), _record(name="b", model="classic", parameters=60_000)]
    assert len(report.plot_results(recs).axes) == 1
    assert len(report.plot_records_by_epoch(recs).axes[0].lines) == 3


# --------------------------------------------------------------------------- draw

SEVEN = """
..........
.#########
.########.
.......##.
......##..
.....##...
....##....
...##.....
...##.....
..##......
..##......
"""


def _centre_of_mass(img):
    x = img.double()
    ys, xs = torch.meshgrid(torch.arange(28.0, dtype=torch.float64), torch.arange(28.0, dtype=torch.float64), indexing="ij")
    return float((x * ys).sum() / x.sum()), float((x * xs).sum() / x.sum())


def test_parse_ascii():
    grid = draw.parse_ascii("\n\n  #+\n#\n\n")
    assert grid.tolist() == [[0.0, 0.0, 1.0, 0.5], [1.0, 0.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="empty"):
        draw.parse_ascii("\n  \n")
    with pytest.raises(ValueError, match="no ink"):
        draw.parse_ascii("....\n. ._")
    with pytest.raises(TypeError):
        draw.parse_ascii(123)


def test_to_mnist_like_mnist():
    img = draw.to_mnist(draw.parse_ascii(SEVEN))
    assert img.dtype == torch.uint8 and tuple(img.shape) == (28, 28) and int(img.max()) == 255
    cy, cx = _centre_of_mass(img)
    assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0
    rows = torch.nonzero(img.sum(1) > 0).view(-1)
    cols = torch.nonzero(img.sum(0) > 0).view(-1)
    height, width = int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)
    assert 20 <= max(height, width) <= 24                      # the 20x20 box plus the blur


def test_to_mnist_centres_and_keeps_aspect():
    canvas = torch.zeros(40, 40)
    canvas[2:30, 30:33] = 1.0                                  # a tall thin stroke in the top-right corner
    img = draw.to_mnist(canvas)
    cy, cx = _centre_of_mass(img)
    assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0
    cols = torch.nonzero(img.sum(0) > 20).view(-1)
    rows = torch.nonzero(img.sum(1) > 20).view(-1)
    assert len(rows) >= 18 and len(cols) <= 6                  # still a tall, narrow "1"


def test_to_mnist_thickens_thin_strokes():
    thin = torch.zeros(28, 28)
    thin[4:24, 14] = 1.0                                       # one pixel wide
    assert draw.stroke_width(thin) == 1.0
    img = draw.to_mnist(thin)
    widths = (img[8:20] > 127).sum(1)
    assert int(widths.min()) >= 2
    with pytest.raises(ValueError):
        draw.to_mnist(torch.zeros(5, 5))
    with pytest.raises(ValueError):
        draw.to_mnist(torch.zeros(2, 2, 2))


def test_prepare_and_to_ascii():
    mnist_like = torch.randint(0, 256, (28, 28), dtype=torch.uint8)
    assert draw.prepare(mnist_like) is not None and torch.equal(draw.prepare(mnist_like), mnist_like)
    text = draw.to_ascii(draw.prepare(SEVEN))
    lines = text.splitlines()
    assert len(lines) == 30 and all(len(line) == 58 for line in lines)
    assert lines[0] == "+" + "-" * 56 + "+" and "@" in text
    assert draw.to_ascii(torch.zeros(3, 4), frame=False, double=False).split("\n") == ["", "", ""]


def test_classify_drawing_modern_and_classic():
    model = LeNet5Modern()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.fc3.bias[3] = 5.0                                # every input reads as 3
    pred = draw.classify_drawing(model, SEVEN)
    assert pred.digit == 3 and tuple(pred.scores.shape) == (10,)
    assert math.isclose(float(pred.probabilities.sum()), 1.0, rel_tol=1e-5)
    assert int(pred.probabilities.argmax()) == 3 and "prediction: 3" in str(pred)

    classic = LeNet5Classic()
    pred = draw.classify_drawing(classic, SEVEN)
    assert pred.digit == int(pred.scores.argmin())             # the smallest penalty wins
    assert torch.allclose(pred.probabilities, torch.softmax(-pred.scores, 0))
    assert classic.training                                    # the mode is restored


def test_drawing_pad(capsys):
    pytest.importorskip("ipywidgets")
    model = LeNet5Modern()
    pad = draw.drawing_pad(model, size=8)
    assert len(pad.cells) == 64 and repr(pad).startswith("DrawingPad(8x8")
    assert len({id(c.style) for c in pad.cells}) == 1 and len({id(c.layout) for c in pad.cells}) == 1
    pad.classify_button.click()
    assert "Draw a digit first" in capsys.readouterr().out
    for i in range(8):
        pad.cells[i * 8 + 3].value = pad.cells[i * 8 + 4].value = True
    pad.classify_button.click()
    out = capsys.readouterr().out
    assert "prediction:" in out and out.count("|") >= 56
    pad.clear_button.click()
    assert not any(c.value for c in pad.cells)
