"""Tests for lenet.viz (figures) and lenet.widgets (explorers).

Figures are checked by what they contain (number of axes, the labels computed from the model,
the marks of Table I, the image data drawn); explorers by what their callbacks compute.
"""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lenet import viz
from lenet.c3 import C3_GROUPS, C3_TABLE
from lenet.kernels import KERNELS, apply_kernel
from lenet.models import LeNet5Classic, LeNet5Modern
from lenet.pooling import ScaledTanh
from lenet.summary import layer_table


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.fixture(scope="module")
def image():
    g = torch.Generator().manual_seed(0)
    return torch.rand(24, 20, generator=g)


# --------------------------------------------------------------------------- viz


def test_import_is_light():
    """The widgets load in the browser; importing them brings neither ipywidgets nor pyplot."""
    code = "import sys, lenet.widgets; print(int('ipywidgets' in sys.modules), int('matplotlib.pyplot' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]


@pytest.mark.parametrize("model", [LeNet5Classic(), LeNet5Modern()], ids=["classic", "modern"])
def test_architecture_diagram_labels_come_from_the_model(model):
    fig = viz.architecture_diagram(model)
    assert len(fig.axes) == 1
    texts = _texts(fig)
    rows = layer_table(model)
    for r in rows:
        assert texts.count(r.name) == 1
        shape = r.output_shape
        label = f"{shape[0]}@{shape[1]}x{shape[2]}" if len(shape) == 3 else str(shape[0])
        assert label in texts
    assert texts.count("input") == 1
    size = model.input_size
    assert f"1@{size}x{size}" in texts
    # one drawn item per layer plus the input, joined by one arrow fewer
    assert len(fig.axes[0].patches) > len(rows)
    arrows = [p for p in fig.axes[0].patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arrows) == len(rows)


def test_show_digits_titles_and_wrong_predictions_in_red():
    imgs = torch.zeros(5, 28, 28, dtype=torch.uint8)
    fig = viz.show_digits(imgs, labels=[0, 1, 2, 3, 4], predictions=[0, 1, 9, 3, 4], ncols=3)
    assert len(fig.axes) == 5
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[2] == "label 2, pred 9"
    colours = [ax.title.get_color() for ax in fig.axes]
    assert colours[2] == "crimson" and colours[0] == "black"


def test_show_digits_with_own_titles_and_with_none():
    imgs = torch.zeros(3, 1, 32, 32)
    fig = viz.show_digits(imgs, titles=["a", "b", "c"], colors=["black", "crimson", "black"], ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"] and fig.axes[1].title.get_color() == "crimson"
    empty = viz.show_digits(torch.zeros(0, 28, 28))
    assert empty.axes[0].texts[0].get_text() == "(no images)"


def test_kernel_gallery_draws_apply_kernel(image):
    fig = viz.kernel_gallery(image, ncols=4)
    assert len(fig.axes) == len(KERNELS)
    for ax, name in zip(fig.axes, KERNELS):
        drawn = np.asarray(ax.images[0].get_array())
        np.testing.assert_allclose(drawn, apply_kernel(image, KERNELS[name], clip=True).numpy(), atol=1e-6)


def test_kernel_matrices_write_the_weights_as_fractions():
    fig = viz.kernel_matrices()
    assert len(fig.axes) == len(KERNELS)
    names = list(KERNELS)
    gauss = fig.axes[names.index("gaussian_blur_3x3")]
    assert [t.get_text() for t in gauss.texts] == ["1/16", "1/8", "1/16", "1/8", "1/4", "1/8", "1/16", "1/8", "1/16"]
    ident = fig.axes[names.index("identity")]
    assert [t.get_text() for t in ident.texts].count("1") == 1


def test_plot_feature_maps_one_panel_per_map():
    fig = viz.plot_feature_maps(torch.randn(6, 28, 28), ncols=3)
    assert len(fig.axes) == 6
    assert fig.axes[5].get_title() == "map 5"


@pytest.mark.parametrize(
    "mode,expected",
    [
        ("max", ["5", "6", "6", "4"]),
        ("avg", ["2.50", "2.75", "3.50", "2"]),
        ("sum", ["10.50", "11.50", "14.50", "8.50"]),
    ],
)
def test_pooling_grid_values(mode, expected):
    x = torch.tensor([[0.0, 1, 2, 3], [4, 5, 6, 0], [1, 2, 3, 4], [5, 6, 0, 1]])
    fig = viz.pooling_grid(x, 2, mode, coefficient=1.0, bias=0.5)
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[1].texts] == expected
    winners = [t.get_text() for t in fig.axes[0].texts if t.get_color() == "crimson"]
    assert winners == (["5", "6", "4", "6"] if mode == "max" else [])


def test_pooling_grid_rejects_unknown_mode():
    with pytest.raises(ValueError):
        viz.pooling_grid(torch.zeros(4, 4), mode="median")


