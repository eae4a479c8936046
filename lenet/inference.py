"""Reading digits with a trained network: the one rule for preparing its input, and predictions.

A network reads its input the way it was trained to: the 1998 LeNet-5 32x32 digits with the
paper's pixel values, the modern one 28x28 digits in [0, 1] (or standardised, for the fast
recipe). :func:`input_transform` finds that preparation on the model itself (the
``normalization`` that :func:`lenet.train.build_model` and :func:`lenet.checkpoints.load_checkpoint`
set), so every caller -- :func:`predict`, the drawing pad, the chapters -- prepares digits alike.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
import torch.nn as nn

from .data import make_transform
from .models import evaluating, unwrap


def input_transform(model: nn.Module, normalization: Optional[str] = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The batch transform from uint8 (B, 28, 28) images to the input ``model`` was trained on: the
    normalisation ``normalization`` if given, else the ``normalization`` attribute that
    :func:`lenet.train.build_model` and :func:`lenet.checkpoints.load_checkpoint` set, else the
    model class's default; padded to 32x32 for the 1998 network.

    Explained in: chapter 7, "Predictions on test digits".
    """
    base = unwrap(model)
    chosen = normalization or getattr(base, "normalization", None) or base.default_normalization
    return make_transform(str(chosen), pad=bool(base.input_size == 32))


@torch.inference_mode()
def predict(
    model: nn.Module, images: torch.Tensor, normalization: Optional[str] = None, batch_size: int = 500
) -> torch.Tensor:
    """Predicted digits for uint8 images (N, 28, 28) (or one image (28, 28)), prepared by
    :func:`input_transform`, read ``batch_size`` at a time.

    Explained in: chapter 6, "The training loop, by hand".
    """
    base: Any = unwrap(model)  # a LeNet-5: it has classify()
    if images.ndim == 2:
        images = images.unsqueeze(0)
    transform = input_transform(model, normalization)
    device = next(base.parameters()).device
    with evaluating(model):
        preds = [
            base.classify(model(transform(images[i : i + batch_size].to(device))))
            for i in range(0, len(images), batch_size)
        ]
    return torch.cat(preds).cpu()


__all__ = ["input_transform", "predict"]
