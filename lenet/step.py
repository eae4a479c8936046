"""One training step, written once for eager execution and for CUDA-graph replay.

A LeNet-5 step is tiny: on a large GPU each of its kernels runs for a few microseconds, less
than it takes Python to launch it. A CUDA graph (``torch.cuda.CUDAGraph``) records the whole
step -- forward, loss, backward, the optimiser's update, running metrics -- once, and then
replays it with a single launch. Replay re-runs the recorded kernels on the *same memory*, so the
step must read its batch from fixed ("static") buffers and keep everything it changes in place:

* the batch is copied into ``x`` and ``y``, allocated once, before each replay;
* gradients are not zeroed inside the step: they are ``None`` when the graph is recorded, so
  the recorded backward *writes* them rather than adding to them;
* whatever the optimiser reads that changes during a run lives in tensors updated in place:
  Adam's learning rate is a tensor on the GPU that the scheduler fills, and Adam runs with
  ``capturable=True`` so that its step counter lives on the GPU too; SDLM keeps its step sizes in
  tensors that it rewrites before each pass (:class:`lenet.sdlm.SDLM`);
* the epoch's loss sum and correct count are tensors updated in place, and ``loss`` (the latest
  step's loss) is a tensor the caller copies if it wants to keep it.

The pattern is PyTorch's "whole-network capture" (CUDA semantics notes, *CUDA Graphs*):
warm up a few steps on a side stream, record one, replay it for every following batch.
On a CPU there is nothing to capture, and :class:`TrainStep` runs the very same step eagerly,
zeroing the gradients first; the tests check on the CPU that this path trains exactly like the
plain loop, which proves all of it but the two ``torch.cuda`` calls.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional, Protocol, Tuple, cast

import torch
import torch.nn as nn

from .models import unwrap

#: Eager steps run on a side stream before a graph is recorded (PyTorch's recipe uses 3).
WARMUP_STEPS = 3


class _Classifier(Protocol):
    """What a step needs of the unwrapped network (both LeNet-5s provide it); ``nn.Module``'s
    stubs cannot know the ``loss`` and ``classify`` methods of a subclass."""

    def parameters(self) -> Iterator[nn.Parameter]: ...

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    def classify(self, output: torch.Tensor) -> torch.Tensor: ...


def autocast(device: torch.device, enabled: bool, cache_enabled: bool = True):
    """bf16 autocast where the hardware computes in bf16: a CUDA GPU from Ampere on, or a CPU with
    Intel's AMX tiles (Sapphire Rapids and newer); otherwise full precision.

    bf16 keeps float32's exponent range, so no loss scaling is needed; hardware without bf16 (a
    T4, or a CPU without AMX, where PyTorch would emulate it slowly) simply trains in float32.
    Inside a CUDA graph the autocast weight cache must be off.
    """
    if enabled and native_bf16(device):
        return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=cache_enabled)
    return contextlib.nullcontext()


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 in hardware: a CUDA GPU of compute capability 8.0 or
    more, or a CPU with AMX tiles (``torch.cpu._is_amx_tile_supported``, False where that private
    probe is missing).
    """
    if device.type == "cpu":
        probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
        return bool(probe and probe())
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    return torch.cuda.get_device_capability(device) >= (8, 0)


