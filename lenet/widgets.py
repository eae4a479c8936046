"""Interactive explorers for the book (ipywidgets 8).

Each explorer is a small object holding its widgets and the last thing it computed; displaying
it shows the widgets. The figure is rendered to PNG in the kernel and put into an
``ipywidgets.Output`` as a display output (``Output.outputs``), so it lives in the widget
state: a notebook executed with ``store_widget_state=True`` shows it in the static HTML book,
and the text the notebook records for the cell is a short, deterministic ``repr``.

* :func:`kernel_explorer` -- pick one of the kernels of :mod:`lenet.kernels` or type a 3x3
  kernel, see the filtered image (LeCun et al. 1998, Sec. II.A);
* :func:`pooling_explorer` -- max pooling, average pooling or the 1998 subsampling with its
  coefficient and bias, for a chosen window (Sec. II.B, layers S2 and S4).

ipywidgets is imported inside the functions: ``import lenet.widgets`` works without it.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from .kernels import KERNEL_TITLES, KERNELS, apply_kernel, sample_photo

ArrayLike = Union[np.ndarray, torch.Tensor]

#: The value of the kernel dropdown that reads the kernel from the 3x3 grid of numbers.
CUSTOM = "custom"

#: Pooling modes of :func:`pool_image` and :func:`pooling_explorer`, with their labels.
POOLING_MODES: Tuple[Tuple[str, str], ...] = (
    ("max pooling", "max"),
    ("average pooling", "avg"),
    ("1998 subsampling", "subsampling"),
)


def _image(image: Optional[ArrayLike], size: int) -> torch.Tensor:
    x = sample_photo(size) if image is None else image
    x = x.detach().float().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2:
        raise ValueError(f"the explorers need a 2-D greyscale image, got shape {tuple(x.shape)}")
    return x


def figure_output(fig: Any, dpi: int = 72) -> Dict[str, Any]:
    """A Jupyter ``display_data`` output holding ``fig`` as PNG, for ``Output.outputs``.

    The text alternative names the figure's size and number of axes (as matplotlib's own repr
    does), so it does not change from run to run.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    w, h = fig.get_size_inches() * fig.dpi
    text = f"<Figure size {w:g}x{h:g} with {len(fig.axes)} Axes>"
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": text}}


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure  # not pyplot: nothing is registered or shown globally

    return Figure(figsize=(width, height))


class _Explorer:
    """Shared display behaviour: show the widget, with a short text repr."""

    widget: Any

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        bundle["text/plain"] = repr(self)
        return bundle


