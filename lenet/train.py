"""Training and evaluation for both LeNet-5s, on the CPU or a CUDA GPU.

One loop, :func:`fit`, serves both models through their ``loss`` and ``classify`` methods. Data
stay on the device as uint8 tensors (:class:`lenet.data.DeviceLoader`); nothing is done per
sample. Two small records say what happens:

* :class:`TrainConfig` -- *what* a run is: the model, the data it sees, the optimiser, the
  schedule, the seed. Run records and checkpoints store it, and a CPU replays it exactly;
* :class:`Runtime` -- *how* it runs: the device, the GPU speed-ups (bf16 autocast, a CUDA graph,
  ``torch.compile``) and whether it shows progress.

The optimisers are the source tutorial's two, Adam with learning rate 1e-3 (Kingma & Ba 2015)
and SGD with learning rate 0.01 and momentum 0.9, and the paper's own, stochastic diagonal
Levenberg-Marquardt (:mod:`lenet.sdlm`; eta 0.0005, its curvature re-estimated on 500 patterns
before each pass). ``distortions`` adds that many distorted copies of each training image to
every pass (:mod:`lenet.distort`). Schedules, stepped after every batch:

* ``constant`` -- the tutorial's fixed learning rate;
* ``paper`` -- the piecewise-constant decay of LeCun et al. (1998), Sec. III.B (0.0005 for two
  passes, 0.0002 for the next three, 0.0001 for three, 0.00005 for four, 0.00001 after), as
  multiples of the chosen learning rate;
* ``cosine`` -- cosine decay to zero;
* ``onecycle`` -- warm-up then annealing (Smith & Topin 2019).

A seed fixes the initial weights and the order of the batches, so CPU runs repeat exactly.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union, cast

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .data import NORMALIZERS, DeviceLoader, Split, load_mnist, make_transform
from .distort import DistortedLoader
from .machine import hardware_name, resolve_device
from .models import MODELS, evaluating, get_model, unwrap
from .sdlm import CURVATURE_PATTERNS, ETA, MU, MU_SCHEDULES, SDLM
from .step import TrainStep, _Classifier, autocast

OPTIMIZERS = ("adam", "sgd", "sdlm")
SCHEDULES = ("constant", "paper", "cosine", "onecycle")
#: The learning rate of each optimiser when a configuration gives none.
DEFAULT_LR = {"adam": 1e-3, "sgd": 0.01, "sdlm": ETA}
#: The optimisers whose step can be recorded as a CUDA graph (:class:`lenet.step.TrainStep`).
GRAPH_OPTIMIZERS = ("adam", "sdlm")
#: Learning-rate multipliers per epoch for the 'paper' schedule (1998, Sec. III.B), relative to 0.0005.
PAPER_LR_MULTIPLIERS = (1.0, 1.0, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.02)
#: How many per-step training losses a :class:`History` keeps, from the first step on: the
#: fingerprint that :mod:`lenet.recording` replays to check a recorded run.
REPLAY_STEPS = 200


@dataclass(frozen=True)
class TrainConfig:
    """What a training run is; run records and checkpoints store it, and it is checked when made.

    ``lr`` is None for the optimiser's own default (:data:`DEFAULT_LR`); ``target_acc`` is the
    test accuracy, a fraction (0.99), whose time the run reports; ``normalization`` is None for
    the model's own (:mod:`lenet.data`). ``eval_every`` and ``eval_batch_size`` say when and in
    what batches the test set is read; ``channels_last`` stores the images channels-last (part of
    the arithmetic of the fast recipe). The SDLM fields (``mu``, ``mu_schedule``,
    ``curvature_patterns``) are used with ``optimizer="sdlm"`` only, and ``distortions`` is the
    number of distorted copies of each training image added to every pass (new ones each pass,
    unless ``redraw_distortions=False``, the paper's fixed set).

    Explained in: chapter 4, "Does the table matter? A short experiment".
    """

    model: str = "modern"
    model_kwargs: Dict[str, str] = field(default_factory=dict)
    normalization: Optional[str] = None
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: Optional[float] = None
    momentum: float = 0.9
    betas: Tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    schedule: str = "constant"
    seed: int = 0
    target_acc: Optional[float] = None
    train_subset: Optional[int] = None
    test_subset: Optional[int] = None
    eval_every: int = 1
    eval_batch_size: int = 2000
    channels_last: bool = False
    mu: float = MU
    mu_schedule: str = "constant"
    curvature_patterns: int = CURVATURE_PATTERNS
    distortions: int = 0
    redraw_distortions: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first value that is out of range; change nothing."""
        for name, value, choices in (
            ("model", self.model, tuple(MODELS)),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("schedule", self.schedule, SCHEDULES),
            ("mu_schedule", self.mu_schedule, MU_SCHEDULES),
        ):
            if value not in choices:
                raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
        if self.normalization is not None and self.normalization not in NORMALIZERS:
            raise ValueError(f"unknown normalization {self.normalization!r}; choose one of: {', '.join(NORMALIZERS)}")
        for name in ("epochs", "batch_size", "eval_every", "eval_batch_size", "curvature_patterns"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("train_subset", "test_subset"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(
                f"learning rate must be a positive number (or None for the optimiser's default), got {self.lr!r}"
            )
        if not isinstance(self.betas, tuple) or len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(
                f"Adam betas must be a tuple of two numbers in [0, 1), such as (0.9, 0.999); got {self.betas!r}"
            )
        if self.target_acc is not None and not 0 < self.target_acc <= 1:
            raise ValueError(f"target_acc is a fraction in (0, 1] (0.99 for 99%), got {self.target_acc!r}")
        if not self.mu > 0:
            raise ValueError(f"SDLM's mu must be positive, got {self.mu!r}")
        if not isinstance(self.distortions, int) or self.distortions < 0:
            raise ValueError(
                f"distortions is the number of distorted copies per training image, an integer >= 0, "
                f"got {self.distortions!r}"
            )
        if self.optimizer == "sdlm" and (self.model != "classic" or self.model_kwargs):
            raise ValueError(
                "optimizer 'sdlm' (the paper's method) is written for the 1998 network as the paper "
                "defines it: use --model classic, without model options"
            )

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied, checked like a new configuration."""
        return replace(self, **changes)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> TrainConfig:
        """A configuration from its dict (a record's or a checkpoint's); keys of no field are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        if "betas" in values:
            values["betas"] = tuple(float(b) for b in values["betas"])
        return cls(**values)


@dataclass(frozen=True)
class Runtime:
    """How a run is executed; not part of what it is (:class:`TrainConfig`).

    ``device`` is a torch device name or ``"auto"`` (a CUDA GPU when there is one). On a CUDA GPU,
    ``amp`` computes in bfloat16 where the hardware does (:func:`lenet.step.autocast`),
    ``cuda_graph`` replays each training step as a CUDA graph (for the optimisers of
    :data:`GRAPH_OPTIMIZERS`; every batch then has the same size, so the last partial batch of
    each pass is dropped) and ``compile`` runs ``torch.compile`` on the model;
    :func:`lenet.recipes.gpu_settings` says which of these a GPU run of the book uses. ``progress``
    shows a progress bar and one line per epoch.

    Explained in: chapter 4, "Does the table matter? A short experiment".
    """

    device: str = "auto"
    amp: bool = False
    compile: bool = False
    cuda_graph: bool = False
    progress: bool = True

    def check(self, config: TrainConfig) -> None:
        """Raise ``ValueError`` when this runtime cannot run ``config``."""
        resolve_device(self.device)
        if self.cuda_graph and config.optimizer not in GRAPH_OPTIMIZERS:
            raise ValueError(
                f"a CUDA graph needs an optimiser whose step it can record ({', '.join(GRAPH_OPTIMIZERS)}), "
                f"not {config.optimizer!r}; run without --cuda-graph"
            )
        if self.cuda_graph and config.optimizer == "sdlm" and config.schedule not in ("constant", "paper"):
            raise ValueError(
                "SDLM in a CUDA graph reads its learning rate once per pass: use the 'paper' or 'constant' "
                f"schedule, not {config.schedule!r}, or run without --cuda-graph"
            )


@dataclass
class History:
    """What happened during :func:`fit`: one dict per epoch, and where the time went.

    Each epoch has ``epoch``, ``lr``, ``train_loss`` and ``train_acc`` (running means over the
    epoch, in training mode), ``train_samples``, ``test_loss`` and ``test_acc`` (None where the test
    set was not read), ``train_s`` (training time so far) and ``elapsed_s`` (time since the start
    of :func:`fit`). Accuracies are fractions. Times, in seconds: ``setup_s`` building the
    optimiser, its schedule and the step; ``train_s`` training (forward, backward, update);
    ``eval_s`` reading the test set; ``fit_s`` all of :func:`fit`. ``time_to_target_s`` is the
    training time until the end of the first epoch whose test accuracy reached the target (None if
    never). ``step_losses`` holds the training loss of each of the first :data:`REPLAY_STEPS` steps.
    """

    hardware: str
    epochs: List[Dict[str, Any]] = field(default_factory=list)
    setup_s: float = 0.0
    train_s: float = 0.0
    eval_s: float = 0.0
    fit_s: float = 0.0
    time_to_target_s: Optional[float] = None
    epochs_to_target: Optional[int] = None
    step_losses: List[float] = field(default_factory=list)

    @property
    def test_acc(self) -> Optional[float]:
        """Test accuracy after the last evaluated epoch (a fraction)."""
        for rec in reversed(self.epochs):
            if rec.get("test_acc") is not None:
                return rec["test_acc"]
        return None

    def column(self, key: str) -> List[Any]:
        """One value per epoch: ``history.column("test_acc")``."""
        return [rec.get(key) for rec in self.epochs]

    def note_target(self, epoch: Dict[str, Any], target_acc: Optional[float]) -> None:
        """Keep the time and epoch of the first evaluated ``epoch`` whose test accuracy reaches
        ``target_acc`` (nothing for None)."""
        if target_acc is not None and self.time_to_target_s is None and epoch["test_acc"] >= target_acc:
            self.time_to_target_s, self.epochs_to_target = epoch["train_s"], epoch["epoch"]

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> History:
        """A history from its dict; the names of the first format (``device``, ``wall_s``,
        ``total_s``) are read as ``hardware``, ``train_s`` and ``fit_s``."""
        old = {"device": "hardware", "wall_s": "train_s", "total_s": "fit_s"}
        d = {old.get(k, k): v for k, v in d.items()}
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


def configure_optimizer(
    model: nn.Module, config: TrainConfig, steps_per_epoch: int, graph: bool = False
) -> Tuple[torch.optim.Optimizer, Optional[Any]]:
    """The optimiser of ``config`` and its learning-rate schedule (None for 'constant'), the schedule
    stepped after every batch.

    Adam (lr 1e-3, betas (0.9, 0.999) by default), SGD with momentum (lr 0.01, momentum 0.9) or
    :class:`lenet.sdlm.SDLM` (eta 0.0005, mu and its schedule from ``config``). For a step recorded
    as a CUDA graph (``graph``), Adam gets its learning rate as a tensor on the model's device,
    which the schedule fills in place, and on CUDA ``capturable=True`` with the fused
    implementation (one kernel for the whole update, where the multi-tensor one launches dozens). 'paper' is piecewise
    constant per epoch (Sec. III.B), so stepping it per batch gives the rates of stepping it per
    epoch.

    Explained in: chapter 9, "Exercises".
    """
    lr = config.lr if config.lr is not None else DEFAULT_LR[config.optimizer]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer: torch.optim.Optimizer
    if config.optimizer == "sdlm":
        optimizer = SDLM(
            model,
            lr=lr,
            mu=config.mu,
            batch_size=config.batch_size,
            mu_schedule=config.mu_schedule,
            curvature_patterns=config.curvature_patterns,
            seed=config.seed,
        )
    elif config.optimizer == "adam" and graph:
        on_cuda = params[0].device.type == "cuda"  # on CUDA: the one-kernel ("fused") update, recordable
        optimizer = torch.optim.Adam(
            params,
            lr=torch.tensor(lr, device=params[0].device),
            betas=config.betas,
            weight_decay=config.weight_decay,
            capturable=on_cuda,
            fused=on_cuda or None,
        )
    elif config.optimizer == "adam":
        optimizer = torch.optim.Adam(params, lr=lr, betas=config.betas, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=config.weight_decay)

    total = config.epochs * steps_per_epoch
    schedule: Optional[Any] = None
    if config.schedule == "paper":
        mult = PAPER_LR_MULTIPLIERS
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: mult[min(s // steps_per_epoch, len(mult) - 1)]
        )
    elif config.schedule == "cosine":
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
        )
    elif config.schedule == "onecycle":
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=lr,
            total_steps=total,
            pct_start=0.25,
            anneal_strategy="linear",
            div_factor=10.0,
            final_div_factor=100.0,
            cycle_momentum=config.optimizer == "sgd",
        )
    return optimizer, schedule


class _Stopwatch:
    """``with _Stopwatch(device) as clock:`` puts the block's time in ``clock.seconds``; on a CUDA
    device it first waits for the work already queued, and at the end for the block's own."""

    def __init__(self, device: Optional[torch.device] = None) -> None:
        self.device = device
        self.seconds = 0.0

    def __enter__(self) -> _Stopwatch:
        _sync(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        _sync(self.device)
        self.seconds = time.perf_counter() - self._start


def _sync(device: Optional[torch.device]) -> None:
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def evaluate(model: nn.Module, loader: DeviceLoader, amp: bool = False) -> Tuple[float, float]:
    """(mean loss, accuracy as a fraction) of ``model`` over every batch of ``loader``.

    Explained in: chapter 7, "Saving and reloading a checkpoint".
    """
    device = loader.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    n = 0
    base = cast(_Classifier, unwrap(model))
    with evaluating(model):
        for x, y in loader:
            with autocast(device, amp):
                out = model(x)
            out = out.float()
            loss_sum += base.loss(out, y) * y.shape[0]
            correct += (base.classify(out) == y).sum()
            n += y.shape[0]
    return float(loss_sum) / n, int(correct) / n


def fit(
    model: nn.Module,
    train_loader: DeviceLoader,
    test_loader: Optional[DeviceLoader],
    config: TrainConfig,
    runtime: Runtime = Runtime(),
    stop_after: Optional[int] = None,
    max_steps: Optional[int] = None,
) -> History:
    """Train ``model`` on the schedule of ``config``; read ``test_loader`` after every
    ``config.eval_every`` epochs (and the last); return a :class:`History`.

    The loop of chapter 6, pass after pass (:func:`train_pass`), with what a run needs around it:
    the optimiser and its learning-rate schedule, the training metrics of each pass, the test
    set, the times. Every epoch of ``config.epochs`` runs, unless ``stop_after`` stops after that
    many epochs (the schedule is still the one of ``config.epochs`` epochs, so the run is the
    exact prefix of the full one) or ``max_steps`` after that many steps (the last epoch is then
    cut short and not evaluated).

    Explained in: chapter 6, "The training loop, by hand".
    """
    runtime.check(config)
    started = time.perf_counter()
    # the optimiser, its learning-rate schedule, and one training step (forward, loss, backward, update)
    optimizer, schedule = configure_optimizer(model, config, len(train_loader), graph=runtime.cuda_graph)
    step = TrainStep(model, optimizer, graph=runtime.cuda_graph, amp=runtime.amp, channels_last=config.channels_last)
    history = History(hardware=hardware_name(train_loader.device), setup_s=time.perf_counter() - started)
    first_losses: List[torch.Tensor] = []  # the first steps' losses, kept on the device until the end
    epochs = config.epochs if stop_after is None else min(stop_after, config.epochs)
    model.train()
    for epoch in range(epochs):
        # train: one pass over the training set
        lr = float(optimizer.param_groups[0]["lr"])
        progress = f"epoch {epoch + 1}/{config.epochs}" if runtime.progress else None
        with _Stopwatch(train_loader.device) as clock:
            complete = train_pass(step, train_loader, epoch, schedule, first_losses, max_steps, progress)
        history.train_s += clock.seconds
        record = {"epoch": epoch + 1, "lr": lr, **_running_means(step), "test_loss": None, "test_acc": None}
        record["train_s"] = history.train_s
        # evaluate: the test set, after every eval_every passes and after the last
        if complete and test_loader is not None and _evaluation_due(config, epoch):
            with _Stopwatch() as clock:
                record["test_loss"], record["test_acc"] = evaluate(model, test_loader, runtime.amp)
            history.eval_s += clock.seconds
            history.note_target(record, config.target_acc)
        # log
        record["elapsed_s"] = time.perf_counter() - started
        history.epochs.append(record)
        if runtime.progress:
            _print_epoch(record, config.epochs)
        if not complete:
            break
    history.step_losses = torch.stack(first_losses).tolist() if first_losses else []
    history.fit_s = time.perf_counter() - started
    return history


def train_pass(
    step: TrainStep,
    loader: DeviceLoader,
    epoch: int,
    schedule: Optional[Any] = None,
    first_losses: Optional[List[torch.Tensor]] = None,
    max_steps: Optional[int] = None,
    progress: Optional[str] = None,
) -> bool:
    """One pass over the training set: the loop written out in chapter 6, batch after batch.

    The optimiser's ``begin_pass`` runs first when it has one (SDLM estimates its curvature
    there). Each ``step(x, y)`` is one :class:`lenet.step.TrainStep`: forward, loss,
    ``zero_grad``, ``backward``, the optimiser's step (replayed as a CUDA graph when the step was
    built so). ``schedule`` steps after every batch; the losses of the run's first
    :data:`REPLAY_STEPS` steps go to ``first_losses``; ``progress`` labels a progress bar.
    Returns False when ``max_steps`` cut the pass short.

    Explained in: chapter 6, "The training loop, by hand".
    """
    loader.set_epoch(epoch)  # a new order of the batches for each pass
    begin_pass = getattr(step.optimizer, "begin_pass", None)
    if begin_pass is not None:
        begin_pass(loader, epoch)
    step.reset_metrics()
    for x, y in tqdm(loader, desc=progress, leave=False, unit="batch", disable=progress is None):
        step(x, y)
        if first_losses is not None and len(first_losses) < REPLAY_STEPS:
            first_losses.append(cast(torch.Tensor, step.loss).clone())
        if schedule is not None:
            schedule.step()
        if max_steps is not None and step.steps >= max_steps:
            return False
    return True


def _running_means(step: TrainStep) -> Dict[str, Any]:
    """The pass's training loss and accuracy, running means over its batches, and its size."""
    return {
        "train_loss": float(step.loss_sum) / step.seen,
        "train_acc": int(step.correct) / step.seen,
        "train_samples": step.seen,
    }


def _evaluation_due(config: TrainConfig, epoch: int) -> bool:
    return (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs


def _print_epoch(record: Dict[str, Any], epochs: int) -> None:
    test = f", test acc {100 * record['test_acc']:.2f}%" if record["test_acc"] is not None else ""
    print(
        f"epoch {record['epoch']:>2}/{epochs}: train loss {record['train_loss']:.4f}, "
        f"train acc {100 * record['train_acc']:.2f}%{test} ({record['train_s']:.1f} s)",
        flush=True,
    )


def transform_for(config: TrainConfig):
    """The batch transform of ``config.model``'s input: its normalisation (``config.normalization``,
    else the model's own) and, for the 1998 network, the padding to 32x32.
    """
    cls = MODELS[config.model]
    return make_transform(config.normalization or cls.default_normalization, pad=cls.input_size == 32)


def eval_loader(config: TrainConfig, split: Split, device: Union[str, torch.device]) -> DeviceLoader:
    """All of ``split``, in order, prepared for ``config.model``, in batches of ``config.eval_batch_size``.

    Explained in: chapter 7, "Saving and reloading a checkpoint".
    """
    return DeviceLoader(split, config.eval_batch_size, transform=transform_for(config), device=device)


def make_loaders(
    config: TrainConfig, train: Split, test: Optional[Split], device: Union[str, torch.device], drop_last: bool = False
) -> Tuple[DeviceLoader, Optional[DeviceLoader]]:
    """The training loader of ``config`` (its first ``train_subset`` images, shuffled from its seed;
    with ``distortions``, that many distorted copies of each image added) and the test loader (the
    first ``test_subset`` test images), both on ``device``. ``drop_last`` drops each pass's last
    partial batch, as a CUDA graph needs.

    Explained in: chapter 4, "Does the table matter? A short experiment".
    """
    transform = transform_for(config)
    if config.train_subset:
        train = train.subset(config.train_subset)
    train_loader: DeviceLoader
    if config.distortions:
        train_loader = DistortedLoader(
            train,
            config.batch_size,
            config.distortions,
            transform,
            device=device,
            seed=config.seed,
            drop_last=drop_last,
            redraw=config.redraw_distortions,
        )
    else:
        train_loader = DeviceLoader(
            train,
            config.batch_size,
            shuffle=True,
            transform=transform,
            device=device,
            seed=config.seed,
            drop_last=drop_last,
        )
    if test is not None and config.test_subset:
        test = test.subset(config.test_subset)
    return train_loader, None if test is None else eval_loader(config, test, device)


def build_model(config: TrainConfig, device: Union[str, torch.device]) -> nn.Module:
    """The model named by ``config``, seeded, on ``device`` (channels-last if asked).

    Explained in: chapter 4, "Does the table matter? A short experiment".
    """
    torch.manual_seed(config.seed)
    model: Any = get_model(config.model, **config.model_kwargs).to(device)  # a LeNet-5: it has default_normalization
    model.normalization = config.normalization or model.default_normalization
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def train(
    config: TrainConfig,
    runtime: Runtime = Runtime(),
    data: Optional[Tuple[Split, Split]] = None,
    data_dir: Optional[Union[str, Path]] = None,
    stop_after: Optional[int] = None,
    max_steps: Optional[int] = None,
) -> Tuple[nn.Module, History]:
    """Build, train and evaluate the model of ``config`` on MNIST (or on ``data`` = (train, test)),
    as ``runtime`` says. ``stop_after`` and ``max_steps`` stop early, as in :func:`fit`. Returns
    the trained model (not compiled) and its :class:`History`.

    Explained in: chapter 5, "Penalties of a trained network are not zero".
    """
    device = resolve_device(runtime.device)
    if data is None:
        data = (load_mnist("train", data_dir), load_mnist("test", data_dir))
    train_loader, test_loader = make_loaders(config, data[0], data[1], device, drop_last=runtime.cuda_graph)
    model = build_model(config, device)
    runner = cast(nn.Module, torch.compile(model)) if runtime.compile else model  # compiling a module gives a module
    history = fit(runner, train_loader, test_loader, config, runtime, stop_after=stop_after, max_steps=max_steps)
    return model, history


__all__ = [
    "TrainConfig",
    "Runtime",
    "History",
    "OPTIMIZERS",
    "SCHEDULES",
    "DEFAULT_LR",
    "GRAPH_OPTIMIZERS",
    "PAPER_LR_MULTIPLIERS",
    "REPLAY_STEPS",
    "configure_optimizer",
    "evaluate",
    "fit",
    "train_pass",
    "transform_for",
    "eval_loader",
    "make_loaders",
    "build_model",
    "train",
]
