"""``LSTM``: Keras's long short-term memory layer, on :mod:`scratchrnn.ops.lstm`."""

import numpy as np

from .. import _checks
from ..ops import activations
from .rnn import FusedRNN


class LSTM(FusedRNN):
    """Long short-term memory layer (Hochreiter & Schmidhuber 1997), Keras's CPU semantics.

    Weights (Keras's, gates in the order ``i f c o``): ``kernel (I, 4H)``,
    ``recurrent_kernel (H, 4H)``, ``bias (4H,)``.  ``unit_forget_bias=True`` *sets* the
    forget block of the initial bias to 1 (Jozefowicz et al. 2015), as Keras does.
    Returns ``output`` or ``[output, h, c]`` with ``return_state``.
    """

    ops_name = "lstm"
    n_gates = 4
    state_names = ("h", "c")
    per_gate_dropout_masks = True

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation
        self._recurrent_activation = activations.get(recurrent_activation,
                                                     "recurrent_activation")
        self.unit_forget_bias = _checks.boolean(unit_forget_bias, "unit_forget_bias")

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "unit_forget_bias": self.unit_forget_bias}

    def _init_bias(self, shape):
        bias = super()._init_bias(shape)
        if self.unit_forget_bias:
            bias = np.concatenate([bias[:self.units], np.ones(self.units),
                                   bias[2 * self.units:]])
        return bias

    def _run(self, x, states, mask):
        # self.ops: scratchrnn/ops/lstm.py, or scratchrnn/kernels/lstm.py (backend="numba")
        (outputs, h, c), cache = self.ops.lstm_forward(
            x, states[0], states[1], self.kernel, self.recurrent_kernel, self.bias, mask=mask,
            go_backwards=self.go_backwards, activation=self._activation,
            recurrent_activation=self._recurrent_activation,
            zero_output_for_mask=self.zero_output_for_mask, dropout_mask=self.dropout_mask,
            recurrent_dropout_mask=self.recurrent_dropout_mask, **self._op_kwargs())
        return outputs, [h, c], cache

    def _run_backward(self, d_outputs, d_states, cache):
        dx, dh0, dc0, dk, drk, db = self.ops.lstm_backward(
            d_outputs, d_states[0], d_states[1], cache, self.kernel, self.recurrent_kernel,
            **self._op_kwargs())
        return dx, [dh0, dc0], [dk, drk] + ([db] if self.use_bias else [])
