"""Keras's ``RNN`` layer: a cell run over time, with every option of the loop.

``RNN(cell)`` runs any cell — :class:`~scratchrnn.layers.cells.LSTMCell` and friends, or
a user's own — one step at a time (:func:`~scratchrnn.layers.cells.rnn_cell_forward`).
``SimpleRNN``, ``LSTM`` and ``GRU`` are :class:`FusedRNN` subclasses: their weights live on
the layer and the whole sequence runs in one call of their ops (the readable NumPy of
:mod:`scratchrnn.ops`, or the compiled loops of :mod:`scratchrnn.kernels`), the fast path.

What both share lives here, in :class:`RNN`: the options (``return_sequences``,
``return_state``, ``go_backwards``, ``stateful``, ``zero_output_for_mask``), checking what a
call is given, the initial and carried states, the masks, and ``backward``'s handling of
the gradients of the outputs and final states.

Threads (see :mod:`scratchrnn.layers.layer`, "Threads"): a layer of either backend may be
called from several Python threads at once.  What a call leaves for ``backward`` — the
tape, the numba backend's :class:`~scratchrnn.kernels.common.Workspace` (whose buffers are
per thread), the dropout masks, the weight gradients — is the calling thread's own, so
every call's outputs are those it gives alone, and a thread's ``backward`` follows that
thread's latest call.  Building happens once, under the layer's lock.  A stateful layer's
carried ``states`` are one stream for the layer, shared by every thread.
"""

import numpy as np

from .. import _checks
from .. import backend as backends
from . import _arguments
from .layer import Layer


