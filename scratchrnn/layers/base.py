"""What SimpleRNN, LSTM and GRU layers share: Keras's ``RNN`` layer, without the cell.

A layer owns its weights (Keras's names, shapes and gate order), checks what it is
given, draws dropout masks, calls the ops of its cell and keeps their cache, so that
``backward`` can run the hand-written BPTT and ``get_gradients`` can hand back the
weight gradients in ``get_weights`` order.
"""

import numpy as np

from .. import _checks, initializers
from .. import backend as backends
from ..ops import activations
from .layer import Layer


class RNN(Layer):
    """Base of the recurrent layers.  Subclasses set ``n_gates``, ``state_names``,
    ``cell`` (the ops module's name) and implement ``_run`` and ``_run_backward``.

    ``backend``: ``"numpy"`` (the readable ops), ``"numba"`` (the same loops compiled),
    or None for the global default (:func:`scratchrnn.set_backend`).
    """

    cell = None
    n_gates = 1
    state_names = ("h",)
    #: Whether Keras draws one dropout mask per gate once ``recurrent_dropout > 0``
    #: (its ``implementation=1``), as LSTM and GRU do.
    per_gate_dropout_masks = False
    supports_masking = True

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, seed=None, dtype="float32", backend=None,
                 zero_output_for_mask=False, name=None, trainable=True):
        self.units = _checks.positive_int(units, "units")
        self.activation = activation
        self._activation = activations.get(activation, "activation")
        self.use_bias = _checks.boolean(use_bias, "use_bias")
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self._kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self._recurrent_initializer = initializers.get(recurrent_initializer,
                                                       "recurrent_initializer")
        self._bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.dropout = _checks.rate(dropout, "dropout")
        self.recurrent_dropout = _checks.rate(recurrent_dropout, "recurrent_dropout")
        self.return_sequences = _checks.boolean(return_sequences, "return_sequences")
        self.return_state = _checks.boolean(return_state, "return_state")
        self.go_backwards = _checks.boolean(go_backwards, "go_backwards")
        self.stateful = _checks.boolean(stateful, "stateful")
        self.zero_output_for_mask = _checks.boolean(zero_output_for_mask,
                                                    "zero_output_for_mask")
        self.seed = _checks.seed(seed)
        self.dtype = _checks.dtype(dtype)
        self.backend = None if backend is None else backends.check(backend)
        self.name = name or type(self).__name__.lower()
        self.trainable = _checks.boolean(trainable, "trainable")
        self._rng = np.random.default_rng(seed)
        self.input_dim = None
        self.states = None
        self.dropout_mask = None
        self.recurrent_dropout_mask = None
        self._tape = None
        self._gradients = None
        self._workspace = None

    # --- configuration --------------------------------------------------------------

    def get_config(self):
        """The constructor arguments (Keras's ``get_config``, without serialisation)."""
        return {
            "units": self.units, "activation": self.activation, "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "recurrent_initializer": self.recurrent_initializer,
            "bias_initializer": self.bias_initializer, "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful, "seed": self.seed,
            "dtype": self.dtype.name, "backend": self.backend,
            "zero_output_for_mask": self.zero_output_for_mask, "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(units={self.units}, name={self.name!r})"

    def compute_mask(self, inputs, mask=None):
        """The mask travels on with the sequence (``return_sequences``), not past it."""
        return mask if self.return_sequences else None

    def compute_output_shape(self, input_shape):
        """``(B, T, units)`` or ``(B, units)``; with ``return_state``, the states' shapes
        follow (a list, as Keras gives)."""
        batch, steps = input_shape[0], input_shape[1]
        out = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, self.units)] * len(self.state_names)
        return out

    # --- weights ----------------------------------------------------------------------

    @property
    def built(self):
        return self.input_dim is not None

    def _weight_shapes(self, input_dim):
        gh = self.n_gates * self.units
        shapes = [("kernel", (input_dim, gh)), ("recurrent_kernel", (self.units, gh))]
        if self.use_bias:
            shapes.append(("bias", self._bias_shape()))
        return shapes

    @property
    def ops(self):
        """The module of this cell's forward and backward functions, for the backend."""
        return backends.cell_module(self.backend, self.cell)

    def _op_kwargs(self):
        """Extra arguments of the backend's functions: the compiled ones reuse the
        layer's buffers from call to call (:class:`scratchrnn.kernels.common.Workspace`)."""
        if backends.resolve(self.backend) != "numba":
            return {}
        if self._workspace is None:
            from ..kernels.common import Workspace
            self._workspace = Workspace()
        return {"workspace": self._workspace}

    def _bias_shape(self):
        return (self.n_gates * self.units,)

    def _init_bias(self, shape):
        return self._bias_initializer(shape, self._rng)

    def build(self, input_shape):
        """Create the weights for inputs of shape ``(batch, timesteps, features)``
        (only ``features``, the last entry, matters)."""
        if isinstance(input_shape, int) or len(input_shape) == 0:
            raise ValueError(f"`input_shape` must be (batch, timesteps, features), "
                             f"got {input_shape!r}")
        input_dim = _checks.positive_int(input_shape[-1], "input_shape[-1]")
        shapes = dict(self._weight_shapes(input_dim))
        self.kernel = self._cast(self._kernel_initializer(shapes["kernel"], self._rng))
        self.recurrent_kernel = self._cast(
            self._recurrent_initializer(shapes["recurrent_kernel"], self._rng))
        self.bias = self._cast(self._init_bias(shapes["bias"])) if self.use_bias else None
        self.input_dim = input_dim

    def _cast(self, array):
        return np.ascontiguousarray(array, dtype=self.dtype)

    def _weights(self):
        return [self.kernel, self.recurrent_kernel] + ([self.bias] if self.use_bias else [])

    @property
    def weights(self):
        """The weight arrays themselves, in ``get_weights`` order (not copies)."""
        return self._weights() if self.built else []

    @property
    def weight_names(self):
        return [name for name, _ in self._weight_shapes(self.input_dim or 0)]

    def get_weights(self):
        """Copies of ``[kernel, recurrent_kernel, bias]`` (no bias without ``use_bias``)."""
        self._require_built("get_weights")
        return [w.copy() for w in self._weights()]

    def set_weights(self, weights):
        """Set the weights from a list in ``get_weights`` order (Keras's shapes and layout).

        An unbuilt layer is built from the kernel's shape.
        """
        weights = list(weights)
        if self.built:
            input_dim = self.input_dim
        else:  # build from the kernel's shape; its checks below still apply
            input_dim = np.shape(weights[0])[0] if weights and np.ndim(weights[0]) == 2 else None
        expected = self._weight_shapes(input_dim)
        if len(weights) != len(expected):
            raise ValueError(
                f"`weights` must be a list of {len(expected)} arrays "
                f"({', '.join(n for n, _ in expected)}) for {self.name}, got {len(weights)}")
        arrays = []
        for (name, shape), w in zip(expected, weights):
            w = _checks.real_array(w, f"weights[{name}]", self.dtype, copy=True)
            _checks.shape_is(w, shape, f"weights[{name}]")
            arrays.append(w)
        self.kernel, self.recurrent_kernel = arrays[0], arrays[1]
        self.bias = arrays[2] if self.use_bias else None
        self.input_dim = arrays[0].shape[0]

    def count_params(self):
        self._require_built("count_params")
        return sum(w.size for w in self._weights())

    def get_gradients(self):
        """The weight gradients of the last ``backward``, aligned with ``get_weights``."""
        if self._gradients is None:
            raise RuntimeError(f"{self.name}: get_gradients() needs a backward() first")
        return [g.copy() for g in self._gradients]

    def _require_built(self, what):
        if not self.built:
            raise RuntimeError(f"{self.name}: {what}() needs the layer built; call it on "
                               "inputs, call build(input_shape) or set_weights() first")

    # --- states -----------------------------------------------------------------------

    def reset_states(self, states=None):
        """Stateful layers: set the carried states to zeros, or to ``states``."""
        if not self.stateful:
            raise AttributeError(f"{self.name}: reset_states() is for stateful layers "
                                 "(stateful=True)")
        if states is None:
            self.states = None if self.states is None else [np.zeros_like(s)
                                                            for s in self.states]
            return
        batch = np.shape(_as_list(states)[0])[0]
        self.states = self._check_states(states, batch, "states")

    def _check_states(self, states, batch, argument):
        states = _as_list(states)
        if len(states) != len(self.state_names):
            raise ValueError(
                f"`{argument}` must be a list of {len(self.state_names)} arrays "
                f"({', '.join(self.state_names)}) of shape ({batch}, {self.units}), "
                f"got {len(states)}")
        checked = []
        for name, s in zip(self.state_names, states):
            s = _checks.real_array(s, f"{argument}[{name}]", self.dtype, copy=True)
            _checks.shape_is(s, (batch, self.units), f"{argument}[{name}]",
                             " (batch, units)")
            checked.append(s)
        return checked

    # --- forward ----------------------------------------------------------------------

    def __call__(self, inputs, mask=None, initial_state=None, training=False):
        """Run the layer over ``inputs`` (batch, timesteps, features).

        mask: (batch, timesteps) booleans, True where a step is real; initial_state:
        a list of (batch, units) arrays.  Returns what Keras returns: the output
        (the sequence if ``return_sequences``, else the last output), followed by the
        final states when ``return_state``.
        """
        x = self._check_inputs(inputs)
        B, T, _ = x.shape
        mask = _check_mask(mask, B, T)
        given_state = initial_state is not None
        if given_state:
            states = self._check_states(initial_state, B, "initial_state")
        elif self.stateful:
            if self.states is not None and self.states[0].shape[0] != B:
                raise ValueError(
                    f"{self.name} is stateful with batch size {self.states[0].shape[0]}; "
                    f"`inputs` must keep it, got batch size {B} (reset_states() to change)")
            states = self.states or [np.zeros((B, self.units), self.dtype)
                                     for _ in self.state_names]
        else:
            states = [np.zeros((B, self.units), self.dtype) for _ in self.state_names]
        self._draw_dropout_masks(B, training)

        outputs, final_states, cache = self._run(x, states, mask)
        if self.stateful:
            self.states = [s.copy() for s in final_states]
        self._tape = (cache, given_state)
        out = outputs if self.return_sequences else outputs[:, -1]
        return [out, *final_states] if self.return_state else out

    def call(self, x, mask=None, training=False, initial_state=None):
        """Keras's ``call``: the same forward pass as calling the layer."""
        return self(x, mask=mask, initial_state=initial_state, training=training)

    def _check_inputs(self, inputs):
        x = _checks.real_array(inputs, "inputs", self.dtype)
        if x.ndim != 3:
            raise ValueError("`inputs` must be a 3-D array (batch, timesteps, features), "
                             f"got shape {x.shape}")
        if 0 in x.shape:
            raise ValueError(f"`inputs` must have at least one sample, step and feature, "
                             f"got shape {x.shape}")
        if not self.built:
            self.build(x.shape)
        elif x.shape[2] != self.input_dim:
            raise ValueError(f"`inputs` must have {self.input_dim} features (the layer was "
                             f"built for them), got shape {x.shape}")
        return x

    def _draw_dropout_masks(self, batch, training):
        """Keras's variational dropout: one mask per sequence, inverted scaling."""
        per_gate = self.per_gate_dropout_masks and self.recurrent_dropout > 0
        count = self.n_gates if per_gate else 1
        self.dropout_mask = self.recurrent_dropout_mask = None
        if training and self.dropout > 0:
            self.dropout_mask = self._dropout_mask((count, batch, self.input_dim),
                                                   self.dropout)
        if training and self.recurrent_dropout > 0:
            self.recurrent_dropout_mask = self._dropout_mask((count, batch, self.units),
                                                             self.recurrent_dropout)

    def _dropout_mask(self, shape, rate):
        keep = self._rng.random(shape) >= rate
        return keep.astype(self.dtype) / self.dtype.type(1 - rate)

    # --- backward ---------------------------------------------------------------------

    def backward(self, grads):
        """Backpropagate through the last call.

        grads: gradients shaped like the call's outputs (one array, or a list in the
        same order; ``None`` stands for zeros).  Returns ``dx``, or ``(dx, [d_state, ...])``
        when the call was given ``initial_state``.  Weight gradients: ``get_gradients()``.
        """
        if self._tape is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward call first")
        cache, given_state = self._tape
        T, B = cache.x.shape[:2]                        # the cache is time-major
        grads = _as_grad_list(grads, 1 + (len(self.state_names) if self.return_state else 0))
        out_shape = (B, T, self.units) if self.return_sequences else (B, self.units)
        d_out = self._grad_array(grads[0], out_shape, "grads[0] (the output)")
        if not self.return_sequences:
            d_seq = np.zeros((B, T, self.units), self.dtype)
            d_seq[:, -1] = d_out
            d_out = d_seq
        state_grads = grads[1:] if self.return_state else [None] * len(self.state_names)
        d_states = [self._grad_array(g, (B, self.units), f"grads[{i + 1}] (state {name})")
                    for i, (g, name) in enumerate(zip(state_grads, self.state_names))]
        dx, d_initial, self._gradients = self._run_backward(d_out, d_states, cache)
        return (dx, d_initial) if given_state else dx

    def _grad_array(self, g, shape, argument):
        if g is None:
            return np.zeros(shape, self.dtype)
        g = _checks.real_array(g, argument, self.dtype)
        _checks.shape_is(g, shape, argument)
        return g


def _as_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


def _as_grad_list(grads, n):
    grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    if len(grads) != n:
        raise ValueError(f"`grads` must hold {n} gradient(s), one per output of the call, "
                         f"got {len(grads)}")
    return grads


def _check_mask(mask, batch, timesteps):
    """``mask`` as a (batch, timesteps) bool array, or None."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        if m.dtype.kind not in "iu":
            raise TypeError(f"`mask` must be booleans (or 0/1 integers), got dtype {m.dtype}")
        if not np.isin(m, (0, 1)).all():
            raise ValueError("`mask` must be booleans (or 0/1 integers), got integer values "
                             f"{np.unique(m)[:10].tolist()}")
        m = m.astype(bool)
    _checks.shape_is(m, (batch, timesteps), "mask", " (batch, timesteps)")
    return m
