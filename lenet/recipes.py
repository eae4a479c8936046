"""The book's training recipes, each written once: the CLI, the chapters, the benchmarks and the
run records (:mod:`lenet.records`) all build their configurations here.

* :func:`classic_config` -- the 1998 network's full schedule (chapter 6): 20 passes, the paper's
  learning-rate steps (LeCun et al. 1998, Sec. III.B), batches of 32, Adam;
* :func:`sdlm_config` -- the same schedule with the paper's own method, stochastic diagonal
  Levenberg-Marquardt (:mod:`lenet.sdlm`, Appendix C), in the book's mini-batch variant;
  :func:`paper_sdlm_config` is the paper's per-pattern form;
* :func:`source_config` -- the source tutorial's experiment (chapter 7): 10 epochs, batch 64,
  Adam 1e-3 or SGD 0.01 with momentum 0.9, pixels in [0, 1];
* :func:`fast_config` -- the book's fast recipe for the modern network (chapter 7);
* :func:`gpu_settings` -- what a run of the book adds on a CUDA GPU (its :class:`lenet.train.Runtime`);
* :data:`BOOK_RUNS` -- every run the book records (``python -m lenet record``), with its seeds,
  including the ablation of chapter 8 (:data:`ABLATION_STEPS`).

Each takes keyword overrides (``fast_config(seed=3)``), applied before the configuration is
validated, so a bad override fails at once with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Tuple, Union

import torch

from .sdlm import ETA, MU
from .train import GRAPH_OPTIMIZERS, TrainConfig

#: The test accuracy whose time the book's runs report.
TARGET_ACC = 0.99
#: The fast recipe's settings (see :func:`fast_config`).
FAST_EPOCHS = 4
FAST_BATCH = 256
FAST_LR = 1e-2
FAST_BETAS = (0.7, 0.9)
#: Images per evaluation batch in the fast recipe: of the sizes ``benchmarks/time_to_accuracy.py``
#: times, one of the fastest on the book's CPU (a test keeps it within 5% of the fastest recorded),
#: and on the GPU run twice as fast as 500.
FAST_EVAL_BATCH = 1000


def _config(base: Dict[str, Any], overrides: Dict[str, Any]) -> TrainConfig:
    return TrainConfig(**{**base, **overrides})


def classic_config(**overrides: Any) -> TrainConfig:
    """The full schedule of chapter 6 and of ``python -m lenet train --model classic``: the 1998
    LeNet-5 for the paper's 20 passes with its learning-rate steps (Sec. III.B) as multiples of
    Adam's 1e-3, batches of 32, the paper's input normalisation (the model's default).

    Explained in: chapter 6, "The training loop, by hand".
    """
    return _config(
        dict(
            model="classic",
            epochs=20,
            batch_size=32,
            optimizer="adam",
            lr=1e-3,
            schedule="paper",
            target_acc=TARGET_ACC,
        ),
        overrides,
    )


#: The book's mini-batch SDLM (chapter 6): batches of :data:`SDLM_BATCH`, each pattern's step
#: ``eta / (mu + h)`` with ``mu`` = :data:`SDLM_MU` in pass 1, not the paper's 0.02, with which
#: the first pass diverges here, per pattern as in batches; mu then falls with eta
#: (:data:`SDLM_MU_SCHEDULE`). Both chosen on a validation split (``benchmarks/choose_sdlm.py``),
#: never on the test set.
SDLM_BATCH = 32
SDLM_MU = 2.0
SDLM_MU_SCHEDULE = "eta"
#: Distorted copies of each training image per pass in the book's distortion runs, new each pass.
SDLM_DISTORTIONS = 1


def sdlm_config(**overrides: Any) -> TrainConfig:
    """The 1998 network's full schedule (:func:`classic_config`) trained as the paper trained it,
    with SDLM (chapter 6): the paper's eta steps from 0.0005 (Sec. III.B), curvature on 500 patterns
    before each pass (Appendix C), in batches of :data:`SDLM_BATCH` with mu :data:`SDLM_MU` in pass
    1, falling with eta after it.
    ``distortions=1`` adds a distorted copy of every training image to each pass.
    """
    return classic_config(
        **{
            "optimizer": "sdlm",
            "lr": ETA,
            "batch_size": SDLM_BATCH,
            "mu": SDLM_MU,
            "mu_schedule": SDLM_MU_SCHEDULE,
            **overrides,
        }
    )


#: The full schedule ``python -m lenet train --model classic`` runs with no options: of Adam
#: (:func:`classic_config`) and SDLM (:func:`sdlm_config`), the one whose recorded seeds reach the
#: lower mean test error without distortions, the paper's 0.95% setting (chapter 6 shows the
#: records, and ``tests/test_records.py`` checks this choice against them).
CLASSIC_DEFAULT = "sdlm"


def classic_default_config(**overrides: Any) -> TrainConfig:
    """The recipe of :data:`CLASSIC_DEFAULT`."""
    return (classic_config if CLASSIC_DEFAULT == "adam" else sdlm_config)(**overrides)


def paper_sdlm_config(**overrides: Any) -> TrainConfig:
    """SDLM exactly as the paper gives it (Appendix C): an update after every pattern, mu 0.02."""
    return sdlm_config(**{"batch_size": 1, "mu": MU, "mu_schedule": "constant", **overrides})


def source_config(optimizer: str = "adam", **overrides: Any) -> TrainConfig:
    """The source tutorial's run (chapter 7): 10 epochs, batch 64, Adam lr 1e-3 (or SGD lr 0.01,
    momentum 0.9), constant learning rate, pixels in [0, 1] (``ToTensor``), cross-entropy.

    Explained in: chapter 7, "A live run".
    """
    return _config(
        dict(
            model="modern",
            epochs=10,
            batch_size=64,
            optimizer=optimizer,
            lr=None,
            schedule="constant",
            normalization="unit",
            target_acc=TARGET_ACC,
        ),
        overrides,
    )


def fast_config(**overrides: Any) -> TrainConfig:
    """The book's fast recipe for the modern model (chapter 7): data on the device, batches of
    :data:`FAST_BATCH`, Adam with betas :data:`FAST_BETAS` on a one-cycle schedule peaking at
    :data:`FAST_LR`, :data:`FAST_EPOCHS` epochs, standardised inputs, channels-last tensors,
    evaluation only at the end, in batches of :data:`FAST_EVAL_BATCH`.

    Chosen on a validation split, never on the test set (``benchmarks/choose_fast_recipe.py``,
    ``benchmarks/results/recipe-selection-cpu.json``): of its candidates whose worst seed of 20 (as
    many as the book records) reached the target on validation, the cheapest.

    Explained in: chapter 7, "Training fast".
    """
    return _config(
        dict(
            model="modern",
            epochs=FAST_EPOCHS,
            batch_size=FAST_BATCH,
            optimizer="adam",
            lr=FAST_LR,
            betas=FAST_BETAS,
            schedule="onecycle",
            normalization="meanstd",
            eval_every=FAST_EPOCHS,
            eval_batch_size=FAST_EVAL_BATCH,
            target_acc=TARGET_ACC,
            channels_last=True,
        ),
        overrides,
    )


def gpu_settings(device: Union[str, torch.device], config: TrainConfig, compile: bool = False) -> Dict[str, Any]:
    """What a run of ``config`` adds on a CUDA GPU, as :class:`lenet.train.Runtime` settings (none on
    a CPU): the whole training step recorded once and replayed as a CUDA graph
    (:class:`lenet.step.TrainStep`) when the optimiser allows it (Adam and SDLM, not SGD), bf16
    autocast for the modern network (the 1998 one measured no faster with it), and
    ``torch.compile`` when ``compile`` is asked for: compiling takes longer than a short run, so it
    pays only when a process trains many times, as the benchmark does. The one place that says
    what a GPU run changes: the command line, ``python -m lenet record``, the chapters and the
    benchmark all use it.

    Explained in: chapter 9, "What one training step launches".
    """
    if torch.device(device).type != "cuda":
        return {}
    return dict(cuda_graph=config.optimizer in GRAPH_OPTIMIZERS, amp=config.model == "modern", compile=compile)


# --------------------------------------------------------------------------- the book's runs

#: The ablation of chapter 8: from the 1998 network to the modern one, one design change at a
#: time, each step keeping the changes before it. Every step trains with the source's recipe
#: (:func:`source_config`: Adam 1e-3, batch 64, 10 epochs); the last step is the modern LeNet-5
#: itself (28x28 inputs padded by conv1, pixels in [0, 1], PyTorch's initialisation), whose runs
#: are ``modern-source-adam``.
ABLATION_STEPS: Tuple[Tuple[str, str, Dict[str, str]], ...] = (
    ("ablation-0-1998", "1998 LeNet-5", {}),
    ("ablation-1-softmax", "+ linear output, softmax cross-entropy", {"output": "linear"}),
    ("ablation-2-relu", "+ ReLU", {"output": "linear", "activation": "relu"}),
    ("ablation-3-maxpool", "+ max pooling", {"output": "linear", "activation": "relu", "pooling": "max"}),
    ("ablation-4-dense-c3", "+ dense C3", {"output": "linear", "activation": "relu", "pooling": "max", "c3": "dense"}),
)

#: The chain's missing corner (chapter 8): max pooling with the scaled tanh, after the linear
#: output, so that ReLU and max pooling are each measured with and without the other (a 2 x 2
#: design from ``ablation-1-softmax``: tanh or ReLU, subsampling or max pooling).
ABLATION_TANH_MAXPOOL = (
    "ablation-2b-tanh-maxpool",
    "+ max pooling, scaled tanh kept",
    {"output": "linear", "pooling": "max"},
)


def ablation_config(options: Dict[str, str], **overrides: Any) -> TrainConfig:
    """One step of the ablation: :class:`lenet.models.LeNet5Classic` with ``options`` (its
    ``output``, ``activation``, ``pooling`` and ``c3`` arguments), the paper's inputs, trained with
    the source's Adam recipe.
    """
    return source_config("adam", model="classic", normalization=None, model_kwargs=dict(options), **overrides)


@dataclass(frozen=True)
class BookRun:
    """A run of the book: a recipe, the seeds it is recorded with, and which seeds keep their
    weights (a checkpoint) because a chapter reads them. Its records are named ``<name>-s<seed>``.
    """

    name: str
    title: str
    chapter: str
    make: Callable[[int], TrainConfig]
    seeds: Tuple[int, ...]
    checkpoint_seeds: Tuple[int, ...] = (0,)
    notes: str = ""

    def record_name(self, seed: int) -> str:
        return f"{self.name}-s{seed}"


def _ablation_recipe(options: Dict[str, str]) -> Callable[[int], TrainConfig]:
    """``seed -> ablation_config(options, seed=seed)``, with ``options`` bound now."""
    return lambda s: ablation_config(options, seed=s)


BOOK_RUNS: Tuple[BookRun, ...] = (
    BookRun(
        "classic-1998",
        "1998 LeNet-5, 20 passes (paper's schedule)",
        "6",
        lambda s: classic_config(seed=s),
        (0, 1, 2),
        notes="LeNet5Classic, MAP loss, Adam with the paper's learning-rate steps, batch 32, no distortions",
    ),
    BookRun(
        "modern-source-adam",
        "modern LeNet-5, the source's Adam run",
        "7",
        lambda s: source_config("adam", seed=s),
        (0, 1, 2),
        notes="the source's experiment: 10 epochs, batch 64, Adam 0.001",
    ),
    BookRun(
        "modern-source-sgd",
        "modern LeNet-5, the source's SGD run",
        "7",
        lambda s: source_config("sgd", seed=s),
        (0, 1, 2),
        notes="the source's experiment: 10 epochs, batch 64, SGD 0.01 with momentum 0.9",
    ),
    BookRun(
        "modern-fast",
        "modern LeNet-5, the fast recipe",
        "7",
        lambda s: fast_config(seed=s),
        tuple(range(20)),
        notes=f"{FAST_EPOCHS} epochs, batch {FAST_BATCH}, one-cycle to {FAST_LR:g}, Adam betas {FAST_BETAS}, "
        "standardised inputs",
    ),
    BookRun(
        "classic-sdlm",
        "1998 LeNet-5, SDLM, 20 passes (the paper's method)",
        "6",
        lambda s: sdlm_config(seed=s),
        (0, 1, 2),
        notes=(
            "LeNet5Classic, MAP loss, SDLM in batches of 32, mu 2 falling with eta, the paper's eta steps, "
            "no distortions"
        ),
    ),
    BookRun(
        "classic-sdlm-distorted",
        "1998 LeNet-5, SDLM with distortions, 20 passes",
        "6",
        lambda s: sdlm_config(seed=s, distortions=SDLM_DISTORTIONS),
        (0, 1, 2),
        notes="as classic-sdlm, each pass adding one new distorted copy of every training image",
    ),
    BookRun(
        "sdlm-pass-paper",
        "SDLM as the paper gives it: per pattern, mu 0.02, one pass",
        "6",
        lambda s: paper_sdlm_config(seed=s, epochs=1, target_acc=None),
        (0,),
        checkpoint_seeds=(),
        notes="the paper's method and constants, one pass",
    ),
    BookRun(
        "sdlm-pass-pattern",
        "SDLM per pattern, mu 0.2, one pass",
        "6",
        lambda s: paper_sdlm_config(seed=s, epochs=1, mu=0.2, target_acc=None),
        (0,),
        checkpoint_seeds=(),
        notes="the paper's per-pattern updates with mu ten times the paper's, one pass",
    ),
    BookRun(
        "sdlm-pass-batch",
        "SDLM in batches of 32, mu 2, one pass",
        "6",
        lambda s: sdlm_config(seed=s, epochs=1, target_acc=None),
        (0,),
        checkpoint_seeds=(),
        notes="the book's mini-batch SDLM, one pass",
    ),
) + tuple(
    BookRun(
        name,
        title,
        "8",
        _ablation_recipe(options),
        (0, 1, 2),
        notes="ablation step: LeNet5Classic(" + ", ".join(f"{k}={v!r}" for k, v in options.items()) + ")",
    )
    for name, title, options in (*ABLATION_STEPS, ABLATION_TANH_MAXPOOL)
)


def book_run(name: str) -> BookRun:
    """The book run called ``name``; a clear error lists the names."""
    for run in BOOK_RUNS:
        if run.name == name:
            return run
    raise ValueError(f"unknown book run {name!r}; choose from: {', '.join(r.name for r in BOOK_RUNS)}")


__all__ = [
    "classic_config",
    "sdlm_config",
    "paper_sdlm_config",
    "SDLM_BATCH",
    "SDLM_MU",
    "SDLM_MU_SCHEDULE",
    "SDLM_DISTORTIONS",
    "CLASSIC_DEFAULT",
    "classic_default_config",
    "source_config",
    "fast_config",
    "gpu_settings",
    "TARGET_ACC",
    "FAST_EPOCHS",
    "FAST_BATCH",
    "FAST_LR",
    "FAST_BETAS",
    "FAST_EVAL_BATCH",
    "ABLATION_STEPS",
    "ABLATION_TANH_MAXPOOL",
    "ablation_config",
    "BookRun",
    "BOOK_RUNS",
    "book_run",
]
