"""Correct answers and typical mistakes for 03_simplenet (read by tests/nbrun.py).

Every case replaces the whole ``simpleNet`` cell. The class is assembled from method bodies
(each line indented by 8 spaces) so that a case spells out only what differs from the model answer.
The predict/loss/gradient tests put a fixed ``W`` into the net before calling it, so a wrong
``__init__`` costs only the ``__init__`` test.
"""

_INIT = """\
        rng = np.random.RandomState(seed)
        self.W = rng.randn(2, 3)
"""
_PREDICT = """\
        return softmax(x @ self.W)
"""
_LOSS = """\
        return cross_entropy_error(self.predict(x), t)
"""
_GRADIENT = """\
        return {"W": numerical_gradient(self.loss, self.W, x, t)}
"""


def _net(init=_INIT, predict=_PREDICT, loss=_LOSS, gradient=_GRADIENT):
    """Source of a whole simpleNet cell with the given method bodies."""
    return ("class simpleNet:\n"
            "    def __init__(self, seed=1234):\n" + init + "\n"
            "    def predict(self, x):\n" + predict + "\n"
            "    def loss(self, x, t):\n" + loss + "\n"
            "    def gradient(self, x, t):\n" + gradient)


CORRECT = {
    # The model answer: x @ W, the args form numerical_gradient(self.loss, self.W, x, t).
    "matmul_args_form": {"simpleNet": _net()},
    # The book's style: np.dot, temporaries, the lambda form, a grads dict filled in.
    "dot_lambda_book_style": {"simpleNet": _net(
        init="""\
        self.W = np.random.RandomState(seed=seed).standard_normal((2, 3))
""",
        predict="""\
        z = np.dot(x, self.W)
        y = softmax(z)
        return y
""",
        loss="""\
        y = self.predict(x)
        loss = cross_entropy_error(y, t)
        return loss
""",
        gradient="""\
        grads = {}
        grads["W"] = numerical_gradient(lambda W: self.loss(x, t), self.W)
        return grads
""")},
    # einsum, a generator kept on self, a stable log-softmax loss written by hand (no 1e-7).
    "einsum_own_log_softmax": {"simpleNet": _net(
        init="""\
        self.rng = np.random.RandomState(seed)
        self.W = self.rng.normal(0.0, 1.0, size=(2, 3))
""",
        predict="""\
        return softmax(np.einsum("...i,ij->...j", x, self.W))
""",
        loss="""\
        z = np.atleast_2d(np.matmul(x, self.W))
        z = z - z.max(axis=1, keepdims=True)
        log_y = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        t = np.asarray(t)
        labels = t.reshape(z.shape).argmax(axis=1) if t.size == z.size else t.reshape(-1)
        return float(-np.mean(log_y[np.arange(z.shape[0]), labels]))
""",
        gradient="""\
        f = self.loss
        return dict(W=numerical_gradient(f, self.W, x, t))
""")},
    # Explicit loops everywhere, a central-difference loop that restores W itself.
    "explicit_loops": {"simpleNet": _net(
        init="""\
        rng = np.random.RandomState(seed)
        self.W = np.array([[rng.randn() for _ in range(3)] for _ in range(2)])
""",
        predict="""\
        x2 = np.atleast_2d(x)
        z = np.zeros((x2.shape[0], self.W.shape[1]))
        for n in range(x2.shape[0]):
            for j in range(self.W.shape[1]):
                for i in range(self.W.shape[0]):
                    z[n, j] += x2[n, i] * self.W[i, j]
        y = softmax(z)
        return y[0] if np.ndim(x) == 1 else y
""",
        gradient="""\
        h = 1e-4
        grad = np.zeros_like(self.W)
        for i in range(self.W.shape[0]):
            for j in range(self.W.shape[1]):
                original = self.W[i, j]
                self.W[i, j] = original + h
                loss_plus = self.loss(x, t)
                self.W[i, j] = original - h
                loss_minus = self.loss(x, t)
                self.W[i, j] = original
                grad[i, j] = (loss_plus - loss_minus) / (2 * h)
        return {"W": grad}
""")},
    # Another valid algorithm: the analytic gradient x^T (y - t) / N, no numerical differences.
    "analytic_gradient": {"simpleNet": _net(gradient="""\
        x2 = np.atleast_2d(x)
        y2 = np.atleast_2d(self.predict(x))
        t = np.asarray(t)
        if t.size == y2.size:
            t2 = t.reshape(y2.shape)
        else:
            t2 = np.eye(y2.shape[1])[t.reshape(-1)]
        return {"W": x2.T @ (y2 - t2) / x2.shape[0]}
""")},
}

