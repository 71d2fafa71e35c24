"""Gated recurrent unit: forward and backward through time, as Keras computes it.

Equations of one step (Cho et al. 2014), gates in Keras's column order ``z r h``.
``σ`` is ``recurrent_activation`` (sigmoid), ``act`` is ``activation`` (tanh)::

    zx  = x_t @ kernel + b_in                        (B, 3H)  input projection
    zh  = h_{t-1} @ recurrent_kernel + b_rec          (B, 3H)  (reset_after=True)
    z   = σ(zx_z + zh_z)                              update gate
    r   = σ(zx_r + zh_r)                              reset gate
    ĥ   = act(zx_h + r ⊙ zh_h)                        candidate, reset *after* the product
    h_t = z ⊙ h_{t-1} + (1 - z) ⊙ ĥ

``reset_after=True`` (Keras's default, cuDNN's form) has two bias rows,
``bias = [b_in; b_rec]`` of shape (2, 3H).  ``reset_after=False`` (the paper's form)
has one bias row, added to the input projection only, and resets *before* the product::

    zh_zr = h_{t-1} @ recurrent_kernel[:, :2H]
    ĥ     = act(zx_h + (r ⊙ h_{t-1}) @ recurrent_kernel_h)

Backward through one step, ``dh`` arriving from the step after and the loss::

    dĥ        = dh ⊙ (1 - z)
    dz        = dh ⊙ (h_{t-1} - ĥ)
    dh_{t-1}  = dh ⊙ z                               + the paths through the gates below
    da_h      = dĥ ⊙ act'(·)                          pre-activation of the candidate
    reset_after=True:   dr = da_h ⊙ zh_h;             dzh_h = da_h ⊙ r
    reset_after=False:  d(r⊙h) = da_h @ U_hᵀ;          dr = d(r⊙h) ⊙ h_{t-1};
                        dh_{t-1} += d(r⊙h) ⊙ r;        dU_h += (r⊙h_{t-1})ᵀ da_h
    da_z = dz ⊙ σ'(·);  da_r = dr ⊙ σ'(·)
    dzx  = [da_z, da_r, da_h]                          → dkernel, db_in, dx (after the loop)
    dzh  = [da_z, da_r, dzh_h]  (or [da_z, da_r])      → dh_{t-1} += dzh @ Uᵀ, dU, db_rec

With recurrent dropout, Keras masks ``h_{t-1}`` separately in each gate's projection
(``h_{t-1} ⊙ m_g``) but mixes the unmasked ``h_{t-1}`` into ``h_t``; so does this code.

Masking follows Keras's CPU path (see :mod:`scratchrnn.ops.lstm`): a masked step
carries ``h`` over and repeats the previous output, or emits zeros when
``zero_output_for_mask``.  cuDNN takes only right-padded masks and emits zeros.
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

N_GATES = 3  # z, r, h


class GRUStepCache(NamedTuple):
    """What the backward pass of one step needs."""
    h_prev: np.ndarray   # (B, H) state entering the step
    gates: np.ndarray    # (B, 3H) [z, r, ĥ] after their activations
    u: np.ndarray        # (B, H) the recurrent term of the candidate, before it meets r (or U_h):
                         #        h_{t-1} @ U_h + b_rec_h if reset_after else r ⊙ h_{t-1} (⊙ m_h)


class GRUCache(NamedTuple):
    """What the backward pass of a sequence needs; arrays are time-major, processing order."""
    x: np.ndarray                   # (T, B, I)
    h_prev: np.ndarray              # (T, B, H)
    gates: np.ndarray               # (T, B, 3H)
    u: np.ndarray                   # (T, B, H)
    mask: object                    # (T, B) bool, or None
    dropout_mask: object            # (G, B, I) or None
    recurrent_dropout_mask: object  # (G, B, H) or None
    use_bias: bool
    reset_after: bool
    go_backwards: bool
    zero_output_for_mask: bool
    activation: int
    recurrent_activation: int

    def step(self, s):
        return GRUStepCache(self.h_prev[s], self.gates[s], self.u[s])


def split_recurrent_mask(mask):
    """Recurrent dropout masks for the z, r projections (G, B, H) and for the candidate (B, H).

    Keras draws one mask per gate (G = 3) or one shared by all (G = 1); None when off.
    """
    if mask is None:
        return None, None
    if mask.shape[0] == 1:
        return mask, mask[0]
    return mask[:2], mask[2]


def gru_step_forward(zx_t, h_prev, recurrent_kernel, recurrent_bias, recurrent_dropout_mask,
                     reset_after, activation, recurrent_activation):
    """One GRU step.

    zx_t: (B, 3H) the input projection ``x_t @ kernel + b_in``; h_prev: (B, H);
    recurrent_kernel: (H, 3H); recurrent_bias: (3H,) or None (always None unless reset_after);
    recurrent_dropout_mask: None or (G, B, H).  Returns ``h_t, cache``.
    """
    H = h_prev.shape[1]
    zr_mask, h_mask = split_recurrent_mask(recurrent_dropout_mask)
    zh_zr = recurrent_projection(h_prev, recurrent_kernel[:, :2 * H], zr_mask)       # (B, 2H)
    if recurrent_bias is not None:
        zh_zr = zh_zr + recurrent_bias[:2 * H]
    z = act.forward(zx_t[:, :H] + zh_zr[:, :H], recurrent_activation)
    r = act.forward(zx_t[:, H:2 * H] + zh_zr[:, H:], recurrent_activation)
    h_in = h_prev if h_mask is None else h_prev * h_mask       # h as the candidate sees it
    if reset_after:
        u = h_in @ recurrent_kernel[:, 2 * H:]                                       # (B, H)
        if recurrent_bias is not None:
            u = u + recurrent_bias[2 * H:]
        hh = act.forward(zx_t[:, 2 * H:] + r * u, activation)
    else:
        u = r * h_in
        hh = act.forward(zx_t[:, 2 * H:] + u @ recurrent_kernel[:, 2 * H:], activation)
    h = z * h_prev + (1 - z) * hh
    return h, GRUStepCache(h_prev, np.concatenate([z, r, hh], axis=1), u)


def gru_step_backward(dh, cache, recurrent_kernel, recurrent_dropout_mask, reset_after,
                      activation, recurrent_activation):
    """Backward through one step: ``dh`` (B, H) -> ``dzx, dzh, dh_prev``.

    dzx: (B, 3H) gradient of the input projection ``zx``.  dzh: (B, 3H) gradient of
    what multiplies ``recurrent_kernel``: ``zh`` when reset_after; otherwise ``[zh_z, zh_r,
    u @ U_h]``, which is ``dzx`` itself (each block enters the same sum as ``zx``'s).
    """
    H = dh.shape[1]
    gates = cache.gates
    z, r, hh = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    zr_mask, h_mask = split_recurrent_mask(recurrent_dropout_mask)
    dhh = dh * (1 - z)                                       # h_t = z h_{t-1} + (1 - z) ĥ
    dz = dh * (cache.h_prev - hh)
    dh_prev = dh * z
    da_h = act.backward(dhh, hh, activation)                 # through act of the candidate
    if reset_after:
        dr = da_h * cache.u                                  # ĥ = act(zx_h + r ⊙ u)
        du = da_h * r
        dh_in = du @ recurrent_kernel[:, 2 * H:].T           # u = h_in @ U_h + b_rec_h
    else:
        h_in = cache.h_prev if h_mask is None else cache.h_prev * h_mask
        du = da_h @ recurrent_kernel[:, 2 * H:].T            # ĥ = act(zx_h + u @ U_h)
        dr = du * h_in                                       # u = r ⊙ h_in
        dh_in = du * r
    dh_prev = dh_prev + (dh_in if h_mask is None else dh_in * h_mask)
    da_z = act.backward(dz, z, recurrent_activation)
    da_r = act.backward(dr, r, recurrent_activation)
    dzh_zr = np.concatenate([da_z, da_r], axis=1)
    dh_prev = dh_prev + recurrent_projection_backward(dzh_zr, recurrent_kernel[:, :2 * H],
                                                      zr_mask)
    dzx = np.concatenate([da_z, da_r, da_h], axis=1)
    dzh = np.concatenate([da_z, da_r, du], axis=1) if reset_after else dzx
    return dzx, dzh, dh_prev


def gru_forward(x, h0, kernel, recurrent_kernel, bias=None, *, mask=None, go_backwards=False,
                activation=act.TANH, recurrent_activation=act.SIGMOID, reset_after=True,
                zero_output_for_mask=False, dropout_mask=None, recurrent_dropout_mask=None):
    """Run a GRU over a sequence.

    x: (B, T, I); h0: (B, H); kernel: (I, 3H); recurrent_kernel: (H, 3H);
    bias: None, (2, 3H) when reset_after or (3H,) otherwise; mask: (B, T) bool or None;
    dropout masks: None or (G, B, I) / (G, B, H), G in {1, 3}.
    The arguments after ``bias`` are keyword-only; ``cache`` is a :class:`GRUCache`.
    Returns ``(outputs, h_T), cache`` with outputs (B, T, H) in processing order.
    """
    check_sequence_arguments(x, {"h0": h0}, kernel, recurrent_kernel, N_GATES)
    input_bias, recurrent_bias = (bias[0], bias[1]) if (bias is not None and reset_after) \
        else (bias, None)
    xs = time_major(x, go_backwards)                                # (T, B, I)
    ms = None if mask is None else time_major(mask, go_backwards)   # (T, B)
    xs = drop_padding(xs, ms)                                       # padding never used
    T, B, _ = xs.shape
    H = h0.shape[1]
    zx = input_projection(xs, kernel, input_bias, dropout_mask)     # (T, B, 3H)

    h_prev = np.empty((T, B, H), dtype=xs.dtype)
    gates = np.empty((T, B, N_GATES * H), dtype=xs.dtype)
    u = np.empty((T, B, H), dtype=xs.dtype)
    outputs = np.empty((T, B, H), dtype=xs.dtype)
    h = h0
    out = np.zeros((B, H), dtype=xs.dtype)   # output "before" the first step, for masked steps
    for s in range(T):
        h_new, step = gru_step_forward(zx[s], h, recurrent_kernel, recurrent_bias,
                                       recurrent_dropout_mask, reset_after, activation,
                                       recurrent_activation)
        h_prev[s], gates[s], u[s] = step
        m = step_mask(ms, s)
        out = keep(m, h_new, 0 if zero_output_for_mask else out)
        h = keep(m, h_new, h)
        outputs[s] = out

    cache = GRUCache(x=xs, h_prev=h_prev, gates=gates, u=u, mask=ms, dropout_mask=dropout_mask,
                     recurrent_dropout_mask=recurrent_dropout_mask, use_bias=bias is not None,
                     reset_after=reset_after, go_backwards=go_backwards,
                     zero_output_for_mask=zero_output_for_mask, activation=activation,
                     recurrent_activation=recurrent_activation)
    return (batch_major(outputs, False), h), cache


def gru_backward(d_outputs, dh_T, cache, kernel, recurrent_kernel):
    """Backpropagation through time for :func:`gru_forward`.

    d_outputs: (B, T, H) gradient of the outputs in processing order; dh_T: (B, H).
    Returns ``dx, dh0, dkernel, drecurrent_kernel, dbias`` (dbias None without bias,
    (2, 3H) when reset_after, else (3H,)).
    """
    douts = time_major(d_outputs, False)                            # (T, B, H)
    T = douts.shape[0]
    H = dh_T.shape[1]
    dzx = np.empty_like(cache.gates)                                # (T, B, 3H)
    dzh = np.empty_like(cache.gates) if cache.reset_after else dzx
    dh = dh_T
    d_carry = 0   # gradient reaching the output repeated by the next (masked) step
    for s in reversed(range(T)):
        m = step_mask(cache.mask, s)
        d_out = douts[s] + d_carry
        dzx[s], dzh_s, dh_prev = gru_step_backward(
            keep(m, dh + d_out, 0), cache.step(s), recurrent_kernel,
            cache.recurrent_dropout_mask, cache.reset_after, cache.activation,
            cache.recurrent_activation)
        if cache.reset_after:
            dzh[s] = dzh_s
        dh = keep(m, dh_prev, dh)
        d_carry = 0 if (m is None or cache.zero_output_for_mask) else np.where(m, 0, d_out)

    dxs, dkernel, dbias_in = input_projection_backward(dzx, cache.x, kernel,
                                                       cache.dropout_mask, cache.use_bias)
    rdm = cache.recurrent_dropout_mask
    if cache.reset_after:
        drecurrent_kernel = recurrent_kernel_gradient(cache.h_prev, dzh, rdm)
        dbias = None if not cache.use_bias else np.stack(
            [dbias_in, dzh.reshape(-1, N_GATES * H).sum(axis=0)])
    else:
        zr_mask, _ = split_recurrent_mask(rdm)
        drecurrent_kernel = np.concatenate([
            recurrent_kernel_gradient(cache.h_prev, dzh[:, :, :2 * H], zr_mask),
            cache.u.reshape(-1, H).T @ dzh[:, :, 2 * H:].reshape(-1, H),   # Σ (r ⊙ h)ᵀ da_h
        ], axis=1)
        dbias = dbias_in
    dx = batch_major(dxs, cache.go_backwards)
    return dx, dh, dkernel, drecurrent_kernel, dbias
