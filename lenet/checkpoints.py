"""Checkpoints: a trained network's weights, with what it is (its model name and
:class:`lenet.train.TrainConfig`) and, optionally, its training history, in one file.

``lenet-checkpoint/2`` stores the configuration alone; the first format (``lenet-checkpoint/1``)
also stored how the run ran (device, progress, GPU settings) in it, and target accuracies in
percent: :func:`load_checkpoint` reads both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch
import torch.nn as nn

from .models import MODELS, get_model, unwrap
from .train import History, TrainConfig

CHECKPOINT_FORMAT = "lenet-checkpoint/2"
#: The formats :func:`load_checkpoint` reads.
CHECKPOINT_FORMATS = ("lenet-checkpoint/1", CHECKPOINT_FORMAT)


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or holds another model than the one asked for."""


def config_from_v1(d: Dict[str, Any]) -> Dict[str, Any]:
    """A configuration dict of the first formats (records and checkpoints ``/1``) as the current
    :class:`lenet.train.TrainConfig` reads it: how the run ran is dropped (it is kept apart
    now), and a target accuracy in percent becomes a fraction.
    """
    d = {k: v for k, v in d.items() if k not in ("device", "progress", "amp", "compile", "cuda_graph")}
    if d.get("target_acc") is not None and d["target_acc"] > 1:
        d["target_acc"] = d["target_acc"] / 100.0
    return d


def save_checkpoint(
    path: Union[str, Path], model: nn.Module, config: TrainConfig, history: Optional[History] = None
) -> Path:
    """Save the weights with the model's name, the configuration and (optionally) the history,
    atomically; return the path.

    Explained in: chapter 7, "Saving and reloading a checkpoint".
    """
    base = unwrap(model)
    name = getattr(base, "name", None)
    if name not in MODELS:
        raise CheckpointError(
            f"cannot save a {type(base).__name__}: only the {' and '.join(MODELS)} LeNet-5 models are supported"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model": name,
        "config": config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in base.state_dict().items()},
        "history": history.to_dict() if history is not None else None,
    }
    tmp = path.with_name(path.name + ".part")
    torch.save(payload, tmp)
    tmp.replace(path)  # renamed only once complete: never half a checkpoint
    return path


def load_checkpoint(
    path: Union[str, Path], model: Optional[nn.Module] = None, map_location: Union[str, torch.device] = "cpu"
) -> Tuple[nn.Module, Dict[str, Any]]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    With ``model`` given, its weights are replaced in place, and a checkpoint of another model
    is refused with :class:`CheckpointError`; without, a fresh model of the right class is
    built. Returns ``(model, payload)``: ``payload["config"]`` is the run's
    :class:`lenet.train.TrainConfig`, ``payload["history"]`` its :class:`lenet.train.History` (or
    None).

    Explained in: chapter 7, "Saving and reloading a checkpoint".
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable lenet checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") not in CHECKPOINT_FORMATS:
        raise CheckpointError(f"{path} is not a lenet checkpoint (no '{CHECKPOINT_FORMAT}' marker)")
    name = payload["model"]
    config_dict = payload.get("config") or {"model": name}
    if payload["format"] != CHECKPOINT_FORMAT:
        config_dict = config_from_v1(config_dict)
    config = TrainConfig.from_dict(config_dict)
    if model is None:
        model = get_model(name, **config.model_kwargs)
    else:
        have = getattr(unwrap(model), "name", type(unwrap(model)).__name__)
        if have != name:
            raise CheckpointError(
                f"{path} holds a '{name}' LeNet-5 ({MODELS[name].__name__}), which cannot be loaded into a "
                f"'{have}' model ({type(unwrap(model)).__name__}); build a {MODELS[name].__name__} or call "
                f"load_checkpoint without a model"
            )
    base: Any = unwrap(model)  # a LeNet-5: it has default_normalization
    base.normalization = config.normalization or base.default_normalization
    try:
        base.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit {type(base).__name__}: {exc}") from None
    history = History.from_dict(payload["history"]) if payload.get("history") else None
    return model, {**payload, "config": config, "history": history}


__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_FORMATS",
    "CheckpointError",
    "config_from_v1",
    "save_checkpoint",
    "load_checkpoint",
]
