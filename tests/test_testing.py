"""common.testing: each check passes when it should; failure messages name the check, the expected
value, the student's value and the cause (in Japanese)."""

import numpy as np
import pytest

from common.explain import NOT_ANSWERED, Frame
from common.testing import (
    CAUSE_LABEL,
    CheckFailed,
    calling,
    check_close,
    check_dict_keys,
    check_equal,
    check_finite,
    check_float_dtype,
    check_length,
    check_new_object,
    check_shape,
    check_true,
    float_array,
    global_rng_unused,
    is_plain,
    numerical_backward,
    same,
    unchanged,
    under_grading,
)


def failure(fn, /, *args, **kwargs):
    """Run a check that must fail and return its message."""
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    return str(info.value)


def assert_lines(message, *parts):
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# check_close

def test_check_close_passes():
    check_close(0.2 + 1e-9, 0.2, name="d")
    check_close(np.array([6.0, 8.0]), [6.0, 8.0], name="grad")
    check_close(np.float64(1.0), 1, name="one")


def test_check_close_names_known_mistake():
    message = failure(check_close, 0.2001, 0.2, name="numerical_diff(f, 5.0)",
                      mistakes=[(0.3, "別の誤り"), (0.2001, "h が大きすぎませんか?")])
    assert_lines(message, "チェック: numerical_diff(f, 5.0) の値", "期待した結果: 0.2",
                 "あなたの結果: 0.2001", "考えられる原因: h が大きすぎませんか?")
    assert "別の誤り" not in message


def test_check_close_falls_back_to_hint():
    message = failure(check_close, [1.0, 2.0], [1.0, 3.0], name="y", hint="符号を確かめて",
                      mistakes=[([5.0, 5.0], "違う誤り")])
    assert_lines(message, "チェック: y の値", "[1. 3.]", "[1. 2.]",
                 "考えられる原因: 符号を確かめて")
    assert "違う誤り" not in message


def test_check_close_without_cause_has_no_cause_line():
    message = failure(check_close, 1.0, 2.0, name="v")
    assert "考えられる原因" not in message
    assert_lines(message, "チェック: v の値", "期待した結果: 2", "あなたの結果: 1")


def test_check_close_none_returned():
    message = failure(check_close, None, [6.0, 8.0], name="grad")
    assert_lines(message, "チェック: grad の値", "[6. 8.]", "あなたの結果: None", "return")


def test_check_close_shape_mismatch():
    message = failure(check_close, np.zeros((2, 3)), np.zeros((3, 2)), name="dW")
    assert_lines(message, "チェック: dW の shape", "期待した結果: (3, 2)",
                 "あなたの結果: (2, 3)", "考えられる原因", "転置")


def test_check_close_nan():
    message = failure(check_close, [np.nan, 1.0], [0.5, 1.0], name="y")
    assert_lines(message, "チェック: y の値", "[0.5 1. ]", "nan", "考えられる原因",
                 "オーバーフロー")


def test_check_close_not_a_number():
    message = failure(check_close, "abc", 1.0, name="loss")
    assert_lines(message, "チェック: loss の値", "'abc'", "数値")


# check_shape, check_float_dtype, check_true, check_new_object

def test_check_shape():
    check_shape(np.zeros((2, 3)), (2, 3), name="x")
    message = failure(check_shape, np.zeros((1, 3)), (3,), name="dx", hint="keepdims")
    assert_lines(message, "チェック: dx の shape", "期待した結果: (3,)", "あなたの結果: (1, 3)",
                 "考えられる原因: keepdims")
    assert_lines(failure(check_shape, None, (2,), name="dx"), "あなたの結果: None", "return")


def test_check_float_dtype():
    check_float_dtype(np.zeros(2), name="grad")
    message = failure(check_float_dtype, np.zeros(2, dtype=np.int64), name="grad")
    assert_lines(message, "チェック: grad の dtype", "float64", "あなたの結果: int64", "切り捨て")
    assert_lines(failure(check_float_dtype, [1, 2], name="g", hint="float で"), "原因: float で")


