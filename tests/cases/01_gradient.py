"""Correct answers written differently and typical mistakes for 01_gradient.

Keys of each case are solution grade_ids of source/01_gradient/01_gradient.ipynb; values replace
the whole cell (see tests/test_cases.py).
"""

CORRECT = {
    "book_style": {
        "numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    h = 1e-4  # 0.0001\n"
            "    return (f(x + h) - f(x - h)) / (2 * h)\n"
        ),
        "numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grad = np.zeros_like(x)\n"
            "    for idx in range(x.size):\n"
            "        tmp_val = x[idx]\n"
            "        x[idx] = tmp_val + h\n"
            "        fxh1 = f(x)\n"
            "        x[idx] = tmp_val - h\n"
            "        fxh2 = f(x)\n"
            "        grad[idx] = (fxh1 - fxh2) / (2 * h)\n"
            "        x[idx] = tmp_val\n"
            "    return grad\n"
        ),
        "tangent_line": (
            "def tangent_line(f, x):\n"
            "    d = numerical_diff(f, x)\n"
            "    y = f(x) - d * x\n"
            "    return lambda t: d * t + y\n"
        ),
    },
    "keyword_h_nditer_inner_def": {
        "numerical_diff": (
            "def numerical_diff(f, x, h=1e-4):\n"
            "    return 0.5 * (f(x + h) - f(x - h)) / h\n"
        ),
        "numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grad = np.zeros(x.shape)\n"
            "    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])\n"
            "    while not it.finished:\n"
            "        idx = it.multi_index\n"
            "        saved = float(x[idx])\n"
            "        x[idx] = saved + h\n"
            "        up = f(x)\n"
            "        x[idx] = saved - h\n"
            "        down = f(x)\n"
            "        x[idx] = saved\n"
            "        grad[idx] = (up - down) / (2 * h)\n"
            "        it.iternext()\n"
            "    return grad\n"
        ),
        "tangent_line": (
            "def tangent_line(f, x):\n"
            "    slope = numerical_diff(f, x)\n"
            "    fx = f(x)\n"
            "\n"
            "    def line(t):\n"
            "        return fx + slope * (t - x)\n"
            "\n"
            "    return line\n"
        ),
    },
    "unit_vectors_without_touching_x": {
        "numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    h = 0.0001\n"
            "    fxh1 = f(x + h)\n"
            "    fxh2 = f(x - h)\n"
            "    return (fxh1 - fxh2) / h / 2\n"
        ),
        "numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grads = []\n"
            "    for i in range(len(x)):\n"
            "        e = np.zeros_like(x)\n"
            "        e[i] = h\n"
            "        grads.append((f(x + e) - f(x - e)) / (2 * h))\n"
            "    return np.array(grads, dtype=float)\n"
        ),
        "tangent_line": (
            "def tangent_line(f, x):\n"
            "    return lambda t: numerical_diff(f, x) * (t - x) + f(x)\n"
        ),
    },
    "copy_per_element_comprehension": {
        "numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "\n"
            "    def shifted(i, d):\n"
            "        y = x.copy()\n"
            "        y[i] += d\n"
            "        return f(y)\n"
            "\n"
            "    return np.array([(shifted(i, h) - shifted(i, -h)) / (2 * h)\n"
            "                     for i in range(x.size)])\n"
        ),
    },
}

