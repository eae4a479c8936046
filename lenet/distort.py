"""Distorted training digits, as in LeCun et al. (1998), Sec. III.B: "the training set was
augmented with 540,000 artificial distorted versions of the original training samples. The
distortions were combinations of the following planar affine transformations: horizontal and
vertical translations, scaling, squeezing (simultaneous horizontal compression and vertical
elongation, or the reverse), and horizontal shearing."

The paper gives no ranges; this book chooses (:data:`RANGES`): translations of up to 2 pixels,
scaling by 0.9 to 1.1, squeezing by 0.9 to 1.1, horizontal shearing by -0.25 to 0.25 (chapter 6
says so, and shows a grid of them). Each training image gets ``copies`` distorted versions a pass,
shuffled together with the originals. The paper's set is fixed: 9 copies (its 540,000), drawn once
and kept for the run (``redraw=False``). The book's runs draw new copies each pass instead
(``redraw=True``, from the seed and the pass): a pass of 1 copy costs twice an undistorted one,
where the paper's ten times the data would cost ten times. Nothing is stored: the affine maps
are, 5 numbers a copy, and each batch is warped on the device (``F.affine_grid`` and
``F.grid_sample``) as it is drawn. Chapter 6 uses it.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterator, Tuple, Union

import torch
import torch.nn.functional as F

from .data import DeviceLoader, Split

#: The book's choice of ranges (the paper gives none): (low, high) of each parameter.
RANGES: Dict[str, Tuple[float, float]] = {
    "translate_x": (-2.0, 2.0),  # pixels
    "translate_y": (-2.0, 2.0),  # pixels
    "scale": (0.9, 1.1),  # both axes
    "squeeze": (0.9, 1.1),  # width times s, height divided by s
    "shear": (-0.25, 0.25),  # horizontal: x += shear * y
}


def draw_parameters(
    n: int, generator: torch.Generator, ranges: Dict[str, Tuple[float, float]] = RANGES
) -> torch.Tensor:
    """(n, 5) affine parameters, uniform in ``ranges``: translate_x, translate_y, scale, squeeze, shear."""
    u = torch.rand(n, len(ranges), generator=generator)
    lo = torch.tensor([r[0] for r in ranges.values()])
    hi = torch.tensor([r[1] for r in ranges.values()])
    return lo + u * (hi - lo)


def affine_matrices(params: torch.Tensor, size: int) -> torch.Tensor:
    """The (n, 2, 3) matrices for ``F.affine_grid``: each maps an output position to the input
    position it reads, in the normalised coordinates of an image ``size`` x ``size``. The digit is
    scaled by ``scale`` (width also times ``squeeze``, height divided by it), sheared by ``shear``
    and moved by the translations, in pixels.
    """
    tx, ty, scale, squeeze, shear = params.unbind(1)
    sx, sy = scale * squeeze, scale / squeeze
    theta = torch.zeros(params.shape[0], 2, 3, dtype=params.dtype, device=params.device)
    # forward map: x' = sx x + shear sy y + tx, y' = sy y + ty; the grid needs its inverse
    theta[:, 0, 0] = 1 / sx
    theta[:, 0, 1] = -shear / sx
    theta[:, 1, 1] = 1 / sy
    px = 2.0 / size  # one pixel in normalised coordinates
    theta[:, 0, 2] = -(tx * px - shear * ty * px) / sx
    theta[:, 1, 2] = -ty * px / sy
    return theta


def distort(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Warp a batch (n, 1, H, W) of prepared inputs by ``params`` (n, 5); the borders of the
    input (the background) fill what comes in from outside.
    """
    return warp(x, affine_matrices(params.to(x), x.shape[-1]))


def warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Warp a batch (n, 1, H, W) by the (n, 2, 3) matrices of :func:`affine_matrices`, bilinearly."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class DistortedLoader(DeviceLoader):
    """Batches from ``split`` and ``copies`` distorted versions of each image, shuffled together:
    an epoch is ``(1 + copies) * len(split)`` patterns. The distortions of copy ``c`` of image
    ``i`` are drawn from ``seed`` (and, with ``redraw``, the epoch: new copies each pass; without
    it, the same copies for the whole run, as the paper's fixed set), the order of each epoch from
    ``seed + epoch``, as :class:`lenet.data.DeviceLoader` draws it.
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        copies: int,
        transform: Callable[[torch.Tensor], torch.Tensor],
        device: Union[str, torch.device, None] = None,
        seed: int = 0,
        drop_last: bool = False,
        redraw: bool = True,
    ) -> None:
        if copies < 1:
            raise ValueError(f"copies must be a positive integer, got {copies!r}")
        super().__init__(
            split, batch_size, shuffle=True, transform=transform, device=device, seed=seed, drop_last=drop_last
        )
        self.copies, self.redraw = int(copies), redraw
        self.params = self._draw(0)

    def _draw(self, epoch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(10_007 * (self.seed + 1) + (7_919 * epoch if self.redraw else 0))
        return draw_parameters(self.images.shape[0] * self.copies, gen).to(self.device)

    @property
    def patterns(self) -> int:
        return self.images.shape[0] * (1 + self.copies)

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        n = self.images.shape[0]
        if self.redraw:
            self.params = self._draw(self.epoch)
        order = torch.randperm(self.patterns, generator=torch.Generator().manual_seed(self.seed + self.epoch)).to(
            self.device
        )
        self.epoch += 1
        # once a pass, for every pattern: its image, whether it is a distorted copy, and the matrix
        # that warps it (an original gets some copy's matrix, and keeps its own pixels below)
        image, copy = order % n, order // n
        is_copy = (copy > 0).view(-1, 1, 1, 1)
        size = self.transform(self.images[:1]).shape[-1]
        theta = affine_matrices(self.params, size)[(copy - 1).clamp(min=0) * n + image]
        for b in range(len(self)):
            batch = slice(b * self.batch_size, (b + 1) * self.batch_size)
            x = self.transform(self.images[image[batch]])
            # every pattern is warped and the originals then keep their pixels: no test on the
            # device's data, so nothing waits for the GPU, and each warped pattern is exactly
            # what warping it alone gives
            yield torch.where(is_copy[batch], warp(x, theta[batch]), x), self.labels[image[batch]]


def examples(
    split: Split, transform: Callable[[torch.Tensor], torch.Tensor], n: int = 8, copies: int = 7, seed: int = 0
) -> torch.Tensor:
    """For a grid in chapter 6: ``n`` training digits, each followed by ``copies`` distortions of
    it, (n * (1 + copies), 1, H, W).

    Explained in: chapter 6, "Distortions".
    """
    x = transform(split.images[:n])
    params = draw_parameters(n * copies, torch.Generator().manual_seed(seed))
    rows = [x]
    for c in range(copies):
        rows.append(distort(x, params[c * n : (c + 1) * n]))
    return torch.stack(rows, dim=1).reshape(-1, *x.shape[1:])


__all__ = ["RANGES", "draw_parameters", "affine_matrices", "distort", "warp", "DistortedLoader", "examples"]
