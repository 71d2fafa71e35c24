"""The ``keras.utils`` names a Keras user types: ``pad_sequences``,
``timeseries_dataset_from_array``, ``to_categorical``, ``set_random_seed``.

Pure NumPy; nothing here imports TensorFlow.  A course line such as
``tf.keras.utils.to_categorical(y, 10)`` runs as ``sr.utils.to_categorical(y, 10)``
and gives Keras's array.  ``timeseries_dataset_from_array`` gives a small re-iterable
object of NumPy batches instead of a ``tf.data.Dataset``: a model's ``fit`` takes it as it
takes any iterable of batches, and ``list(ds)`` shows what Keras's dataset would yield.
"""

import numbers
import random

import numpy as np

from .text import pad_sequences
from .timeseries import window_plan

__all__ = ["pad_sequences", "timeseries_dataset_from_array", "TimeseriesDataset",
           "to_categorical", "set_random_seed"]


# --- time series ---------------------------------------------------------------------------

class TimeseriesDataset:
    """The batches of :func:`timeseries_dataset_from_array`, made when iterated.

    ``for x, y in ds`` (or ``for x in ds`` without targets) walks the windows once; every
    ``iter(ds)`` starts again.  ``len(ds)`` is the number of batches (of samples when
    ``batch_size`` is None).  Windows are gathered batch by batch, so the whole set of
    windows is never held in memory at once.
    """

    def __init__(self, plan, batch_size, shuffle, seed):
        self._plan = plan
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.num_samples = len(plan.starts)
        self._order = np.arange(self.num_samples)
        self._passes = 0
        if shuffle:
            # Keras's first shuffle, exactly: RandomState(seed) permutes the start
            # positions once (the permutation depends only on their number).
            np.random.RandomState(seed).shuffle(self._order)

    def __len__(self):
        if self.batch_size is None:
            return self.num_samples
        return -(-self.num_samples // self.batch_size)

    def __repr__(self):
        return (f"TimeseriesDataset(samples={self.num_samples}, batch_size="
                f"{self.batch_size}, shuffle={self.shuffle}, targets="
                f"{self._plan.targets is not None})")

    def _pass_order(self):
        """This pass's order of the windows: Keras's fixed permutation, then (with
        ``shuffle``) a buffer shuffle like ``tf.data``'s, drawn anew for each pass."""
        if not self.shuffle:
            return self._order
        buffer_size = 1024 if self.batch_size is None else self.batch_size * 8
        rng = np.random.default_rng([self.seed, self._passes])
        self._passes += 1
        order, buffer = [], list(self._order[:buffer_size])
        for nxt in self._order[buffer_size:]:
            k = int(rng.integers(len(buffer)))
            order.append(buffer[k])
            buffer[k] = nxt
        while buffer:
            order.append(buffer.pop(int(rng.integers(len(buffer)))))
        return np.array(order, dtype=np.int64)

    def __iter__(self):
        order = self._pass_order()
        size = 1 if self.batch_size is None else self.batch_size
        for first in range(0, len(order), size):
            rows = order[first:first + size]
            x = self._plan.inputs(rows)
            y = None if self._plan.targets is None else self._plan.outputs(rows)
            if self.batch_size is None:
                x = x[0]
                y = None if y is None else y[0]
            yield x if y is None else (x, y)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None):
    """``keras.utils.timeseries_dataset_from_array``: sliding windows of ``data``, in
    batches, as a re-iterable :class:`TimeseriesDataset` of NumPy arrays.

    Window ``i`` starts at ``s_i = start_index + i * sequence_stride`` and takes
    ``data[s_i + j * sampling_rate]`` for ``j < sequence_length``, all before
    ``end_index``; its target is ``targets[s_i]`` (the window's *first* step: for
    next-step targets pass ``data[:-sequence_length]`` and ``data[sequence_length:]``, as
    Keras's docstring does).  Batches are ``(x, y)`` with ``x`` of shape
    ``(batch, sequence_length) + data.shape[1:]`` and ``y`` ``(batch,) +
    targets.shape[1:]``, or ``x`` alone when ``targets`` is None; the last batch may be
    smaller; ``batch_size=None`` yields single windows.  Dtypes are the arrays'.

    Without ``shuffle`` the windows and batches are Keras's, to the bit.  With it, Keras
    shuffles twice: the start positions once with ``np.random.RandomState(seed)`` (done
    here identically), then through a ``tf.data`` shuffle buffer of ``8 * batch_size``
    windows, reshuffled at each pass, which NumPy cannot reproduce: here a buffer of the
    same size drawn from ``numpy.random.default_rng([seed, pass])``.  Each pass holds
    every window once either way.  ``seed=None`` with ``shuffle``: a seed is drawn from
    NumPy's global generator, as Keras does.  Argument checks are Keras's (see
    :func:`scratchrnn.timeseries.timeseries_dataset`).
    """
    plan = window_plan(data, targets, sequence_length, sequence_stride, sampling_rate,
                       start_index, end_index)
    if batch_size is not None and (isinstance(batch_size, bool)
                                   or not isinstance(batch_size, numbers.Integral)
                                   or batch_size < 1):
        raise ValueError(f"`batch_size` must be None or a positive integer, got "
                         f"{batch_size!r}")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"`shuffle` must be True or False, got {shuffle!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or not 0 <= seed < 2**32):
        raise ValueError(f"`seed` must be None or an integer in [0, 2**32), got {seed!r}")
    if shuffle and seed is None:
        seed = int(np.random.randint(1e6))
    return TimeseriesDataset(plan, None if batch_size is None else int(batch_size),
                             bool(shuffle), None if seed is None else int(seed))