class KernelExplorer(_Explorer):
    """The widgets and state of :func:`kernel_explorer`.

    Attributes: ``image`` (H, W); ``kernels`` (name -> tensor); ``dropdown`` (a kernel name, or
    :data:`CUSTOM`); ``cells`` (the nine ``FloatText`` of the 3x3 grid, row by row); ``clip``
    (a ``Checkbox``); ``output`` (the ``Output`` with the figure); ``widget`` (everything, a
    ``VBox``); ``filtered`` (the last filtered image, ``apply_kernel(image, kernel(), clip)``).
    """

    def __init__(self, image: torch.Tensor, kernels: Mapping[str, torch.Tensor], titles: Mapping[str, str],
                 initial: str, clip: bool) -> None:
        import ipywidgets as W

        self.image = image
        self.kernels = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in kernels.items()}
        self.titles = dict(titles)
        if initial not in self.kernels and initial != CUSTOM:
            raise KeyError(f"unknown kernel {initial!r}; choose one of: {', '.join(self.kernels)} or {CUSTOM!r}")
        options = [(self.titles.get(k, k), k) for k in self.kernels] + [("Custom 3x3 (edit the grid)", CUSTOM)]
        self.dropdown = W.Dropdown(options=options, value=initial, description="Kernel")
        self.cells = [W.FloatText(value=0.0, step=0.1, layout=W.Layout(width="72px")) for _ in range(9)]
        self.clip = W.Checkbox(value=clip, description="clip to the input's range")
        self.output = W.Output()
        grid = W.GridBox(self.cells, layout=W.Layout(grid_template_columns="repeat(3, 76px)"))
        controls = W.VBox([self.dropdown, W.HTML("Kernel weights (typing switches to <i>Custom</i>):"), grid, self.clip])
        self.widget = W.VBox([controls, self.output])
        self.filtered: Optional[torch.Tensor] = None
        self._syncing = False
        self._fill_grid()
        self.dropdown.observe(self._on_dropdown, names="value")
        for c in self.cells:
            c.observe(self._on_cell, names="value")
        self.clip.observe(lambda change: self.update(), names="value")
        self.update()

    def __repr__(self) -> str:
        h, w = self.image.shape
        return f"KernelExplorer(kernel={self.dropdown.value!r}, image={h}x{w})"

    def kernel(self) -> torch.Tensor:
        """The kernel in use: the chosen preset, or the grid's 3x3 values when 'custom' is chosen."""
        if self.dropdown.value == CUSTOM:
            return torch.tensor([c.value for c in self.cells], dtype=torch.float32).reshape(3, 3)
        return self.kernels[self.dropdown.value].clone()

    def _fill_grid(self) -> None:
        if self.dropdown.value == CUSTOM:
            return
        k = self.kernels[self.dropdown.value]
        self._syncing = True
        try:
            if tuple(k.shape) == (3, 3):
                for c, v in zip(self.cells, k.flatten().tolist()):
                    c.value = round(float(v), 4)
                    c.disabled = False
            else:  # the 5x5 Gaussian does not fit the grid
                for c in self.cells:
                    c.disabled = True
        finally:
            self._syncing = False

    def _on_dropdown(self, change: Dict[str, Any]) -> None:
        if self._syncing:
            return
        if change["new"] == CUSTOM:
            for c in self.cells:
                c.disabled = False
        else:
            self._fill_grid()
        self.update()

    def _on_cell(self, change: Dict[str, Any]) -> None:
        if self._syncing:
            return
        if self.dropdown.value != CUSTOM:
            self._syncing = True
            try:
                self.dropdown.value = CUSTOM
            finally:
                self._syncing = False
        self.update()

    def update(self) -> torch.Tensor:
        """Filter the image with :meth:`kernel`, redraw the figure, return the filtered image."""
        from .viz import plot_kernel

        kernel = self.kernel()
        self.filtered = apply_kernel(self.image, kernel, clip=self.clip.value)
        fig = _new_figure(9.0, 3.2)
        ax_in, ax_k, ax_out = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 0.7, 1]})
        lo, hi = float(self.image.min()), float(self.image.max())
        ax_in.imshow(self.image.numpy(), cmap="gray", vmin=lo, vmax=hi)
        ax_in.set_title(f"input {self.image.shape[0]}x{self.image.shape[1]}", fontsize=10)
        name = self.dropdown.value
        plot_kernel(kernel, ax=ax_k, title=self.titles.get(name, "custom kernel") if name != CUSTOM else "custom kernel")
        out = self.filtered.numpy()
        kw = {"vmin": lo, "vmax": hi} if self.clip.value else {}
        ax_out.imshow(out, cmap="gray", **kw)
        ax_out.set_title(f"output, range [{out.min():.2f}, {out.max():.2f}]", fontsize=10)
        for ax in (ax_in, ax_out):
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        self.output.outputs = (figure_output(fig),)
        return self.filtered


def kernel_explorer(image: Optional[ArrayLike] = None, kernels: Optional[Mapping[str, ArrayLike]] = None,
                    initial: str = "edge_laplacian_8", clip: bool = True,
                    titles: Optional[Mapping[str, str]] = None) -> KernelExplorer:
    """An explorer of 2-D convolution kernels on one image (LeCun et al. 1998, Sec. II.A).

    A ``Dropdown`` picks one of ``kernels`` (default: :data:`lenet.kernels.KERNELS`, the source
    text's kernels) or "custom", which reads the kernel from a 3x3 grid of ``FloatText``; editing a
    cell switches to custom. The figure shows the input, the kernel's weights and
    ``apply_kernel(image, kernel, clip)`` -- the image filtered with 'same' size. ``image`` is a
    2-D tensor or array (default: :func:`lenet.kernels.sample_photo` at 128x128).

    Returns a :class:`KernelExplorer`; display it (end a cell with it) to get the widgets.
    """
    img = _image(image, 128)
    return KernelExplorer(img, kernels if kernels is not None else KERNELS,
                          titles if titles is not None else KERNEL_TITLES, initial, clip)


def pool_image(image: ArrayLike, mode: str = "max", kernel_size: int = 2, coefficient: float = 0.25,
               bias: float = 0.0) -> torch.Tensor:
    """Pool a 2-D image with non-overlapping ``kernel_size`` windows; returns (H // k, W // k).

    ``mode``: 'max' (``F.max_pool2d``), 'avg' (``F.avg_pool2d``), or 'subsampling' -- the layer S2
    of LeCun et al. (1998), Sec. II.B: the window's *sum* times ``coefficient`` plus ``bias``,
    through the squashing function 1.7159 tanh(2a/3) (:class:`lenet.pooling.Subsampling` with one
    map, its two parameters set to the values given).
    """
    from .pooling import Subsampling

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