MISTAKES = {
    # --- __init__ -------------------------------------------------------------------------------
    "global_random_seed": {  # the seed notebook's bug
        "cells": {"simpleNet": _net(init="""\
        np.random.seed(seed)
        self.W = np.random.randn(2, 3)
""")},
        "fails": ["simpleNet_init_test"],
        "message": "グローバルな乱数",
    },
    "shape_3_by_2": {
        "cells": {"simpleNet": _net(init="""\
        self.W = np.random.RandomState(seed).randn(3, 2)
""")},
        "fails": ["simpleNet_init_test"],
        "message": "randn(3, 2) にしたり .T で転置したり",
    },
    "seed_argument_ignored": {
        "cells": {"simpleNet": _net(init="""\
        self.W = np.random.RandomState(1234).randn(2, 3)
""")},
        "fails": ["simpleNet_init_test"],
        "message": "いつも seed 1234 で W を作っていませんか",
    },
    "default_rng_instead_of_random_state": {
        "cells": {"simpleNet": _net(init="""\
        self.W = np.random.default_rng(seed).standard_normal((2, 3))
""")},
        "fails": ["simpleNet_init_test"],
        "message": "np.random.default_rng を使っていませんか",
    },
    # --- predict --------------------------------------------------------------------------------
    "softmax_missing": {
        "cells": {"simpleNet": _net(predict="""\
        return x @ self.W
""")},
        "fails": ["simpleNet_predict_test", "simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "softmax を通していません",
    },
    "w_times_x_order": {  # works for one sample, breaks on a batch
        "cells": {"simpleNet": _net(predict="""\
        return softmax(np.dot(self.W.T, x))
""")},
        "fails": ["simpleNet_predict_test", "simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "積の順番が逆ではありませんか",
    },
    "softmax_over_whole_batch": {
        "cells": {"simpleNet": _net(predict="""\
        z = x @ self.W
        e = np.exp(z - np.max(z))
        return e / np.sum(e)
""")},
        "fails": ["simpleNet_predict_test", "simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "行 (サンプル) ごとに計算してください",
    },
    "naive_softmax_overflows": {
        "cells": {"simpleNet": _net(predict="""\
        e = np.exp(x @ self.W)
        return e / np.sum(e, axis=-1, keepdims=True)
""")},
        "fails": ["simpleNet_predict_test", "simpleNet_loss_test"],
        "message": "exp がオーバーフローしています",
    },
    # --- loss -----------------------------------------------------------------------------------
    "scores_passed_as_labels": {  # the seed's `return cross_entropy_error(y, z)`
        "cells": {"simpleNet": _net(loss="""\
        z = np.dot(x, self.W)
        y = softmax(z)
        return cross_entropy_error(y, z)
""")},
        "fails": ["simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "教師データ t の代わりにスコア x·W を",
    },
    "arguments_swapped": {
        "cells": {"simpleNet": _net(loss="""\
        return cross_entropy_error(t, self.predict(x))
""")},
        "fails": ["simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "引数の順番が逆です",
    },
    "scores_instead_of_probabilities": {
        "cells": {"simpleNet": _net(loss="""\
        return cross_entropy_error(x @ self.W, t)
""")},
        "fails": ["simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "softmax を通す前のスコア x·W",
    },
    "summed_over_batch": {
        "cells": {"simpleNet": _net(loss="""\
        y = self.predict(x)
        return -np.sum(t * np.log(y + 1e-7))
""")},
        "fails": ["simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "バッチの損失を合計しています",
    },
    "one_hot_targets_only": {
        "cells": {"simpleNet": _net(loss="""\
        y = self.predict(x)
        if y.ndim == 1:
            t = t.reshape(1, t.size)
            y = y.reshape(1, y.size)
        return -np.sum(t * np.log(y + 1e-7)) / y.shape[0]
""")},
        "fails": ["simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "クラス番号 (ラベル) で与えられたとき",
    },
    # --- gradient -------------------------------------------------------------------------------
    "array_instead_of_dict": {
        "cells": {"simpleNet": _net(gradient="""\
        return numerical_gradient(self.loss, self.W, x, t)
""")},
        "fails": ["simpleNet_gradient_test"],
        "message": "辞書に入れて",
    },
    "lambda_passes_weights_as_input": {
        "cells": {"simpleNet": _net(gradient="""\
        return {"W": numerical_gradient(lambda W: self.loss(W, t), self.W)}
""")},
        "fails": ["simpleNet_gradient_test"],
        "message": "lambda の引数 (ずらした重み) を loss の入力 x として",
    },
    "lambda_captures_global_net": {  # the book's `lambda w: net.loss(x, t)` pasted into the class
        "cells": {"simpleNet": _net(gradient="""\
        return {"W": numerical_gradient(lambda W: net.loss(x, t), self.W)}
""")},
        "fails": ["simpleNet_gradient_test"],
        "message": "self ではなく別のネットワーク",
    },
    "gradient_with_respect_to_x": {
        "cells": {"simpleNet": _net(gradient="""\
        return {"W": numerical_gradient(self.loss, x, x, t)}
""")},
        "fails": ["simpleNet_gradient_test"],
        "message": "入力 x ではなく self.W を渡していますか",
    },
    "weights_not_restored": {
        "cells": {"simpleNet": _net(gradient="""\
        h = 1e-4
        grad = np.zeros_like(self.W)
        for idx in np.ndindex(self.W.shape):
            tmp = self.W[idx]
            self.W[idx] = tmp + h
            fxh1 = self.loss(x, t)
            self.W[idx] = tmp - h
            fxh2 = self.loss(x, t)
            grad[idx] = (fxh1 - fxh2) / (2 * h)
        return {"W": grad}
""")},
        "fails": ["simpleNet_gradient_test"],
        "message": "self.W が元の値に戻っていません",
    },
    # --- fake objects: a value that lies about itself must not pass a check ---------------------
    "cheat_loss_claims_finite": {  # naive softmax (nan for large scores) behind a "finite" number
        "cells": {"simpleNet": (
            "class _Finite(float):\n"
            "    \"\"\"A number that every numpy ufunc (np.isfinite...) calls True.\"\"\"\n"
            "\n"
            "    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):\n"
            "        return True\n"
            "\n"
            "\n" + _net(loss="""\
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(x @ self.W)
            y = e / np.sum(e, axis=-1, keepdims=True)
        return _Finite(cross_entropy_error(y, t))
"""))},
        "fails": ["simpleNet_loss_test"],
        # a float subclass is no number for the tests (they run in the judge): told so first
        "message": "数値 (または数値の配列) ではないものが返されています",
    },
}

# --- Learners' code as found in study repositories (issue 12) ---
MISTAKES.update({
    "learner_book_global_randn": {
        "cells": {"simpleNet": _net(
            init="        self.W = np.random.randn(2, 3)  # ガウス分布で初期化\n")},
        "fails": ["simpleNet_init_test"],
        "message": "書籍",
    },
    "learner_book_np_random_seed": {
        "cells": {"simpleNet": _net(init=("        np.random.seed(seed)\n"
                                          "        self.W = np.random.randn(2, 3)\n"))},
        "fails": ["simpleNet_init_test"],
        "message": "書籍",
    },
    "learner_book_predict_scores": {
        "cells": {"simpleNet": _net(predict="        return np.dot(x, self.W)\n",
                                    loss=("        z = self.predict(x)\n"
                                          "        y = softmax(z)\n"
                                          "        loss = cross_entropy_error(y, t)\n"
                                          "        return loss\n"))},
        "fails": ["simpleNet_predict_test"],
        "message": "書籍",
    },
    "learner_double_softmax": {
        "cells": {"simpleNet": _net(loss=("        z = self.predict(x)\n"
                                          "        y = softmax(z)  # 书上的写法\n"
                                          "        return cross_entropy_error(y, t)\n"))},
        "fails": ["simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "もう一度 softmax",
    },
    "learner_typo_numerical_gradint": {
        "cells": {"simpleNet": _net(gradient=(
            "        f = lambda w: self.loss(x, t)\n"
            "        return {'W': numerical_gradint(f, self.W)}\n"))},
        "fails": ["simpleNet_gradient_test"],
        "message": "numerical_gradient の打ち間違い",
    },
    "learner_predict_without_self": {
        "cells": {"simpleNet": _net().replace("    def predict(self, x):", "    def predict(x):")},
        "fails": ["simpleNet_predict_test", "simpleNet_loss_test", "simpleNet_gradient_test"],
        "message": "self",
    },
    "learner_W_not_on_self": {
        "cells": {"simpleNet": _net(init=("        rng = np.random.RandomState(seed)\n"
                                          "        W = rng.randn(2, 3)  # 가중치\n"))},
        "fails": ["simpleNet_init_test"],
        "message": "self.W = ... と保存",
    },
    "learner_full_width_quotes": {
        "cells": {"simpleNet": _net(gradient=(
            "        return {“W”: numerical_gradient(self.loss, self.W, x, t)}\n"))},
        "fails": [
            "simpleNet_init_test",
            "simpleNet_predict_test",
            "simpleNet_loss_test",
            "simpleNet_gradient_test",
        ],
        "message": "全角の「“」",
    },
})

CORRECT.update({
    "learner_book_like_with_private_rng": {
        "simpleNet": _net(
            init="        self.W = np.random.RandomState(seed).randn(2, 3)  # 가중치 초기화\n",
            predict="        return softmax(np.dot(x, self.W))\n",
            loss=("        y = self.predict(x)\n"
                  "        loss = cross_entropy_error(y, t)\n"
                  "        return loss\n"),
            gradient=("        f = lambda w: self.loss(x, t)\n"
                      "        dW = numerical_gradient(f, self.W)\n"
                      "        return {'W': dW}\n")),
    },
})

# --- Learners' styles for the rewritten test cells (issue 17/18) ---
CORRECT.update({
    # the book's numerical_gradient written inline with np.nditer (W changed in place and put
    # back), its own softmax with the maximum subtracted, np.dot, other names
    "learner_nditer_own_softmax": {"simpleNet": _net(
        init="""\
        random_state = np.random.RandomState(seed)
        weights = random_state.randn(2, 3)
        self.W = weights
""",
        predict="""\
        a = np.dot(x, self.W)
        a = a - np.max(a, axis=-1, keepdims=True)
        exp_a = np.exp(a)
        return exp_a / np.sum(exp_a, axis=-1, keepdims=True)
""",
        loss="""\
        probabilities = self.predict(x)
        return cross_entropy_error(probabilities, t)
""",
        gradient="""\
        h = 1e-4
        dW = np.zeros_like(self.W)
        it = np.nditer(self.W, flags=["multi_index"], op_flags=["readwrite"])
        while not it.finished:
            idx = it.multi_index
            tmp_val = self.W[idx]
            self.W[idx] = tmp_val + h
            fxh1 = self.loss(x, t)
            self.W[idx] = tmp_val - h
            fxh2 = self.loss(x, t)
            dW[idx] = (fxh1 - fxh2) / (2 * h)
            self.W[idx] = tmp_val
            it.iternext()
        return {"W": dW}
""")},
})
