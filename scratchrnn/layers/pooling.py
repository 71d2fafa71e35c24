"""The 1-D pooling layers of Keras, with hand-written backward passes.

Shapes: B samples, L steps, C channels (``channels_last``), P the pool size, s the
stride, L' the output steps.  Windows are :func:`~scratchrnn.layers.convolutional.windows`
with dilation 1, ``win[b, t, j] = xp[b, t s + j]``, over ``x`` padded as TensorFlow pads
(``"same"``: L' = ⌈L / s⌉, the odd padding step on the right).  Pooling channels are
independent::

    MaxPooling1D          y[t] = max_j win[t, j]        dx[t s + j*] += dy[t]
                          (j* the *first* maximal tap, as TensorFlow's MaxPoolGrad picks
                          on ties; padding is -inf, never picked)
    AveragePooling1D      y[t] = Σ_j win[t, j] / n[t]   dx[t s + j] += dy[t] / n[t]
                          (n[t] the real, unpadded steps of window t: TensorFlow's "same"
                          average ignores its padding)
    GlobalAveragePooling1D  y = Σ_t m[t] x[t] / Σ_t m[t]   dx[t] = m[t] dy / Σ_t m[t]
                          (m the mask, all ones without one)
    GlobalMaxPooling1D    y = max_t x[t]                dx[t] = dy [x[t] = y] / #ties
                          (TensorFlow's reduce_max gradient shares ties equally)

Overlapping windows (``strides < pool_size``) accumulate their gradients.

Masks, as in Keras 3.15: only ``GlobalAveragePooling1D`` uses one (a sample whose steps
are all masked averages nothing: NaN, and a zero gradient, as in Keras).  The others do
not support masking: a mask given to them warns and is dropped, so ``GlobalMaxPooling1D``
takes the maximum over every step.  No pooling layer passes a mask on.
"""

import numpy as np

from .. import _checks
from . import convolutional as conv
from .layer import Layer
from .rnn import _check_mask


class _Pooling1D(Layer):
    """What ``MaxPooling1D`` and ``AveragePooling1D`` share: arguments, shapes, windows.

    Subclasses implement ``_pool(win, real)`` -> ``(y, tape)`` (``real``: the
    number of unpadded steps in each window) and
    ``_d_windows(dy, tape)`` -> the gradient of the windows ``(B, L', P, C)``.
    """

    #: The value of the padding steps of "same" (never an output of the pooling).
    pad_value = 0.0

    def __init__(self, pool_size, strides=None, padding="valid", data_format="channels_last",
                 name=None, dtype="float32", trainable=True, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, **kwargs)
        self.pool_size = conv.size_argument(pool_size, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else conv.size_argument(strides, "strides"))
        self.padding = conv.padding_argument(padding, ("valid", "same"))
        self.data_format = conv.data_format_argument(data_format)
        self.built = True                   # no weights: built at construction, as in Keras

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}

    def compute_output_shape(self, input_shape):
        """``(batch, L', channels)``; L' is None when the steps are."""
        batch, length, channels = conv.check_input_shape(input_shape)
        return (batch, None if length is None else self._output_length(length), channels)

    def _output_length(self, length):
        out = conv.output_length(length, self.pool_size, self.strides, 1, self.padding)
        if out <= 0:
            raise ValueError(f"`inputs` must have at least pool_size={self.pool_size} steps "
                             f"for 'valid' pooling, got {length}")
        return out

    def _check_inputs(self, inputs):
        x = conv.check_sequences(inputs, self.dtype)
        self._output_length(x.shape[1])
        return x

    def call(self, x, mask=None, training=False):
        length = x.shape[1]
        count = self._output_length(length)
        left, right = conv.padding_amounts(length, self.pool_size, self.strides, 1,
                                           self.padding)
        pad = ((0, 0), (left, right), (0, 0))
        win = self._windows(np.pad(x, pad, constant_values=self.pad_value), count)
        # how many real steps each window holds: the windows of a padded row of ones
        ones = np.pad(np.ones((1, length, 1), dtype=self.dtype), pad)
        real = self._windows(ones, count).sum(axis=2)            # (1, L', 1)
        y, tape = self._pool(win, real)
        self._tape = (tape, y.shape, length + left + right, left, length)
        return y

    def _windows(self, xp, count):
        return conv.windows(xp, self.pool_size, self.strides, 1, count)

    def backward(self, d_out):
        """``dx`` for ``d_out = dL/dy`` (no weights: ``get_gradients()`` is ``[]``)."""
        tape, shape, padded_length, left, length = self._require_tape()
        dy = self._check_grad(d_out, shape)
        dxp = conv.scatter_windows(self._d_windows(dy, tape), padded_length, self.strides, 1)
        self._gradients = []
        return np.ascontiguousarray(dxp[:, left:left + length])


