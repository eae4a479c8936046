"""Training and evaluation for both LeNet-5s, on the CPU or a CUDA GPU.

One loop serves both models through their ``loss`` and ``classify`` methods. Data stay on the
device as uint8 tensors (:class:`lenet.data.DeviceLoader`); nothing is done per sample.

The optimisers are the source tutorial's two, Adam with learning rate 1e-3 (Kingma & Ba 2015)
and SGD with learning rate 0.01 and momentum 0.9, and the paper's own, stochastic diagonal
Levenberg-Marquardt (:mod:`lenet.sdlm`; eta 0.0005, its curvature re-estimated on 500 patterns
before each pass). ``distortions`` adds that many distorted copies of each training image to
every pass (:mod:`lenet.distort`; the paper's 540,000 are 9 copies, fixed for the run, which
``redraw_distortions=False`` gives; by default new copies are drawn each pass). Schedules:

* ``constant`` -- the tutorial's fixed learning rate;
* ``paper`` -- the piecewise-constant decay of LeCun et al. (1998), Sec. III.B (0.0005 for two
  passes, 0.0002 for the next three, 0.0001 for three, 0.00005 for four, 0.00001 after), as
  multiples of the chosen learning rate. The paper applied it to its stochastic diagonal
  Levenberg-Marquardt method; here it scales Adam's or SGD's rate;
* ``cosine`` -- cosine decay to zero, stepped every batch;
* ``onecycle`` -- warm-up then annealing (Smith & Topin 2019), stepped every batch.

A seed fixes the initial weights and the order of the batches, so CPU runs repeat exactly.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn

from .data import DeviceLoader, Split, load_mnist, make_transform
from .models import MODELS, evaluating, get_model, unwrap
from .step import TrainStep, autocast

OPTIMIZERS = ("adam", "sgd", "sdlm")
SCHEDULES = ("constant", "paper", "cosine", "onecycle")
#: SDLM's mu over the run: 'constant' (the paper's) or 'eta' (scaled with the learning rate).
MU_SCHEDULES = ("constant", "eta")
DEFAULT_LR = {"adam": 1e-3, "sgd": 0.01, "sdlm": 5e-4}

#: Learning-rate multipliers per epoch for the 'paper' schedule (1998, Sec. III.B), relative to 0.0005.
PAPER_LR_MULTIPLIERS = (1.0, 1.0, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.02)


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or holds another model than the one asked for.

    Chapters: none (the package and its command line use it).
    """


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in checkpoints and metrics files).

    Chapters: 4, 5, 7.
    """

    model: str = "modern"
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: Optional[float] = None
    momentum: float = 0.9
    betas: Tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    schedule: str = "constant"
    seed: int = 0
    device: str = "auto"
    target_acc: Optional[float] = None
    normalization: Optional[str] = None
    train_subset: Optional[int] = None
    test_subset: Optional[int] = None
    #: Images per evaluation batch (the fast recipe takes one of the sizes that evaluate fastest on
    #: a CPU, recipes.FAST_EVAL_BATCH; on a GPU, gpu_settings takes the test set at once).
    eval_batch_size: int = 2000
    eval_every: int = 1
    channels_last: bool = False
    compile: bool = False
    amp: bool = False
    cuda_graph: bool = False
    progress: bool = True
    model_kwargs: Dict[str, Any] = field(default_factory=dict)
    # SDLM (optimizer="sdlm", lenet.sdlm): its mu in pass 1 (the paper's 0.02), whether mu then
    # stays ("constant", the paper) or falls with the learning rate ("eta"), and the patterns its
    # curvature is estimated on before each pass (the paper's 500)
    mu: float = 0.02
    mu_schedule: str = "constant"
    curvature_patterns: int = 500
    # distorted copies of each training image added to every pass (lenet.distort), new each pass
    # unless redraw_distortions=False (the paper's fixed set)
    distortions: int = 0
    redraw_distortions: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` with a clear message on any value out of range."""
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of: {', '.join(MODELS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of: {', '.join(SCHEDULES)}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch size must be a positive integer, got {self.batch_size!r}")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"learning rate must be a positive number, got {self.lr!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"Adam betas must be two numbers in [0, 1), got {self.betas!r}")
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        if self.target_acc is not None and not 0 < self.target_acc <= 100:
            raise ValueError(f"target accuracy must be in (0, 1] or a percentage in (1, 100], got {self.target_acc!r}")
        if self.normalization is not None and self.normalization not in ("paper", "meanstd", "unit"):
            raise ValueError(f"unknown normalization {self.normalization!r}; choose paper, meanstd or unit")
        if self.cuda_graph and self.optimizer != "adam":
            raise ValueError("cuda_graph=True needs optimizer='adam' (run with capturable=True); use cuda_graph=False "
                             "for SGD and SDLM")
        if self.optimizer == "sdlm" and (self.model != "classic" or self.model_kwargs):
            raise ValueError("optimizer 'sdlm' (the paper's method) is written for the 1998 network as the paper "
                             "defines it: use --model classic, without model options")
        if not (self.mu > 0) or not isinstance(self.curvature_patterns, int) or self.curvature_patterns < 1:
            raise ValueError(f"SDLM needs mu > 0 and curvature_patterns >= 1, got {self.mu!r} and {self.curvature_patterns!r}")
        if self.mu_schedule not in MU_SCHEDULES:
            raise ValueError(f"unknown mu_schedule {self.mu_schedule!r}; choose {' or '.join(MU_SCHEDULES)}")
        if not isinstance(self.distortions, int) or self.distortions < 0:
            raise ValueError(f"distortions is the number of distorted copies per training image, an integer >= 0, "
                             f"got {self.distortions!r}")
        if self.device != "auto":
            try:
                torch.device(self.device)
            except RuntimeError as exc:
                raise ValueError(f"unknown device {self.device!r}: {exc}") from None

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def target_fraction(self) -> Optional[float]:
        """``target_acc`` as a fraction (99.0 and 0.99 both mean 99%)."""
        if self.target_acc is None:
            return None
        return self.target_acc / 100.0 if self.target_acc > 1 else self.target_acc

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class History:
    """Per-epoch metrics of a run, plus timings.

    ``wall_s`` is the training time (forward, backward, update), without evaluation;
    ``time_to_target_s`` is the training time until the end of the first epoch whose test
    accuracy reached the target (None if never); ``total_s`` includes evaluation.
    ``step_losses`` holds the training loss of each of the first :data:`REPLAY_STEPS` steps.

    Chapters: none (the package and its command line use it).
    """

    device: str
    epochs: List[Dict[str, float]] = field(default_factory=list)
    wall_s: float = 0.0
    total_s: float = 0.0
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

    def column(self, key: str) -> List[Optional[float]]:
        return [rec.get(key) for rec in self.epochs]

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "History":
        return cls(**{k: d[k] for k in ("device", "epochs", "wall_s", "total_s", "time_to_target_s", "epochs_to_target",
                                         "step_losses") if k in d})


def resolve_device(device: Union[str, torch.device] = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; anything else is checked and returned.

    Chapters: 4, 6, 7.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu or auto")
    return dev


def retain_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30) -> bool:
    """Ask the C library's allocator to keep the memory a training step frees, for the next step.

    Every step allocates and frees the same large tensors (a batch of 256 through conv1 alone is
    4.8 MB). glibc's ``malloc`` serves blocks that large with ``mmap`` and gives them back to the
    system when they are freed, so each step page-faults its memory in again; on the book's 2-core
    machine that made the training of a fresh process markedly slower (``benchmarks/RESULTS.md``
    compares the two). ``mallopt(M_MMAP_THRESHOLD)`` keeps blocks up to
    ``mmap_threshold`` on the heap and ``mallopt(M_TRIM_THRESHOLD)`` keeps up to ``trim_threshold``
    freed bytes there; this is what PyTorch's CPU performance guide gets by switching to jemalloc
    or tcmalloc. It changes no number a run computes. Process-wide, so only the command line calls
    it (``python -m lenet train`` and ``record``), never an import. Returns False where there is no
    glibc (macOS, Windows, musl), which is then left as it is.

    Chapters: none (the package and its command line use it).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    return bool(mallopt(m_mmap_threshold, int(mmap_threshold)) and mallopt(m_trim_threshold, int(trim_threshold)))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam (lr 1e-3, betas (0.9, 0.999) by default), SGD with momentum (lr 0.01, momentum 0.9)
    or SDLM (eta 0.0005, mu 0.02; :class:`lenet.sdlm.SDLM`).

    With ``config.cuda_graph`` Adam gets its learning rate as a tensor on the model's device
    (schedulers then update it in place, where a recorded graph reads it) and, on CUDA,
    ``capturable=True``; on a CPU, where nothing is captured, the single-tensor implementation.

    Chapters: none (the package and its command line use it).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sdlm":
        from .sdlm import SDLM

        return SDLM(params, lr=config.learning_rate, mu=config.mu, batch_size=config.batch_size)
    if config.optimizer == "adam":
        if config.cuda_graph:
            device = params[0].device
            on_cuda = device.type == "cuda"
            lr = torch.tensor(config.learning_rate, device=device)
            return torch.optim.Adam(params, lr=lr, betas=config.betas, weight_decay=config.weight_decay,
                                    capturable=on_cuda, foreach=on_cuda)
        return torch.optim.Adam(params, lr=config.learning_rate, betas=config.betas, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.momentum, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """The learning-rate schedule of ``config`` as a scheduler stepped after every batch (None for
    'constant'). 'paper' is piecewise constant per epoch (Sec. III.B), so stepping it per batch
    gives the same rates as stepping it per epoch.

    Chapters: none (the package and its command line use it).
    """
    if config.schedule == "constant":
        return None
    if config.schedule == "paper":
        mult = PAPER_LR_MULTIPLIERS
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: mult[min(s // steps_per_epoch, len(mult) - 1)])
    total = config.epochs * steps_per_epoch
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=total, pct_start=0.25,
        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0,
        cycle_momentum=config.optimizer == "sgd",
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def evaluate(model: nn.Module, loader: DeviceLoader, amp: bool = False) -> Tuple[float, float]:
    """(mean loss, accuracy as a fraction) of ``model`` over every batch of ``loader``.

    Chapters: 7.
    """
    device = loader.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    n = 0
    base = unwrap(model)
    with evaluating(model):
        for x, y in loader:
            with autocast(device, amp):
                out = model(x)
            out = out.float()
            loss_sum += base.loss(out, y) * y.shape[0]
            correct += (base.classify(out) == y).sum()
            n += y.shape[0]
    return float(loss_sum) / n, int(correct) / n


def input_transform(model: nn.Module, normalization: Optional[str] = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The batch transform from uint8 (B, 28, 28) images to the input ``model`` was trained on: the
    normalisation ``normalization`` if given, else the ``normalization`` attribute that
    :func:`build_model` and :func:`load_checkpoint` set, else the model class's default; padded to
    32x32 for the 1998 network. The one rule for everything that feeds a model.

    Chapters: none (the package and its command line use it).
    """
    base = unwrap(model)
    normalization = normalization or getattr(base, "normalization", None) or base.default_normalization
    return make_transform(normalization, pad=base.input_size == 32)


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, normalization: Optional[str] = None, batch_size: int = 500) -> torch.Tensor:
    """Predicted digits for uint8 images (N, 28, 28), prepared by :func:`input_transform`.

    Chapters: 6, 7, 8.
    """
    base = unwrap(model)
    if images.ndim == 2:
        images = images.unsqueeze(0)
    transform = input_transform(model, normalization)
    device = next(model.parameters()).device
    with evaluating(model):
        preds = [base.classify(model(transform(images[i: i + batch_size].to(device)))) for i in range(0, len(images), batch_size)]
    return torch.cat(preds).cpu()


#: How many per-step training losses a :class:`History` keeps, from the first step on: the
#: fingerprint that :mod:`lenet.records` replays to check a recorded run.
REPLAY_STEPS = 200


def fit(
    model: nn.Module,
    train_loader: DeviceLoader,
    test_loader: Optional[DeviceLoader],
    config: TrainConfig,
    stop_after: Optional[int] = None,
    max_steps: Optional[int] = None,
) -> History:
    """Train ``model`` on the schedule of ``config``; evaluate on ``test_loader`` after each
    ``config.eval_every`` epochs (and the last); return a :class:`History`.

    The loop is the one of chapter 6, written out: for each batch, forward, loss,
    ``zero_grad``, ``backward``, ``step`` (a :class:`lenet.step.TrainStep`, which on a GPU with
    ``config.cuda_graph`` replays the whole step as a CUDA graph), then the learning-rate
    schedule. The stop rule is explicit: every epoch of ``config.epochs`` runs, unless
    ``stop_after`` says to stop after that many epochs (the schedule is still the one of
    ``config.epochs`` epochs, so the run is the exact prefix of the full one) or ``max_steps``
    after that many steps (the last epoch is then cut short and not evaluated).

    Chapters: 4.
    """
    from tqdm.auto import tqdm

    device = train_loader.device
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, len(train_loader))
    step = TrainStep(model, optimizer, device, graph=config.cuda_graph, amp=config.amp, channels_last=config.channels_last)
    history = History(device=str(device) if device.type != "cuda" else torch.cuda.get_device_name(device))
    target = config.target_fraction
    epochs = config.epochs if stop_after is None else min(stop_after, config.epochs)
    train_time = 0.0
    start_total = time.perf_counter()
    model.train()
    for epoch in range(epochs):
        train_loader.set_epoch(epoch)
        lr = float(optimizer.param_groups[0]["lr"])
        _sync(device)
        t0 = time.perf_counter()
        if config.optimizer == "sdlm":  # the paper: h on 500 patterns before each pass, fixed during it
            from .sdlm import named_curvature

            with evaluating(model):
                optimizer.set_curvature(named_curvature(model, curvature_sample(train_loader, config, epoch)))
            if config.mu_schedule == "eta":  # mu falls with eta: the largest step, eta / mu, stays as in pass 1
                for group in optimizer.param_groups:
                    group["mu"] = config.mu * group["lr"] / config.learning_rate
        step.reset_metrics()
        cut_short = False
        batches = tqdm(train_loader, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False, unit="batch",
                       disable=not config.progress)
        for x, y in batches:
            step(x, y)
            if len(history.step_losses) < REPLAY_STEPS:
                history.step_losses.append(float(step.last_loss))
            if scheduler is not None:
                scheduler.step()
            if max_steps is not None and step.steps >= max_steps:
                cut_short = True
                break
        _sync(device)
        train_time += time.perf_counter() - t0
        record: Dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": float(step.loss_sum) / step.seen,
            "train_acc": int(step.correct) / step.seen,
            "train_samples": step.seen,
            "test_loss": None,
            "test_acc": None,
            "train_s": train_time,
        }
        last = epoch + 1 == config.epochs
        if test_loader is not None and not cut_short and ((epoch + 1) % config.eval_every == 0 or last):
            record["test_loss"], record["test_acc"] = evaluate(model, test_loader, config.amp)
            if target is not None and history.time_to_target_s is None and record["test_acc"] >= target:
                history.time_to_target_s = train_time
                history.epochs_to_target = epoch + 1
        record["elapsed_s"] = time.perf_counter() - start_total
        history.epochs.append(record)
        if config.progress:
            test = f", test loss {record['test_loss']:.4f}, test acc {100 * record['test_acc']:.2f}%" if record["test_acc"] is not None else ""
            print(f"epoch {epoch + 1:>2}/{config.epochs}: train loss {record['train_loss']:.4f}, "
                  f"train acc {100 * record['train_acc']:.2f}%{test} ({train_time:.1f} s)", flush=True)
        if cut_short:
            break
    history.wall_s = train_time
    history.total_s = time.perf_counter() - start_total
    return history


