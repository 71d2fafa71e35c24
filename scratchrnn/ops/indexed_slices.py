"""``IndexedSlices``: a gradient given row by row, as TensorFlow gives an embedding's.

A layer that looks rows up (``Embedding``) produces its gradient in this form, and an
optimizer consumes it; it lives here, among the ops, so that neither side imports the
other.
"""

from typing import NamedTuple

import numpy as np


class IndexedSlices(NamedTuple):
    """A gradient given by rows, as TensorFlow gives an embedding's: ``values[k]`` is a
    gradient contribution to row ``indices[k]`` of a variable of shape ``dense_shape``;
    rows may repeat.  ``dense()`` sums them into the full gradient."""

    indices: np.ndarray
    values: np.ndarray
    dense_shape: tuple

    @property
    def dtype(self):
        return self.values.dtype

    def dense(self):
        out = np.zeros(self.dense_shape, self.values.dtype)
        np.add.at(out, self.indices, self.values)     # repeated rows add up
        return out

    def with_values(self, values):
        return IndexedSlices(self.indices, values, self.dense_shape)
