"""Draw a digit and let a trained LeNet-5 read it.

Two ways in:

* **ASCII art** (works everywhere, including the static HTML of the book)::

      art = '''
      ..####..
      .#....#.
      ......#.
      .....#..
      ....#...
      ...#....
      .######.
      '''
      classify_drawing(model, art)

  Background characters are space and ``.``; ``+``, ``-``, ``:`` and ``=`` are light ink; any
  other character is full ink.

* **A drawing pad** (:func:`lenet.widgets.digit_pad`): a canvas to draw on with the mouse or a
  finger; it runs in the browser, in the HTML book too, with this module's preparation written
  again in JavaScript (``lenet/js/digit_pad.js``).

Either way the drawing goes through :func:`to_mnist`, which prepares it the way MNIST's digits
were prepared (LeCun, Cortes and Burges, the MNIST page): the digit is scaled, keeping its
aspect ratio, to fit a 20x20 box (with anti-aliasing, hence grey levels), then placed in a
28x28 field so that its centre of mass is at the centre. A light blur softens the edges the
way scanning and anti-aliasing did. Thin strokes are thickened first, since a pen stroke in
MNIST is about 2-3 pixels wide.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from .inference import input_transform
from .models import evaluating, unwrap

#: Characters read as background and as light ink (half intensity); any other is full ink.
BACKGROUND_CHARS = " ._"
LIGHT_CHARS = "+-:=~"

#: The MNIST conventions: digits fit a 20x20 box inside a 28x28 field. With the stroke width and
#: the blur below, these are the one description of the preparation, which the drawing pad's
#: front end (``lenet/js/digit_pad.js``) receives from :func:`lenet.widgets.digit_pad`.
BOX = 20
FIELD = 28
#: Strokes thinner than this many final pixels are thickened (MNIST's pen is 2-3 pixels wide).
STROKE_PX = 3.0
#: The Gaussian blur, in final pixels, that softens the edges as scanning and anti-aliasing did.
BLUR_SIGMA = 0.6


def parse_ascii(art: str) -> torch.Tensor:
    """ASCII art -> float tensor (rows, cols) in [0, 1] (1 = ink).

    Blank lines at the top and bottom are dropped; short lines are padded with background.
    Raises ``ValueError`` when there is no ink at all.

    Explained in: chapter 7, "Draw your own digit".
    """
    if not isinstance(art, str):
        raise TypeError(f"art must be a string, got {type(art).__name__}")
    lines = art.expandtabs(4).split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError("the drawing is empty: draw the digit with '#' (ink) on '.' or ' ' (background)")
    width = max(len(line) for line in lines)

    def value(c: str) -> float:
        if c in BACKGROUND_CHARS:
            return 0.0
        if c in LIGHT_CHARS:
            return 0.5
        return 1.0

    grid = torch.tensor([[value(c) for c in line.ljust(width)] for line in lines], dtype=torch.float32)
    if not (grid > 0).any():
        raise ValueError("the drawing has no ink: use '#' (or any character other than space, '.', '_') for ink")
    return grid


def stroke_width(drawing: torch.Tensor) -> float:
    """Estimated stroke width of a drawing, in its own cells: the median length of the runs of
    ink along rows and along columns, the smaller of the two.
    """
    ink = (torch.as_tensor(drawing) > 0.25).to(torch.int8)

    def runs(m: torch.Tensor) -> list:
        lengths = []
        for row in m.tolist():
            n = 0
            for v in row + [0]:
                if v:
                    n += 1
                elif n:
                    lengths.append(n)
                    n = 0
        return lengths

    out = []
    for m in (ink, ink.t()):
        r = runs(m)
        if r:
            out.append(float(torch.tensor(r, dtype=torch.float32).median()))
    return min(out) if out else 0.0


def _crop(x: torch.Tensor) -> torch.Tensor:
    rows = torch.nonzero(x.sum(1) > 0).view(-1)
    cols = torch.nonzero(x.sum(0) > 0).view(-1)
    return x[int(rows[0]) : int(rows[-1]) + 1, int(cols[0]) : int(cols[-1]) + 1]


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def _ink(drawing) -> torch.Tensor:
    """The drawing as a float 2-D tensor, the darkest ink 1, cropped to the ink."""
    x = torch.as_tensor(drawing, dtype=torch.float32).detach().cpu()
    if x.ndim != 2:
        raise ValueError(f"a drawing is a 2-D array (rows, cols), got shape {tuple(x.shape)}")
    x = x.clamp(min=0)
    if x.max() <= 0:
        raise ValueError("the drawing has no ink")
    return _crop(x / x.max())


def _thickened(x: torch.Tensor, box: int, stroke_px: float) -> torch.Tensor:
    """``x`` at about 4 times the final resolution (so that thickening and scaling are smooth),
    its strokes grown (a max filter) to at least ``stroke_px`` pixels once scaled to ``box``."""
    h, w = x.shape
    up = max(1, math.ceil(4 * box / max(h, w)))
    hi = x.repeat_interleave(up, 0).repeat_interleave(up, 1)
    final_per_hi = box / (max(h, w) * up)  # final pixels per high-resolution pixel (before thickening)
    missing_hi = stroke_px / final_per_hi - stroke_width(x) * up
    if missing_hi >= 2:
        k = int(missing_hi) // 2 * 2 + 1  # odd size: grow the stroke by k - 1 pixels
        hi = F.pad(hi, (k // 2,) * 4)  # room to grow at the edges
        hi = F.max_pool2d(hi[None, None], k, stride=1, padding=k // 2)[0, 0]
        hi = _crop(hi)
    return hi


def _fit_box(x: torch.Tensor, box: int) -> torch.Tensor:
    """``x`` scaled, keeping its aspect ratio, so that its longer side is ``box`` pixels; each new
    pixel is the mean of the area it covers (anti-aliasing, hence the grey edges)."""
    h, w = x.shape
    scale = box / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(x[None, None], size=size, mode="area")[0, 0]


def _centred(x: torch.Tensor, field: int) -> torch.Tensor:
    """``x`` placed in a ``field`` x ``field`` image so that its centre of mass is at the centre."""
    h, w = x.shape
    mass = x.sum()
    cy = float((x * torch.arange(h, dtype=torch.float32)[:, None]).sum() / mass)
    cx = float((x * torch.arange(w, dtype=torch.float32)[None, :]).sum() / mass)
    centre = (field - 1) / 2
    top = min(max(round(centre - cy), 0), field - h)
    left = min(max(round(centre - cx), 0), field - w)
    image = torch.zeros(field, field)
    image[top : top + h, left : left + w] = x
    return image


def _blurred_uint8(image: torch.Tensor, blur_sigma: float) -> torch.Tensor:
    """``image`` blurred by a Gaussian of ``blur_sigma`` pixels, scaled so that its darkest ink is
    255, as uint8."""
    if blur_sigma > 0:
        k = _gaussian_kernel(blur_sigma)
        image = F.conv2d(image[None, None], k, padding=k.shape[-1] // 2)[0, 0]
    image = image / image.max()
    return (image * 255).round().clamp(0, 255).to(torch.uint8)


def to_mnist(
    drawing, box: int = BOX, field: int = FIELD, stroke_px: float = STROKE_PX, blur_sigma: float = BLUR_SIGMA
) -> torch.Tensor:
    """A drawing (2-D array, ink > 0, any size) -> an MNIST-like uint8 image (28, 28), prepared as
    MNIST's digits were (LeCun, Cortes and Burges, the MNIST page): cropped to the ink, strokes
    thickened to a pen's width, scaled to fit a 20x20 box, centred by its centre of mass in a 28x28
    field, and softened by a slight blur.

    Explained in: chapter 7, "Draw your own digit".
    """
    # the ink alone, cropped, the darkest ink 1
    ink = _ink(drawing)
    # strokes at least stroke_px pixels wide once scaled (MNIST's pen)
    hi = _thickened(ink, box, stroke_px)
    # the longer side box pixels (20), the aspect ratio kept
    small = _fit_box(hi, box)
    # in a field x field image (28x28), the centre of mass at its centre
    image = _centred(small, field)
    # the edges softened, the darkest ink 255
    return _blurred_uint8(image, blur_sigma)


def to_ascii(image, chars: str = " .:-=+*#%@", double: bool = True, frame: bool = True) -> str:
    """An image (2-D, uint8 or float) as text, dark characters for ink; ``double`` writes two
    characters per pixel so the picture keeps its proportions in a monospaced font; ``frame``
    draws the image's border, so that its size and the digit's position show.

    Explained in: chapter 7, "Draw your own digit".
    """
    x = torch.as_tensor(image).detach().cpu().float()
    if x.ndim == 3:
        x = x[0]
    if x.max() > 1:
        x = x / 255.0
    idx = (x.clamp(0, 1) * (len(chars) - 1)).round().long()
    rep = 2 if double else 1
    lines = ["".join(chars[i] * rep for i in row) for row in idx.tolist()]
    if not frame:
        return "\n".join(line.rstrip() for line in lines)
    edge = "+" + "-" * (rep * x.shape[1]) + "+"
    return "\n".join([edge] + ["|" + line + "|" for line in lines] + [edge])


class Prediction(NamedTuple):
    """What :func:`classify_drawing` returns.

    ``digit`` is the model's answer; ``scores`` its raw output (logits for the modern model,
    RBF penalties for the classic one, smaller = better); ``probabilities`` a softmax of the
    logits, or of minus the penalties (the paper's reading of the MAP criterion, Sec. II.C);
    ``image`` the 28x28 uint8 image the model saw (before padding and normalisation).
    """

    digit: int
    scores: torch.Tensor
    probabilities: torch.Tensor
    image: torch.Tensor

    def __str__(self) -> str:
        top = torch.argsort(self.probabilities, descending=True)[:3].tolist()
        alt = ", ".join(f"{d}: {100 * float(self.probabilities[d]):.1f}%" for d in top)
        return f"prediction: {self.digit}  ({alt})"


def prepare(drawing: Union[str, torch.Tensor, Sequence]) -> torch.Tensor:
    """ASCII art, a drawing (2-D array) or an MNIST image -> the uint8 (28, 28) the model sees.

    A uint8 28x28 tensor is taken to be MNIST-like already and passed through unchanged.
    """
    if isinstance(drawing, str):
        return to_mnist(parse_ascii(drawing))
    t = torch.as_tensor(drawing)
    if t.dtype == torch.uint8 and tuple(t.shape) == (FIELD, FIELD):
        return t.cpu()
    return to_mnist(t)


@torch.no_grad()
def classify_drawing(model: torch.nn.Module, drawing, normalization: Optional[str] = None) -> Prediction:
    """Prepare ``drawing`` with :func:`prepare` and classify it with ``model`` (chapter 7).

    The image is normalised as the model was trained (:func:`lenet.inference.input_transform`: the
    ``normalization`` given, else the one a checkpoint or :func:`lenet.train.build_model`
    recorded on the model, else the model class's default).

    Explained in: chapter 7, "Draw your own digit".
    """
    base: Any = unwrap(model)  # a LeNet-5: it has classify()
    image = prepare(drawing)
    transform = input_transform(base, normalization)
    device = next(base.parameters()).device
    with evaluating(base):
        out = base(transform(image[None].to(device))).float().cpu()[0]
    digit = int(base.classify(out[None])[0])
    is_penalty = base.classify(torch.tensor([[0.0, 1.0]]))[0] == 0  # argmin-type output
    probs = torch.softmax(-out if is_penalty else out, dim=0)
    return Prediction(digit, out, probs, image)


__all__ = [
    "BACKGROUND_CHARS",
    "LIGHT_CHARS",
    "parse_ascii",
    "stroke_width",
    "to_mnist",
    "to_ascii",
    "Prediction",
    "prepare",
    "classify_drawing",
    "BOX",
    "FIELD",
    "STROKE_PX",
    "BLUR_SIGMA",
]
