"""Gradient checking by central finite differences, in float64.

The scalar checked is ``loss = Σ_i sum(out_i * G_i)`` for random upstream gradients
``G_i``, one per output, so that the analytic gradient of ``loss`` is exactly what a
backward pass returns when it is given ``G_i``.  Each parameter array is perturbed in
place, one element at a time::

    numerical[k] = (loss(θ + ε e_k) - loss(θ - ε e_k)) / 2ε          ε = 1e-6

and compared with the analytic gradient by::

    error = max_k |numerical_k - analytic_k| / max(1, max_k |numerical_k|)

(relative to the gradient's own size, absolute below 1).  Central differences have a
truncation error of O(ε²) and a rounding error of O(u·|loss|/ε), u = 1.1e-16; for the
small problems of these tests both stay far below the tolerance of 1e-7, while a wrong
derivative gives errors of order 1e-2 and more (``test_gradcheck.py`` shows both).
"""

import numpy as np

EPS = 1e-6
TOLERANCE = 1e-7


def weighted_sum(outputs, upstream):
    """``Σ_i sum(out_i * G_i)``: the scalar whose gradient a backward pass given ``G_i`` returns."""
    return float(sum(np.sum(o * g) for o, g in zip(outputs, upstream, strict=True)))


def numerical_gradient(loss, array, eps=EPS):
    """Central differences of ``loss()`` with respect to ``array``, perturbed in place
    (and restored).  ``loss`` must read ``array`` afresh at every call."""
    if array.dtype != np.float64:
        raise TypeError(f"gradient checks run in float64, got an array of {array.dtype}")
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        saved = array[idx]
        array[idx] = saved + eps
        up = loss()
        array[idx] = saved - eps
        down = loss()
        array[idx] = saved
        grad[idx] = (up - down) / (2 * eps)
    return grad


def relative_error(numerical, analytic):
    """``max|numerical - analytic| / max(1, max|numerical|)``; inf when shapes differ or
    the analytic gradient is missing."""
    if analytic is None:
        return np.inf
    numerical, analytic = np.asarray(numerical), np.asarray(analytic)
    if numerical.shape != analytic.shape:
        return np.inf
    if numerical.size == 0:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(numerical))))
    return float(np.max(np.abs(numerical - analytic))) / scale


def gradient_errors(loss, params, analytic, eps=EPS):
    """The :func:`relative_error` of each named gradient.

    params: name -> float64 array that ``loss`` reads; analytic: name -> gradient.
    A name present in one dict only counts as an infinite error.
    """
    names = list(params) + [name for name in analytic if name not in params]
    errors = {}
    for name in names:
        if name not in params or name not in analytic:
            errors[name] = np.inf
            continue
        errors[name] = relative_error(numerical_gradient(loss, params[name], eps),
                                      analytic[name])
    return errors


def assert_gradients_match(loss, params, analytic, tol=TOLERANCE, eps=EPS):
    """Fail, listing every offending gradient, unless all errors are at most ``tol``.

    Returns the errors, so that a caller can look at the margin.
    """
    errors = gradient_errors(loss, params, analytic, eps)
    bad = {name: err for name, err in errors.items() if not err <= tol}
    assert not bad, (
        f"gradients differ from finite differences (tolerance {tol:g}): "
        + ", ".join(f"{name}: {err:.2e}" for name, err in bad.items())
        + f"; all errors: {', '.join(f'{n}: {e:.1e}' for n, e in errors.items())}")
    return errors
