"""The LSTM's time loops compiled with Numba; the same maths as :mod:`scratchrnn.ops.lstm`.

What changes, and why:

* the elementwise work of a step is fused into row loops over the batch, writing into
  buffers allocated once per sequence (NumPy allocates a temporary per operation);
* the activations are vectorisable (:mod:`scratchrnn.kernels.activations`; float32 uses
  a rational tanh, float64 the exact functions);
* the recurrent GEMM is ``np.dot`` inside the loop: no Python per step; from H = 128 it
  runs feature-major, ``zᵀ = Uᵀ hᵀ``, which OpenBLAS computes faster
  (:func:`~scratchrnn.kernels.common.feature_major`);
* the batch is split into blocks of rows, one per thread, and each thread runs the whole
  time loop for its rows (``_forward_loop`` and ``_backward_loop``, a ``prange`` over
  ``_forward_rows``/``_backward_rows``) with a one-thread BLAS; the GEMMs over all T·B
  rows split their rows likewise (see :mod:`scratchrnn.kernels.common`);
* ``x @ kernel`` is written into the ``gates`` buffer, and the loop finishes each row in
  place (``+ bias + h @ U``, then the activations): one array of the sequence's size
  streams through the loop, not two.
* the loop writes the outputs straight into the batch-major array the user gets, and the
  backward reads ``d_outputs`` where it lies: no time-major copy either way.

The cache is the same :class:`~scratchrnn.ops.lstm.LSTMCache`, so either backend's
backward accepts either's forward.  ``tests/test_numba.py`` holds the two equal.
"""

import numpy as np
from numba import njit, prange

from ..ops import activations as act
from ..ops.common import batch_major
from ..ops.lstm import N_GATES, LSTMCache
from . import activations as kact
from .common import (
    JIT,
    PARALLEL_JIT,
    Workspace,
    input_projection_backward,
    loop_bias,
    product_scratch,
    project,
    project_backward,
    recurrent_kernel_gradient,
    recurrent_operand,
    row_block,
    sequence_inputs,
    work_split,
)


@njit(**JIT)
def _forward_rows(r0, r1, gates, bias, h0, c0, U, feature_major, mask, zero_output_for_mask, rdm,
                  activation, recurrent_activation, h_prev, c_prev, act_c, outputs, h_T, c_T):
    """The forward time loop for batch rows ``r0 … r1-1``; writes their rows of the cache
    and of ``outputs`` (B, T, H), the array the user gets.
    ``gates`` holds ``x @ kernel`` on entry and the activated gates on return."""
    T, _, G4 = gates.shape
    B, H = r1 - r0, G4 // 4
    h, c = h0[r0:r1].copy(), c0[r0:r1].copy()
    out = np.zeros((B, H), gates.dtype)
    zh = np.empty((B, G4), gates.dtype)
    scratch = product_scratch(gates, B, H, G4, feature_major)
    c_new = np.empty(H, gates.dtype)
    for s in range(T):
        h_prev[s, r0:r1], c_prev[s, r0:r1] = h, c
        project(h, U, rdm, r0, zh, feature_major, scratch)   # zh = h @ U
        for b in range(B):
            zb = gates[s, r0 + b]                             # activated in place
            for k in range(G4):
                zb[k] = (zb[k] + bias[k]) + zh[b, k]          # z = x @ W + bias + h @ U
            kact.forward(zb[:2 * H], recurrent_activation)   # i, f
            kact.forward(zb[2 * H:3 * H], activation)        # g
            kact.forward(zb[3 * H:], recurrent_activation)   # o
            for j in range(H):
                c_new[j] = zb[H + j] * c[b, j] + zb[j] * zb[2 * H + j]   # f c + i g
            ac = act_c[s, r0 + b]
            ac[:] = c_new
            kact.forward(ac, activation)
            if mask is None or mask[s, r0 + b]:
                for j in range(H):
                    c[b, j] = c_new[j]
                    h[b, j] = zb[3 * H + j] * ac[j]                     # o act(c)
                    out[b, j] = h[b, j]
            elif zero_output_for_mask:
                out[b] = 0
        outputs[r0:r1, s] = out                           # batch-major: the user's array
    h_T[r0:r1], c_T[r0:r1] = h, c



@njit(**PARALLEL_JIT)
def _forward_loop(gates, bias, h0, c0, U, feature_major, mask, zero_output_for_mask, rdm,
                  activation, recurrent_activation, h_prev, c_prev, act_c, outputs, n):
    h_T, c_T = np.empty_like(h0), np.empty_like(c0)
    for k in prange(n):                                    # a block of sequences per thread
        r0, r1 = row_block(k, n, h0.shape[0])
        _forward_rows(r0, r1, gates, bias, h0, c0, U, feature_major, mask, zero_output_for_mask,
                      rdm, activation, recurrent_activation, h_prev, c_prev, act_c, outputs, h_T,
                      c_T)
    return h_T, c_T


