"""Correct answers written differently and typical mistakes for 02_gradient_descent.

Keys of each case are solution grade_ids of source/02_gradient_descent/02_gradient_descent.ipynb;
values replace the whole cell (see tests/test_cases.py).
"""

CORRECT = {
    "copy_and_inplace_update": {
        "gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    for i in range(step_num):\n"
            "        grad = numerical_gradient(f, x)\n"
            "        x -= lr * grad\n"
            "    return x\n"
        ),
        "gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    x_history = []\n"
            "    for i in range(step_num):\n"
            "        x_history.append(x.copy())\n"
            "        grad = numerical_gradient(f, x)\n"
            "        x -= lr * grad\n"
            "    return x, np.array(x_history)\n"
        ),
    },
    "np_array_float_and_preallocated": {
        "gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = np.array(init_x, dtype=float)\n"
            "    step = 0\n"
            "    while step < step_num:\n"
            "        x = x - lr * numerical_gradient(f, x)\n"
            "        step += 1\n"
            "    return x\n"
        ),
        "gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = np.array(init_x, dtype=float)\n"
            "    history = np.empty((step_num, x.size))\n"
            "    for k in range(step_num):\n"
            "        history[k] = x\n"
            "        x -= lr * numerical_gradient(f, x)\n"
            "    return x, history\n"
        ),
    },
    "rebind_without_copy": {  # x = init_x is harmless when every update makes a new array
        "gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x\n"
            "    for _ in range(step_num):\n"
            "        x = x - lr * numerical_gradient(f, x)\n"
            "    return x\n"
        ),
        "gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x\n"
            "    rows = []\n"
            "    for _ in range(step_num):\n"
            "        rows.append(x)\n"
            "        x = x - lr * numerical_gradient(f, x)\n"
            "    return x, np.vstack(rows)\n"
        ),
    },
}

MISTAKES = {
    # --- gradient_descent ---
    "modifies_init_x": {  # the seed's and the book's version: x is init_x itself
        "cells": {"gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x\n"
            "    for i in range(step_num):\n"
            "        grad = numerical_gradient(f, x)\n"
            "        x -= lr * grad\n"
            "    return x\n"
        )},
        "fails": ["gradient_descent_inplace_test"],
        "message": "x = init_x.copy()",
    },
    "one_step_too_many": {
        "cells": {"gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    for i in range(step_num + 1):\n"
            "        x -= lr * numerical_gradient(f, x)\n"
            "    return x\n"
        )},
        "fails": ["gradient_descent_test"],
        "message": "更新が 1 回多い",
    },
    "lr_ignored": {
        "cells": {"gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    for i in range(step_num):\n"
            "        x -= 0.01 * numerical_gradient(f, x)\n"
            "    return x\n"
        )},
        "fails": ["gradient_descent_test"],
        "message": "引数の lr を使って",
    },
    "ascent_instead_of_descent": {
        "cells": {"gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    for i in range(step_num):\n"
            "        x += lr * numerical_gradient(f, x)\n"
            "    return x\n"
        )},
        "fails": ["gradient_descent_test"],
        "message": "勾配の向きに進んでいませんか",
    },
    # --- gradient_descent_history ---
    "history_recorded_after_update": {
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    history = []\n"
            "    for i in range(step_num):\n"
            "        x -= lr * numerical_gradient(f, x)\n"
            "        history.append(x.copy())\n"
            "    return x, np.array(history)\n"
        )},
        "fails": ["gradient_descent_history_test"],
        "message": "記録が更新の後",
    },
    "history_of_references": {  # append(x) without copy: every row is the final x
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    history = []\n"
            "    for i in range(step_num):\n"
            "        history.append(x)\n"
            "        x -= lr * numerical_gradient(f, x)\n"
            "    return x, np.array(history)\n"
        )},
        "fails": ["gradient_descent_history_test"],
        "message": "history.append(x.copy())",
    },
    "history_one_row_too_many": {  # init recorded before the loop and every update after it
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    history = [x.copy()]\n"
            "    for i in range(step_num):\n"
            "        x -= lr * numerical_gradient(f, x)\n"
            "        history.append(x.copy())\n"
            "    return x, np.array(history)\n"
        )},
        "fails": ["gradient_descent_history_test"],
        "message": "1 行多く",
    },
    "history_modifies_init_x": {  # the seed's history version
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x\n"
            "    x_history = []\n"
            "    for i in range(step_num):\n"
            "        x_history.append(x.copy())\n"
            "        grad = numerical_gradient(f, x)\n"
            "        x -= lr * grad\n"
            "    return x, np.array(x_history)\n"
        )},
        "fails": ["gradient_descent_history_inplace_test"],
        "message": "x = init_x.copy()",
    },
    "history_lr_ignored": {
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    history = []\n"
            "    for i in range(step_num):\n"
            "        history.append(x.copy())\n"
            "        x -= 0.01 * numerical_gradient(f, x)\n"
            "    return x, np.array(history)\n"
        )},
        "fails": ["gradient_descent_history_test"],
        "message": "引数の lr を使って",
    },
    "history_returned_as_list": {
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    history = []\n"
            "    for i in range(step_num):\n"
            "        history.append(x.copy())\n"
            "        x -= lr * numerical_gradient(f, x)\n"
            "    return x, history\n"
        )},
        "fails": ["gradient_descent_history_test"],
        "message": "np.array(history) で配列に",
    },
}

