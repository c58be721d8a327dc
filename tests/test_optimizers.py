"""common.optimizers: SGD updates the arrays of a params dict in place."""

import numpy as np

from common.layers import MatMul
from common.optimizers import SGD


def test_sgd_updates_in_place():
    rng = np.random.RandomState(0)
    params = {"W1": rng.randn(3, 2), "b1": rng.randn(2)}
    grads = {"W1": rng.randn(3, 2), "b1": rng.randn(2)}
    originals = {key: value for key, value in params.items()}
    expected = {key: params[key] - 0.5 * grads[key] for key in params}
    SGD(lr=0.5).update(params, grads)
    for key in params:
        assert params[key] is originals[key]
        np.testing.assert_allclose(params[key], expected[key], rtol=1e-15)


def test_sgd_default_learning_rate():
    params, grads = {"W": np.ones(2)}, {"W": np.array([1.0, -2.0])}
    SGD().update(params, grads)
    np.testing.assert_allclose(params["W"], [0.99, 1.02], rtol=1e-15)


def test_sgd_sees_layer_grads_through_references():
    rng = np.random.RandomState(2)
    layer = MatMul(rng.randn(3, 2))
    params, grads = {"W": layer.params[0]}, {"W": layer.grads[0]}  # built once, before backward
    W0 = layer.params[0].copy()
    x, dout = rng.randn(4, 3), rng.randn(4, 2)
    layer.forward(x)
    layer.backward(dout)
    SGD(lr=0.1).update(params, grads)
    np.testing.assert_allclose(layer.params[0], W0 - 0.1 * x.T @ dout, rtol=1e-12)
