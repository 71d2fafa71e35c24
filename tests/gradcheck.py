"""Gradient checking by central finite differences, in float64: the assertion helpers
of the tests, on the machinery of :mod:`scratchrnn.testing` (its docstring explains the
method, the error measure and the tolerance; ``check_gradients`` there is the public
table-printing check of a whole layer, cell or model).
"""

import numpy as np

from scratchrnn.testing import (  # noqa: F401  (re-exported for the tests)
    EPS,
    TOLERANCE,
    numerical_gradient,
    relative_error,
    weighted_sum,
)


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
