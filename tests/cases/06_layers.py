"""Correct answers written differently and typical mistakes for 06_layers.

See tests/test_cases.py.

Each entry replaces whole solution cells (grade_ids ``Affine``, ``Sigmoid``, ``Relu``,
``SoftmaxWithLoss``, ``TwoLayerNet``, ``gradient_check``). The layer classes are assembled from
their method bodies by the small builders below, so that every case shows only what it changes.
A mistake in a layer also fails the test of ``TwoLayerNet.gradient``, which is built from the
layers: ``fails`` lists every test cell that loses its points.
"""


def _affine(forward, backward):
    """Source of an ``Affine`` cell whose forward/backward bodies are the given (8-space) lines."""
    return ("class Affine:\n"
            "    def __init__(self, W, b):\n"
            "        self.params = [W, b]\n"
            "        self.grads = [np.zeros_like(W), np.zeros_like(b)]\n"
            "        self.x = None\n"
            "\n"
            "    def forward(self, x):\n"
            "        W, b = self.params\n"
            f"{forward}\n"
            "    def backward(self, dy):\n"
            "        W, b = self.params\n"
            f"{backward}")


def _sigmoid(forward, backward):
    """Source of a ``Sigmoid`` cell (forward/backward bodies, 8-space indented)."""
    return ("class Sigmoid:\n"
            "    def __init__(self):\n"
            "        self.params, self.grads = [], []\n"
            "        self.out = None\n"
            "\n"
            "    def forward(self, x):\n"
            f"{forward}\n"
            "    def backward(self, dy):\n"
            f"{backward}")


def _relu(forward, backward):
    """Source of a ``Relu`` cell (forward/backward bodies, 8-space indented)."""
    return ("class Relu:\n"
            "    def __init__(self):\n"
            "        self.params, self.grads = [], []\n"
            "        self.mask = None\n"
            "\n"
            "    def forward(self, x):\n"
            f"{forward}\n"
            "    def backward(self, dy):\n"
            f"{backward}")


def _softmax(forward, backward):
    """Source of a ``SoftmaxWithLoss`` cell (forward/backward bodies, 8-space indented)."""
    return ("class SoftmaxWithLoss:\n"
            "    def __init__(self):\n"
            "        self.params, self.grads = [], []\n"
            "        self.y = None\n"
            "        self.t = None\n"
            "\n"
            "    def forward(self, x, t):\n"
            f"{forward}\n"
            "    def backward(self, dout=1):\n"
            f"{backward}")


# The given part of the TwoLayerNet cell (everything but the body of gradient).
_NET_HEAD = '''class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, seed=None,
                 activation="sigmoid"):
        rng = np.random.RandomState(seed)
        self.params = {
            "W1": weight_init_std * rng.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": weight_init_std * rng.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }
        p = self.params
        hidden = {"sigmoid": Sigmoid, "relu": Relu}[activation]()
        self.layers = [Affine(p["W1"], p["b1"]), hidden, Affine(p["W2"], p["b2"])]
        self.last_layer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        return self.last_layer.forward(self.predict(x), t)

    def numerical_gradient(self, x, t):
        def loss_w(W):
            return self.loss(x, t)

        return {key: numerical_gradient(loss_w, self.params[key])
                for key in ("W1", "b1", "W2", "b2")}

    def gradient(self, x, t):
'''


def _net(body):
    """Source of a ``TwoLayerNet`` cell whose gradient body is ``body`` (8-space lines)."""
    return _NET_HEAD + body


def _check(body):
    """Source of a ``gradient_check`` cell with the given body (4-space lines)."""
    return "def gradient_check(network, x, t):\n" + body


_NET_RETURN = ("        return {'W1': dW1.copy(), 'b1': db1.copy(),\n"
               "                'W2': dW2.copy(), 'b2': db2.copy()}\n")

# The master's own bodies, reused by the mistakes that change only one method.
_AFFINE_FORWARD = ("        self.x = x\n"
                   "        return x @ W + b\n")


