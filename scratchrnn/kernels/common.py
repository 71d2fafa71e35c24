"""Shared pieces of the Numba kernels: the recurrent projection and its backward.

Only the sequential part of a layer is compiled: the input projection and the weight
gradients stay the single NumPy GEMMs over all T·B rows of :mod:`scratchrnn.ops.common`.
The recurrent GEMM inside the loop goes through ``np.dot(a, b, out)`` (SciPy's BLAS),
writing into buffers allocated once per sequence.

With recurrent dropout each gate sees its own masked copy of ``h`` (Keras's
``implementation=1``), so the kernel is split into contiguous per-gate blocks.
"""

import numpy as np
from numba import njit

from .activations import JIT


class Workspace:
    """Buffers that a layer reuses from one call to the next.

    A NumPy array of megabytes is fresh pages from the kernel, and the first write to
    each page faults: at (B=32, T=50, H=64) that was half of the LSTM's forward time.
    A layer keeps one workspace; a call overwrites the previous call's cache, which the
    layer no longer needs (its ``backward`` always follows its latest call).  Arrays
    handed to the user (outputs, gradients) never live here.  ``None`` in place of a
    workspace means fresh arrays, as the readable ops allocate.
    """

    def __init__(self):
        self._buffers = {}

    def get(self, name, shape, dtype):
        """An uninitialised array ``name`` of ``shape`` and ``dtype``, reused when it fits."""
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = self._buffers[name] = np.empty(shape, dtype)
        return buffer


def time_major(x, go_backwards, workspace, name):
    """:func:`scratchrnn.ops.common.time_major` into a buffer of ``workspace``."""
    out = workspace.get(name, (x.shape[1], x.shape[0]) + x.shape[2:], x.dtype)
    view = np.swapaxes(x, 0, 1)
    out[...] = view[::-1] if go_backwards else view
    return out


def recurrent_blocks(recurrent_kernel, n_gates, dropout_mask, transposed=False):
    """The recurrent kernel as the loops multiply by it: a contiguous 3-D block array.

    Without per-gate masks one block, ``U (1, H, G·H)``; with a mask per gate the gates'
    blocks ``(G, H, H)``.  ``transposed``: the blocks' transposes, for the backward loop
    (built only there: at H = 512 an LSTM's is 4 MB).
    """
    if dropout_mask is None or dropout_mask.shape[0] == 1:
        blocks = recurrent_kernel[None]
    else:
        H = recurrent_kernel.shape[0]
        blocks = np.stack([recurrent_kernel[:, g * H:(g + 1) * H] for g in range(n_gates)])
    return np.ascontiguousarray(blocks.transpose(0, 2, 1) if transposed else blocks)


@njit(**JIT)
def project(h, U, dropout_mask, z, h_masked, z_gate):
    """``z[:] = (h ⊙ m_g) @ U_g`` for every gate (``z = h @ U`` without dropout).

    h: (B, H); U: blocks from :func:`recurrent_blocks`; z: (B, G·H) output;
    h_masked: (B, H) and z_gate: (B, H) scratch buffers.
    """
    if dropout_mask is None:
        np.dot(h, U[0], z)
    elif U.shape[0] == 1:                   # one mask shared by every gate
        np.multiply(h, dropout_mask[0], h_masked)
        np.dot(h_masked, U[0], z)
    else:
        H = h.shape[1]
        for g in range(U.shape[0]):
            np.multiply(h, dropout_mask[g], h_masked)
            np.dot(h_masked, U[g], z_gate)
            z[:, g * H:(g + 1) * H] = z_gate


@njit(**JIT)
def project_backward(dz, UT, dropout_mask, dh, dz_gate, dh_gate):
    """``dh[:] = Σ_g (dz_g @ U_gᵀ) ⊙ m_g``, the gradient of :func:`project` w.r.t. ``h``.

    dz: (B, G·H); UT: transposed blocks from :func:`recurrent_blocks`; dh: (B, H) output;
    dz_gate: (B, H) and dh_gate: (B, H) scratch buffers.
    """
    if dropout_mask is None:
        np.dot(dz, UT[0], dh)
    elif UT.shape[0] == 1:
        np.dot(dz, UT[0], dh)
        dh *= dropout_mask[0]
    else:
        H = dh.shape[1]
        dh[:] = 0
        for g in range(UT.shape[0]):
            dz_gate[:] = dz[:, g * H:(g + 1) * H]
            np.dot(dz_gate, UT[g], dh_gate)
            dh += dh_gate * dropout_mask[g]


