"""Long short-term memory: forward and backward through time, as Keras computes it.

Equations of one step (Hochreiter & Schmidhuber 1997, with the forget gate of
Gers et al. 2000).  Rows are samples; the four gates share one fused kernel whose
column blocks are, in Keras's order, ``i f c o``::

    z   = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias          (B, 4H)
    i   = σ(z_i)                      input gate
    f   = σ(z_f)                      forget gate
    g   = act(z_c)                    candidate cell state (Keras's "c" block)
    o   = σ(z_o)                      output gate
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ act(c_t)                the output is h_t

``σ`` is ``recurrent_activation`` (sigmoid), ``act`` is ``activation`` (tanh).

Backward through one step.  ``dh`` and ``dc`` arrive from the step after (and from
the loss, for ``dh``); every line is the chain rule applied to one line above::

    do        = dh ⊙ act(c_t)
    dc        = dc + dh ⊙ o ⊙ act'(c_t)       c_t reaches the loss twice: next step and h_t
    di        = dc ⊙ g
    df        = dc ⊙ c_{t-1}
    dg        = dc ⊙ i
    dc_{t-1}  = dc ⊙ f
    dz        = [di ⊙ σ'(·), df ⊙ σ'(·), dg ⊙ act'(·), do ⊙ σ'(·)]     (B, 4H)
    dh_{t-1}  = dz @ recurrent_kernelᵀ

and, summed over all steps (one GEMM each, after the loop)::

    dkernel            = Σ_t x_tᵀ dz_t
    drecurrent_kernel  = Σ_t h_{t-1}ᵀ dz_t
    dbias              = Σ_t Σ_b dz_t
    dx_t               = dz_t @ kernelᵀ

Masking follows Keras's CPU path: at a masked step a sample keeps ``h`` and ``c``
and its output repeats the previous output (zeros before its first valid step), or
is zero when ``zero_output_for_mask`` (what ``Bidirectional`` asks for).  cuDNN
differs: it accepts only right-padded masks and always emits zeros there.
"""

from typing import NamedTuple

import numpy as np

from . import activations as act
from .common import (
    batch_major,
    check_sequence_arguments,
    drop_padding,
    input_projection,
    input_projection_backward,
    keep,
    recurrent_kernel_gradient,
    recurrent_projection,
    recurrent_projection_backward,
    step_mask,
    time_major,
)

N_GATES = 4  # i, f, c, o


class LSTMStepCache(NamedTuple):
    """What the backward pass of one step needs."""
    h_prev: np.ndarray   # (B, H) state entering the step
    c_prev: np.ndarray   # (B, H) cell state entering the step
    gates: np.ndarray    # (B, 4H) activated gates [i, f, g, o]
    act_c: np.ndarray    # (B, H) act(c_t)


class LSTMCache(NamedTuple):
    """What the backward pass of a sequence needs; arrays are time-major, processing order."""
    x: np.ndarray                 # (T, B, I)
    h_prev: np.ndarray            # (T, B, H)
    c_prev: np.ndarray            # (T, B, H)
    gates: np.ndarray             # (T, B, 4H)
    act_c: np.ndarray             # (T, B, H)
    mask: object                  # (T, B) bool, or None
    dropout_mask: object          # (G, B, I) or None
    recurrent_dropout_mask: object  # (G, B, H) or None
    use_bias: bool
    go_backwards: bool
    zero_output_for_mask: bool
    activation: int
    recurrent_activation: int

    def step(self, s):
        return LSTMStepCache(self.h_prev[s], self.c_prev[s], self.gates[s], self.act_c[s])


def lstm_step_forward(zx_t, h_prev, c_prev, recurrent_kernel, recurrent_dropout_mask,
                      activation, recurrent_activation):
    """One LSTM step.

    zx_t: (B, 4H) the input projection ``x_t @ kernel + bias`` (computed for all steps at once);
    h_prev, c_prev: (B, H); recurrent_kernel: (H, 4H); recurrent_dropout_mask: None or (G, B, H).
    Returns ``h_t, c_t, cache``.
    """
    H = h_prev.shape[1]
    z = zx_t + recurrent_projection(h_prev, recurrent_kernel, recurrent_dropout_mask)  # (B, 4H)
    i = act.forward(z[:, :H], recurrent_activation)
    f = act.forward(z[:, H:2 * H], recurrent_activation)
    g = act.forward(z[:, 2 * H:3 * H], activation)
    o = act.forward(z[:, 3 * H:], recurrent_activation)
    c = f * c_prev + i * g
    act_c = act.forward(c, activation)
    h = o * act_c
    gates = np.concatenate([i, f, g, o], axis=1)
    return h, c, LSTMStepCache(h_prev, c_prev, gates, act_c)


