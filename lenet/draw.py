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
from typing import NamedTuple, Optional, Sequence, Union

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

    Chapters: 7.
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

    Chapters: none (the package and its command line use it).
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
    return x[int(rows[0]): int(rows[-1]) + 1, int(cols[0]): int(cols[-1]) + 1]


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    g = torch.exp(-(t ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def to_mnist(drawing, box: int = BOX, field: int = FIELD, stroke_px: float = STROKE_PX,
             blur_sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """A drawing (2-D array, ink > 0, any size) -> an MNIST-like uint8 image (28, 28).

    1. crop to the ink and thicken strokes thinner than ``stroke_px`` final pixels;
    2. scale (keeping the aspect ratio, averaging over areas) so the longer side is ``box``;
    3. place in a ``field`` x ``field`` image with the centre of mass at the centre;
    4. blur with a Gaussian of ``blur_sigma`` pixels and scale so the darkest ink is 255.

    Chapters: none (the package and its command line use it).
    """
    x = torch.as_tensor(drawing, dtype=torch.float32).detach().cpu()
    if x.ndim != 2:
        raise ValueError(f"a drawing is a 2-D array (rows, cols), got shape {tuple(x.shape)}")
    x = x.clamp(min=0)
    if x.max() <= 0:
        raise ValueError("the drawing has no ink")
    x = _crop(x / x.max())
    h, w = x.shape
    # work at a high resolution (about 4x the final box) so thickening and scaling are smooth
    up = max(1, math.ceil(4 * box / max(h, w)))
    hi = x.repeat_interleave(up, 0).repeat_interleave(up, 1)
    final_per_hi = box / (max(h, w) * up)  # final pixels per high-resolution pixel (before thickening)
    width_hi = stroke_width(x) * up
    missing_hi = stroke_px / final_per_hi - width_hi
    if missing_hi >= 2:
        k = int(missing_hi) // 2 * 2 + 1  # odd size: grow the stroke by k - 1 pixels
        hi = F.pad(hi, (k // 2,) * 4)  # room to grow at the edges
        hi = F.max_pool2d(hi[None, None], k, stride=1, padding=k // 2)[0, 0]
        hi = _crop(hi)
    hh, ww = hi.shape
    scale = box / max(hh, ww)
    nh, nw = max(1, round(hh * scale)), max(1, round(ww * scale))
    small = F.interpolate(hi[None, None], size=(nh, nw), mode="area")[0, 0]
    # centre of mass of the scaled digit, then the offset that puts it at the field's centre
    ys = torch.arange(nh, dtype=torch.float32)[:, None]
    xs = torch.arange(nw, dtype=torch.float32)[None, :]
    mass = small.sum()
    cy, cx = float((small * ys).sum() / mass), float((small * xs).sum() / mass)
    centre = (field - 1) / 2
    top = min(max(round(centre - cy), 0), field - nh)
    left = min(max(round(centre - cx), 0), field - nw)
    img = torch.zeros(field, field)
    img[top: top + nh, left: left + nw] = small
    if blur_sigma > 0:
        k = _gaussian_kernel(blur_sigma)
        img = F.conv2d(img[None, None], k, padding=k.shape[-1] // 2)[0, 0]
    img = img / img.max()
    return (img * 255).round().clamp(0, 255).to(torch.uint8)


def to_ascii(image, chars: str = " .:-=+*#%@", double: bool = True, frame: bool = True) -> str:
    """An image (2-D, uint8 or float) as text, dark characters for ink; ``double`` writes two
    characters per pixel so the picture keeps its proportions in a monospaced font; ``frame``
    draws the image's border, so that its size and the digit's position show.

    Chapters: 7.
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

    Chapters: none (the package and its command line use it).
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

    Chapters: none (the package and its command line use it).
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

    Chapters: 7.
    """
    base = unwrap(model)
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
    "BACKGROUND_CHARS", "LIGHT_CHARS", "parse_ascii", "stroke_width", "to_mnist", "to_ascii", "Prediction",
    "prepare", "classify_drawing", "BOX", "FIELD", "STROKE_PX", "BLUR_SIGMA",
]