@njit(**JIT)
def _backward_rows(r0, r1, douts, dh_T, dc_T, UT, feature_major, mask, zero_output_for_mask, rdm,
                   activation, recurrent_activation, c_prev, gates, act_c, dz, dh_0, dc_0):
    """The backward time loop for batch rows ``r0 … r1-1``; writes their rows of ``dz``."""
    T, _, G4 = gates.shape
    B, H = r1 - r0, G4 // 4
    dh, dc = dh_T[r0:r1].copy(), dc_T[r0:r1].copy()
    d_carry = np.zeros((B, H), douts.dtype)
    dh_new = np.empty((B, H), douts.dtype)
    scratch = product_scratch(douts, B, H, G4, feature_major)
    dh_cell, dact = np.empty(H, douts.dtype), np.empty(H, douts.dtype)
    for s in range(T - 1, -1, -1):
        for b in range(B):
            zb, dzb, ac = gates[s, r0 + b], dz[s, r0 + b], act_c[s, r0 + b]
            if not (mask is None or mask[s, r0 + b]):
                dzb[:] = 0
                if not zero_output_for_mask:
                    d_carry[b] += douts[r0 + b, s]     # flows to the output this step repeats
                continue
            for j in range(H):
                dh_cell[j] = dh[b, j] + douts[r0 + b, s, j] + d_carry[b, j]
                d_carry[b, j] = 0
                dact[j] = dh_cell[j] * zb[3 * H + j]          # d act(c) = dh o
            kact.backward(dact, ac, activation)               # -> through act(c)
            for j in range(H):
                dcj = dc[b, j] + dact[j]
                dzb[j] = dcj * zb[2 * H + j]                  # di = dc g
                dzb[H + j] = dcj * c_prev[s, r0 + b, j]       # df = dc c_{t-1}
                dzb[2 * H + j] = dcj * zb[j]                  # dg = dc i
                dzb[3 * H + j] = dh_cell[j] * ac[j]           # do = dh act(c)
                dc[b, j] = dcj * zb[H + j]                    # dc_{t-1} = dc f
            kact.backward(dzb[:2 * H], zb[:2 * H], recurrent_activation)
            kact.backward(dzb[2 * H:3 * H], zb[2 * H:3 * H], activation)
            kact.backward(dzb[3 * H:], zb[3 * H:], recurrent_activation)
        project_backward(dz[s, r0:r1], UT, rdm, r0, dh_new, feature_major, scratch)  # dz Uᵀ
        for b in range(B):
            if mask is None or mask[s, r0 + b]:
                dh[b] = dh_new[b]
    dh_0[r0:r1], dc_0[r0:r1] = dh, dc



@njit(**PARALLEL_JIT)
def _backward_loop(douts, dh_T, dc_T, UT, feature_major, mask, zero_output_for_mask, rdm,
                   activation, recurrent_activation, c_prev, gates, act_c, dz, n):
    dh_0, dc_0 = np.empty_like(dh_T), np.empty_like(dc_T)
    for k in prange(n):                                    # a block of sequences per thread
        r0, r1 = row_block(k, n, dh_T.shape[0])
        _backward_rows(r0, r1, douts, dh_T, dc_T, UT, feature_major, mask, zero_output_for_mask,
                       rdm, activation, recurrent_activation, c_prev, gates, act_c, dz, dh_0, dc_0)
    return dh_0, dc_0


def lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias=None, *, mask=None,
                 go_backwards=False, activation=act.TANH, recurrent_activation=act.SIGMOID,
                 zero_output_for_mask=False, dropout_mask=None, recurrent_dropout_mask=None,
                 workspace=None):
    """:func:`scratchrnn.ops.lstm.lstm_forward`, its time loop compiled; ``workspace``
    (:class:`~scratchrnn.kernels.common.Workspace`) holds the buffers between calls."""
    with work_split(x.shape[0], recurrent_kernel) as split:
        ws = workspace or Workspace()
        xs, ms, gates = sequence_inputs(x, mask, go_backwards, kernel, dropout_mask, ws,
                                        split.threads, "gates")          # gates = x @ kernel
        T, B, _ = xs.shape
        H = h0.shape[1]
        U, fm = recurrent_operand(recurrent_kernel, N_GATES, recurrent_dropout_mask)
        h_prev = ws.get("h_prev", (T, B, H), xs.dtype)
        c_prev = ws.get("c_prev", (T, B, H), xs.dtype)
        act_c = ws.get("act_c", (T, B, H), xs.dtype)
        outputs = np.empty((B, T, H), xs.dtype)        # handed to the user, never reused
        h, c = _forward_loop(gates, loop_bias(bias, gates), h0, c0, U, fm, ms,
                             zero_output_for_mask, recurrent_dropout_mask, activation,
                             recurrent_activation, h_prev, c_prev, act_c, outputs, split.blocks)
        cache = LSTMCache(x=xs, h_prev=h_prev, c_prev=c_prev, gates=gates, act_c=act_c, mask=ms,
                          dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
                          use_bias=bias is not None, go_backwards=go_backwards,
                          zero_output_for_mask=zero_output_for_mask, activation=activation,
                          recurrent_activation=recurrent_activation)
        return (outputs, h, c), cache


def lstm_backward(d_outputs, dh_T, dc_T, cache, kernel, recurrent_kernel, *, workspace=None):
    """:func:`scratchrnn.ops.lstm.lstm_backward`, its time loop compiled."""
    with work_split(dh_T.shape[0], recurrent_kernel, backward=True) as split:
        ws = workspace or Workspace()
        douts = np.ascontiguousarray(d_outputs)                   # (B, T, H), read in place
        UT, fm = recurrent_operand(recurrent_kernel, N_GATES, cache.recurrent_dropout_mask,
                                   backward=True)
        dz = ws.get("dz", cache.gates.shape, cache.gates.dtype)
        dh, dc = _backward_loop(douts, dh_T, dc_T, UT, fm, cache.mask, cache.zero_output_for_mask,
                                cache.recurrent_dropout_mask, cache.activation,
                                cache.recurrent_activation, cache.c_prev, cache.gates,
                                cache.act_c, dz, split.blocks)
        dxs, dkernel, dbias = input_projection_backward(dz, cache.x, kernel,
                                                        cache.dropout_mask, split.threads)
        drecurrent_kernel = recurrent_kernel_gradient(cache.h_prev, dz,
                                                      cache.recurrent_dropout_mask, split.threads)
        return (batch_major(dxs, cache.go_backwards), dh, dc, dkernel, drecurrent_kernel,
                dbias if cache.use_bias else None)
