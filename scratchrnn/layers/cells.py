"""Keras's recurrent cells — one timestep of SimpleRNN, LSTM and GRU — and the time loop
that runs any cell over a sequence (what ``RNN(cell)`` does).

A cell is Keras's ``keras.layers.SimpleRNNCell`` / ``LSTMCell`` / ``GRUCell``: same
constructor arguments and defaults, same weights (``kernel (I, gH)``,
``recurrent_kernel (H, gH)``, ``bias``), same gate order, and the same call::

    output, new_states = cell(x_t, states, training=False)       x_t: (B, I)
    SimpleRNNCell, GRUCell:  h, [h]      (h, h when ``states`` is a bare array)
    LSTMCell:                h, [h, c]

Equations of one step (the step functions of :mod:`scratchrnn.ops`, reused here)::

    SimpleRNN  h = act(x W + h₋ U + b)
    LSTM       z = x W + h₋ U + b;  i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = act(z_c)
               c = f ⊙ c₋ + i ⊙ g;  h = o ⊙ act(c)
    GRU        z = σ(x W_z + h₋ U_z + b);  r = σ(x W_r + h₋ U_r + b)
               ĥ = act(x W_h + r ⊙ (h₋ U_h + b_rec_h))     reset_after=True (default)
               ĥ = act(x W_h + (r ⊙ h₋) U_h)                reset_after=False
               h = z ⊙ h₋ + (1 - z) ⊙ ĥ

``backward(d_output, d_states) -> (d_inputs, d_prev_states)`` is the hand-written
backward of one step; ``get_gradients()`` then holds that step's weight gradients.
Each call pushes a tape and each backward pops the most recent one, so a loop may call
a cell T times and then run backward T times in reverse.

Dropout is Keras's ``DropoutRNNCell``: a mask is drawn from the cell's seeded generator
the first time a ``training=True`` call needs it and reused at every later step until
``reset_dropout_mask()`` / ``reset_recurrent_dropout_mask()`` (the loop below resets
both at the start of each sequence, as Keras's ``RNN.call`` does around each call).
Inverted scaling; applied only for ``0 < rate < 1``.  A mask is an array
``(G, B, features)``: LSTM and GRU draw one per gate (G = 4, 3) once
``recurrent_dropout > 0`` (Keras's ``implementation=1``), else one shared by all gates
(G = 1), exactly the masks the fused layers take.

:func:`rnn_cell_forward` / :func:`rnn_cell_backward` run a cell over ``(B, T, F)``
inputs with Keras's CPU semantics: at a masked step a sample keeps its previous states
and its output repeats the previous output (zeros before any valid step), or is zero
with ``zero_output_for_mask``; ``go_backwards`` processes reversed time and returns the
outputs in processing order.  ``StackedRNNCells`` makes a list of cells one cell.
"""

from typing import NamedTuple

import numpy as np

from .. import _checks
from ..ops import activations as act
from ..ops.common import (
    batch_major,
    drop_padding,
    input_projection,
    input_projection_backward,
    keep,
    recurrent_kernel_gradient,
    step_mask,
    time_major,
)
from ..ops.gru import gru_step_backward, gru_step_forward, split_recurrent_mask
from ..ops.lstm import lstm_step_backward, lstm_step_forward
from ..ops.simple_rnn import simple_rnn_step_backward, simple_rnn_step_forward
from . import _arguments
from .layer import Layer


class _StepTape(NamedTuple):
    """What the backward of one cell step needs."""
    x: np.ndarray                   # (B, I) the step's input, before dropout
    cache: tuple                    # the ops' step cache (h_prev, gates, ...)
    dropout_mask: object            # (G, B, I) or None
    recurrent_dropout_mask: object  # (G, B, H) or None
    nested: bool                    # whether the states came as a list (and went back as one)


