"""演習のテストセルが使うチェック関数.

失敗すると :class:`CheckFailed` を送出し, 何を確かめたか・期待した値・実際の値・
考えられる原因を日本語で表示する. IPython ではトレースバックを出さずにこの文面だけを
表示するので, 学生が読むのはメッセージだけになる (隠しテストのソースも引用されない).

使い方 (テストセルの例)::

    from common.testing import check_close
    # 前進差分は 0.200001, 中心差分は 0.2 との差が 1e-12 程度: rtol で両者を分ける
    check_close(numerical_diff(f, 5.0), 0.2, name="numerical_diff(f, 5.0)", rtol=1e-8,
                mistakes=[(0.200001, "前進差分になっていませんか?")])
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import NoReturn

import numpy as np

from common import cellframes, explain, syntax
from common.grad import numerical_gradient

__all__ = [
    "CheckFailed",
    "check_close",
    "check_shape",
    "check_float_dtype",
    "check_true",
    "check_equal",
    "check_new_object",
    "check_dict_keys",
    "check_finite",
    "check_length",
    "calling",
    "numerical_backward",
    "float_array",
    "same",
    "is_plain",
    "unchanged",
    "global_rng_unused",
    "under_grading",
    "explained",
    "install_kernel_hooks",
    "remove_kernel_hooks",
]

# Bound once at import: later monkeypatching of numpy by student code does not reach these.
# A value that comes from student code is never compared as it is (its __eq__, __bool__,
# __array_ufunc__, __array_function__... are the student's): it is first made into a plain
# float ndarray copy by _array (subok=False: an ndarray subclass becomes a base ndarray) or
# checked to be built only of exact builtin types (is_plain) before Python compares it.
_array = np.array
_asarray = np.asarray
_ndarray = np.ndarray
_bool_ = np.bool_
_shares_memory = np.shares_memory
_isclose = np.isclose
_isfinite = np.isfinite
_array2string = np.array2string
_array_equal = np.array_equal
_get_state = np.random.get_state
# Where global_rng_unused reads the global random state. The grader's judge, which runs the tests
# in another process than the student's code, points it at the student's process.
_rng_state_reader = [_get_state]


def read_global_rng_state_with(reader) -> None:
    """採点用: global_rng_unused が見るグローバルな乱数の状態を ``reader()`` から読むようにする.

    テストと学生のコードが別のプロセスで動く採点 (instructor.judge) が使う.
    ``reader`` は ``np.random.get_state()`` と同じ形の値を返す関数.
    """
    _rng_state_reader[0] = reader

# Labels in a failure message (instructor.report reads them back from graded notebooks).
CHECK_LABEL = "チェック"
CAUSE_LABEL = "考えられる原因"


class CheckFailed(AssertionError):
    """A check failed. ``str(exc)`` is the Japanese message shown to the student."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of formatting a traceback: only the message is shown.
        return ["CheckFailed: テストに合格しませんでした", *str(self).splitlines()]


