"""Fully connected (Elman) recurrent network: forward and backward through time.

Equations of one step, ``act`` being ``activation`` (tanh)::

    h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)     (B, H)

the output being ``h_t`` itself.  Backward through one step, ``dh`` arriving from the
step after and the loss::

    da        = dh ⊙ act'(·)              (B, H)   gradient of the pre-activation
    dh_{t-1}  = da @ recurrent_kernelᵀ

and, after the loop, one GEMM each over all T·B rows::

    dkernel = Σ_t x_tᵀ da_t,   drecurrent_kernel = Σ_t h_{t-1}ᵀ da_t,
    dbias = Σ_t Σ_b da_t,      dx_t = da_t @ kernelᵀ

Masking follows Keras's CPU path (see :mod:`scratchrnn.ops.lstm`).
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


class SimpleRNNStepCache(NamedTuple):
    """What the backward pass of one step needs."""
    h_prev: np.ndarray   # (B, H) state entering the step
    h: np.ndarray        # (B, H) act(a), the new state


class SimpleRNNCache(NamedTuple):
    """What the backward pass of a sequence needs; arrays are time-major, processing order."""
    x: np.ndarray                   # (T, B, I)
    h_prev: np.ndarray              # (T, B, H)
    h: np.ndarray                   # (T, B, H)
    mask: object                    # (T, B) bool, or None
    dropout_mask: object            # (1, B, I) or None
    recurrent_dropout_mask: object  # (1, B, H) or None
    use_bias: bool
    go_backwards: bool
    zero_output_for_mask: bool
    activation: int

    def step(self, s):
        return SimpleRNNStepCache(self.h_prev[s], self.h[s])


def simple_rnn_step_forward(zx_t, h_prev, recurrent_kernel, recurrent_dropout_mask, activation):
    """One step.  zx_t: (B, H) the input projection ``x_t @ kernel + bias``; h_prev: (B, H).

    Returns ``h_t, cache``.
    """
    a = zx_t + recurrent_projection(h_prev, recurrent_kernel, recurrent_dropout_mask)
    h = act.forward(a, activation)
    return h, SimpleRNNStepCache(h_prev, h)


def simple_rnn_step_backward(dh, cache, recurrent_kernel, recurrent_dropout_mask, activation):
    """Backward through one step: ``dh`` (B, H) -> ``da, dh_prev``."""
    da = act.backward(dh, cache.h, activation)                    # through act
    dh_prev = recurrent_projection_backward(da, recurrent_kernel, recurrent_dropout_mask)
    return da, dh_prev


def simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias=None, *, mask=None,
                       go_backwards=False, activation=act.TANH, zero_output_for_mask=False,
                       dropout_mask=None, recurrent_dropout_mask=None):
    """Run a SimpleRNN over a sequence.

    x: (B, T, I); h0: (B, H); kernel: (I, H); recurrent_kernel: (H, H); bias: (H,) or None;
    mask: (B, T) bool or None; dropout masks: None or (1, B, I) / (1, B, H).
    The arguments after ``bias`` are keyword-only; ``cache`` is a :class:`SimpleRNNCache`.
    Returns ``(outputs, h_T), cache`` with outputs (B, T, H) in processing order.
    """
    check_sequence_arguments(x, {"h0": h0}, kernel, recurrent_kernel, 1)
    xs = time_major(x, go_backwards)                                # (T, B, I)
    ms = None if mask is None else time_major(mask, go_backwards)   # (T, B)
    xs = drop_padding(xs, ms)                                       # padding never used
    T, B, _ = xs.shape
    H = h0.shape[1]
    zx = input_projection(xs, kernel, bias, dropout_mask)           # (T, B, H)

    h_prev = np.empty((T, B, H), dtype=xs.dtype)
    hs = np.empty((T, B, H), dtype=xs.dtype)
    outputs = np.empty((T, B, H), dtype=xs.dtype)
    h = h0
    out = np.zeros((B, H), dtype=xs.dtype)   # output "before" the first step, for masked steps
    for s in range(T):
        h_new, step = simple_rnn_step_forward(zx[s], h, recurrent_kernel,
                                              recurrent_dropout_mask, activation)
        h_prev[s], hs[s] = step
        m = step_mask(ms, s)
        out = keep(m, h_new, 0 if zero_output_for_mask else out)
        h = keep(m, h_new, h)
        outputs[s] = out

    cache = SimpleRNNCache(x=xs, h_prev=h_prev, h=hs, mask=ms, dropout_mask=dropout_mask,
                           recurrent_dropout_mask=recurrent_dropout_mask,
                           use_bias=bias is not None, go_backwards=go_backwards,
                           zero_output_for_mask=zero_output_for_mask, activation=activation)
    return (batch_major(outputs, False), h), cache


def simple_rnn_backward(d_outputs, dh_T, cache, kernel, recurrent_kernel):
    """Backpropagation through time for :func:`simple_rnn_forward`.

    d_outputs: (B, T, H) gradient of the outputs in processing order; dh_T: (B, H).
    Returns ``dx, dh0, dkernel, drecurrent_kernel, dbias`` (dbias None without bias).
    """
    douts = time_major(d_outputs, False)                            # (T, B, H)
    T = douts.shape[0]
    da = np.empty_like(cache.h)                                     # (T, B, H)
    dh = dh_T
    d_carry = 0   # gradient reaching the output repeated by the next (masked) step
    for s in reversed(range(T)):
        m = step_mask(cache.mask, s)
        d_out = douts[s] + d_carry
        da[s], dh_prev = simple_rnn_step_backward(keep(m, dh + d_out, 0), cache.step(s),
                                                  recurrent_kernel,
                                                  cache.recurrent_dropout_mask,
                                                  cache.activation)
        dh = keep(m, dh_prev, dh)
        d_carry = 0 if (m is None or cache.zero_output_for_mask) else np.where(m, 0, d_out)

    dxs, dkernel, dbias = input_projection_backward(da, cache.x, kernel, cache.dropout_mask,
                                                    cache.use_bias)
    drecurrent_kernel = recurrent_kernel_gradient(cache.h_prev, da, cache.recurrent_dropout_mask)
    dx = batch_major(dxs, cache.go_backwards)
    return dx, dh, dkernel, drecurrent_kernel, dbias
