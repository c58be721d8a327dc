"""common.grad: numerical derivative/gradient against analytic ones, x restored, type errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from common.activations import softmax
from common.grad import numerical_diff, numerical_gradient, rel_error
from common.loss import cross_entropy_error

shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**32 - 1)


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def test_numerical_diff_known_function():
    def f(x):
        return 0.01 * x**2 + 0.1 * x

    for x in [5.0, 10.0, -3.0]:
        assert numerical_diff(f, x) == pytest.approx(0.02 * x + 0.1, abs=1e-9)


def test_numerical_diff_is_central():
    # For x³ at 1: central gives 3 + h² (error 1e-8), forward would give 3 + 3h (error 3e-4).
    assert abs(numerical_diff(lambda x: x**3, 1.0) - 3.0) < 1e-7


@given(shapes, seeds)
def test_gradient_of_random_quadratic(shape, seed):
    rng = np.random.RandomState(seed)
    x = rng.randn(*shape)
    n = x.size
    a = rng.randn(n, n)
    q = a + a.T  # symmetric: f(v) = ½ vᵀQv + bᵀv, ∇f = Qv + b
    b = rng.randn(n)

    def f(z):
        v = z.ravel()
        return 0.5 * v @ q @ v + b @ v

    num = numerical_gradient(f, x)
    assert num.shape == x.shape and num.dtype == np.float64
    np.testing.assert_allclose(num, (q @ x.ravel() + b).reshape(shape), rtol=1e-6, atol=1e-7)


@given(seeds, st.integers(1, 5), st.integers(2, 5), st.booleans())
def test_gradient_of_softmax_cross_entropy(seed, n, c, one_hot):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, c) * 2
    labels = rng.randint(0, c, size=n)
    t = np.eye(c)[labels]
    target = t if one_hot else labels
    num = numerical_gradient(lambda z: cross_entropy_error(softmax(z), target), x)
    y = softmax(x)
    y_k = y[np.arange(n), labels][:, None]  # probability of the correct class, per row
    # Exact derivative of -log(y_k + 1e-7): (y - t) / N scaled by y_k / (y_k + 1e-7) per row.
    assert rel_error(num, y_k / (y_k + 1e-7) * (y - t) / n) < 1e-7
    # The textbook (y - t) / N ignores the 1e-7, a relative difference of about 1e-7 / y_k.
    assert rel_error(num, (y - t) / n) < 1e-7 / y_k.min() + 1e-7


@given(arrays(np.float64, shapes, elements=st.floats(-1e6, 1e6, allow_subnormal=True)))
def test_x_restored_bitwise_and_result_is_new(x):
    before = x.tobytes()
    grad = numerical_gradient(lambda z: float(np.sum(z * z)), x)
    assert x.tobytes() == before
    assert grad is not x and not np.shares_memory(grad, x)


def test_x_restored_when_f_raises():
    x = np.array([0.1, -0.0, 3.0])
    before = x.tobytes()

    def f(z):
        if z[1] != 0:
            raise RuntimeError("boom")
        return float(z.sum())

    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    assert x.tobytes() == before


def test_two_call_forms_agree():
    """simpleNet form f(*args) while W is perturbed, and the book's form f(W)."""
    W = np.random.RandomState(1234).randn(2, 3)
    x, t = np.array([0.6, 0.9]), np.array([0, 0, 1])
    seen = []

    def loss(x_, t_):  # reads W from the enclosing scope, like self.loss reads self.W
        seen.append((x_, t_))
        return cross_entropy_error(softmax(x_ @ W), t_)

    grad_args = numerical_gradient(loss, W, x, t)
    assert all(a is x and b is t for a, b in seen) and len(seen) == 2 * W.size
    grad_book = numerical_gradient(lambda w: loss(x, t), W)
    np.testing.assert_array_equal(grad_args, grad_book)
    np.testing.assert_allclose(grad_args, np.outer(x, softmax(x @ W) - t), rtol=1e-6)


def test_book_form_passes_x_itself():
    x = np.array([3.0, 4.0])
    seen = []
    grad = numerical_gradient(lambda z: seen.append(z) or function_2(z), x)
    assert all(z is x for z in seen)
    np.testing.assert_allclose(grad, [6.0, 8.0], rtol=1e-8)


@pytest.mark.parametrize(("x", "words"), [
    (np.array([3, 4]), ["int64", "切り捨て", "[25000, 35000]", "np.array([3.0, 4.0])",
                        "astype(np.float64)"]),
    (np.array([3.0, 4.0], dtype=np.float32), ["float32", "誤差", "astype(np.float64)"]),
    ([3.0, 4.0], ["NumPy 配列", "list", "np.array([3.0, 4.0])"]),
    (3.0, ["NumPy 配列", "float"]),
])
def test_rejects_non_float64_x(x, words):
    with pytest.raises(TypeError) as info:
        numerical_gradient(function_2, x)
    for word in words:
        assert word in str(info.value)


def test_int_x_untouched_when_rejected():
    x = np.array([3, 4])
    with pytest.raises(TypeError):
        numerical_gradient(function_2, x)
    assert x.tolist() == [3, 4]


@pytest.mark.parametrize(("result", "error", "words"), [
    (lambda z: z**2, ValueError, ["スカラー", "(2,)"]),
    (lambda z: None, TypeError, ["None", "return"]),
    (lambda z: "loss", ValueError, ["スカラー"]),
])
def test_f_must_return_a_scalar(result, error, words):
    x = np.array([1.0, 2.0])
    with pytest.raises(error) as info:
        numerical_gradient(result, x)
    for word in words:
        assert word in str(info.value)
    assert x.tolist() == [1.0, 2.0]


def test_rel_error():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0
    assert rel_error([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 4.2)
    assert rel_error([0.0], [1e-12]) == pytest.approx(1e-4)  # denominator floored at 1e-8
    assert isinstance(rel_error(1.0, 2.0), float)
    with pytest.raises(ValueError, match="shape"):
        rel_error(np.ones(3), np.ones((3, 1)))
