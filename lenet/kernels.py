"""Convolution from first principles and the classic image-processing kernels.

Deep-learning "convolution" is cross-correlation: the kernel is not flipped,

.. math::  y[i, j] = b + \\sum_{u=0}^{k-1} \\sum_{v=0}^{k-1} w[u, v]\\, x[i s + u, j s + v]

(LeCun et al. 1998, Sec. II.A describe C1 as units that share this weight set over all
positions). :func:`conv2d_loops` computes it by its definition, :func:`conv2d_unfold` as one matrix
product (im2col), and :func:`convolve2d_loops` the convolution of mathematics, which flips the
kernel. The kernels are those of the source tutorial's figure (identity, edge detection,
sharpen, box blur, Gaussian blur approximation), with the values of the standard table of image
kernels. Output size for input n, kernel k, padding p, stride s, dilation d:
floor((n + 2p - d(k - 1) - 1) / s) + 1.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple, Union

import matplotlib.image as mpimg
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import cbook

ArrayLike = Union[np.ndarray, torch.Tensor]

#: The kernels of the source text's figure, by name. All are 3x3 except the 5x5 Gaussian.
KERNELS: Dict[str, torch.Tensor] = {
    "identity": torch.tensor([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "edge_diagonal": torch.tensor([[1.0, 0, -1], [0, 0, 0], [-1, 0, 1]]),
    "edge_laplacian_4": torch.tensor([[0.0, -1, 0], [-1, 4, -1], [0, -1, 0]]),
    "edge_laplacian_8": torch.tensor([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "sharpen": torch.tensor([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "box_blur": torch.ones(3, 3) / 9.0,
    "gaussian_blur_3x3": torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16.0,
    "gaussian_blur_5x5": torch.outer(torch.tensor([1.0, 4, 6, 4, 1]), torch.tensor([1.0, 4, 6, 4, 1])) / 256.0,
}

#: Display titles for figures (ASCII only, so no CJK font is needed).
KERNEL_TITLES: Dict[str, str] = {
    "identity": "Identity",
    "edge_diagonal": "Edge detection 1",
    "edge_laplacian_4": "Edge detection 2",
    "edge_laplacian_8": "Edge detection 3",
    "sharpen": "Sharpen",
    "box_blur": "Box blur (normalised)",
    "gaussian_blur_3x3": "Gaussian blur 3x3",
    "gaussian_blur_5x5": "Gaussian blur 5x5",
}

#: The source text's Chinese names of the kernels (for tables and prose, not figures).
KERNEL_NAMES_ZH: Dict[str, str] = {
    "identity": "恒等变换",
    "edge_diagonal": "边缘检测",
    "edge_laplacian_4": "边缘检测",
    "edge_laplacian_8": "边缘检测",
    "sharpen": "锐化",
    "box_blur": "归一化盒式模糊",
    "gaussian_blur_3x3": "高斯模糊近似",
    "gaussian_blur_5x5": "高斯模糊近似",
}


def get_kernel(name: str) -> torch.Tensor:
    """A copy of the kernel called ``name``; raises ``KeyError`` listing the known names."""
    if name not in KERNELS:
        raise KeyError(f"unknown kernel {name!r}; known kernels: {', '.join(KERNELS)}")
    return KERNELS[name].clone()


def conv_output_size(n: int, k: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> int:
    """Output length of a convolution along one axis: floor((n + 2p - d(k-1) - 1) / s) + 1.

    C1 of LeNet-5: ``conv_output_size(32, 5) == 28``; the source's PyTorch model keeps 28 with
    ``conv_output_size(28, 5, padding=2) == 28``.

    Explained in: chapter 2, "The output size".
    """
    if min(n, k, stride, dilation) < 1 or padding < 0:
        raise ValueError(
            f"need n, k, stride, dilation >= 1 and padding >= 0; got n={n}, k={k}, "
            f"padding={padding}, stride={stride}, dilation={dilation}"
        )
    out = (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(
            f"a kernel of size {k} (dilation {dilation}) does not fit in an input of size {n} with "
            f"{padding} padding on each side: use a larger input, a smaller kernel or more padding"
        )
    return out


def _as_tensor(x: ArrayLike) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))


def _check_steps(stride: int, padding: int) -> None:
    if stride < 1 or padding < 0:
        raise ValueError(f"stride must be at least 1 and padding at least 0; got stride={stride}, padding={padding}")


def _image_and_kernel(
    image: ArrayLike, kernel: ArrayLike, stride: int, padding: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``image`` and ``kernel`` as float64 tensors, once checked for the loops."""
    x, w = _as_tensor(image).double(), _as_tensor(kernel).double()
    if x.ndim != 2 or w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(
            f"the loops expect a 2-D image (H, W) and a square 2-D kernel (k, k), got "
            f"{tuple(x.shape)} and {tuple(w.shape)}; for a batch of maps use conv2d_unfold"
        )
    _check_steps(stride, padding)
    return x, w