def test_check_true():
    check_true(True, check="c")
    check_true(np.bool_(True), check="c")
    message = failure(check_true, False, check="初期値を変えない", expected="[1. 2.]",
                      got="[0. 0.]", cause="init_x を書き換えていませんか?")
    assert_lines(message, "チェック: 初期値を変えない", "期待した結果: [1. 2.]",
                 "あなたの結果: [0. 0.]", "考えられる原因: init_x を書き換えていませんか?")
    with pytest.raises(TypeError):
        check_true(np.array([True]), check="c")


def test_check_new_object():
    x = np.arange(3.0)
    check_new_object(x.copy(), x, name="grad")
    for view in (x, x[:2], x.reshape(3, 1)):
        message = failure(check_new_object, view, x, name="grad")
        assert_lines(message, "チェック: grad が新しい配列かどうか", "期待した結果: 引数とは別",
                     "あなたの結果: 引数の配列そのもの", "考えられる原因", ".copy()")


# unchanged, global_rng_unused, under_grading

def test_unchanged_passes_and_fails():
    x = np.array([3.0, 4.0])
    with unchanged(x, name="引数 x"):
        x[0] += 1.0
        x[0] -= 1.0
    with pytest.raises(CheckFailed) as info, unchanged(x, name="引数 x", hint="戻して"):
        x[1] = 5.0
    assert_lines(str(info.value), "チェック: 引数 x が呼び出しの前後で変わっていないか",
                 "期待した結果: [3. 4.]", "あなたの結果: [3. 5.]", "考えられる原因: 戻して")


# The global RNG is used on purpose below (that is what global_rng_unused detects); its state
# is restored afterwards so that no other test sees the change.
@pytest.fixture
def keep_global_rng():
    state = np.random.get_state()  # noqa: NPY002
    yield
    np.random.set_state(state)  # noqa: NPY002


def test_global_rng_unused(keep_global_rng):
    with global_rng_unused(name="simpleNet()"):
        np.random.RandomState(0).randn(3)
    with pytest.raises(CheckFailed) as info, global_rng_unused(name="simpleNet()"):
        np.random.randn(3)  # noqa: NPY002
    assert_lines(str(info.value), "チェック: simpleNet() がグローバルな乱数を使っていないか",
                 "期待した結果", "あなたの結果", "RandomState(seed)")


def test_under_grading(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert under_grading() is False
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert under_grading() is True


# CheckFailed

def test_check_failed_renders_message_lines_only():
    with pytest.raises(CheckFailed) as info:
        check_close(1.0, 2.0, name="v", hint="ヒント")
    exc = info.value
    assert isinstance(exc, AssertionError)
    lines = exc._render_traceback_()
    assert lines == ["CheckFailed: テストに合格しませんでした", *str(exc).splitlines()]
    assert not any("Traceback" in line or ".py" in line for line in lines)


# Objects a student could return to fool a comparison: they must never pass a check.

class AlwaysEqual:
    """Equal to everything, true, of any length, a number of any kind."""

    def __eq__(self, other):
        return True

    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = object.__hash__

    def __bool__(self):
        return True

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())

    def __float__(self):
        return 0.0

    def __array_ufunc__(self, *args, **kwargs):
        return True

    def __array_function__(self, *args, **kwargs):
        return True


class EqualArray(np.ndarray):
    """An ndarray whose comparisons, ufuncs and numpy functions all answer True."""

    def __eq__(self, other):
        return True

    __ne__ = __eq__

    def __array_ufunc__(self, *args, **kwargs):
        return True

    def __array_function__(self, *args, **kwargs):
        return True

    def copy(self, *args, **kwargs):
        return self


class EqualStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class EqualDict(dict):
    def __eq__(self, other):
        return True

    def __contains__(self, key):
        return True


class EqualList(list):
    def __eq__(self, other):
        return True


class EqualFloat(float):
    def __eq__(self, other):
        return True

    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = float.__hash__


