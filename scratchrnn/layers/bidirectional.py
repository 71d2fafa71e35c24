"""``Bidirectional``: one recurrent layer reading forwards, a copy reading backwards.

As in Keras: the forward half is a copy of ``layer``, the backward half a copy with
``go_backwards=True`` (or ``backward_layer``); both get ``zero_output_for_mask =
return_sequences``, so masked steps of a returned sequence are zeros.  The backward
half's sequence is flipped back into time order before merging; its last output is
the one after reading the whole sequence backwards (its step at t = 0).  Weights are
the forward half's followed by the backward half's.

Merge modes::

    concat  [y_f, y_b] on the last axis      sum  y_f + y_b
    mul     y_f ⊙ y_b                         ave  (y_f + y_b) / 2
    None    the two outputs, unmerged
"""

import numpy as np

from .. import _checks
from .layer import Layer
from .rnn import FusedRNN as RNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Bidirectional wrapper for ``SimpleRNN``, ``LSTM`` and ``GRU``.

    Returns ``output`` (``[y_f, y_b]`` when ``merge_mode=None``) followed, when
    ``return_state``, by the forward half's states and then the backward half's.
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", backward_layer=None, name=None,
                 trainable=True, dtype=None, weights=None, **kwargs):
        if not isinstance(layer, RNN):
            raise TypeError("`layer` must be a scratchrnn recurrent layer (SimpleRNN, LSTM, "
                            f"GRU), got {type(layer).__name__}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"`merge_mode` must be one of {MERGE_MODES}, got {merge_mode!r}")
        if layer.go_backwards:
            raise ValueError("`layer` must read forwards (go_backwards=False): Bidirectional "
                             "makes the backward copy itself")
        config = layer.get_config()
        if dtype is not None:          # Keras's `dtype` argument: both halves compute in it
            config["dtype"] = _checks.dtype(dtype).name
        zero = layer.return_sequences
        self.forward_layer = type(layer).from_config(
            {**config, "zero_output_for_mask": zero, "name": "forward_" + layer.name})
        if backward_layer is None:
            # A different seed, so the halves do not start from identical weights.
            seed = None if layer.seed is None else layer.seed + 1
            backward_layer = type(layer).from_config(
                {**config, "go_backwards": True, "seed": seed, "name": "backward_" + layer.name})
        else:
            _check_backward_layer(layer, backward_layer)
            backward_layer = type(backward_layer).from_config(backward_layer.get_config())
        backward_layer.zero_output_for_mask = zero
        self.backward_layer = backward_layer
        super().__init__(name=name or "bidirectional_" + layer.name,
                         dtype=self.forward_layer.dtype, trainable=trainable, **kwargs)
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        if weights is not None:        # Keras's `weights=`: forward half's, then backward's
            self.set_weights(weights)

    def __repr__(self):
        return f"Bidirectional({self.forward_layer!r}, merge_mode={self.merge_mode!r})"

    # --- weights ----------------------------------------------------------------------

    @property
    def _layers(self):
        return (self.forward_layer, self.backward_layer)

    @property
    def trainable(self):
        return self.forward_layer.trainable and self.backward_layer.trainable

    @trainable.setter
    def trainable(self, value):
        value = _checks.boolean(value, "trainable")
        for half in self._layers:
            half.trainable = value

    def get_config(self):
        """``layer`` and ``backward_layer`` as (class name, config) pairs."""
        return {"layer": {"class_name": type(self.forward_layer).__name__,
                          "config": {**self.forward_layer.get_config(),
                                     "name": self.forward_layer.name[len("forward_"):]}},
                "merge_mode": self.merge_mode,
                "backward_layer": {"class_name": type(self.backward_layer).__name__,
                                   "config": self.backward_layer.get_config()},
                "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        from . import deserialize
        config = dict(config)
        config["layer"] = deserialize(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"])
        return cls(**config)

    def compute_mask(self, inputs, mask=None):
        if not self.return_sequences:
            return None
        return [mask, mask] if self.merge_mode is None else mask

    def compute_output_shape(self, input_shape):
        out = self.forward_layer.compute_output_shape(input_shape)
        seq = out[0] if self.return_state else out
        merged = (seq[:-1] + (2 * seq[-1],)) if self.merge_mode == "concat" else seq
        merged = [seq, seq] if self.merge_mode is None else [merged]
        if self.return_state:
            return merged + out[1:] * 2
        return merged[0] if len(merged) == 1 else merged

    @property
    def built(self):
        return all(half.built for half in self._layers)

    def build(self, input_shape):
        for half in self._layers:
            half.build(input_shape)

    def set_weights(self, weights):
        weights = list(weights)
        if len(weights) % 2:
            raise ValueError("`weights` must hold the forward half's weights followed by the "
                             f"backward half's (an even count), got {len(weights)}")
        half = len(weights) // 2
        self.forward_layer.set_weights(weights[:half])
        self.backward_layer.set_weights(weights[half:])

    def reset_states(self, states=None):
        if states is None:
            for half in self._layers:
                half.reset_states()
            return
        n = len(self.forward_layer.state_names)
        self.forward_layer.reset_states(list(states)[:n])
        self.backward_layer.reset_states(list(states)[n:])

    # --- forward and backward -------------------------------------------------------------

    def _check_inputs(self, inputs):
        return self.forward_layer._check_inputs(inputs)      # 3-D, the features it was built for

    def call(self, inputs, mask=None, training=False, initial_state=None):
        """Both halves over ``inputs``, merged (see the class docstring)."""
        n = len(self.forward_layer.state_names)
        fwd_state = bwd_state = None
        if initial_state is not None:
            initial_state = list(initial_state)
            if len(initial_state) != 2 * n:
                raise ValueError(f"`initial_state` must hold {2 * n} arrays, the forward "
                                 f"half's states then the backward half's, got "
                                 f"{len(initial_state)}")
            fwd_state, bwd_state = initial_state[:n], initial_state[n:]
        y = self.forward_layer(inputs, mask=mask, initial_state=fwd_state, training=training)
        y_rev = self.backward_layer(inputs, mask=mask, initial_state=bwd_state,
                                    training=training)
        states = []
        if self.return_state:
            states = y[1:] + y_rev[1:]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]                     # back into time order
        self._tape = (y, y_rev, initial_state is not None)
        out = self._merge(y, y_rev)
        if self.merge_mode is None:
            return out + states if self.return_state else out
        return [out, *states] if self.return_state else out

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return np.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "mul":
            return y * y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        return [y, np.ascontiguousarray(y_rev)]

    def _unmerge(self, d_out):
        """The gradients of the two halves' outputs, given that of the merged output."""
        y, y_rev, _ = self._tape
        if self.merge_mode == "concat":
            units = y.shape[-1]
            return d_out[..., :units], d_out[..., units:]
        if self.merge_mode == "sum":
            return d_out, d_out
        if self.merge_mode == "mul":
            return d_out * y_rev, d_out * y
        if self.merge_mode == "ave":
            return d_out / 2, d_out / 2
        return d_out

    def backward(self, grads):
        """Gradients shaped like the call's outputs -> ``dx`` (or ``(dx, d_states)``)."""
        if self._tape is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward call first")
        grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
        n_out = 2 if self.merge_mode is None else 1
        n_states = 2 * len(self.forward_layer.state_names) if self.return_state else 0
        if len(grads) != n_out + n_states:
            raise ValueError(f"`grads` must hold {n_out + n_states} gradient(s), one per "
                             f"output of the call, got {len(grads)}")
        y, y_rev, given_state = self._tape
        if self.merge_mode is None:
            d_y, d_y_rev = grads[0], grads[1]
        else:
            d_out = self.forward_layer._grad_array(
                grads[0], self._merged_shape(y), "grads[0] (the merged output)")
            d_y, d_y_rev = self._unmerge(d_out)
        if self.return_sequences and d_y_rev is not None:
            d_y_rev = np.asarray(d_y_rev)[:, ::-1]     # into the backward half's order
        d_states = grads[n_out:]
        half = len(d_states) // 2
        r_f = self.forward_layer.backward([d_y, *d_states[:half]] if self.return_state else d_y)
        r_b = self.backward_layer.backward(
            [d_y_rev, *d_states[half:]] if self.return_state else d_y_rev)
        if given_state:
            return r_f[0] + r_b[0], r_f[1] + r_b[1]
        return r_f + r_b

    def _merged_shape(self, y):
        if self.merge_mode == "concat":
            return y.shape[:-1] + (2 * y.shape[-1],)
        return y.shape


def _check_backward_layer(layer, backward_layer):
    if not isinstance(backward_layer, RNN):
        raise TypeError("`backward_layer` must be a scratchrnn recurrent layer, got "
                        f"{type(backward_layer).__name__}")
    if not backward_layer.go_backwards:
        raise ValueError("`backward_layer` must have go_backwards=True")
    for attr in ("stateful", "return_sequences", "return_state"):
        if getattr(layer, attr) != getattr(backward_layer, attr):
            raise ValueError(f"`backward_layer` must have the same {attr} as `layer`: "
                             f"{getattr(layer, attr)} != {getattr(backward_layer, attr)}")
