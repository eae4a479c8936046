"""lenet: the code behind the LeNet-5 course book.

Modules (each small, each citing the part of LeCun et al. 1998 it implements):

* :mod:`lenet.kernels` -- convolution from scratch and the classic image kernels;
* :mod:`lenet.pooling` -- pooling from scratch, scaled tanh, the trainable subsampling of S2/S4;
* :mod:`lenet.c3` -- Table I and the sparsely connected C3 layer;
* :mod:`lenet.rbf` -- the 7x12 digit bitmaps, the Euclidean RBF output and the MAP loss;
* :mod:`lenet.models` -- ``LeNet5Classic`` (1998) and ``LeNet5Modern`` (the source tutorial);
* :mod:`lenet.summary` -- per-layer shapes, parameters and connections, computed;
* :mod:`lenet.data` -- MNIST as tensors, fetched once and verified; device-resident batches;
* :mod:`lenet.distort` -- the paper's distorted training digits, warped on the device;
* :mod:`lenet.train` -- what a run is (``TrainConfig``), how it runs (``Runtime``), the training loop;
* :mod:`lenet.step` -- one training step, eager or recorded as a CUDA graph;
* :mod:`lenet.sdlm` -- the paper's training method: the curvature sweep and the SDLM optimiser;
* :mod:`lenet.machine` -- devices and the hardware behind them;
* :mod:`lenet.inference` -- preparing a model's input and predicting digits;
* :mod:`lenet.checkpoints` -- saving and loading trained weights with their configuration;
* :mod:`lenet.recipes` -- the book's training recipes and the runs it records (``BOOK_RUNS``);
* :mod:`lenet.records` -- run records: one JSON per run, stored and read;
* :mod:`lenet.recording` -- making records (``python -m lenet record``) and replaying them (the tests);
* :mod:`lenet.viz`, :mod:`lenet.widgets` -- figures and interactive explorers (chapters 1-4);
* :mod:`lenet.report`, :mod:`lenet.metrics` -- figures, tables and metrics of training runs;
* :mod:`lenet.show` -- a function's or class's source, highlighted, as the chapters show it;
* :mod:`lenet.glue` -- numbers computed in a chapter, pasted into its prose;
* :mod:`lenet.profiling` -- counting the operators of a training step;
* :mod:`lenet.draw` -- draw a digit (ASCII art or a grid) and classify it;
* :mod:`lenet.exercises` -- checkers for the exercises.

Importing the package downloads nothing and touches no global state.
"""

__version__ = "0.1.0"

from .models import LeNet5Classic, LeNet5Modern, count_parameters, get_model

__all__ = ["LeNet5Classic", "LeNet5Modern", "count_parameters", "get_model", "__version__"]
