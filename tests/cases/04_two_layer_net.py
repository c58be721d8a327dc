"""Correct answers written differently and typical mistakes for 04_two_layer_net.

Used by tests/test_cases.py.

Keys of each case are solution grade_ids of source/04_two_layer_net/04_two_layer_net.ipynb
("TwoLayerNet", "train"); values replace the whole cell. Most mistakes are the master's answer
with one edit (``_edit`` fails loudly if the edited text is not found).
"""


def _edit(source, *pairs):
    """``source`` with each (old, new) replaced; every ``old`` must occur in ``source``."""
    for old, new in pairs:
        if old not in source:
            raise ValueError(f"not found in the base answer: {old!r}")
        source = source.replace(old, new)
    return source


# The master's answer (without the BEGIN/END SOLUTION markers).
_NET = '''class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, seed=None):
        rng = np.random.RandomState(seed)
        self.params = {
            "W1": weight_init_std * rng.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": weight_init_std * rng.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }

    def predict(self, x):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        z1 = sigmoid(x @ W1 + b1)
        return softmax(z1 @ W2 + b2)

    def loss(self, x, t):
        return cross_entropy_error(self.predict(x), t)

    def accuracy(self, x, t):
        predicted = np.argmax(self.predict(x), axis=1)
        labels = np.argmax(t, axis=1) if t.ndim == 2 else t
        return float(np.sum(predicted == labels) / x.shape[0])

    def numerical_gradient(self, x, t):
        def loss_w(W):
            return self.loss(x, t)

        return {key: numerical_gradient(loss_w, self.params[key])
                for key in ("W1", "b1", "W2", "b2")}
'''

# The given backprop method, appended to every TwoLayerNet answer below.
_GRADIENT = '''
    def gradient(self, x, t):
        return two_layer_gradient(self.params, x, t)
'''

_TRAIN = '''\
def train(network, x_train, t_train, x_test, t_test, *, iters_num, batch_size=100, lr=0.1,
          seed=0, progress=False):
    rng = np.random.RandomState(seed)
    optimizer = SGD(lr=lr)
    train_size = x_train.shape[0]
    iter_per_epoch = max(train_size // batch_size, 1)
    history = {"train_loss": [], "train_acc": [], "test_acc": []}

    for i in tqdm(range(iters_num), disable=not progress):
        batch_mask = rng.choice(train_size, batch_size)
        x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]

        grads = network.gradient(x_batch, t_batch)
        optimizer.update(network.params, grads)
        history["train_loss"].append(network.loss(x_batch, t_batch))

        if i % iter_per_epoch == 0:
            history["train_acc"].append(network.accuracy(x_train, t_train))
            history["test_acc"].append(network.accuracy(x_test, t_test))
    return history
'''


def _net(*pairs):
    return {"TwoLayerNet": _edit(_NET, *pairs) + _GRADIENT}


def _train(*pairs):
    return {"train": _edit(_TRAIN, *pairs)}


_NET_DOT = '''class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, seed=None):
        rng = np.random.default_rng(seed)
        self.params = {}
        self.params["W1"] = weight_init_std * rng.standard_normal((input_size, hidden_size))
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = weight_init_std * rng.standard_normal((hidden_size, output_size))
        self.params["b2"] = np.zeros(output_size)

    def predict(self, x):
        a1 = np.dot(x, self.params["W1"]) + self.params["b1"]
        z1 = sigmoid(a1)
        a2 = np.dot(z1, self.params["W2"]) + self.params["b2"]
        return softmax(a2)

    def loss(self, x, t):
        y = self.predict(x)
        return cross_entropy_error(y, t)

    def accuracy(self, x, t):
        y = np.argmax(self.predict(x), axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        return np.mean(y == t)

    def numerical_gradient(self, x, t):
        grads = {}
        for key in ("W1", "b1", "W2", "b2"):
            grads[key] = numerical_gradient(self.loss, self.params[key], x, t)
        return grads
'''

