"""Correct answers written differently and typical mistakes for 05_backprop.

See tests/test_cases.py.

Each entry replaces whole solution cells (grade_ids ``Repeat``, ``Sum``, ``MatMul``). The classes
are assembled from their method bodies by the three small builders below, so that every case shows
only what it changes.
"""


def _repeat(forward, backward):
    """Source of a ``Repeat`` cell whose forward/backward bodies are the given (8-space) lines."""
    return ("class Repeat:\n"
            "    def __init__(self, N):\n"
            "        self.N = N\n"
            "        self.params, self.grads = [], []\n"
            "\n"
            "    def forward(self, x):\n"
            f"{forward}\n"
            "    def backward(self, dy):\n"
            f"{backward}")


def _sum(forward, backward):
    """Source of a ``Sum`` cell (forward/backward bodies, 8-space indented)."""
    return ("class Sum:\n"
            "    def __init__(self):\n"
            "        self.params, self.grads = [], []\n"
            "        self.N = None\n"
            "\n"
            "    def forward(self, x):\n"
            f"{forward}\n"
            "    def backward(self, dy):\n"
            f"{backward}")


def _matmul(forward, backward):
    """Source of a ``MatMul`` cell (forward/backward bodies, 8-space indented)."""
    return ("class MatMul:\n"
            "    def __init__(self, W):\n"
            "        self.params = [W]\n"
            "        self.grads = [np.zeros_like(W)]\n"
            "        self.x = None\n"
            "\n"
            "    def forward(self, x):\n"
            "        W, = self.params\n"
            f"{forward}\n"
            "    def backward(self, dy):\n"
            "        W, = self.params\n"
            f"{backward}")


# The master's own bodies, reused by the mistakes that change only one method.
_REPEAT_FORWARD = "        return np.repeat(x, self.N, axis=0)\n"
_REPEAT_BACKWARD = "        return np.sum(dy, axis=0, keepdims=True)\n"
_SUM_FORWARD = ("        self.N = x.shape[0]\n"
                "        return np.sum(x, axis=0, keepdims=True)\n")
_SUM_BACKWARD = "        return np.repeat(dy, self.N, axis=0)\n"
_MATMUL_FORWARD = ("        self.x = x\n"
                   "        return x @ W\n")


def _matmul_backward(dx="dy @ W.T", dW="self.grads[0][...] = self.x.T @ dy"):
    """MatMul.backward body from its two lines (the master's by default)."""
    return (f"        dx = {dx}\n"
            f"        {dW}\n"
            "        return dx\n")