class _Cell(Layer):
    """What every cell here shares: Keras's call ``cell(inputs, states, training)`` and a
    stack of tapes, one per call, popped by ``backward``."""

    def __init__(self, name=None, dtype="float32", trainable=True, seed=None):
        super().__init__(name=name, dtype=dtype, trainable=trainable, seed=seed)
        self._tapes = []

    def __call__(self, inputs, states, training=False):
        """Keras's cell call: build on the first call, then :meth:`call`."""
        x = _checks.real_array(inputs, "inputs", self.dtype)
        if x.ndim != 2:
            raise ValueError("`inputs` of a cell must be a 2-D array (batch, features): one "
                             f"timestep; got shape {x.shape}")
        if not self.built:
            self.build(x.shape)
        return self.call(x, states, training=training)

    def _push_tape(self, tape):
        self._tapes.append(tape)

    def _pop_tape(self):
        if not self._tapes:
            raise RuntimeError(f"{self.name}: backward() needs a call first (each call "
                               "allows one backward, most recent call first)")
        return self._tapes.pop()


class _RecurrentCell(_Cell):
    """Base of SimpleRNNCell, LSTMCell and GRUCell: arguments, weights, dropout masks,
    state checks.  Subclasses set ``n_gates``, ``n_states`` and write ``_step`` and
    ``_step_backward`` on top of the ops' step functions."""

    n_gates = 1
    n_states = 1
    #: Whether Keras draws one dropout mask per gate once ``recurrent_dropout > 0``.
    per_gate_dropout_masks = False

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer,
                 bias_initializer, dropout, recurrent_dropout, seed, dtype, name, trainable):
        super().__init__(name=name, dtype=dtype, trainable=trainable, seed=seed)
        _arguments.set_recurrent_arguments(self, units, activation, use_bias,
                                           kernel_initializer, recurrent_initializer,
                                           bias_initializer, dropout, recurrent_dropout)
        self.dropout_mask = None            # (G, B, I), drawn on first use
        self.recurrent_dropout_mask = None  # (G, B, H)
        self.input_dim = None
        self.bias = None
        self.output_size = self.units

    # --- configuration --------------------------------------------------------------

    def get_config(self):
        """Keras's cell config (without regularizers and constraints)."""
        return {
            **super().get_config(), "units": self.units, "activation": self.activation,
            "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer,
            "recurrent_initializer": self.recurrent_initializer,
            "bias_initializer": self.bias_initializer, "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
        }

    def __repr__(self):
        return f"{type(self).__name__}(units={self.units}, name={self.name!r})"

    # --- weights ----------------------------------------------------------------------

    def _bias_shape(self):
        return (self.n_gates * self.units,)

    def _init_bias(self, shape, rng):
        return self._bias_initializer(shape, rng)

    def build(self, input_shape):
        """Create ``kernel (I, gH)``, ``recurrent_kernel (H, gH)`` and ``bias`` for inputs
        of shape ``(batch, features)`` (only ``features``, the last entry, matters)."""
        if isinstance(input_shape, (int, np.integer)) or len(input_shape) == 0:
            raise ValueError(f"`input_shape` must be (batch, features), got {input_shape!r}")
        input_dim = _checks.positive_int(input_shape[-1], "input_shape[-1]")
        gh = self.n_gates * self.units
        self.weight_names = []
        self._add_weight("kernel", (input_dim, gh), self._kernel_initializer)
        self._add_weight("recurrent_kernel", (self.units, gh), self._recurrent_initializer)
        if self.use_bias:
            self._add_weight("bias", self._bias_shape(), self._init_bias)
        self.input_dim = input_dim
        self.built = True

    # --- states and dropout masks -------------------------------------------------------

    def get_initial_state(self, batch_size=None):
        """Zero states: a list of ``(batch_size, units)`` arrays (Keras's)."""
        batch_size = _checks.positive_int(batch_size, "batch_size")
        return [np.zeros((batch_size, self.units), self.dtype) for _ in range(self.n_states)]

    def _mask_count(self):
        per_gate = self.per_gate_dropout_masks and self.recurrent_dropout > 0
        return self.n_gates if per_gate else 1

    def _draw_mask(self, shape, rate):
        keep_ = self._rng.random((self._mask_count(), *shape)) >= rate
        return keep_.astype(self.dtype) / self.dtype.type(1 - rate)

    def get_dropout_mask(self, step_input):
        """The input dropout mask ``(G, B, I)`` for ``step_input`` (B, I): drawn on first
        use, then reused until :meth:`reset_dropout_mask`; None when the rate is 0."""
        if self.dropout_mask is None and 0.0 < self.dropout < 1.0:
            self.dropout_mask = self._draw_mask(np.shape(step_input), self.dropout)
        return self.dropout_mask

    def get_recurrent_dropout_mask(self, step_input):
        """The recurrent dropout mask ``(G, B, H)`` for the state ``step_input`` (B, H)."""
        if self.recurrent_dropout_mask is None and 0.0 < self.recurrent_dropout < 1.0:
            self.recurrent_dropout_mask = self._draw_mask(np.shape(step_input),
                                                          self.recurrent_dropout)
        return self.recurrent_dropout_mask

    def reset_dropout_mask(self):
        self.dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self.recurrent_dropout_mask = None

    def _check_states(self, states, batch):
        """``states`` as a list of ``n_states`` (B, H) arrays, and whether it was a list."""
        nested = isinstance(states, (list, tuple))
        if not nested and self.n_states == 1 and states is not None:
            states = [states]
        if not isinstance(states, (list, tuple)) or len(states) != self.n_states:
            got = f"{len(states)} arrays" if isinstance(states, (list, tuple)) else repr(
                type(states).__name__)
            raise ValueError(f"`states` of {self.name} must be a list of {self.n_states} "
                             f"array(s) of shape ({batch}, {self.units})"
                             + (" (or one bare array)" if self.n_states == 1 else "")
                             + f", got {got}")
        checked = []
        for i, s in enumerate(states):
            s = _checks.real_array(s, f"states[{i}]", self.dtype)
            _checks.shape_is(s, (batch, self.units), f"states[{i}]", " (batch, units)")
            checked.append(s)
        return checked, nested

    def _check_dropout_batch(self, mask, batch, which):
        if mask is not None and mask.shape[1] != batch:
            raise ValueError(f"{self.name}: the cached {which} mask is for batch size "
                             f"{mask.shape[1]}, `inputs` has {batch}; call "
                             f"reset_{which}_mask() between sequences")

    # --- forward and backward -------------------------------------------------------------

    def call(self, inputs, states, training=False):
        """One step: ``inputs`` (B, I), ``states`` (a list, or for one state a bare array)
        -> ``(output, new_states)``, Keras's structure."""
        x = _checks.real_array(inputs, "inputs", self.dtype)
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"`inputs` must have shape (batch, {self.input_dim}) (the cell "
                             f"was built for {self.input_dim} features), got {x.shape}")
        states, nested = self._check_states(states, x.shape[0])
        if training is not None and not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"`training` must be True, False or None, got {training!r}")
        dm = rdm = None
        if training:
            dm = self.get_dropout_mask(x)
            rdm = self.get_recurrent_dropout_mask(states[0])
            self._check_dropout_batch(dm, x.shape[0], "dropout")
            self._check_dropout_batch(rdm, x.shape[0], "recurrent_dropout")
        output, new_states, cache = self._step(x, states, dm, rdm)
        self._push_tape(_StepTape(x, cache, dm, rdm, nested))
        return output, (new_states if nested else new_states[0])

    def backward(self, d_output, d_states=None):
        """Backward through the most recent call: ``d_output`` (B, H) and ``d_states``
        (shaped like the returned states; None, or a None entry, for zeros) ->
        ``(d_inputs (B, I), d_prev_states)`` shaped like the call's inputs and states.
        ``get_gradients()`` then holds this step's weight gradients."""
        tape = self._pop_tape()
        batch = tape.x.shape[0]
        d_out = self._grad(d_output, batch, "d_output")
        if d_states is None:
            d_states = [None] * self.n_states
        elif not isinstance(d_states, (list, tuple)):
            d_states = [d_states]
        if len(d_states) != self.n_states:
            raise ValueError(f"`d_states` must hold {self.n_states} gradient(s), one per "
                             f"state, got {len(d_states)}")
        d_states = [self._grad(d, batch, f"d_states[{i}]") for i, d in enumerate(d_states)]
        dx, d_prev, grads = self._step_backward(d_out, d_states, tape)
        self._gradients = grads
        return dx, (d_prev if tape.nested else d_prev[0])

    def _grad(self, g, batch, argument):
        if g is None:
            return np.zeros((batch, self.units), self.dtype)
        g = _checks.real_array(g, argument, self.dtype)
        _checks.shape_is(g, (batch, self.units), argument, " (batch, units)")
        return g

    def _input_gradients(self, dzx, tape):
        """``dx, dkernel, dbias`` of the input projection ``zx = (x ⊙ m) W + b``."""
        dx, dkernel, dbias = input_projection_backward(dzx[None], tape.x[None], self.kernel,
                                                       tape.dropout_mask, self.use_bias)
        return dx[0], dkernel, dbias

    def _weight_gradients(self, dkernel, drecurrent_kernel, dbias):
        return [dkernel, drecurrent_kernel] + ([dbias] if self.use_bias else [])


