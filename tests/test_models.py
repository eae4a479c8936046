import pytest
import torch
import torch.nn.functional as F
from conftest import load_script

from lenet.c3 import c3_loop
from lenet.models import LeNet5Classic, LeNet5Modern, count_parameters, get_model
from lenet.pooling import ScaledTanh, subsampling_loops
from lenet.rbf import DIGIT_BITMAPS
from lenet.summary import format_table, layer_table, totals

PAPER = {  # LeCun et al. 1998, Sec. II.B: (trainable parameters, connections)
    "C1": (156, 122_304),
    "S2": (12, 5_880),
    "C3": (1_516, 151_600),
    "S4": (32, 2_000),
    "C5": (48_120, 48_120),
    "F6": (10_164, 10_164),
    "output": (0, 840),
}


def test_classic_counts_equal_the_paper():
    rows = layer_table(LeNet5Classic())
    assert {r.name: (r.parameters, r.connections) for r in rows} == PAPER
    assert totals(rows) == (60_000, 340_908)
    assert count_parameters(LeNet5Classic()) == 60_000


def test_classic_shapes_through_every_layer():
    shapes = {r.name: r.output_shape for r in layer_table(LeNet5Classic())}
    assert shapes == {
        "C1": (6, 28, 28),
        "S2": (6, 14, 14),
        "C3": (16, 10, 10),
        "S4": (16, 5, 5),
        "C5": (120, 1, 1),
        "F6": (84,),
        "output": (10,),
    }


def test_modern_is_the_tutorials_model():
    model = LeNet5Modern()
    assert count_parameters(model) == 61_706
    rows = {r.name: r for r in layer_table(model)}
    assert rows["conv1"].output_shape == (6, 28, 28) and rows["conv2"].output_shape == (16, 10, 10)
    assert rows["conv2"].parameters == 2_416 and rows["fc3"].output_shape == (10,)
    assert list(model.state_dict()) == [
        "conv1.weight",
        "conv1.bias",
        "conv2.weight",
        "conv2.bias",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
        "fc3.weight",
        "fc3.bias",
    ]
    assert "60,000" not in format_table(layer_table(model)) and "61,706" in format_table(layer_table(model))


def test_modern_pools_before_relu_without_changing_the_function():
    """forward (pool, then ReLU) equals the tutorial's order and its verbatim class, values and gradients."""
    torch.manual_seed(0)
    model = LeNet5Modern()
    verbatim = load_script("benchmarks/time_to_accuracy.py").source_model_class()()
    verbatim.load_state_dict(model.state_dict())
    x = torch.randn(64, 1, 28, 28)
    outs, grads = [], []
    for fn in (model.forward, model.forward_as_written, verbatim.forward):
        net = fn.__self__
        net.zero_grad()
        out = fn(x)
        out.square().sum().backward()
        outs.append(out.detach())
        grads.append([p.grad.clone() for p in net.parameters()])
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])
    for g0, g1, g2 in zip(*grads):
        assert torch.allclose(g0, g1, rtol=0, atol=1e-6) and torch.allclose(g0, g2, rtol=0, atol=1e-6)


def test_initialisation_follows_fan_in_rule():
    torch.manual_seed(0)
    m = LeNet5Classic()
    assert m.C1.weight.abs().max() <= 2.4 / 25
    assert m.C5.weight.abs().max() <= 2.4 / 400
    assert m.F6.weight.abs().max() <= 2.4 / 120
    assert m.C3.weight[:18].abs().max() <= 2.4 / 75 + 1e-7  # maps 0-5 see 3 maps of 5x5


def test_forward_shapes_loss_and_classify():
    x32, x28 = torch.randn(4, 1, 32, 32), torch.randn(4, 1, 28, 28)
    y = torch.tensor([0, 1, 2, 3])
    classic, modern = LeNet5Classic(), LeNet5Modern()
    out = classic(x32)
    assert out.shape == (4, 10) and (out >= 0).all()  # penalties
    assert torch.equal(classic.classify(out), out.argmin(1))
    assert classic.forward_layers(x32)["F6"].abs().max() <= 1.7159
    assert classic.loss(out, y).ndim == 0
    logits = modern(x28)
    assert torch.equal(modern.classify(logits), logits.argmax(1))


def test_wrong_shapes_get_clear_errors():
    with pytest.raises(ValueError, match=r"\(N, 1, 32, 32\).*pad_to_32"):
        LeNet5Classic()(torch.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match="unsqueeze"):
        LeNet5Modern()(torch.randn(2, 28, 28))
    with pytest.raises(ValueError, match="28x28 digits"):
        LeNet5Modern()(torch.randn(2, 1, 32, 32))


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'lenet7'; choose one of: classic, modern"):
        get_model("lenet7")


def test_classic_forward_layers_against_the_paper_written_out():
    """Every layer of LeNet5Classic.forward_layers against an independent computation from the
    paper's definitions: loops for the subsampling and Table I, the squashing function by its
    formula, the RBF units as squared distances to the bitmaps."""
    torch.manual_seed(0)
    m = LeNet5Classic().double()
    x = torch.randn(3, 1, 32, 32, dtype=torch.float64)
    got = m.forward_layers(x)

    def f(a):
        return 1.7159 * torch.tanh(2 * a / 3)

    c1 = f(F.conv2d(x, m.C1.weight, m.C1.bias))
    s2 = subsampling_loops(c1, m.S2.coefficient, m.S2.bias, activation=f)
    c3 = f(c3_loop(s2, m.C3))
    s4 = subsampling_loops(c3, m.S4.coefficient, m.S4.bias, activation=f)
    c5 = f(s4.flatten(1) @ m.C5.weight.flatten(1).t() + m.C5.bias)
    f6 = f(c5 @ m.F6.weight.t() + m.F6.bias)
    rbf = ((f6[:, None, :] - DIGIT_BITMAPS.reshape(10, 84).double()[None]) ** 2).sum(-1)
    for name, want in (("C1", c1), ("S2", s2), ("C3", c3), ("S4", s4), ("C5", c5), ("F6", f6), ("output", rbf)):
        assert torch.allclose(got[name], want, rtol=1e-10, atol=1e-12), name
    assert torch.equal(got["F6"], ScaledTanh()(got["F6 sum"])) and torch.equal(m(x), got["output"])


def test_modern_forward_layers_against_the_tutorials_class():
    """Every layer of LeNet5Modern.forward_layers against the source script's own class, step by step."""
    torch.manual_seed(0)
    model = LeNet5Modern()
    src = load_script("benchmarks/time_to_accuracy.py").source_model_class()()
    src.load_state_dict(model.state_dict())
    x = torch.randn(5, 1, 28, 28)
    got = model.forward_layers(x)
    with torch.no_grad():
        pool1 = src.pool1(torch.relu(src.conv1(x)))
        pool2 = src.pool2(torch.relu(src.conv2(pool1)))
        fc1 = torch.relu(src.fc1(pool2.view(-1, 400)))
        fc2 = torch.relu(src.fc2(fc1))
        want = {
            "conv1": src.conv1(x),
            "pool1": pool1,
            "conv2": src.conv2(pool1),
            "pool2": pool2,
            "fc1": fc1,
            "fc2": fc2,
            "fc3": src.fc3(fc2),
        }
    assert list(got) == list(want)
    for name in want:
        assert torch.allclose(got[name], want[name], atol=1e-6), name