CORRECT = {
    "tile_loops_dot_copyto": {
        "Repeat": _repeat(
            "        return np.tile(x, (self.N, 1))\n",
            "        dx = np.zeros((1, dy.shape[1]))\n"
            "        for n in range(dy.shape[0]):\n"
            "            dx[0] += dy[n]\n"
            "        return dx\n"),
        "Sum": _sum(
            "        self.N = x.shape[0]\n"
            "        y = np.zeros((1, x.shape[1]))\n"
            "        for row in x:\n"
            "            y += row\n"
            "        return y\n",
            "        return np.tile(dy, (self.N, 1))\n"),
        "MatMul": _matmul(
            "        self.x = x\n"
            "        return np.dot(x, W)\n",
            "        np.copyto(self.grads[0], np.dot(self.x.T, dy))\n"
            "        return np.dot(dy, W.T)\n"),
    },
    "broadcast_ones_einsum": {
        "Repeat": _repeat(
            "        return np.broadcast_to(x, (self.N, x.shape[1])).copy()\n",
            "        return np.ones((1, self.N)) @ dy\n"),
        "Sum": _sum(
            "        self.N = len(x)\n"
            "        return np.ones((1, len(x))) @ x\n",
            "        return np.broadcast_to(dy, (self.N, dy.shape[1])).copy()\n"),
        "MatMul": _matmul(
            "        self.x = x\n"
            "        return np.einsum('nd,dh->nh', x, W)\n",
            "        self.grads[0][:] = np.einsum('nd,nh->dh', self.x, dy)\n"
            "        return np.einsum('nh,dh->nd', dy, W)\n"),
    },
    "ones_matmul_store_copy": {
        "Repeat": _repeat(
            "        return np.ones((self.N, 1)) @ x\n",
            "        return dy.sum(axis=0)[np.newaxis, :]\n"),
        # stores the whole input instead of its row count
        "Sum": ("class Sum:\n"
                "    def __init__(self):\n"
                "        self.params, self.grads = [], []\n"
                "        self.x = None\n"
                "\n"
                "    def forward(self, x):\n"
                "        self.x = x\n"
                "        return x.sum(axis=0).reshape(1, -1)\n"
                "\n"
                "    def backward(self, dy):\n"
                "        return np.ones((self.x.shape[0], 1)) @ dy\n"),
        # keeps a private copy of x; dx computed through the transpose of a product
        "MatMul": _matmul(
            "        self.x = x.copy()\n"
            "        return np.matmul(x, W)\n",
            "        dW = np.matmul(self.x.T, dy)\n"
            "        self.grads[0][...] = dW\n"
            "        return (W @ dy.T).T\n"),
    },
    "loops_everywhere": {
        "Repeat": _repeat(
            "        return np.array([x[0] for _ in range(self.N)])\n",
            "        return np.array([sum(dy[n] for n in range(len(dy)))])\n"),
        "Sum": _sum(
            "        self.N = x.shape[0]\n"
            "        return np.array([[x[:, d].sum() for d in range(x.shape[1])]])\n",
            "        return np.vstack([dy] * self.N)\n"),
        "MatMul": _matmul(
            "        self.x = x\n"
            "        N, D = x.shape\n"
            "        y = np.zeros((N, W.shape[1]))\n"
            "        for n in range(N):\n"
            "            for d in range(D):\n"
            "                y[n] += x[n, d] * W[d]\n"
            "        return y\n",
            "        dW = self.grads[0]\n"
            "        dW.fill(0.0)\n"
            "        for n in range(dy.shape[0]):\n"
            "            dW += np.outer(self.x[n], dy[n])\n"
            "        return np.array([[dy[n] @ W[d] for d in range(W.shape[0])]\n"
            "                         for n in range(dy.shape[0])])\n"),
    },
}