def _repr(value: object) -> str:
    """``repr`` of a value that may come from a student (whose ``__repr__`` may fail)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - any object may come from a student
        return f"{type(value).__name__} 型の値"
    return text[:200] if type(text) is str else f"{type(value).__name__} 型の値"


def _fmt(value: object) -> str:
    """Short, machine-independent text for a value (arrays rounded to 8 significant digits)."""
    if value is None:
        return "None"
    try:
        arr = _asarray(value)
    except Exception:  # noqa: BLE001 - any object may come from a student
        return _repr(value)
    if arr.dtype == object:
        return _repr(value)
    if arr.ndim == 0:
        if arr.dtype.kind in "fiu":
            return format(arr.item(), ".10g")
        return _repr(arr.item())
    text = _array2string(arr, precision=8, floatmode="maxprec", threshold=20, edgeitems=3,
                         max_line_width=90)
    return f"{text}  (shape {arr.shape})"


def _fail(check: str, *, expected: str | None = None, got: str | None = None,
          cause: str | None = None) -> NoReturn:
    lines = [f"{CHECK_LABEL}: {check}"]
    if expected is not None:
        lines.append(f"  期待した結果: {expected}")
    if got is not None:
        lines.append(f"  あなたの結果: {got}")
    if cause:
        lines.append(f"  {CAUSE_LABEL}: {cause}")
    raise CheckFailed("\n".join(lines))


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(_isclose(a, b, rtol=rtol, atol=atol).all())


def check_close(actual: object, expected: object, *, name: str, rtol: float = 1e-5,
                atol: float = 1e-8, hint: str | None = None,
                mistakes: Iterable[tuple[object, str]] = ()) -> None:
    """``actual`` が ``expected`` に近い (同じ shape, 要素ごとに ``np.isclose``) ことを確かめる.

    Args:
        actual: 学生の関数が返した値 (scalar または任意 shape の配列).
        expected: 正しい値 (actual と同じ shape).
        name: 何の値か (例 ``"numerical_diff(f, 5.0)"``). メッセージに使う.
        hint: 原因が特定できないときに表示する一般的なヒント.
        mistakes: ``(よくある誤りが返す値, その誤りの説明)`` の並び. actual がどれかに
            一致すれば, その説明を「考えられる原因」として表示する.
    """
    check = f"{name} の値"
    got = _float_copy(actual, check, expected=_fmt(expected))
    # expected may come from student code too (e.g. a second call of the same function)
    want = _array(expected, dtype=float)
    if got.shape != want.shape:
        _fail(f"{name} の shape", expected=str(want.shape), got=str(got.shape),
              cause=hint or "配列の形が違います。軸の向き・転置・keepdims を確かめてください。")
    if not bool(_isfinite(got).all()):
        _fail(check, expected=_fmt(want), got=_fmt(got),
              cause="nan または inf が含まれています。オーバーフローやゼロ除算を確かめてください。")
    if _close(got, want, rtol, atol):
        return
    cause = hint
    for value, why in mistakes:
        try:
            wrong = _array(value, dtype=float)
        except Exception:  # noqa: BLE001
            continue
        if _close(got, wrong, rtol, atol):
            cause = why
            break
    _fail(check, expected=_fmt(want), got=_fmt(got), cause=cause)


def check_shape(actual: object, shape: tuple[int, ...], *, name: str,
                hint: str | None = None) -> None:
    """``np.shape(actual) == shape`` を確かめる."""
    if actual is None:
        _fail(f"{name} の shape", expected=str(tuple(shape)), got="None",
              cause="値が返されていません。return を書き忘れていませんか?")
    got = _asarray(actual).shape
    if tuple(got) != tuple(shape):
        _fail(f"{name} の shape", expected=str(tuple(shape)), got=str(tuple(got)), cause=hint)


def check_float_dtype(actual: object, *, name: str, hint: str | None = None) -> None:
    """``actual`` が浮動小数点数 (float64 など) の配列であることを確かめる."""
    arr = _asarray(actual)
    if arr.dtype.kind != "f":
        _fail(f"{name} の dtype", expected="浮動小数点数 (float64)", got=str(arr.dtype),
              cause=hint or "整数の配列で計算すると小数が切り捨てられます。"
                            "np.zeros_like(x, dtype=float) などで float の配列を作ってください。")


def check_true(condition: object, *, check: str, expected: str | None = None,
               got: str | None = None, cause: str | None = None) -> None:
    """任意の条件 ``condition`` が真であることを確かめる. 文面はすべて呼び出し側が与える.

    ``condition`` は本物の ``bool`` か ``np.bool_`` でなければならない (真偽の判定を学生の
    オブジェクトの ``__bool__`` に任せない). 学生の値から条件を作るときは, 先に
    :func:`float_array` や :func:`same` で信頼できる値にする.
    """
    if type(condition) is not bool and type(condition) is not _bool_:
        raise TypeError("check_true needs a real bool condition")
    if not condition:
        _fail(check, expected=expected, got=got, cause=cause)


def check_dict_keys(actual: object, keys: Iterable[str], *, name: str, hint: str | None = None,
                    others_allowed: bool = False) -> None:
    """``actual`` が dict で, キーがちょうど ``keys`` であることを確かめる.

    Args:
        actual: 学生の関数が返した値 (または学生のオブジェクトの属性).
        keys: なければならないキー (str) の並び. 文面ではこの順に並べる.
        name: 何の値か (例 ``"net.params"``).
        others_allowed: True なら ``keys`` 以外のキーがあってもよい.

    dict のサブクラスや, キーに組み込みの型でないもの (``__eq__`` を変えた str など) を
    含む値は不合格 (キーの比べ方を学生のオブジェクトに任せない).
    """
    keys = list(keys)
    want = ", ".join(keys)
    expected = f"キー {want} を持つ dict" if others_allowed else f"キー {want} だけを持つ dict"
    if type(actual) is not dict or not is_plain(list(actual)):
        _fail(name, expected=expected, got=f"{type(actual).__name__} 型の値",
              cause=hint or f"{{{', '.join(repr(k) + ': ...' for k in keys)}}} のような dict を"
                            "返してください。")
    found = list(actual)
    missing = [key for key in keys if key not in found]
    extra = [key for key in found if key not in keys]
    if missing or (extra and not others_allowed):
        got = "キー " + (", ".join(sorted(map(str, found))) if found else "なし") + " の dict"
        _fail(name, expected=expected, got=got,
              cause=hint or (f"キー {', '.join(missing)} がありません。" if missing else
                             f"余分なキー {', '.join(map(str, extra))} があります。"))


def check_finite(actual: object, *, name: str, hint: str | None = None) -> np.ndarray:
    """``actual`` が nan も inf も含まない数 (または数の配列) であることを確かめる.

    Returns:
        ``actual`` の素の float の ndarray のコピー (:func:`float_array` と同じ). 続けて比べたり
        計算したりするときはこれを使う.
    """
    values = _float_copy(actual, f"{name} の値", expected="有限の値 (nan や inf を含まない)")
    if not bool(_isfinite(values).all()):
        _fail(f"{name} の値", expected="有限の値 (nan や inf を含まない)",
              got=f"nan または inf を含む値 {_fmt(values)}",
              cause=hint or "オーバーフロー (exp の入力が大きすぎる), log(0), 0 での割り算を"
                            "確かめてください。")
    return values


def check_length(actual: object, length: int, *, name: str, hint: str | None = None) -> None:
    """``len(actual) == length`` を確かめる (``actual`` は list, tuple, または数の配列).

    長さは組み込みの ``len`` (list, tuple) か, 素の float 配列にしてからの ``shape[0]`` で
    求める (学生のオブジェクトの ``__len__`` は使わない).
    """
    kind = type(actual)
    if kind is list or kind is tuple:
        got = len(actual)
    else:
        values = _float_copy(actual, f"len({name})", expected=str(length))
        if values.ndim == 0:
            _fail(f"len({name})", expected=str(length), got=f"長さのない値 {_fmt(values)}",
                  cause=hint or "list (または配列) を返してください。")
        got = values.shape[0]
    if got != length:
        _fail(f"len({name})", expected=str(length), got=str(got), cause=hint)


def numerical_backward(forward, x: np.ndarray, dy: np.ndarray, *, name: str) -> np.ndarray:
    """``backward(dy)`` が返すべき勾配を, ``forward`` の数値微分で求める (レイヤのテスト用).

    スカラー L = Σ forward(x) ⊙ dy の x についての勾配. ∂L/∂y = dy なので, 正しい
    backward(dy) の結果 ∂L/∂x と一致する. forward の出力は素の float 配列にしてから掛ける.

    Args:
        forward: 配列 → 配列の関数 (学生のレイヤの forward など). x の要素をずらして呼ぶ.
        x: forward の入力 (任意の shape). 呼び出しのあとは元の値に戻る.
        dy: forward の出力と同じ shape の, 上流から来た勾配.
        name: forward の呼び出しの名前 (出力が数でないときの文面に使う).
    Returns:
        x と同じ shape の勾配 (新しい配列).
    """
    dy = _array(dy, dtype=float)
    return numerical_gradient(lambda v: float((float_array(forward(v), name=name) * dy).sum()), x)


def float_array(actual: object, *, name: str) -> np.ndarray:
    """学生の関数が返した値を, 比べたり計算したりする前に float の ndarray (コピー) に直す.

    返るのはいつも素の ``np.ndarray`` (サブクラスではない) なので, そのあとの ``==``, ``<``,
    ``np.all`` などは学生のオブジェクトの ``__eq__`` や ``__array_ufunc__`` を通らない.
    None や数値にできない値なら :func:`check_close` と同じ文面で失敗する.
    """
    return _float_copy(actual, f"{name} の値")


def _float_copy(actual: object, check: str, *, expected: str | None = None) -> np.ndarray:
    """A plain float ndarray copy of a student's value, or the check fails saying why."""
    if actual is None:
        _fail(check, expected=expected, got="None",
              cause="値が返されていません。return を書き忘れていませんか?")
    try:
        return _array(actual, dtype=float)
    except Exception:  # noqa: BLE001
        _fail(check, expected=expected, got=_repr(actual),
              cause="数値 (または数値の配列) ではないものが返されています。")


