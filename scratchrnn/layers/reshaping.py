"""Layers that only move numbers around: ``Flatten`` and ``RepeatVector``.

Neither supports masking (as in Keras, where neither defines ``compute_mask``): a mask
given to them is dropped with a warning.
"""

import math

import numpy as np

from .. import _checks
from .layer import Layer

DATA_FORMATS = ("channels_last", "channels_first")


class Flatten(Layer):
    """``(B, d1, ..., dk) -> (B, d1 ⋯ dk)`` (``(B,) -> (B, 1)``); backward reshapes back.

    ``data_format="channels_first"`` moves the channel axis (1) last before flattening,
    so that the order of the features matches a channels-last model's, as Keras does.
    """

    def __init__(self, data_format=None, name=None, dtype="float32", trainable=True, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, **kwargs)
        data_format = "channels_last" if data_format is None else data_format
        if data_format not in DATA_FORMATS:
            raise ValueError(f"`data_format` must be one of {DATA_FORMATS} or None, got "
                             f"{data_format!r}")
        self.data_format = data_format

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        flat = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], flat)

    def _check_inputs(self, inputs):
        x = super()._check_inputs(inputs)
        if x.ndim < 1:
            raise ValueError(f"`inputs` must have a batch axis, got a scalar of shape "
                             f"{x.shape}")
        return x

    def _order(self, ndim):
        """The axes in flattening order: channels (axis 1) last for channels_first."""
        if self.data_format == "channels_first" and ndim > 2:
            return (0, *range(2, ndim), 1)
        return tuple(range(ndim))

    def call(self, x, mask=None, training=False):
        order = self._order(x.ndim)
        self._tape = (x.shape, order)
        return np.transpose(x, order).reshape(x.shape[0], -1)

    def backward(self, d_out):
        shape, order = self._require_tape()
        dy = self._check_grad(d_out, (shape[0], math.prod(shape[1:])))
        self._gradients = []
        moved = tuple(shape[i] for i in order)
        return np.ascontiguousarray(np.transpose(dy.reshape(moved), np.argsort(order)))


class RepeatVector(Layer):
    """``(B, F) -> (B, n, F)``, the input repeated ``n`` times; backward sums the ``n``
    copies' gradients: ``dx = Σ_k dy[:, k, :]``."""

    def __init__(self, n, name=None, dtype="float32", trainable=True, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, **kwargs)
        self.n = _checks.positive_int(n, "n")

    def get_config(self):
        return {**super().get_config(), "n": self.n}

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"`input_shape` must be (batch, features), got "
                             f"{tuple(input_shape)}")
        return (input_shape[0], self.n, input_shape[1])

    def _check_inputs(self, inputs):
        x = super()._check_inputs(inputs)
        if x.ndim != 2:
            raise ValueError(f"`inputs` must be 2-D (batch, features), got shape {x.shape}")
        return x

    def call(self, x, mask=None, training=False):
        self._tape = x.shape
        return np.repeat(x[:, None, :], self.n, axis=1)

    def backward(self, d_out):
        batch, features = self._require_tape()
        dy = self._check_grad(d_out, (batch, self.n, features))
        self._gradients = []
        return dy.sum(axis=1)