def curvature_sample(loader: DeviceLoader, config: TrainConfig, epoch: int) -> torch.Tensor:
    """The ``config.curvature_patterns`` training patterns on which SDLM estimates its curvature
    before pass ``epoch`` (original images, drawn from ``seed + epoch``).

    Chapters: none (the package and its command line use it).
    """
    n = loader.images.shape[0]
    gen = torch.Generator().manual_seed(1_000_003 + config.seed + epoch)
    idx = torch.randperm(n, generator=gen)[: config.curvature_patterns].to(loader.device)
    return loader.transform(loader.images[idx])


def make_loaders(config: TrainConfig, train: Split, test: Optional[Split], device: torch.device) -> Tuple[DeviceLoader, Optional[DeviceLoader]]:
    """Device-resident loaders prepared for ``config.model`` (normalisation, 32x32 padding); with
    ``config.distortions``, the training loader adds that many distorted copies of each image.

    Chapters: 4, 7.
    """
    cls = MODELS[config.model]
    transform = make_transform(config.normalization or cls.default_normalization, pad=cls.input_size == 32)
    if config.train_subset:
        train = train.subset(config.train_subset)
    if test is not None and config.test_subset:
        test = test.subset(config.test_subset)
    if config.distortions:
        from .distort import DistortedLoader

        train_loader = DistortedLoader(train, config.batch_size, config.distortions, transform, device=device,
                                       seed=config.seed, drop_last=config.cuda_graph, redraw=config.redraw_distortions)
    else:
        train_loader = DeviceLoader(train, config.batch_size, shuffle=True, transform=transform, device=device,
                                    seed=config.seed, drop_last=config.cuda_graph)  # a recorded graph has one batch shape
    test_loader = None
    if test is not None:
        test_loader = DeviceLoader(test, config.eval_batch_size, transform=transform, device=device)
    return train_loader, test_loader


