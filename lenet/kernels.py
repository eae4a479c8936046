"""Convolution from first principles and the classic image-processing kernels.

Deep-learning "convolution" is cross-correlation: the kernel is not flipped,

.. math::  y[i, j] = b + \\sum_{u=0}^{k-1} \\sum_{v=0}^{k-1} w[u, v]\\, x[i s + u, j s + v]

(LeCun et al. 1998, Sec. II.A describe C1 as units that share this weight set over all
positions). The kernels are those of the source tutorial's figure (identity, edge detection,
sharpen, box blur, Gaussian blur approximation), with the values of the standard table of image
kernels. Output size for input n, kernel k, padding p, stride s, dilation d:
floor((n + 2p - d(k - 1) - 1) / s) + 1.
"""

from __future__ import annotations

import math
from typing import Dict, Tuple, Union

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
    """A copy of the kernel called ``name``; raises ``KeyError`` listing the known names.

    Chapters: none (the package and its command line use it).
    """
    if name not in KERNELS:
        raise KeyError(f"unknown kernel {name!r}; known kernels: {', '.join(KERNELS)}")
    return KERNELS[name].clone()


def conv_output_size(n: int, k: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> int:
    """Output length of a convolution along one axis: floor((n + 2p - d(k-1) - 1) / s) + 1.

    C1 of LeNet-5: ``conv_output_size(32, 5) == 28``; the source's PyTorch model keeps 28 with
    ``conv_output_size(28, 5, padding=2) == 28``.

    Chapters: 1, 2, 3.
    """
    if min(n, k, stride, dilation) < 1 or padding < 0:
        raise ValueError(f"need n, k, stride, dilation >= 1 and padding >= 0; got n={n}, k={k}, "
                         f"padding={padding}, stride={stride}, dilation={dilation}")
    out = (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(f"a kernel of {k} (dilation {dilation}) does not fit in {n} + 2 x {padding} padding")
    return out


def _as_tensor(x: ArrayLike) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))


def conv2d_loops(image: ArrayLike, kernel: ArrayLike, bias: float = 0.0, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Single-channel 2-D cross-correlation with four nested loops: the definition, made runnable.

    ``image`` is (H, W), ``kernel`` is (k, k). Zero padding of ``padding`` pixels on every side.

    Chapters: 2.
    """
    x, w = _as_tensor(image).double(), _as_tensor(kernel).double()
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"conv2d_loops expects a 2-D image and a 2-D kernel, got {tuple(x.shape)} and {tuple(w.shape)}")
    if padding:
        x = F.pad(x, (padding,) * 4)
    kh, kw = w.shape
    oh = conv_output_size(x.shape[0], kh, 0, stride)
    ow = conv_output_size(x.shape[1], kw, 0, stride)
    out = torch.zeros(oh, ow, dtype=torch.float64)
    for i in range(oh):
        for j in range(ow):
            acc = 0.0
            for u in range(kh):
                for v in range(kw):
                    acc += float(w[u, v]) * float(x[i * stride + u, j * stride + v])
            out[i, j] = acc + bias
    return out


def conv2d_unfold(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor = None, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Batched multi-channel convolution as one matrix product (im2col).

    ``x`` (N, C, H, W), ``weight`` (O, C, k, k), ``bias`` (O,) -> (N, O, H', W'). ``F.unfold``
    gathers every k x k x C patch into a column; the convolution is then ``weight @ patches``.
    Equal to ``F.conv2d`` up to floating-point rounding.

    Chapters: 2.
    """
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d_unfold expects x (N, C, H, W) and weight (O, C, k, k) with the same C; "
                         f"got {tuple(x.shape)} and {tuple(weight.shape)}")
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    oh = conv_output_size(h, kh, padding, stride)
    ow = conv_output_size(w, kw, padding, stride)
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (N, C*k*k, L)
    out = weight.reshape(o, -1) @ cols  # (N, O, L)
    if bias is not None:
        out = out + bias.view(1, -1, 1)
    return out.view(n, o, oh, ow)


def apply_kernel(image: ArrayLike, kernel: ArrayLike, clip: bool = False) -> torch.Tensor:
    """Filter a 2-D image with a kernel, keeping its size ('same' padding by edge replication).

    Returns a float tensor (H, W); ``clip`` clamps it to the input's [min, max] range for display.

    Chapters: 2.
    """
    x = _as_tensor(image).float()
    w = _as_tensor(kernel).float()
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"apply_kernel expects a 2-D image and a 2-D kernel, got {tuple(x.shape)} and {tuple(w.shape)}")
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

    Chapters: 6.
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
    coherence = math.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / (jxx + jyy)
    return (math.degrees(gradient) + 90.0) % 180.0, coherence


def sample_photo(size: int = 256) -> torch.Tensor:
    """A greyscale photograph in [0, 1] shipped with matplotlib (Grace Hopper), centre-cropped
    to a square and resized to ``size`` x ``size``. No network access.

    Chapters: 2.
    """
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        rgb = np.asarray(mpimg.imread(fh, format="jpg"), dtype=np.float32)
    if rgb.max() > 1.0:
        rgb = rgb / 255.0
    grey = torch.from_numpy(rgb[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32))
    h, w = grey.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    grey = grey[top: top + s, left: left + s]
    return F.interpolate(grey[None, None], size=(size, size), mode="area")[0, 0]


__all__ = ["KERNELS", "KERNEL_TITLES", "KERNEL_NAMES_ZH", "get_kernel", "conv_output_size", "conv2d_loops", "conv2d_unfold",
           "apply_kernel", "stripe_orientation", "sample_photo"]
