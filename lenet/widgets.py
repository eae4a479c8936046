"""The book's live widgets: they compute in the reader's browser, so they work in the HTML book
(no kernel), in Jupyter and in Colab alike.

Each is an ``anywidget`` widget: its front end is a JavaScript module (``lenet/js/``, the shared
``common.js`` followed by the widget's own file) saved with the notebook's widget state, and the
HTML book's widget manager runs it from there (its ``anywidget`` loader is vendored with the book,
so nothing is fetched). The Python side keeps what it needs to check the front end: the same
numbers, computed with ``lenet`` (``filtered``, ``pooled``, ``predictions``), updated whenever a
control changes in a live notebook.

* :func:`kernel_explorer` -- pick one of the kernels of :mod:`lenet.kernels` or type a 3x3
  kernel, see the filtered image (chapter 2; LeCun et al. 1998, Sec. II.A);
* :func:`pooling_explorer` -- max pooling, average pooling or the 1998 subsampling with its
  coefficient and bias, for a chosen window (chapter 3; Sec. II.B, layers S2 and S4);
* :func:`digit_pad` -- draw a digit; the book's trained networks read it in the browser and show
  their scores and every layer's feature maps (chapters 6 and 7).

``anywidget`` and ``ipywidgets`` are imported when a widget is first made: ``import lenet.widgets``
works without them.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union, cast

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .c3 import SparseConv2d
from .data import make_transform
from .draw import BLUR_SIGMA, BOX, FIELD, STROKE_PX, classify_drawing, parse_ascii
from .kernels import KERNEL_TITLES, KERNELS, apply_kernel, sample_photo
from .models import LeNet5Classic, LeNet5Modern, unwrap
from .pooling import Subsampling

ArrayLike = Union[np.ndarray, torch.Tensor]

#: The value of the kernel menu that reads the kernel from the 3x3 grid of numbers.
CUSTOM = "custom"

#: Pooling modes of :func:`pool_image` and :func:`pooling_explorer`, with their labels.
POOLING_MODES: Tuple[Tuple[str, str], ...] = (
    ("max pooling", "max"),
    ("average pooling", "avg"),
    ("1998 subsampling", "subsampling"),
)

JS = Path(__file__).resolve().parent / "js"


def module_source(name: str) -> str:
    """The ES module of a widget: ``js/common.js`` followed by ``js/<name>.js``."""
    return (JS / "common.js").read_text(encoding="utf-8") + "\n" + (JS / f"{name}.js").read_text(encoding="utf-8")


def _b64(array: ArrayLike) -> str:
    """Little-endian float32 bytes, base64: how arrays travel to the front end (``decodeFloat32``)."""
    a = array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def _unb64(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4")


def _image(image: Optional[ArrayLike], size: int) -> torch.Tensor:
    x = sample_photo(size) if image is None else image
    x = x.detach().float().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2:
        raise ValueError(f"the explorers need a 2-D greyscale image, got shape {tuple(x.shape)}")
    return x


def pool_image(
    image: ArrayLike, mode: str = "max", kernel_size: int = 2, coefficient: float = 0.25, bias: float = 0.0
) -> torch.Tensor:
    """Pool a 2-D image with non-overlapping ``kernel_size`` windows; returns (H // k, W // k).

    ``mode``: 'max' (``F.max_pool2d``), 'avg' (``F.avg_pool2d``), or 'subsampling' -- the layer S2
    of LeCun et al. (1998), Sec. II.B: the window's *sum* times ``coefficient`` plus ``bias``,
    through the squashing function 1.7159 tanh(2a/3) (:class:`lenet.pooling.Subsampling` with one
    map, its two parameters set to the values given). Chapter 3's explorer computes it.

    Explained in: chapter 3, "Try it yourself".
    """
    modes = [m for _, m in POOLING_MODES]
    if mode not in modes:
        raise ValueError(f"mode must be one of {modes}, got {mode!r}")
    x = _image(image, 64)[None, None]
    if mode == "max":
        return F.max_pool2d(x, kernel_size)[0, 0]
    if mode == "avg":
        return F.avg_pool2d(x, kernel_size)[0, 0]
    layer = Subsampling(1, kernel_size=kernel_size)
    with torch.no_grad():
        layer.coefficient.fill_(coefficient)
        layer.bias.fill_(bias)
        return layer(x)[0, 0]


# --------------------------------------------------------------------------- networks for the browser


def input_affine(normalization: str, pad: bool) -> Tuple[float, float, int]:
    """``(scale, shift, pad)``: :func:`lenet.data.make_transform` (``normalization``, ``pad``) as the
    front end computes it, ``pixel * scale + shift`` and then ``pad`` pixels of the normalised
    background on each side. Read off the transform itself, so that the browser normalises as
    ``lenet.data`` does, whatever its constants; a transform that is not of that form is refused.
    """
    transform = make_transform(normalization, pad=pad)
    pixels = torch.tensor([0, 128, 255], dtype=torch.uint8)
    x = transform(pixels.reshape(3, 1, 1).expand(3, 28, 28).contiguous()).double()
    width = (x.shape[-1] - 28) // 2
    centre = x[:, 0, width + 14, width + 14]
    shift, scale = float(centre[0]), float(centre[2] - centre[0]) / 255
    affine = abs(float(centre[1]) - (shift + 128 * scale)) < 1e-5
    border = bool((x[:, 0, :width] == shift).all()) if width else True
    if not (affine and border and x.shape[-1] == x.shape[-2] == 28 + 2 * width):
        raise ValueError(
            f"the drawing pad prepares inputs as pixel * scale + shift, padded with the background; "
            f"lenet.data.make_transform({normalization!r}, pad={pad}) is not of that form"
        )
    return scale, shift, width


def export_network(model: nn.Module, label: str, title: str) -> Dict[str, Any]:
    """What the drawing pad's front end needs to run ``model``: its kind, its input preparation
    (``pixel * scale + shift``, then ``pad`` pixels of the normalised background: the model's
    normalisation in :func:`lenet.data.make_transform`, read by :func:`input_affine`) and its
    weights, base64 float32 per tensor. C3's
    weights are sent as the dense (16, 6, 5, 5) kernel with zeros where Table I has no connection.
    """
    base = unwrap(model)
    # plain attributes of both LeNet-5s, which nn.Module's stubs type as tensors or modules
    norm = cast(str, getattr(base, "normalization", None) or base.default_normalization)
    input_size = cast(int, base.input_size)
    scale, shift, pad = input_affine(norm, pad=input_size == 32)
    if isinstance(base, LeNet5Classic):
        if base.options != {"output": "rbf", "activation": "scaled_tanh", "pooling": "subsampling", "c3": "table"}:
            raise ValueError(f"the drawing pad runs the 1998 LeNet-5 as the paper defines it, not {base.options}")
        layers = {k: v for k, v in base.state_dict().items() if k not in ("C3.weight",)}
        layers["C3.weight"] = cast(SparseConv2d, base.C3).dense_weight()  # c3="table", checked above
        kind = "classic"
    elif isinstance(base, LeNet5Modern):
        layers, kind = dict(base.state_dict()), "modern"
    else:
        raise ValueError(f"the drawing pad runs LeNet5Classic or LeNet5Modern, not {type(base).__name__}")
    return {
        "label": label,
        "title": title,
        "kind": kind,
        "scale": float(scale),
        "shift": float(shift),
        "pad": pad,
        "normalization": norm,
        "layers": {k: _b64(v) for k, v in layers.items()},
    }


# --------------------------------------------------------------------------- the widget classes


@functools.cache
def _classes() -> Dict[str, type]:
    """The widget classes, defined on first use (``anywidget`` is imported here, not at import)."""
    # here, not at the top: anywidget brings ipywidgets (0.28 s after torch, measured on the 2-core
    # CPU), which the command line and the tests of the computations do not need
    import anywidget
    import traitlets as t

    class KernelExplorer(anywidget.AnyWidget):
        """The kernel explorer (see :func:`kernel_explorer`). ``kernel`` is the chosen kernel's
        name or :data:`CUSTOM`; ``custom`` the 3x3 grid's nine weights; ``filtered`` the last
        filtered image, ``apply_kernel(image, kernel(), clip)``."""

        _esm = t.Unicode(module_source("kernel_explorer")).tag(sync=True)
        image = t.Unicode().tag(sync=True)
        height = t.Int().tag(sync=True)
        width = t.Int().tag(sync=True)
        kernels: t.List[Dict[str, Any]] = t.List().tag(sync=True)
        kernel = t.Unicode().tag(sync=True)
        custom = t.List(t.Float(), default_value=[0.0] * 9).tag(sync=True)
        clip = t.Bool(True).tag(sync=True)

        def __init__(
            self,
            image: torch.Tensor,
            kernels: Mapping[str, torch.Tensor],
            titles: Mapping[str, str],
            initial: str,
            clip: bool,
        ) -> None:
            self.image_tensor = image
            self.presets = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in kernels.items()}
            if initial not in self.presets and initial != CUSTOM:
                raise KeyError(f"unknown kernel {initial!r}; choose one of: {', '.join(self.presets)} or {CUSTOM!r}")
            h, w = image.shape
            entries = [
                {"name": k, "title": titles.get(k, k), "shape": list(v.shape), "weights": v.flatten().tolist()}
                for k, v in self.presets.items()
            ]
            first = self.presets.get(initial)
            custom = first.flatten().tolist() if first is not None and tuple(first.shape) == (3, 3) else [0.0] * 9
            self.filtered: Optional[torch.Tensor] = None
            super().__init__(
                image=_b64(image), height=h, width=w, kernels=entries, kernel=initial, custom=custom, clip=clip
            )
            self.observe(lambda change: self.update(), names=["kernel", "custom", "clip"])
            self.update()

        def __repr__(self) -> str:
            h, w = self.image_tensor.shape
            return f"KernelExplorer(kernel={self.kernel!r}, image={h}x{w})"

        def current_kernel(self) -> torch.Tensor:
            """The kernel in use: the chosen preset, or the grid's 3x3 weights for 'custom'."""
            if self.kernel == CUSTOM:
                return torch.tensor(self.custom, dtype=torch.float32).reshape(3, 3)
            return self.presets[self.kernel].clone()

        def update(self) -> torch.Tensor:
            self.filtered = apply_kernel(self.image_tensor, self.current_kernel(), clip=self.clip)
            return self.filtered

    class PoolingExplorer(anywidget.AnyWidget):
        """The pooling explorer (see :func:`pooling_explorer`); ``pooled`` is the last result of
        :func:`pool_image`."""

        _esm = t.Unicode(module_source("pooling_explorer")).tag(sync=True)
        image = t.Unicode().tag(sync=True)
        height = t.Int().tag(sync=True)
        width = t.Int().tag(sync=True)
        mode = t.Unicode("max").tag(sync=True)
        window = t.Int(2).tag(sync=True)
        coefficient = t.Float(0.25).tag(sync=True)
        bias = t.Float(0.0).tag(sync=True)

        def __init__(self, image: torch.Tensor, mode: str, kernel_size: int, coefficient: float, bias: float) -> None:
            self.image_tensor = image
            self.pooled: Optional[torch.Tensor] = None
            h, w = image.shape
            super().__init__(
                image=_b64(image), height=h, width=w, mode=mode, window=kernel_size, coefficient=coefficient, bias=bias
            )
            self.observe(lambda change: self.update(), names=["mode", "window", "coefficient", "bias"])
            self.update()

        def __repr__(self) -> str:
            h, w = self.image_tensor.shape
            return f"PoolingExplorer(mode={self.mode!r}, window={self.window}, image={h}x{w})"

        def update(self) -> torch.Tensor:
            self.pooled = pool_image(self.image_tensor, self.mode, self.window, self.coefficient, self.bias)
            return self.pooled

    class DigitPad(anywidget.AnyWidget):
        """The drawing pad (see :func:`digit_pad`). ``drawing`` is the canvas's ink, base64 float32
        (``size`` x ``size``, 0 to 1), set by the front end after each stroke; ``predictions`` the
        Python side's reading of it (:func:`lenet.draw.classify_drawing`), one per network."""

        _esm = t.Unicode(module_source("digit_pad")).tag(sync=True)
        models: t.List[Dict[str, Any]] = t.List().tag(sync=True)
        prep = t.Dict().tag(sync=True)
        size = t.Int(112).tag(sync=True)
        drawing = t.Unicode("").tag(sync=True)

        def __init__(
            self, networks: Sequence[Tuple[str, str, nn.Module]], size: int, drawing: Optional[np.ndarray]
        ) -> None:
            self.networks = {label: model for label, _, model in networks}
            self.predictions: Dict[str, Any] = {}
            super().__init__(
                models=[export_network(m, label, title) for label, title, m in networks],
                prep={"box": BOX, "field": FIELD, "stroke_px": STROKE_PX, "blur_sigma": BLUR_SIGMA},
                size=size,
                drawing="" if drawing is None else _b64(drawing),
            )
            self.observe(lambda change: self.update(), names=["drawing"])
            self.update()

        def __repr__(self) -> str:
            return f"DigitPad({self.size}x{self.size}, networks: {', '.join(self.networks)})"

        def raw_drawing(self) -> Optional[np.ndarray]:
            """The canvas's ink as a (size, size) array, or None when nothing is drawn."""
            if not self.drawing:
                return None
            return _unb64(self.drawing).reshape(self.size, self.size)

        def update(self) -> Dict[str, Any]:
            raw = self.raw_drawing()
            self.predictions = (
                {}
                if raw is None or raw.max() <= 0
                else {
                    label: classify_drawing(model, torch.from_numpy(raw.copy()))
                    for label, model in self.networks.items()
                }
            )
            return self.predictions

    return {"KernelExplorer": KernelExplorer, "PoolingExplorer": PoolingExplorer, "DigitPad": DigitPad}


# --------------------------------------------------------------------------- the public functions


def kernel_explorer(
    image: Optional[ArrayLike] = None,
    kernels: Optional[Mapping[str, ArrayLike]] = None,
    initial: str = "edge_laplacian_8",
    clip: bool = True,
    titles: Optional[Mapping[str, str]] = None,
):
    """An explorer of 2-D convolution kernels on one image (chapter 2; LeCun et al. 1998, Sec. II.A).

    A menu picks one of ``kernels`` (default: :data:`lenet.kernels.KERNELS`, the source text's
    kernels) or "custom", which reads the kernel from a 3x3 grid of numbers; typing in the grid
    switches to custom. It shows the input, the kernel's weights and the image filtered with
    'same' size, ``apply_kernel(image, kernel, clip)``, computed in the browser; the widget's
    ``filtered`` holds the same image computed in Python. ``image`` is a 2-D tensor or array
    (default: :func:`lenet.kernels.sample_photo` at 128x128). Returns the widget: display it.

    Explained in: chapter 2, "Try it yourself".
    """
    img = _image(image, 128)
    return _classes()["KernelExplorer"](
        img, kernels if kernels is not None else KERNELS, titles if titles is not None else KERNEL_TITLES, initial, clip
    )


def pooling_explorer(
    image: Optional[ArrayLike] = None,
    mode: str = "max",
    kernel_size: int = 2,
    coefficient: float = 0.25,
    bias: float = 0.0,
):
    """An explorer of pooling on one image (chapter 3; LeCun et al. 1998, Sec. II.B, S2 and S4).

    Buttons choose max pooling, average pooling or the 1998 subsampling; sliders the window size k
    (2 to 4, stride k) and the subsampling's coefficient (-5 to 5, steps of 0.05) and bias (-16
    to 16, steps of 0.1), and one button each sets the settings chapter 3 names: average
    (coefficient 1/k^2, bias 0: average pooling followed by the squashing function), quasi-linear
    (0.1, 0), noisy OR (4, -2) and noisy AND (4, -14). It shows the input and :func:`pool_image`
    of it, computed in the browser, dark on light as the chapters draw digits, each with its
    colour scale (the subsampling's output lies in +-1.7159, 0 is mid grey); the widget's
    ``pooled`` holds the same in Python. ``image`` is a 2-D tensor or array (default:
    :func:`lenet.kernels.sample_photo` at 64x64). Returns the widget: display it.

    Explained in: chapter 3, "Try it yourself".
    """
    modes = [m for _, m in POOLING_MODES]
    if mode not in modes:
        raise ValueError(f"mode must be one of {modes}, got {mode!r}")
    if kernel_size not in (2, 3, 4):
        raise ValueError(f"kernel_size must be 2, 3 or 4 (the slider's range), got {kernel_size!r}")
    return _classes()["PoolingExplorer"](_image(image, 64), mode, kernel_size, coefficient, bias)


def digit_pad(networks: Sequence[Tuple[str, str, nn.Module]], size: int = 112, drawing=None):
    """Draw a digit and let trained LeNet-5s read it, in the browser (chapters 6 and 7).

    ``networks`` lists ``(label, title, model)`` for each network to show: a
    :class:`lenet.models.LeNet5Modern` (its softmax probabilities) or the paper's
    :class:`lenet.models.LeNet5Classic` (its RBF penalties), trained with any normalisation (the
    one recorded on the model is used). The drawing is prepared as :func:`lenet.draw.to_mnist`
    prepares one (20x20 box, centre of mass, 28x28), then normalised and padded per network. All
    of it runs in the front end, with the weights in the widget state; ``drawing`` (a 2-D array in
    [0, 1], or ASCII art) starts the pad with an example, which the reader's first stroke replaces.
    Each network's answer shows beside the pad: the modern one's probability, with the decimals
    that a confident answer needs, and the margin of its logit over the runner-up; the 1998 one's
    smallest penalty and the next, to 3 significant digits. Returns the widget: display it.

    Explained in: chapter 6, "Draw a digit for it".
    """
    if not networks:
        raise ValueError("digit_pad needs at least one (label, title, model)")
    start: Optional[np.ndarray] = None
    if drawing is not None:
        d = parse_ascii(drawing) if isinstance(drawing, str) else torch.as_tensor(drawing, dtype=torch.float32)
        fit = round(0.7 * size)  # the digit takes 70% of the pad, as a hand-drawn one would
        resized = F.interpolate(
            d[None, None],
            size=(max(1, fit * d.shape[0] // max(d.shape)), max(1, fit * d.shape[1] // max(d.shape))),
            mode="nearest",
        )[0, 0]
        canvas = torch.zeros(size, size)
        top, left = (size - resized.shape[0]) // 2, (size - resized.shape[1]) // 2
        canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized.clamp(0, 1)
        start = canvas.numpy()
    return _classes()["DigitPad"](networks, size, start)


__all__ = [
    "CUSTOM",
    "POOLING_MODES",
    "module_source",
    "pool_image",
    "input_affine",
    "export_network",
    "kernel_explorer",
    "pooling_explorer",
    "digit_pad",
]