def test_squashing_functions_curves():
    fig = viz.squashing_functions()
    ax = fig.axes[0]
    lines = ax.get_lines()
    lenet_curve = [ln for ln in lines if "LeNet-5" in ln.get_label()][0]
    a, y = lenet_curve.get_data()
    np.testing.assert_allclose(y, ScaledTanh()(torch.as_tensor(a)).numpy(), atol=1e-6)
    assert any(t.get_text() == "f(1) = 1.000" for t in ax.texts)


def test_connection_table_marks_table_one():
    fig = viz.connection_table()
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    marks = [(round(t.get_position()[1]), round(t.get_position()[0])) for t in ax.texts if t.get_text() == "X"]
    assert len(marks) == sum(len(t) for t in C3_TABLE) == 60
    assert set(marks) == {(i, j) for j, ins in enumerate(C3_TABLE) for i in ins}
    assert (0, 4) in marks and (1, 4) not in marks  # map 4 reads S2 maps 4, 5 and 0 (wrap-around)
    group_labels = [t.get_text() for t in ax.texts if t.get_text() != "X"]
    assert len(group_labels) == len(C3_GROUPS)


def test_connection_table_dense_without_groups():
    fig = viz.connection_table([tuple(range(6))] * 16, groups=None)
    texts = _texts(fig)
    assert texts.count("X") == 96 and len(texts) == 96


# --------------------------------------------------------------------------- widgets
#
# The widgets compute in the browser (tests/test_book_browser.py checks that); here, the Python side
# that the live notebook keeps in step with the controls, and the state the front end receives.

from lenet import widgets  # noqa: E402


def _front_end_image(widget):
    return torch.from_numpy(widgets._unb64(widget.image).copy()).reshape(widget.height, widget.width)


def test_kernel_explorer_follows_its_controls(image):
    ex = widgets.kernel_explorer(image, initial="identity")
    assert torch.allclose(ex.filtered, image) and torch.equal(_front_end_image(ex), image)
    assert [k["name"] for k in ex.kernels] == list(KERNELS)
    for name in KERNELS:
        ex.kernel = name
        assert torch.equal(ex.current_kernel(), KERNELS[name])
        assert torch.allclose(ex.filtered, apply_kernel(image, KERNELS[name], clip=True))
    ex.custom = [0, 0, 0, 0, 0, 1.0, 0, 0, 0]
    ex.kernel = widgets.CUSTOM
    assert torch.equal(ex.filtered[:, :-1], image[:, 1:])  # a 1 right of centre reads the right neighbour
    ex.clip = False
    ex.custom = [0, 0, 0, 0, 2.0, 0, 0, 0, 0]
    assert torch.allclose(ex.filtered, 2 * image)
    with pytest.raises(KeyError, match="unknown kernel 'no such kernel'"):
        widgets.kernel_explorer(image, initial="no such kernel")


