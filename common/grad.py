"""数値微分と数値勾配 (『ゼロから作るDeep Learning』4 章).

中心差分 (f(x + h) - f(x - h)) / 2h を使う. 前進差分 (f(x + h) - f(x)) / h より誤差が小さい.
"""

import numpy as np

__all__ = ["numerical_diff", "numerical_gradient", "rel_error"]


def numerical_diff(f, x, h=1e-4):
    """1 変数関数 f の x における微分を中心差分で求める.

    Args:
        f: 数値を受け取り数値を返す関数.
        x: 微分する点 (スカラー).
        h: 微小な幅.
    Returns:
        (f(x + h) - f(x - h)) / (2h).
    """
    return (f(x + h) - f(x - h)) / (2 * h)


def _check_x(x):
    """numerical_gradient に渡された x が float64 の ndarray であることを確かめる."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"numerical_gradient の x は NumPy 配列 (float64) にしてください "
            f"({type(x).__name__} が渡されました)。x はその場で書き換えて元に戻すため, "
            f"リストやスカラーは使えません。np.array([3.0, 4.0]) のように作ってください。")
    if x.dtype == np.float64:
        return
    if x.dtype.kind in "iu":
        why = (f"x の dtype が {x.dtype} (整数) です。整数の配列に x[i] + h を代入すると小数部が"
               f"切り捨てられ, 例えば f(x) = x0² + x1² の x = [3, 4] で勾配が [6, 8] ではなく "
               f"[25000, 35000] になってしまいます。")
    elif x.dtype == np.float32:
        why = ("x の dtype が float32 です。float32 は有効数字が約 7 桁しかなく, h = 1e-4 の差が"
               "丸め誤差に埋もれて勾配に目に見える誤差が出ます。")
    else:
        why = f"x の dtype が {x.dtype} です。"
    raise TypeError(why + "np.array([3.0, 4.0]) のように小数点を付けて作るか, "
                          "x.astype(np.float64) で float64 に変換してから渡してください。")


def _scalar(value):
    """f の戻り値がスカラーであることを確かめて float で返す."""
    if value is None:
        raise TypeError("f が None を返しました。f は損失などのスカラーを return してください。")
    arr = np.asarray(value)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise ValueError(
            "f はスカラー (数値 1 つ) を返す必要がありますが, "
            f"shape {arr.shape}, dtype {arr.dtype} の値を返しました。"
            "np.sum などで 1 つの数にまとめてください。")
    return float(arr)


def numerical_gradient(f, x, *args, h=1e-4):
    """x の各要素についての f の偏微分を中心差分で求める (x は任意 shape).

    x の要素を 1 つずつ ±h だけ書き換えて f を呼び, そのあと元の値に正確に戻す.

    2 通りの呼び方ができる:

    * ``numerical_gradient(f, x)``: ``f(x)`` を呼ぶ (本の形,
      ``numerical_gradient(lambda W: net.loss(x, t), net.W)``).
    * ``numerical_gradient(f, x, *args)``: ``f(*args)`` を呼ぶ. x は f が内部で参照する配列
      (simpleNet の形, ``numerical_gradient(self.loss, self.W, x, t)``).

    Args:
        f: スカラーを返す関数.
        x: float64 の ndarray, 任意 shape. 呼び出し中だけ書き換えられ, 最後は元どおり.
        *args: 与えたときは f(*args) を呼ぶ.
        h: 微小な幅.
    Returns:
        x と同じ shape の新しい float64 配列 (勾配).
    Raises:
        TypeError: x が float64 の ndarray でないとき (int は切り捨て, float32 は精度不足).
    """
    _check_x(x)

    def call():
        return _scalar(f(*args) if args else f(x))

    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        try:
            x[idx] = original + h
            fxh1 = call()
            x[idx] = original - h
            fxh2 = call()
        finally:
            x[idx] = original
        grad[idx] = (fxh1 - fxh2) / (2 * h)
    return grad


def rel_error(a, b):
    """相対誤差 max(|a - b| / max(1e-8, |a| + |b|)) (CS231n と同じ定義).

    Args:
        a, b: 同じ shape の数値または配列.
    Returns:
        float. 勾配確認での読み方 (講義ノート 03 の 4 節の表): 1e-6 未満なら一致,
        1e-6 以上 1e-4 未満ならおそらく一致 (別の seed でも確かめる), 1e-4 以上なら疑わしい.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: a と b の shape が違います (a {a.shape}, b {b.shape})。")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