def lstm_step_backward(dh, dc, cache, recurrent_kernel, recurrent_dropout_mask,
                       activation, recurrent_activation):
    """Backward through one step: ``dh, dc`` (B, H) for ``h_t, c_t`` -> ``dz, dh_prev, dc_prev``.

    ``dz`` (B, 4H) is the gradient of the gate pre-activations; the sequence function
    turns the ``dz`` of all steps into the weight gradients.
    """
    H = dh.shape[1]
    gates = cache.gates
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    do = dh * cache.act_c                                            # h_t = o * act(c_t)
    dc = dc + act.backward(dh * o, cache.act_c, activation)          # through act(c_t)
    di = dc * g                                                      # c_t = f c_{t-1} + i g
    df = dc * cache.c_prev
    dg = dc * i
    dc_prev = dc * f
    dz = np.concatenate([
        act.backward(di, i, recurrent_activation),
        act.backward(df, f, recurrent_activation),
        act.backward(dg, g, activation),
        act.backward(do, o, recurrent_activation),
    ], axis=1)                                                       # (B, 4H)
    dh_prev = recurrent_projection_backward(dz, recurrent_kernel, recurrent_dropout_mask)
    return dz, dh_prev, dc_prev


def lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias=None, *, mask=None,
                 go_backwards=False, activation=act.TANH, recurrent_activation=act.SIGMOID,
                 zero_output_for_mask=False, dropout_mask=None, recurrent_dropout_mask=None):
    """Run an LSTM over a sequence.

    x: (B, T, I); h0, c0: (B, H); kernel: (I, 4H); recurrent_kernel: (H, 4H); bias: (4H,) or None;
    mask: (B, T) bool or None; dropout masks: None or (G, B, I) / (G, B, H), G in {1, 4}.
    The arguments after ``bias`` are keyword-only; ``cache`` is an :class:`LSTMCache`.
    Returns ``(outputs, h_T, c_T), cache`` where outputs: (B, T, H) is in processing order
    (reversed when ``go_backwards``, as Keras returns it) and the last output is ``outputs[:, -1]``.
    """
    check_sequence_arguments(x, {"h0": h0, "c0": c0}, kernel, recurrent_kernel, N_GATES)
    xs = time_major(x, go_backwards)                                # (T, B, I)
    ms = None if mask is None else time_major(mask, go_backwards)   # (T, B)
    xs = drop_padding(xs, ms)                                       # padding never used
    T, B, _ = xs.shape
    H = h0.shape[1]
    zx = input_projection(xs, kernel, bias, dropout_mask)           # (T, B, 4H)

    h_prev = np.empty((T, B, H), dtype=xs.dtype)
    c_prev = np.empty((T, B, H), dtype=xs.dtype)
    gates = np.empty((T, B, N_GATES * H), dtype=xs.dtype)
    act_c = np.empty((T, B, H), dtype=xs.dtype)
    outputs = np.empty((T, B, H), dtype=xs.dtype)
    h, c = h0, c0
    out = np.zeros((B, H), dtype=xs.dtype)   # output "before" the first step, for masked steps
    for s in range(T):
        h_new, c_new, step = lstm_step_forward(zx[s], h, c, recurrent_kernel,
                                               recurrent_dropout_mask, activation,
                                               recurrent_activation)
        h_prev[s], c_prev[s], gates[s], act_c[s] = step
        m = step_mask(ms, s)
        out = keep(m, h_new, 0 if zero_output_for_mask else out)
        h = keep(m, h_new, h)
        c = keep(m, c_new, c)
        outputs[s] = out

    cache = LSTMCache(x=xs, h_prev=h_prev, c_prev=c_prev, gates=gates, act_c=act_c, mask=ms,
                      dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
                      use_bias=bias is not None, go_backwards=go_backwards,
                      zero_output_for_mask=zero_output_for_mask, activation=activation,
                      recurrent_activation=recurrent_activation)
    return (batch_major(outputs, False), h, c), cache


def lstm_backward(d_outputs, dh_T, dc_T, cache, kernel, recurrent_kernel):
    """Backpropagation through time for :func:`lstm_forward`.

    d_outputs: (B, T, H) gradient of the outputs in processing order (put the gradient of
    the last output at ``[:, -1]``); dh_T, dc_T: (B, H) gradients of the final states.
    Returns ``dx, dh0, dc0, dkernel, drecurrent_kernel, dbias`` (dbias None without bias).
    """
    douts = time_major(d_outputs, False)                            # (T, B, H)
    T = douts.shape[0]
    dz = np.empty_like(cache.gates)                                 # (T, B, 4H)
    dh, dc = dh_T, dc_T
    d_carry = 0   # gradient reaching the output repeated by the next (masked) step
    for s in reversed(range(T)):
        m = step_mask(cache.mask, s)
        d_out = douts[s] + d_carry
        dz[s], dh_prev, dc_prev = lstm_step_backward(
            keep(m, dh + d_out, 0), keep(m, dc, 0), cache.step(s), recurrent_kernel,
            cache.recurrent_dropout_mask, cache.activation, cache.recurrent_activation)
        dh = keep(m, dh_prev, dh)
        dc = keep(m, dc_prev, dc)
        d_carry = 0 if (m is None or cache.zero_output_for_mask) else np.where(m, 0, d_out)

    dxs, dkernel, dbias = input_projection_backward(dz, cache.x, kernel,
                                                    cache.dropout_mask, cache.use_bias)
    drecurrent_kernel = recurrent_kernel_gradient(cache.h_prev, dz,
                                                  cache.recurrent_dropout_mask)
    dx = batch_major(dxs, cache.go_backwards)
    return dx, dh, dc, dkernel, drecurrent_kernel, dbias