def _affine_backward(dx="dy @ W.T", dW="self.grads[0][...] = self.x.T @ dy",
                     db="self.grads[1][...] = np.sum(dy, axis=0)"):
    """Affine.backward body from its three lines (the master's by default)."""
    return (f"        {dW}\n"
            f"        {db}\n"
            f"        return {dx}\n")


_SIGMOID_FORWARD = ("        self.out = 1.0 / (1.0 + np.exp(-x))\n"
                    "        return self.out\n")
_RELU_FORWARD = ("        self.mask = x > 0\n"
                 "        return np.where(self.mask, x, 0.0)\n")
_RELU_BACKWARD = "        return np.where(self.mask, dy, 0.0)\n"
_SOFTMAX_FORWARD = ("        self.y = softmax(x)\n"
                    "        self.t = np.eye(x.shape[1])[t] if t.ndim == 1 else t\n"
                    "        return cross_entropy_error(self.y, self.t)\n")
_SOFTMAX_BACKWARD = "        return dout * (self.y - self.t) / self.y.shape[0]\n"
_NET_BACKWARD = ("        self.loss(x, t)\n"
                 "        dout = self.last_layer.backward(1)\n"
                 "        for layer in reversed(self.layers):\n"
                 "            dout = layer.backward(dout)\n")

