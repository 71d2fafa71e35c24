"""Weight regularisers as Keras 3 defines them: penalties a layer adds to the loss.

A regulariser is a callable ``reg(w) -> float`` (the penalty of one weight array) with
``reg.gradient(w) -> array`` (its gradient, shaped and typed like ``w``)::

    L1(l1=0.01)          penalty = l1 · Σ |w|                 gradient = l1 · sign(w)
    L2(l2=0.01)          penalty = l2 · Σ w²                  gradient = l2 · 2w
    L1L2(l1=0.0, l2=0.0) penalty = l1 · Σ |w| + l2 · Σ w²     (a term only when its factor ≠ 0)

Keras 3's L2 has no ½: ``L2(0.01)`` of ``w = [1, 2]`` is ``0.05``.  ``sign(0) = 0``, as
TensorFlow differentiates ``abs``.  The factor is rounded to float32 and then cast to the
weight's dtype before it multiplies, as Keras does (its ``ops.cast`` of a Python float
goes through a float32 tensor), so a float64 ``L1(0.01)`` penalty is
``0.009999999776482582 · Σ |w|``: equal to Keras's to the bit, not to ``0.01 · Σ |w|``.

``l1``, ``l2`` and ``l1_l2`` are Keras 3's aliases of the classes.  Unlike Keras 2's
function, ``l1_l2()`` is ``L1L2()``: both factors 0, no penalty (pass them).  The
names a layer takes as strings are Keras's: ``"l1"``, ``"l2"``, ``"l1l2"`` (and the class
names); Keras 3 does not know ``"l1_l2"``, and neither does this.

A layer takes them as ``kernel_regularizer``, ``recurrent_regularizer``,
``bias_regularizer`` or ``embeddings_regularizer``; ``layer.losses`` lists the penalties
of its trainable weights and ``layer.regularization_gradients()`` their gradients
(see :class:`scratchrnn.layers.Layer`).
"""

import math
import numbers

import numpy as np


def _factor(value, argument, default):
    """A non-negative finite factor (None means ``default``), as Keras validates it."""
    if value is None:
        return default
    if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"`{argument}` must be a non-negative float, got {value!r}")
    return float(value)


def _cast_factor(factor, dtype):
    """Keras's ``ops.cast(factor, w.dtype)``: the factor rounded to float32 first."""
    return np.asarray(np.float32(factor), dtype=dtype)


def _weights(w):
    w = np.asarray(w)
    if w.dtype.kind != "f":
        raise TypeError(f"a regulariser takes a float array, got dtype {w.dtype}")
    return w


class Regularizer:
    """Base of the regularisers: ``reg(w) -> float`` and ``reg.gradient(w) -> array``.
    Subclasses list their constructor arguments in ``_config``."""

    _config = ()

    def __call__(self, w):
        raise NotImplementedError

    def gradient(self, w):
        raise NotImplementedError

    def get_config(self):
        return {name: getattr(self, name) for name in self._config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, tuple(self.get_config().items())))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """``l1 · Σ |w|``; gradient ``l1 · sign(w)``."""

    _config = ("l1",)

    def __init__(self, l1=0.01):
        self.l1 = _factor(l1, "l1", 0.01)

    def __call__(self, w):
        w = _weights(w)
        return float(_cast_factor(self.l1, w.dtype) * np.sum(np.abs(w)))

    def gradient(self, w):
        w = _weights(w)
        return _cast_factor(self.l1, w.dtype) * np.sign(w)


class L2(Regularizer):
    """``l2 · Σ w²`` (no ½, as in Keras 3); gradient ``l2 · 2w``."""

    _config = ("l2",)

    def __init__(self, l2=0.01):
        self.l2 = _factor(l2, "l2", 0.01)

    def __call__(self, w):
        w = _weights(w)
        return float(_cast_factor(self.l2, w.dtype) * np.sum(np.square(w)))

    def gradient(self, w):
        w = _weights(w)
        return _cast_factor(self.l2, w.dtype) * (w * w.dtype.type(2))


class L1L2(Regularizer):
    """``l1 · Σ |w| + l2 · Σ w²``; a factor of 0 (the default of both) adds nothing."""

    _config = ("l1", "l2")

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1", 0.0)
        self.l2 = _factor(l2, "l2", 0.0)

    def __call__(self, w):
        w = _weights(w)
        total = np.zeros((), w.dtype)
        if self.l1 != 0.0:
            total = total + _cast_factor(self.l1, w.dtype) * np.sum(np.abs(w))
        if self.l2 != 0.0:
            total = total + _cast_factor(self.l2, w.dtype) * np.sum(np.square(w))
        return float(total)

    def gradient(self, w):
        w = _weights(w)
        grad = np.zeros_like(w)
        if self.l1 != 0.0:
            grad += _cast_factor(self.l1, w.dtype) * np.sign(w)
        if self.l2 != 0.0:
            grad += _cast_factor(self.l2, w.dtype) * (w * w.dtype.type(2))
        return grad


# Keras 3's lower-case names are the classes themselves.
l1 = L1
l2 = L2
l1_l2 = L1L2

CLASSES = {cls.__name__: cls for cls in (L1, L2, L1L2)}
#: The strings a layer takes (Keras's: the class names and their snake_case).
NAMES = {**CLASSES, "l1": L1, "l2": L2, "l1l2": L1L2}


def serialize(regularizer):
    """``{"class_name", "config"}`` (JSON-friendly), or None for None."""
    if regularizer is None:
        return None
    if isinstance(regularizer, Regularizer) and type(regularizer).__name__ in CLASSES:
        return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
    raise TypeError(f"cannot serialize the regularizer {regularizer!r}: only "
                    f"{sorted(CLASSES)} can be")


def deserialize(config, argument="regularizer"):
    """The regulariser of ``{"class_name": ..., "config": {...}}`` (Keras's serialised
    form, with ``module``/``registered_name``, included)."""
    name = config.get("class_name")
    if name in ("OrthogonalRegularizer", "orthogonal_regularizer"):
        raise ValueError(f"`{argument}`: OrthogonalRegularizer is not supported by "
                         f"scratchrnn (supported: {sorted(CLASSES)})")
    if name not in NAMES:
        raise ValueError(f"`{argument}`: unknown regularizer class {name!r}; known: "
                         f"{sorted(CLASSES)}")
    options = dict(config.get("config") or {})
    try:
        return NAMES[name].from_config(options)
    except TypeError as error:
        raise ValueError(f"`{argument}`: {name} does not take the config {options}: "
                         f"{error}") from None


def get(identifier, argument="regularizer"):
    """A regulariser from None, a name (``"l1"``, ``"l2"``, ``"l1l2"``, ``"L1"``, ...,
    each with Keras's default factors), a serialised dict, a class, or an object with
    ``__call__`` and ``gradient`` (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier not in NAMES:
            raise ValueError(f"`{argument}` must be one of {sorted(NAMES)}, a regularizer "
                             f"such as L2(0.01), or None, got {identifier!r}")
        return NAMES[identifier]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier, argument)
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if callable(identifier) and callable(getattr(identifier, "gradient", None)):
        return identifier
    if callable(identifier):
        raise TypeError(f"`{argument}`: {identifier!r} has no gradient(w): scratchrnn "
                        f"computes the penalty's gradient by hand, so a regularizer must "
                        f"define gradient(w) as well as __call__(w) (see "
                        f"scratchrnn.regularizers.Regularizer)")
    raise ValueError(f"`{argument}` must be one of {sorted(NAMES)}, a regularizer such as "
                     f"L2(0.01), or None, got {identifier!r}")