def build_model(config: TrainConfig, device: torch.device) -> nn.Module:
    """The model named by ``config``, seeded, on ``device`` (channels-last if asked).

    Chapters: 4.
    """
    torch.manual_seed(config.seed)
    model = get_model(config.model, **config.model_kwargs).to(device)
    model.normalization = config.normalization or model.default_normalization
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def train(
    config: TrainConfig,
    data: Optional[Tuple[Split, Split]] = None,
    data_dir: Optional[Union[str, Path]] = None,
    stop_after: Optional[int] = None,
    max_steps: Optional[int] = None,
) -> Tuple[nn.Module, History]:
    """Build, train and evaluate the model of ``config`` on MNIST (or on ``data`` = (train, test)).

    ``stop_after`` and ``max_steps`` stop early, as in :func:`fit`. Returns the trained model (not
    compiled) and its :class:`History`.

    Chapters: 5, 6, 7.
    """
    config.validate()
    device = resolve_device(config.device)
    if data is None:
        data = (load_mnist("train", data_dir), load_mnist("test", data_dir))
    train_loader, test_loader = make_loaders(config, data[0], data[1], device)
    model = build_model(config, device)
    runner = torch.compile(model) if config.compile else model
    history = fit(runner, train_loader, test_loader, config, stop_after=stop_after, max_steps=max_steps)
    return model, history


