"""``SimpleRNN``: Keras's fully connected recurrent layer, on :mod:`scratchrnn.ops.simple_rnn`."""

from .rnn import FusedRNN


class SimpleRNN(FusedRNN):
    """Fully connected RNN whose output is fed back: ``h_t = act(x_t W + h_{t-1} U + b)``.

    Weights (Keras's): ``kernel (I, H)``, ``recurrent_kernel (H, H)``, ``bias (H,)``.
    Arguments and defaults are Keras's; see :class:`scratchrnn.layers.rnn.FusedRNN`.
    """

    ops_name = "simple_rnn"

    def _run(self, x, states, mask):
        # self.ops: scratchrnn/ops/simple_rnn.py, or scratchrnn/kernels/simple_rnn.py (numba)
        (outputs, h), cache = self.ops.simple_rnn_forward(
            x, states[0], self.kernel, self.recurrent_kernel, self.bias, mask=mask,
            go_backwards=self.go_backwards, activation=self._activation,
            zero_output_for_mask=self.zero_output_for_mask, dropout_mask=self.dropout_mask,
            recurrent_dropout_mask=self.recurrent_dropout_mask, **self._op_kwargs())
        return outputs, [h], cache

    def _run_backward(self, d_outputs, d_states, cache):
        dx, dh0, dk, drk, db = self.ops.simple_rnn_backward(
            d_outputs, d_states[0], cache, self.kernel, self.recurrent_kernel,
            **self._op_kwargs())
        return dx, [dh0], [dk, drk] + ([db] if self.use_bias else [])