class SimpleRNNCell(_RecurrentCell):
    """One step of a fully connected RNN (Keras's ``SimpleRNNCell``):
    ``h = act(x W + h₋ U + b)``.  Weights ``kernel (I, H)``, ``recurrent_kernel (H, H)``,
    ``bias (H,)``; ``state_size = units``."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", *, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 dtype="float32", name=None, trainable=True):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, dropout, recurrent_dropout, seed, dtype, name,
                         trainable)
        self.state_size = self.units

    def _step(self, x, states, dm, rdm):
        zx = input_projection(x[None], self.kernel, self.bias, dm)[0]            # (B, H)
        h, cache = simple_rnn_step_forward(zx, states[0], self.recurrent_kernel, rdm,
                                           self._activation)
        return h, [h], cache

    def _step_backward(self, d_out, d_states, tape):
        # the output and the new state are the same h: their gradients add
        da, dh_prev = simple_rnn_step_backward(d_out + d_states[0], tape.cache,
                                               self.recurrent_kernel,
                                               tape.recurrent_dropout_mask, self._activation)
        dx, dkernel, dbias = self._input_gradients(da, tape)
        drk = recurrent_kernel_gradient(tape.cache.h_prev[None], da[None],
                                        tape.recurrent_dropout_mask)
        return dx, [dh_prev], self._weight_gradients(dkernel, drk, dbias)


class LSTMCell(_RecurrentCell):
    """One step of an LSTM (Keras's ``LSTMCell``), gates ``i f c o``.  Weights
    ``kernel (I, 4H)``, ``recurrent_kernel (H, 4H)``, ``bias (4H,)``;
    ``state_size = [units, units]`` (h, c).  ``unit_forget_bias`` *sets* the forget block
    of the initial bias to 1, as Keras does."""

    n_gates = 4
    n_states = 2
    per_gate_dropout_masks = True

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, *, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 dtype="float32", name=None, trainable=True):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, dropout, recurrent_dropout, seed, dtype, name,
                         trainable)
        self.recurrent_activation = recurrent_activation
        self._recurrent_activation = act.get(recurrent_activation, "recurrent_activation")
        self.unit_forget_bias = _checks.boolean(unit_forget_bias, "unit_forget_bias")
        self.state_size = [self.units, self.units]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "unit_forget_bias": self.unit_forget_bias}

    def _init_bias(self, shape, rng):
        if not self.unit_forget_bias:
            return self._bias_initializer(shape, rng)
        H = self.units
        return np.concatenate([self._bias_initializer((H,), rng), np.ones(H),
                               self._bias_initializer((2 * H,), rng)])

    def _step(self, x, states, dm, rdm):
        zx = input_projection(x[None], self.kernel, self.bias, dm)[0]            # (B, 4H)
        h, c, cache = lstm_step_forward(zx, states[0], states[1], self.recurrent_kernel, rdm,
                                        self._activation, self._recurrent_activation)
        return h, [h, c], cache

    def _step_backward(self, d_out, d_states, tape):
        dz, dh_prev, dc_prev = lstm_step_backward(
            d_out + d_states[0], d_states[1], tape.cache, self.recurrent_kernel,
            tape.recurrent_dropout_mask, self._activation, self._recurrent_activation)
        dx, dkernel, dbias = self._input_gradients(dz, tape)
        drk = recurrent_kernel_gradient(tape.cache.h_prev[None], dz[None],
                                        tape.recurrent_dropout_mask)
        return dx, [dh_prev, dc_prev], self._weight_gradients(dkernel, drk, dbias)


class GRUCell(_RecurrentCell):
    """One step of a GRU (Keras's ``GRUCell``), gates ``z r h``.  Weights
    ``kernel (I, 3H)``, ``recurrent_kernel (H, 3H)``, ``bias (2, 3H)`` (input row,
    recurrent row) when ``reset_after`` (the default), else ``(3H,)``;
    ``state_size = units``."""

    n_gates = 3
    per_gate_dropout_masks = True

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", *,
                 dropout=0.0, recurrent_dropout=0.0, reset_after=True, seed=None,
                 dtype="float32", name=None, trainable=True):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, dropout, recurrent_dropout, seed, dtype, name,
                         trainable)
        self.recurrent_activation = recurrent_activation
        self._recurrent_activation = act.get(recurrent_activation, "recurrent_activation")
        self.reset_after = _checks.boolean(reset_after, "reset_after")
        self.state_size = self.units

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "reset_after": self.reset_after}

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _biases(self):
        """``(input bias, recurrent bias)``: the two rows when reset_after, else (bias, None)."""
        if self.bias is not None and self.reset_after:
            return self.bias[0], self.bias[1]
        return self.bias, None

    def _step(self, x, states, dm, rdm):
        input_bias, recurrent_bias = self._biases()
        zx = input_projection(x[None], self.kernel, input_bias, dm)[0]           # (B, 3H)
        h, cache = gru_step_forward(zx, states[0], self.recurrent_kernel, recurrent_bias, rdm,
                                    self.reset_after, self._activation,
                                    self._recurrent_activation)
        return h, [h], cache

    def _step_backward(self, d_out, d_states, tape):
        H, rdm, cache = self.units, tape.recurrent_dropout_mask, tape.cache
        dzx, dzh, dh_prev = gru_step_backward(d_out + d_states[0], cache,
                                              self.recurrent_kernel, rdm, self.reset_after,
                                              self._activation, self._recurrent_activation)
        dx, dkernel, dbias = self._input_gradients(dzx, tape)
        if self.reset_after:         # dzh: gradient of h₋ U + b_rec, all three gates
            drk = recurrent_kernel_gradient(cache.h_prev[None], dzh[None], rdm)
            if self.use_bias:
                dbias = np.stack([dbias, dzh.sum(axis=0)])                       # (2, 3H)
        else:                        # z, r from h₋ U; the candidate from (r ⊙ h₋) U_h
            zr_mask, _ = split_recurrent_mask(rdm)
            drk = np.concatenate([
                recurrent_kernel_gradient(cache.h_prev[None], dzh[None, :, :2 * H], zr_mask),
                cache.u.T @ dzh[:, 2 * H:],                                      # (H, H)
            ], axis=1)
        return dx, [dh_prev], self._weight_gradients(dkernel, drk, dbias)


class _StackTape(NamedTuple):
    cell_tapes: list    # one tape per cell, first to last
    nested: list        # per cell: whether its states came as a list


class StackedRNNCells(_Cell):
    """A list of cells run as one cell (Keras's ``StackedRNNCells``): each cell's output
    is the next cell's input; the output is the last cell's.

    ``states`` is a list with one entry per cell, each as that cell takes it (LSTM:
    ``[h, c]``; SimpleRNN/GRU: ``[h]`` or a bare ``h``); the new states come back in the
    same form.  As in Keras: ``state_size = [cell.state_size, ...]`` (nested, e.g.
    ``[[H, H], H2]``), ``get_initial_state`` gives each cell's own list (so
    ``[[h1, c1], [h2]]`` for LSTM + GRU), and a stack of *one* cell returns that cell's
    states unwrapped.  Weights are the cells' weights, in order.
    """

    def __init__(self, cells, name=None, dtype=None, trainable=True):
        if not isinstance(cells, (list, tuple)) or not cells:
            raise TypeError(f"`cells` must be a non-empty list of cells, got {cells!r}")
        for i, cell in enumerate(cells):
            if not isinstance(cell, _Cell):
                raise TypeError(f"`cells[{i}]` must be a scratchrnn cell (SimpleRNNCell, "
                                f"LSTMCell, GRUCell or StackedRNNCells), got {cell!r}")
        super().__init__(name=name, dtype=cells[0].dtype if dtype is None else dtype,
                         trainable=trainable)
        self.cells = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        return self.cells[-1].output_size

    def get_config(self):
        return {**super().get_config(), "cells": [
            {"class_name": type(c).__name__, "config": c.get_config()} for c in self.cells]}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        cells = [_CELL_CLASSES[c["class_name"]].from_config(c["config"])
                 for c in config.pop("cells")]
        return cls(cells, **config)

    def get_initial_state(self, batch_size=None):
        return [cell.get_initial_state(batch_size) for cell in self.cells]

    def reset_dropout_mask(self):
        for cell in self.cells:
            cell.reset_dropout_mask()

    def reset_recurrent_dropout_mask(self):
        for cell in self.cells:
            cell.reset_recurrent_dropout_mask()

    # --- weights: the cells', in order ------------------------------------------------

    def build(self, input_shape):
        """Build each cell on the previous one's output: ``(batch, features)``, then
        ``(batch, cell.output_size)``."""
        shape = tuple(input_shape)
        for cell in self.cells:
            if not cell.built:
                cell.build(shape)
            shape = (shape[0], cell.output_size)
        self.built = True

    @property
    def weights(self):
        return [w for cell in self.cells for w in cell.weights]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Set every cell's weights from one list (``get_weights`` order)."""
        if not self.built:
            raise RuntimeError(f"{self.name}: set_weights() needs the cells built; call it "
                               "on inputs or call build(input_shape) first")
        weights = list(weights)
        counts = [len(cell.weights) for cell in self.cells]
        if len(weights) != sum(counts):
            raise ValueError(f"`weights` must be a list of {sum(counts)} arrays (the cells' "
                             f"{counts}) for {self.name}, got {len(weights)}")
        start = 0
        for cell, n in zip(self.cells, counts):
            cell.set_weights(weights[start:start + n])
            start += n

    def count_params(self):
        if not self.built:
            raise RuntimeError(f"{self.name}: count_params() needs the layer built")
        return int(sum(w.size for w in self.weights))

    def get_gradients(self):
        return [g for cell in self.cells for g in cell.get_gradients()]

    def optimizer_gradients(self):
        return [g for cell in self.cells for g in cell.optimizer_gradients()]

    # --- forward and backward -------------------------------------------------------------

    def call(self, inputs, states, training=False):
        """Run the cells in order: ``(last output, [each cell's new states])``."""
        if not isinstance(states, (list, tuple)) or len(states) != len(self.cells):
            raise ValueError(f"`states` of {self.name} must be a list of {len(self.cells)} "
                             "entries, one per cell (state_size "
                             f"{self.state_size}), got {_describe(states)}")
        x, new_states, tapes, nested = inputs, [], [], []
        for cell, s in zip(self.cells, states):
            is_list = isinstance(s, (list, tuple))
            x, s_new = cell(x, list(s) if is_list else [s], training=training)
            tapes.append(cell._pop_tape())         # the stack's tape holds its cells' tapes
            nested.append(is_list)
            new_states.append(s_new if is_list or len(s_new) != 1 else s_new[0])
        self._push_tape(_StackTape(tapes, nested))
        return x, (new_states[0] if len(new_states) == 1 else new_states)

    def backward(self, d_output, d_states=None):
        """Backward through the most recent call: the cells in reverse order, each
        cell's ``d_inputs`` being the previous cell's output gradient."""
        tape = self._pop_tape()
        n = len(self.cells)
        if n == 1:                                 # call returned the cell's states unwrapped
            d_states = [d_states]
        if d_states is None:
            d_states = [None] * n
        if not isinstance(d_states, (list, tuple)) or len(d_states) != n:
            raise ValueError(f"`d_states` must be a list of {n} entries, one per cell, got "
                             f"{_describe(d_states)}")
        d, d_prev = d_output, [None] * n
        for k in reversed(range(n)):
            cell = self.cells[k]
            cell._push_tape(tape.cell_tapes[k])
            d, dp = cell.backward(d, d_states[k])
            d_prev[k] = dp if tape.nested[k] else dp[0]
        return d, d_prev


_CELL_CLASSES = {c.__name__: c for c in (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells)}


def _describe(value):
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"{type(value).__name__}"


# --- the time loop: what RNN(cell) runs ------------------------------------------------------

def _flatten(structure):
    """The arrays of a nested list, depth first."""
    if isinstance(structure, (list, tuple)):
        return [a for item in structure for a in _flatten(item)]
    return [structure]


def _pack(structure, flat):
    """``flat`` arranged as ``structure`` (lists), depth first."""
    items = iter(flat)

    def build(s):
        return [build(i) for i in s] if isinstance(s, (list, tuple)) else next(items)
    return build(structure)


class SequenceTape(NamedTuple):
    """What :func:`rnn_cell_backward` needs from :func:`rnn_cell_forward`."""
    steps: list              # the cell's tape of each processing step
    mask: object             # (T, B) bool in processing order, or None
    structure: object        # the states as given (nested lists), for the gradients
    step_structure: object   # the states as the cell returns them
    state_shapes: list       # the flat states' shapes
    input_shape: tuple       # (B, T, F)
    go_backwards: bool
    zero_output_for_mask: bool


def _check_sequence_mask(mask, batch, timesteps):
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        if m.dtype.kind not in "iu" or not np.isin(m, (0, 1)).all():
            raise TypeError(f"`mask` must be booleans (or 0/1 integers), got dtype {m.dtype}")
        m = m.astype(bool)
    _checks.shape_is(m, (batch, timesteps), "mask", " (batch, timesteps)")
    return m


def reset_dropout_masks(cell):
    """Forget the cell's cached dropout masks (all cells of a stack)."""
    for method in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
        getattr(cell, method, lambda: None)()


def rnn_cell_forward(cell, x, states=None, mask=None, go_backwards=False,
                     zero_output_for_mask=False, training=False):
    """Run ``cell`` over ``x`` (B, T, F): Keras's ``RNN(cell)`` on its CPU path.

    states: the initial states as the cell takes them (a list; None for
    ``cell.get_initial_state(B)``); mask: (B, T) booleans, True where a step is real.
    Returns ``(outputs, final_states, tape)``: outputs (B, T, output_size) in processing
    order (reversed when ``go_backwards``), final_states in the structure of ``states``.
    The cell's dropout masks are reset first and drawn afresh for this sequence.
    """
    if not isinstance(cell, _Cell):
        raise TypeError(f"`cell` must be a scratchrnn cell, got {cell!r}")
    x = _checks.real_array(x, "x", cell.dtype)
    if x.ndim != 3 or 0 in x.shape:
        raise ValueError("`x` must be a 3-D array (batch, timesteps, features) with at "
                         f"least one of each, got shape {x.shape}")
    B, T, F = x.shape
    mask = _check_sequence_mask(mask, B, T)
    for value, name in ((go_backwards, "go_backwards"),
                        (zero_output_for_mask, "zero_output_for_mask")):
        _checks.boolean(value, name)
    if not cell.built:
        cell.build((B, F))
    if states is None:
        states = cell.get_initial_state(B)
    states = list(states) if isinstance(states, (list, tuple)) else [states]   # Keras: a list
    flat = [_checks.real_array(s, f"states[{i}]", cell.dtype)
            for i, s in enumerate(_flatten(states))]
    states = _pack(states, flat)
    structure = states
    reset_dropout_masks(cell)

    xs = time_major(x, go_backwards)                                  # (T, B, F)
    ms = None if mask is None else time_major(mask, go_backwards)     # (T, B)
    xs = drop_padding(xs, ms)              # padding (NaN included) never reaches a result
    outputs = np.empty((T, B, cell.output_size), dtype=cell.dtype)    # processing order
    out = np.zeros((B, cell.output_size), dtype=cell.dtype)  # "before" step 0, for masks
    steps, step_structure = [], None
    for s in range(T):
        out_new, new_states = cell(xs[s], states, training=training)
        steps.append(cell._pop_tape())
        step_structure = new_states
        new_flat = _flatten(new_states)
        if len(new_flat) != len(flat):
            raise ValueError(f"{cell.name} returned {len(new_flat)} states for "
                             f"{len(flat)} given")
        m = step_mask(ms, s)                                          # (B, 1) or None
        out = keep(m, out_new, 0 if zero_output_for_mask else out)
        flat = [keep(m, new, old) for new, old in zip(new_flat, flat)]
        states = _pack(structure, flat)
        outputs[s] = out

    tape = SequenceTape(steps, ms, structure, step_structure, [f.shape for f in flat],
                        x.shape, go_backwards, zero_output_for_mask)
    return batch_major(outputs, False), states, tape


def rnn_cell_backward(cell, d_outputs, d_final_states, tape):
    """Backpropagation through time for :func:`rnn_cell_forward`.

    d_outputs: (B, T, output_size) in processing order (None for zeros; put the gradient
    of the last output at ``[:, -1]``); d_final_states: gradients of the final states,
    nested like them or flat (None, or a None entry, for zeros).
    Returns ``(dx (B, T, F), d_initial_states, weight_gradients)``: d_initial_states in
    the structure of the initial states, weight_gradients summed over the steps and
    aligned with ``cell.weights``; they are also left as the cells' gradients, so that
    ``cell.get_gradients()`` returns them.
    """
    B, T, F = tape.input_shape
    if d_outputs is None:
        d_outputs = np.zeros((B, T, cell.output_size), cell.dtype)
    d_outputs = _checks.real_array(d_outputs, "d_outputs", cell.dtype)
    _checks.shape_is(d_outputs, (B, T, cell.output_size), "d_outputs",
                     " (batch, timesteps, output_size)")
    n = len(tape.state_shapes)
    given = [None] * n if d_final_states is None else _flatten(d_final_states)
    if len(given) != n:
        raise ValueError(f"`d_final_states` must hold {n} gradient(s), one per final state, "
                         f"got {len(given)}")
    d_flat = []
    for i, (g, shape) in enumerate(zip(given, tape.state_shapes)):
        g = np.zeros(shape, cell.dtype) if g is None else _checks.real_array(
            g, f"d_final_states[{i}]", cell.dtype)
        _checks.shape_is(g, shape, f"d_final_states[{i}]")
        d_flat.append(g)

    douts = time_major(d_outputs, False)                              # (T, B, O)
    dxs = np.empty((T, B, F), dtype=cell.dtype)
    totals = None
    d_carry = 0    # gradient reaching the output repeated by the next (masked) step
    for s in reversed(range(T)):
        m = step_mask(tape.mask, s)
        d_out = douts[s] + d_carry
        cell._push_tape(tape.steps[s])
        d_new = _pack(tape.step_structure, [keep(m, d, 0) for d in d_flat])
        dxs[s], d_prev = cell.backward(keep(m, d_out, 0), d_new)
        # a masked sample's states skipped the cell: their gradient passes through
        d_flat = [keep(m, dp, d) for dp, d in zip(_flatten(d_prev), d_flat)]
        grads = cell.get_gradients()
        totals = grads if totals is None else [t + g for t, g in zip(totals, grads)]
        d_carry = 0 if (m is None or tape.zero_output_for_mask) else np.where(m, 0, d_out)

    _set_gradients(cell, totals)
    dx = batch_major(dxs, tape.go_backwards)
    return dx, _pack(tape.structure, d_flat), list(totals)


def _set_gradients(cell, grads):
    """Leave ``grads`` (aligned with ``cell.weights``) as the gradients of the cell(s)."""
    if isinstance(cell, StackedRNNCells):
        start = 0
        for c in cell.cells:
            n = len(c.weights)
            _set_gradients(c, grads[start:start + n])
            start += n
    else:
        cell._gradients = list(grads)
