"""common.loss: one-hot and label targets, batch means, known values, Japanese errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.activations import softmax
from common.loss import cross_entropy_error, mean_squared_error, one_hot_targets

# The book's example output: class 2 has probability 0.6.
Y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
LOSSES = [cross_entropy_error, mean_squared_error]


def _batch(seed, n, c):
    rng = np.random.RandomState(seed)
    return softmax(rng.randn(n, c) * 3), rng.randint(0, c, size=n)


def test_cross_entropy_known_value_for_label_and_one_hot():
    expected = -np.log(0.6 + 1e-7)  # 0.5108...
    assert cross_entropy_error(Y, 2) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy_error(Y, np.eye(10)[2]) == pytest.approx(expected, rel=1e-12)
    # A one-hot-only version would give -Σ 2·log(y + 1e-7) ≈ 155.76 for the label 2.
    assert cross_entropy_error(Y, 2) < 1.0
    assert isinstance(cross_entropy_error(Y, 2), float)


def test_mean_squared_error_known_value():
    t = np.eye(10)[2]
    expected = 0.5 * np.sum((Y - t) ** 2)  # 0.0975
    assert mean_squared_error(Y, t) == pytest.approx(expected, rel=1e-12)
    assert mean_squared_error(Y, 2) == pytest.approx(expected, rel=1e-12)
    assert isinstance(mean_squared_error(Y, t), float)


@pytest.mark.parametrize("loss", LOSSES)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), c=st.integers(2, 7))
def test_one_hot_equals_labels_and_batch_is_mean_of_singles(loss, seed, n, c):
    y, labels = _batch(seed, n, c)
    one_hot = np.eye(c)[labels]
    batch = loss(y, labels)
    assert batch == pytest.approx(loss(y, one_hot), rel=1e-12)
    singles = [loss(y[i], labels[i]) for i in range(n)]
    assert batch == pytest.approx(np.mean(singles), rel=1e-12)
    assert loss(y[:1], labels[:1]) == pytest.approx(singles[0], rel=1e-12)


def test_one_hot_targets_shapes():
    y2, t2 = one_hot_targets(Y, 2)
    assert y2.shape == t2.shape == (1, 10)
    np.testing.assert_array_equal(t2[0], np.eye(10)[2])
    y, labels = _batch(0, 4, 3)
    y2, t2 = one_hot_targets(y, labels)
    np.testing.assert_array_equal(t2, np.eye(3)[labels])
    np.testing.assert_array_equal(y2, y)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(("y", "t", "words"), [
    (Y, 10, ["範囲外", "[10]", "0 から 9"]),
    (Y, -1, ["範囲外", "[-1]"]),
    (np.tile(Y, (2, 1)), np.array([2, 12]), ["範囲外", "[12]"]),
    (Y, np.eye(9)[2], ["one-hot", "(10,)", "(9,)"]),
    (np.tile(Y, (3, 1)), np.eye(10)[:2], ["one-hot", "(3, 10)", "(2, 10)"]),
    (np.tile(Y, (3, 1)), np.array([1, 2]), ["バッチサイズ", "(3, 10)", "(2,)"]),
    (Y, 2.0, ["整数", "float64", "astype(int)"]),
    (np.tile(Y, (2, 1)), np.array([1.0, 2.0]), ["整数", "float64"]),
    (np.tile(Y, (3, 1)), 1, ["合いません", "(3,)"]),
    (np.zeros((2, 2, 2)), 0, ["(C,) または (N, C)", "(2, 2, 2)"]),
])
def test_errors_in_japanese(loss, y, t, words):
    with pytest.raises(ValueError) as info:
        loss(y, t)
    for word in words:
        assert word in str(info.value)
