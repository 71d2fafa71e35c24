"""The feed-forward layers around the recurrent ones: ``Dense``, ``Dropout``, ``Masking``.

Each follows Keras 3: the same arguments and defaults, the same weights (``Dense``:
``kernel (features, units)`` then ``bias (units,)``) and the same masking behaviour.
All three hand an incoming mask on unchanged, except ``Masking``, which replaces it.
"""

import math
import numbers

import numpy as np

from .. import _checks, initializers
from ..ops import activations
from . import _arguments
from .layer import Layer


class Dense(Layer):
    """Keras's densely connected layer on the last axis of inputs of any rank >= 2::

        a = x W + b          (the pre-activation: ``dense.logits``)
        y = act(a)

    with ``W = kernel (F, units)`` and ``b = bias (units,)``.  The backward pass, from the
    gradient ``dy`` of the output (every leading axis of ``x`` counts as rows)::

        da = act'(a) ⊙ dy            (softmax: da = y ⊙ (dy - Σ_last dy ⊙ y))
        dW = Σ_rows xᵀ da,   db = Σ_rows da,   dx = da Wᵀ

    Keras 3 computes a crossentropy from the logits when the predictions come out of a
    sigmoid or softmax (it tags them, ``_keras_logits``), which is steadier than going
    through ``log(y)``.  For that, ``logits`` keeps ``a`` of the last call and
    ``backward_logits(da)`` backpropagates from it, skipping the activation.

    ``kernel_regularizer`` and ``bias_regularizer`` (:mod:`scratchrnn.regularizers`) add
    their penalties to ``losses``; ``activity_regularizer`` must stay None.
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 name=None, dtype="float32", trainable=True, seed=None, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, seed=seed, **kwargs)
        self.units = _arguments.positive_int(units, "units")
        self._activation = activations.get(activation, "activation", softmax=True)
        self.activation = "linear" if activation is None else activation  # Keras's config
        self.use_bias = _checks.boolean(use_bias, "use_bias")
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self._kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self._bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = _arguments.regularizer(kernel_regularizer,
                                                         "kernel_regularizer")
        self.bias_regularizer = _arguments.regularizer(bias_regularizer, "bias_regularizer")
        self.activity_regularizer = _arguments.no_activity_regularizer(activity_regularizer)

    def __repr__(self):
        return f"Dense(units={self.units}, activation={self.activation!r}, name={self.name!r})"

    def get_config(self):
        s = _arguments.serialized
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "use_bias": self.use_bias,
                "kernel_initializer": s(self.kernel_initializer),
                "bias_initializer": s(self.bias_initializer),
                "kernel_regularizer": s(self.kernel_regularizer),
                "bias_regularizer": s(self.bias_regularizer),
                "activity_regularizer": None, "seed": self.seed}

    def build(self, input_shape):
        """Create ``kernel (F, units)`` and ``bias (units,)`` for inputs ``(..., F)``."""
        if isinstance(input_shape, int) or len(input_shape) < 2:
            raise ValueError(f"`input_shape` must be (batch, ..., features), at least 2 "
                             f"entries, got {input_shape!r}")
        features = _checks.positive_int(input_shape[-1], "input_shape[-1]")
        self._add_weight("kernel", (features, self.units), self._kernel_initializer)
        if self.use_bias:
            self._add_weight("bias", (self.units,), self._bias_initializer)
        self.built = True

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"`input_shape` must have at least 2 entries (batch, ..., "
                             f"features), got {tuple(input_shape)}")
        return (*input_shape[:-1], self.units)

    def _check_inputs(self, inputs):
        x = super()._check_inputs(inputs)
        if x.ndim < 2:
            raise ValueError(f"`inputs` must have at least 2 dimensions (batch, ..., "
                             f"features), got shape {x.shape}")
        if self.built and x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"`inputs` must have {self.kernel.shape[0]} features on the last "
                             f"axis ({self.name} was built for them), got shape {x.shape}")
        return x

    def call(self, x, mask=None, training=False):
        a = x @ self.kernel
        if self.use_bias:
            a += self.bias
        y = activations.forward(a, self._activation)
        self._tape = (x, a, y)
        return y

    @property
    def logits(self):
        """The pre-activation ``a = x W + b`` of the last call (read-only), or None."""
        if self._tape is None:
            return None
        view = self._tape[1].view()
        view.flags.writeable = False
        return view

    def backward(self, d_out):
        """``dy`` (the output's shape) -> ``dx``; weight gradients in ``get_gradients``."""
        _, _, y = self._require_tape()
        dy = self._check_grad(d_out, y.shape)
        return self._backward_from_logits(activations.backward(dy, y, self._activation))

    def backward_logits(self, d_logits):
        """``da``, the gradient of the pre-activation ``logits`` -> ``dx``; sets the
        weight gradients as ``backward`` does."""
        _, a, _ = self._require_tape()
        return self._backward_from_logits(self._check_grad(d_logits, a.shape, "d_logits"))

    def _backward_from_logits(self, da):
        x = self._tape[0]
        rows_x = x.reshape(-1, x.shape[-1])
        rows_da = da.reshape(-1, self.units)
        self._gradients = [rows_x.T @ rows_da]
        if self.use_bias:
            self._gradients.append(rows_da.sum(axis=0))
        return da @ self.kernel.T


class Dropout(Layer):
    """Inverted dropout, at ``training=True`` only (the identity otherwise)::

        y = x ⊙ m,    m = keep / (1 - rate),    keep ~ Bernoulli(1 - rate)
        dx = dy ⊙ m

    ``m`` has ``noise_shape`` (None entries take the input's size; an entry of 1 shares
    one draw along that axis) and broadcasts over ``x``.  It is drawn from the layer's
    seeded generator at every training call and kept as ``dropout_mask`` (None after a
    call that dropped nothing).  ``rate`` must lie in [0, 1): Keras also accepts 1, which
    zeroes everything, a layer that cannot learn through.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, name=None, dtype="float32",
                 trainable=True, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, seed=seed, **kwargs)
        self.rate = _checks.rate(rate, "rate")
        self.noise_shape = _noise_shape(noise_shape)
        self.dropout_mask = None
        self.built = True                   # no weights: built at construction, as in Keras

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, x, mask=None, training=False):
        self.dropout_mask = None
        if training and self.rate > 0:
            self.dropout_mask = self._draw_mask(self._resolve_noise_shape(x.shape))
        self._tape = (x.shape, self.dropout_mask)
        return x if self.dropout_mask is None else x * self.dropout_mask

    def _resolve_noise_shape(self, shape):
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"`noise_shape` {self.noise_shape} must have one entry per axis "
                             f"of the inputs, got inputs of shape {shape}")
        noise = tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))
        if any(n not in (1, s) for n, s in zip(noise, shape)):
            raise ValueError(f"`noise_shape` {self.noise_shape} must broadcast to the inputs "
                             f"(each entry None, 1 or the input's size), got inputs of "
                             f"shape {shape}")
        return noise

    def _draw_mask(self, shape):
        keep = self._rng.random(shape) >= self.rate
        # 1/(1 - rate) rounded once into the dtype, as TensorFlow's scale is.
        return keep.astype(self.dtype) * self.dtype.type(1.0 / (1.0 - self.rate))

    def backward(self, d_out):
        shape, mask = self._require_tape()
        dy = self._check_grad(d_out, shape)
        self._gradients = []
        return dy if mask is None else dy * mask


def _noise_shape(value):
    """``noise_shape`` as a tuple of positive ints and Nones, or None."""
    if value is None:
        return None
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise TypeError(f"`noise_shape` must be None or a tuple of positive integers and "
                        f"Nones, got {value!r}")
    entries = tuple(value)
    for i, n in enumerate(entries):
        if n is not None:
            _checks.positive_int(n, f"noise_shape[{i}]")
    return tuple(None if n is None else int(n) for n in entries)


class Masking(Layer):
    """Marks as padding every step whose features all equal ``mask_value``::

        mask = any(x != mask_value, axis=-1)          (batch, ...)
        y    = x where mask else 0,      dx = dy where mask else 0

    ``compute_mask`` returns that mask.  As in Keras it *replaces* an incoming mask
    rather than combining with it (Keras's ``Masking.compute_mask`` ignores it).
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, name=None, dtype="float32", trainable=True, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, **kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, numbers.Real):
            raise TypeError(f"`mask_value` must be a real number, got {mask_value!r}")
        if math.isnan(mask_value):
            # Keras accepts it and then never masks: NaN != NaN, so every step is "valid".
            raise ValueError("`mask_value` must not be NaN: NaN compares unequal to "
                             "everything, itself included, so no step would ever be masked "
                             "(Keras's Masking(mask_value=nan) silently masks nothing). Pad "
                             "with a number instead, e.g. x = np.nan_to_num(x, nan=0.0) "
                             "and Masking(mask_value=0.0)")
        self.mask_value = float(mask_value)
        self.built = True                   # no weights: built at construction, as in Keras

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}

    def _check_inputs(self, inputs):
        x = super()._check_inputs(inputs)
        if x.ndim < 2:
            raise ValueError(f"`inputs` must have at least 2 dimensions (batch, ..., "
                             f"features), got shape {x.shape}")
        return x

    def _step_mask(self, x):
        # Compared in the inputs' dtype, as Keras compares them.
        return np.any(x != self.dtype.type(self.mask_value), axis=-1)

    def compute_mask(self, inputs, mask=None):
        return self._step_mask(self._check_inputs(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, x, mask=None, training=False):
        keep = self._step_mask(x)
        self._tape = (x.shape, keep)
        return np.where(keep[..., None], x, self.dtype.type(0))

    def backward(self, d_out):
        shape, keep = self._require_tape()
        dy = self._check_grad(d_out, shape)
        self._gradients = []
        return np.where(keep[..., None], dy, self.dtype.type(0))
