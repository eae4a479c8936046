"""Where a run happens: the torch device it asks for, and the name and settings of the hardware.

* :func:`resolve_device` -- ``"auto"`` (a CUDA GPU when there is one, else the CPU) or a torch
  device name, checked;
* :func:`hardware_name` -- the GPU's or the CPU's model name, which run records and benchmarks
  report;
* :func:`machine_info` -- everything a run record keeps about the machine.

A *device* is always a torch device (``cpu``, ``cuda``, ``cuda:1``); the *hardware* is the name
of the processor behind it (``NVIDIA H200``, ``Intel(R) Xeon(R) ...``).
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any, Dict, Union

import torch


def resolve_device(device: Union[str, torch.device] = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else the CPU; any other name is checked and returned.

    Explained in: chapter 4, "Does the table matter? A short experiment".
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {device!r} ({exc}); use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} was asked for but no CUDA GPU is available; use cpu or auto")
    return dev


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_name(device: Union[str, torch.device]) -> str:
    """The model name of the processor behind ``device``: the GPU's, or the CPU's."""
    device = torch.device(device)
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()


def machine_info(device: Union[str, torch.device] = "cpu") -> Dict[str, Any]:
    """Where a run happens: ``device`` (the torch device type, ``cpu`` or ``cuda``), ``hardware``
    (:func:`hardware_name`), the CPU, its thread count and vector instruction set as torch uses
    them, torch and Python versions.
    """
    device = torch.device(device)
    return {
        "device": device.type,
        "hardware": hardware_name(device),
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


__all__ = ["resolve_device", "cpu_name", "hardware_name", "machine_info"]