def _check_batch(
    x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], stride: int, padding: int
) -> None:
    """Raise a ValueError unless conv2d_unfold can take these shapes."""
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1] or weight.shape[2] != weight.shape[3]:
        raise ValueError(
            f"conv2d_unfold expects x (N, C, H, W) and weight (O, C, k, k) with the same C and a square "
            f"kernel; got {tuple(x.shape)} and {tuple(weight.shape)} (add batch and channel axes "
            f"with x[None, None] for a single image)"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"bias must have one value per output map, shape ({weight.shape[0]},); got {tuple(bias.shape)}"
        )
    _check_steps(stride, padding)


def conv2d_loops(
    image: ArrayLike,
    kernel: ArrayLike,
    bias: float = 0.0,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """One feature map by its definition (LeCun et al. 1998, Sec. II.A):
    the image (H, W), padded with ``padding`` zeros, cross-correlated with
    the kernel (k, k) every ``stride`` pixels, plus the bias.

    Explained in: chapter 2, "The definition".
    """
    x, w = _image_and_kernel(image, kernel, stride, padding)
    k = w.shape[0]
    rows = conv_output_size(x.shape[0], k, padding, stride)
    cols = conv_output_size(x.shape[1], k, padding, stride)
    x = F.pad(x, (padding, padding, padding, padding))  # zeros on every side
    y = torch.zeros(rows, cols, dtype=torch.float64)
    for i in range(rows):
        for j in range(cols):
            y[i, j] = bias
            for u in range(k):
                for v in range(k):
                    y[i, j] += w[u, v] * x[i * stride + u, j * stride + v]
    return y


def convolve2d_loops(image: ArrayLike, kernel: ArrayLike) -> torch.Tensor:
    """The convolution of mathematics and signal processing: the kernel is
    flipped, y[i, j] = sum over u, v of w[u, v] x[i + k-1 - u, j + k-1 - v],
    wherever the kernel fits in the image. Equal to conv2d_loops with the
    kernel rotated by 180 degrees.

    Explained in: chapter 2, "Convolution or cross-correlation?".
    """
    x, w = _image_and_kernel(image, kernel, 1, 0)
    k = w.shape[0]
    rows = conv_output_size(x.shape[0], k)
    cols = conv_output_size(x.shape[1], k)
    y = torch.zeros(rows, cols, dtype=torch.float64)
    for i in range(rows):
        for j in range(cols):
            for u in range(k):
                for v in range(k):
                    y[i, j] += w[u, v] * x[i + k - 1 - u, j + k - 1 - v]
    return y


def conv2d_unfold(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """A convolutional layer as one matrix product (im2col).

    x (N, C, H, W), weight (O, C, k, k) and bias (O,) give (N, O, H', W').
    Each column of ``patches`` is one k x k x C patch of an image, the
    receptive field of one output unit (LeCun et al. 1998, Sec. II.A);
    each row of the weight matrix holds one output map's kernels.

    Explained in: chapter 2, "From loops to one matrix product".
    """
    _check_batch(x, weight, bias, stride, padding)
    n, maps, k = x.shape[0], weight.shape[0], weight.shape[-1]
    rows = conv_output_size(x.shape[2], k, padding, stride)
    cols = conv_output_size(x.shape[3], k, padding, stride)
    # patches: (N, C k k, rows cols), one column per output position
    patches = F.unfold(x, k, padding=padding, stride=stride)
    # (O, C k k) @ (N, C k k, rows cols) -> (N, O, rows cols)
    y = weight.reshape(maps, -1) @ patches
    if bias is not None:
        y = y + bias.reshape(maps, 1)
    return y.reshape(n, maps, rows, cols)


def apply_kernel(image: ArrayLike, kernel: ArrayLike, clip: bool = False) -> torch.Tensor:
    """Filter a 2-D image with a kernel, keeping its size ('same' padding by edge replication).

    Returns a float tensor (H, W); ``clip`` clamps it to the input's [min, max] range for display.

    Explained in: chapter 2, "The source text's kernels".
    """
    x = _as_tensor(image).float()
    w = _as_tensor(kernel).float()
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(
            f"apply_kernel expects a 2-D image and a 2-D kernel, got {tuple(x.shape)} and {tuple(w.shape)}"
        )
    ph, pw = w.shape[0] // 2, w.shape[1] // 2
    padded = F.pad(x[None, None], (pw, pw, ph, ph), mode="replicate")
    out = F.conv2d(padded, w[None, None])[0, 0]
    return out.clamp(float(x.min()), float(x.max())) if clip else out


def stripe_orientation(kernel: ArrayLike) -> Tuple[float, float]:
    """The direction of the stripes a kernel responds to, and how clearly it has one (chapter 6).

    Returns ``(angle, coherence)``: the angle of the stripes in degrees, in [0, 180), 0 horizontal
    and 90 vertical, counter-clockwise with the image's rows running downwards (so 45 is "/");
    and the coherence in [0, 1] of the kernel's structure tensor, ``J = sum g g^T`` over its
    central differences ``g`` (1 for perfect stripes, 0 for no preferred direction). The
    stripes run across the dominant gradient direction ``0.5 atan2(2 J_xy, J_xx - J_yy)``.

    Explained in: chapter 6, "What C1 learnt".
    """
    k = _as_tensor(kernel).double()
    if k.ndim != 2 or min(k.shape) < 3:
        raise ValueError(f"stripe_orientation expects a 2-D kernel of at least 3x3, got {tuple(k.shape)}")
    gx = (k[1:-1, 2:] - k[1:-1, :-2]) / 2
    gy = -(k[2:, 1:-1] - k[:-2, 1:-1]) / 2  # y up
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    if jxx + jyy == 0:
        return 0.0, 0.0
    gradient = 0.5 * math.atan2(2 * jxy, jxx - jyy)
    coherence = math.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (jxx + jyy)
    return (math.degrees(gradient) + 90.0) % 180.0, coherence


def sample_photo(size: int = 256) -> torch.Tensor:
    """A greyscale photograph in [0, 1] shipped with matplotlib (Grace Hopper), centre-cropped
    to a square and resized to ``size`` x ``size``. No network access.

    Explained in: chapter 2, "The source text's kernels".
    """
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    rgb = np.asarray(mpimg.imread(path), dtype=np.float32)
    if rgb.max() > 1.0:
        rgb = rgb / 255.0
    grey = torch.from_numpy(rgb[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32))
    h, w = grey.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    grey = grey[top : top + s, left : left + s]
    return F.interpolate(grey[None, None], size=(size, size), mode="area")[0, 0]


__all__ = [
    "KERNELS",
    "KERNEL_TITLES",
    "KERNEL_NAMES_ZH",
    "get_kernel",
    "conv_output_size",
    "conv2d_loops",
    "convolve2d_loops",
    "conv2d_unfold",
    "apply_kernel",
    "stripe_orientation",
    "sample_photo",
]
