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

Keras's classes are here too, for the arguments the names cannot carry:
``Constant(value)`` (a number, or an array such as a pretrained embedding matrix),
``RandomUniform(minval, maxval)``, ``RandomNormal(mean, stddev)``,
``TruncatedNormal(mean, stddev)``, ``Orthogonal(gain)``, ``GlorotUniform(seed)`` and the
other seeded ones, ``Zeros()``, ``Ones()``.  Each is a callable ``init(shape, rng)`` like
the functions, so a layer takes it wherever it takes a name::

    sr.layers.Embedding(V, D, embeddings_initializer=sr.initializers.Constant(matrix))

A ``seed`` makes an initialiser draw from its own ``default_rng(seed)`` at every call
(the same values each time, as in Keras 3); without one it draws from the layer's
generator.  :func:`serialize` gives Keras's ``{"class_name", "config"}`` form (a name
for the plain functions), :func:`get` and :func:`deserialize` read it back, Keras's own
serialised dicts (with ``module``/``registered_name``) included.  ``Constant`` keeps an
array value as nested lists in its config: exact, but as long as the matrix.
"""

import numbers

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


# --- Keras's classes -----------------------------------------------------------------------


def _seed(seed):
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                        and seed >= 0):
        return None if seed is None else int(seed)
    raise ValueError(f"`seed` must be None or a non-negative integer, got {seed!r}")


def _real(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"`{argument}` must be a finite number, got {value!r}")
    return float(value)


def _shape(shape):
    try:
        shape = tuple(int(d) for d in np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),)
    except (TypeError, ValueError):
        raise TypeError(f"`shape` must be a tuple of non-negative integers, "
                        f"got {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"`shape` must be a tuple of non-negative integers, got {shape}")
    return shape


class Initializer:
    """A Keras-style initialiser: ``init(shape, rng=None, dtype=None) -> array``.

    Subclasses define ``_draw(shape, rng)`` and list their constructor arguments in
    ``_config``; ``seed`` (when the class takes one) overrides the ``rng`` given."""

    _config = ()

    def __call__(self, shape, rng=None, dtype=None):
        shape = _shape(shape)
        seed = getattr(self, "seed", None)
        if seed is not None or rng is None:
            rng = np.random.default_rng(seed)
        out = np.asarray(self._draw(shape, rng), dtype=np.float64)
        return out if dtype is None else out.astype(dtype)

    def _draw(self, shape, rng):
        """The values of ``shape`` from ``rng``: what each initializer defines."""
        raise NotImplementedError(f"{type(self).__name__} must define _draw(shape, rng)")

    def get_config(self):
        """The constructor arguments, JSON-friendly."""
        return {name: getattr(self, name) for name in self._config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and serialize(self) == serialize(other)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros (``"zeros"``)."""

    def _draw(self, shape, rng):
        return zeros(shape, rng)


class Ones(Initializer):
    """All ones (``"ones"``)."""

    def _draw(self, shape, rng):
        return ones(shape, rng)


class Constant(Initializer):
    """``value`` everywhere: a number, or an array that fits the requested shape (an
    embedding matrix ``(input_dim, output_dim)``, say).  Keras broadcasts ``value`` to
    the shape, and so does this; an array that does not broadcast is a ValueError naming
    both shapes.  The array is copied when the initialiser is made, so changing the
    caller's matrix later changes nothing."""

    _config = ("value",)

    def __init__(self, value=0.0):
        arr = np.array(value, dtype=object if isinstance(value, str) else None)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"`value` must be a number or an array of numbers, got "
                            f"{type(value).__name__} of dtype {arr.dtype}")
        self._array = arr.astype(np.float64)
        self.value = value if arr.ndim == 0 and not isinstance(value, np.generic) \
            else self._array.tolist()

    def _draw(self, shape, rng):
        try:
            return np.broadcast_to(self._array, shape).copy()
        except ValueError:
            raise ValueError(f"Constant: `value` of shape {self._array.shape} does not fit "
                             f"the requested shape {shape}") from None


class _Seeded(Initializer):
    _config = ("seed",)

    def __init__(self, seed=None):
        self.seed = _seed(seed)


class GlorotUniform(_Seeded):
    """``"glorot_uniform"``: U(-l, l), l = √(6 / (fan_in + fan_out))."""

    def _draw(self, shape, rng):
        return glorot_uniform(shape, rng)


