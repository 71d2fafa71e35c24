"""Argument checks that fail early with a message naming the argument, what was
expected and what came, instead of a broadcasting error deep inside an op."""

import numbers

import numpy as np

DTYPES = ("float32", "float64")


class IntegerArgumentError(TypeError, ValueError):
    """A size argument that is not an integer: a TypeError (Python's convention) and a
    ValueError (what Keras raises for ``Dense(3.7)``), so that either ``except`` catches it."""


def positive_int(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise IntegerArgumentError(f"`{argument}` must be a positive integer, got {value!r} "
                                   f"of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"`{argument}` must be a positive integer, got {value}")
    return int(value)


def non_negative_int(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{argument}` must be a non-negative integer, got {value!r} "
                        f"of type {type(value).__name__}")
    if value < 0:
        raise ValueError(f"`{argument}` must be a non-negative integer, got {value}")
    return int(value)


def boolean(value, argument):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{argument}` must be True or False, got {value!r}")
    return bool(value)


def rate(value, argument):
    """A dropout rate in [0, 1): 1 would drop everything, so it is refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{argument}` must be a float in [0, 1), got {value!r}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"`{argument}` must be in [0, 1), got {value}")
    return float(value)


def dtype(value):
    name = np.dtype(value).name if isinstance(value, (type, np.dtype)) else value
    if name not in DTYPES:
        raise ValueError(f"`dtype` must be one of {DTYPES}, got {value!r}")
    return np.dtype(name)


def seed(value):
    if value is not None and (isinstance(value, bool)
                              or not isinstance(value, numbers.Integral) or value < 0):
        raise ValueError(f"`seed` must be None or a non-negative integer, got {value!r}")
    return value


def refuse_masked(structure, argument, remedy, where=""):
    """Refuse a NumPy masked array anywhere in ``structure`` (an array, or a list / tuple /
    dict of them): ``np.asarray`` would drop its mask silently, and the masked entries
    would count as data.  ``remedy``: what to do instead, for this caller; ``where``: the
    place inside ``argument`` (``"[0]"``)."""
    if isinstance(structure, np.ma.MaskedArray):
        raise TypeError(f"`{argument}`{where} is a NumPy masked array, whose mask would be "
                        f"dropped silently: {remedy}")
    if isinstance(structure, dict):
        for key, value in structure.items():
            refuse_masked(value, argument, remedy, f"{where}[{key!r}]")
    elif isinstance(structure, (list, tuple)):
        for i, value in enumerate(structure):
            refuse_masked(value, argument, remedy, f"{where}[{i}]")
    return structure


def real_array(value, argument, dtype, copy=False):
    """``value`` as a C-contiguous array of ``dtype``; real numbers only (ints and other
    float widths are cast, as Keras casts inputs to the layer's dtype).  ``copy=True``
    for arrays the caller keeps, so that later changes to theirs do not reach ours.
    A NumPy masked array is refused: ``np.asarray`` would drop its mask silently."""
    refuse_masked(value, argument, "pass its data (value.filled(0)) and the steps to skip "
                  "as `mask=` (a boolean array, True where valid), or put a Masking layer "
                  "first")
    try:
        arr = np.asarray(value)
    except ValueError as err:        # nested lists of unequal lengths
        raise ValueError(f"`{argument}` must be a rectangular array; nested sequences of "
                         f"unequal lengths cannot be one ({err})") from None
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"`{argument}` must hold real numbers, got an array of dtype "
                        f"{arr.dtype}")
    return arr.astype(dtype, order="C", copy=copy)


def shape_is(arr, expected, argument, what=""):
    """Raise unless ``arr.shape == expected`` (None in ``expected`` matches anything)."""
    ok = arr.ndim == len(expected) and all(
        e is None or e == a for e, a in zip(expected, arr.shape))
    if not ok:
        dims = ["?" if e is None else str(e) for e in expected]
        shown = f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"
        raise ValueError(f"`{argument}` must have shape {shown}{what}, got {arr.shape}")
