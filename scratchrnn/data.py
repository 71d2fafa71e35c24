"""Where ``fit``, ``evaluate`` and ``predict`` get their batches: Keras's data path.

Keras takes data in four forms, and so does every scratchrnn model:

- **arrays** ``x, y`` (one array, or a list / dict of arrays for several inputs or
  outputs): cut into ``batch_size`` batches, shuffled each epoch with the model's seeded
  generator (:class:`ArrayBatches`);
- a **tf.data.Dataset** yielding ``(x, y)`` or ``(x, y, sample_weight)`` batches (read
  through NumPy; TensorFlow is never imported here);
- a **PyDataset**-like object: ``__len__`` batches, ``__getitem__(i)`` the i-th;
- any other **iterable or generator** of such batches.

The last three are :class:`BatchStream`.  A re-iterable source starts again every epoch;
a one-shot iterator (a generator) is consumed across epochs.  ``steps`` (Keras's
``steps_per_epoch`` / ``validation_steps`` / ``steps``) limits an epoch to that many
batches; the stream then carries on from where it stopped, starting over when a
re-iterable source runs out.  The same batches, whatever their form, give the same
training step: a model trained on a generator of the batches that ``fit`` would cut
from arrays ends with the same weights, bit for bit.
"""

import warnings

import numpy as np

from . import _checks


