"""The pieces every recurrent cell shares: layout, the two projections, masking.

A recurrent layer spends its time in two matrix products:

* the **input projection** ``x_t @ kernel + bias``, which does not depend on the
  recurrence, so it is computed for all T timesteps at once as one GEMM over T·B rows;
* the **recurrent projection** ``h_{t-1} @ recurrent_kernel``, which must wait for
  the previous step.

The sequence functions of each cell therefore work time-major, ``(T, B, features)``,
in *processing order* (already reversed when ``go_backwards``), so that step ``s``
reads the contiguous block ``[s]``.

Dropout follows Keras: one mask per sequence, drawn once and reused at every step.
A mask has shape ``(G, B, features)``: ``G = 1`` when every gate sees the same
dropped inputs, ``G = gates`` when each gate has its own mask (what Keras's LSTM and
GRU do whenever ``recurrent_dropout > 0``).
"""

import numpy as np


def check_sequence_arguments(x, states, kernel, recurrent_kernel, n_gates):
    """Shape checks of a sequence function's arguments: the layers check what they are
    given in full, but these functions are public too, and a wrong shape should fail
    here, naming the argument, not as a broadcasting error inside a step.

    x: (B, T, I); states: ``{name: (B, H)}``; kernel: (I, G·H); recurrent_kernel: (H, G·H).
    """
    if np.ndim(x) != 3:
        raise ValueError("`x` must be a 3-D array (batch, timesteps, features), got shape "
                         f"{np.shape(x)}")
    B, _, I = np.shape(x)
    H = np.shape(recurrent_kernel)[0] if np.ndim(recurrent_kernel) == 2 else 0
    expected = {"kernel": (I, n_gates * H), "recurrent_kernel": (H, n_gates * H)}
    for name, w in (("recurrent_kernel", recurrent_kernel), ("kernel", kernel)):
        if np.shape(w) != expected[name]:
            raise ValueError(f"`{name}` must have shape {expected[name]} for x of shape "
                             f"{np.shape(x)} and {n_gates} gate(s) of H = "
                             f"recurrent_kernel.shape[0] units, got {np.shape(w)}")
    for name, s in states.items():
        if np.shape(s) != (B, H):
            raise ValueError(f"`{name}` must have shape ({B}, {H}) (batch, units), got "
                             f"{np.shape(s)}")


def time_major(x, go_backwards):
    """``(B, T, F)`` batch-major to contiguous ``(T, B, F)`` in processing order."""
    x = np.swapaxes(x, 0, 1)
    if go_backwards:
        x = x[::-1]
    return np.ascontiguousarray(x)


def drop_padding(xs, ms):
    """``xs`` (T, B, F) with the features of masked steps (``ms`` (T, B) False) set to 0.

    A masked step's outputs and states are selected away (:func:`keep`), but its
    pre-activations would still be computed from the padding, and a NaN or inf there
    would reach the weight gradients as ``0 · NaN`` (``dkernel = Σ x_tᵀ dz_t`` with
    ``dz_t = 0``).  Padding never reaches a result: it is replaced here, before any
    arithmetic.  (Keras's ``tf.where`` passes such a NaN on to the gradients.)
    """
    if ms is None:
        return xs
    return np.where(np.asarray(ms, dtype=bool)[:, :, None], xs, xs.dtype.type(0))


def batch_major(x, go_backwards):
    """Inverse of :func:`time_major`."""
    if go_backwards:
        x = x[::-1]
    return np.ascontiguousarray(np.swapaxes(x, 0, 1))


def gate_slices(n_gates, units):
    """The column slice of each gate in a fused ``(…, n_gates * units)`` matrix."""
    return [slice(g * units, (g + 1) * units) for g in range(n_gates)]


# --- the input projection: one GEMM over all timesteps --------------------------------

def input_projection(x, kernel, bias, dropout_mask):
    """``zx[t] = (x[t] * m_g) @ kernel_g + bias_g`` for every gate g, all t at once.

    x: (T, B, I); kernel: (I, G·H); bias: (G·H,) or None;
    dropout_mask: None, (1, B, I) or (G, B, I).  Returns zx: (T, B, G·H).
    """
    T, B, I = x.shape
    if dropout_mask is None or dropout_mask.shape[0] == 1:
        xd = x if dropout_mask is None else x * dropout_mask[0]
        zx = (xd.reshape(T * B, I) @ kernel).reshape(T, B, -1)       # (T, B, G·H)
    else:
        n_gates = dropout_mask.shape[0]
        units = kernel.shape[1] // n_gates
        zx = np.empty((T, B, kernel.shape[1]), dtype=x.dtype)
        for g, cols in enumerate(gate_slices(n_gates, units)):
            xd = (x * dropout_mask[g]).reshape(T * B, I)
            zx[:, :, cols] = (xd @ kernel[:, cols]).reshape(T, B, units)
    if bias is not None:
        zx += bias
    return zx


