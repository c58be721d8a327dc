"""活性化関数 (『ゼロから作るDeep Learning』3 章).

どの関数も入力と同じ shape の配列を返す (softmax だけは最後の軸ごとに正規化する).
"""

import numpy as np

__all__ = ["step_function", "sigmoid", "relu", "identity", "softmax"]


def step_function(x):
    """ステップ関数: x > 0 なら 1, それ以外は 0.

    Args:
        x: 任意 shape の数値または配列.
    Returns:
        x と同じ shape の int 配列.
    """
    return (np.asarray(x) > 0).astype(int)


def sigmoid(x):
    """シグモイド関数 1 / (1 + exp(-x)).

    exp には常に -|x| を渡すので, |x| が大きくてもオーバーフロー (と警告) は起きない.

    Args:
        x: 任意 shape の数値または配列.
    Returns:
        x と同じ shape の float64 配列 (x がスカラーなら np.float64). 値は [0, 1].
    """
    x = np.asarray(x, dtype=np.float64)
    z = np.exp(-np.abs(x))  # 0 < z <= 1
    out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return out[()]


def relu(x):
    """ReLU 関数 max(0, x).

    Args:
        x: 任意 shape の数値または配列.
    Returns:
        x と同じ shape の配列.
    """
    return np.maximum(0, x)


def identity(x):
    """恒等関数: x をそのまま返す (回帰問題の出力層)."""
    return x


def softmax(x):
    """ソフトマックス関数. 最後の軸ごとに和が 1 になるよう正規化する.

    exp の前に最後の軸の最大値を引くので, [1010, 1000, 990] のような大きな値でも
    オーバーフローしない (結果は各行に定数を足しても変わらない).

    Args:
        x: shape (C,) の 1 サンプル, または shape (N, C) のバッチ (行ごとに計算).
    Returns:
        x と同じ shape の float64 配列.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("softmax の入力は shape (C,) または (N, C) の配列にしてください "
                         "(スカラーが渡されました)。")
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
