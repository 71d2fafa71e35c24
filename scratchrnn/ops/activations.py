"""Activation functions and their derivatives, as Keras 3 defines them.

Each activation is named by the string Keras accepts (``None`` means ``"linear"``).
The backward pass needs ``d act(a) / d a``; for every activation offered here that
derivative is a function of the *output* ``y = act(a)`` alone, so the caches of the
cells keep gate values, never pre-activations::

    linear        y = a                          dy/da = 1
    tanh          y = tanh(a)                    dy/da = 1 - y²
    sigmoid       y = 1 / (1 + exp(-a))          dy/da = y (1 - y)
    hard_sigmoid  y = relu6(a + 3) / 6           dy/da = 1/6 where 0 < y < 1, else 0
    relu          y = max(a, 0)                  dy/da = 1 where y > 0, else 0
    softsign      y = a / (1 + |a|)              dy/da = (1 - |y|)²
    exponential   y = exp(a)                     dy/da = y
    elu           y = a if a > 0 else exp(a) - 1 dy/da = 1 where y > 0, else y + 1

``softmax`` (``y = exp(a) / Σ exp(a)`` over the last axis; ``da = y (dy - Σ dy y)``) is
offered to the feed-forward layers only (``get(..., softmax=True)``): it is not
elementwise, and the recurrent cells' compiled loops do not take it.

``hard_sigmoid`` is Keras 3's ``relu6(x + 3) / 6``; Keras 2's ``clip(0.2 x + 0.5, 0, 1)``
is a different function.  At a kink (``a = 0`` for relu, ``a = ±3`` for hard_sigmoid)
the derivative taken is the one TensorFlow's gradient takes: 0.
"""

import numpy as np

# Integer codes, so that the cell kernels take plain ints (a form Numba compiles).
LINEAR, TANH, SIGMOID, HARD_SIGMOID, RELU, SOFTSIGN, EXPONENTIAL, ELU, SOFTMAX = range(9)

ACTIVATIONS = {
    "linear": LINEAR,
    "tanh": TANH,
    "sigmoid": SIGMOID,
    "hard_sigmoid": HARD_SIGMOID,
    "relu": RELU,
    "softsign": SOFTSIGN,
    "exponential": EXPONENTIAL,
    "elu": ELU,
}
NAMES = {code: name for name, code in ACTIVATIONS.items()}


def get(name, argument="activation", softmax=False):
    """The code of activation ``name`` (``None`` is ``"linear"``), or a clear error.
    ``softmax=True`` also accepts ``"softmax"`` (feed-forward layers)."""
    valid = {**ACTIVATIONS, "softmax": SOFTMAX} if softmax else ACTIVATIONS
    if name is None:
        return LINEAR
    if not isinstance(name, str):
        raise TypeError(
            f"`{argument}` must be an activation name (one of {sorted(valid)}) "
            f"or None, got {name!r} of type {type(name).__name__}; callables are not "
            "accepted because the backward pass needs the derivative"
        )
    if name not in valid:
        raise ValueError(f"`{argument}` must be one of {sorted(valid)} or None, got {name!r}")
    return valid[name]


def softmax(a):
    """``exp(a - max a) / Σ exp(a - max a)`` over the last axis (no overflow)."""
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def sigmoid(a):
    """Logistic function without overflow: only ``exp(-|a|)`` is ever evaluated."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def forward(a, code):
    """``y = act(a)`` for the activation ``code``."""
    if code == LINEAR:
        return a
    if code == TANH:
        return np.tanh(a)
    if code == SIGMOID:
        return sigmoid(a)
    if code == HARD_SIGMOID:
        return np.minimum(np.maximum(a + 3, 0), 6) / 6
    if code == RELU:
        return np.maximum(a, 0)
    if code == SOFTSIGN:
        return a / (1 + np.abs(a))
    if code == EXPONENTIAL:
        return np.exp(a)
    if code == ELU:
        return np.where(a > 0, a, np.expm1(np.minimum(a, 0)))
    if code == SOFTMAX:
        return softmax(a)
    raise ValueError(f"unknown activation code {code}")


def backward(dy, y, code):
    """``da = dy * act'(a)``, with the derivative written in terms of ``y = act(a)``."""
    if code == LINEAR:
        return dy
    if code == TANH:
        return dy * (1 - y * y)
    if code == SIGMOID:
        return dy * y * (1 - y)
    if code == HARD_SIGMOID:
        return np.where((y > 0) & (y < 1), dy / 6, 0)
    if code == RELU:
        return np.where(y > 0, dy, 0)
    if code == SOFTSIGN:
        return dy * (1 - np.abs(y)) ** 2
    if code == EXPONENTIAL:
        return dy * y
    if code == ELU:
        return np.where(y > 0, dy, dy * (y + 1))
    if code == SOFTMAX:  # the Jacobian diag(y) - y yᵀ, applied to dy row by row
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))
    raise ValueError(f"unknown activation code {code}")