def is_stream(x):
    """Whether ``x`` is a source of batches rather than an array (or a list / dict of
    arrays)."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    if hasattr(x, "__array__"):           # a tensor: one array
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__") or (
        hasattr(x, "__len__") and hasattr(x, "__getitem__"))


def refuse_masked(structure, argument, where=""):
    """:func:`scratchrnn._checks.refuse_masked` for data given to a model."""
    return _checks.refuse_masked(structure, argument, "pass its data (value.filled(0)) and "
                                 "give the entries to skip a zero `sample_weight`, or put a "
                                 "Masking layer first", where)


def to_numpy(structure):
    """A batch as NumPy: tensors converted, tuples of inputs made lists (several inputs)."""
    if isinstance(structure, dict):
        return {k: to_numpy(v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [to_numpy(v) for v in structure]
    return np.asarray(structure)


def split_batch(batch, argument):
    """``(x, y, sample_weight)`` from a batch ``(x, y)``, ``(x, y, w)`` or ``x`` alone."""
    refuse_masked(batch, argument, " batch")
    if isinstance(batch, tuple) and len(batch) in (2, 3):
        x, y = batch[0], batch[1]
        w = batch[2] if len(batch) == 3 else None
        return to_numpy(x), (None if y is None else to_numpy(y)), (
            None if w is None else np.asarray(w))
    if isinstance(batch, (tuple, list)) and len(batch) == 1:
        return to_numpy(batch[0]), None, None
    if isinstance(batch, tuple):
        raise ValueError(f"a batch from `{argument}` must be (x, y) or (x, y, sample_weight), "
                         f"got a tuple of {len(batch)}")
    return to_numpy(batch), None, None


def batch_size_of(x):
    if isinstance(x, dict):
        x = next(iter(x.values()))
    if isinstance(x, list):
        x = x[0]
    return len(x)


class ArrayBatches:
    """Batches cut from aligned arrays (the target last), shuffled per epoch."""

    def __init__(self, data, batch_size, shuffle=False, rng=None, steps=None):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = rng
        self.n = _length(data[0])
        self.steps = None if steps is None else _checks.positive_int(steps, "steps")

    def __len__(self):
        full = -(-self.n // self.batch_size)
        return full if self.steps is None else min(full, self.steps)

    def epoch(self):
        """The batches of one epoch, each a tuple of arrays aligned with ``data``."""
        order = self.rng.permutation(self.n) if self.shuffle else None
        for i, start in enumerate(range(0, self.n, self.batch_size)):
            if self.steps is not None and i >= self.steps:
                return
            index = (slice(start, start + self.batch_size) if order is None
                     else order[start:start + self.batch_size])
            yield tuple(take(a, index) for a in self.data)


class BatchStream:
    """Batches from a tf.data.Dataset, a PyDataset-like object or any iterable."""

    def __init__(self, source, steps=None, argument="x"):
        self.source = source
        self.argument = argument
        self.steps = None if steps is None else _checks.positive_int(
            steps, "steps_per_epoch" if argument == "x" else "validation_steps")
        self._iterator = None
        self.exhausted = False
        if hasattr(source, "__len__") and hasattr(source, "__getitem__") and not hasattr(
                source, "as_numpy_iterator"):
            self._kind = "indexed"
        elif hasattr(source, "as_numpy_iterator"):
            self._kind = "dataset"
        elif iter(source) is source:
            self._kind = "iterator"           # one-shot: a generator
        else:
            self._kind = "iterable"

    def __len__(self):
        known = _known_length(self.source)
        if self.steps is not None:
            return self.steps
        if known is None:
            raise TypeError("the number of batches is unknown")
        return known

    def length(self):
        try:
            return len(self)
        except TypeError:
            return None

    def _fresh(self):
        if self._kind == "indexed":
            return (self.source[i] for i in range(len(self.source)))
        if self._kind == "dataset":
            return self.source.as_numpy_iterator()
        return iter(self.source)

    def epoch(self):
        """The batches of one epoch as ``(x, y, sample_weight)`` tuples."""
        if self.steps is None:
            iterator = self._fresh() if self._kind != "iterator" else self._one_shot()
            for batch in iterator:
                yield split_batch(batch, self.argument)
            return
        taken = 0
        while taken < self.steps:
            if self._iterator is None:
                self._iterator = self._one_shot() if self._kind == "iterator" else self._fresh()
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if self._kind == "iterator" or taken == 0 and self.exhausted:
                    self.exhausted = True
                    warnings.warn(f"`{self.argument}` ran out of data after {taken} of "
                                  f"{self.steps} steps of this epoch", stacklevel=3)
                    return
                self.exhausted = True
                continue
            self.exhausted = False
            taken += 1
            yield split_batch(batch, self.argument)

    def _one_shot(self):
        if self._iterator is None:
            self._iterator = iter(self.source)
        return self._iterator


def _known_length(source):
    if hasattr(source, "cardinality"):       # tf.data: -1 infinite, -2 unknown
        n = int(source.cardinality())
        return n if n >= 0 else None
    try:
        return len(source)
    except TypeError:
        return None


def _length(a):
    if isinstance(a, dict):
        a = next(iter(a.values()))
    if isinstance(a, list):
        a = a[0]
    return len(a)


def take(structure, index):
    """Rows ``index`` of an array, or of each array of a list / dict (None stays None)."""
    if structure is None:
        return None
    if isinstance(structure, dict):
        return {k: v[index] for k, v in structure.items()}
    if isinstance(structure, list):
        return [v[index] for v in structure]
    return structure[index]


# --- data as the user gives it: arrays, lists and dicts of arrays ---------------------

def flatten_like(values, structure, argument):
    """``values`` (arrays given in the structure of the model's inputs or outputs) as a
    flat list aligned with it."""
    if isinstance(structure, dict):
        if not isinstance(values, dict):
            if isinstance(values, (list, tuple)) and len(values) == len(structure):
                return list(values)
            raise TypeError(f"`{argument}` must be a dict with keys {sorted(structure)}, got "
                            f"{type(values).__name__}")
        missing = set(structure) - set(values)
        if missing:
            raise ValueError(f"`{argument}` lacks {sorted(missing)}; expected keys "
                             f"{sorted(structure)}")
        return [values[k] for k in structure]
    if isinstance(structure, (list, tuple)):
        if len(structure) == 1 and not (isinstance(values, (list, tuple))
                                        and len(values) == 1 and is_array(values[0])):
            return [values]
        if not isinstance(values, (list, tuple)) or len(values) != len(structure):
            got = (f"{len(values)} arrays" if isinstance(values, (list, tuple))
                   else type(values).__name__)
            raise ValueError(f"`{argument}` must be a list of {len(structure)} arrays, one "
                             f"per model {'input' if argument == 'inputs' else 'output'}, "
                             f"got {got}")
        return list(values)
    if isinstance(values, (list, tuple)) and len(values) == 1 and is_array(values[0]):
        return [values[0]]
    return [values]


def is_array(value):
    return isinstance(value, np.ndarray) or hasattr(value, "__array__")


def as_arrays(structure):
    """Data as arrays: a dict or a list of arrays (several inputs or outputs) keeps its
    structure; anything else is one array."""
    if isinstance(structure, dict):
        return {k: np.asarray(v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)) and structure and all(
            isinstance(v, np.ndarray) for v in structure):
        return [np.asarray(v) for v in structure]
    return np.asarray(structure)


def concatenate(batches):
    first = batches[0]
    if isinstance(first, dict):
        return {k: np.concatenate([b[k] for b in batches], axis=0) for k in first}
    if isinstance(first, list):
        return [np.concatenate([b[i] for b in batches], axis=0) for i in range(len(first))]
    return np.concatenate(batches, axis=0)


def split_validation(x, y, validation_split, validation_data):
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("`validation_data` must be a tuple (x_val, y_val)")
        vx, vy = validation_data
        if num_samples(vx, "validation_data[0]") != num_samples(vy, "validation_data[1]"):
            raise ValueError("`validation_data` x and y must hold the same number of samples")
        return x, y, (np.asarray(vx), np.asarray(vy))
    if validation_split is not None and (isinstance(validation_split, (bool, np.bool_))
                                         or not isinstance(validation_split, (
                                             int, float, np.integer, np.floating))):
        raise TypeError(f"`validation_split` must be a float in [0, 1), got "
                        f"{validation_split!r} of type {type(validation_split).__name__}")
    if not validation_split:
        return x, y, None
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"`validation_split` must be in [0, 1), got {validation_split}")
    n = num_samples(x, "x")
    split = int(np.floor(n * (1.0 - validation_split)))
    if split in (0, n):
        raise ValueError(f"`validation_split={validation_split}` leaves no samples on one "
                         f"side of {n}")
    head, tail = slice(None, split), slice(split, None)
    return take(x, head), take(y, head), (take(x, tail), take(y, tail))


def sample_weights(value, n, argument="sample_weight"):
    """``value`` as an array of one weight per sample (``(n,)``, or ``(n, steps)`` for
    per-step weights), or None; checked here so that a wrong length fails before any
    step rather than in some batch."""
    if value is None:
        return None
    refuse_masked(value, argument)
    w = np.asarray(value)
    if w.ndim not in (1, 2) or w.shape[0] != n:
        raise ValueError(f"`{argument}` must hold one weight per sample, shape ({n},) or "
                         f"({n}, steps), got shape {w.shape}")
    return w


def batch_size_argument(value):
    """``batch_size``: None is Keras's 32."""
    return 32 if value is None else _checks.positive_int(value, "batch_size")


def num_samples(a, argument):
    """The batch size of ``a``: one array, or a list / dict of arrays of one batch size."""
    parts = (list(a.values()) if isinstance(a, dict) else list(a) if isinstance(
        a, (list, tuple)) and a and all(isinstance(v, np.ndarray) for v in a) else None)
    if parts is not None:
        sizes = {num_samples(v, argument) for v in parts}
        if len(sizes) != 1:
            raise ValueError(f"`{argument}` must hold arrays of one batch size, got sizes "
                             f"{sorted(sizes)}")
        return sizes.pop()
    if isinstance(a, (list, tuple)) or not hasattr(a, "__len__"):
        a = np.asarray(a)
    if np.ndim(a) == 0:
        raise ValueError(f"`{argument}` must be an array with a batch axis, got a scalar")
    if len(a) == 0:
        raise ValueError(f"`{argument}` must hold at least one sample, got none")
    return len(a)


def dtype_name(x):
    kind = np.asarray(x).dtype
    return kind.name if kind.name in ("float32", "float64", "int32", "int64") else "float32"