class PoolingExplorer(_Explorer):
    """The widgets and state of :func:`pooling_explorer`.

    Attributes: ``image``; ``mode`` (``ToggleButtons``); ``window`` (``IntSlider``, the window
    size k); ``coefficient`` and ``bias`` (``FloatSlider``, used by the 1998 subsampling only);
    ``output``; ``widget``; ``pooled`` (the last result of :func:`pool_image`).
    """

    def __init__(self, image: torch.Tensor, mode: str, kernel_size: int, coefficient: float, bias: float) -> None:
        import ipywidgets as W

        self.image = image
        self.mode = W.ToggleButtons(options=list(POOLING_MODES), value=mode, description="Pooling")
        self.window = W.IntSlider(value=kernel_size, min=2, max=4, description="window k", continuous_update=False)
        self.coefficient = W.FloatSlider(value=coefficient, min=-1.0, max=1.0, step=0.05, description="coefficient",
                                         continuous_update=False)
        self.bias = W.FloatSlider(value=bias, min=-2.0, max=2.0, step=0.1, description="bias", continuous_update=False)
        self.output = W.Output()
        note = W.HTML("Coefficient and bias act in the <i>1998 subsampling</i> only: "
                      "f(coefficient x window sum + bias), f(a) = 1.7159 tanh(2a/3).")
        self.widget = W.VBox([self.mode, self.window, W.HBox([self.coefficient, self.bias]), note, self.output])
        self.pooled: Optional[torch.Tensor] = None
        for w in (self.mode, self.window, self.coefficient, self.bias):
            w.observe(lambda change: self.update(), names="value")
        self.update()

    def __repr__(self) -> str:
        h, w = self.image.shape
        return f"PoolingExplorer(mode={self.mode.value!r}, window={self.window.value}, image={h}x{w})"

    def update(self) -> torch.Tensor:
        """Pool the image with the current settings, redraw, return the pooled image."""
        mode, k = self.mode.value, self.window.value
        self.coefficient.disabled = self.bias.disabled = mode != "subsampling"
        self.pooled = pool_image(self.image, mode, k, self.coefficient.value, self.bias.value)
        fig = _new_figure(7.0, 3.4)
        ax_in, ax_out = fig.subplots(1, 2)
        ax_in.imshow(self.image.numpy(), cmap="gray")
        ax_in.set_title(f"input {self.image.shape[0]}x{self.image.shape[1]}", fontsize=10)
        out = self.pooled.numpy()
        if mode == "subsampling":
            ax_out.imshow(out, cmap="gray", vmin=-1.7159, vmax=1.7159)
        else:
            ax_out.imshow(out, cmap="gray", vmin=float(self.image.min()), vmax=float(self.image.max()))
        label = dict((m, lbl) for lbl, m in POOLING_MODES)[mode]
        ax_out.set_title(f"{label}, {k}x{k}: {out.shape[0]}x{out.shape[1]}", fontsize=10)
        for ax in (ax_in, ax_out):
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        self.output.outputs = (figure_output(fig),)
        return self.pooled


def pooling_explorer(image: Optional[ArrayLike] = None, mode: str = "max", kernel_size: int = 2,
                     coefficient: float = 0.25, bias: float = 0.0) -> PoolingExplorer:
    """An explorer of pooling on one image (LeCun et al. 1998, Sec. II.B, layers S2 and S4).

    ``ToggleButtons`` choose max pooling, average pooling or the 1998 subsampling; an ``IntSlider``
    the window size k (2 to 4, stride k); two ``FloatSlider`` the subsampling's coefficient and
    bias. With coefficient 1/k^2 and bias 0 the subsampling is average pooling followed by the
    squashing function. The figure shows the input and :func:`pool_image` of it. ``image`` is a
    2-D tensor or array (default: :func:`lenet.kernels.sample_photo` at 64x64).

    Returns a :class:`PoolingExplorer`; display it to get the widgets.
    """
    modes = [m for _, m in POOLING_MODES]
    if mode not in modes:
        raise ValueError(f"mode must be one of {modes}, got {mode!r}")
    return PoolingExplorer(_image(image, 64), mode, kernel_size, coefficient, bias)


__all__ = ["CUSTOM", "POOLING_MODES", "figure_output", "KernelExplorer", "kernel_explorer", "pool_image",
           "PoolingExplorer", "pooling_explorer"]
