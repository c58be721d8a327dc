"""計算グラフのノード (レイヤ) (『ゼロから作るDeep Learning ❷』1 章の約束).

どのレイヤも

* ``params``: パラメータ (ndarray) のリスト, ``grads``: 同じ順・同じ shape の勾配のリスト.
  パラメータのないレイヤは ``params = grads = []``.
* ``forward(x)`` で順伝播, ``backward(dout)`` で逆伝播し, 入力についての勾配を返す.
* パラメータの勾配は ``grads[0][...] = dW`` のように **その場で** 書き込む. 配列を作り直さない
  ので, grads の配列を参照しているオプティマイザにも新しい値が見える.
"""

import numpy as np

from common.activations import sigmoid, softmax
from common.loss import cross_entropy_error, one_hot_targets

__all__ = ["MatMul", "Repeat", "Sum", "Affine", "Sigmoid", "Relu", "SoftmaxWithLoss",
           "two_layer_gradient"]


def _check_shape(layer, name, arr, expected):
    """arr.shape が expected と違えば ValueError. expected の文字列 ("N" など) は任意の長さ."""
    shape = np.shape(arr)
    if len(shape) != len(expected) or any(
            not isinstance(e, str) and e != s for e, s in zip(expected, shape, strict=True)):
        want = "(" + ", ".join(map(str, expected)) + ("," if len(expected) == 1 else "") + ")"
        raise ValueError(f"{layer}: {name} の shape は {want} のはずですが, "
                         f"shape {shape} が渡されました。")


class MatMul:
    """行列の積 y = x W.

    params = [W] (shape (D, H)). forward: x (N, D) -> (N, H). backward: dy (N, H) -> dx (N, D),
    dW = xᵀ dy を grads[0] に書き込む.
    """

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.x = None

    def forward(self, x):
        (W,) = self.params
        _check_shape("MatMul.forward", "x", x, ("N", W.shape[0]))
        self.x = x
        return x @ W

    def backward(self, dout):
        (W,) = self.params
        _check_shape("MatMul.backward", "dout", dout, (self.x.shape[0], W.shape[1]))
        self.grads[0][...] = self.x.T @ dout
        return dout @ W.T


class Repeat:
    """Repeat ノード: 1 行を N 回コピーする.

    forward: x (1, D) -> (N, D). backward: dy (N, D) -> dx (1, D) (行方向の和).
    """

    def __init__(self, N):
        self.N = N
        self.params, self.grads = [], []
        self.D = None

    def forward(self, x):
        _check_shape("Repeat.forward", "x", x, (1, "D"))
        self.D = x.shape[1]
        return np.repeat(x, self.N, axis=0)

    def backward(self, dout):
        _check_shape("Repeat.backward", "dout", dout, (self.N, self.D))
        return np.sum(dout, axis=0, keepdims=True)


class Sum:
    """Sum ノード: 行方向の和 (keepdims).

    forward: x (N, D) -> (1, D). backward: dy (1, D) -> dx (N, D) (**dy** を N 回コピー).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.shape = None

    def forward(self, x):
        _check_shape("Sum.forward", "x", x, ("N", "D"))
        self.shape = x.shape
        return np.sum(x, axis=0, keepdims=True)

    def backward(self, dout):
        N, D = self.shape
        _check_shape("Sum.backward", "dout", dout, (1, D))
        return np.repeat(dout, N, axis=0)


class Affine:
    """全結合 y = x W + b.

    params = [W (D, H), b (H,)]. forward: x (N, D) -> (N, H).
    backward: dy (N, H) -> dx (N, D), dW = xᵀ dy と db = Σ_n dy を grads に書き込む.
    """

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = self.params
        _check_shape("Affine.forward", "x", x, ("N", W.shape[0]))
        self.x = x
        return x @ W + b

    def backward(self, dout):
        W, _ = self.params
        _check_shape("Affine.backward", "dout", dout, (self.x.shape[0], W.shape[1]))
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = np.sum(dout, axis=0)
        return dout @ W.T


class Sigmoid:
    """シグモイド. forward: x (任意 shape) -> 同じ shape. backward: dy * y (1 - y)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        _check_shape("Sigmoid.backward", "dout", dout, self.out.shape)
        return dout * self.out * (1.0 - self.out)


class Relu:
    """ReLU. forward: x (任意 shape) -> 同じ shape. backward: x > 0 の所だけ dy を通す."""

    def __init__(self):
        self.params, self.grads = [], []
        self.mask = None

    def forward(self, x):
        self.mask = np.asarray(x) > 0
        return np.where(self.mask, x, 0.0)

    def backward(self, dout):
        _check_shape("Relu.backward", "dout", dout, self.mask.shape)
        return np.where(self.mask, dout, 0.0)


class SoftmaxWithLoss:
    """softmax と交差エントロピー誤差をまとめたレイヤ.

    forward(x, t): x (N, C) のスコア, t は one-hot (N, C) またはラベル (N,) -> 損失 (float,
    バッチ平均). backward(dout=1): dx = dout * (y - t) / N, shape (N, C).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.y = None
        self.t = None

    def forward(self, x, t):
        _check_shape("SoftmaxWithLoss.forward", "x", x, ("N", "C"))
        self.y = softmax(x)
        _, self.t = one_hot_targets(self.y, t)
        return cross_entropy_error(self.y, self.t)

    def backward(self, dout=1):
        return dout * (self.y - self.t) / self.y.shape[0]


def two_layer_gradient(params, x, t, activation="sigmoid"):
    """2 層ネットワークの損失の勾配を, 上のレイヤを使った誤差逆伝播法で求める.

    ネットワークは x → Affine(W1, b1) → Sigmoid (または Relu) → Affine(W2, b2) →
    SoftmaxWithLoss ← t (課題 04 の TwoLayerNet.gradient, 課題 06 で自分のレイヤで組み立てるもの).

    Args:
        params: "W1" (I, H), "b1" (H,), "W2" (H, O), "b2" (O,) の dict. 書き換えない.
        x: 入力 (N, I). t: one-hot (N, O) またはラベル (N,).
        activation: 隠れ層の活性化関数 "sigmoid" か "relu".
    Returns:
        params と同じキー・同じ shape の勾配の dict (新しい配列).
    """
    hidden = {"sigmoid": Sigmoid, "relu": Relu}[activation]()
    layers = [Affine(params["W1"], params["b1"]), hidden, Affine(params["W2"], params["b2"])]
    last_layer = SoftmaxWithLoss()
    out = x
    for layer in layers:
        out = layer.forward(out)
    last_layer.forward(out, t)
    dout = last_layer.backward(1.0)
    for layer in reversed(layers):
        dout = layer.backward(dout)
    (dW1, db1), (dW2, db2) = layers[0].grads, layers[2].grads
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
