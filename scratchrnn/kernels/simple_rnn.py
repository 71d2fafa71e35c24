"""The SimpleRNN's time loops compiled with Numba; the same maths as
:mod:`scratchrnn.ops.simple_rnn`, the cache shared with it.  See
:mod:`scratchrnn.kernels.lstm` for what the compiled loops change and why."""

import numpy as np
from numba import njit, prange

from ..ops import activations as act
from ..ops.common import batch_major
from ..ops.simple_rnn import SimpleRNNCache
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
def _forward_rows(r0, r1, hs, bias, h0, U, feature_major, mask, zero_output_for_mask, rdm,
                  activation, h_prev, outputs, h_T):
    """The forward time loop for batch rows ``r0 … r1-1``; writes their rows of the cache
    and of ``outputs`` (B, T, H), the array the user gets.
    ``hs`` holds ``x @ kernel`` on entry and the activations on return."""
    T, _, H = hs.shape
    B = r1 - r0
    h = h0[r0:r1].copy()
    out = np.zeros((B, H), hs.dtype)
    zh = np.empty((B, H), hs.dtype)
    scratch = product_scratch(hs, B, H, H, feature_major)
    for s in range(T):
        h_prev[s, r0:r1] = h
        project(h, U, rdm, r0, zh, feature_major, scratch)  # zh = h @ U
        for b in range(B):
            ab = hs[s, r0 + b]                               # activated in place
            for k in range(H):
                ab[k] = (ab[k] + bias[k]) + zh[b, k]         # a = x @ W + bias + h @ U
            kact.forward(ab, activation)
            if mask is None or mask[s, r0 + b]:
                h[b] = ab
                out[b] = ab
            elif zero_output_for_mask:
                out[b] = 0
        outputs[r0:r1, s] = out                           # batch-major: the user's array
    h_T[r0:r1] = h



@njit(**PARALLEL_JIT)
def _forward_loop(hs, bias, h0, U, feature_major, mask, zero_output_for_mask, rdm, activation,
                  h_prev, outputs, n):
    h_T = np.empty_like(h0)
    for k in prange(n):                                    # a block of sequences per thread
        r0, r1 = row_block(k, n, h0.shape[0])
        _forward_rows(r0, r1, hs, bias, h0, U, feature_major, mask, zero_output_for_mask, rdm,
                      activation, h_prev, outputs, h_T)
    return h_T


@njit(**JIT)
def _backward_rows(r0, r1, douts, dh_T, UT, feature_major, mask, zero_output_for_mask, rdm,
                   activation, hs, da, dh_0):
    """The backward time loop for batch rows ``r0 … r1-1``; writes their rows of ``da``."""
    T, _, H = hs.shape
    B = r1 - r0
    dh = dh_T[r0:r1].copy()
    d_carry = np.zeros((B, H), douts.dtype)
    dh_new = np.empty((B, H), douts.dtype)
    scratch = product_scratch(douts, B, H, H, feature_major)
    for s in range(T - 1, -1, -1):
        for b in range(B):
            dab = da[s, r0 + b]
            if not (mask is None or mask[s, r0 + b]):
                dab[:] = 0
                if not zero_output_for_mask:
                    d_carry[b] += douts[r0 + b, s]     # flows to the output this step repeats
                continue
            for j in range(H):
                dab[j] = dh[b, j] + douts[r0 + b, s, j] + d_carry[b, j]
                d_carry[b, j] = 0
            kact.backward(dab, hs[s, r0 + b], activation)       # through act
        project_backward(da[s, r0:r1], UT, rdm, r0, dh_new, feature_major, scratch)  # da Uᵀ
        for b in range(B):
            if mask is None or mask[s, r0 + b]:
                dh[b] = dh_new[b]
    dh_0[r0:r1] = dh



@njit(**PARALLEL_JIT)
def _backward_loop(douts, dh_T, UT, feature_major, mask, zero_output_for_mask, rdm, activation, hs,
                   da, n):
    dh_0 = np.empty_like(dh_T)
    for k in prange(n):                                    # a block of sequences per thread
        r0, r1 = row_block(k, n, dh_T.shape[0])
        _backward_rows(r0, r1, douts, dh_T, UT, feature_major, mask, zero_output_for_mask, rdm,
                       activation, hs, da, dh_0)
    return dh_0


def simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias=None, *, mask=None,
                       go_backwards=False, activation=act.TANH, zero_output_for_mask=False,
                       dropout_mask=None, recurrent_dropout_mask=None, workspace=None):
    """:func:`scratchrnn.ops.simple_rnn.simple_rnn_forward`, its time loop compiled;
    ``workspace`` (:class:`~scratchrnn.kernels.common.Workspace`) holds the buffers."""
    with work_split(x.shape[0], recurrent_kernel, gates=1) as split:
        ws = workspace or Workspace()
        xs, ms, hs = sequence_inputs(x, mask, go_backwards, kernel, dropout_mask, ws,
                                     split.threads, "h")                 # hs = x @ kernel
        T, B, _ = xs.shape
        H = h0.shape[1]
        U, fm = recurrent_operand(recurrent_kernel, 1, recurrent_dropout_mask)
        h_prev = ws.get("h_prev", (T, B, H), xs.dtype)
        outputs = np.empty((B, T, H), xs.dtype)        # handed to the user, never reused
        h = _forward_loop(hs, loop_bias(bias, hs), h0, U, fm, ms, zero_output_for_mask,
                          recurrent_dropout_mask, activation, h_prev, outputs, split.blocks)
        cache = SimpleRNNCache(x=xs, h_prev=h_prev, h=hs, mask=ms, dropout_mask=dropout_mask,
                               recurrent_dropout_mask=recurrent_dropout_mask,
                               use_bias=bias is not None, go_backwards=go_backwards,
                               zero_output_for_mask=zero_output_for_mask, activation=activation)
        return (outputs, h), cache


def simple_rnn_backward(d_outputs, dh_T, cache, kernel, recurrent_kernel, *, workspace=None):
    """:func:`scratchrnn.ops.simple_rnn.simple_rnn_backward`, its time loop compiled."""
    with work_split(dh_T.shape[0], recurrent_kernel, gates=1, backward=True) as split:
        ws = workspace or Workspace()
        douts = np.ascontiguousarray(d_outputs)                   # (B, T, H), read in place
        UT, fm = recurrent_operand(recurrent_kernel, 1, cache.recurrent_dropout_mask,
                                   backward=True)
        da = ws.get("da", cache.h.shape, cache.h.dtype)
        dh = _backward_loop(douts, dh_T, UT, fm, cache.mask, cache.zero_output_for_mask,
                            cache.recurrent_dropout_mask, cache.activation, cache.h, da,
                            split.blocks)
        dxs, dkernel, dbias = input_projection_backward(da, cache.x, kernel,
                                                        cache.dropout_mask, split.threads)
        drecurrent_kernel = recurrent_kernel_gradient(cache.h_prev, da,
                                                      cache.recurrent_dropout_mask, split.threads)
        return (batch_major(dxs, cache.go_backwards), dh, dkernel, drecurrent_kernel,
                dbias if cache.use_bias else None)
