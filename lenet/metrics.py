"""Metrics of a classifier's answers, apart from the figures that show them (chapters 6 and 8):
the confusion matrix, its largest confusions, and the misread examples. LeCun et al. (1998)
report test error rates (Sec. III.B) and show the misclassified test digits (Fig. 8)."""

from __future__ import annotations

from typing import List, Tuple

import torch


def confusion_matrix(labels: torch.Tensor, preds: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """(num_classes, num_classes) counts: row = true digit, column = predicted digit.

    Explained in: chapter 6, "The digits it gets wrong".
    """
    labels = torch.as_tensor(labels).long().cpu().view(-1)
    preds = torch.as_tensor(preds).long().cpu().view(-1)
    if labels.shape != preds.shape:
        raise ValueError(f"labels and preds must have the same length, got {labels.numel()} and {preds.numel()}")
    if labels.numel() and (min(labels.min(), preds.min()) < 0 or max(labels.max(), preds.max()) >= num_classes):
        raise ValueError(f"labels and predictions must lie in 0..{num_classes - 1}")
    return torch.bincount(labels * num_classes + preds, minlength=num_classes * num_classes).view(
        num_classes, num_classes
    )


def most_confused(cm: torch.Tensor, k: int = 5) -> List[Tuple[int, int, int]]:
    """The ``k`` largest off-diagonal entries as (true, predicted, count), largest first
    (ties broken by true digit, then predicted digit).

    Explained in: chapter 6, "The digits it gets wrong".
    """
    n = cm.shape[0]
    pairs = [(int(cm[i, j]), i, j) for i in range(n) for j in range(n) if i != j and int(cm[i, j]) > 0]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    return [(i, j, c) for c, i, j in pairs[:k]]


def misclassified(labels: torch.Tensor, preds: torch.Tensor) -> torch.Tensor:
    """Indices (in order) of the examples whose prediction differs from the label.

    Explained in: chapter 6, "The digits it gets wrong".
    """
    return torch.nonzero(torch.as_tensor(preds).cpu() != torch.as_tensor(labels).cpu()).view(-1)


__all__ = ["confusion_matrix", "most_confused", "misclassified"]
