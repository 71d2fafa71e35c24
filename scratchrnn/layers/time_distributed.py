"""``TimeDistributed``: one layer applied to every timestep of a sequence."""

import numpy as np

from .. import _checks
from .layer import Layer


class TimeDistributed(Layer):
    """Apply ``layer`` to each step ``x[:, t]`` of ``x (B, T, ...)``, with shared weights.

    The steps are independent, so the batch and time axes are merged instead of
    looping (Keras loops over ``t``; the values are the same)::

        y = layer(x.reshape(B·T, ...)).reshape(B, T, ...)
        dx = layer.backward(dy.reshape(B·T, ...)).reshape(B, T, ...)

    Works around any layer whose call takes ``(batch, ...)`` inputs (``Dense``,
    ``Dropout`` without an explicit batch entry in ``noise_shape``, ``Flatten``, ...).
    A random layer draws one mask over the ``B·T`` rows where Keras draws one per step:
    the same distribution, not the same numbers.

    The weights, their gradients and ``trainable`` are ``layer``'s (``layer`` is kept as
    ``self.layer``).  The mask ``(B, T, ...)`` is checked and handed on unchanged, as
    Keras does; it is not given to ``layer`` (Keras passes ``mask[:, t]`` only to layers
    whose call takes a mask, which none of the feed-forward layers uses).
    """

    supports_masking = True

    def __init__(self, layer, name=None, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"`layer` must be a scratchrnn Layer instance, got "
                            f"{type(layer).__name__}")
        self.layer = layer
        super().__init__(name=name or "time_distributed", dtype=layer.dtype,
                         trainable=layer.trainable, **kwargs)

    def __repr__(self):
        return f"TimeDistributed({self.layer!r}, name={self.name!r})"

    def get_config(self):
        """``layer`` as a (class name, config) pair."""
        return {"layer": {"class_name": type(self.layer).__name__,
                          "config": self.layer.get_config()},
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        from . import deserialize
        config = dict(config)
        if isinstance(config.get("layer"), dict):
            config["layer"] = deserialize(config["layer"])
        return cls(**config)

    # --- the inner layer's weights are the wrapper's (tracked: see Layer) ---------------

    built = property(lambda self: self.layer.built)

    @property
    def trainable(self):
        return self.layer.trainable

    @trainable.setter
    def trainable(self, value):
        self.layer.trainable = _checks.boolean(value, "trainable")

    def build(self, input_shape):
        """Build ``layer`` for one step: ``(B, T, ...)`` -> ``(B, ...)``."""
        self.layer.build(_step_shape(input_shape, "input_shape"))

    def compute_output_shape(self, input_shape):
        step = self.layer.compute_output_shape(_step_shape(input_shape, "input_shape"))
        return (step[0], input_shape[1], *step[1:])

    # --- forward and backward -------------------------------------------------------------

    def _check_inputs(self, inputs):
        x = np.asarray(inputs)             # the inner layer checks the values and dtype
        _step_shape(x.shape, "inputs")
        return x

    def call(self, x, mask=None, training=False):
        """``layer`` on every step: the ``B·T`` steps as one batch of rows."""
        batch, steps = x.shape[:2]
        if mask is not None:
            m = np.asarray(mask)
            if m.ndim < 2 or m.shape[:2] != (batch, steps):
                raise ValueError(f"`mask` must have shape ({batch}, {steps}, ...) (the "
                                 f"inputs' batch and timesteps), got {m.shape}")
        y = self.layer(x.reshape(batch * steps, *x.shape[2:]), training=training)
        if not isinstance(y, np.ndarray) or y.ndim < 1 or y.shape[0] != batch * steps:
            raise TypeError(f"`layer` must return one array with a row per input row; "
                            f"{self.layer.name} returned {type(y).__name__}")
        self._tape = (x.shape, y.shape)
        return y.reshape(batch, steps, *y.shape[1:])

    def compute_mask(self, inputs, mask=None):
        return mask

    def backward(self, d_out):
        """``dy (B, T, ...)`` -> ``dx (B, T, ...)`` (None where ``layer`` gives None, as
        ``Embedding`` does); weight gradients are ``layer``'s."""
        return self._backward(d_out, "d_out", self.layer.backward)

    def _backward(self, grad, argument, inner_backward):
        in_shape, out_shape = self._require_tape()
        batch, steps = in_shape[:2]
        g = _checks.real_array(grad, argument, self.dtype)
        _checks.shape_is(g, (batch, steps, *out_shape[1:]), argument,
                         " (the shape of the call's output)")
        dx = inner_backward(g.reshape(out_shape))
        return None if dx is None else dx.reshape(in_shape)


def _step_shape(shape, argument):
    """``(B, T, ...)`` -> ``(B, ...)``, the shape of one step; at least 3 entries."""
    shape = tuple(shape)
    if len(shape) < 3:
        raise ValueError(f"`{argument}` must have at least 3 dimensions (batch, timesteps, "
                         f"...), got {shape}")
    return (shape[0], *shape[2:])
