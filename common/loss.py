"""損失関数 (『ゼロから作るDeep Learning』4 章).

教師データ t は次のどちらでもよい (y は 1 サンプル (C,) またはバッチ (N, C)):

* one-hot 表現: y と同じ shape の配列 (例 ``[0, 0, 1]``).
* クラス番号 (ラベル): y が (C,) なら整数 1 つ, (N, C) なら shape (N,) の整数配列 (例 ``2``).

バッチのときは 1 サンプルあたりの平均を返す.
"""

import numpy as np

__all__ = ["mean_squared_error", "cross_entropy_error", "one_hot_targets"]


def one_hot_targets(y, t):
    """y と t の shape を確かめ, どちらも shape (N, C) の float64 配列にして返す.

    Args:
        y: 出力. shape (C,) または (N, C).
        t: 教師データ. y と同じ shape の one-hot, または shape y.shape[:-1] の整数ラベル.
    Returns:
        (y2, t2): y2 は shape (N, C) (1 サンプルなら N = 1), t2 は同じ shape の one-hot.
    Raises:
        ValueError: shape が合わない, ラベルが整数でない, ラベルが範囲外のとき (日本語の説明つき).
    """
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t)
    if y.ndim not in (1, 2):
        raise ValueError(f"y は shape (C,) または (N, C) の配列にしてください "
                         f"(shape {y.shape} が渡されました)。")
    n_classes = y.shape[-1]
    labels = "整数 1 つ (例 t = 2)" if y.ndim == 1 else f"shape {y.shape[:-1]} の整数配列"
    if t.shape == y.shape:
        return np.atleast_2d(y), np.atleast_2d(t.astype(np.float64))
    if t.ndim == y.ndim:
        raise ValueError(
            f"t を one-hot 表現とみなしましたが, shape が y と違います: y は {y.shape}, "
            f"t は {t.shape} です。one-hot なら t の shape を y と同じ {y.shape} に, "
            f"クラス番号 (ラベル) なら {labels}にしてください。")
    if t.ndim != y.ndim - 1:
        raise ValueError(
            f"t の shape {t.shape} が y の shape {y.shape} と合いません。t は one-hot なら "
            f"shape {y.shape} の配列, クラス番号 (ラベル) なら {labels}にしてください。")
    if t.dtype.kind not in "iu":
        raise ValueError(
            f"t をクラス番号 (ラベル) とみなしましたが, dtype が {t.dtype} で整数ではありません。"
            f"ラベルは整数 (例 2 や np.array([2, 0])) で渡すか, t.astype(int) で変換してください。")
    if t.shape != y.shape[:-1]:
        raise ValueError(
            f"バッチサイズが一致しません: y は {y.shape[0]} サンプル (shape {y.shape}), "
            f"t は {t.shape[0]} 個のラベル (shape {t.shape}) です。")
    bad = t[(t < 0) | (t >= n_classes)]
    if bad.size:
        raise ValueError(
            f"ラベル {bad.tolist()} が範囲外です。クラス番号は 0 から {n_classes - 1} まで "
            f"(y の最後の軸の長さ C = {n_classes}) です。")
    return np.atleast_2d(y), np.atleast_2d(np.eye(n_classes)[t])


def mean_squared_error(y, t):
    """2 乗和誤差 0.5 * Σ (y - t)², バッチなら N で割った平均.

    Args:
        y: 出力. shape (C,) または (N, C).
        t: 教師データ. one-hot (y と同じ shape) またはクラス番号 (shape y.shape[:-1]).
    Returns:
        float (スカラー).
    """
    y2, t2 = one_hot_targets(y, t)
    return float(0.5 * np.sum((y2 - t2) ** 2) / y2.shape[0])


def cross_entropy_error(y, t):
    """交差エントロピー誤差 -Σ t log(y + 1e-7), バッチなら N で割った平均.

    1e-7 は y = 0 のとき log(0) = -inf になるのを防ぐ.

    Args:
        y: 出力 (確率, 例えば softmax の結果). shape (C,) または (N, C).
        t: 教師データ. one-hot (y と同じ shape) またはクラス番号 (shape y.shape[:-1]).
    Returns:
        float (スカラー).
    """
    y2, t2 = one_hot_targets(y, t)
    return float(-np.sum(t2 * np.log(y2 + 1e-7)) / y2.shape[0])