def _is_scalar_type(kind: type) -> bool:
    # identity, not ``in``: a class whose metaclass defines __eq__ could equal int
    return (kind is str or kind is int or kind is float or kind is bool or kind is bytes
            or kind is complex or kind is type(None))


def is_plain(value: object) -> bool:
    """``value`` が組み込みの型そのもの (None, bool, int, float, complex, str, bytes と,
    それらだけでできた list, tuple, dict, set, frozenset) だけでできているとき True.

    型は ``type(x) is ...`` で確かめるので, サブクラス (``__eq__`` を変えた str や dict など) や
    独自のオブジェクトを含めば False. True なら ``==``, ``in``, ``sorted`` などは Python の
    組み込みの比較だけで計算される.
    """
    kind = type(value)
    if _is_scalar_type(kind):
        return True
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return all(is_plain(item) for item in value)
    if kind is dict:
        return all(is_plain(key) and is_plain(item) for key, item in value.items())
    return False


def same(actual: object, expected: object) -> bool:
    """``actual`` と ``expected`` が型まで含めて等しいとき True (学生の ``__eq__`` は使わない).

    比べられるのは組み込みの値 (:func:`is_plain`) と, 数値の dtype の素の ``np.ndarray``
    (同じ dtype・shape・要素). list と tuple は要素ごとに型も比べる. dict のキーと set の要素は
    組み込みの ``==`` で比べる (1 と True は同じキーとみなされる).
    """
    kind = type(actual)
    if kind is not type(expected):
        return False
    if _is_scalar_type(kind):
        return bool(actual == expected)
    if kind is list or kind is tuple:
        return len(actual) == len(expected) and all(
            same(a, e) for a, e in zip(actual, expected, strict=True))
    if kind is set or kind is frozenset:
        return is_plain(actual) and is_plain(expected) and bool(actual == expected)
    if kind is dict:
        return (len(actual) == len(expected) and all(is_plain(key) for key in actual)
                and all(is_plain(key) and key in actual and same(actual[key], item)
                        for key, item in expected.items()))
    if kind is _ndarray:
        return (actual.dtype == expected.dtype and actual.dtype.kind in "biuf"
                and actual.shape == expected.shape and bool(_array_equal(actual, expected)))
    return False