MISTAKES = {
    # ---------------------------------------------------------------- Repeat
    "repeat_backward_mean": {
        "cells": {"Repeat": _repeat(_REPEAT_FORWARD,
                                    "        return np.mean(dy, axis=0, keepdims=True)\n")},
        "fails": ["Repeat_test"],
        "message": "平均 (np.mean)",
    },
    "repeat_backward_returns_dy": {
        "cells": {"Repeat": _repeat(_REPEAT_FORWARD, "        return dy\n")},
        "fails": ["Repeat_test"],
        "message": "dy をそのまま返していませんか? N 本にコピーされた枝",
    },
    "repeat_backward_without_keepdims": {
        "cells": {"Repeat": _repeat(_REPEAT_FORWARD, "        return np.sum(dy, axis=0)\n")},
        "fails": ["Repeat_test"],
        "message": "keepdims=True",
    },
    "repeat_forward_without_axis": {
        "cells": {"Repeat": _repeat("        return np.repeat(x, self.N)\n", _REPEAT_BACKWARD)},
        "fails": ["Repeat_test"],
        "message": "axis=0 を指定していますか",
    },
    # ---------------------------------------------------------------- Sum
    "sum_backward_repeats_x": {  # the seed's bug: np.repeat of the forward input, not of dy
        "cells": {"Sum": ("class Sum:\n"
                          "    def __init__(self):\n"
                          "        self.params, self.grads = [], []\n"
                          "        self.x = None\n"
                          "\n"
                          "    def forward(self, x):\n"
                          "        self.x = x\n"
                          "        return np.sum(x, axis=0, keepdims=True)\n"
                          "\n"
                          "    def backward(self, dy):\n"
                          "        return np.repeat(self.x, self.x.shape[0], axis=0)\n")},
        "fails": ["Sum_test"],
        "message": "dy ではなく順伝播の入力 x を使っていませんか",
    },
    "sum_backward_returns_x": {  # the same confusion with the right shape
        "cells": {"Sum": ("class Sum:\n"
                          "    def __init__(self):\n"
                          "        self.params, self.grads = [], []\n"
                          "        self.x = None\n"
                          "\n"
                          "    def forward(self, x):\n"
                          "        self.x = x\n"
                          "        return np.sum(x, axis=0, keepdims=True)\n"
                          "\n"
                          "    def backward(self, dy):\n"
                          "        return self.x\n")},
        "fails": ["Sum_test"],
        "message": "dy ではなく順伝播の入力 x を使っていませんか",
    },
    "sum_backward_returns_dy": {
        "cells": {"Sum": _sum(_SUM_FORWARD, "        return dy\n")},
        "fails": ["Sum_test"],
        "message": "dy をそのまま返していませんか? 足し合わせた N 行",
    },
    "sum_forward_without_keepdims": {
        "cells": {"Sum": _sum("        self.N = x.shape[0]\n"
                              "        return np.sum(x, axis=0)\n", _SUM_BACKWARD)},
        "fails": ["Sum_test"],
        "message": "keepdims=True",
    },
    "sum_backward_divided_by_n": {
        "cells": {"Sum": _sum(_SUM_FORWARD,
                              "        return np.repeat(dy, self.N, axis=0) / self.N\n")},
        "fails": ["Sum_test"],
        "message": "N で割っていませんか",
    },
    # ---------------------------------------------------------------- MatMul
    "matmul_dx_without_transpose": {
        "cells": {"MatMul": _matmul(_MATMUL_FORWARD,
                                    _matmul_backward(dx="dy @ W"))},
        "fails": ["MatMul_test"],
        "message": "dx の計算で W を転置していません",
    },
    "matmul_dW_without_transpose": {
        "cells": {"MatMul": _matmul(_MATMUL_FORWARD,
                                    _matmul_backward(dW="self.grads[0][...] = self.x @ dy"))},
        "fails": ["MatMul_test"],
        "message": "dW の計算で x を転置していません",
    },
    "matmul_dW_transposed": {
        "cells": {"MatMul": _matmul(_MATMUL_FORWARD,
                                    _matmul_backward(dW="self.grads[0][...] = dy.T @ self.x"))},
        "fails": ["MatMul_test"],
        "message": "dW が転置された向き",
    },
    "matmul_grads_reassigned": {
        "cells": {"MatMul": _matmul(_MATMUL_FORWARD,
                                    _matmul_backward(dW="self.grads[0] = self.x.T @ dy"))},
        "fails": ["MatMul_inplace_test"],
        "message": "self.grads[0] = dW と代入すると",
    },
    "matmul_grads_accumulated": {
        "cells": {"MatMul": _matmul(_MATMUL_FORWARD,
                                    _matmul_backward(dW="self.grads[0] += self.x.T @ dy"))},
        "fails": ["MatMul_inplace_test"],
        "message": "足し込んでいませんか",
    },
    "matmul_x_not_stored": {
        "cells": {"MatMul": _matmul("        return x @ W\n",
                                    _matmul_backward())},
        "fails": ["MatMul_test", "MatMul_inplace_test", "MatMul_state_test"],
        "message": "forward で受け取った x を self.x に保存していますか",
    },
    "matmul_keeps_first_input": {
        "cells": {"MatMul": _matmul("        if self.x is None:\n"
                                    "            self.x = x\n"
                                    "        return x @ W\n",
                                    _matmul_backward())},
        "fails": ["MatMul_state_test"],
        "message": "最初の forward の入力で dW を計算しています",
    },
    # ---------------------------------------------------------------- fake objects
    "cheat_repeat_params_list_equal_to_anything": {
        "cells": {"Repeat": ("class _EqualList(list):\n"
                             "    def __eq__(self, other):\n"
                             "        return True\n"
                             "\n"
                             "\n"
                             + _repeat(_REPEAT_FORWARD, _REPEAT_BACKWARD).replace(
                                 "self.params, self.grads = [], []",
                                 "self.params, self.grads = _EqualList([N]), _EqualList([N])"))},
        "fails": ["Repeat_test"],
        "message": "params = grads = [] のままにします",
    },
    "cheat_sum_params_equal_to_anything": {
        "cells": {"Sum": ("class _Anything:\n"
                          "    def __eq__(self, other):\n"
                          "        return True\n"
                          "\n"
                          "    __hash__ = object.__hash__\n"
                          "\n"
                          "\n"
                          + _sum(_SUM_FORWARD, _SUM_BACKWARD).replace(
                              "self.params, self.grads = [], []",
                              "self.params, self.grads = _Anything(), _Anything()"))},
        "fails": ["Sum_test"],
        "message": "params = grads = [] のままにします",
    },
    # forward's output reads right, but any arithmetic on it gives 0: the numerical gradient of
    # sum(forward(x) * dy) would be 0 and a backward returning zeros would agree with it
    "cheat_repeat_forward_zero_arithmetic": {
        "cells": {"Repeat": ("class _Rows(np.ndarray):\n"
                             "    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):\n"
                             "        shape = np.broadcast_shapes(*map(np.shape, inputs))\n"
                             "        return np.zeros(shape)\n"
                             "\n"
                             "\n"
                             + _repeat("        return np.repeat(x, self.N, axis=0).view(_Rows)\n",
                                       "        return np.zeros((1, dy.shape[1]))\n"))},
        "fails": ["Repeat_test"],
        "message": "dy の N 行ぶんを足した値",
    },
    # grads[0] is not an array but a holder whose dW is replaced: it converts to the right dW,
    # but an optimizer doing W -= lr * grads[0] cannot use it
    "cheat_matmul_grads_holder": {
        "cells": {"MatMul": ("class _Holder:\n"
                             "    def __init__(self, shape):\n"
                             "        self.value = np.zeros(shape)\n"
                             "\n"
                             "    def __array__(self, dtype=None, copy=None):\n"
                             "        return np.array(self.value, dtype=dtype)\n"
                             "\n"
                             "    def __ne__(self, other):\n"
                             "        return self.value != other\n"
                             "\n"
                             "    def copy(self):\n"
                             "        return self.value.copy()\n"
                             "\n"
                             "\n"
                             + _matmul(_MATMUL_FORWARD, _matmul_backward(
                                 dW="self.grads[0].value = self.x.T @ dy")).replace(
                                 "self.grads = [np.zeros_like(W)]",
                                 "self.grads = [_Holder(W.shape)]"))},
        # the tests (in the judge) never call the holder's __array__: it is not an array for
        # them, so MatMul_test and MatMul_state_test, which read grads[0], fail as well
        "fails": ["MatMul_inplace_test", "MatMul_test", "MatMul_state_test"],
        "message": "grads = [np.zeros_like(W)] のまま",
    },
}

