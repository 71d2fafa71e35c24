"""The LSTM's time loops compiled with Numba; the same maths as :mod:`scratchrnn.ops.lstm`.

What changes, and why:

* the elementwise work of a step is fused into row loops over the batch, writing into
  buffers allocated once per sequence (NumPy allocates a temporary per operation);
* the activations are vectorisable (:mod:`scratchrnn.kernels.activations`; float32 uses
  a rational tanh, float64 the exact functions);
* the recurrent GEMM is ``np.dot`` inside the loop: no Python per step; from H = 128
  (64 with AVX2) it runs feature-major, ``zᵀ = Uᵀ hᵀ``, which OpenBLAS computes faster
  (:func:`~scratchrnn.kernels.common.feature_major`);
* the batch is split into blocks of rows, one per thread, and each thread runs the whole
  time loop for its rows (``_forward_loop`` and ``_backward_loop``, a ``prange`` over
  ``_forward_rows``/``_backward_rows``) with a one-thread BLAS; the GEMMs over all T·B
  rows split their rows likewise (see :mod:`scratchrnn.kernels.common`);
* or, where the cost model says so (many threads, few rows each, a kernel too large for
  each core's cache: :mod:`scratchrnn.kernels.policy`), the hidden units are split
  instead, each thread keeping its columns of ``U`` for the whole sequence and the
  threads meeting once per step (``_forward_loop_by_units``,
  ``_backward_loop_by_units``);
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
    transpose_into,
    units_operand,
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


@njit(**PARALLEL_JIT)
def _forward_loop_by_units(gates, bias, h0, c0, UTp, mask, zero_output_for_mask,
                      activation, recurrent_activation, h_prev, c_prev, act_c, outputs, P):
    """The forward time loop split by hidden units (:mod:`scratchrnn.kernels.policy`):
    slice ``j`` of ``P`` owns units ``[a, e)``, its rows ``[4a, 4e)`` of ``UTp``
    (:func:`~scratchrnn.kernels.common.units_operand`), and their columns of ``h``,
    ``c``, the cache and ``outputs``.  Each step every slice computes its gates' ``zᵀ``
    from the whole of ``hᵀ`` (the previous step's, double-buffered: the slices read one
    while they write the other) and finishes its units; the ``prange`` over the slices
    is the step's one meeting.  The same arithmetic as :func:`_forward_rows`, in the
    same order, per unit."""
    T, B, G4 = gates.shape
    H = G4 // 4
    nmax = (H + P - 1) // P + 1                        # the widest slice
    h, c = h0.copy(), c0.copy()
    out = np.zeros((B, H), gates.dtype)
    hT = np.empty((2, H, B), gates.dtype)
    transpose_into(h0, hT[0])
    zT = np.empty((G4, B), gates.dtype)
    z_loc = np.empty((P, B * 4 * nmax), gates.dtype)
    h_loc = np.empty((P, B * nmax), gates.dtype)
    c_new = np.empty((P, nmax), gates.dtype)
    for s in range(T):
        cur, nxt = s % 2, (s + 1) % 2
        for j in prange(P):
            a, e = row_block(j, P, H)
            n = e - a
            rows = zT[4 * a:4 * e]
            np.dot(UTp[4 * a:4 * e], hT[cur], rows)                # zᵀ = Uᵀ hᵀ, this slice's rows
            zl = z_loc[j, :B * 4 * n].reshape(B, 4 * n)
            transpose_into(rows, zl)
            hl = h_loc[j, :B * n].reshape(B, n)
            cn = c_new[j, :n]
            for b in range(B):
                zb = zl[b]
                row = gates[s, b]
                for g in range(4):
                    zg = zb[g * n:(g + 1) * n]
                    rg = row[g * H + a:g * H + e]
                    bg = bias[g * H + a:g * H + e]
                    for k in range(n):
                        zg[k] = (rg[k] + bg[k]) + zg[k]
                kact.forward(zb[:2 * n], recurrent_activation)
                kact.forward(zb[2 * n:3 * n], activation)
                kact.forward(zb[3 * n:4 * n], recurrent_activation)
                for g in range(4):
                    row[g * H + a:g * H + e] = zb[g * n:(g + 1) * n]
                hb, cb = h[b, a:e], c[b, a:e]
                h_prev[s, b, a:e] = hb
                c_prev[s, b, a:e] = cb
                for k in range(n):
                    cn[k] = zb[n + k] * cb[k] + zb[k] * zb[2 * n + k]
                ac = act_c[s, b, a:e]
                ac[:] = cn
                kact.forward(ac, activation)
                ob = out[b, a:e]
                if mask is None or mask[s, b]:
                    for k in range(n):
                        cb[k] = cn[k]
                        hb[k] = zb[3 * n + k] * ac[k]
                        ob[k] = hb[k]
                elif zero_output_for_mask:
                    ob[:] = 0
                hl[b] = hb
                outputs[b, s, a:e] = ob
            transpose_into(hl, hT[nxt, a:e])
    return h, c


@njit(**PARALLEL_JIT)
def _backward_loop_by_units(douts, dh_T, dc_T, Up, mask, zero_output_for_mask, activation,
                       recurrent_activation, c_prev, gates, act_c, dz, P):
    """The backward time loop split by hidden units, as :func:`_forward_loop_by_units`:
    ``Up`` is ``U`` with its columns in the slices' order, so slice ``j``'s units'
    ``dhᵀ = U dzᵀ`` is its rows ``[a, e)`` times the whole ``dzᵀ``.  Iteration ``s``
    first takes ``dh_s`` for its units from step ``s + 1``'s ``dzᵀ`` (every slice's:
    the meeting), then computes its units' ``dz_s`` (its own columns of ``dh``, ``dc``
    and the cache only); ``dzᵀ`` is double-buffered like the forward's ``hᵀ``.  The
    last iteration (``s = -1``) only takes ``dh_0``.  Writes ``dz`` (T, B, 4H) in the
    cache's column order for the weight gradients."""
    T, B, G4 = gates.shape
    H = G4 // 4
    nmax = (H + P - 1) // P + 1
    dh, dc = dh_T.copy(), dc_T.copy()
    d_carry = np.zeros((B, H), douts.dtype)
    dzT = np.empty((2, G4, B), douts.dtype)
    dz_loc = np.empty((P, B * 4 * nmax), douts.dtype)
    dh_loc = np.empty((P, B * nmax), douts.dtype)
    dhT_loc = np.empty((P, B * nmax), douts.dtype)
    zs = np.empty((P, 4 * nmax), douts.dtype)
    for s in range(T - 1, -2, -1):
        cur, nxt = s % 2, (s + 1) % 2
        for j in prange(P):
            a, e = row_block(j, P, H)
            n = e - a
            if s + 1 < T:          # dh_s = dz_{s+1} Uᵀ, this slice's units
                dhT = dhT_loc[j, :n * B].reshape(n, B)
                np.dot(Up[a:e], dzT[nxt], dhT)
                dhl = dh_loc[j, :B * n].reshape(B, n)
                transpose_into(dhT, dhl)
                for b in range(B):
                    if mask is None or mask[s + 1, b]:
                        dh[b, a:e] = dhl[b]
            if s >= 0:
                dzl = dz_loc[j, :B * 4 * n].reshape(B, 4 * n)
                zb = zs[j, :4 * n]
                for b in range(B):
                    dzb = dzl[b]
                    row = dz[s, b]
                    if not (mask is None or mask[s, b]):
                        dzb[:] = 0
                        for g in range(4):
                            row[g * H + a:g * H + e] = 0
                        if not zero_output_for_mask:
                            d_carry[b, a:e] += douts[b, s, a:e]
                        continue
                    gr = gates[s, b]
                    for g in range(4):
                        zb[g * n:(g + 1) * n] = gr[g * H + a:g * H + e]
                    ac = act_c[s, b, a:e]
                    cp = c_prev[s, b, a:e]
                    dhb, dcb, dcar, dob = dh[b, a:e], dc[b, a:e], d_carry[b, a:e], douts[b, s, a:e]
                    dh_cell = dzb[3 * n:]            # scratch before do is written
                    dact = dzb[2 * n:3 * n]
                    for k in range(n):
                        dh_cell[k] = dhb[k] + dob[k] + dcar[k]
                        dcar[k] = 0
                        dact[k] = dh_cell[k] * zb[3 * n + k]
                    kact.backward(dact, ac, activation)
                    for k in range(n):
                        dcj = dcb[k] + dact[k]
                        dhc = dh_cell[k]
                        dzb[k] = dcj * zb[2 * n + k]
                        dzb[n + k] = dcj * cp[k]
                        dzb[2 * n + k] = dcj * zb[k]
                        dzb[3 * n + k] = dhc * ac[k]
                        dcb[k] = dcj * zb[n + k]
                    kact.backward(dzb[:2 * n], zb[:2 * n], recurrent_activation)
                    kact.backward(dzb[2 * n:3 * n], zb[2 * n:3 * n], activation)
                    kact.backward(dzb[3 * n:], zb[3 * n:], recurrent_activation)
                    for g in range(4):
                        row[g * H + a:g * H + e] = dzb[g * n:(g + 1) * n]
                transpose_into(dzl, dzT[cur, 4 * a:4 * e])
    return dh, dc


def lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias=None, *, mask=None,
                 go_backwards=False, activation=act.TANH, recurrent_activation=act.SIGMOID,
                 zero_output_for_mask=False, dropout_mask=None, recurrent_dropout_mask=None,
                 workspace=None):
    """:func:`scratchrnn.ops.lstm.lstm_forward`, its time loop compiled; ``workspace``
    (:class:`~scratchrnn.kernels.common.Workspace`) holds the buffers between calls."""
    with work_split(x.shape[0], recurrent_kernel, gates=N_GATES,
                    has_units_split=recurrent_dropout_mask is None) as split:
        ws = workspace or Workspace()
        xs, ms, gates = sequence_inputs(x, mask, go_backwards, kernel, dropout_mask, ws,
                                        split.threads, "gates")          # gates = x @ kernel
        T, B, _ = xs.shape
        H = h0.shape[1]
        h_prev = ws.get("h_prev", (T, B, H), xs.dtype)
        c_prev = ws.get("c_prev", (T, B, H), xs.dtype)
        act_c = ws.get("act_c", (T, B, H), xs.dtype)
        outputs = np.empty((B, T, H), xs.dtype)        # handed to the user, never reused
        bias_ = loop_bias(bias, gates)
        if split.path == "units":
            UTp = units_operand(recurrent_kernel, N_GATES, split.blocks)
            h, c = _forward_loop_by_units(gates, bias_, h0, c0, UTp, ms, zero_output_for_mask,
                                          activation, recurrent_activation, h_prev, c_prev,
                                          act_c, outputs, split.blocks)
        else:
            U, fm = recurrent_operand(recurrent_kernel, N_GATES, recurrent_dropout_mask)
            h, c = _forward_loop(gates, bias_, h0, c0, U, fm, ms, zero_output_for_mask,
                                 recurrent_dropout_mask, activation, recurrent_activation,
                                 h_prev, c_prev, act_c, outputs, split.blocks)
        cache = LSTMCache(x=xs, h_prev=h_prev, c_prev=c_prev, gates=gates, act_c=act_c, mask=ms,
                          dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
                          use_bias=bias is not None, go_backwards=go_backwards,
                          zero_output_for_mask=zero_output_for_mask, activation=activation,
                          recurrent_activation=recurrent_activation)
        return (outputs, h, c), cache


