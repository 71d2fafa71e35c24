"""The SimpleRNN's time loops compiled with Numba; the same maths as
:mod:`scratchrnn.ops.simple_rnn`, the cache shared with it.  See
:mod:`scratchrnn.kernels.lstm` for what the compiled loops change and why."""

import numpy as np
from numba import njit

from ..ops import activations as act
from ..ops.common import batch_major
from ..ops.simple_rnn import SimpleRNNCache
from . import activations as kact
from .common import (
    JIT,
    Workspace,
    input_projection,
    input_projection_backward,
    project,
    project_backward,
    recurrent_blocks,
    recurrent_kernel_gradient,
    time_major,
)


@njit(**JIT)
def _forward_loop(zx, h0, U, mask, zero_output_for_mask, rdm, activation, h_prev, hs,
                  outputs):
    T, B, H = zx.shape
    h = h0.copy()
    out = np.zeros((B, H), zx.dtype)
    h_masked, z_gate = np.empty((B, H), zx.dtype), np.empty((B, H), zx.dtype)
    for s in range(T):
        h_prev[s] = h
        a = hs[s]                                          # (B, H), activated in place
        project(h, U, rdm, a, h_masked, z_gate)            # a = h @ U
        for b in range(B):
            ab = a[b]
            ab += zx[s, b]                                 # + x @ W + bias
            kact.forward(ab, activation)
            if mask is None or mask[s, b]:
                h[b] = ab
                out[b] = ab
            elif zero_output_for_mask:
                out[b] = 0
        outputs[s] = out
    return h


@njit(**JIT)
def _backward_loop(douts, dh_T, UT, mask, zero_output_for_mask, rdm, activation, hs, da):
    T, B, H = hs.shape
    dh = dh_T.copy()
    d_carry = np.zeros((B, H), douts.dtype)
    dh_new = np.empty((B, H), douts.dtype)
    dz_gate, dh_gate = np.empty((B, H), douts.dtype), np.empty((B, H), douts.dtype)
    for s in range(T - 1, -1, -1):
        for b in range(B):
            dab = da[s, b]
            if not (mask is None or mask[s, b]):
                dab[:] = 0
                if not zero_output_for_mask:
                    d_carry[b] += douts[s, b]      # flows to the output this step repeats
                continue
            for j in range(H):
                dab[j] = dh[b, j] + douts[s, b, j] + d_carry[b, j]
                d_carry[b, j] = 0
            kact.backward(dab, hs[s, b], activation)            # through act
        project_backward(da[s], UT, rdm, dh_new, dz_gate, dh_gate)   # dh_{t-1} = da @ Uᵀ
        for b in range(B):
            if mask is None or mask[s, b]:
                dh[b] = dh_new[b]
    return dh


def simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias=None, mask=None,
                       go_backwards=False, activation=act.TANH, zero_output_for_mask=False,
                       dropout_mask=None, recurrent_dropout_mask=None, workspace=None):
    """:func:`scratchrnn.ops.simple_rnn.simple_rnn_forward`, its time loop compiled;
    ``workspace`` (:class:`~scratchrnn.kernels.common.Workspace`) holds the buffers."""
    ws = workspace or Workspace()
    xs = time_major(x, go_backwards, ws, "x")                              # (T, B, I)
    ms = None if mask is None else time_major(mask, go_backwards, ws, "mask")
    T, B, _ = xs.shape
    H = h0.shape[1]
    zx = input_projection(xs, np.ascontiguousarray(kernel), bias, dropout_mask,
                          ws.get("zx", (T * B, H), xs.dtype))              # (T, B, H)
    U = recurrent_blocks(recurrent_kernel, 1, recurrent_dropout_mask)
    h_prev = ws.get("h_prev", (T, B, H), xs.dtype)
    hs = ws.get("h", (T, B, H), xs.dtype)
    outputs = ws.get("outputs", (T, B, H), xs.dtype)
    h = _forward_loop(zx, h0, U, ms, zero_output_for_mask, recurrent_dropout_mask,
                      activation, h_prev, hs, outputs)
    cache = SimpleRNNCache(xs, h_prev, hs, ms, dropout_mask, recurrent_dropout_mask,
                           bias is not None, go_backwards, zero_output_for_mask, activation)
    return (batch_major(outputs, False), h), cache


def simple_rnn_backward(d_outputs, dh_T, cache, kernel, recurrent_kernel, workspace=None):
    """:func:`scratchrnn.ops.simple_rnn.simple_rnn_backward`, its time loop compiled."""
    ws = workspace or Workspace()
    douts = time_major(d_outputs, False, ws, "d_outputs")                  # (T, B, H)
    UT = recurrent_blocks(recurrent_kernel, 1, cache.recurrent_dropout_mask, transposed=True)
    da = ws.get("da", cache.h.shape, cache.h.dtype)
    dh = _backward_loop(douts, dh_T, UT, cache.mask, cache.zero_output_for_mask,
                        cache.recurrent_dropout_mask, cache.activation, cache.h, da)
    dxs, dkernel, dbias = input_projection_backward(da, cache.x, np.ascontiguousarray(kernel),
                                                    cache.dropout_mask)
    drecurrent_kernel = recurrent_kernel_gradient(cache.h_prev, da, cache.recurrent_dropout_mask)
    return (batch_major(dxs, cache.go_backwards), dh, dkernel, drecurrent_kernel,
            dbias if cache.use_bias else None)