def input_projection_backward(dzx, x, kernel, dropout_mask, use_bias):
    """Gradients of :func:`input_projection`: ``dx, dkernel, dbias`` (dbias None if no bias).

    dzx: (T, B, G·H) — the gradient of every step's pre-activations, gathered by the
    backward loop so that the weight gradients are single GEMMs over T·B rows.
    """
    T, B, I = x.shape
    dz2 = dzx.reshape(T * B, -1)
    dbias = dz2.sum(axis=0) if use_bias else None
    if dropout_mask is None or dropout_mask.shape[0] == 1:
        xd = x if dropout_mask is None else x * dropout_mask[0]
        dkernel = xd.reshape(T * B, I).T @ dz2                       # (I, G·H)
        dx = (dz2 @ kernel.T).reshape(T, B, I)
        if dropout_mask is not None:
            dx *= dropout_mask[0]
        return dx, dkernel, dbias
    n_gates = dropout_mask.shape[0]
    units = kernel.shape[1] // n_gates
    dkernel = np.empty_like(kernel)
    dx = np.zeros_like(x)
    for g, cols in enumerate(gate_slices(n_gates, units)):
        xd = (x * dropout_mask[g]).reshape(T * B, I)
        dkernel[:, cols] = xd.T @ dz2[:, cols]
        dx += (dz2[:, cols] @ kernel[:, cols].T).reshape(T, B, I) * dropout_mask[g]
    return dx, dkernel, dbias


# --- the recurrent projection: one GEMM per step ---------------------------------------

def recurrent_projection(h, recurrent_kernel, dropout_mask):
    """``zh = (h * m_g) @ recurrent_kernel_g`` for every gate g.  h: (B, H) -> (B, G·H).

    ``recurrent_kernel`` may be a column block of the full one (GRU's z and r gates);
    ``dropout_mask`` is None, (1, B, H) or (G, B, H) with G matching those columns.
    """
    if dropout_mask is None:
        return h @ recurrent_kernel
    if dropout_mask.shape[0] == 1:
        return (h * dropout_mask[0]) @ recurrent_kernel
    cols = gate_slices(len(dropout_mask), recurrent_kernel.shape[1] // len(dropout_mask))
    return np.concatenate([(h * m) @ recurrent_kernel[:, c]
                           for c, m in zip(cols, dropout_mask)], axis=1)


def recurrent_projection_backward(dz, recurrent_kernel, dropout_mask):
    """``dh`` of :func:`recurrent_projection`, given ``dz``: (B, G·H) -> (B, H)."""
    if dropout_mask is None:
        return dz @ recurrent_kernel.T
    if dropout_mask.shape[0] == 1:
        return (dz @ recurrent_kernel.T) * dropout_mask[0]
    cols = gate_slices(len(dropout_mask), recurrent_kernel.shape[1] // len(dropout_mask))
    dh = np.zeros((dz.shape[0], recurrent_kernel.shape[0]), dtype=dz.dtype)
    for c, m in zip(cols, dropout_mask):
        dh += (dz[:, c] @ recurrent_kernel[:, c].T) * m
    return dh


def recurrent_kernel_gradient(h_prev, dz, dropout_mask):
    """``d recurrent_kernel = Σ_t (h_{t-1} * m_g)ᵀ dz_t`` as one GEMM over T·B rows.

    h_prev: (T, B, H) the state entering each step; dz: (T, B, G·H).
    """
    T, B, H = h_prev.shape
    dz2 = dz.reshape(T * B, -1)
    if dropout_mask is None or dropout_mask.shape[0] == 1:
        hd = h_prev if dropout_mask is None else h_prev * dropout_mask[0]
        return hd.reshape(T * B, H).T @ dz2
    cols = gate_slices(len(dropout_mask), dz2.shape[1] // len(dropout_mask))
    return np.concatenate(
        [(h_prev * m).reshape(T * B, H).T @ dz2[:, c] for c, m in zip(cols, dropout_mask)],
        axis=1,
    )


# --- masking (Keras's CPU path) ---------------------------------------------------------

def keep(mask_t, new, old):
    """Where ``mask_t`` (B, 1) is True take ``new``, else carry ``old`` over."""
    return new if mask_t is None else np.where(mask_t, new, old)


def step_mask(mask, s):
    """The (B, 1) boolean mask of processing step ``s``, or None when unmasked."""
    return None if mask is None else mask[s][:, None]
