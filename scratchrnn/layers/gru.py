"""``GRU``: Keras's gated recurrent unit layer, on :mod:`scratchrnn.ops.gru`."""

from .. import _checks
from ..ops import activations
from .rnn import FusedRNN


class GRU(FusedRNN):
    """Gated recurrent unit (Cho et al. 2014), Keras's CPU semantics.

    Weights (Keras's, gates in the order ``z r h``): ``kernel (I, 3H)``,
    ``recurrent_kernel (H, 3H)`` and ``bias``: ``(2, 3H)`` — input row, recurrent row —
    when ``reset_after=True`` (the default, cuDNN-compatible form), ``(3H,)`` otherwise.
    """

    ops_name = "gru"
    n_gates = 3
    per_gate_dropout_masks = True

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation
        self._recurrent_activation = activations.get(recurrent_activation,
                                                     "recurrent_activation")
        self.reset_after = _checks.boolean(reset_after, "reset_after")

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "reset_after": self.reset_after}

    def _bias_shape(self):
        gh = self.n_gates * self.units
        return (2, gh) if self.reset_after else (gh,)

    def _run(self, x, states, mask):
        # self.ops: scratchrnn/ops/gru.py, or scratchrnn/kernels/gru.py (backend="numba")
        (outputs, h), cache = self.ops.gru_forward(
            x, states[0], self.kernel, self.recurrent_kernel, self.bias, mask=mask,
            go_backwards=self.go_backwards, activation=self._activation,
            recurrent_activation=self._recurrent_activation, reset_after=self.reset_after,
            zero_output_for_mask=self.zero_output_for_mask, dropout_mask=self.dropout_mask,
            recurrent_dropout_mask=self.recurrent_dropout_mask, **self._op_kwargs())
        return outputs, [h], cache

    def _run_backward(self, d_outputs, d_states, cache):
        dx, dh0, dk, drk, db = self.ops.gru_backward(d_outputs, d_states[0], cache, self.kernel,
                                                self.recurrent_kernel, **self._op_kwargs())
        return dx, [dh0], [dk, drk] + ([db] if self.use_bias else [])