MISTAKES = {
    # --- numerical_diff ---
    "forward_difference": {
        "cells": {"numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    h = 1e-4\n"
            "    return (f(x + h) - f(x)) / h\n"
        )},
        "fails": ["numerical_diff_test"],
        "message": "前進差分",
    },
    "h_too_small": {  # the book's 'bad example': 1e-50 is lost by rounding, the result is 0.0
        "cells": {"numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    h = 1e-50\n"
            "    return (f(x + h) - f(x - h)) / (2 * h)\n"
        )},
        "fails": ["numerical_diff_test", "tangent_line_test"],
        "message": "h が小さすぎ",
    },
    "divided_by_h_only": {
        "cells": {"numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    h = 1e-4\n"
            "    return (f(x + h) - f(x - h)) / h\n"
        )},
        "fails": ["numerical_diff_test", "tangent_line_test"],
        "message": "2h ではなく h で割って",
    },
    "precedence_2h": {
        "cells": {"numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    h = 1e-4\n"
            "    return (f(x + h) - f(x - h)) / 2*h\n"
        )},
        "fails": ["numerical_diff_test", "tangent_line_test"],
        "message": "括弧でくくって",
    },
    # --- numerical_gradient ---
    "gradient_forward_difference": {
        "cells": {"numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grad = np.zeros_like(x)\n"
            "    fx = f(x)\n"
            "    for i in range(x.size):\n"
            "        tmp = x[i]\n"
            "        x[i] = tmp + h\n"
            "        grad[i] = (f(x) - fx) / h\n"
            "        x[i] = tmp\n"
            "    return grad\n"
        )},
        "fails": ["numerical_gradient_test"],
        "message": "前進差分",
    },
    "x_not_restored": {
        "cells": {"numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grad = np.zeros_like(x)\n"
            "    for i in range(x.size):\n"
            "        tmp = x[i]\n"
            "        x[i] = tmp + h\n"
            "        fxh1 = f(x)\n"
            "        x[i] = tmp - h\n"
            "        fxh2 = f(x)\n"
            "        grad[i] = (fxh1 - fxh2) / (2 * h)\n"
            "    return grad\n"
        )},
        "fails": ["numerical_gradient_test", "numerical_gradient_inplace_test"],
        "message": "元の値に戻していますか",
    },
    "restored_by_adding_h_back": {  # x drifts by a last bit for many values
        "cells": {"numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grad = np.zeros_like(x)\n"
            "    for i in range(x.size):\n"
            "        x[i] += h\n"
            "        fxh1 = f(x)\n"
            "        x[i] -= 2 * h\n"
            "        fxh2 = f(x)\n"
            "        x[i] += h\n"
            "        grad[i] = (fxh1 - fxh2) / (2 * h)\n"
            "    return grad\n"
        )},
        "fails": ["numerical_gradient_test", "numerical_gradient_inplace_test"],
        "message": "丸め誤差で元の値からわずかにずれる",
    },
    "returns_x_itself": {  # grad = x: no new array, x is overwritten with the gradient
        "cells": {"numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grad = x\n"
            "    for i in range(x.size):\n"
            "        tmp = x[i]\n"
            "        x[i] = tmp + h\n"
            "        fxh1 = f(x)\n"
            "        x[i] = tmp - h\n"
            "        fxh2 = f(x)\n"
            "        x[i] = tmp\n"
            "        grad[i] = (fxh1 - fxh2) / (2 * h)\n"
            "    return grad\n"
        )},
        "fails": ["numerical_gradient_test", "numerical_gradient_inplace_test"],
        "message": "同じ配列に別の名前が付くだけ",
    },
    "integer_grad_array": {  # the int array truncates every partial derivative
        "cells": {"numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grad = np.array([0] * len(x))\n"
            "    for i in range(len(x)):\n"
            "        tmp = x[i]\n"
            "        x[i] = tmp + h\n"
            "        fxh1 = f(x)\n"
            "        x[i] = tmp - h\n"
            "        fxh2 = f(x)\n"
            "        x[i] = tmp\n"
            "        grad[i] = (fxh1 - fxh2) / (2 * h)\n"
            "    return grad\n"
        )},
        "fails": ["numerical_gradient_test"],
        "message": "切り捨てられます",
    },
    # --- tangent_line ---
    "tangent_wrong_intercept": {
        "cells": {"tangent_line": (
            "def tangent_line(f, x):\n"
            "    d = numerical_diff(f, x)\n"
            "    return lambda t: d * t + f(x)\n"
        )},
        "fails": ["tangent_line_test"],
        "message": "切片が違います",
    },
    "tangent_intercept_sign": {
        "cells": {"tangent_line": (
            "def tangent_line(f, x):\n"
            "    d = numerical_diff(f, x)\n"
            "    y = f(x) + d * x\n"
            "    return lambda t: d * t + y\n"
        )},
        "fails": ["tangent_line_test"],
        "message": "切片の符号",
    },
    "tangent_slope_at_t": {
        "cells": {"tangent_line": (
            "def tangent_line(f, x):\n"
            "    return lambda t: numerical_diff(f, t) * (t - x) + f(x)\n"
        )},
        "fails": ["tangent_line_test"],
        "message": "傾きに f'(t) を使っていませんか",
    },
    "tangent_returns_number": {
        "cells": {"tangent_line": (
            "def tangent_line(f, x):\n"
            "    d = numerical_diff(f, x)\n"
            "    return d * x + (f(x) - d * x)\n"
        )},
        "fails": ["tangent_line_test"],
        "message": "接線を表す関数を return",
    },
}