def test_check_close_uses_the_values_not_the_comparisons():
    wrong = np.array([1.0, 2.0]).view(EqualArray)
    message = failure(check_close, wrong, [6.0, 8.0], name="grad")
    assert_lines(message, "チェック: grad の値", "[6. 8.]", "[1. 2.]")
    # the expected value may come from student code too
    failure(check_close, [6.0, 8.0], wrong, name="grad")
    failure(check_close, EqualFloat(0.3), 0.2, name="d")
    assert_lines(failure(check_close, AlwaysEqual(), 0.2, name="d"), "あなたの結果: 0")
    check_close(np.array([6.0, 8.0]).view(EqualArray), [6.0, 8.0], name="grad")


def test_check_true_needs_a_real_bool():
    for fake in (AlwaysEqual(), 1, np.array(True), EqualFloat(1.0)):
        with pytest.raises(TypeError):
            check_true(fake, check="c")


def test_check_new_object_sees_through_subclasses():
    x = np.arange(3.0)
    failure(check_new_object, x[:2].view(EqualArray), x, name="grad")
    check_new_object(AlwaysEqual(), x, name="grad")  # a new object: its value is checked elsewhere


def test_float_array():
    got = float_array(np.arange(3).view(EqualArray), name="y")
    assert type(got) is np.ndarray and got.dtype == float
    assert same(got, np.array([0.0, 1.0, 2.0]))
    source = np.array([1.0, 2.0])
    copy = float_array(source, name="y")
    copy[0] = 5.0
    assert source[0] == 1.0
    assert float_array([1, 2.5], name="y").tolist() == [1.0, 2.5]
    assert_lines(failure(float_array, None, name="loss"), "チェック: loss の値",
                 "あなたの結果: None", "return")
    assert_lines(failure(float_array, "abc", name="loss"), "チェック: loss の値", "'abc'", "数値")


def test_is_plain():
    assert is_plain([1, 2.0, "a", None, True, (b"x", 1j), {"k": [1]}, {1, 2}, frozenset()])
    for fake in (AlwaysEqual(), EqualStr("W1"), EqualDict(), EqualList(), EqualFloat(1.0),
                 np.float64(1.0), np.zeros(2), ["W1", EqualStr("b1")], {EqualStr("W1"): 1},
                 {"W1": AlwaysEqual()}, (AlwaysEqual(),)):
        assert is_plain(fake) is False, fake


