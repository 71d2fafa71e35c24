"""Activations for the Numba kernels: in place over a contiguous vector, one dispatch per vector.

Numba compiles ``np.tanh``/``np.exp`` to scalar libm calls (no SVML), ~5 ns an element,
where NumPy's SIMD ufuncs take ~0.3 ns.  So float32 kernels use a rational
approximation of tanh (Eigen's 13/6 form, |error| < 3e-7 over all of float32) that LLVM
vectorises, and ``σ(x) = ½ tanh(x/2) + ½``.  That bound is absolute: where a gate
saturates (σ(x) < 1e-4, x < -9) the value is ~0 and its *relative* error grows to ~1e-3,
against ~1e-7 for NumPy's exp-based σ; the parity metric, relative to each quantity's
scale, sees ≤ 1e-6.
float64 kernels use the exact functions, so that Numba equals NumPy to 1e-12 there.

``code`` is an activation code of :mod:`scratchrnn.ops.activations`.  Each function
switches on it once, then runs a plain loop: that is what lets LLVM vectorise.
Derivatives are in terms of the output ``y``, as in :mod:`scratchrnn.ops.activations`.
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

from ..ops.activations import (
    ELU,
    EXPONENTIAL,
    HARD_SIGMOID,
    RELU,
    SIGMOID,
    SOFTSIGN,
    TANH,
)

JIT = dict(cache=True, error_model="numpy", nogil=True)


def tanh(x):
    """tanh for the kernels: rational approximation in float32, exact in float64."""
    return np.tanh(x)


@overload(tanh, jit_options=dict(error_model="numpy"), inline="always")
def _tanh_overload(x):
    if x == types.float32:
        def tanh32(x):
            # Eigen's rational tanh, clamped where tanh(x) rounds to ±1 in float32.
            x = min(max(x, np.float32(-7.90531110763549805)), np.float32(7.90531110763549805))
            x2 = x * x
            p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
            p = x2 * p + np.float32(-8.60467152213735e-11)
            p = x2 * p + np.float32(5.12229709037114e-08)
            p = x2 * p + np.float32(1.48572235717979e-05)
            p = x2 * p + np.float32(6.37261928875436e-04)
            p = x2 * p + np.float32(4.89352455891786e-03)
            q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
            q = x2 * q + np.float32(2.26843463243900e-03)
            q = x2 * q + np.float32(4.89352518554385e-03)
            return x * p / q
        return tanh32
    return lambda x: np.tanh(x)


def sigmoid(x):
    """σ for the kernels: ½ tanh(x/2) + ½ in float32, the exact stable form in float64."""
    e = np.exp(-abs(x))
    return 1 / (1 + e) if x >= 0 else e / (1 + e)


@overload(sigmoid, jit_options=dict(error_model="numpy"), inline="always")
def _sigmoid_overload(x):
    if x == types.float32:
        half = np.float32(0.5)
        return lambda x: half * tanh(half * x) + half

    def sigmoid64(x):
        e = np.exp(-abs(x))
        return 1 / (1 + e) if x >= 0 else e / (1 + e)
    return sigmoid64


@njit(**JIT)
def forward(v, code):
    """``v[:] = act(v)`` over a contiguous 1-D array."""
    # Constants of the array's dtype: Numba would promote float32 op int to float64.
    zero, one, three, six = v.dtype.type(0), v.dtype.type(1), v.dtype.type(3), v.dtype.type(6)
    if code == TANH:
        for k in range(v.size):
            v[k] = tanh(v[k])
    elif code == SIGMOID:
        for k in range(v.size):
            v[k] = sigmoid(v[k])
    elif code == HARD_SIGMOID:
        for k in range(v.size):
            v[k] = min(max(v[k] + three, zero), six) / six
    elif code == RELU:
        for k in range(v.size):
            v[k] = max(v[k], zero)
    elif code == SOFTSIGN:
        for k in range(v.size):
            v[k] = v[k] / (one + abs(v[k]))
    elif code == EXPONENTIAL:
        for k in range(v.size):
            v[k] = np.exp(v[k])
    elif code == ELU:
        for k in range(v.size):
            v[k] = v[k] if v[k] > zero else np.expm1(v[k])
    # linear: nothing to do


@njit(**JIT)
def backward(d, y, code):
    """``d[:] *= act'`` with the derivative written in terms of the output ``y``."""
    zero, one, six = d.dtype.type(0), d.dtype.type(1), d.dtype.type(6)
    if code == TANH:
        for k in range(d.size):
            d[k] *= one - y[k] * y[k]
    elif code == SIGMOID:
        for k in range(d.size):
            d[k] *= y[k] * (one - y[k])
    elif code == HARD_SIGMOID:
        for k in range(d.size):
            d[k] = d[k] / six if zero < y[k] < one else zero
    elif code == RELU:
        for k in range(d.size):
            d[k] = d[k] if y[k] > zero else zero
    elif code == SOFTSIGN:
        for k in range(d.size):
            d[k] *= (one - abs(y[k])) ** 2
    elif code == EXPONENTIAL:
        for k in range(d.size):
            d[k] *= y[k]
    elif code == ELU:
        for k in range(d.size):
            d[k] = d[k] if y[k] > zero else d[k] * (y[k] + one)

