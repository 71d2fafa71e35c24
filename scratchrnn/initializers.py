"""Weight initialisers as Keras 3 defines them, drawn from a seeded ``numpy.random.Generator``.

The distributions are Keras's (``keras.initializers``); the draws are NumPy's, so the
values differ from a Keras layer built with the same seed.  Parity never depends on
them: the parity suite copies Keras's weights in with ``set_weights``.

``fan_in, fan_out`` of a 2-D kernel ``(rows, cols)`` are ``rows, cols``::

    glorot_uniform  U(-l, l),  l = √(6 / (fan_in + fan_out))
    glorot_normal   N(0, s) truncated at 2s,  s = √(2 / (fan_in + fan_out)) / .87962566
    he_uniform      U(-l, l),  l = √(6 / fan_in)
    he_normal       N(0, s) truncated at 2s,  s = √(2 / fan_in) / .87962566
    lecun_uniform   U(-l, l),  l = √(3 / fan_in)
    orthogonal      Q of the QR factorisation of a normal matrix, signs fixed by diag(R)
    random_uniform  U(-0.05, 0.05);    random_normal  N(0, 0.05)
    zeros, ones

``"uniform"`` is Keras's alias of ``random_uniform`` (the default of ``Embedding``).
"""

import numpy as np

# Keras divides by the standard deviation of a unit normal truncated at ±2.
_TRUNCATED_STD = 0.87962566103423978


def _fans(shape):
    if len(shape) < 2:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng, shape, std):
    """N(0, std) restricted to ±2 std, by redrawing what falls outside."""
    out = rng.normal(0.0, std, size=shape)
    bad = np.abs(out) > 2 * std
    while bad.any():
        out[bad] = rng.normal(0.0, std, size=int(bad.sum()))
        bad = np.abs(out) > 2 * std
    return out


def zeros(shape, rng):
    return np.zeros(shape)


def ones(shape, rng):
    return np.ones(shape)


def glorot_uniform(shape, rng):
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def glorot_normal(shape, rng):
    fan_in, fan_out = _fans(shape)
    return _truncated_normal(rng, shape, np.sqrt(2.0 / (fan_in + fan_out)) / _TRUNCATED_STD)


def he_uniform(shape, rng):
    limit = np.sqrt(6.0 / _fans(shape)[0])
    return rng.uniform(-limit, limit, size=shape)


def he_normal(shape, rng):
    return _truncated_normal(rng, shape, np.sqrt(2.0 / _fans(shape)[0]) / _TRUNCATED_STD)


def lecun_uniform(shape, rng):
    limit = np.sqrt(3.0 / _fans(shape)[0])
    return rng.uniform(-limit, limit, size=shape)


def random_uniform(shape, rng):
    return rng.uniform(-0.05, 0.05, size=shape)


def random_normal(shape, rng):
    return rng.normal(0.0, 0.05, size=shape)


def orthogonal(shape, rng):
    """An orthogonal matrix (rows or columns orthonormal, whichever are fewer)."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))           # make the factorisation unique (uniform over O(n))
    if rows < cols:
        q = q.T
    return q.reshape(shape)


INITIALIZERS = {
    f.__name__: f
    for f in (zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal,
              lecun_uniform, random_uniform, random_normal, orthogonal)
}
INITIALIZERS["uniform"] = random_uniform


def get(identifier, argument):
    """An initialiser ``f(shape, rng) -> array`` from its Keras name, or a callable as is."""
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in INITIALIZERS:
        return INITIALIZERS[identifier]
    raise ValueError(
        f"`{argument}` must be one of {sorted(INITIALIZERS)} or a callable "
        f"f(shape, rng), got {identifier!r}"
    )
