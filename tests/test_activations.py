"""common.activations: values, numerical stability, softmax properties."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from common.activations import identity, relu, sigmoid, softmax, step_function

finite = st.floats(-50, 50, allow_nan=False)
rows = st.tuples(st.integers(1, 5), st.integers(1, 6))


def test_step_function_values_and_dtype():
    out = step_function(np.array([-1.0, 0.0, 0.5, 2.0]))
    assert out.tolist() == [0, 0, 1, 1]
    assert out.dtype.kind == "i"


def test_relu_values():
    np.testing.assert_array_equal(relu(np.array([[-2.0, 0.0], [0.5, 3.0]])), [[0, 0], [0.5, 3]])


def test_identity_returns_its_argument():
    x = np.arange(3.0)
    assert identity(x) is x


@given(arrays(np.float64, st.integers(1, 8), elements=finite))
def test_sigmoid_matches_definition_for_moderate_inputs(x):
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(sigmoid(-x), 1 - sigmoid(x), atol=1e-15)


def test_sigmoid_large_inputs_no_warning():
    x = np.array([-1e308, -1000.0, -745.0, 0.0, 745.0, 1000.0, 1e308])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = sigmoid(x)
        scalar = sigmoid(-1000.0)
    assert np.isfinite(out).all()
    assert out[0] == 0.0 and out[3] == 0.5 and out[-1] == 1.0
    assert np.all(np.diff(out) >= 0)
    assert np.ndim(scalar) == 0 and scalar == 0.0


@given(rows, st.integers(0, 2**32 - 1))
def test_softmax_rows_sum_to_one_and_shift_invariant(shape, seed):
    rng = np.random.RandomState(seed)
    x = rng.randn(*shape) * 10
    y = softmax(x)
    assert y.shape == x.shape
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-12)
    assert (y >= 0).all()
    shift = rng.uniform(-1000, 1000, size=(shape[0], 1))  # one constant per row
    np.testing.assert_allclose(softmax(x + shift), y, rtol=1e-9, atol=1e-15)
    for i in range(shape[0]):  # a batch is computed row by row, like single samples
        np.testing.assert_allclose(softmax(x[i]), y[i], rtol=1e-15)


def test_softmax_large_values_finite():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = softmax(np.array([1010.0, 1000.0, 990.0]))
    assert np.isfinite(y).all()
    small = np.exp([20.0, 10.0, 0.0])
    np.testing.assert_allclose(y, small / small.sum(), rtol=1e-12)


def test_softmax_rejects_scalar():
    with pytest.raises(ValueError, match="shape"):
        softmax(3.0)
