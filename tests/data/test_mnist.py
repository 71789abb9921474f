"""MNIST loading and downloading, against a real HTTP server on a free port."""

from __future__ import annotations

import functools
import hashlib
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.data import load_dataset
from modelship.data.idx import write_idx
from modelship.data.mnist import MNIST_FILES, MNIST_SHA256, load_mnist
from modelship.errors import DataUnavailable, InvalidInput

N_TRAIN, N_TEST = 30, 12


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _write_mnist(directory: Path, seed: int, *, gz: bool = True) -> dict[str, np.ndarray]:
    """Small but well-formed MNIST files: random images, labels cycling through 0..9."""
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(N_TRAIN) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(N_TEST) % 10).astype(np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for role, stem in MNIST_FILES.items():
        write_idx(directory / (f"{stem}.gz" if gz else stem), arrays[role])
    return arrays


@pytest.fixture(scope="module")
def mirror_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mirrors")
    (root / "empty").mkdir()  # every request 404s
    _write_mnist(root / "tampered", seed=2)  # well-formed files with the wrong checksums
    _write_mnist(root / "good", seed=1)
    return root


@pytest.fixture(scope="module")
def server(mirror_root: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(mirror_root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="module")
def checksums(mirror_root: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in (mirror_root / "good").iterdir()
    }


def test_downloads_from_the_first_mirror_with_the_right_bytes(
    tmp_path: Path, server: str, checksums: dict[str, str]
) -> None:
    expected = _write_mnist(tmp_path / "reference", seed=1)
    cache = tmp_path / "cache"
    mirrors = [f"{server}/empty/", f"{server}/tampered", f"{server}/good/"]
    dataset = load_mnist(cache, mirrors=mirrors, checksums=checksums, show_progress=False)

    assert dataset.name == "mnist"
    assert dataset.x_train.shape == (N_TRAIN, 28, 28)
    assert dataset.x_train.dtype == np.float32
    assert dataset.y_test.dtype == np.int64
    np.testing.assert_allclose(dataset.x_train * 255, expected["x_train"], atol=1e-4)
    np.testing.assert_array_equal(dataset.y_test, expected["y_test"])
    # Only verified files land in the cache; no partial downloads are left behind.
    assert sorted(p.name for p in cache.iterdir()) == sorted(checksums)
    for path in cache.iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == checksums[path.name]


def test_cached_files_load_without_network(
    tmp_path: Path, server: str, checksums: dict[str, str]
) -> None:
    cache = tmp_path / "cache"
    first = load_mnist(cache, mirrors=[f"{server}/good"], checksums=checksums, show_progress=False)
    again = load_mnist(cache, mirrors=None)
    np.testing.assert_array_equal(first.x_test, again.x_test)


def test_every_mirror_failing_names_each_failure(
    tmp_path: Path, server: str, checksums: dict[str, str]
) -> None:
    cache = tmp_path / "cache"
    mirrors = [f"{server}/empty", f"{server}/tampered"]
    with pytest.raises(DataUnavailable) as caught:
        load_mnist(cache, mirrors=mirrors, checksums=checksums, show_progress=False)
    message = caught.value.message
    assert "HTTP 404" in message
    assert "does not match the expected" in message
    assert not any(cache.iterdir()), "a file that failed verification was kept"


def test_unreachable_mirror_is_skipped(
    tmp_path: Path, server: str, checksums: dict[str, str]
) -> None:
    # A port just released by the OS has no listener: connecting to it is refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    mirrors = [f"http://127.0.0.1:{dead}/", f"{server}/good"]
    dataset = load_mnist(tmp_path, mirrors=mirrors, checksums=checksums, show_progress=False)
    assert len(dataset.x_test) == N_TEST


def test_real_mnist_checksums_are_the_published_ones() -> None:
    assert set(MNIST_SHA256) == {f"{stem}.gz" for stem in MNIST_FILES.values()}
    assert MNIST_SHA256["t10k-labels-idx1-ubyte.gz"].startswith("f7ae60f9")


def test_plain_files_in_a_directory_need_no_download(tmp_path: Path) -> None:
    expected = _write_mnist(tmp_path, seed=3, gz=False)
    dataset = load_dataset("mnist", tmp_path, mirrors=[])
    assert dataset.source == f"MNIST IDX files in {tmp_path}"
    np.testing.assert_array_equal(dataset.y_train, expected["y_train"])


def test_missing_files_without_mirrors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable, match="copy MNIST's four IDX files there"):
        load_mnist(tmp_path, mirrors=[])


def test_images_of_the_wrong_shape_are_refused(tmp_path: Path) -> None:
    _write_mnist(tmp_path, seed=4)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((N_TRAIN, 8, 8), dtype=np.uint8))
    with pytest.raises(InvalidInput, match="expected N x 28 x 28"):
        load_mnist(tmp_path, mirrors=[])


def test_label_count_must_match_image_count(tmp_path: Path) -> None:
    _write_mnist(tmp_path, seed=5)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(N_TEST - 1, dtype=np.uint8))
    with pytest.raises(InvalidInput, match="images but"):
        load_mnist(tmp_path, mirrors=[])
