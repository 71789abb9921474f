"""Without a data directory, MNIST is fetched into a cache (sha256-checked, short timeouts) from
a real HTTP server here, and the bundled digits stand in, saying why, when it cannot be."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from modelship.data import DATA_DIR_ENV, MIRRORS_ENV, load_dataset
from modelship.data.digits import DIGITS_NAME
from modelship.data.idx import write_idx
from modelship.data.mnist import MNIST_FILES


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A local mirror serving small MNIST-shaped files; yields its URL and their sha256."""
    served = tmp_path / "mirror"
    served.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 30, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 10, dtype=np.uint8),
    }
    checksums = {}
    for role, stem in MNIST_FILES.items():
        path = write_idx(served / f"{stem}.gz", arrays[role])
        checksums[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    handler = functools.partial(_Quiet, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", checksums
    server.shutdown()
    server.server_close()


def test_mnist_is_downloaded_once_into_the_cache(
    mirror: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, checksums = mirror
    cache = tmp_path / "cache"
    monkeypatch.setenv(DATA_DIR_ENV, str(cache))
    monkeypatch.setenv(MIRRORS_ENV, url)
    first = load_dataset("mnist", checksums=checksums, show_progress=False)
    assert first.name == "mnist"
    assert (len(first.x_train), len(first.x_test)) == (30, 10)
    assert sorted(p.name for p in cache.iterdir()) == sorted(checksums)
    monkeypatch.setenv(MIRRORS_ENV, "")  # offline from now on: the cache serves
    again = load_dataset("mnist", checksums=checksums, show_progress=False)
    np.testing.assert_array_equal(again.x_train, first.x_train)


def test_a_file_with_the_wrong_checksum_falls_back_to_the_digits(
    mirror: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, checksums = mirror
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(MIRRORS_ENV, url)
    wrong = dict.fromkeys(checksums, "0" * 64)
    dataset = load_dataset("mnist", checksums=wrong, show_progress=False)
    assert dataset.name == DIGITS_NAME
    assert "MNIST is not available" in dataset.source
    assert "not MNIST" in dataset.source
    assert not list((tmp_path / "cache").glob("*.gz"))  # nothing unverified is kept


def test_no_server_falls_back_to_the_digits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(MIRRORS_ENV, "http://127.0.0.1:9/")  # the discard port: refused
    dataset = load_dataset("mnist", show_progress=False)
    assert dataset.name == DIGITS_NAME
    assert "127.0.0.1:9" in dataset.source
