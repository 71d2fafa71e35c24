"""``Layer``: what every scratchrnn layer is, recurrent or not.

A layer is called like Keras's, ``y = layer(x, mask=None, training=False)``, and keeps
on a tape what its hand-written ``backward`` needs: ``dx = layer.backward(dy)`` takes the
gradient of the loss with respect to the call's output and returns the one with respect
to its input, leaving the weight gradients in ``get_gradients()`` (aligned with
``get_weights()``).  Models chain these two calls; nothing else is needed to train.

Masks travel as Keras 3 sends them: a layer that ``supports_masking`` hands on
``compute_mask(inputs, mask)`` (the incoming mask unless it says otherwise); any other
layer given a mask warns and drops it, as Keras does.

Weights live as plain attributes (``self.kernel``, ...) listed by ``weight_names``;
``weights`` are the arrays themselves (optimizers update them in place), while
``get_weights`` / ``set_weights`` copy.
"""

import abc
import re
import warnings

import numpy as np

from .. import _checks


def snake_case(name):
    """``GlobalMaxPooling1D`` -> ``global_max_pooling1d``, ``SimpleRNN`` -> ``simple_rnn``
    (Keras's rule for default layer names)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer(abc.ABC):
    """Base of the non-recurrent layers (and the protocol the recurrent ones follow).

    Subclasses implement ``build(input_shape)`` (create the weights named in
    ``weight_names`` and set ``self.built``), ``call(x, mask, training)`` (the forward
    pass, keeping its tape in ``self._tape``), ``backward(d_out)`` (setting
    ``self._gradients`` aligned with ``weight_names``) and ``compute_output_shape``.
    ``_check_inputs`` converts and checks what ``__call__`` is given (float arrays of the
    layer's dtype by default).
    """

    #: Whether the layer passes a mask on (Keras's ``supports_masking``).
    supports_masking = False

    def __init__(self, name=None, dtype="float32", trainable=True, seed=None):
        self.name = name or snake_case(type(self).__name__)
        if not isinstance(self.name, str):
            raise TypeError(f"`name` must be a string, got {name!r}")
        self.dtype = _checks.dtype(dtype)
        self.trainable = _checks.boolean(trainable, "trainable")
        self.seed = _checks.seed(seed)
        self._rng = np.random.default_rng(seed)
        self.built = False
        self.weight_names = []
        self._tape = None
        self._gradients = None

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"

    # --- configuration --------------------------------------------------------------

    def get_config(self):
        """The constructor arguments (Keras's names)."""
        return {"name": self.name, "dtype": self.dtype.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- weights ----------------------------------------------------------------------

    def build(self, input_shape):
        self.built = True

    @property
    def weights(self):
        """The weight arrays themselves, in ``get_weights`` order (not copies)."""
        return [getattr(self, name) for name in self.weight_names]

    @property
    def trainable_weights(self):
        return self.weights if self.trainable else []

    @property
    def non_trainable_weights(self):
        return [] if self.trainable else self.weights

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Replace the weights by copies of ``weights`` (``get_weights`` order and shapes)."""
        if not self.built:
            raise RuntimeError(f"{self.name}: set_weights() needs the layer built; call it "
                               "on inputs or call build(input_shape) first")
        weights = list(weights)
        if len(weights) != len(self.weight_names):
            raise ValueError(f"`weights` must be a list of {len(self.weight_names)} arrays "
                             f"({', '.join(self.weight_names) or 'none'}) for {self.name}, "
                             f"got {len(weights)}")
        arrays = []
        for name, current, w in zip(self.weight_names, self.weights, weights):
            w = _checks.real_array(w, f"weights[{name}]", self.dtype, copy=True)
            _checks.shape_is(w, current.shape, f"weights[{name}]")
            arrays.append(w)
        for name, w in zip(self.weight_names, arrays):
            setattr(self, name, w)

    def count_params(self):
        if not self.built:
            raise RuntimeError(f"{self.name}: count_params() needs the layer built")
        return int(sum(w.size for w in self.weights))

    def get_gradients(self):
        """The weight gradients of the last ``backward``, aligned with ``get_weights``."""
        if self._gradients is None:
            raise RuntimeError(f"{self.name}: get_gradients() needs a backward() first")
        return [g.copy() for g in self._gradients]

    def optimizer_gradients(self):
        """The gradients an optimizer receives, aligned with ``weights``: those of
        ``get_gradients`` (an Embedding gives its rows unsummed, as TensorFlow does)."""
        if self._gradients is None:
            raise RuntimeError(f"{self.name}: no gradients: call backward() first")
        return self._gradients

    def _add_weight(self, name, shape, initializer):
        """Create weight ``name`` of ``shape`` from an initialiser ``f(shape, rng)``."""
        setattr(self, name, np.ascontiguousarray(initializer(shape, self._rng),
                                                 dtype=self.dtype))
        self.weight_names.append(name)

    # --- forward and backward -------------------------------------------------------------

    def __call__(self, inputs, mask=None, training=False):
        x = self._check_inputs(inputs)
        if mask is not None and not self.supports_masking:
            warnings.warn(f"Layer {self.name!r} ({type(self).__name__}) was given a mask but "
                          "does not support masking: the mask is dropped, as Keras does",
                          stacklevel=2)
            mask = None
        if not self.built:
            self.build(x.shape)
        return self.call(x, mask=mask, training=training)

    @abc.abstractmethod
    def call(self, x, mask=None, training=False):
        """The forward pass on checked inputs (keeps what ``backward`` needs)."""

    @abc.abstractmethod
    def backward(self, d_out):
        """``d_out`` (the output's gradient) -> the input's gradient; sets the weight
        gradients."""

    def compute_mask(self, inputs, mask=None):
        """The mask of the output, given the input's (Keras's ``compute_mask``)."""
        return mask if self.supports_masking else None

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (None for unknown sizes)."""
        return tuple(input_shape)

    def _check_inputs(self, inputs):
        return _checks.real_array(inputs, "inputs", self.dtype)

    def _require_tape(self):
        if self._tape is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward call first")
        return self._tape

    def _check_grad(self, d_out, shape, argument="d_out"):
        """``d_out`` as an array of the layer's dtype and of the output's ``shape``."""
        g = _checks.real_array(d_out, argument, self.dtype)
        _checks.shape_is(g, tuple(shape), argument, " (the shape of the call's output)")
        return g