# --- Learners' code as found in study repositories (issue 12) ---
MISTAKES.update({
    "learner_sum_backward_repeats_output": {
        "cells": {"Sum": _sum(("        self.N = x.shape[0]\n"
                               "        self.y = np.sum(x, axis=0, keepdims=True)\n"
                               "        return self.y\n"),
                              "        return np.repeat(self.y, self.N, axis=0)\n")},
        "fails": ["Sum_test"],
        "message": "順伝播の出力",
    },
    "learner_unfinished_backward": {
        "cells": {"Repeat": _repeat(_REPEAT_FORWARD,
                                    "        # ここにコードを書いてください\n"
                                    "        raise NotImplementedError()\n")},
        "fails": ["Repeat_test"],
        "message": "まだ解答していません",
    },
    "learner_repeat_N_without_self": {
        "cells": {"Repeat": _repeat("        return np.repeat(x, N, axis=0)\n", _REPEAT_BACKWARD)},
        "fails": ["Repeat_test"],
        "message": "self.N",
    },
    "learner_dout_name_from_book": {
        "cells": {"MatMul": _matmul(_MATMUL_FORWARD,
                                    "        dx = np.dot(dout, W.T)\n"
                                    "        dW = np.dot(self.x.T, dout)\n"
                                    "        self.grads[0][...] = dW\n"
                                    "        return dx\n")},
        "fails": ["MatMul_test", "MatMul_inplace_test", "MatMul_state_test"],
        "message": "dout を dy に直して",
    },
    "learner_full_width_asterisk": {
        "cells": {"MatMul": _matmul("        self.x = x\n        return x ＠ W\n",
                                    _matmul_backward())},
        "fails": ["MatMul_test", "MatMul_inplace_test", "MatMul_state_test"],
        "message": "全角の「＠」",
    },
    "learner_sum_numpy_typo": {
        "cells": {"Sum": _sum(_SUM_FORWARD, "        return np.repaet(dy, self.N, axis=0)\n")},
        "fails": ["Sum_test"],
        "message": "np.repeat の打ち間違い",
    },
})