_NET_EINSUM = '''class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, seed=None):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": rng.normal(0.0, weight_init_std, size=(input_size, hidden_size)),
            "b1": np.zeros(hidden_size, dtype=np.float64),
            "W2": rng.normal(0.0, weight_init_std, size=(hidden_size, output_size)),
            "b2": np.zeros(output_size, dtype=np.float64),
        }

    def predict(self, x):
        p = self.params
        hidden = sigmoid(np.einsum("ni,ih->nh", x, p["W1"]) + p["b1"])
        scores = np.einsum("nh,ho->no", hidden, p["W2"]) + p["b2"]
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def loss(self, x, t):
        return cross_entropy_error(self.predict(x), t)

    def accuracy(self, x, t):
        labels = t if t.ndim == 1 else t.argmax(axis=1)
        hits = np.count_nonzero(self.predict(x).argmax(axis=1) == labels)
        return hits / len(x)

    def numerical_gradient(self, x, t):
        f = lambda W: self.loss(x, t)  # noqa: E731
        return {name: numerical_gradient(f, value) for name, value in self.params.items()}
'''

_NET_BOOK = '''class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, seed=None):
        self.rng = np.random.RandomState(seed)
        self.params = {}
        self.params['W1'] = weight_init_std * self.rng.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * self.rng.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

    def predict(self, x):
        W1, W2 = self.params['W1'], self.params['W2']
        b1, b2 = self.params['b1'], self.params['b2']
        z1 = 1.0 / (1.0 + np.exp(-(x @ W1 + b1)))
        y = softmax(z1 @ W2 + b2)
        return y

    def loss(self, x, t):
        return cross_entropy_error(self.predict(x), t)

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        accuracy = np.sum(y == t) / float(x.shape[0])
        return accuracy

    def numerical_gradient(self, x, t):
        loss_W = lambda W: self.loss(x, t)  # noqa: E731
        grads = {}
        grads['W1'] = numerical_gradient(loss_W, self.params['W1'])
        grads['b1'] = numerical_gradient(loss_W, self.params['b1'])
        grads['W2'] = numerical_gradient(loss_W, self.params['W2'])
        grads['b2'] = numerical_gradient(loss_W, self.params['b2'])
        return grads
'''

_TRAIN_PERMUTATION = '''\
def train(network, x_train, t_train, x_test, t_test, *, iters_num, batch_size=100, lr=0.1,
          seed=0, progress=False):
    rng = np.random.default_rng(seed)
    train_size = len(x_train)
    iter_per_epoch = max(train_size // batch_size, 1)
    history = {"train_loss": [], "train_acc": [], "test_acc": []}
    order, position = rng.permutation(train_size), 0
    for i in tqdm(range(iters_num), disable=not progress):
        if position + batch_size > train_size:
            order, position = rng.permutation(train_size), 0
        batch = order[position:position + batch_size]
        position += batch_size
        x_batch, t_batch = x_train[batch], t_train[batch]
        grads = network.gradient(x_batch, t_batch)
        for key in network.params:
            network.params[key] -= lr * grads[key]
        history["train_loss"].append(float(network.loss(x_batch, t_batch)))
        if i % iter_per_epoch == 0:
            history["train_acc"].append(network.accuracy(x_train, t_train))
            history["test_acc"].append(network.accuracy(x_test, t_test))
    return history
'''

_TRAIN_NO_REPLACE = '''\
def train(network, x_train, t_train, x_test, t_test, *, iters_num, batch_size=100, lr=0.1,
          seed=0, progress=False):
    random_state = np.random.RandomState(seed)
    n = x_train.shape[0]
    per_epoch = n // batch_size if n >= batch_size else 1
    train_loss, train_acc, test_acc = [], [], []
    for i in range(iters_num):
        idx = random_state.choice(n, size=batch_size, replace=False)
        xb = x_train[idx]
        tb = t_train[idx]
        train_loss.append(network.loss(xb, tb))  # loss before the update
        grads = network.gradient(xb, tb)
        for key in grads:
            network.params[key] = network.params[key] - lr * grads[key]
        if i % per_epoch == 0:
            train_acc.append(network.accuracy(x_train, t_train))
            test_acc.append(network.accuracy(x_test, t_test))
    return {"train_loss": train_loss, "train_acc": train_acc, "test_acc": test_acc}
'''

