"""Tests for lenet.report and lenet.draw (chapters 5-8). No dataset needed."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from lenet import draw, report
from lenet.models import LeNet5Classic, LeNet5Modern
from lenet.rbf import DIGIT_BITMAPS
from lenet.recording import make_record
from lenet.train import History, TrainConfig


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(accs=(0.95, 0.97, 0.98), train_s=12.5, hardware="cpu"):
    h = History(hardware=hardware)
    for e, a in enumerate(accs):
        h.epochs.append(
            {
                "epoch": e + 1,
                "lr": 1e-3,
                "train_loss": 1.0 / (e + 1),
                "train_acc": a - 0.01,
                "test_loss": 0.5 / (e + 1),
                "test_acc": a,
                "train_s": train_s * (e + 1) / len(accs),
            }
        )
    h.train_s = train_s
    return h


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


def _record(name, run, error, model="modern", parameters=61_706, train_s=10.0, seed=0):
    h = History(hardware="cpu", train_s=train_s, fit_s=train_s, step_losses=[1.0])
    for e, acc in enumerate((0.9, 1 - error)):
        h.epochs.append(
            {
                "epoch": e + 1,
                "lr": 1e-3,
                "train_loss": 0.5,
                "train_acc": 0.9,
                "train_samples": 100,
                "test_loss": 0.1,
                "test_acc": acc,
                "train_s": train_s * (e + 1) / 2,
                "elapsed_s": 1.0,
            }
        )
    net = LeNet5Modern() if model == "modern" else LeNet5Classic()
    rec = make_record(
        name, net, TrainConfig(model=model, epochs=2, seed=seed), h, run_s=train_s, run=run, title=run.upper()
    )
    assert rec.parameters == parameters
    return rec


def test_runs_and_ablation_tables():
    recs = [
        _record("a-s0", "a", 0.0100),
        _record("a-s1", "a", 0.0120, seed=1),
        _record("b-s0", "b", 0.0150, model="classic", parameters=60_000, train_s=20.0),
    ]
    lines = report.runs_table(recs).splitlines()
    assert lines[0].startswith("| run | model | parameters | seeds | test error") and len(lines) == 4
    assert "| A | modern | 61,706 | 2 | 1.10% &plusmn; 0.14 (1.00-1.20) | 2 |" in lines[2]
    assert "| B | classic | 60,000 | 1 | 1.50% | 2 |" in lines[3] and "10.0 s" in lines[3]
    rows = report.ablation_rows([("b", "1998"), ("a", "+ all")], recs)
    assert rows[0]["change"] is None and rows[1]["change"] == pytest.approx(0.011 - 0.015)
    assert rows[1]["per_epoch_s"] == pytest.approx(5.0)
    assert rows[1]["se"] == pytest.approx(math.sqrt(0.0 / 1 + 0.0014142135**2 / 2), rel=1e-4)
    assert rows[1]["beyond noise"] == "yes" and rows[0]["beyond noise"] == "-"
    table = report.ablation_table(rows).splitlines()
    assert (
        table[2].startswith("| 1998 | 60,000 | 1.50% | - |")
        and "| -0.40 |" in table[3]
        and table[3].endswith("| yes |")
    )
    assert "(on " not in report.ablation_table(rows)  # one machine: the times need no note
    moved = [dict(rows[0]), dict(rows[1], hardware="Another CPU")]
    moved_table = report.ablation_table(moved).splitlines()
    assert "| 5.0 s (on Another CPU) |" in moved_table[3] and "(on " not in moved_table[2]
    with pytest.raises(ValueError, match="python -m lenet record c"):
        report.ablation_rows([("c", "missing")], recs)


def test_figures_build():
    h = _history()
    assert len(report.plot_bitmaps().axes) == 10
    assert len(report.plot_history({"a": h, "b": _history((0.9, 0.95))}, reference_error=0.0095).axes) == 2
    fig = report.plot_history(h, reference_error=report.PAPER_TEST_ERROR)
    assert len(fig.axes[1].lines) == 3  # training and test error, and the 0.95% line
    cm = report.confusion_matrix(torch.arange(10), torch.arange(10))
    assert len(report.plot_confusion_matrix(cm).axes) == 2  # the matrix and its colour bar
    imgs = torch.randint(0, 255, (5, 28, 28), dtype=torch.uint8)
    assert (
        len(report.plot_misclassified(imgs, torch.tensor([0, 1, 2, 3, 4]), torch.tensor([0, 2, 2, 0, 4]), ncols=8).axes)
        == 2
    )
    assert len(report.plot_predictions(imgs, [1, 2, 3, 4, 5], ncols=5).axes) == 5
    assert len(report.plot_f6_states(imgs[:3], torch.randn(3, 84), torch.rand(3, 10)).axes) == 9
    assert len(report.plot_map_loss().axes) == 2
    assert len(report.plot_squash().axes) == 1
    recs = [_record("a-s0", "a", 0.01), _record("b-s0", "b", 0.02, model="classic", parameters=60_000)]
    assert len(report.plot_results(recs).axes) == 1
    assert len(report.plot_records_by_epoch(recs).axes[0].lines) == 3
    assert len(report.plot_history({"r": recs[0]}).axes) == 2


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
    ys, xs = torch.meshgrid(
        torch.arange(28.0, dtype=torch.float64), torch.arange(28.0, dtype=torch.float64), indexing="ij"
    )
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
    assert 20 <= max(height, width) <= 24  # the 20x20 box plus the blur


def test_to_mnist_centres_and_keeps_aspect():
    canvas = torch.zeros(40, 40)
    canvas[2:30, 30:33] = 1.0  # a tall thin stroke in the top-right corner
    img = draw.to_mnist(canvas)
    cy, cx = _centre_of_mass(img)
    assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0
    cols = torch.nonzero(img.sum(0) > 20).view(-1)
    rows = torch.nonzero(img.sum(1) > 20).view(-1)
    assert len(rows) >= 18 and len(cols) <= 6  # still a tall, narrow "1"


def test_to_mnist_thickens_thin_strokes():
    thin = torch.zeros(28, 28)
    thin[4:24, 14] = 1.0  # one pixel wide
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
        model.fc3.bias[3] = 5.0  # every input reads as 3
    pred = draw.classify_drawing(model, SEVEN)
    assert pred.digit == 3 and tuple(pred.scores.shape) == (10,)
    assert math.isclose(float(pred.probabilities.sum()), 1.0, rel_tol=1e-5)
    assert int(pred.probabilities.argmax()) == 3 and "prediction: 3" in str(pred)

    classic = LeNet5Classic()
    pred = draw.classify_drawing(classic, SEVEN)
    assert pred.digit == int(pred.scores.argmin())  # the smallest penalty wins
    assert torch.allclose(pred.probabilities, torch.softmax(-pred.scores, 0))
    assert classic.training  # the mode is restored


def test_count_operators_counts_a_training_step():
    from lenet.profiling import NO_KERNEL_OPS, count_operators

    torch.manual_seed(0)
    net = LeNet5Modern()
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    forward = count_operators(lambda: net(x))
    assert forward["convolution"] == 2 and forward["addmm"] == 3 and forward["max_pool2d_with_indices"] == 2
    step = count_operators(lambda: net.loss(net(x), y).backward())
    assert step["convolution_backward"] == 2 and sum(step.values()) > sum(forward.values())
    assert "detach" in NO_KERNEL_OPS and "convolution" not in NO_KERNEL_OPS


def test_plot_squash_draws_f_and_its_second_derivative():
    """The curves of chapter 5's figure against finite differences of the squashing function."""
    fig = report.plot_squash()
    f_line, f2_line = fig.axes[0].get_lines()[:2]
    a, f = (torch.as_tensor(v, dtype=torch.float64) for v in f_line.get_data())
    _, f2 = (torch.as_tensor(v, dtype=torch.float64) for v in f2_line.get_data())
    assert torch.allclose(f, 1.7159 * torch.tanh(2 * a / 3))
    h = float(a[1] - a[0])
    second = (f[2:] - 2 * f[1:-1] + f[:-2]) / h**2  # the central difference
    assert torch.allclose(f2[1:-1], second, atol=1e-3)
    at = lambda v: float(f2[(a - v).abs().argmin()])
    assert at(1.0) < 0 < at(-1.0)  # concave where f > 0