class MaxPooling1D(_Pooling1D):
    """Keras's ``MaxPooling1D``: the maximum of each window of ``pool_size`` steps,
    every ``strides`` steps (``pool_size`` when None); see the module docstring."""

    pad_value = -np.inf

    def __init__(self, pool_size=2, strides=None, padding="valid",
                 data_format="channels_last", name=None, dtype="float32", trainable=True, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, dtype, trainable, **kwargs)

    def _pool(self, win, real):
        taps = np.argmax(win, axis=2)[:, :, None]           # first maximum, as TensorFlow
        return np.take_along_axis(win, taps, axis=2)[:, :, 0], taps

    def _d_windows(self, dy, taps):
        # the one-hot of each window's winning tap, times its gradient
        hit = np.arange(self.pool_size)[None, None, :, None] == taps
        return np.where(hit, dy[:, :, None], 0)


class AveragePooling1D(_Pooling1D):
    """Keras's ``AveragePooling1D``: the mean of each window's real steps (padding is
    not counted, as in TensorFlow); see the module docstring."""

    def __init__(self, pool_size, strides=None, padding="valid",
                 data_format="channels_last", name=None, dtype="float32", trainable=True, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, dtype, trainable, **kwargs)

    def _pool(self, win, real):
        return win.sum(axis=2) / real, real

    def _d_windows(self, dy, real):
        share = dy / real                                    # (B, L', C)
        return np.broadcast_to(share[:, :, None], share.shape[:2] + (self.pool_size,)
                               + share.shape[2:])


class _GlobalPooling1D(Layer):
    """What the global poolings share: ``keepdims`` and the shapes."""

    def __init__(self, data_format="channels_last", keepdims=False, name=None,
                 dtype="float32", trainable=True, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, **kwargs)
        self.data_format = conv.data_format_argument(data_format)
        self.keepdims = _checks.boolean(keepdims, "keepdims")
        self.built = True                   # no weights: built at construction, as in Keras

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}

    def compute_output_shape(self, input_shape):
        """``(batch, channels)``, or ``(batch, 1, channels)`` with ``keepdims``."""
        batch, _, channels = conv.check_input_shape(input_shape)
        return (batch, 1, channels) if self.keepdims else (batch, channels)

    def compute_mask(self, inputs, mask=None):
        """The steps are gone, and so is their mask."""
        return None

    def _check_inputs(self, inputs):
        return conv.check_sequences(inputs, self.dtype)

    def _output(self, y):
        """``y (B, C)`` with the steps axis kept when ``keepdims``."""
        return y[:, None] if self.keepdims else y

    def _check_grad(self, d_out, shape, argument="d_out"):
        """``d_out`` as ``(B, C)`` whether or not the steps axis was kept."""
        full = (shape[0], 1, shape[1]) if self.keepdims else shape
        return super()._check_grad(d_out, full, argument).reshape(shape)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Keras's ``GlobalAveragePooling1D``: the mean over steps, over the unmasked steps
    when given a mask ``(batch, steps)`` (True where a step is real)."""

    supports_masking = True

    def call(self, x, mask=None, training=False):
        batch, length, _ = x.shape
        mask = _check_mask(mask, batch, length)
        if mask is None:
            weights = np.full((batch, length, 1), 1, dtype=self.dtype)
            counts = np.full((batch, 1), length, dtype=self.dtype)
        else:
            weights = mask[:, :, None].astype(self.dtype)
            counts = weights.sum(axis=1)                       # (B, 1)
        # where(), not a product with the mask: a masked inf or NaN is ignored, as in Keras
        summed = np.where(weights > 0, x, 0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):  # all masked: NaN, as Keras
            y = summed / counts
        self._tape = (weights, counts, x.shape)
        return self._output(y)

    def backward(self, d_out):
        """``dx[b, t] = m[b, t] dy[b] / n[b]``; zero where masked, even when n[b] = 0."""
        weights, counts, shape = self._require_tape()
        dy = self._check_grad(d_out, (shape[0], shape[2]))
        with np.errstate(divide="ignore", invalid="ignore"):
            share = (dy / counts)[:, None]
        self._gradients = []
        return np.where(weights > 0, share, 0).astype(self.dtype)


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Keras's ``GlobalMaxPooling1D``: the maximum over all steps.  As in Keras 3.15 it
    does not support masking: a mask warns and is dropped (masked steps count)."""

    def call(self, x, mask=None, training=False):
        y = x.max(axis=1)                                      # (B, C)
        self._tape = (x, y)
        return self._output(y)

    def backward(self, d_out):
        """``dx = dy [x = y] / #ties``, computed as TensorFlow does: ``(ind / n) dy``."""
        x, y = self._require_tape()
        dy = self._check_grad(d_out, y.shape)
        ties = (x == y[:, None]).astype(self.dtype)
        self._gradients = []
        return ties / ties.sum(axis=1, keepdims=True) * dy[:, None]