def _show(value: object) -> str:
    if type(value) is _ndarray and value.dtype != object:
        return _fmt(value)
    if is_plain(value):
        return _repr(value)
    return (f"{type(value).__name__} 型の値 (list, dict, str, 数などの組み込みの型"
            "だけでできた値ではありません)")


def check_equal(actual: object, expected: object, *, name: str,
                hint: str | None = None) -> None:
    """``actual`` が ``expected`` と型まで含めて等しい (:func:`same`) ことを確かめる.

    ``expected`` は組み込みの値 (list, dict, str, int など) か素の ``np.ndarray``.
    ``__eq__`` を変えたオブジェクトや list・dict のサブクラスは, 見かけが同じでも不合格.
    """
    if not same(actual, expected):
        _fail(name, expected=_show(expected), got=_show(actual), cause=hint)


def check_new_object(result: object, original: object, *, name: str,
                     hint: str | None = None) -> None:
    """``result`` が ``original`` とは別の配列 (メモリを共有しない) であることを確かめる."""
    # _asarray views an ndarray subclass as a base ndarray: its overrides are not called
    if result is original or (isinstance(result, _ndarray) and isinstance(original, _ndarray)
                              and _shares_memory(_asarray(result), _asarray(original))):
        _fail(f"{name} が新しい配列かどうか", expected="引数とは別の新しい配列",
              got="引数の配列そのもの (またはそのビュー)",
              cause=hint or "引数の配列を書き換えて返していませんか? np.zeros_like や .copy() で"
                            "新しい配列を作ってください。")


