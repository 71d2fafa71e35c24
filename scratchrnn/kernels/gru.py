"""The GRU's time loops compiled with Numba; the same maths as :mod:`scratchrnn.ops.gru`.

What changes is what :mod:`scratchrnn.kernels.lstm` changes: fused row loops into
buffers allocated once per sequence, vectorisable activations, ``np.dot`` into
preallocated outputs.  Two shapes of recurrent product, one per Keras convention:

* ``reset_after=True``: one product ``zh = h @ U`` for all three gates per step, then
  ``ĥ = act(zx_h + r ⊙ (zh_h + b_rec_h))``;
* ``reset_after=False``: ``h @ U_zr`` for the gates, then ``(r ⊙ h) @ U_h`` once ``r``
  is known — and in backward, ``d(r ⊙ h) = da_h @ U_hᵀ`` between two row passes.

The cache is :class:`~scratchrnn.ops.gru.GRUCache`, shared with the NumPy backend.
"""

import numpy as np
from numba import njit, prange

from ..ops import activations as act
from ..ops.common import batch_major
from ..ops.gru import N_GATES, GRUCache, split_recurrent_mask
from . import activations as kact
from .common import (
    JIT,
    PARALLEL_JIT,
    Workspace,
    column_sums,
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


def _recurrent_operands(recurrent_kernel, rdm, reset_after, backward=False):
    """``(U_rec, feature_major, rec_mask, h_mask, U_h)``: what the loops multiply by.

    ``U_rec`` is every gate's block when reset_after, else the z and r blocks only, in
    the form :func:`~.common.recurrent_operand` gives; ``U_h`` is the candidate's block,
    used apart when not reset_after (its transpose in the backward).
    """
    H = recurrent_kernel.shape[0]
    zr_mask, h_mask = split_recurrent_mask(rdm)
    if reset_after:
        U_rec, fm = recurrent_operand(recurrent_kernel, N_GATES, rdm, backward)
        rec_mask, h_mask = rdm, None
    else:
        U_rec, fm = recurrent_operand(recurrent_kernel[:, :2 * H], 2, zr_mask, backward)
        rec_mask = zr_mask
    U_h = recurrent_kernel[:, 2 * H:]
    return U_rec, fm, rec_mask, h_mask, np.ascontiguousarray(U_h.T if backward else U_h)


@njit(**JIT)
def _forward_rows(r0, r1, gates, input_bias, h0, U_rec, feature_major, U_h, recurrent_bias,
                  mask, zero_output_for_mask, rec_mask, h_mask, reset_after, activation,
                  recurrent_activation, h_prev, u, outputs, h_T):
    """The forward time loop for batch rows ``r0 … r1-1``; writes their rows of the cache
    and of ``outputs`` (B, T, H), the array the user gets.
    ``gates`` holds ``x @ kernel`` on entry and the activated gates on return."""
    T, _, G3 = gates.shape
    B, H = r1 - r0, G3 // 3
    h = h0[r0:r1].copy()
    out = np.zeros((B, H), gates.dtype)
    n_rec = U_rec.shape[0] * (U_rec.shape[1] if feature_major else U_rec.shape[2])
    zh = np.empty((B, n_rec), gates.dtype)                          # (B, 3H) or (B, 2H)
    scratch = product_scratch(gates, B, H, n_rec, feature_major)
    h_in, uh = np.empty((B, H), gates.dtype), np.empty((B, H), gates.dtype)
    one = gates.dtype.type(1)
    for s in range(T):
        h_prev[s, r0:r1] = h
        project(h, U_rec, rec_mask, r0, zh, feature_major, scratch)  # h @ U (per gate)
        for b in range(B):
            gb, ub = gates[s, r0 + b], u[s, r0 + b]                 # gb: x @ W on entry
            for k in range(2 * H):
                gb[k] = (gb[k] + input_bias[k]) + zh[b, k]
                if recurrent_bias is not None:
                    gb[k] += recurrent_bias[k]
            kact.forward(gb[:2 * H], recurrent_activation)           # z, r
            if reset_after:
                for j in range(H):
                    ub[j] = zh[b, 2 * H + j]                          # u = h @ U_h + b_rec_h
                    if recurrent_bias is not None:
                        ub[j] += recurrent_bias[2 * H + j]
                    gb[2 * H + j] = (gb[2 * H + j] + input_bias[2 * H + j]) + gb[H + j] * ub[j]
        if not reset_after:
            if h_mask is None:
                h_in[:] = h
            else:
                np.multiply(h, h_mask[r0:r1], h_in)
            us = u[s, r0:r1]
            for b in range(B):
                for j in range(H):
                    us[b, j] = gates[s, r0 + b, H + j] * h_in[b, j]     # u = r ⊙ h
            np.dot(us, U_h, uh)
            for b in range(B):
                for j in range(H):
                    gates[s, r0 + b, 2 * H + j] = (gates[s, r0 + b, 2 * H + j]
                                                   + input_bias[2 * H + j]) + uh[b, j]
        for b in range(B):
            gb = gates[s, r0 + b]
            kact.forward(gb[2 * H:], activation)                     # ĥ
            if mask is None or mask[s, r0 + b]:
                for j in range(H):
                    h[b, j] = gb[j] * h[b, j] + (one - gb[j]) * gb[2 * H + j]
                    out[b, j] = h[b, j]
            elif zero_output_for_mask:
                out[b] = 0
        outputs[r0:r1, s] = out                           # batch-major: the user's array
    h_T[r0:r1] = h



@njit(**PARALLEL_JIT)
def _forward_loop(gates, input_bias, h0, U_rec, feature_major, U_h, recurrent_bias, mask,
                  zero_output_for_mask, rec_mask, h_mask, reset_after, activation,
                  recurrent_activation, h_prev, u, outputs, n):
    h_T = np.empty_like(h0)
    for k in prange(n):                                    # a block of sequences per thread
        r0, r1 = row_block(k, n, h0.shape[0])
        _forward_rows(r0, r1, gates, input_bias, h0, U_rec, feature_major, U_h, recurrent_bias,
                      mask, zero_output_for_mask, rec_mask, h_mask, reset_after, activation,
                      recurrent_activation, h_prev, u, outputs, h_T)
    return h_T


@njit(**JIT)
def _backward_rows(r0, r1, douts, dh_T, U_recT, feature_major, U_hT, mask, zero_output_for_mask,
                   rec_mask, h_mask, reset_after, activation, recurrent_activation, h_prev, gates,
                   u, dzx, dzh, dh_0):
    """The backward time loop for batch rows ``r0 … r1-1``; writes their rows of ``dzx``
    and ``dzh``."""
    T, _, G3 = gates.shape
    B, H = r1 - r0, G3 // 3
    n_rec = U_recT.shape[0] * (U_recT.shape[2] if feature_major else U_recT.shape[1])  # 3H, 2H
    dh = dh_T[r0:r1].copy()
    d_carry = np.zeros((B, H), douts.dtype)
    dh_direct, dh_new = np.empty((B, H), douts.dtype), np.empty((B, H), douts.dtype)
    da_h, du = np.zeros((B, H), douts.dtype), np.empty((B, H), douts.dtype)
    drec = np.zeros((B, n_rec), douts.dtype)                        # d of h @ U_rec
    scratch = product_scratch(douts, B, H, n_rec, feature_major)
    one = douts.dtype.type(1)
    for s in range(T - 1, -1, -1):
        # pass 1: through h_t = z h_{t-1} + (1 - z) ĥ and the candidate's activation
        for b in range(B):
            gb, dxb, hpb = gates[s, r0 + b], dzx[s, r0 + b], h_prev[s, r0 + b]
            if not (mask is None or mask[s, r0 + b]):
                dxb[:] = 0
                da_h[b] = 0
                if not zero_output_for_mask:
                    d_carry[b] += douts[r0 + b, s]     # flows to the output this step repeats
                continue
            for j in range(H):
                d = dh[b, j] + douts[r0 + b, s, j] + d_carry[b, j]
                d_carry[b, j] = 0
                dh_direct[b, j] = d * gb[j]                                # dh_{t-1} = dh z
                dxb[j] = d * (hpb[j] - gb[2 * H + j])                      # dz
                dxb[2 * H + j] = d * (one - gb[j])                         # dĥ
            kact.backward(dxb[2 * H:], gb[2 * H:], activation)            # da_h
            da_h[b] = dxb[2 * H:]
        if not reset_after:
            np.dot(da_h, U_hT, du)                                         # d(r ⊙ h) = da_h U_hᵀ
        # pass 2: through the reset gate, then the gates' activations
        for b in range(B):
            if not (mask is None or mask[s, r0 + b]):
                drec[b] = 0
                if reset_after:
                    dzh[s, r0 + b] = 0
                continue
            gb, dxb, hpb = gates[s, r0 + b], dzx[s, r0 + b], h_prev[s, r0 + b]
            for j in range(H):
                if reset_after:
                    dxb[H + j] = da_h[b, j] * u[s, r0 + b, j]              # dr = da_h u
                    drec[b, 2 * H + j] = da_h[b, j] * gb[H + j]            # du = da_h r
                else:
                    h_in = hpb[j] if h_mask is None else hpb[j] * h_mask[r0 + b, j]
                    dxb[H + j] = du[b, j] * h_in                           # dr = d(r⊙h) h
                    d_in = du[b, j] * gb[H + j]                            # dh = d(r⊙h) r
                    dh_direct[b, j] += d_in if h_mask is None else d_in * h_mask[r0 + b, j]
            kact.backward(dxb[:2 * H], gb[:2 * H], recurrent_activation)  # da_z, da_r
            drec[b, :2 * H] = dxb[:2 * H]
            if reset_after:
                dzh[s, r0 + b] = drec[b]
        project_backward(drec, U_recT, rec_mask, r0, dh_new, feature_major, scratch)
        for b in range(B):
            if mask is None or mask[s, r0 + b]:
                dh[b] = dh_new[b] + dh_direct[b]
    dh_0[r0:r1] = dh



@njit(**PARALLEL_JIT)
def _backward_loop(douts, dh_T, U_recT, feature_major, U_hT, mask, zero_output_for_mask, rec_mask,
                   h_mask, reset_after, activation, recurrent_activation, h_prev, gates, u, dzx,
                   dzh, n):
    dh_0 = np.empty_like(dh_T)
    for k in prange(n):                                    # a block of sequences per thread
        r0, r1 = row_block(k, n, dh_T.shape[0])
        _backward_rows(r0, r1, douts, dh_T, U_recT, feature_major, U_hT, mask, zero_output_for_mask,
                       rec_mask, h_mask, reset_after, activation, recurrent_activation,
                       h_prev, gates, u, dzx, dzh, dh_0)
    return dh_0


def gru_forward(x, h0, kernel, recurrent_kernel, bias=None, *, mask=None, go_backwards=False,
                activation=act.TANH, recurrent_activation=act.SIGMOID, reset_after=True,
                zero_output_for_mask=False, dropout_mask=None, recurrent_dropout_mask=None,
                workspace=None):
    """:func:`scratchrnn.ops.gru.gru_forward`, its time loop compiled; ``workspace``
    (:class:`~scratchrnn.kernels.common.Workspace`) holds the buffers between calls."""
    with work_split(x.shape[0], recurrent_kernel, gates=N_GATES) as split:
        ws = workspace or Workspace()
        input_bias, recurrent_bias = (bias[0], bias[1]) if (bias is not None and reset_after) \
            else (bias, None)
        xs, ms, gates = sequence_inputs(x, mask, go_backwards, kernel, dropout_mask, ws,
                                        split.threads, "gates")          # gates = x @ kernel
        T, B, _ = xs.shape
        H = h0.shape[1]
        U_rec, fm, rec_mask, h_mask, U_h = _recurrent_operands(
            recurrent_kernel, recurrent_dropout_mask, reset_after)
        h_prev = ws.get("h_prev", (T, B, H), xs.dtype)
        u = ws.get("u", (T, B, H), xs.dtype)
        outputs = np.empty((B, T, H), xs.dtype)        # handed to the user, never reused
        h = _forward_loop(gates, loop_bias(input_bias, gates), h0, U_rec, fm, U_h,
                          None if recurrent_bias is None else np.ascontiguousarray(recurrent_bias),
                          ms, zero_output_for_mask, rec_mask, h_mask, reset_after, activation,
                          recurrent_activation, h_prev, u, outputs, split.blocks)
        cache = GRUCache(x=xs, h_prev=h_prev, gates=gates, u=u, mask=ms, dropout_mask=dropout_mask,
                         recurrent_dropout_mask=recurrent_dropout_mask, use_bias=bias is not None,
                         reset_after=reset_after, go_backwards=go_backwards,
                         zero_output_for_mask=zero_output_for_mask, activation=activation,
                         recurrent_activation=recurrent_activation)
        return (outputs, h), cache


def gru_backward(d_outputs, dh_T, cache, kernel, recurrent_kernel, *, workspace=None):
    """:func:`scratchrnn.ops.gru.gru_backward`, its time loop compiled."""
    with work_split(dh_T.shape[0], recurrent_kernel, gates=N_GATES, backward=True) as split:
        ws = workspace or Workspace()
        douts = np.ascontiguousarray(d_outputs)                   # (B, T, H), read in place
        H = dh_T.shape[1]
        rdm = cache.recurrent_dropout_mask
        U_recT, fm, rec_mask, h_mask, U_hT = _recurrent_operands(
            recurrent_kernel, rdm, cache.reset_after, backward=True)
        dzx = ws.get("dzx", cache.gates.shape, cache.gates.dtype)
        dzh = ws.get("dzh", cache.gates.shape, cache.gates.dtype) if cache.reset_after else dzx
        dh = _backward_loop(douts, dh_T, U_recT, fm, U_hT, cache.mask, cache.zero_output_for_mask,
                            rec_mask, h_mask, cache.reset_after, cache.activation,
                            cache.recurrent_activation, cache.h_prev, cache.gates, cache.u,
                            dzx, dzh, split.blocks)
        dxs, dkernel, dbias_in = input_projection_backward(dzx, cache.x, kernel,
                                                           cache.dropout_mask, split.threads)
        if cache.reset_after:
            drecurrent_kernel = recurrent_kernel_gradient(cache.h_prev, dzh, rdm, split.threads)
            dbias = None if not cache.use_bias else np.stack(
                [dbias_in, column_sums(dzh.reshape(-1, N_GATES * H))])
        else:
            zr_mask, _ = split_recurrent_mask(rdm)
            drecurrent_kernel = np.concatenate([
                recurrent_kernel_gradient(cache.h_prev, dzx[:, :, :2 * H], zr_mask, split.threads),
                recurrent_kernel_gradient(cache.u, np.ascontiguousarray(dzx[:, :, 2 * H:]), None,
                                          split.threads),
            ], axis=1)                                                  # Σ (r ⊙ h)ᵀ da_h
            dbias = dbias_in if cache.use_bias else None
        return batch_major(dxs, cache.go_backwards), dh, dkernel, drecurrent_kernel, dbias