CORRECT.update({
    "learner_tile_and_ones": {
        "Repeat": _repeat("        return np.tile(x, (self.N, 1))  # 复制 N 次\n",
                          "        dx = np.sum(dy, axis=0, keepdims=True)  # 梯度相加\n"
                          "        return dx\n"),
        "Sum": _sum("        self.N = len(x)\n"
                    "        return x.sum(axis=0, keepdims=True)\n",
                    "        return np.ones((self.N, 1)) * dy  # dy を N 行に\n"),
        "MatMul": _matmul("        self.x = x\n"
                          "        return np.dot(x, W)\n",
                          "        dx = np.dot(dy, W.T)\n"
                          "        dW = np.dot(self.x.T, dy)\n"
                          "        self.grads[0][...] = dW  # 深いコピー\n"
                          "        return dx\n"),
    },
})

# --- Learners' styles for the rewritten test cells (issue 17/18): index loops, other names,
# gradients accumulated element by element into grads[0] itself ---
CORRECT.update({
    "learner_index_loops_in_place": {
        "Repeat": _repeat(
            "        rows = [x[0] for _ in range(self.N)]\n"
            "        return np.array(rows)\n",
            "        total = dy[0:1].copy()\n"
            "        for n in range(1, dy.shape[0]):\n"
            "            total = total + dy[n:n + 1]\n"
            "        return total\n"),
        "Sum": _sum(
            "        self.N = x.shape[0]\n"
            "        return np.add.reduce(x, axis=0)[None, :]\n",
            "        return np.vstack([dy] * self.N)\n"),
        "MatMul": _matmul(
            "        self.x = x\n"
            "        out = np.zeros((x.shape[0], W.shape[1]))\n"
            "        for n in range(x.shape[0]):\n"
            "            for h in range(W.shape[1]):\n"
            "                for d in range(W.shape[0]):\n"
            "                    out[n, h] += x[n, d] * W[d, h]\n"
            "        return out\n",
            "        dW = self.grads[0]\n"
            "        dW.fill(0.0)\n"
            "        dx = np.zeros_like(self.x, dtype=float)\n"
            "        for n in range(dy.shape[0]):\n"
            "            for d in range(W.shape[0]):\n"
            "                for h in range(W.shape[1]):\n"
            "                    dW[d, h] += self.x[n, d] * dy[n, h]\n"
            "                    dx[n, d] += dy[n, h] * W[d, h]\n"
            "        return dx\n"),
    },
})