# --- the GEMMs over all T·B rows, on the same BLAS as the loop -------------------------------
#
# The readable ops run these products with NumPy, whose OpenBLAS is a second thread pool
# beside SciPy's (which ``np.dot`` in compiled code calls).  A pool spin-waits for a while
# after its work, so alternating the two put four busy threads on two cores and made the
# GEMM-bound LSTM 2x slower with 2 threads than with 1.  Compiled, every product of the
# numba backend runs on SciPy's pool.

@njit(**JIT)
def _masked_rows(x, mask):
    """``x ⊙ mask`` (mask broadcast over time) as a contiguous (T·B, F) matrix."""
    T, B, F = x.shape
    if mask is None:
        return np.ascontiguousarray(x).reshape(T * B, F)
    return (x * mask).reshape(T * B, F)


@njit(**JIT)
def input_projection(x, kernel, bias, dropout_mask, zx):
    """:func:`scratchrnn.ops.common.input_projection`, compiled, into ``zx`` (T·B, G·H)."""
    T, B, _ = x.shape
    GH = kernel.shape[1]
    if dropout_mask is None:
        np.dot(_masked_rows(x, None), kernel, zx)
    elif dropout_mask.shape[0] == 1:
        np.dot(_masked_rows(x, dropout_mask[0]), kernel, zx)
    else:
        H = GH // dropout_mask.shape[0]
        for g in range(dropout_mask.shape[0]):
            zx[:, g * H:(g + 1) * H] = np.dot(_masked_rows(x, dropout_mask[g]),
                                              np.ascontiguousarray(kernel[:, g * H:(g + 1) * H]))
    if bias is not None:
        zx += bias
    return zx.reshape(T, B, GH)


@njit(**JIT)
def input_projection_backward(dzx, x, kernel, dropout_mask):
    """:func:`scratchrnn.ops.common.input_projection_backward`, compiled; returns
    ``dx, dkernel, dbias`` (dbias always; the caller drops it without a bias)."""
    T, B, I = x.shape
    GH = kernel.shape[1]
    dz2 = np.ascontiguousarray(dzx).reshape(T * B, GH)
    dbias = dz2.sum(axis=0)
    if dropout_mask is None:
        dkernel = np.dot(_masked_rows(x, None).T, dz2)
        dx = np.dot(dz2, kernel.T).reshape(T, B, I)
    elif dropout_mask.shape[0] == 1:
        dkernel = np.dot(_masked_rows(x, dropout_mask[0]).T, dz2)
        dx = np.dot(dz2, kernel.T).reshape(T, B, I) * dropout_mask[0]
    else:
        H = GH // dropout_mask.shape[0]
        dkernel = np.empty_like(kernel)
        dx = np.zeros((T, B, I), x.dtype)
        for g in range(dropout_mask.shape[0]):
            dz_g = np.ascontiguousarray(dz2[:, g * H:(g + 1) * H])
            dkernel[:, g * H:(g + 1) * H] = np.dot(_masked_rows(x, dropout_mask[g]).T, dz_g)
            k_g = np.ascontiguousarray(kernel[:, g * H:(g + 1) * H])
            dx += np.dot(dz_g, k_g.T).reshape(T, B, I) * dropout_mask[g]
    return dx, dkernel, dbias


@njit(**JIT)
def recurrent_kernel_gradient(h_prev, dz, dropout_mask):
    """:func:`scratchrnn.ops.common.recurrent_kernel_gradient`, compiled."""
    T, B, H = h_prev.shape
    GH = dz.shape[2]
    dz2 = np.ascontiguousarray(dz).reshape(T * B, GH)
    if dropout_mask is None:
        return np.dot(_masked_rows(h_prev, None).T, dz2)
    if dropout_mask.shape[0] == 1:
        return np.dot(_masked_rows(h_prev, dropout_mask[0]).T, dz2)
    units = GH // dropout_mask.shape[0]
    out = np.empty((H, GH), h_prev.dtype)
    for g in range(dropout_mask.shape[0]):
        out[:, g * units:(g + 1) * units] = np.dot(
            _masked_rows(h_prev, dropout_mask[g]).T,
            np.ascontiguousarray(dz2[:, g * units:(g + 1) * units]))
    return out