def test_same():
    assert same(["W1", "b1"], ["W1", "b1"]) is True
    assert same({"a": [1, (2, 3.0)]}, {"a": [1, (2, 3.0)]})
    assert same(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert same({1, 2}, {2, 1})
    for actual, expected in [(AlwaysEqual(), []), (EqualList(), []), ([AlwaysEqual()], ["W1"]),
                             ([EqualStr("x")], ["W1"]), (EqualDict(), {}),
                             ({EqualStr("W1"): 0}, {"W1": 0}), ({"W1": AlwaysEqual()}, {"W1": 0}),
                             (EqualFloat(2.0), 1.0), (1, 1.0), (True, 1), ((), []), ([1], [1, 2]),
                             ({AlwaysEqual()}, {1}), (np.zeros(2).view(EqualArray), np.zeros(2)),
                             (np.zeros(2), np.zeros(2, dtype=int)), (np.zeros(2), np.zeros(3)),
                             (np.array([AlwaysEqual()]), np.array([AlwaysEqual()])),
                             (float("nan"), float("nan"))]:
        assert same(actual, expected) is False, (actual, expected)


def test_check_equal():
    check_equal([[], []], [[], []], name="params と grads")
    message = failure(check_equal, [AlwaysEqual(), []], [[], []], name="Repeat の params と grads",
                      hint="params = grads = [] のままに")
    assert_lines(message, "チェック: Repeat の params と grads", "期待した結果: [[], []]",
                 "あなたの結果: list 型の値 (list, dict, str, 数などの組み込みの型だけでできた",
                 "考えられる原因: params = grads = [] のままに")
    assert_lines(failure(check_equal, ("W1",), ["W1"], name="keys"), "期待した結果: ['W1']",
                 "あなたの結果: ('W1',)")
    assert_lines(failure(check_equal, np.zeros(2), np.ones(2), name="v"), "[1. 1.]", "[0. 0.]")
    failure(check_equal, EqualList(), [], name="params")


# check_dict_keys, check_finite, check_length

def test_check_dict_keys_passes():
    check_dict_keys({"W1": 1, "b1": 2}, ["W1", "b1"], name="params")
    check_dict_keys({"b1": 2, "W1": 1}, ("W1", "b1"), name="params")  # order does not matter
    check_dict_keys({"W": 1, "extra": 0}, ["W"], name="grads", others_allowed=True)


def test_check_dict_keys_names_missing_and_extra_keys():
    message = failure(check_dict_keys, {"W1": 1}, ["W1", "b1"], name="net.params")
    assert_lines(message, "チェック: net.params", "期待した結果: キー W1, b1 だけを持つ dict",
                 "あなたの結果: キー W1 の dict", "考えられる原因: キー b1 がありません。")
    message = failure(check_dict_keys, {"W1": 1, "W3": 2}, ["W1"], name="net.params")
    assert_lines(message, "余分なキー W3 があります。")
    message = failure(check_dict_keys, {}, ["W"], name="grads", hint="{'W': 勾配} で返して")
    assert_lines(message, "あなたの結果: キー なし の dict", "考えられる原因: {'W': 勾配} で返して")
    message = failure(check_dict_keys, {"x": 1}, ["W"], name="g", others_allowed=True)
    assert_lines(message, "期待した結果: キー W を持つ dict")


def test_check_dict_keys_refuses_what_is_not_a_plain_dict():
    class Keys(dict):
        pass

    class Everything(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    message = failure(check_dict_keys, np.zeros(3), ["W"], name="gradient(x, t)")
    assert_lines(message, "期待した結果: キー W だけを持つ dict",
                 "あなたの結果: ndarray 型の値", "考えられる原因: {'W': ...} のような dict")
    assert "Keys 型の値" in failure(check_dict_keys, Keys(W=1), ["W"], name="g")
    assert "dict 型の値" in failure(check_dict_keys, {Everything("x"): 1}, ["W"], name="g")
    assert "NoneType 型の値" in failure(check_dict_keys, None, ["W"], name="g")


def test_check_finite():
    values = check_finite([1.0, 2.0], name="loss")
    assert type(values) is np.ndarray and values.tolist() == [1.0, 2.0]
    message = failure(check_finite, np.array([1.0, np.inf]), name="predict(大きな入力)")
    assert_lines(message, "チェック: predict(大きな入力) の値",
                 "期待した結果: 有限の値 (nan や inf を含まない)",
                 "あなたの結果: nan または inf を含む値",
                 "考えられる原因: オーバーフロー")
    message = failure(check_finite, float("nan"), name="loss", hint="最大値を引いて")
    assert_lines(message, "考えられる原因: 最大値を引いて")
    assert_lines(failure(check_finite, None, name="loss"), "あなたの結果: None",
                 "return を書き忘れていませんか?")


def test_check_length():
    check_length([0.5, 0.25], 2, name='history["train_acc"]')
    check_length((1, 2, 3), 3, name="t")
    check_length(np.zeros((4, 2)), 4, name="batches")
    message = failure(check_length, [1.0] * 100, 15, name='history["test_acc"]',
                      hint="1 エポックに 1 回")
    assert_lines(message, 'チェック: len(history["test_acc"])', "期待した結果: 15",
                 "あなたの結果: 100", "考えられる原因: 1 エポックに 1 回")
    assert_lines(failure(check_length, 3.0, 1, name="h"), "あなたの結果: 長さのない値 3")
    assert_lines(failure(check_length, None, 1, name="h"), "あなたの結果: None")


def test_check_length_does_not_ask_the_students_object():
    class Liar(list):
        def __len__(self):
            return 15

    # a list subclass is read as an array of its items, never through its __len__
    message = failure(check_length, Liar([1.0, 2.0]), 15, name="h")
    assert_lines(message, "あなたの結果: 2")


# calling: an error of the student's function becomes an explained CheckFailed

def _indexing(x):
    return x[5]


def test_calling_names_the_call_and_its_inputs():
    with pytest.raises(CheckFailed) as info:
        with calling("f(x, t)", {"x": np.array([[1.0, 2.0]]), "t": np.zeros((5, 4)),
                                 "n": 3}):
            _indexing(np.ones(3))
    message = str(info.value)
    assert message.startswith("f(x, t) を呼んだところで IndexError が起きました")
    assert_lines(message, "入力: x = [[1., 2.]] (shape (1, 2)), t = shape (5, 4) の配列, n = 3",
                 "意味: 配列 (list) の長さを超える位置を使いました。", "直し方:")
    assert CAUSE_LABEL not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_calling_adds_the_cause_of_a_known_error_type():
    with pytest.raises(CheckFailed) as info:
        with calling("net.predict(X)", {"X": np.ones((4, 2))},
                     causes={KeyError: "別の原因", ValueError: "積の順番が逆ではありませんか?"}):
            np.ones((4, 2)) @ np.ones((3, 2))
    message = str(info.value)
    assert_lines(message, "net.predict(X) を呼んだところで ValueError が起きました",
                 f"  {CAUSE_LABEL}: 積の順番が逆ではありませんか?",
                 "意味: 配列の shape が合わない積や和を計算しました。")
    assert "別の原因" not in message
    assert message.splitlines()[-1].startswith(f"  {CAUSE_LABEL}:")  # the report reads it last
    with pytest.raises(CheckFailed, match="t.ndim で見分けて"):
        with calling("net.accuracy(x, t)", causes={(ValueError, IndexError): "t.ndim で見分けて"}):
            np.argmax(np.zeros(3), axis=1)  # AxisError: both a ValueError and an IndexError


def test_calling_keeps_not_answered_and_check_failures():
    with pytest.raises(CheckFailed) as info:
        with calling("net.loss(x, t)", {"x": np.ones(2)}, causes={Exception: "何か"}):
            raise NotImplementedError()
    assert str(info.value).startswith(NOT_ANSWERED)
    assert "入力" not in str(info.value) and "何か" not in str(info.value)
    with pytest.raises(CheckFailed, match="^そのまま$"):
        with calling("f(x)"):
            raise CheckFailed("そのまま")
    with pytest.raises(KeyboardInterrupt):
        with calling("f(x)"):
            raise KeyboardInterrupt
    with calling("f(x)"):
        pass


def test_calling_explains_an_error_the_judge_received_from_the_kernel():
    """Under grading the student's error arrives with the kernel's description (``info``)."""
    error = NameError("name 'grd' is not defined")
    error.info = {"n": "NameError", "m": "name 'grd' is not defined", "k": "", "tb": [],
                  "f": [Frame("In [4]", 3, "    return grd", "gradient")],
                  "c": ["grad", "np"]}
    with pytest.raises(CheckFailed) as info:
        with calling("net.gradient(x, t)", {"x": np.ones((2, 3))}):
            raise error
    message = str(info.value)
    assert_lines(message, "net.gradient(x, t) を呼んだところで NameError が起きました",
                 "入力: x = [[1., 1., 1.], [1., 1., 1.]] (shape (2, 3))",
                 "場所: In [4] の 3 行目 (gradient の中):  return grd",
                 "grd を grad に直してください。")


def test_numerical_backward_is_the_gradient_of_sum_forward_times_dy():
    rng = np.random.RandomState(0)
    W, x, dy = rng.randn(3, 2), rng.randn(4, 3), rng.randn(4, 2)
    before = x.copy()
    dx = numerical_backward(lambda v: v @ W, x, dy, name="forward(x)")
    assert np.allclose(dx, dy @ W.T, rtol=1e-6) and np.array_equal(x, before)
    assert_lines(failure(numerical_backward, lambda v: None, x, dy, name="Sum().forward(x)"),
                 "チェック: Sum().forward(x) の値", "あなたの結果: None")
