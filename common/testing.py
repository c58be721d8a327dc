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

__all__ = [
    "CheckFailed",
    "check_close",
    "check_shape",
    "check_float_dtype",
    "check_true",
    "check_equal",
    "check_new_object",
    "float_array",
    "same",
    "is_plain",
    "unchanged",
    "global_rng_unused",
    "under_grading",
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
    lines = [f"チェック: {check}"]
    if expected is not None:
        lines.append(f"  期待した結果: {expected}")
    if got is not None:
        lines.append(f"  あなたの結果: {got}")
    if cause:
        lines.append(f"  考えられる原因: {cause}")
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
              cause="np.random.randn などグローバルな乱数を使っていませんか? "
                    "np.random.RandomState(seed) で自分専用の乱数生成器を作って使ってください。")


def under_grading() -> bool:
    """nbgrader が採点 (autograde) または validate のために実行しているとき True.

    デモだけのセル (MNIST の学習, 図) を採点時に飛ばすために使う::

        if not under_grading():
            history = train(...)
    """
    return bool(os.environ.get("NBGRADER_EXECUTION"))