@contextlib.contextmanager
def unchanged(array: np.ndarray, *, name: str, hint: str | None = None) -> Iterator[None]:
    """with ブロックの間に ``array`` の中身が変わらない (in-place 変更がない) ことを確かめる.

    Example::

        with unchanged(x, name="引数 x"):
            numerical_gradient(f, x)
    """
    before = _array(array)
    yield
    if not _array_equal(before, _asarray(array)):
        _fail(f"{name} が呼び出しの前後で変わっていないか", expected=_fmt(before),
              got=_fmt(array),
              cause=hint or "引数の配列を直接書き換えていませんか? 変更したら必ず元に戻すか, "
                            ".copy() した配列を使ってください。")


@contextlib.contextmanager
def global_rng_unused(*, name: str) -> Iterator[None]:
    """with ブロックの間にグローバルな乱数 (``np.random.seed`` / ``np.random.randn`` など)
    が使われないことを確かめる."""
    state = _rng_state_reader[0]()
    yield
    after = _rng_state_reader[0]()
    if not same(_array(state[1]), _array(after[1])) or not same(state[2], after[2]):
        _fail(f"{name} がグローバルな乱数を使っていないか", expected="np.random の状態は変わらない",
              got="np.random の状態が変わった",
              cause="np.random.randn などグローバルな乱数を使っていませんか? 書籍のコードは "
                    "np.random.seed, np.random.randn, np.random.choice (グローバルな乱数) を"
                    "使いますが, この課題では np.random.RandomState(seed) で自分専用の"
                    "乱数生成器を作って使います (同じ seed なら同じ結果になり, ほかのコードの"
                    "乱数を変えないため)。")


# -- calling the student's function ---------------------------------------------------------------
def _describe_input(value: object) -> str:
    """One short line for an input the test passes (an array: its shape and, if small, values)."""
    if type(value) is _ndarray and value.dtype != object:
        if value.size <= 6:
            flat = _array2string(value, precision=4, separator=", ", max_line_width=10_000)
            return f"{' '.join(flat.split())} (shape {value.shape})"
        return f"shape {value.shape} の配列"
    if callable(value):
        return f"関数 {getattr(value, '__name__', '')}".rstrip()
    if is_plain(value):
        return _repr(value)[:80]
    return f"{type(value).__name__} 型の値"