CORRECT = {
    "dot_loops_book_style": {
        "Affine": _affine(
            "        self.x = x\n"
            "        out = np.dot(x, W) + b\n"
            "        return out\n",
            "        dx = np.dot(dy, W.T)\n"
            "        np.copyto(self.grads[0], np.dot(self.x.T, dy))\n"
            "        db = np.zeros_like(b)\n"
            "        for row in dy:\n"
            "            db += row\n"
            "        self.grads[1][...] = db\n"
            "        return dx\n"),
        # the book's Sigmoid and Relu (Relu.backward writes into dout, as the book does)
        "Sigmoid": _sigmoid(
            "        out = 1 / (1 + np.exp(-x))\n"
            "        self.out = out\n"
            "        return out\n",
            "        dx = dy * (1.0 - self.out) * self.out\n"
            "        return dx\n"),
        "Relu": _relu(
            "        self.mask = (x <= 0)\n"
            "        out = x.copy()\n"
            "        out[self.mask] = 0\n"
            "        return out\n",
            "        dy[self.mask] = 0\n"
            "        dx = dy\n"
            "        return dx\n"),
        "SoftmaxWithLoss": _softmax(
            "        self.y = softmax(x)\n"
            "        if t.ndim == 1:\n"
            "            one_hot = np.zeros_like(self.y)\n"
            "            one_hot[np.arange(t.size), t] = 1\n"
            "            t = one_hot\n"
            "        self.t = t\n"
            "        return cross_entropy_error(self.y, t)\n",
            "        batch_size = self.t.shape[0]\n"
            "        dx = (self.y - self.t) / batch_size\n"
            "        return dx * dout\n"),
        "TwoLayerNet": _net(
            "        self.loss(x, t)\n"
            "        dout = 1\n"
            "        dout = self.last_layer.backward(dout)\n"
            "        layers = list(self.layers)\n"
            "        layers.reverse()\n"
            "        for layer in layers:\n"
            "            dout = layer.backward(dout)\n"
            "        grads = {}\n"
            "        grads['W1'], grads['b1'] = self.layers[0].grads\n"
            "        grads['W2'], grads['b2'] = self.layers[2].grads\n"
            "        return grads\n"),
        "gradient_check": _check(
            "    grad_backprop = network.gradient(x, t)\n"
            "    grad_numerical = network.numerical_gradient(x, t)\n"
            "    errors = {}\n"
            "    for key in network.params.keys():\n"
            "        errors[key] = rel_error(grad_backprop[key], grad_numerical[key])\n"
            "    return errors\n"),
    },
    "einsum_tanh_own_softmax": {
        "Affine": _affine(
            "        self.x = x.copy()\n"
            "        return np.einsum('nd,dh->nh', x, W) + b[np.newaxis, :]\n",
            "        self.grads[0][:] = np.einsum('nd,nh->dh', self.x, dy)\n"
            "        self.grads[1][:] = dy.sum(axis=0)\n"
            "        return np.einsum('nh,dh->nd', dy, W)\n"),
        # sigmoid through tanh; the local gradient from the stored output
        "Sigmoid": _sigmoid(
            "        self.out = 0.5 * (1.0 + np.tanh(0.5 * x))\n"
            "        return self.out\n",
            "        y = self.out\n"
            "        return dy * (y - y ** 2)\n"),
        # mask multiplied in, input kept instead of a mask
        "Relu": ("class Relu:\n"
                 "    def __init__(self):\n"
                 "        self.params, self.grads = [], []\n"
                 "        self.x = None\n"
                 "\n"
                 "    def forward(self, x):\n"
                 "        self.x = x.copy()\n"
                 "        return np.maximum(x, 0)\n"
                 "\n"
                 "    def backward(self, dy):\n"
                 "        return dy * (self.x > 0)\n"),
        # own stable softmax and mean of -log over the rows, labels kept as integers
        "SoftmaxWithLoss": _softmax(
            "        z = x - x.max(axis=1, keepdims=True)\n"
            "        self.y = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)\n"
            "        labels = t if t.ndim == 1 else t.argmax(axis=1)\n"
            "        self.t = labels\n"
            "        return -np.mean(np.log(self.y[np.arange(len(labels)), labels] + 1e-7))\n",
            "        dx = self.y.copy()\n"
            "        dx[np.arange(len(self.t)), self.t] -= 1\n"
            "        return dout * dx / len(self.t)\n"),
        "TwoLayerNet": _net(
            "        loss = self.loss(x, t)\n"
            "        grad = self.last_layer.backward()\n"
            "        for i in range(len(self.layers) - 1, -1, -1):\n"
            "            grad = self.layers[i].backward(grad)\n"
            "        first, second = self.layers[0], self.layers[2]\n"
            "        return {'W1': first.grads[0].copy(), 'b1': first.grads[1].copy(),\n"
            "                'W2': second.grads[0].copy(), 'b2': second.grads[1].copy()}\n"),
        "gradient_check": _check(
            "    numerical = network.numerical_gradient(x, t)\n"
            "    backprop = network.gradient(x, t)\n"
            "    return {key: float(rel_error(numerical[key], backprop[key]))\n"
            "            for key in sorted(network.params)}\n"),
    },
    "loops_and_where": {
        "Affine": _affine(
            "        self.x = x\n"
            "        y = np.zeros((x.shape[0], W.shape[1]))\n"
            "        for n in range(x.shape[0]):\n"
            "            y[n] = x[n] @ W + b\n"
            "        return y\n",
            "        dW = self.grads[0]\n"
            "        dW.fill(0.0)\n"
            "        for n in range(dy.shape[0]):\n"
            "            dW += np.outer(self.x[n], dy[n])\n"
            "        self.grads[1][...] = dy.sum(axis=0)\n"
            "        return np.matmul(dy, W.T)\n"),
        # 1 / (1 + e^-x) written as e^x / (1 + e^x) for x < 0 (no overflow), via np.where
        "Sigmoid": _sigmoid(
            "        e = np.exp(-np.abs(x))\n"
            "        self.out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))\n"
            "        return self.out\n",
            "        return dy * self.out * (1 - self.out)\n"),
        "Relu": _relu(
            "        self.mask = np.asarray(x) > 0\n"
            "        return x * self.mask\n",
            "        return dy * self.mask\n"),
        "SoftmaxWithLoss": _softmax(
            "        self.y = softmax(x)\n"
            "        self.t = t if t.ndim == 2 else np.identity(x.shape[1])[t]\n"
            "        return float(-np.sum(self.t * np.log(self.y + 1e-7)) / x.shape[0])\n",
            "        N = self.y.shape[0]\n"
            "        return (self.y - self.t) * (dout / N)\n"),
        "TwoLayerNet": _net(
            _NET_BACKWARD +
            "        names = [('W1', 'b1'), ('W2', 'b2')]\n"
            "        affines = [layer for layer in self.layers if layer.params]\n"
            "        grads = {}\n"
            "        for (w, b), layer in zip(names, affines):\n"
            "            grads[w] = layer.grads[0].copy()\n"
            "            grads[b] = layer.grads[1].copy()\n"
            "        return grads\n"),
        "gradient_check": _check(
            "    numerical, backprop = network.numerical_gradient(x, t), network.gradient(x, t)\n"
            "    result = {}\n"
            "    for key in numerical:\n"
            "        a, b = numerical[key], backprop[key]\n"
            "        scale = np.maximum(1e-8, np.abs(a) + np.abs(b))\n"
            "        result[key] = np.max(np.abs(a - b) / scale)\n"
            "    return result\n"),
    },
}

