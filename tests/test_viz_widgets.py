"""Tests for lenet.viz (figures) and lenet.widgets (explorers).

Figures are checked by what they contain (number of axes, the labels computed from the model,
the marks of Table I, the image data drawn); explorers by what their callbacks compute.
"""

from __future__ import annotations

import base64
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from lenet import viz  # noqa: E402
from lenet.c3 import C3_GROUPS, C3_TABLE  # noqa: E402
from lenet.kernels import KERNELS, apply_kernel  # noqa: E402
from lenet.models import LeNet5Classic, LeNet5Modern  # noqa: E402
from lenet.pooling import ScaledTanh  # noqa: E402
from lenet.summary import layer_table  # noqa: E402


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
    code = ("import sys, lenet.viz, lenet.widgets; "
            "print(int('ipywidgets' in sys.modules), int('matplotlib.pyplot' in sys.modules))")
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


@pytest.mark.parametrize("mode,expected", [("max", ["5", "6", "6", "4"]), ("avg", ["2.50", "2.75", "3.50", "2"]),
                                           ("sum", ["10.50", "11.50", "14.50", "8.50"])])
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

try:
    import ipywidgets  # noqa: F401

    from lenet import widgets
except ImportError:  # the widgets are an optional extra: lenet[widgets]
    widgets = None

needs_widgets = pytest.mark.skipif(widgets is None, reason="ipywidgets is not installed")


@needs_widgets
def test_figure_output_is_a_png_display():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1), dpi=100)
    fig.subplots(1, 2)
    out = widgets.figure_output(fig)
    assert out["output_type"] == "display_data"
    assert out["data"]["text/plain"] == "<Figure size 200x100 with 2 Axes>"
    assert base64.b64decode(out["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"


@needs_widgets
def test_kernel_explorer_callback_applies_the_chosen_kernel(image):
    ex = widgets.kernel_explorer(image, initial="identity")
    assert torch.allclose(ex.filtered, image)
    for name in KERNELS:
        ex.dropdown.value = name
        assert torch.equal(ex.kernel(), KERNELS[name])
        assert torch.allclose(ex.filtered, apply_kernel(image, KERNELS[name], clip=True))
        assert len(ex.output.outputs) == 1 and "image/png" in ex.output.outputs[0]["data"]
    ex.dropdown.value = "sharpen"
    assert [c.value for c in ex.cells] == KERNELS["sharpen"].flatten().tolist()


@needs_widgets
def test_kernel_explorer_asymmetric_kernels(image):
    # the book's kernels are all symmetric; these are not, so a transposed or flipped kernel is caught
    sobel = torch.tensor([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    shift = torch.zeros(5, 5)
    shift[0, 3] = 1.0
    ex = widgets.kernel_explorer(image, kernels={"sobel": sobel, "shift": shift}, initial="sobel", clip=False)
    assert torch.allclose(ex.filtered, apply_kernel(image, sobel))
    assert not torch.allclose(ex.filtered, apply_kernel(image, sobel.T))
    ex.dropdown.value = "shift"
    assert torch.allclose(ex.filtered, apply_kernel(image, shift))
    assert not torch.allclose(ex.filtered, apply_kernel(image, shift.flip(0, 1)))


@needs_widgets
def test_kernel_explorer_grid_edits_switch_to_custom(image):
    ex = widgets.kernel_explorer(image, initial="box_blur", clip=False)
    ex.cells[1].value = 2.0
    assert ex.dropdown.value == widgets.CUSTOM
    want = (torch.ones(9) / 9).reshape(3, 3)
    want[0, 1] = 2.0
    assert torch.allclose(ex.kernel(), want, atol=1e-4)
    assert torch.allclose(ex.filtered, apply_kernel(image, ex.kernel(), clip=False))
    ex.clip.value = True
    assert float(ex.filtered.max()) <= float(image.max()) + 1e-6


@needs_widgets
def test_kernel_explorer_5x5_disables_the_grid(image):
    ex = widgets.kernel_explorer(image, initial="gaussian_blur_5x5")
    assert all(c.disabled for c in ex.cells)
    assert ex.kernel().shape == (5, 5)
    with pytest.raises(KeyError):
        widgets.kernel_explorer(image, initial="no such kernel")


@needs_widgets
def test_kernel_explorer_display_is_deterministic(image):
    ex = widgets.kernel_explorer(image, initial="sharpen")
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == "KernelExplorer(kernel='sharpen', image=24x20)"
    assert "application/vnd.jupyter.widget-view+json" in bundle


@needs_widgets
def test_pool_image_modes(image):
    x = image[None, None]
    assert torch.equal(widgets.pool_image(image, "max", 2), F.max_pool2d(x, 2)[0, 0])
    assert torch.allclose(widgets.pool_image(image, "avg", 3), F.avg_pool2d(x, 3)[0, 0])
    got = widgets.pool_image(image, "subsampling", 2, coefficient=0.5, bias=-0.3)
    want = ScaledTanh()(0.5 * 4 * F.avg_pool2d(x, 2) - 0.3)[0, 0]
    assert torch.allclose(got, want, atol=1e-6)
    with pytest.raises(ValueError):
        widgets.pool_image(image, "median")


@needs_widgets
def test_pooling_explorer_callback(image):
    ex = widgets.pooling_explorer(image)
    assert ex.coefficient.disabled and ex.bias.disabled
    assert torch.equal(ex.pooled, F.max_pool2d(image[None, None], 2)[0, 0])
    ex.window.value = 3
    assert ex.pooled.shape == (8, 6)
    ex.mode.value = "subsampling"
    assert not ex.coefficient.disabled
    ex.coefficient.value = 0.1
    ex.bias.value = 0.5
    assert torch.allclose(ex.pooled, widgets.pool_image(image, "subsampling", 3, 0.1, 0.5))
    assert repr(ex) == "PoolingExplorer(mode='subsampling', window=3, image=24x20)"
