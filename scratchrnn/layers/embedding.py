"""``Embedding``: Keras's lookup table from integer indices to dense vectors."""

import warnings

import numpy as np

from .. import _checks, initializers
from ..ops.indexed_slices import IndexedSlices
from . import _arguments
from .layer import Layer


class Embedding(Layer):
    """Row lookup ``y[..., :] = E[i[...], :]`` in ``embeddings E (input_dim, output_dim)``.

    Inputs are integer indices of any shape, in ``[0, input_dim)``; floats that hold
    integers are accepted (Keras casts them), other floats, booleans and anything else
    are refused.  (Keras casts a float such as 5.97 to the index 5 without a word; this
    layer refuses it, naming itself, rather than look up a row nobody asked for.)
    The output has the inputs' shape plus ``output_dim`` and the layer's dtype.
    Backward: an index has no gradient (``backward`` returns None) and row ``r``
    of ``dE`` sums the output gradients of every position that looked ``r`` up::

        dE[r] = Σ_{p : i[p] = r} dy[p]

    ``mask_zero=True`` makes index 0 padding: ``compute_mask`` is ``inputs != 0`` (it
    replaces any incoming mask, as Keras's does); without it the layer does not support
    masking, and an incoming mask is dropped with a warning, as Keras does.

    ``weights=[matrix]`` (or the matrix alone) starts from given vectors, as Keras 3.15's
    ``Embedding(weights=...)`` does; with ``trainable=False`` they stay frozen
    (``trainable_weights == []``).  The table does not depend on the inputs' shape, so
    the layer is built at construction.

    ``embeddings_regularizer`` (:mod:`scratchrnn.regularizers`) adds its penalty of the
    whole table to ``losses``; ``activity_regularizer`` must stay None.  ``input_length``
    is accepted and ignored with Keras 3's warning (the table does not depend on it).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, activity_regularizer=None, mask_zero=False,
                 weights=None, trainable=True, name=None, dtype="float32", seed=None,
                 input_length=None, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, seed=seed, **kwargs)
        if input_length is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.",
                          UserWarning, stacklevel=2)
        self.input_dim = _arguments.positive_int(input_dim, "input_dim")
        self.output_dim = _arguments.positive_int(output_dim, "output_dim")
        self.embeddings_initializer = embeddings_initializer
        self._embeddings_initializer = initializers.get(embeddings_initializer,
                                                        "embeddings_initializer")
        self.embeddings_regularizer = _arguments.regularizer(embeddings_regularizer,
                                                             "embeddings_regularizer")
        self.activity_regularizer = _arguments.no_activity_regularizer(activity_regularizer)
        self.mask_zero = _checks.boolean(mask_zero, "mask_zero")
        self.supports_masking = self.mask_zero
        self.build()
        if weights is not None:
            self.set_weights(_as_weight_list(weights))

    def __repr__(self):
        return (f"Embedding(input_dim={self.input_dim}, output_dim={self.output_dim}, "
                f"name={self.name!r})")

    def get_config(self):
        """The constructor arguments; ``weights`` travel with ``get_weights``, not here."""
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": _arguments.serialized(self.embeddings_initializer),
                "embeddings_regularizer": _arguments.serialized(self.embeddings_regularizer),
                "activity_regularizer": None, "mask_zero": self.mask_zero, "seed": self.seed}

    def build(self, input_shape=None):
        if not self.built:
            self._add_weight("embeddings", (self.input_dim, self.output_dim),
                             self._embeddings_initializer)
            self.built = True

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def compute_mask(self, inputs, mask=None):
        return self._check_inputs(inputs) != 0 if self.mask_zero else None

    def _check_inputs(self, inputs):
        """``inputs`` as an integer array of valid indices, or a TypeError/ValueError."""
        arr = np.asarray(inputs)
        if arr.dtype.kind == "f":
            whole = np.isfinite(arr) & (arr == np.round(arr))
            if not np.all(whole):
                where = tuple(int(i) for i in np.argwhere(~whole)[0])
                bad = float(arr[where])
                raise TypeError(
                    f"{self.name} (Embedding): `inputs` must be integer indices (floats only "
                    f"when they hold integers), got the float {bad} at position {where}; "
                    f"Keras would silently truncate it to {_truncated(bad)}, which is rarely "
                    f"what was meant, so scratchrnn refuses it (round or cast the ids first)")
        elif arr.dtype.kind not in "iu":
            raise TypeError(f"{self.name} (Embedding): `inputs` must be integer indices, got "
                            f"an array of dtype {arr.dtype}")
        if arr.size:
            low, high = arr.min(), arr.max()
            bad = low if low < 0 else high if high >= self.input_dim else None
            if bad is not None:
                where = tuple(int(i) for i in np.argwhere(arr == bad)[0])
                raise ValueError(f"`inputs` must hold indices in [0, input_dim={self.input_dim}"
                                 f"), got {int(bad)} at position {where}")
        return arr.astype(np.intp)

    def call(self, indices, mask=None, training=False):
        self._tape = indices
        return np.take(self.embeddings, indices, axis=0)

    def backward(self, d_out):
        """Sets the (dense) gradient of ``embeddings`` and returns None (no gradient
        flows into integer indices)."""
        indices = self._require_tape()
        dy = self._check_grad(d_out, (*indices.shape, self.output_dim))
        self._rows = IndexedSlices(indices.reshape(-1), dy.reshape(-1, self.output_dim),
                                   self.embeddings.shape)
        return None

    @property
    def _gradients(self):
        """The dense gradient, summed from the rows when asked for (an optimizer takes
        the rows and sums them itself: summing here too would do it twice)."""
        return None if self._rows is None else [self._rows.dense()]

    @_gradients.setter
    def _gradients(self, value):
        if value is not None:      # only Layer.__init__ sets it, to clear it
            raise AttributeError("an Embedding's gradient comes from backward()")
        self._rows = None

    def optimizer_gradients(self):
        """The gradient row by row, one row per lookup (TensorFlow's ``IndexedSlices``):
        Keras's gradient clipping measures these unsummed rows (see
        :mod:`scratchrnn.optimizers`)."""
        if self._rows is None:
            raise RuntimeError(f"{self.name}: no gradients: call backward() first")
        return [self._rows]



def _truncated(value):
    """The index Keras's cast of a float id gives (toward zero), for the message."""
    return f"the index {int(value)}" if np.isfinite(value) else "an undefined index"


def _as_weight_list(weights):
    """``[matrix]`` from ``weights=[matrix]`` or ``weights=matrix`` (Keras takes both)."""
    if isinstance(weights, (list, tuple)):
        if len(weights) == 1:
            return list(weights)
        if any(np.ndim(w) == 2 for w in weights):
            raise ValueError(f"`weights` must be [embeddings], one (input_dim, output_dim) "
                             f"matrix, got a list of {len(weights)} arrays")
    return [weights]                  # the matrix alone; set_weights checks its shape