# --------------------------------------------------------------------------- checkpoints

CHECKPOINT_FORMAT = "lenet-checkpoint/1"


def save_checkpoint(path: Union[str, Path], model: nn.Module, config: TrainConfig, history: Optional[History] = None) -> Path:
    """Save weights with the model name, the config and the history; returns the path.

    Chapters: 7.
    """
    base = unwrap(model)
    name = getattr(base, "name", None)
    if name not in MODELS:
        raise CheckpointError(f"cannot save a {type(base).__name__}: only {', '.join(MODELS)} LeNet-5 models are supported")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model": name,
        "config": asdict(config),
        "state_dict": {k: v.detach().cpu() for k, v in base.state_dict().items()},
        "history": history.to_dict() if history is not None else None,
    }
    tmp = path.with_name(path.name + ".part")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(
    path: Union[str, Path],
    model: Optional[nn.Module] = None,
    map_location: Union[str, torch.device] = "cpu",
) -> Tuple[nn.Module, Dict[str, Any]]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    With ``model`` given, its weights are replaced in place, and a checkpoint of another model
    is refused with :class:`CheckpointError`; without, a fresh model of the right class is
    built. Returns ``(model, payload)``; ``payload['config']`` and ``payload['history']`` hold
    the run's config and metrics.

    Chapters: 7.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable lenet checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a lenet checkpoint (no '{CHECKPOINT_FORMAT}' marker)")
    name = payload["model"]
    if model is None:
        cfg = payload.get("config") or {}
        model = get_model(name, **cfg.get("model_kwargs", {}))
    else:
        base = unwrap(model)
        have = getattr(base, "name", type(base).__name__)
        if have != name:
            raise CheckpointError(
                f"{path} holds a '{name}' LeNet-5 ({MODELS[name].__name__}), which cannot be loaded into a "
                f"'{have}' model ({type(base).__name__}); build a {MODELS[name].__name__} or call "
                f"load_checkpoint without a model"
            )
    base = unwrap(model)
    base.normalization = (payload.get("config") or {}).get("normalization") or base.default_normalization
    try:
        base.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit {type(base).__name__}: {exc}") from None
    return model, payload


__all__ = [
    "TrainConfig", "History", "CheckpointError", "OPTIMIZERS", "SCHEDULES", "PAPER_LR_MULTIPLIERS",
    "resolve_device", "make_optimizer", "make_scheduler", "evaluate", "predict", "fit", "make_loaders",
    "build_model", "train", "input_transform", "REPLAY_STEPS", "save_checkpoint", "load_checkpoint",
]