class TrainStep:
    """forward -> loss -> backward -> ``optimizer.step()`` on one batch, eager or as a CUDA graph.

    Args:
        model: the network (possibly ``torch.compile``-d); its unwrapped module provides
            ``loss(output, target)`` and ``classify(output)``.
        optimizer: for ``graph=True`` on CUDA, one whose step is a fixed sequence of tensor
            operations: Adam with ``capturable=True`` and a tensor learning rate, or
            :class:`lenet.sdlm.SDLM` (:func:`lenet.train.configure_optimizer` builds both).
        graph: record the step as a CUDA graph after :data:`WARMUP_STEPS` eager steps and
            replay it afterwards. Every batch must then have the same shape (use ``drop_last``).
            On a CPU the same static-buffer code runs eagerly.
        amp: bf16 autocast where the hardware has it (see :func:`autocast`).
        channels_last: feed the model channels-last inputs.

    Call it with a batch ``(x, y)``; read the epoch's running sums from ``loss_sum`` and
    ``correct`` and reset them with :meth:`reset_metrics`; ``loss`` is the latest step's loss (a
    tensor on the device, overwritten by the next step).

    Explained in: chapter 9, "Exercises".
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        graph: bool = False,
        amp: bool = False,
        channels_last: bool = False,
    ) -> None:
        self.model = model
        self.base = cast(_Classifier, unwrap(model))
        self.optimizer = optimizer
        self.device = device = next(self.base.parameters()).device
        self.use_graph = graph
        self.capture = graph and device.type == "cuda"
        self.amp = amp
        self.channels_last = channels_last
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.seen = 0
        self.steps = 0
        self.loss: Optional[torch.Tensor] = None  # the loss of the latest step
        self.x: Optional[torch.Tensor] = None
        self.y: Optional[torch.Tensor] = None
        self.graph: Optional[torch.cuda.CUDAGraph] = None
        self._side_stream: Optional[torch.cuda.Stream] = None

    def reset_metrics(self) -> None:
        self.loss_sum.zero_()
        self.correct.zero_()
        self.seen = 0

    def _compute(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """The step itself; only in-place updates of tensors that outlive it."""
        with autocast(self.device, self.amp, cache_enabled=not self.capture):
            out = self.model(x)
        out = out.float()
        loss = self.base.loss(out, y)
        loss.backward()
        self.optimizer.step()
        self.loss = loss.detach()
        self.loss_sum.add_(self.loss * y.shape[0])
        self.correct.add_((self.base.classify(out.detach()) == y).sum())

    def _to_static(self, x: torch.Tensor, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Copy the batch into the static buffers ``self.x`` and ``self.y`` (allocated by the first
        call) and return them."""
        if self.x is None or self.y is None:  # (the two are allocated together)
            fmt = torch.channels_last if self.channels_last else torch.contiguous_format
            self.x = torch.empty_like(x, memory_format=fmt)
            self.y = torch.empty_like(y)
        elif x.shape != self.x.shape:
            raise ValueError(
                f"a graph-captured step needs every batch to have the shape {tuple(self.x.shape)}, got "
                f"{tuple(x.shape)}; build the loader with drop_last=True"
            )
        self.x.copy_(x)
        self.y.copy_(y)
        return self.x, self.y

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.steps += 1
        self.seen += int(y.shape[0])
        if not self.use_graph:
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            self.optimizer.zero_grad(set_to_none=True)
            self._compute(x, y)
            return
        static_x, static_y = self._to_static(x, y)
        if not self.capture:  # CPU: the same static-buffer step, run eagerly
            self.optimizer.zero_grad(set_to_none=True)
            self._compute(static_x, static_y)
        elif self.graph is not None:
            self.graph.replay()
        elif self.steps <= WARMUP_STEPS:
            self._warmup_step(static_x, static_y)
        else:
            self._record(static_x, static_y).replay()

    def _warmup_step(self, x: torch.Tensor, y: torch.Tensor) -> None:  # pragma: no cover - CUDA only
        if self._side_stream is None:
            self._side_stream = torch.cuda.Stream(self.device)
        self._side_stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self._side_stream):
            self.optimizer.zero_grad(set_to_none=True)
            self._compute(x, y)
        torch.cuda.current_stream(self.device).wait_stream(self._side_stream)

    def _record(self, x: torch.Tensor, y: torch.Tensor) -> torch.cuda.CUDAGraph:  # pragma: no cover - CUDA only
        """Record one step on the static buffers ``x`` and ``y`` and return the graph (also kept
        in ``self.graph``); recording runs nothing, so the caller replays it at once."""
        self.optimizer.zero_grad(set_to_none=True)
        self.graph = graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._compute(x, y)
        return graph


__all__ = ["TrainStep", "autocast", "native_bf16", "WARMUP_STEPS"]