# --- Learners' code as found in study repositories (typos, IME slips, other h, comments in
# Japanese / Chinese / Korean). Each names the phrase its feedback must contain (issue 12).
MISTAKES.update({
    "learner_forward_difference_h_1e-3": {
        "cells": {"numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    h = 1e-3  # 微小な値\n"
            "    return (f(x+h) - f(x)) / h  # 前向き差分\n"
        )},
        "fails": ["numerical_diff_test", "tangent_line_test"],
        "message": "前進差分",
    },
    "learner_forward_difference_h_1e-6_zh": {
        "cells": {"numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    delta = 0.000001  # 微小变化量\n"
            "    # 导数的定义\n"
            "    return (f(x + delta) - f(x)) / delta\n"
        )},
        "fails": ["numerical_diff_test"],
        "message": "前進差分",
    },
    "learner_backward_difference_h_1e-5_ko": {
        "cells": {"numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    h = 1e-5  # 아주 작은 값\n"
            "    return (f(x) - f(x - h)) / h  # 후방 차분\n"
        )},
        "fails": ["numerical_diff_test"],
        "message": "後退差分",
    },
    "learner_zero_len_list_buffer": {
        "cells": {"numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grad = [0*len(x)]  # 勾配を入れる\n"
            "    for i in range(len(x)):\n"
            "        tmp = x[i]\n"
            "        x[i] = tmp + h\n"
            "        fxh1 = f(x)\n"
            "        x[i] = tmp - h\n"
            "        fxh2 = f(x)\n"
            "        grad[i] = (fxh1 - fxh2) / (2*h)\n"
            "        x[i] = tmp\n"
            "    return np.array(grad)\n"
        )},
        "fails": ["numerical_gradient_test", "numerical_gradient_inplace_test"],
        "message": "[0*len(x)] は長さ 1",
    },
    "learner_numpy_typo_zero_like": {
        "cells": {"numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4 # 0.0001\n"
            "    grad = np.zero_like(x) # xと同じ形状の配列を生成\n"
            "    for idx in range(x.size):\n"
            "        tmp_val = x[idx]\n"
            "        x[idx] = tmp_val + h\n"
            "        fxh1 = f(x)\n"
            "        x[idx] = tmp_val - h\n"
            "        fxh2 = f(x)\n"
            "        grad[idx] = (fxh1 - fxh2) / (2*h)\n"
            "        x[idx] = tmp_val\n"
            "    return grad\n"
        )},
        "fails": ["numerical_gradient_test", "numerical_gradient_inplace_test"],
        "message": "np.zeros_like の打ち間違い",
    },
    "learner_name_typo_in_tangent": {
        "cells": {"tangent_line": (
            "def tangent_line(f, x):\n"
            "    d = numerical_dif(f, x)  # 傾き\n"
            "    y = f(x) - d*x\n"
            "    return lambda t: d*t + y\n"
        )},
        "fails": ["tangent_line_test"],
        "message": "numerical_diff の打ち間違い",
    },
    "learner_full_width_space": {
        "cells": {"numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    h = 1e-4\n"
            "    return (f(x + h) - f(x - h)) /\u3000(2 * h)\n"
        )},
        "fails": ["numerical_diff_test", "tangent_line_test"],
        "message": "全角スペース (U+3000)",
    },
    "learner_full_width_paren": {
        "cells": {"numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4\n"
            "    grad = np.zeros_like（x）\n"
            "    for i in range(x.size):\n"
            "        v = x[i]\n"
            "        x[i] = v + h\n"
            "        a = f(x)\n"
            "        x[i] = v - h\n"
            "        b = f(x)\n"
            "        x[i] = v\n"
            "        grad[i] = (a - b) / (2 * h)\n"
            "    return grad\n"
        )},
        "fails": ["numerical_gradient_test", "numerical_gradient_inplace_test"],
        "message": "全角の「（」",
    },
    "learner_indentation": {
        "cells": {"tangent_line": (
            "def tangent_line(f, x):\n"
            "    d = numerical_diff(f, x)\n"
            "      y = f(x) - d * x\n"
            "    return lambda t: d * t + y\n"
        )},
        "fails": ["tangent_line_test"],
        "message": "字下げ",
    },
    "learner_missing_default_h": {
        "cells": {"numerical_diff": (
            "def numerical_diff(f, x, h):\n"
            "    return (f(x + h) - f(x - h)) / (2 * h)\n"
        )},
        "fails": ["numerical_diff_test", "tangent_line_test"],
        "message": "引数 'h' が足りません",
    },
    "learner_unanswered_tangent": {
        "cells": {"tangent_line": (
            "def tangent_line(f, x):\n"
            "    # ここにコードを書いてください\n"
            "    raise NotImplementedError()\n"
        )},
        "fails": ["tangent_line_test"],
        "message": "まだ解答していません",
    },
    "learner_batch_version_recursion": {
        "cells": {"numerical_gradient": (
            "def _numerical_gradient_no_batch(f, x):\n"
            "    h = 1e-4\n"
            "    grad = np.zeros_like(x)\n"
            "    for idx in range(x.size):\n"
            "        tmp_val = x[idx]\n"
            "        x[idx] = tmp_val + h\n"
            "        fxh1 = f(x)\n"
            "        x[idx] = tmp_val - h\n"
            "        fxh2 = f(x)\n"
            "        grad[idx] = (fxh1 - fxh2) / (2*h)\n"
            "        x[idx] = tmp_val\n"
            "    return grad\n"
            "\n"
            "\n"
            "def numerical_gradient(f, X):\n"
            "    if X.ndim == 1:\n"
            "        return numerical_gradient(f, X)\n"
            "    grad = np.zeros_like(X)\n"
            "    for idx, x in enumerate(X):\n"
            "        grad[idx] = _numerical_gradient_no_batch(f, x)\n"
            "    return grad\n"
        )},
        "fails": ["numerical_gradient_test", "numerical_gradient_inplace_test"],
        "message": "自分自身を呼び続けて",
    },
})

CORRECT.update({
    "learner_zh_ko_comments": {
        "numerical_diff": (
            "def numerical_diff(f, x):\n"
            "    delta_x = 1e-4  # 中心差分, 微小变化量\n"
            "    return (f(x + delta_x) - f(x - delta_x)) / (2 * delta_x)\n"
        ),
        "numerical_gradient": (
            "def numerical_gradient(f, x):\n"
            "    h = 1e-4  # 아주 작은 값\n"
            "    grad = np.zeros(x.shape)  # 기울기\n"
            "    for i, v in enumerate(x):\n"
            "        v = float(v)\n"
            "        x[i] = v + h\n"
            "        fxh1 = f(x)\n"
            "        x[i] = v - h\n"
            "        fxh2 = f(x)\n"
            "        x[i] = v  # 값 복원\n"
            "        grad[i] = (fxh1 - fxh2) / (2 * h)\n"
            "    return grad\n"
        ),
        "tangent_line": (
            "def tangent_line(f, x):\n"
            "    a = numerical_diff(f, x)  # 斜率\n"
            "    b = f(x) - a * x          # 截距\n"
            "    return lambda t: a * t + b\n"
        ),
    },
})