def test_kernel_explorer_asymmetric_kernels(image):
    # the book's kernels are all symmetric; these are not, so a transposed or flipped kernel is caught
    sobel = torch.tensor([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    shift = torch.zeros(5, 5)
    shift[0, 3] = 1.0
    ex = widgets.kernel_explorer(image, kernels={"sobel": sobel, "shift": shift}, initial="sobel", clip=False)
    assert torch.allclose(ex.filtered, apply_kernel(image, sobel))
    assert not torch.allclose(ex.filtered, apply_kernel(image, sobel.T))
    assert ex.custom == sobel.flatten().tolist()  # the grid starts from the chosen 3x3 kernel
    ex.kernel = "shift"
    assert torch.allclose(ex.filtered, apply_kernel(image, shift))
    assert not torch.allclose(ex.filtered, apply_kernel(image, shift.flip(0, 1)))
    assert ex.kernels[1]["shape"] == [5, 5] and ex.kernels[1]["weights"] == shift.flatten().tolist()


def test_widgets_display_deterministically(image):
    ex = widgets.kernel_explorer(image, initial="sharpen")
    bundle = ex._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle  # (data, metadata) in ipywidgets 8
    assert bundle["text/plain"] == "KernelExplorer(kernel='sharpen', image=24x20)"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "export default { render }" in ex._esm and "function applyKernel" in ex._esm


def test_pool_image_modes(image):
    x = image[None, None]
    assert torch.equal(widgets.pool_image(image, "max", 2), F.max_pool2d(x, 2)[0, 0])
    assert torch.allclose(widgets.pool_image(image, "avg", 3), F.avg_pool2d(x, 3)[0, 0])
    got = widgets.pool_image(image, "subsampling", 2, coefficient=0.5, bias=-0.3)
    want = ScaledTanh()(0.5 * 4 * F.avg_pool2d(x, 2) - 0.3)[0, 0]
    assert torch.allclose(got, want, atol=1e-6)
    with pytest.raises(ValueError):
        widgets.pool_image(image, "median")


def test_pooling_explorer_follows_its_controls(image):
    ex = widgets.pooling_explorer(image)
    assert torch.equal(ex.pooled, F.max_pool2d(image[None, None], 2)[0, 0])
    ex.window = 3
    assert ex.pooled.shape == (8, 6)
    ex.mode = "subsampling"
    ex.coefficient = -0.5
    ex.bias = 0.5
    assert torch.allclose(ex.pooled, widgets.pool_image(image, "subsampling", 3, -0.5, 0.5))
    assert repr(ex) == "PoolingExplorer(mode='subsampling', window=3, image=24x20)"
    with pytest.raises(ValueError, match="kernel_size must be 2, 3 or 4"):
        widgets.pooling_explorer(image, kernel_size=5)


@pytest.mark.parametrize("normalization, pad", [("unit", False), ("meanstd", False), ("paper", True), ("paper", False)])
def test_input_affine_is_lenet_data_normalisation(normalization, pad):
    """The pad's front end normalises pixel * scale + shift and pads with the background: the same
    numbers as lenet.data.make_transform, whose constants it reads off the transform."""
    from lenet.data import make_transform

    scale, shift, width = widgets.input_affine(normalization, pad)
    images = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    want = make_transform(normalization, pad=pad)(images)
    got = torch.full(want.shape, shift)
    got[:, :, width : width + 28, width : width + 28] = images.float()[:, None] * scale + shift
    assert width == (2 if pad else 0) and torch.allclose(got, want, atol=1e-5)


def test_book_pages_run_the_current_front_end():
    """book/_ext/live_widgets.py gives every lenet widget of a page the JavaScript of lenet/js/ as it
    is now (the notebook saved the module as it was when it ran), and leaves other models alone."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "book" / "_ext" / "live_widgets.py"
    spec = importlib.util.spec_from_file_location("_book_ext_live_widgets", path)
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    state = {
        "state": {
            "a": {
                "model_name": "AnyModel",
                "state": {"_anywidget_id": "lenet.widgets.PoolingExplorer", "_esm": "old", "mode": "max"},
            },
            "b": {
                "model_name": "AnyModel",
                "state": {"_anywidget_id": "lenet.widgets.DigitPad", "_esm": "old </script>"},
            },
            "c": {"model_name": "AnyModel", "state": {"_anywidget_id": "other.Widget", "_esm": "theirs"}},
            "d": {"model_name": "LayoutModel", "state": {"width": None}},
        }
    }
    body = ext.refresh_state(json.dumps(state), widgets.module_source)
    assert "</script>" not in body
    new = json.loads(body)["state"]
    assert new["a"]["state"]["_esm"] == widgets.module_source("pooling_explorer") and new["a"]["state"]["mode"] == "max"
    assert new["b"]["state"]["_esm"] == widgets.module_source("digit_pad")
    assert new["c"]["state"]["_esm"] == "theirs" and new["d"] == state["state"]["d"]
    assert set(ext.MODULES.values()) == {"kernel_explorer", "pooling_explorer", "digit_pad"}
    assert all(widget_id.rsplit(".", 1)[1] in widgets._classes() for widget_id in ext.MODULES)


def test_digit_pad_sends_the_networks_and_reads_the_drawing():
    from lenet.draw import classify_drawing
    from lenet.models import LeNet5Classic, LeNet5Modern

    torch.manual_seed(0)
    modern, classic = LeNet5Modern(), LeNet5Classic()
    modern.normalization = "meanstd"
    pad = widgets.digit_pad([("m", "modern", modern), ("c", "1998", classic)], size=56, drawing="#.\n##\n.#")
    sent = {m["label"]: m for m in pad.models}
    assert sent["m"]["kind"] == "modern" and sent["m"]["normalization"] == "meanstd" and sent["m"]["pad"] == 0
    assert sent["c"]["kind"] == "classic" and sent["c"]["pad"] == 2 and sent["c"]["shift"] == pytest.approx(-0.1)
    c3 = widgets._unb64(sent["c"]["layers"]["C3.weight"]).reshape(16, 6, 5, 5)
    assert torch.equal(torch.from_numpy(c3.copy()), classic.C3.dense_weight().detach())  # Table I's zeros included
    assert pad.prep == {"box": 20, "field": 28, "stroke_px": 3.0, "blur_sigma": 0.6}
    raw = pad.raw_drawing()
    assert raw.shape == (56, 56) and raw.max() == 1.0
    assert set(pad.predictions) == {"m", "c"}
    assert pad.predictions["m"].digit == classify_drawing(modern, torch.from_numpy(raw.copy())).digit
    pad.drawing = ""
    assert pad.predictions == {} and repr(pad) == "DigitPad(56x56, networks: m, c)"
    variant = LeNet5Classic(output="linear")
    with pytest.raises(ValueError, match="runs the 1998 LeNet-5 as the paper defines it"):
        widgets.digit_pad([("v", "variant", variant)])
    with pytest.raises(ValueError, match="at least one"):
        widgets.digit_pad([])
