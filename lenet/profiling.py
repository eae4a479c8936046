"""Counting what a training step runs (chapter 9, "What one training step launches")."""

from __future__ import annotations

import collections
from typing import Callable

from torch.utils._python_dispatch import TorchDispatchMode

#: Operators that move no data on a GPU: views, metadata and profiler markers (no kernel launch).
NO_KERNEL_OPS = frozenset(
    {
        "alias",
        "detach",
        "view",
        "t",
        "_unsafe_view",
        "expand",
        "lift_fresh",
        "_reshape_alias",
        "_record_function_enter_new",
        "_record_function_exit",
    }
)


def count_operators(fn: Callable[[], object]) -> collections.Counter:
    """How many times each ATen operator runs during ``fn()``: forward, backward and optimiser
    step alike. On a GPU each operator not in
    :data:`NO_KERNEL_OPS` launches one kernel or more; ``_local_scalar_dense`` is a value read back
    to the CPU.

    Explained in: chapter 9, "What one training step launches".
    """
    counts: collections.Counter = collections.Counter()

    class _Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            counts[func.overloadpacket.__name__] += 1
            return func(*args, **(kwargs or {}))

    with _Count():
        fn()
    return counts


__all__ = ["NO_KERNEL_OPS", "count_operators"]