class GlorotNormal(_Seeded):
    """``"glorot_normal"``: truncated normal, std √(2 / (fan_in + fan_out))."""

    def _draw(self, shape, rng):
        return glorot_normal(shape, rng)


class HeUniform(_Seeded):
    """``"he_uniform"``: U(-l, l), l = √(6 / fan_in)."""

    def _draw(self, shape, rng):
        return he_uniform(shape, rng)


class HeNormal(_Seeded):
    """``"he_normal"``: truncated normal, std √(2 / fan_in)."""

    def _draw(self, shape, rng):
        return he_normal(shape, rng)


class LecunUniform(_Seeded):
    """``"lecun_uniform"``: U(-l, l), l = √(3 / fan_in)."""

    def _draw(self, shape, rng):
        return lecun_uniform(shape, rng)


class Orthogonal(Initializer):
    """``"orthogonal"`` times ``gain``."""

    _config = ("gain", "seed")

    def __init__(self, gain=1.0, seed=None):
        self.gain = _real(gain, "gain")
        self.seed = _seed(seed)

    def _draw(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank >= 2, got {shape}")
        return self.gain * orthogonal(shape, rng)


class RandomUniform(Initializer):
    """U(minval, maxval); the defaults are ``"random_uniform"``."""

    _config = ("minval", "maxval", "seed")

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval = _real(minval, "minval"), _real(maxval, "maxval")
        self.seed = _seed(seed)

    def _draw(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)


class RandomNormal(Initializer):
    """N(mean, stddev); the defaults are ``"random_normal"``."""

    _config = ("mean", "stddev", "seed")

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = _real(mean, "mean"), _real(stddev, "stddev")
        self.seed = _seed(seed)

    def _draw(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)


class TruncatedNormal(RandomNormal):
    """N(mean, stddev) redrawn outside mean ± 2 stddev (Keras's truncation)."""

    def _draw(self, shape, rng):
        return self.mean + _truncated_normal(rng, shape, self.stddev)


CLASSES = {c.__name__: c for c in (Zeros, Ones, Constant, GlorotUniform, GlorotNormal,
                                    HeUniform, HeNormal, LecunUniform, Orthogonal,
                                    RandomUniform, RandomNormal, TruncatedNormal)}


def serialize(initializer):
    """A JSON-friendly form of ``initializer``: a name stays a name, one of the functions
    above becomes its name, an :class:`Initializer` ``{"class_name", "config"}``."""
    if initializer is None or isinstance(initializer, str):
        return initializer
    if isinstance(initializer, Initializer):
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    for name, function in INITIALIZERS.items():
        if initializer is function:
            return name
    raise TypeError(f"cannot serialize the initialiser {initializer!r}: only names, "
                    f"{sorted(CLASSES)} and the functions of scratchrnn.initializers can be")


def deserialize(config, argument="initializer"):
    """The :class:`Initializer` of ``{"class_name": ..., "config": {...}}``."""
    name = config.get("class_name")
    if name not in CLASSES:
        raise ValueError(f"`{argument}`: unknown initialiser class {name!r}; known: "
                         f"{sorted(CLASSES)}")
    options = dict(config.get("config") or {})
    if isinstance(options.get("value"), dict):   # Keras serialises an array value
        options["value"] = options["value"].get("config", {}).get("value")
    if name in ("GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform"):
        for key in ("input_axes", "output_axes"):   # Keras 3.15's, None by default
            if options.pop(key, None) is not None:
                raise ValueError(f"`{argument}`: {name}({key}=...) is not supported")
    try:
        return CLASSES[name].from_config(options)
    except TypeError as error:
        raise ValueError(f"`{argument}`: {name} does not take the config {options}: "
                         f"{error}") from None


def get(identifier, argument):
    """An initialiser ``f(shape, rng) -> array`` from its Keras name (``"glorot_uniform"``
    or ``"GlorotUniform"``), its serialised dict, or a callable (an :class:`Initializer`
    included) as is."""
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in INITIALIZERS:
        return INITIALIZERS[identifier]
    if isinstance(identifier, str) and identifier in CLASSES:
        return CLASSES[identifier]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier, argument)
    raise ValueError(
        f"`{argument}` must be one of {sorted(INITIALIZERS)}, an initialiser such as "
        f"Constant(value) or a callable f(shape, rng), got {identifier!r}"
    )
