"""The two LeNet-5s of the book: the 1998 network of the paper and the modern one of the source text.

Both classes expose the same small interface so one training loop serves both:

* ``forward(x)`` -- logits (modern) or RBF penalties (classic), shape (N, 10);
* ``loss(output, target)`` -- cross-entropy (modern) or the paper's MAP criterion (classic);
* ``classify(output)`` -- the predicted digit: argmax of logits, argmin of penalties;
* ``input_size`` and ``default_normalization`` -- how the data must be prepared.
"""

from __future__ import annotations

import contextlib
from typing import Dict, Iterator, Type, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .c3 import C3_TABLE, SparseConv2d
from .pooling import ScaledTanh, Subsampling
from .rbf import DIGIT_BITMAPS, RBFOutput, map_loss


class LeNet5Modern(nn.Module):
    """LeNet-5 as the source tutorial writes it in PyTorch (its ``LeNet5`` class, layer for layer).

    conv1 (1->6, 5x5, padding 2, so 28x28 stays 28x28) -> ReLU -> 2x2 max-pool ->
    conv2 (6->16, 5x5, dense) -> ReLU -> 2x2 max-pool -> fc1 400->120 -> ReLU ->
    fc2 120->84 -> ReLU -> fc3 84->10 logits. 61,706 parameters. Attribute names match the
    tutorial's, so its ``state_dict`` loads unchanged.

    :meth:`forward_layers` is the whole network, and :meth:`forward` returns its last layer. It
    applies each max-pool *before* its ReLU. The function is the same, bit for bit: ReLU is
    monotonic, so ``max(relu(a), relu(b)) == relu(max(a, b))``, and the gradients agree too. It
    is only cheaper: the ReLU then runs on a quarter of the values. ``forward_as_written`` keeps
    the tutorial's order for comparison; a test checks that the two agree exactly.

    Shape: (N, 1, 28, 28) -> (N, 10).

    Explained in: chapter 7, "The same network in `lenet`".
    """

    name = "modern"
    input_size = 28
    default_normalization = "unit"

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5, stride=1, padding=2)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(in_channels=6, out_channels=16, kernel_size=5, stride=1)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward_layers(self, x: torch.Tensor, pool_first: bool = True) -> Dict[str, torch.Tensor]:
        """Every layer's output for a batch ``x``, by name: the whole network, one line a layer.

        ``conv1`` and ``conv2`` are the convolutions' weighted sums; ``pool1`` and ``pool2`` the
        pooled maps after the ReLU; ``fc1`` and ``fc2`` after their ReLU; ``fc3`` the logits.
        ``pool_first=False`` computes each block in the tutorial's order, ``pool(relu(conv))``,
        instead of ``relu(pool(conv))``: the same numbers.
        """
        _check_input(x, self.input_size, type(self).__name__)
        out: Dict[str, torch.Tensor] = {}
        out["conv1"] = self.conv1(x)
        out["pool1"] = _relu_pool(out["conv1"], self.pool1, pool_first)
        out["conv2"] = self.conv2(out["pool1"])
        out["pool2"] = _relu_pool(out["conv2"], self.pool2, pool_first)
        out["fc1"] = torch.relu(self.fc1(torch.flatten(out["pool2"], 1)))
        out["fc2"] = torch.relu(self.fc2(out["fc1"]))
        out["fc3"] = self.fc3(out["fc2"])
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_layers(x)["fc3"]

    def forward_as_written(self, x: torch.Tensor) -> torch.Tensor:
        """The tutorial's order, ``pool(relu(conv(x)))``; equal to :meth:`forward`."""
        return self.forward_layers(x, pool_first=False)["fc3"]

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the logits, as in the tutorial (``nn.CrossEntropyLoss``)."""
        return F.cross_entropy(output, target)

    @staticmethod
    def classify(output: torch.Tensor) -> torch.Tensor:
        """The digit with the largest logit."""
        return output.argmax(dim=1)


class LeNet5Classic(nn.Module):
    """The LeNet-5 of LeCun, Bottou, Bengio and Haffner (1998), Sec. II.B and Appendix A.

    ======  =================================================  ==============
    layer   what it computes                                   output
    ======  =================================================  ==============
    C1      6 convolutions 5x5, then f                         (N, 6, 28, 28)
    S2      trainable 2x2 subsampling (coefficient, bias), f   (N, 6, 14, 14)
    C3      16 convolutions 5x5 wired by Table I, then f       (N, 16, 10, 10)
    S4      trainable 2x2 subsampling, f                       (N, 16, 5, 5)
    C5      120 convolutions 5x5 over all of S4, then f        (N, 120, 1, 1)
    F6      84 fully connected units, then f                   (N, 84)
    output  10 Euclidean RBF units with fixed 7x12 centres     (N, 10)
    ======  =================================================  ==============

    f is the scaled tanh 1.7159 tanh(2a/3). Weights are drawn uniformly in +-2.4/F_i (F_i the
    fan-in). 60,000 trainable parameters. The output is a vector of penalties: the prediction
    is the class with the smallest one, and the loss is the MAP criterion with constant ``j``.

    Four options replace one 1998 design choice each by its modern counterpart, for the
    ablation of chapter 8 (the defaults are the paper's):

    * ``output="linear"``: a learnt 84 -> 10 linear layer with softmax cross-entropy (logits,
      argmax) instead of the RBF units and the MAP loss;
    * ``activation="relu"``: ReLU instead of the scaled tanh, everywhere;
    * ``pooling="max"``: 2x2 max pooling (then the activation) instead of the trainable
      subsampling;
    * ``c3="dense"``: every C3 map connected to all 6 S2 maps instead of Table I.

    Shape: (N, 1, 32, 32) -> (N, 10).

    Explained in: chapter 1, "A 32x32 image through every layer".
    """

    name = "classic"
    input_size = 32
    default_normalization = "paper"
    OPTIONS = {
        "output": ("rbf", "linear"),
        "activation": ("scaled_tanh", "relu"),
        "pooling": ("subsampling", "max"),
        "c3": ("table", "dense"),
    }

    def __init__(
        self,
        j: float = 0.1,
        output: str = "rbf",
        activation: str = "scaled_tanh",
        pooling: str = "subsampling",
        c3: str = "table",
    ) -> None:
        super().__init__()
        for option, value in (("output", output), ("activation", activation), ("pooling", pooling), ("c3", c3)):
            if value not in self.OPTIONS[option]:
                raise ValueError(
                    f"LeNet5Classic: unknown {option} {value!r}; choose one of: {', '.join(self.OPTIONS[option])}"
                )
        self.j = j
        self.options = dict(output=output, activation=activation, pooling=pooling, c3=c3)
        self.squash = ScaledTanh() if activation == "scaled_tanh" else nn.ReLU()
        self.C1 = nn.Conv2d(1, 6, kernel_size=5)
        self.S2 = (
            Subsampling(6, activation=self.squash)
            if pooling == "subsampling"
            else nn.Sequential(nn.MaxPool2d(2), self.squash)
        )
        self.C3 = SparseConv2d(6, C3_TABLE, kernel_size=5) if c3 == "table" else nn.Conv2d(6, 16, kernel_size=5)
        self.S4 = (
            Subsampling(16, activation=self.squash)
            if pooling == "subsampling"
            else nn.Sequential(nn.MaxPool2d(2), self.squash)
        )
        self.C5 = nn.Conv2d(16, 120, kernel_size=5)
        self.F6 = nn.Linear(120, 84)
        self.output = RBFOutput(DIGIT_BITMAPS) if output == "rbf" else nn.Linear(84, 10)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in +-2.4 / fan-in for every weight and bias (LeCun et al. 1998, Appendix A)."""
        for layer in (self.C1, self.C5, self.F6, self.S2, self.C3, self.S4, self.output):  # the 1998 net's order
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                fan_in = layer.weight[0].numel()
                nn.init.uniform_(layer.weight, -2.4 / fan_in, 2.4 / fan_in)
                if layer.bias is None:  # never: every layer here is built with its bias
                    raise ValueError(f"{type(layer).__name__} has no bias to initialise")
                nn.init.uniform_(layer.bias, -2.4 / fan_in, 2.4 / fan_in)
            elif isinstance(layer, (Subsampling, SparseConv2d)):
                layer.reset_parameters()

    def forward_layers(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Every layer's output for a batch ``x``, by name: the whole network, one line a layer.

        ``C1``, ``S2``, ``C3``, ``S4``, ``C5`` and ``F6`` are the layers' outputs (after the
        squashing function f; C5 flattened to (N, 120)), ``output`` the RBF penalties (or logits).
        The weighted sums that f squashes are kept too, as ``C1 sum``, ``C3 sum``, ``C5 sum`` and
        ``F6 sum`` (the paper's :math:`a_i`, Eq. 5): SDLM's curvature sweep needs them.
        """
        _check_input(x, self.input_size, type(self).__name__)
        f = self.squash  # the scaled tanh, 1.7159 tanh(2a/3) (chapter 3)
        out: Dict[str, torch.Tensor] = {}
        out["C1 sum"] = self.C1(x)  # 6 convolutions 5x5 (chapter 2)
        out["C1"] = f(out["C1 sum"])
        out["S2"] = self.S2(out["C1"])  # trainable 2x2 subsampling, then f (chapter 3)
        out["C3 sum"] = self.C3(out["S2"])  # 16 convolutions 5x5 wired by Table I (chapter 4)
        out["C3"] = f(out["C3 sum"])
        out["S4"] = self.S4(out["C3"])  # as S2 (chapter 3)
        out["C5 sum"] = torch.flatten(self.C5(out["S4"]), 1)  # 120 convolutions 5x5 over all of S4 (chapter 5)
        out["C5"] = f(out["C5 sum"])
        out["F6 sum"] = self.F6(out["C5"])  # 84 fully connected units (chapter 5)
        out["F6"] = f(out["F6 sum"])
        out["output"] = self.output(out["F6"])  # 10 RBF penalties, distances to the digit bitmaps (chapter 5)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_layers(x)["output"]

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The MAP criterion, Eq. (9) of the paper, on the RBF penalties (cross-entropy on the
        logits with ``output="linear"``)."""
        if self.options["output"] == "linear":
            return F.cross_entropy(output, target)
        return map_loss(output, target, self.j)

    def classify(self, output: torch.Tensor) -> torch.Tensor:
        """The digit with the smallest penalty (the largest logit with ``output="linear"``)."""
        return output.argmax(dim=1) if self.options["output"] == "linear" else output.argmin(dim=1)


def _relu_pool(x: torch.Tensor, pool: nn.Module, pool_first: bool) -> torch.Tensor:
    return torch.relu(pool(x)) if pool_first else pool(torch.relu(x))


def _check_input(x: torch.Tensor, size: int, who: str) -> None:
    if x.ndim != 4 or x.shape[1] != 1 or tuple(x.shape[-2:]) != (size, size):
        hint = ""
        if size == 32 and tuple(x.shape[-2:]) == (28, 28):
            hint = " MNIST digits are 28x28: pad them with lenet.data.pad_to_32 (or make_transform(pad=True))."
        elif size == 28 and tuple(x.shape[-2:]) == (32, 32):
            hint = " This model takes the unpadded 28x28 digits (its conv1 pads by 2 itself)."
        elif x.ndim == 3:
            hint = " Add the channel dimension: x.unsqueeze(1)."
        raise ValueError(f"{who} expects input of shape (N, 1, {size}, {size}), got {tuple(x.shape)}.{hint}")


#: Model classes by the names the CLI and checkpoints use.
MODELS: Dict[str, Union[Type[LeNet5Classic], Type[LeNet5Modern]]] = {"classic": LeNet5Classic, "modern": LeNet5Modern}


def get_model(name: str, **kwargs) -> nn.Module:
    """A fresh model by name ('classic' or 'modern'); raises ``ValueError`` naming the choices."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[name](**kwargs)


def unwrap(model: nn.Module) -> nn.Module:
    """The module itself, for a model wrapped by ``torch.compile`` (which keeps it as ``_orig_mod``)."""
    return getattr(model, "_orig_mod", model)


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``with evaluating(model):`` runs the block in eval mode and restores the model's mode after
    it, also when the block raises.
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``.

    Explained in: chapter 0, "Modules".
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


__all__ = ["LeNet5Modern", "LeNet5Classic", "MODELS", "get_model", "count_parameters", "unwrap", "evaluating"]