MISTAKES = {
    # ---------------------------------------------------------------- Affine
    "affine_forget_bias": {
        "cells": {"Affine": _affine("        self.x = x\n"
                                    "        return x @ W\n", _affine_backward())},
        "fails": ["Affine_test"],  # TwoLayerNet starts with b = 0: its test cannot see this
        "message": "b を足し忘れていませんか?",
    },
    "affine_dx_without_transpose": {
        "cells": {"Affine": _affine(_AFFINE_FORWARD, _affine_backward(dx="dy @ W"))},
        "fails": ["Affine_test", "TwoLayerNet_gradient_test"],
        "message": "dx の計算で W を転置していますか?",
    },
    "affine_dW_without_transpose": {
        "cells": {"Affine": _affine(_AFFINE_FORWARD, _affine_backward(
            dW="self.grads[0][...] = self.x @ dy"))},
        "fails": ["Affine_test", "Affine_state_test", "TwoLayerNet_gradient_test"],
        "message": "dW の計算で x を転置していますか?",
    },
    "affine_db_sum_of_everything": {
        "cells": {"Affine": _affine(_AFFINE_FORWARD, _affine_backward(
            db="self.grads[1][...] = np.sum(dy)"))},
        "fails": ["Affine_test", "Affine_state_test", "TwoLayerNet_gradient_test"],
        "message": "np.sum(dy) で全部を 1 つの数に足していませんか?",
    },
    "affine_db_mean": {
        "cells": {"Affine": _affine(_AFFINE_FORWARD, _affine_backward(
            db="self.grads[1][...] = np.mean(dy, axis=0)"))},
        "fails": ["Affine_test", "Affine_state_test", "TwoLayerNet_gradient_test"],
        "message": "平均ではなく和をとります",
    },
    "affine_grads_accumulated": {
        "cells": {"Affine": _affine(_AFFINE_FORWARD, _affine_backward(
            dW="self.grads[0] += self.x.T @ dy", db="self.grads[1] += np.sum(dy, axis=0)"))},
        "fails": ["Affine_state_test"],  # one backward per fresh net in the TwoLayerNet test
        "message": "self.grads[0] += dW のように足し込んでいませんか?",
    },
    "affine_keeps_first_input": {
        "cells": {"Affine": _affine("        if self.x is None:\n"
                                    "            self.x = x\n"
                                    "        return x @ W + b\n", _affine_backward())},
        "fails": ["Affine_state_test", "TwoLayerNet_gradient_test"],
        "message": "最初の forward の入力で dW を計算しています",
    },
    # ---------------------------------------------------------------- Sigmoid
    "sigmoid_backward_from_input": {
        "cells": {"Sigmoid": ("class Sigmoid:\n"
                              "    def __init__(self):\n"
                              "        self.params, self.grads = [], []\n"
                              "        self.x = None\n"
                              "\n"
                              "    def forward(self, x):\n"
                              "        self.x = x\n"
                              "        return 1 / (1 + np.exp(-x))\n"
                              "\n"
                              "    def backward(self, dy):\n"
                              "        return dy * self.x * (1 - self.x)\n")},
        "fails": ["Sigmoid_test", "TwoLayerNet_gradient_test"],
        "message": "順伝播の入力 x ではなく出力 y を使います",
    },
    "sigmoid_backward_without_dy": {
        "cells": {"Sigmoid": _sigmoid(_SIGMOID_FORWARD,
                                      "        return self.out * (1 - self.out)\n")},
        "fails": ["Sigmoid_test", "TwoLayerNet_gradient_test"],
        "message": "上流から来た勾配 dy を掛けていますか?",
    },
    "sigmoid_backward_missing_one_minus_y": {
        "cells": {"Sigmoid": _sigmoid(_SIGMOID_FORWARD, "        return dy * self.out\n")},
        "fails": ["Sigmoid_test", "TwoLayerNet_gradient_test"],
        "message": "(1 - y) を掛け忘れていませんか?",
    },
    "sigmoid_forward_sign": {
        "cells": {"Sigmoid": _sigmoid("        self.out = 1 / (1 + np.exp(x))\n"
                                      "        return self.out\n",
                                      "        return dy * self.out * (1 - self.out)\n")},
        "fails": ["Sigmoid_test", "TwoLayerNet_gradient_test"],
        "message": "exp(-x) の符号を確かめてください",
    },
    # ---------------------------------------------------------------- Relu
    "relu_backward_without_dy": {
        "cells": {"Relu": _relu(_RELU_FORWARD, "        return self.mask.astype(float)\n")},
        "fails": ["Relu_test", "TwoLayerNet_gradient_test"],
        "message": "dy を通していますか?",
    },
    "relu_mask_from_dy": {
        "cells": {"Relu": _relu(_RELU_FORWARD, "        return np.where(dy > 0, dy, 0.0)\n")},
        "fails": ["Relu_test", "TwoLayerNet_gradient_test"],
        "message": "dy の符号で通す場所を決めていませんか?",
    },
    "relu_forward_overwrites_x": {
        "cells": {"Relu": _relu("        self.mask = x <= 0\n"
                                "        x[self.mask] = 0\n"
                                "        return x\n",
                                "        dy[self.mask] = 0\n"
                                "        return dy\n")},
        "fails": ["Relu_test"],
        "message": "x[x <= 0] = 0 のように書くなら, 先に x.copy() してからにします",
    },
    "relu_backward_passes_everything": {
        "cells": {"Relu": _relu(_RELU_FORWARD, "        return dy\n")},
        "fails": ["Relu_test", "TwoLayerNet_gradient_test"],
        "message": "x が負の場所の勾配を 0 にしていますか?",
    },
    # ---------------------------------------------------------------- SoftmaxWithLoss
    "softmax_backward_not_divided_by_n": {
        "cells": {"SoftmaxWithLoss": _softmax(_SOFTMAX_FORWARD,
                                              "        return dout * (self.y - self.t)\n")},
        "fails": ["SoftmaxWithLoss_test", "TwoLayerNet_gradient_test"],
        "message": "バッチの大きさ N で割っていますか?",
    },
    "softmax_labels_not_one_hot": {
        "cells": {"SoftmaxWithLoss": _softmax("        self.y = softmax(x)\n"
                                              "        self.t = t\n"
                                              "        return cross_entropy_error(self.y, t)\n",
                                              _SOFTMAX_BACKWARD)},
        "fails": ["SoftmaxWithLoss_test", "TwoLayerNet_gradient_test"],
        "message": "one-hot (N, C) に直してから",
    },
    "softmax_backward_ignores_dout": {  # the book's backward(dout=1) never uses dout
        "cells": {"SoftmaxWithLoss": _softmax(
            _SOFTMAX_FORWARD, "        return (self.y - self.t) / self.y.shape[0]\n")},
        "fails": ["SoftmaxWithLoss_test"],
        "message": "dout を掛けていますか?",
    },
    "softmax_loss_summed": {
        "cells": {"SoftmaxWithLoss": _softmax(
            "        self.y = softmax(x)\n"
            "        self.t = np.eye(x.shape[1])[t] if t.ndim == 1 else t\n"
            "        return -np.sum(self.t * np.log(self.y + 1e-7))\n", _SOFTMAX_BACKWARD)},
        "fails": ["SoftmaxWithLoss_test"],
        "message": "バッチの合計になっています",
    },
    "softmax_backward_sign": {
        "cells": {"SoftmaxWithLoss": _softmax(
            _SOFTMAX_FORWARD, "        return dout * (self.t - self.y) / self.y.shape[0]\n")},
        "fails": ["SoftmaxWithLoss_test", "TwoLayerNet_gradient_test"],
        "message": "符号が逆です",
    },
    # ---------------------------------------------------------------- TwoLayerNet.gradient
    "net_no_forward": {
        "cells": {"TwoLayerNet": _net(
            "        dout = self.last_layer.backward(1)\n"
            "        for layer in reversed(self.layers):\n"
            "            dout = layer.backward(dout)\n"
            "        (dW1, db1), (dW2, db2) = self.layers[0].grads, self.layers[2].grads\n"
            + _NET_RETURN)},
        "fails": ["TwoLayerNet_gradient_test"],
        "message": "gradient の最初に順伝播 self.loss(x, t) をしていますか?",
    },
    "net_swapped_layers": {
        "cells": {"TwoLayerNet": _net(
            _NET_BACKWARD +
            "        (dW1, db1), (dW2, db2) = self.layers[2].grads, self.layers[0].grads\n"
            + _NET_RETURN)},
        "fails": ["TwoLayerNet_gradient_test"],
        "message": "取り違えていませんか?",
    },
    "net_starts_from_y_minus_t": {
        "cells": {"TwoLayerNet": _net(
            "        self.loss(x, t)\n"
            "        dout = self.last_layer.y - self.last_layer.t\n"
            "        for layer in reversed(self.layers):\n"
            "            dout = layer.backward(dout)\n"
            "        (dW1, db1), (dW2, db2) = self.layers[0].grads, self.layers[2].grads\n"
            + _NET_RETURN)},
        "fails": ["TwoLayerNet_gradient_test"],
        "message": "N で割っていない y - t を使っていませんか?",
    },
    # ---------------------------------------------------------------- gradient_check
    "check_compares_backprop_with_itself": {
        "cells": {"gradient_check": _check(
            "    grads = network.gradient(x, t)\n"
            "    return {key: rel_error(grads[key], network.gradient(x, t)[key])\n"
            "            for key in network.params}\n")},
        "fails": ["gradient_check_test"],
        "message": "同じ方法の勾配どうしを比べると",
    },
    "check_absolute_difference": {
        "cells": {"gradient_check": _check(
            "    numerical, backprop = network.numerical_gradient(x, t), network.gradient(x, t)\n"
            "    return {key: np.max(np.abs(numerical[key] - backprop[key]))\n"
            "            for key in network.params}\n")},
        "fails": ["gradient_check_test"],
        "message": "相対誤差 rel_error を返してください",
    },
    "check_fixed_keys": {
        "cells": {"gradient_check": _check(
            "    numerical, backprop = network.numerical_gradient(x, t), network.gradient(x, t)\n"
            "    return {key: rel_error(numerical[key], backprop[key])\n"
            "            for key in ('W1', 'b1', 'W2', 'b2') if key in numerical}\n")},
        "fails": ["gradient_check_test"],
        "message": "network.params のキーごとの相対誤差を dict で返してください",
    },
}
