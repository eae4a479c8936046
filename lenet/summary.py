"""A per-layer table computed from a model object: output shape, trainable parameters, connections.

The counts follow the conventions of LeCun et al. (1998), Sec. II.B: a *connection* is one
multiply (or the bias) that feeds one output unit, so a layer with shared weights has many more
connections than parameters. C1: 156 parameters, 122,304 connections; S2: 12 / 5,880;
C3: 1,516 / 151,600; S4: 32 / 2,000; C5: 48,120 / 48,120; F6: 10,164 / 10,164; the RBF output:
840 connections; 340,908 connections in all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn


@dataclass
class LayerRow:
    """One line of a layer table: the layer's name and class, its output shape per example, its
    trainable parameters and its connections (counted as in LeCun et al. 1998, Sec. II.B)."""

    name: str
    kind: str
    output_shape: Tuple[int, ...]
    parameters: int
    connections: int


def _connections(module: nn.Module, output_shape: Sequence[int]) -> int:
    count = getattr(module, "num_connections", None)  # the paper's layers count their own
    if callable(count):
        return int(count(output_shape))
    if isinstance(module, nn.Conv2d):
        per_unit = module.in_channels // module.groups * math.prod(module.kernel_size) + (module.bias is not None)
        return per_unit * math.prod(output_shape)
    if isinstance(module, nn.Linear):
        return (module.in_features + (module.bias is not None)) * module.out_features
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k = module.kernel_size
        return (k * k if isinstance(k, int) else math.prod(k)) * math.prod(output_shape)
    return 0


def _is_leaf_layer(module: nn.Module) -> bool:
    return hasattr(module, "num_connections") or isinstance(module, (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d))


def layer_table(model: nn.Module, input_size: Optional[int] = None) -> List[LayerRow]:
    """Run one dummy input through ``model`` and list every layer with its shape and counts.

    Output shapes are per example (the batch dimension is dropped). Activations are not listed:
    they have neither parameters nor connections in the paper's sense.

    Explained in: chapter 1, "A 32x32 image through every layer".
    """
    size = input_size if input_size is not None else int(getattr(model, "input_size", 32))
    rows: List[LayerRow] = []
    hooks = []
    for name, module in model.named_modules():
        if name and _is_leaf_layer(module):

            def hook(mod, _inp, out, name=name):
                shape = tuple(out.shape[1:])
                params = sum(p.numel() for p in mod.parameters(recurse=False) if p.requires_grad)
                rows.append(LayerRow(name, type(mod).__name__, shape, params, _connections(mod, shape)))

            hooks.append(module.register_forward_hook(hook))
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, 1, size, size, device=device))
    finally:
        for h in hooks:
            h.remove()
    return rows


def totals(rows: Sequence[LayerRow]) -> Tuple[int, int]:
    """(total trainable parameters, total connections) of a table.

    Explained in: chapter 1, "Parameters and connections, layer by layer".
    """
    return sum(r.parameters for r in rows), sum(r.connections for r in rows)


def format_table(rows: Sequence[LayerRow], input_size: Optional[int] = None) -> str:
    """The table as aligned text, with a total line.

    Explained in: chapter 7, "The same network in `lenet`".
    """
    head = f"{'layer':<8} {'type':<14} {'output shape':<16} {'parameters':>11} {'connections':>12}"
    lines = [head, "-" * len(head)]
    if input_size:
        lines.append(f"{'input':<8} {'':<14} {str((1, input_size, input_size)):<16} {'':>11} {'':>12}")
    for r in rows:
        lines.append(f"{r.name:<8} {r.kind:<14} {str(r.output_shape):<16} {r.parameters:>11,} {r.connections:>12,}")
    p, c = totals(rows)
    lines.append("-" * len(head))
    lines.append(f"{'total':<8} {'':<14} {'':<16} {p:>11,} {c:>12,}")
    return "\n".join(lines)


def summary(model: nn.Module) -> str:
    """``format_table(layer_table(model))`` with the model's input size.

    Explained in: chapter 1, "Parameters and connections, layer by layer".
    """
    size = getattr(model, "input_size", 32)
    return format_table(layer_table(model, size), size)


__all__ = ["LayerRow", "layer_table", "totals", "format_table", "summary"]