def _kernel_explanation(exc: BaseException, call: str, inputs: str | None) -> str | None:
    """The explanation of a live exception in the student's IPython kernel (None outside one)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    cells = _cell_map(shell)
    if shell is None or not cells:
        return None
    text, _ = _explanation(exc, shell, _current_cell_file(exc.__traceback__, cells),
                           called=call, inputs=inputs)
    return text


def _called_error(exc: Exception, call: str, inputs: str | None) -> str:
    """テストが呼んだ ``call`` と入力 ``inputs`` を名指しした :func:`common.explain.explain` の文面.

    採点ではテストは judge (instructor.judge) で動き, 学生のカーネルで起きた例外は, カーネルが
    送った説明の材料 (型の名前, メッセージ, 学生のセルのフレーム, 名前の候補) を ``info``
    に持つ例外として届く. judge が呼び出しの外の例外を説明するときと同じ材料で説明する.
    """
    info = getattr(exc, "info", None)
    if type(info) is dict and type(info.get("n")) is str and type(info.get("f")) is list:
        message = info["k"] if info["n"] == "KeyError" and info.get("k") else info.get("m", "")
        return explain.explain(info["n"], str(message), info["f"], call, info.get("c") or (),
                               inputs)
    text = _kernel_explanation(exc, call, inputs)
    if text is not None:
        return text
    message = repr(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return explain.explain(type(exc).__name__, message, [], call, (), inputs)


@contextlib.contextmanager
def calling(call: str, inputs: dict[str, object] | None = None, *,
            causes: dict[type[BaseException] | tuple[type[BaseException], ...], str] | None = None
            ) -> Iterator[None]:
    """with ブロックの中でテストが学生の関数 ``call`` を呼ぶ. そこで起きた例外は,
    呼んだ関数と入力を名指しした日本語の説明 (:func:`common.explain.explain`) の
    CheckFailed になる.

    Args:
        call: 呼び出しの形 (例 ``"net.predict(x)"``). 文面の「… を呼んだところで」に使う.
        inputs: 入力の名前 → 値. 配列は shape (小さければ値も) で「入力: ...」の行に書く.
        causes: 例外の型 (または型のタプル) → その型のときに考えられる原因 (よくある誤り).
            isinstance で比べ, 最初に当てはまったものの「考えられる原因: ...」の行を足す.

    Example::

        with calling("net.predict(x)", {"x": x}, causes={ValueError: "積の順番が逆では?"}):
            y = net.predict(x)

    CheckFailed (チェックの失敗) と Exception でないもの (KeyboardInterrupt など) はそのまま通す.
    """
    try:
        yield
    except CheckFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - any error of the student's code is explained
        described = None
        if inputs:
            described = ", ".join(f"{key} = {_describe_input(value)}"
                                  for key, value in inputs.items())
        text = _called_error(exc, call, described)
        if not text.startswith(explain.NOT_ANSWERED):
            cause = next((why for kind, why in (causes or {}).items() if isinstance(exc, kind)),
                         None)
            if cause:
                text += f"\n  {CAUSE_LABEL}: {cause}"
        raise CheckFailed(text) from None


def under_grading() -> bool:
    """nbgrader が採点 (autograde) または validate のために実行しているとき True.

    デモだけのセル (MNIST の学習, 図) を採点時に飛ばすために使う::

        if not under_grading():
            history = train(...)
    """
    return bool(os.environ.get("NBGRADER_EXECUTION"))


# -- errors raised by the student's code while a test runs ----------------------------------------
# The explanation itself is a pure function (common.explain.explain) of the error's type name,
# message and the student's cell frames; common.cellframes extracts those from a live exception.
# In the student's own kernel (JupyterLab, nbgrader validate) the IPython hooks that
# :func:`install_kernel_hooks` installs when this module is imported call :func:`explained`.
# Under grading the tests run in the judge (instructor.judge), which calls common.explain.explain
# with the frames and names the kernel's agent sends.

_broken_cells: dict[str, str] = {}  # name a cell defines -> why that cell did not compile


def _cell_map(shell) -> dict:
    return getattr(getattr(shell, "compile", None), "_filename_map", {}) or {}


def _explanation(exc: BaseException, shell, test_file: str | None, *, called: str | None = None,
                 inputs: str | None = None) -> tuple[str | None, bool]:
    """(the Japanese text or None, whether the student's cells are on the traceback).

    ``called``, ``inputs``: the call of the test and its inputs (:func:`calling`), if known.
    """
    if isinstance(exc, CheckFailed) or not isinstance(exc, Exception):
        return None, False
    cells = _cell_map(shell)

    def is_cell(filename: str) -> bool:
        return filename in cells

    def label(filename: str) -> str:
        return f"In [{cells.get(filename, '?')}]"

    def exclude(filename: str) -> bool:
        return filename == test_file

    frames, _ = cellframes.student_frames(exc.__traceback__, is_cell=is_cell, label=label,
                                          exclude=exclude)
    name = getattr(exc, "name", None)
    if type(exc) is NameError and not frames and name in _broken_cells:
        return f"{name} が定義されていません。先に {_broken_cells[name]}", True
    namespace = getattr(shell, "user_ns", {}) or {}
    return cellframes.explain_exception(exc, is_cell=is_cell, label=label, exclude=exclude,
                                        namespace=namespace, called=called,
                                        inputs=inputs), bool(frames)


def explained(exc: BaseException, shell, *, test_file: str | None = None) -> CheckFailed | None:
    """学生のコードがテスト中に送出した例外 ``exc`` を, 日本語の説明付きの CheckFailed にする.

    Args:
        exc: テストのセルの実行中に起きた例外 (``__traceback__`` 付き).
        shell: IPython のシェル (セルのファイル名と実行番号の対応 ``compile._filename_map``).
        test_file: テストのセルのファイル名 (そのフレームは説明に使わない).
    Returns:
        CheckFailed (文面は :func:`common.explain.explain`). 説明しない例外 (CheckFailed そのもの,
        Exception でないもの) なら None.
    """
    text, _ = _explanation(exc, shell, test_file)
    return None if text is None else CheckFailed(text)


def _current_cell_file(tb, cells: dict) -> str | None:
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in cells:
            return tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return None


def _custom_exc(shell, etype, value, tb, tb_offset=None) -> None:  # IPython's handler
    """The student's kernel: a test's error raised in another cell is shown explained.

    IPython (9.x) discards what a custom handler returns: the handler shows the error itself,
    as a CheckFailed with the explanation, or else exactly as IPython would have.
    """
    try:
        if isinstance(value, CheckFailed):
            shell._showtraceback(etype, value, value._render_traceback_())
            return
        text, from_cells = _explanation(value, shell, _current_cell_file(tb, _cell_map(shell)))
        # validate: every error of a test is explained, as the judge does under grading;
        # in JupyterLab only errors raised in the student's other cells
        if text is not None and (from_cells or under_grading()):
            failure = CheckFailed(text)
            shell._showtraceback(CheckFailed, failure, failure._render_traceback_())
            return
    except Exception:  # noqa: BLE001 - never hide the real error behind a bug of ours
        pass
    shell.showtraceback((etype, value, tb), running_compiled_code=True)


def _post_run_cell(result) -> None:
    """A cell that did not compile: say where (line, column, full-width character) in Japanese."""
    info = getattr(result, "info", None)
    source = getattr(info, "raw_cell", "") or ""
    error = getattr(result, "error_before_exec", None)
    names = syntax.defined_names(source)
    if isinstance(error, SyntaxError):
        count = getattr(result, "execution_count", None)
        cell = f"セル In [{count}]" if count else "このセル"
        try:
            from IPython.core.inputtransformer2 import TransformerManager

            source = TransformerManager().transform_cell(source)
        except Exception:  # noqa: BLE001
            pass
        problem = syntax.syntax_problem(source, cell=cell)
        if problem:
            print(problem)
            for name in names:
                _broken_cells[name] = f"{cell} を直してください:\n{problem.splitlines()[0]}"
    else:
        for name in names:
            _broken_cells.pop(name, None)


def install_kernel_hooks(shell=None) -> bool:
    """学生のカーネル (JupyterLab, nbgrader validate) に日本語のエラー説明のフックを入れる.

    テスト中に学生のコードで起きた例外は :func:`explained` の文面で, 読めないセル (SyntaxError)
    は :func:`common.syntax.syntax_problem` の文面で表示する. IPython の外では何もしない.
    採点ではテストは judge (instructor.judge) で動き, judge が同じ説明を作る.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    remove_kernel_hooks(shell)
    shell.set_custom_exc((Exception,), _custom_exc)
    shell.events.register("post_run_cell", _post_run_cell)
    return True


def remove_kernel_hooks(shell) -> None:
    """:func:`install_kernel_hooks` が入れたフックを外す (何度呼んでもよい)."""
    if getattr(shell, "custom_exceptions", ()) == (Exception,):
        shell.set_custom_exc((), None)
    callbacks = shell.events.callbacks.get("post_run_cell", [])
    for callback in list(callbacks):
        if getattr(callback, "__name__", "") == "_post_run_cell" \
                and getattr(callback, "__module__", "") == __name__:
            callbacks.remove(callback)


install_kernel_hooks()