# --- Learners' code as found in study repositories (issue 12) ---
MISTAKES.update({
    "learner_assign_instead_of_update": {
        "cells": {"gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    for i in range(step_num):\n"
            "        grad = numerical_gradient(f, x)\n"
            "        x = lr * grad  # 更新\n"
            "    return x\n"
        )},
        "fails": ["gradient_descent_test"],
        "message": "x = lr * grad",
    },
    "learner_returns_f_of_x": {
        "cells": {"gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    for _ in range(step_num):\n"
            "        x -= lr * numerical_gradient(f, x)\n"
            "    return f(x)  # 最小値\n"
        )},
        "fails": ["gradient_descent_test"],
        "message": "f(x) を返して",
    },
    "learner_book_mutates_init_x": {
        "cells": {"gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x\n"
            "    for i in range(step_num):\n"
            "        grad = numerical_gradient(f, x)\n"
            "        x -= lr * grad\n"
            "    return x\n"
        )},
        "fails": ["gradient_descent_inplace_test"],
        "message": "書籍",
    },
    "learner_typo_numerical_gradiant": {
        "cells": {"gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    for i in range(step_num):\n"
            "        x -= lr * numerical_gradiant(f, x)  # 勾配\n"
            "    return x\n"
        )},
        "fails": ["gradient_descent_test", "gradient_descent_inplace_test"],
        "message": "numerical_gradient の打ち間違い",
    },
    "learner_full_width_equals": {
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    history ＝ []\n"
            "    for i in range(step_num):\n"
            "        history.append(x.copy())\n"
            "        x -= lr * numerical_gradient(f, x)\n"
            "    return x, np.array(history)\n"
        )},
        "fails": ["gradient_descent_history_test", "gradient_descent_history_inplace_test"],
        "message": "全角の「＝」",
    },
    "learner_history_only": {
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    x_history = []\n"
            "    for i in range(step_num):\n"
            "        x_history.append(x.copy())\n"
            "        x -= lr * numerical_gradient(f, x)\n"
            "    return np.array(x_history)\n"
        )},
        "fails": ["gradient_descent_history_test", "gradient_descent_history_inplace_test"],
        "message": "返した値の数が違います",
    },
    "learner_assign_update_zh": {
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x.copy()\n"
            "    history = []\n"
            "    for i in range(step_num):\n"
            "        history.append(x.copy())\n"
            "        grad = numerical_gradient(f, x)\n"
            "        x = lr * grad  # 更新参数\n"
            "    return x, np.array(history)\n"
        )},
        "fails": ["gradient_descent_history_test"],
        "message": "x = lr * grad",
    },
    "learner_unanswered_history": {
        "cells": {"gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    # ここにコードを書いてください\n"
            "    raise NotImplementedError()\n"
        )},
        "fails": ["gradient_descent_history_test", "gradient_descent_history_inplace_test"],
        "message": "まだ解答していません",
    },
})

CORRECT.update({
    "learner_rebinding_update": {  # x = x - ... makes a new array: append(x) without copy is fine
        "gradient_descent": (
            "def gradient_descent(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x  # 書き換えないので copy は要らない\n"
            "    for i in range(step_num):\n"
            "        grad = numerical_gradient(f, x)\n"
            "        x = x - lr * grad\n"
            "    return x\n"
        ),
        "gradient_descent_history": (
            "def gradient_descent_history(f, init_x, lr=0.01, step_num=100):\n"
            "    x = init_x\n"
            "    x_history = []\n"
            "    for i in range(step_num):\n"
            "        x_history.append(x)\n"
            "        x = x - lr * numerical_gradient(f, x)  # 更新参数\n"
            "    return x, np.array(x_history)\n"
        ),
    },
})