_TRAIN_INTEGERS = '''\
def train(network, x_train, t_train, x_test, t_test, *, iters_num, batch_size=100, lr=0.1,
          seed=0, progress=False):
    rng = np.random.default_rng(seed)
    sgd = SGD(lr)
    iter_per_epoch = max(x_train.shape[0] // batch_size, 1)
    history = {key: [] for key in ("train_loss", "train_acc", "test_acc")}
    bar = tqdm(total=iters_num, disable=not progress)
    for i in range(iters_num):
        mask = rng.integers(0, x_train.shape[0], size=batch_size)
        sgd.update(network.params, network.gradient(x_train[mask], t_train[mask]))
        history["train_loss"].append(network.loss(x_train[mask], t_train[mask]))
        if not i % iter_per_epoch:
            data = {"train_acc": (x_train, t_train), "test_acc": (x_test, t_test)}
            for name, (x, t) in data.items():
                history[name].append(network.accuracy(x, t))
        bar.update(1)
    bar.close()
    return history
'''

CORRECT = {
    "matmul_randomstate_choice": {"TwoLayerNet": _NET + _GRADIENT, "train": _TRAIN},
    "dot_default_rng_args_form_permutation": {"TwoLayerNet": _NET_DOT + _GRADIENT,
                                              "train": _TRAIN_PERMUTATION},
    "einsum_normal_own_softmax_no_replace": {"TwoLayerNet": _NET_EINSUM + _GRADIENT,
                                             "train": _TRAIN_NO_REPLACE},
    "book_style_integers": {"TwoLayerNet": _NET_BOOK + _GRADIENT, "train": _TRAIN_INTEGERS},
}