def lstm_backward(d_outputs, dh_T, dc_T, cache, kernel, recurrent_kernel, *, workspace=None):
    """:func:`scratchrnn.ops.lstm.lstm_backward`, its time loop compiled."""
    rdm = cache.recurrent_dropout_mask
    with work_split(dh_T.shape[0], recurrent_kernel, gates=N_GATES, backward=True,
                    has_units_split=rdm is None) as split:
        ws = workspace or Workspace()
        douts = np.ascontiguousarray(d_outputs)                   # (B, T, H), read in place
        dz = ws.get("dz", cache.gates.shape, cache.gates.dtype)
        if split.path == "units":
            Up = units_operand(recurrent_kernel, N_GATES, split.blocks, backward=True)
            dh, dc = _backward_loop_by_units(douts, dh_T, dc_T, Up, cache.mask,
                                             cache.zero_output_for_mask, cache.activation,
                                             cache.recurrent_activation, cache.c_prev,
                                             cache.gates, cache.act_c, dz, split.blocks)
        else:
            UT, fm = recurrent_operand(recurrent_kernel, N_GATES, rdm, backward=True)
            dh, dc = _backward_loop(douts, dh_T, dc_T, UT, fm, cache.mask,
                                    cache.zero_output_for_mask, rdm, cache.activation,
                                    cache.recurrent_activation, cache.c_prev, cache.gates,
                                    cache.act_c, dz, split.blocks)
        dxs, dkernel, dbias = input_projection_backward(dz, cache.x, kernel,
                                                        cache.dropout_mask, split.threads)
        drecurrent_kernel = recurrent_kernel_gradient(cache.h_prev, dz,
                                                      cache.recurrent_dropout_mask, split.threads)
        return (batch_major(dxs, cache.go_backwards), dh, dc, dkernel, drecurrent_kernel,
                dbias if cache.use_bias else None)