class RNN(Layer):
    """Keras's recurrent layer around a cell: ``RNN(LSTMCell(32), return_sequences=True)``.

    ``cell``: a layer with ``state_size``, ``output_size`` and a step
    ``call(x_t, states) -> (output, new_states)`` with its ``backward(d_output, d_states)
    -> (d_x, d_prev_states)`` (see :mod:`scratchrnn.layers.cells`), or a list of cells
    (stacked, as Keras's ``StackedRNNCells``).  Returns the last output or the sequence
    (``return_sequences``), followed by the final states (``return_state``).
    ``unroll`` is accepted, as Keras accepts it; it changes nothing in the results.

    Safe to call from several Python threads: a call's tape is per thread and the layer
    is built once (see the module docstring).
    """

    supports_masking = True

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, name=None,
                 dtype=None, trainable=True, seed=None, **kwargs):
        if cell is not None:
            from .cells import StackedRNNCells
            if isinstance(cell, (list, tuple)):
                cell = StackedRNNCells(list(cell))
            if not isinstance(cell, Layer) or not hasattr(cell, "state_size"):
                raise TypeError("`cell` must be a cell: a scratchrnn Layer with `state_size` "
                                "and a step call(inputs, states) (e.g. LSTMCell(32)), got "
                                f"{type(cell).__name__}")
            dtype = cell.dtype if dtype is None else dtype
        super().__init__(name=name, dtype=dtype or "float32", trainable=trainable, seed=seed,
                         **kwargs)
        self.cell = cell
        self.return_sequences = _checks.boolean(return_sequences, "return_sequences")
        self.return_state = _checks.boolean(return_state, "return_state")
        self.go_backwards = _checks.boolean(go_backwards, "go_backwards")
        self.stateful = _checks.boolean(stateful, "stateful")
        self.unroll = _checks.boolean(unroll, "unroll")
        self.zero_output_for_mask = _checks.boolean(zero_output_for_mask,
                                                    "zero_output_for_mask")
        self.states = None
        self._cell_gradients = None

    # --- what the loop needs to know of the cell ----------------------------------------

    @property
    def state_names(self):
        """One name per state (``h``, ``c``, ... for the built-in layers)."""
        return tuple(f"state_{i}" for i in range(len(self._state_sizes())))

    def _state_sizes(self):
        sizes = self.cell.state_size
        return list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]

    def _output_size(self):
        return getattr(self.cell, "output_size", self._state_sizes()[0])

    @property
    def built(self):
        return self.cell.built

    def build(self, input_shape):
        """Build the cell for steps of ``(batch, features)``."""
        _sequence_shape(input_shape)
        if not self.cell.built:
            self.cell.build((input_shape[0], input_shape[-1]))

    def get_config(self):
        from . import serialize
        return {"cell": serialize(self.cell), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "name": self.name,
                "dtype": self.dtype.name, "trainable": self.trainable, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        from . import deserialize
        config = dict(config)
        if isinstance(config.get("cell"), dict):
            config["cell"] = deserialize(config["cell"])
        return cls(**config)

    def __repr__(self):
        return f"RNN({self.cell!r}, name={self.name!r})"

    # --- the generic loop: the cell, one step at a time ---------------------------------

    def _check_inputs(self, inputs):
        x = _checks.real_array(inputs, "inputs", self.dtype)
        if x.ndim != 3 or 0 in x.shape:
            raise ValueError("`inputs` must be a 3-D array (batch, timesteps, features) with "
                             f"at least one of each, got shape {x.shape}")
        if not self.built:
            self._build_once(self.build, x.shape)
        return x

    def call(self, inputs, mask=None, training=False, initial_state=None):
        """Run the cell over ``inputs`` (batch, timesteps, features); see
        :func:`~scratchrnn.layers.cells.rnn_cell_forward`.  Returns the last output or the
        sequence, then the final states (in the cell's structure) with ``return_state``."""
        from .cells import rnn_cell_forward
        x = self._check_inputs(inputs)
        mask = _check_mask(mask, x.shape[0], x.shape[1])
        if initial_state is not None:
            _state_sequence(initial_state, "initial_state", self.state_names)
        states = initial_state
        if states is None and self.stateful and self.states is not None:
            states = self.states
        outputs, final_states, tape = rnn_cell_forward(
            self.cell, x, states, mask, self.go_backwards, self.zero_output_for_mask,
            bool(training))
        if self.stateful:
            self.states = final_states
        self._tape = (tape, initial_state is not None, outputs.shape, len(final_states))
        out = outputs if self.return_sequences else outputs[:, -1]
        return [out, *final_states] if self.return_state else out

    def backward(self, grads):
        """Backpropagate through the last call (see :meth:`FusedRNN.backward`); the cell's
        weight gradients, summed over the steps, are the layer's."""
        from .cells import rnn_cell_backward
        if self._tape is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward call first")
        tape, given_state, (B, T, size), n_states = self._tape
        grads = _as_grad_list(grads, 1 + (n_states if self.return_state else 0))
        d_out = grads[0]
        if d_out is not None and not self.return_sequences:
            d_seq = np.zeros((B, T, size), self.dtype)
            d_seq[:, -1] = _checks.real_array(d_out, "grads[0] (the output)", self.dtype)
            d_out = d_seq
        d_states = grads[1:] if self.return_state else None
        dx, d_initial, _ = rnn_cell_backward(self.cell, d_out, d_states, tape)
        return (dx, d_initial) if given_state else dx

    def reset_states(self, states=None):
        """Stateful layers: forget the carried states (zeros next call), or set them."""
        if not self.stateful:
            raise AttributeError(f"{self.name}: reset_states() is for stateful layers "
                                 "(stateful=True)")
        self.states = None if states is None else list(states)

    def reset_state(self, states=None):
        """Keras 3's name for :meth:`reset_states`."""
        self.reset_states(states)

    # --- shapes and masks --------------------------------------------------------------

    def compute_mask(self, inputs, mask=None):
        """The mask travels on with the sequence (``return_sequences``), not past it; the
        states have none."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        return [out] + [None] * len(self._state_sizes()) if self.return_state else out

    def compute_output_shape(self, input_shape):
        """``(B, T, out)`` or ``(B, out)``; with ``return_state``, the states' shapes
        follow (a list, as Keras gives)."""
        batch, steps = input_shape[0], input_shape[1]
        size = self._output_size()
        out = (batch, steps, size) if self.return_sequences else (batch, size)
        if self.return_state:
            return [out] + [(batch, n) for n in self._state_sizes()]
        return out

class FusedRNN(RNN):
    """Base of ``SimpleRNN``, ``LSTM`` and ``GRU``: the weights on the layer, the whole
    sequence in one call of the cell's ops.  Subclasses set ``n_gates``, ``state_names``,
    ``ops_name`` (the ops module's name) and implement ``_run`` and ``_run_backward``.

    ``backend``: ``"numpy"`` (the readable ops), ``"numba"`` (the same loops compiled),
    or None for the global default (:func:`scratchrnn.set_backend`).  ``unroll``, and for
    LSTM and GRU ``implementation`` (any value, unchecked, as in Keras) and ``use_cudnn``
    (``"auto"``, True or False), are accepted as Keras 3 accepts them; none of them changes
    the results.  Keras's SimpleRNN takes neither of the last two, and Keras 3's recurrent
    layers refuse ``input_length`` (only ``Embedding`` takes it): so do these.

    Threads: calls from several Python threads are safe on both backends.  The numba
    backend reuses buffers from call to call (a :class:`~scratchrnn.kernels.common.Workspace`,
    which keeps one set per thread); the tape, dropout masks and gradients are per thread
    (:class:`~scratchrnn.layers.layer.PerThread`), so a thread's ``backward`` follows its
    own latest call; the first call builds the layer under its lock.  The same inputs and
    weights on the same Numba (and BLAS) thread count give the same bits; another thread
    count may change the last bits (see :mod:`scratchrnn.kernels.common`).

    ``kernel_regularizer``, ``recurrent_regularizer`` and ``bias_regularizer``
    (:mod:`scratchrnn.regularizers`) add their penalties to ``losses``;
    ``activity_regularizer`` must stay None.
    """

    ops_name = None
    n_gates = 1
    state_names = ("h",)
    #: Whether Keras draws one dropout mask per gate once ``recurrent_dropout > 0``
    #: (its ``implementation=1``), as LSTM and GRU do.
    per_gate_dropout_masks = False

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, seed=None, dtype="float32", backend=None,
                 zero_output_for_mask=False, name=None, trainable=True, unroll=False,
                 implementation=None, use_cudnn=None, input_length=None, **kwargs):
        super().__init__(None, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask,
                         name=name or snake_name(type(self)), dtype=dtype,
                         trainable=trainable, seed=seed, **kwargs)
        cls = type(self).__name__
        if input_length is not None:
            raise ValueError(f"Unrecognized keyword argument `input_length` passed to {cls} "
                             "(Keras 3 refuses it too: only Embedding takes it, and ignores "
                             "it); drop it, or give the input shape with sr.Input")
        if self.n_gates == 1 and (implementation is not None or use_cudnn is not None):
            raise ValueError(f"Unrecognized keyword argument passed to {cls}: "
                             "`implementation` and `use_cudnn` are LSTM's and GRU's (Keras's "
                             f"{cls} refuses them too)")
        use_cudnn = "auto" if use_cudnn is None else use_cudnn
        if use_cudnn not in ("auto", True, False):          # Keras's own check
            raise ValueError(f"`use_cudnn` must be 'auto', True or False, got {use_cudnn!r}")
        self.implementation = 2 if implementation is None else implementation
        self.use_cudnn = use_cudnn
        _arguments.set_recurrent_arguments(self, units, activation, use_bias,
                                           kernel_initializer, recurrent_initializer,
                                           bias_initializer, dropout, recurrent_dropout)
        self.kernel_regularizer = _arguments.regularizer(kernel_regularizer,
                                                         "kernel_regularizer")
        self.recurrent_regularizer = _arguments.regularizer(recurrent_regularizer,
                                                            "recurrent_regularizer")
        self.bias_regularizer = _arguments.regularizer(bias_regularizer, "bias_regularizer")
        self.activity_regularizer = _arguments.no_activity_regularizer(activity_regularizer)
        self.backend = None if backend is None else backends.check(backend)
        self._input_dim = None
        self.dropout_mask = None
        self.recurrent_dropout_mask = None
        self._gradients = None
        self._workspace = None
        self._states_reset = False     # reset_states(): the next call may change the batch

    # --- configuration --------------------------------------------------------------

    def get_config(self):
        """The constructor arguments (Keras's ``get_config``; initialiser and regulariser
        objects serialised)."""
        s = _arguments.serialized
        return {
            "units": self.units, "activation": self.activation, "use_bias": self.use_bias,
            "kernel_initializer": s(self.kernel_initializer),
            "recurrent_initializer": s(self.recurrent_initializer),
            "bias_initializer": s(self.bias_initializer),
            "kernel_regularizer": s(self.kernel_regularizer),
            "recurrent_regularizer": s(self.recurrent_regularizer),
            "bias_regularizer": s(self.bias_regularizer), "activity_regularizer": None,
            "dropout": self.dropout,
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

    def _state_sizes(self):
        return [self.units] * len(self.state_names)

    def _output_size(self):
        return self.units

    # --- weights ----------------------------------------------------------------------

    @property
    def built(self):
        return self._input_dim is not None

    @property
    def input_dim(self):
        return self._input_dim

    def _weight_shapes(self, input_dim):
        gh = self.n_gates * self.units
        shapes = [("kernel", (input_dim, gh)), ("recurrent_kernel", (self.units, gh))]
        if self.use_bias:
            shapes.append(("bias", self._bias_shape()))
        return shapes

    @property
    def ops(self):
        """The module of this cell's forward and backward functions, for the backend."""
        return backends.cell_module(self.backend, self.ops_name)

    def _op_kwargs(self):
        """Extra arguments of the backend's functions: the compiled ones reuse the
        layer's buffers from call to call (:class:`scratchrnn.kernels.common.Workspace`:
        one set of buffers per Python thread; ``_workspace`` itself is per thread too)."""
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
        self._input_dim = input_dim

    def _cast(self, array):
        return np.ascontiguousarray(array, dtype=self.dtype)

    def _own_weights(self):
        if not self.built:
            return []
        return [self.kernel, self.recurrent_kernel] + ([self.bias] if self.use_bias else [])

    @property
    def weight_names(self):
        return [name for name, _ in self._weight_shapes(self._input_dim or 0)]

    def get_weights(self):
        """Copies of ``[kernel, recurrent_kernel, bias]`` (no bias without ``use_bias``)."""
        self._require_built("get_weights")
        return [w.copy() for w in self._own_weights()]

    def set_weights(self, weights):
        """Set the weights from a list in ``get_weights`` order (Keras's shapes and layout).

        An unbuilt layer is built from the kernel's shape.
        """
        weights = list(weights)
        if self.built:
            input_dim = self._input_dim
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
        self._input_dim = arrays[0].shape[0]

    def count_params(self):
        self._require_built("count_params")
        return sum(w.size for w in self._own_weights())

    def optimizer_gradients(self):
        if self._gradients is None:
            raise RuntimeError(f"{self.name}: no gradients: call backward() first")
        return self._gradients

    def _set_gradients(self, grads):
        self._gradients = grads

    def _require_built(self, what):
        if not self.built:
            raise RuntimeError(f"{self.name}: {what}() needs the layer built; call it on "
                               "inputs, call build(input_shape) or set_weights() first")

    # --- states -----------------------------------------------------------------------

    def reset_states(self, states=None):
        """Stateful layers: set the carried states to zeros, or to ``states``.

        After ``reset_states()`` the next call starts from zeros at whatever batch size
        it is given (the states read as zeros of the old batch size until then); after
        ``reset_states(states)`` the batch size is that of ``states``."""
        if not self.stateful:
            raise AttributeError(f"{self.name}: reset_states() is for stateful layers "
                                 "(stateful=True)")
        if states is None:
            self.states = None if self.states is None else [np.zeros_like(s)
                                                            for s in self.states]
            self._states_reset = True
            return
        states = _state_sequence(states, "states", self.state_names)
        batch = np.shape(states[0])[0] if states and np.ndim(states[0]) else None
        self.states = self._check_states(states, batch, "states")
        self._states_reset = False

    def _check_states(self, states, batch, argument):
        states = _state_sequence(states, argument, self.state_names)
        sizes = self._state_sizes()
        if len(states) != len(sizes):
            raise ValueError(
                f"`{argument}` must be a list of {len(sizes)} arrays "
                f"({', '.join(self.state_names)}) of shape ({batch}, {sizes[0]}), "
                f"got {len(states)}")
        checked = []
        for name, size, s in zip(self.state_names, sizes, states):
            s = _checks.real_array(s, f"{argument}[{name}]", self.dtype, copy=True)
            _checks.shape_is(s, (batch, size), f"{argument}[{name}]", " (batch, units)")
            checked.append(s)
        return checked

    # --- forward ----------------------------------------------------------------------

    def call(self, inputs, mask=None, training=False, initial_state=None):
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
                if not self._states_reset:
                    raise ValueError(
                        f"{self.name} is stateful with batch size {self.states[0].shape[0]}"
                        f"; `inputs` must keep it, got batch size {B} (to change it, call "
                        "reset_states() first, or reset_states(states) with states of the "
                        "new batch size)")
                states = None           # reset since: zeros, at this call's batch size
            else:
                states = self.states
            states = states or self._zero_states(B)
        else:
            states = self._zero_states(B)
        self._prepare_call(B, training)

        outputs, final_states, cache = self._run(x, states, mask)
        if self.stateful:
            self.states = [s.copy() for s in final_states]
            self._states_reset = False
        self._tape = (cache, given_state, outputs.shape)
        out = outputs if self.return_sequences else outputs[:, -1]
        return [out, *final_states] if self.return_state else out

    def _zero_states(self, batch):
        return [np.zeros((batch, n), self.dtype) for n in self._state_sizes()]

    def _check_inputs(self, inputs):
        x = _checks.real_array(inputs, "inputs", self.dtype)
        if x.ndim != 3:
            raise ValueError("`inputs` must be a 3-D array (batch, timesteps, features), "
                             f"got shape {x.shape}")
        if 0 in x.shape:
            raise ValueError(f"`inputs` must have at least one sample, step and feature, "
                             f"got shape {x.shape}")
        if not self.built:
            self._build_once(self.build, x.shape)
        if x.shape[2] != self.input_dim:
            raise ValueError(f"`inputs` must have {self.input_dim} features (the layer was "
                             f"built for them), got shape {x.shape}")
        return x

    # --- backward ---------------------------------------------------------------------

    def backward(self, grads):
        """Backpropagate through the last call.

        grads: gradients shaped like the call's outputs (one array, or a list in the
        same order; ``None`` stands for zeros).  Returns ``dx``, or ``(dx, [d_state, ...])``
        when the call was given ``initial_state``.  Weight gradients: ``get_gradients()``.
        """
        if self._tape is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward call first")
        cache, given_state, (B, T, size) = self._tape
        sizes = self._state_sizes()
        grads = _as_grad_list(grads, 1 + (len(sizes) if self.return_state else 0))
        out_shape = (B, T, size) if self.return_sequences else (B, size)
        d_out = self._grad_array(grads[0], out_shape, "grads[0] (the output)")
        if not self.return_sequences:
            d_seq = np.zeros((B, T, size), self.dtype)
            d_seq[:, -1] = d_out
            d_out = d_seq
        state_grads = grads[1:] if self.return_state else [None] * len(sizes)
        d_states = [self._grad_array(g, (B, n), f"grads[{i + 1}] (state {name})")
                    for i, (g, n, name) in enumerate(zip(state_grads, sizes, self.state_names))]
        dx, d_initial, gradients = self._run_backward(d_out, d_states, cache)
        self._set_gradients(gradients)
        return (dx, d_initial) if given_state else dx

    def _grad_array(self, g, shape, argument):
        if g is None:
            return np.zeros(shape, self.dtype)
        g = _checks.real_array(g, argument, self.dtype)
        _checks.shape_is(g, shape, argument)
        return g


    # --- dropout ----------------------------------------------------------------------

    def _prepare_call(self, batch, training):
        self._draw_dropout_masks(batch, training)

    def _draw_dropout_masks(self, batch, training):
        """Keras's variational dropout: one mask per sequence, inverted scaling."""
        per_gate = self.per_gate_dropout_masks and self.recurrent_dropout > 0
        count = self.n_gates if per_gate else 1
        self.dropout_mask = self.recurrent_dropout_mask = None
        if training and self.dropout > 0:
            self.dropout_mask = self._dropout_mask((count, batch, self._input_dim),
                                                   self.dropout)
        if training and self.recurrent_dropout > 0:
            self.recurrent_dropout_mask = self._dropout_mask((count, batch, self.units),
                                                             self.recurrent_dropout)

    def _dropout_mask(self, shape, rate):
        keep = self._rng.random(shape) >= rate
        return keep.astype(self.dtype) / self.dtype.type(1 - rate)


def snake_name(cls):
    from .layer import snake_case
    return snake_case(cls.__name__)


def _sequence_shape(shape):
    if isinstance(shape, int) or len(shape) != 3:
        raise ValueError(f"`input_shape` must be (batch, timesteps, features), got {shape!r}")
    return shape


def _state_sequence(states, argument, names):
    """``states`` (an array, or a list or tuple of arrays) as a list; anything else (a
    generator, a dict, a set, a string) is refused by name, not counted as one state."""
    if isinstance(states, (list, tuple)):
        return list(states)
    if isinstance(states, (np.ndarray, np.generic, int, float)) or (
            hasattr(states, "__array__") and not isinstance(states, (dict, str, bytes))):
        return [states]
    kind = type(states).__name__
    raise TypeError(f"`{argument}` must be a list (or tuple) of {len(names)} array(s) "
                    f"({', '.join(names)}), or one array for a single state; got a {kind}"
                    + (" (make it a list first: list(...))"
                       if hasattr(states, "__iter__") and not isinstance(states, (str, bytes))
                       else ""))


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