MISTAKES = {
    # __init__
    "init_global_rng": {
        "cells": _net(("rng = np.random.RandomState(seed)",
                       "np.random.seed(seed)\n        rng = np.random")),
        "fails": ["TwoLayerNet_init_test"],
        "message": "グローバルな乱数",
    },
    "init_weights_not_scaled": {
        "cells": _net(("weight_init_std * rng.randn", "rng.randn")),
        "fails": ["TwoLayerNet_init_test"],
        "message": "weight_init_std を掛けていますか",
    },
    "init_bias_random": {
        "cells": _net(('"b1": np.zeros(hidden_size)',
                       '"b1": weight_init_std * rng.randn(hidden_size)'),
                      ('"b2": np.zeros(output_size)',
                       '"b2": weight_init_std * rng.randn(output_size)')),
        "fails": ["TwoLayerNet_init_test"],
        "message": "バイアスは np.zeros で 0 に",
    },
    "init_uniform_rand": {
        "cells": _net(("rng.randn(", "rng.rand(")),
        "fails": ["TwoLayerNet_init_test"],
        "message": "randn (平均 0 の標準正規分布)",
    },
    "init_seed_ignored": {
        "cells": _net(("np.random.RandomState(seed)", "np.random.RandomState()")),
        "fails": ["TwoLayerNet_init_test"],
        "message": "seed を使っていますか",
    },
    # predict
    "predict_no_softmax": {
        "cells": _net(("return softmax(z1 @ W2 + b2)", "return z1 @ W2 + b2")),
        "fails": ["TwoLayerNet_predict_test", "TwoLayerNet_loss_test",
                  "TwoLayerNet_numerical_gradient_test"],
        "message": "出力層に softmax をかけていますか",
    },
    "predict_relu_hidden": {
        "cells": _net(("z1 = sigmoid(x @ W1 + b1)", "z1 = np.maximum(0, x @ W1 + b1)")),
        "fails": ["TwoLayerNet_predict_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "sigmoid を使っていますか",
    },
    "predict_no_hidden_activation": {
        "cells": _net(("z1 = sigmoid(x @ W1 + b1)", "z1 = x @ W1 + b1")),
        "fails": ["TwoLayerNet_predict_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "sigmoid を使っていますか",
    },
    "predict_softmax_over_columns": {
        "cells": _net(("return softmax(z1 @ W2 + b2)",
                       "a2 = z1 @ W2 + b2\n        e = np.exp(a2 - a2.max())\n"
                       "        return e / e.sum(axis=0)")),
        "fails": ["TwoLayerNet_predict_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "列ごと (axis=0) に正規化",
    },
    "predict_forgets_b1": {
        "cells": _net(("z1 = sigmoid(x @ W1 + b1)", "z1 = sigmoid(x @ W1)")),
        "fails": ["TwoLayerNet_predict_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "b1 を足し忘れていませんか",
    },
    # loss
    "loss_arguments_swapped": {
        "cells": _net(("return cross_entropy_error(self.predict(x), t)",
                       "return cross_entropy_error(t, self.predict(x))")),
        "fails": ["TwoLayerNet_loss_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "引数の順番が逆です",
    },
    "loss_mean_squared_error": {
        "cells": _net(("return cross_entropy_error(self.predict(x), t)",
                       "return mean_squared_error(self.predict(x), t)")),
        "fails": ["TwoLayerNet_loss_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "2 乗和誤差になっています",
    },
    "loss_sum_not_mean": {
        "cells": _net(("return cross_entropy_error(self.predict(x), t)",
                       "y = self.predict(x)\n        return -np.sum(t * np.log(y + 1e-7))")),
        "fails": ["TwoLayerNet_loss_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "バッチの合計になっています",
    },
    # accuracy
    "accuracy_onehot_without_argmax": {
        "cells": _net(("labels = np.argmax(t, axis=1) if t.ndim == 2 else t", "labels = t")),
        "fails": ["TwoLayerNet_accuracy_test"],
        "message": "one-hot の t をそのまま予測ラベルと比べて",
    },
    "accuracy_divides_by_features": {
        "cells": _net(("/ x.shape[0]", "/ x.shape[1]")),
        "fails": ["TwoLayerNet_accuracy_test"],
        "message": "x.shape[1] (入力の次元) で割って",
    },
    "accuracy_divides_by_t_size": {
        "cells": _net(("/ x.shape[0]", "/ t.size")),
        "fails": ["TwoLayerNet_accuracy_test"],
        "message": "t.size (one-hot では N × クラス数) で割って",
    },
    "accuracy_labels_unsupported": {
        "cells": _net(("labels = np.argmax(t, axis=1) if t.ndim == 2 else t",
                       "labels = np.argmax(t, axis=1)")),
        "fails": ["TwoLayerNet_accuracy_test"],
        "message": "t.ndim で one-hot (2 次元) かどうか",
    },
    "accuracy_percent": {
        "cells": _net(("/ x.shape[0])", "/ x.shape[0] * 100)")),
        "fails": ["TwoLayerNet_accuracy_test"],
        "message": "百分率ではなく",
    },
    # numerical_gradient
    "numgrad_only_W1": {
        "cells": _net(('for key in ("W1", "b1", "W2", "b2")}', 'for key in ("W1",)}')),
        "fails": ["TwoLayerNet_numerical_gradient_test"],
        "message": "4 つのパラメータすべての勾配",
    },
    "numgrad_on_a_copy": {
        "cells": _net(("numerical_gradient(loss_w, self.params[key])",
                       "numerical_gradient(loss_w, self.params[key].copy())")),
        "fails": ["TwoLayerNet_numerical_gradient_test"],
        "message": "勾配がすべて 0 です",
    },
    "numgrad_loss_computed_once": {
        "cells": _net(("        def loss_w(W):\n            return self.loss(x, t)\n",
                       "        value = self.loss(x, t)\n\n"
                       "        def loss_w(W):\n            return value\n")),
        "fails": ["TwoLayerNet_numerical_gradient_test"],
        "message": "勾配がすべて 0 です",
    },
    "numgrad_same_param_for_every_key": {
        "cells": _net(("numerical_gradient(loss_w, self.params[key])",
                       'numerical_gradient(loss_w, self.params["W1"])')),
        "fails": ["TwoLayerNet_numerical_gradient_test"],
        "message": "キーごとに self.params[key] を",
    },
    # train
    "train_always_first_batch": {
        "cells": _train(("batch_mask = rng.choice(train_size, batch_size)",
                         "batch_mask = np.arange(batch_size)")),
        "fails": ["train_sampling_test"],
        "message": "先頭ばかり使っていませんか",
    },
    "train_batch_chosen_once": {
        "cells": _train(("    for i in tqdm(range(iters_num), disable=not progress):\n"
                         "        batch_mask = rng.choice(train_size, batch_size)\n",
                         "    batch_mask = rng.choice(train_size, batch_size)\n"
                         "    for i in tqdm(range(iters_num), disable=not progress):\n")),
        "fails": ["train_sampling_test"],
        "message": "反復ごとに乱数でミニバッチを選び直して",
    },
    "train_accuracy_every_iteration": {
        "cells": _train(("        if i % iter_per_epoch == 0:\n"
                         "            history[\"train_acc\"]", "        if True:\n"
                         "            history[\"train_acc\"]")),
        "fails": ["train_test"],
        "message": "精度を反復ごとに記録していませんか",
    },
    "train_float_iter_per_epoch": {
        "cells": _train(("max(train_size // batch_size, 1)", "max(train_size / batch_size, 1)")),
        "fails": ["train_test"],
        "message": "整数の割り算 //",
    },
    "train_global_rng": {
        "cells": _train(("batch_mask = rng.choice(train_size, batch_size)",
                         "batch_mask = np.random.choice(train_size, batch_size)")),
        "fails": ["train_sampling_test"],
        "message": "グローバルな乱数",
    },
    "train_seed_ignored": {
        "cells": _train(("rng = np.random.RandomState(seed)", "rng = np.random.RandomState()")),
        "fails": ["train_sampling_test"],
        "message": "乱数生成器を seed から作っていますか",
    },
    "train_fixed_seed": {
        "cells": _train(("rng = np.random.RandomState(seed)", "rng = np.random.RandomState(0)")),
        "fails": ["train_sampling_test"],
        "message": "引数の seed を乱数生成器に渡していますか",
    },
    "train_x_and_t_sampled_separately": {
        "cells": _train(("x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]",
                         "x_batch = x_train[batch_mask]\n"
                         "        t_batch = t_train[rng.choice(train_size, batch_size)]")),
        "fails": ["train_test", "train_sampling_test"],
        "message": "x と t は同じ添字 (batch_mask) で取り出して",
    },
    "train_shuffles_arguments_in_place": {
        "cells": _train(("        batch_mask = rng.choice(train_size, batch_size)\n",
                         "        if i % iter_per_epoch == 0:\n"
                         "            order = rng.permutation(train_size)\n"
                         "            x_train[:] = x_train[order]\n"
                         "            t_train[:] = t_train[order]\n"
                         "        start = (i % iter_per_epoch) * batch_size\n"
                         "        batch_mask = np.arange(start, start + batch_size)\n")),
        "fails": ["train_sampling_test"],
        "message": "引数の配列を直接書き換えていませんか",
    },
    "train_lr_ignored": {
        "cells": _train(("optimizer = SGD(lr=lr)", "optimizer = SGD()")),
        "fails": ["train_update_test"],
        "message": "SGD() に lr を渡さないと既定値 0.01",
    },
    "train_no_update": {
        "cells": _train(("        optimizer.update(network.params, grads)\n", "")),
        "fails": ["train_test", "train_update_test"],
        "message": "パラメータが更新されていません",
    },
    "train_gradient_ascent": {
        "cells": _train(("optimizer = SGD(lr=lr)", "optimizer = SGD(lr=-lr)")),
        "fails": ["train_test", "train_update_test"],
        "message": "勾配の向きに進んでいます",
    },
    "train_uses_numerical_gradient": {
        "cells": _train(("network.gradient(x_batch, t_batch)",
                         "network.numerical_gradient(x_batch, t_batch)")),
        "fails": ["train_test", "train_update_test", "train_sampling_test"],
        "message": "学習には速い gradient を使ってください",
    },
    "train_accuracies_swapped": {
        "cells": _train(('history["train_acc"].append(network.accuracy(x_train, t_train))',
                         'history["train_acc"].append(network.accuracy(x_test, t_test))'),
                        ('history["test_acc"].append(network.accuracy(x_test, t_test))',
                         'history["test_acc"].append(network.accuracy(x_train, t_train))')),
        "fails": ["train_update_test"],
        "message": "train_acc にテストデータの精度を記録していませんか",
    },
    # fake objects: a value that lies about itself must not pass a check
    "cheat_bias_equal_to_zero": {  # random biases in an ndarray that says it == 0
        "cells": {"TwoLayerNet": (
            "class _ZeroLooking(np.ndarray):\n"
            "    def __eq__(self, other):\n"
            "        if isinstance(other, int) and other == 0:\n"
            "            return np.ones(self.shape, dtype=bool)\n"
            "        return np.asarray(self) == other\n"
            "\n"
            "\n"
            + _edit(_NET, ('"b1": np.zeros(hidden_size)',
                           '"b1": (weight_init_std * rng.randn(hidden_size)).view(_ZeroLooking)'),
                    ('"b2": np.zeros(output_size)',
                     '"b2": (weight_init_std * rng.randn(output_size)).view(_ZeroLooking)'))
            + _GRADIENT)},
        "fails": ["TwoLayerNet_init_test"],
        "message": "バイアスは np.zeros で 0 に",
    },
    "cheat_params_key_equal_to_anything": {  # the key "bias2" made to pass for "b2"
        "cells": {"TwoLayerNet": (
            "class _AnyKey(str):\n"
            "    def __eq__(self, other):\n"
            "        return True\n"
            "\n"
            "    def __ne__(self, other):\n"
            "        return False\n"
            "\n"
            "    def __hash__(self):\n"
            "        return hash(\"b2\")\n"
            "\n"
            "\n"
            + _edit(_NET, ('"b2": np.zeros(output_size)',
                           '_AnyKey("bias2"): np.zeros(output_size)'))
            + _GRADIENT)},
        # the tests (in the judge) see the key as an opaque object, never equal to "b2": the
        # loss test, which sets params["b2"], fails as well
        "fails": ["TwoLayerNet_init_test", "TwoLayerNet_loss_test"],
        "message": "dict で作ってください",
    },
    "cheat_loss_number_equal_to_anything": {  # the mean squared error, equal to anything
        "cells": {"TwoLayerNet": (
            "class _Loss(float):\n"
            "    def __eq__(self, other):\n"
            "        return True\n"
            "\n"
            "    def __ne__(self, other):\n"
            "        return False\n"
            "\n"
            "    __hash__ = float.__hash__\n"
            "\n"
            "    def __array_function__(self, func, types, args, kwargs):\n"
            "        return 0\n"
            "\n"
            "\n"
            + _edit(_NET, ("return cross_entropy_error(self.predict(x), t)",
                           "return _Loss(mean_squared_error(self.predict(x), t))"))
            + _GRADIENT)},
        "fails": ["TwoLayerNet_loss_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "2 乗和誤差になっています",
    },
    # only W1 differentiated; a dict subclass lists all four keys and fills in the others
    "cheat_numgrad_dict_subclass": {
        "cells": {"TwoLayerNet": (
            "class _Grads(dict):\n"
            "    def __init__(self, values, fill):\n"
            "        super().__init__(values)\n"
            "        self.fill = fill\n"
            "\n"
            "    def __iter__(self):\n"
            "        return iter((\"W1\", \"b1\", \"W2\", \"b2\"))\n"
            "\n"
            "    def __missing__(self, key):\n"
            "        return self.fill[key]\n"
            "\n"
            "\n"
            + _edit(_NET, ('        return {key: numerical_gradient(loss_w, self.params[key])\n'
                           '                for key in ("W1", "b1", "W2", "b2")}\n',
                           '        grad_W1 = numerical_gradient(loss_w, self.params["W1"])\n'
                           '        return _Grads({"W1": grad_W1}, self.gradient(x, t))\n'))
            + _GRADIENT)},
        "fails": ["TwoLayerNet_numerical_gradient_test"],
        "message": "4 つのパラメータすべての勾配",
    },
    # gradient (in the student's cell) made to agree with a numerical gradient that is all 0:
    # the test computes the backprop gradient itself
    "cheat_gradient_agrees_with_zero_numgrad": {
        "cells": {"TwoLayerNet": (
            _edit(_NET, ("numerical_gradient(loss_w, self.params[key])",
                         "numerical_gradient(loss_w, self.params[key].copy())"))
            + _edit(_GRADIENT, ("return two_layer_gradient(self.params, x, t)",
                                "return {k: np.zeros_like(v) for k, v in self.params.items()}")))},
        "fails": ["TwoLayerNet_numerical_gradient_test"],
        "message": "勾配がすべて 0 です",
    },
}

# --- Learners' code as found in study repositories (issue 12) ---
MISTAKES.update({
    "learner_book_randn_init": {
        "cells": _net(("rng = np.random.RandomState(seed)\n", ""),
                      ("weight_init_std * rng.randn(input_size, hidden_size)",
                       "weight_init_std * np.random.randn(input_size, hidden_size)"),
                      ("weight_init_std * rng.randn(hidden_size, output_size)",
                       "weight_init_std * np.random.randn(hidden_size, output_size)")),
        "fails": ["TwoLayerNet_init_test"],
        "message": "書籍",
    },
    "learner_sigmoid_after_softmax": {
        "cells": _net(("return softmax(z1 @ W2 + b2)", "return sigmoid(softmax(z1 @ W2 + b2))")),
        "fails": ["TwoLayerNet_predict_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "softmax のあとに sigmoid",
    },
    "learner_softmax_over_whole_batch": {
        "cells": {"TwoLayerNet": _edit(_NET, ("return softmax(z1 @ W2 + b2)",
                                              "a2 = z1 @ W2 + b2\n"
                                              "        exp_a = np.exp(a2 - np.max(a2))\n"
                                              "        return exp_a / np.sum(exp_a)")) + _GRADIENT},
        "fails": ["TwoLayerNet_predict_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "バッチ全体",
    },
    "learner_book_accuracy_argmax_labels": {
        "cells": _net(("labels = np.argmax(t, axis=1) if t.ndim == 2 else t",
                       "labels = np.argmax(t, axis=1)")),
        "fails": ["TwoLayerNet_accuracy_test"],
        "message": "書籍の accuracy",
    },
    "learner_typo_cross_entropy": {
        "cells": _net(("return cross_entropy_error(self.predict(x), t)",
                       "y = self.predict(x)\n        return cross_entropy_eror(y, t)")),
        "fails": ["TwoLayerNet_loss_test", "TwoLayerNet_numerical_gradient_test"],
        "message": "cross_entropy_error の打ち間違い",
    },
    "learner_params_not_created": {
        "cells": _net(("self.params = {\n", "self.param = {\n")),
        "fails": [
            "TwoLayerNet_init_test",
            "TwoLayerNet_predict_test",
            "TwoLayerNet_loss_test",
            "TwoLayerNet_accuracy_test",
            "TwoLayerNet_numerical_gradient_test",
        ],
        "message": "param を params に直して",
    },
    "learner_predict_dot_order": {
        "cells": _net(("z1 = sigmoid(x @ W1 + b1)", "z1 = sigmoid(np.dot(W1, x) + b1)")),
        "fails": [
            "TwoLayerNet_predict_test",
            "TwoLayerNet_loss_test",
            "TwoLayerNet_accuracy_test",
            "TwoLayerNet_numerical_gradient_test",
        ],
        "message": "積の順番",
    },
    "learner_train_fixed_keys": {
        "cells": _train(("optimizer.update(network.params, grads)",
                         "for key in ('W1', 'b1', 'W2', 'b2'):\n"
                         "            network.params[key] -= lr * grads[key]")),
        "fails": ["train_test", "train_update_test", "train_sampling_test"],
        "message": "書籍",
    },
    "learner_train_book_global_choice": {
        "cells": _train(("batch_mask = rng.choice(train_size, batch_size)",
                         "batch_mask = np.random.choice(train_size, batch_size)")),
        "fails": ["train_sampling_test"],
        "message": "書籍",
    },
    "learner_train_no_return": {
        "cells": _train(("    return history\n", "    print(history['test_acc'][-1])\n")),
        "fails": ["train_test", "train_update_test", "train_sampling_test"],
        "message": "書籍",
    },
    "learner_unanswered_train": {
        "cells": {"train": (
            "def train(network, x_train, t_train, x_test, t_test, *, iters_num, batch_size=100,\n"
            "          lr=0.1, seed=0, progress=False):\n"
            "    # ここにコードを書いてください\n"
            "    raise NotImplementedError()\n")},
        "fails": ["train_test", "train_update_test", "train_sampling_test"],
        "message": "まだ解答していません",
    },
})

CORRECT.update({
    "learner_train_loops_over_params": {
        "train": (
            "def train(network, x_train, t_train, x_test, t_test, *, iters_num, batch_size=100,\n"
            "          lr=0.1, seed=0, progress=False):\n"
            "    rng = np.random.RandomState(seed)  # 자신만의 난수 생성기\n"
            "    train_size = x_train.shape[0]\n"
            "    iter_per_epoch = max(train_size // batch_size, 1)\n"
            "    train_loss_list, train_acc_list, test_acc_list = [], [], []\n"
            "    for i in tqdm(range(iters_num), disable=not progress):\n"
            "        batch_mask = rng.choice(train_size, batch_size)\n"
            "        x_batch = x_train[batch_mask]\n"
            "        t_batch = t_train[batch_mask]\n"
            "        grad = network.gradient(x_batch, t_batch)\n"
            "        for key in network.params:  # 매개변수 갱신\n"
            "            network.params[key] -= lr * grad[key]\n"
            "        train_loss_list.append(network.loss(x_batch, t_batch))\n"
            "        if i % iter_per_epoch == 0:\n"
            "            train_acc_list.append(network.accuracy(x_train, t_train))\n"
            "            test_acc_list.append(network.accuracy(x_test, t_test))\n"
            "    return {'train_loss': train_loss_list, 'train_acc': train_acc_list,\n"
            "            'test_acc': test_acc_list}\n"
        ),
    },
})

# --- Learners' styles for the rewritten test cells (issue 17/18): loops instead of vectorised
# code, other names, np.dot, in-place updates, a float32 accuracy (an exact fraction; a float32
# loss is no correct answer: its rounding, ~1e-7 of the loss, divided by 2h = 2e-4 swamps
# the numerical gradient) ---
_NET_LEARNER_LOOPS = '''class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, seed=None):
        generator = np.random.RandomState(seed)
        self.params = dict()
        self.params["W1"] = generator.randn(input_size, hidden_size) * weight_init_std
        self.params["b1"] = np.zeros(hidden_size, dtype=np.float64)
        self.params["W2"] = generator.randn(hidden_size, output_size) * weight_init_std
        self.params["b2"] = np.zeros(output_size, dtype=np.float64)

    def predict(self, x):
        hidden = sigmoid(np.dot(x, self.params["W1"]) + self.params["b1"])
        scores = np.dot(hidden, self.params["W2"]) + self.params["b2"]
        return softmax(scores)

    def loss(self, x, t):
        y = self.predict(x)
        return cross_entropy_error(y, t)

    def accuracy(self, x, t):
        y = self.predict(x)
        hits = 0
        for n in range(x.shape[0]):
            answer = np.argmax(t[n]) if t.ndim == 2 else t[n]
            if np.argmax(y[n]) == answer:
                hits += 1
        return np.float32(hits) / np.float32(x.shape[0])

    def numerical_gradient(self, x, t):
        loss_W = lambda W: self.loss(x, t)  # noqa: E731
        grads = {}
        for name in ["W1", "b1", "W2", "b2"]:
            grads[name] = numerical_gradient(loss_W, self.params[name])
        return grads
'''

_TRAIN_LEARNER_LOOPS = '''\
def train(network, x_train, t_train, x_test, t_test, *, iters_num, batch_size=100, lr=0.1,
          seed=0, progress=False):
    generator = np.random.RandomState(seed)
    n_train = len(x_train)
    per_epoch = max(n_train // batch_size, 1)
    train_loss_list, train_acc_list, test_acc_list = [], [], []
    for it in tqdm(range(iters_num), disable=not progress):
        idx = generator.randint(0, n_train, size=batch_size)
        xb = x_train[idx]
        tb = t_train[idx]
        grad = network.gradient(xb, tb)
        for name in grad:
            network.params[name] -= lr * grad[name]
        train_loss_list.append(float(network.loss(xb, tb)))
        if it % per_epoch == 0:
            train_acc_list.append(network.accuracy(x_train, t_train))
            test_acc_list.append(network.accuracy(x_test, t_test))
    return {"train_loss": train_loss_list, "train_acc": train_acc_list,
            "test_acc": test_acc_list}
'''

CORRECT.update({
    # np.dot, a dict filled key by key, a float32 accuracy from a counting loop, in-place
    # updates of each parameter, randint for the mini-batch, lists named as in the book
    "learner_loops_dot_float32": {"TwoLayerNet": _NET_LEARNER_LOOPS + _GRADIENT,
                                  "train": _TRAIN_LEARNER_LOOPS},
})