# --- labels --------------------------------------------------------------------------------

def to_categorical(x, num_classes=None):
    """``keras.utils.to_categorical``: class ids to one-hot rows, float64, the class axis
    last.

    The output shape is ``x.shape + (num_classes,)``, except that a trailing axis of 1 is
    replaced (``(n, 1)`` gives ``(n, num_classes)``, as Keras does); one id gives
    ``(num_classes,)``.  ``num_classes`` None (or 0, as in Keras) means ``max(x) + 1``.

    Stricter than Keras, which casts to int64 and indexes NumPy with the result: ids must
    be integers (floats holding integers are accepted; Keras turns 1.7 into 1), and lie in
    ``[0, num_classes)`` (Keras takes -1 for the last class, and fails with an IndexError
    past the end).
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`x` must hold integer class ids, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.trunc(arr)):
            bad = arr[~np.isfinite(arr) | (arr != np.trunc(arr))][:5].tolist()
            raise ValueError(f"`x` must hold integer class ids, got {bad}")
    ids = arr.astype(np.int64)
    if num_classes is not None and (isinstance(num_classes, bool)
                                    or not isinstance(num_classes, numbers.Integral)
                                    or num_classes < 0):
        raise ValueError(f"`num_classes` must be None or a positive integer, got "
                         f"{num_classes!r}")
    if not num_classes:
        if not ids.size:
            raise ValueError("`num_classes` must be given when `x` is empty (there is no "
                             "largest id)")
        num_classes = int(ids.max()) + 1
    bad = ids[(ids < 0) | (ids >= num_classes)]
    if bad.size:
        raise ValueError(f"`x` must hold class ids in [0, {num_classes}) for "
                         f"num_classes={num_classes}, got {bad[:5].tolist()}")
    shape = ids.shape[:-1] if ids.ndim > 1 and ids.shape[-1] == 1 else ids.shape
    out = np.zeros((ids.size, int(num_classes)))
    out[np.arange(ids.size), ids.reshape(-1)] = 1.0
    return out.reshape(shape + (int(num_classes),))


# --- seeds ---------------------------------------------------------------------------------

def set_random_seed(seed):
    """``keras.utils.set_random_seed``: seed Python's ``random``, NumPy's global
    generator (which the courses' own NumPy code uses) and, only if it is already
    imported, TensorFlow.

    scratchrnn's layers draw from their own ``numpy.random.Generator``: pass ``seed=`` to
    a layer for reproducible weights.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ValueError(f"`seed` must be an integer in [0, 2**32), got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    import sys
    tf = sys.modules.get("tensorflow")
    if tf is not None and hasattr(tf, "random"):
        tf.random.set_seed(seed)
