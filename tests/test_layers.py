"""common.layers: each backward against numerical_gradient, grads written in place, shape errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.grad import numerical_gradient, rel_error
from common.layers import (
    Affine,
    MatMul,
    Relu,
    Repeat,
    Sigmoid,
    SoftmaxWithLoss,
    Sum,
    two_layer_gradient,
)
from common.loss import cross_entropy_error

seeds = st.integers(0, 2**32 - 1)
dims = st.integers(1, 4)


def check_layer(layer, x, rng):
    """Compare backward with numerical gradients of L = Σ forward(x) * dout (x and params)."""
    grad_ids = [id(g) for g in layer.grads]
    out = layer.forward(x)
    dout = rng.randn(*out.shape)
    dx = layer.backward(dout)
    assert dx.shape == x.shape
    assert [id(g) for g in layer.grads] == grad_ids  # written in place, never replaced

    def loss():
        return float(np.sum(layer.forward(x) * dout))

    assert rel_error(dx, numerical_gradient(lambda z: loss(), x)) < 1e-7
    for param, grad in zip(layer.params, layer.grads, strict=True):
        assert grad.shape == param.shape
        assert rel_error(grad, numerical_gradient(lambda p: loss(), param)) < 1e-7


@given(seeds, dims, dims, dims)
def test_matmul(seed, n, d, h):
    rng = np.random.RandomState(seed)
    check_layer(MatMul(rng.randn(d, h)), rng.randn(n, d), rng)


@given(seeds, dims, dims, dims)
def test_affine(seed, n, d, h):
    rng = np.random.RandomState(seed)
    check_layer(Affine(rng.randn(d, h), rng.randn(h)), rng.randn(n, d), rng)


@given(seeds, dims, dims)
def test_repeat(seed, n, d):
    rng = np.random.RandomState(seed)
    layer = Repeat(n)
    assert layer.forward(rng.randn(1, d)).shape == (n, d)
    check_layer(layer, rng.randn(1, d), rng)


@given(seeds, dims, dims)
def test_sum(seed, n, d):
    rng = np.random.RandomState(seed)
    layer = Sum()
    assert layer.forward(rng.randn(n, d)).shape == (1, d)
    check_layer(layer, rng.randn(n, d), rng)


def test_sum_backward_repeats_dy_not_x():
    rng = np.random.RandomState(0)
    x, dy = rng.randn(3, 4), rng.randn(1, 4)
    layer = Sum()
    layer.forward(x)
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dx, np.repeat(dy, 3, axis=0))
    assert dx.shape == x.shape


@given(seeds, dims, dims)
def test_sigmoid(seed, n, d):
    rng = np.random.RandomState(seed)
    check_layer(Sigmoid(), rng.randn(n, d) * 3, rng)


@given(seeds, dims, dims)
def test_relu(seed, n, d):
    rng = np.random.RandomState(seed)
    x = rng.uniform(0.01, 2, size=(n, d)) * rng.choice([-1, 1], size=(n, d))  # away from the kink
    check_layer(Relu(), x, rng)


@given(seeds, dims, st.integers(2, 5), st.booleans())
def test_softmax_with_loss(seed, n, c, one_hot):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, c)
    labels = rng.randint(0, c, size=n)
    t = np.eye(c)[labels] if one_hot else labels
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    assert isinstance(loss, float)
    dx = layer.backward()
    y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(dx, (y - np.eye(c)[labels]) / n, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.backward(2.0), 2 * dx, rtol=1e-15)
    num = numerical_gradient(lambda z: layer.forward(z, t), x)
    y_k = y[np.arange(n), labels][:, None]
    assert rel_error(dx, num) < 1e-7 / y_k.min() + 1e-7  # the 1e-7 inside the log
    assert layer.params == layer.grads == []


def test_grads_updated_in_place():
    rng = np.random.RandomState(1)
    layer = Affine(rng.randn(3, 2), rng.randn(2))
    held = list(layer.grads)  # an optimizer holding references
    x = rng.randn(4, 3)
    layer.forward(x)
    layer.backward(np.ones((4, 2)))
    assert layer.grads[0] is held[0] and layer.grads[1] is held[1]
    np.testing.assert_allclose(held[0], x.T @ np.ones((4, 2)))
    np.testing.assert_allclose(held[1], [4.0, 4.0])


@pytest.mark.parametrize("layer", [Repeat(2), Sum(), Sigmoid(), Relu(), SoftmaxWithLoss()])
def test_layers_without_params(layer):
    assert layer.params == [] and layer.grads == []


@pytest.mark.parametrize(("call", "words"), [
    (lambda: MatMul(np.zeros((3, 5))).forward(np.zeros((2, 4))), ["MatMul", "(N, 3)", "(2, 4)"]),
    (lambda: MatMul(np.zeros((3, 5))).forward(np.zeros(3)), ["MatMul", "(N, 3)", "(3,)"]),
    (lambda: Affine(np.zeros((3, 5)), np.zeros(5)).forward(np.zeros((2, 4))),
     ["Affine", "(N, 3)", "(2, 4)"]),
    (lambda: Repeat(4).forward(np.zeros((2, 3))), ["Repeat", "(1, D)", "(2, 3)"]),
    (lambda: Sum().forward(np.zeros(3)), ["Sum", "(N, D)", "(3,)"]),
    (lambda: SoftmaxWithLoss().forward(np.zeros(3), 0), ["SoftmaxWithLoss", "(N, C)", "(3,)"]),
])
def test_forward_shape_errors(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for word in words + ["のはずですが"]:
        assert word in str(info.value)


def _after_forward(layer, x):
    layer.forward(x)
    return layer


@pytest.mark.parametrize(("layer", "dout", "words"), [
    (_after_forward(MatMul(np.zeros((3, 5))), np.zeros((2, 3))), np.zeros((2, 4)),
     ["MatMul.backward", "(2, 5)", "(2, 4)"]),
    (_after_forward(Repeat(4), np.zeros((1, 3))), np.zeros((3, 3)),
     ["Repeat.backward", "(4, 3)", "(3, 3)"]),
    (_after_forward(Sum(), np.zeros((4, 3))), np.zeros((4, 3)), ["Sum.backward", "(1, 3)"]),
    (_after_forward(Sigmoid(), np.zeros((2, 3))), np.zeros((3, 2)), ["Sigmoid.backward"]),
    (_after_forward(Relu(), np.zeros((2, 3))), np.zeros(6), ["Relu.backward", "(6,)"]),
])
def test_backward_shape_errors(layer, dout, words):
    with pytest.raises(ValueError) as info:
        layer.backward(dout)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("one_hot", [False, True])
def test_two_layer_gradient_matches_the_numerical_gradient(activation, one_hot):
    rng = np.random.RandomState(3)
    params = {key: 0.5 * rng.randn(*shape) for key, shape in
              {"W1": (4, 5), "b1": (5,), "W2": (5, 3), "b2": (3,)}.items()}
    before = {key: value.copy() for key, value in params.items()}
    x, labels = rng.randn(6, 4), rng.randint(0, 3, size=6)
    t = np.eye(3)[labels] if one_hot else labels

    def loss(_):
        hidden = x @ params["W1"] + params["b1"]
        hidden = 1 / (1 + np.exp(-hidden)) if activation == "sigmoid" else np.maximum(0, hidden)
        scores = hidden @ params["W2"] + params["b2"]
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return cross_entropy_error(e / e.sum(axis=1, keepdims=True), t)

    grads = two_layer_gradient(params, x, t, activation=activation)
    assert sorted(grads) == sorted(params)
    for key in params:
        assert np.array_equal(params[key], before[key])  # params are not changed
        assert grads[key].shape == params[key].shape
        assert not np.shares_memory(grads[key], params[key])
        # atol: the loss's log(y + 1e-7) moves a small component by ~1e-8
        assert np.allclose(grads[key], numerical_gradient(loss, params[key]), rtol=1e-5,
                           atol=1e-7)
