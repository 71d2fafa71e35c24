"""Shared pieces of the Numba kernels: threads, the recurrent projection, the big GEMMs.

**Threads.**  The numba backend runs its own threads and keeps BLAS on one.  How a
call spreads its work is chosen per call by a cost model
(:mod:`scratchrnn.kernels.policy`, which explains it), among:

* the **batch split**: a recurrence is independent from one sequence of the batch to
  the next, so each thread takes a contiguous block of batch rows and runs the whole
  time loop for them (a ``prange`` over row blocks in each cell's
  ``_forward_loop``/``_backward_loop``), calling a one-thread BLAS for its rows'
  recurrent product: no thread waits for another until the sequence ends;
* the LSTM's **units split** (weight-stationary): each thread owns a slice of the hidden
  units and its columns of ``U``, and the threads meet once per step
  (``_forward_loop_by_units``; :func:`unit_order`, :func:`units_operand`);
* for a large forward of a cell without a units split, **BLAS's threads** on each
  per-step product.

The GEMMs over all T·B rows (input projection, weight gradients) split their rows over
the threads (:func:`matmul`, :func:`matmul_tn`).  :func:`work_split` applies the plan:
it sets BLAS's and Numba's thread counts for the call, on no more threads than the
cores other processes leave free (:func:`scratchrnn.kernels.policy.free_cores`).
``numba.set_num_threads`` (or ``NUMBA_NUM_THREADS``) sets how many threads a call may
run.  Each ``parallel=True`` loop compiles for ~6 s per specialisation, once (the cache
keeps it).  Python threads over the same ``nogil`` loops compiled in a third of the
time but took ~60 µs to start and join, which the small models cannot pay.

**Calls from several Python threads** (a server predicting from threads) are safe:
a :class:`Workspace` keeps its buffers per Python thread, :func:`blas_threads` counts
the calls inside it (the first one in sets BLAS's thread count, the last one out puts
it back, and a call that needs another count waits until the calls holding BLAS are
done), and under Numba's ``workqueue`` threading layer, which aborts on concurrent
launches, the parallel loops run one call at a time (``omp`` and ``tbb`` need no lock).
``numba.set_num_threads`` is per Python thread (Numba's rule): a thread you start runs
on ``NUMBA_NUM_THREADS`` threads until it sets its own count.

**Bits and thread counts.**  The same inputs, weights and seed on the same number of
threads give the same bits, call after call and whatever other Python threads do
meanwhile.  A different thread count splits the batch rows and the weight-gradient
sums differently, so results differ in the last bits (float32: within ~1e-6
relative); so do different BLAS thread counts and builds.

**The recurrent product** inside the loop goes through ``np.dot(a, b, out)`` (SciPy's
BLAS), writing into buffers allocated once per sequence: row-major, ``z = h @ U``, for
small H, and feature-major, ``zᵀ = Uᵀ hᵀ`` between two tiled transposes, from H = 128,
where OpenBLAS runs it 1.1–1.7x faster (:func:`feature_major`).  With recurrent dropout
each gate sees its own masked copy of ``h`` (Keras's ``implementation=1``), so the
kernel is split into contiguous per-gate blocks, multiplied row-major.
"""

import collections
import contextlib
import threading

import numba
import numpy as np
from numba import njit, prange

from ..ops.common import gate_slices
from . import policy
from .activations import JIT

PARALLEL_JIT = dict(JIT, parallel=True)

_blas_pools = None


def _blas_controllers():
    """threadpoolctl's handle on every BLAS pool in the process, found once."""
    global _blas_pools
    if _blas_pools is None:
        import scipy.linalg.cython_blas  # noqa: F401  (the BLAS that np.dot calls: load it first)
        from threadpoolctl import ThreadpoolController
        _blas_pools = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas_pools


class _BlasSetting:
    """Who holds BLAS's thread count: how many calls are inside :func:`blas_threads`, the
    count they set, and the counts to put back when the last of them leaves."""
    changed = threading.Condition()
    users = 0
    threads = None
    before = None


@contextlib.contextmanager
def blas_threads(n):
    """BLAS on ``n`` threads inside the block, restored after it.

    Every pool is set, NumPy's and SciPy's: which one a product runs on depends on the
    install, and nothing else runs inside a kernel.  It costs ~4 µs.  The setting is
    the process's: calls from several Python threads share it (the first sets it, the
    last restores it), and a call wanting another count waits for them to finish, so
    that every call runs on the count it asked for (and gives the bits it would alone).
    """
    state = _BlasSetting
    with state.changed:
        while state.users and state.threads != n:
            state.changed.wait()
        if not state.users:
            pools = _blas_controllers()
            state.before = [pool.num_threads for pool in pools]
            for pool in pools:
                pool.set_num_threads(n)
            state.threads = n
        state.users += 1
    try:
        yield
    finally:
        with state.changed:
            state.users -= 1
            if not state.users:
                for pool, n_before in zip(_blas_controllers(), state.before):
                    pool.set_num_threads(n_before)
                state.threads = state.before = None
                state.changed.notify_all()


def numba_threads():
    """How many threads the backend runs: ``numba.get_num_threads()``.  The compiled
    functions take it as an argument: calling it in compiled code stops Numba caching."""
    return numba.get_num_threads()


Split = collections.namedtuple("Split", "path blocks threads")
Split.__doc__ = """How a call spreads its work (:mod:`scratchrnn.kernels.policy`): ``path``
``"rows"`` (``blocks`` of batch rows, a time loop each), ``"units"`` (``blocks`` slices of
hidden units, meeting every step) or ``"blas"`` (one block, BLAS's threads); ``threads``
for the GEMMs over all T·B rows (1: one BLAS call, on BLAS's threads)."""


@contextlib.contextmanager
def work_split(batch, recurrent_kernel, *, gates, backward=False, has_units_split=False):
    """The split :func:`scratchrnn.kernels.policy.choose` picks for this call, on the
    cores not busy with other processes, with Numba's and BLAS's thread counts set to
    match for the call.

    ``has_units_split``: the cell has a units split for this call.  Never both pools
    at once: each spin-waits after its work, and the two took turns holding the cores.
    """
    wanted = numba_threads()
    threads = min(wanted, policy.free_cores()) if wanted > 1 else 1
    units = recurrent_kernel.shape[0]
    plan = policy.choose(batch, units, gates, recurrent_kernel.dtype.itemsize, threads,
                         backward=backward, has_units_split=has_units_split)
    plan = policy.forced_plan(batch, units, threads, has_units_split) or plan
    if plan.path == "blas":
        split, blas = Split("blas", 1, 1), plan.threads
    else:
        split, blas = Split(plan.path, plan.threads, threads), 1
    with _one_launch_at_a_time(), blas_threads(blas), _numba_threads(threads, wanted):
        yield split


@contextlib.contextmanager
def _numba_threads(n, wanted):
    """Numba on ``n`` threads inside the block where the caller asked for more: a thread
    with no work still spin-waits at the end of a parallel loop, on a core another
    process needs."""
    if n >= wanted:
        yield
        return
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(wanted)


_LAUNCH_LOCK = threading.RLock()


def _threadsafe_layer():
    """Whether Numba's threading layer takes parallel launches from several Python
    threads at once: ``omp`` and ``tbb`` do; ``workqueue`` aborts the process.  Until the
    first launch has chosen the layer, the answer is no."""
    try:
        return numba.threading_layer() != "workqueue"
    except ValueError:              # no parallel loop has run yet: not chosen
        return False


@contextlib.contextmanager
def _one_launch_at_a_time():
    """Hold a lock around a call where Numba's threading layer needs it (see above)."""
    if _threadsafe_layer():
        yield
        return
    with _LAUNCH_LOCK:
        yield


@njit(**JIT)
def row_block(k, n, n_rows):
    """Rows ``[r0, r1)`` of block ``k`` of ``n``: ``n_rows`` split into contiguous blocks."""
    return k * n_rows // n, (k + 1) * n_rows // n


@njit(**JIT)
def n_blocks(n_rows, threads, min_rows):
    """How many row blocks to run: one per thread, each at least ``min_rows`` long."""
    return max(1, min(threads, n_rows // min_rows))


class Workspace:
    """Buffers that a layer reuses from one call to the next.

    A NumPy array of megabytes is fresh pages from the kernel, and the first write to
    each page faults: at (B=32, T=50, H=64) that was half of the LSTM's forward time.
    A layer keeps one workspace; a call overwrites the previous call's cache, which the
    layer no longer needs (its ``backward`` always follows its latest call).  Arrays
    handed to the user (outputs, gradients) never live here.  ``None`` in place of a
    workspace means fresh arrays, as the readable ops allocate.

    The buffers are per Python thread (a ``threading.local``): calls of one layer from
    several threads never write into each other's buffers, and each thread's tape (the
    cache its backward reads) lives in that thread's own.  A thread's buffers go when
    the thread ends.
    """

    def __init__(self):
        self._local = threading.local()

    @property
    def _buffers(self):
        """This thread's buffers, by name."""
        try:
            return self._local.buffers
        except AttributeError:
            self._local.buffers = {}
            return self._local.buffers

    def get(self, name, shape, dtype):
        """An uninitialised array ``name`` of ``shape`` and ``dtype``, reused when it fits
        (one set of buffers per Python thread)."""
        buffers = self._buffers
        buffer = buffers.get(name)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = buffers[name] = np.empty(shape, dtype)
        return buffer

    def __getstate__(self):          # copies and pickles start without buffers
        return {}

    def __setstate__(self, state):
        self._local = threading.local()


def time_major(x, go_backwards, workspace, name):
    """:func:`scratchrnn.ops.common.time_major` into a buffer of ``workspace``."""
    out = workspace.get(name, (x.shape[1], x.shape[0]) + x.shape[2:], x.dtype)
    view = np.swapaxes(x, 0, 1)
    out[...] = view[::-1] if go_backwards else view
    return out


def recurrent_blocks(recurrent_kernel, n_gates, dropout_mask, transposed=False):
    """The recurrent kernel as the loops multiply by it: a contiguous 3-D block array.

    Without per-gate masks one block, ``U (1, H, G·H)``; with a mask per gate the gates'
    blocks ``(G, H, H)``.  ``transposed``: the blocks' transposes, which the backward's
    row-form products multiply by and the forward's feature-major ones
    (:func:`feature_major`): at H = 512 an LSTM's is a 4 MB copy, built only there.
    """
    if dropout_mask is None or dropout_mask.shape[0] == 1:
        blocks = recurrent_kernel[None]
    else:
        H = recurrent_kernel.shape[0]
        blocks = np.stack([recurrent_kernel[:, g * H:(g + 1) * H] for g in range(n_gates)])
    blocks = np.ascontiguousarray(blocks)
    if not transposed:
        return blocks
    out = np.empty((blocks.shape[0], blocks.shape[2], blocks.shape[1]), blocks.dtype)
    for block, block_T in zip(blocks, out):         # 3x faster than NumPy's transposing copy
        transpose_into(block, block_T)
    return out


#: From this many units the per-step products run feature-major (see :func:`feature_major`):
#: 128 with AVX-512, 64 with AVX2 (:func:`scratchrnn.kernels.policy.feature_major_min_units`).
FEATURE_MAJOR_MIN_UNITS = policy.feature_major_min_units()


def feature_major(recurrent_kernel, dropout_mask):
    """Whether the loops compute their per-step products feature-major.

    ``z = h @ U`` for a block of b rows is a GEMM whose output is b × G·H.  OpenBLAS
    runs the same product 1.1–1.7x faster the other way round, ``zᵀ = Uᵀ hᵀ``, once
    H ≥ :data:`FEATURE_MAJOR_MIN_UNITS` (on the AVX-512 VM, one thread, b = 16 … 64:
    at H = 128 a step's product took 42 µs against 25 µs, at H = 512 1.58 ms against
    1.39 ms; on the AVX2 VM already at H = 64).  The two transposes that turn ``h`` into
    ``hᵀ`` and ``zᵀ`` back into ``z`` cost less than that: the LSTM's forward loop went
    from 5.5 to 4.6 ms at (32, 100, 128, 128), 28.9 to 25.2 at (64, 100, 256, 256) and
    96 to 88 at (128, 50, 512, 512), both forms in one process.  Below the threshold the
    transposes cost more than the products gain.  Per-gate recurrent dropout masks keep
    the row form.
    """
    return (recurrent_kernel.shape[0] >= FEATURE_MAJOR_MIN_UNITS
            and (dropout_mask is None or dropout_mask.shape[0] == 1))


def recurrent_operand(recurrent_kernel, n_gates, dropout_mask, backward=False):
    """``(blocks, feature_major)``: the recurrent kernel as a loop multiplies by it, and
    in which form (:func:`feature_major`).  Row-major, a forward multiplies by ``U`` and
    a backward by ``Uᵀ``; feature-major, the other way round."""
    fm = feature_major(recurrent_kernel, dropout_mask)
    return recurrent_blocks(recurrent_kernel, n_gates, dropout_mask, fm != backward), fm


@njit(**JIT)
def unit_order(n_units, n_gates, n_slices):
    """The column order of a units split: slice by slice, and within a slice gate by
    gate, the slice's units (``order[q]`` is the original column of column ``q``).

    Slice ``j`` holds units ``[a, e)`` (:func:`row_block` of the units) and its columns
    ``[G·a, G·e)``, so that the rows of ``Uᵀ`` it multiplies by, and the rows of ``U``
    its backward multiplies by, are one contiguous block.
    """
    order = np.empty(n_gates * n_units, np.int64)
    q = 0
    for j in range(n_slices):
        a, e = row_block(j, n_slices, n_units)
        for g in range(n_gates):
            for k in range(a, e):
                order[q] = g * n_units + k
                q += 1
    return order


def units_operand(recurrent_kernel, n_gates, n_slices, backward=False):
    """The recurrent kernel as a units split multiplies by it: ``Uᵀ`` with its rows in
    :func:`unit_order` (forward: slice ``j``'s rows ``[G·a, G·e)`` give its gates'
    ``zᵀ``), or, ``backward``, ``U`` with its columns in that order (rows ``[a, e)``
    give its units' ``dhᵀ = U dzᵀ``)."""
    order = unit_order(recurrent_kernel.shape[0], n_gates, n_slices)
    UT = np.empty(recurrent_kernel.shape[::-1], recurrent_kernel.dtype)
    transpose_into(np.ascontiguousarray(recurrent_kernel), UT)
    UT_ordered = UT[order]                              # whole rows: a copy at memcpy speed
    if not backward:
        return UT_ordered
    U_ordered = np.empty_like(recurrent_kernel, order="C")
    transpose_into(UT_ordered, U_ordered)
    return U_ordered


TILE = 16


@njit(**JIT)
def transpose_into(src, dst):
    """``dst[:] = src.T``, in TILE x TILE tiles: a tile's rows stay in the L1 cache, and
    loops of constant length let LLVM unroll them (0.3 ns an element, against 0.75 with
    the tile's bounds computed and 0.7–2.7 for ``dst[:] = src.T``)."""
    n, m = src.shape
    n_full, m_full = n - n % TILE, m - m % TILE
    for i0 in range(0, n_full, TILE):
        for j0 in range(0, m_full, TILE):
            for j in range(TILE):
                for i in range(TILE):
                    dst[j0 + j, i0 + i] = src[i0 + i, j0 + j]
    for i in range(n_full):                             # the ragged right-hand columns
        for j in range(m_full, m):
            dst[j, i] = src[i, j]
    for i in range(n_full, n):                          # the ragged bottom rows
        for j in range(m):
            dst[j, i] = src[i, j]


@njit(**JIT)
def product_scratch(like, rows, n_units, n_columns, feature_major):
    """The scratch buffers of :func:`project` and :func:`project_backward` for ``rows``
    rows: two (rows, H) per-gate buffers, then, when the products run feature-major,
    (H, rows) and (G·H, rows) transposes (empty otherwise)."""
    n = rows if feature_major else 0
    return (np.empty((rows, n_units), like.dtype), np.empty((rows, n_units), like.dtype),
            np.empty((n_units, n), like.dtype), np.empty((n_columns, n), like.dtype))


@njit(**JIT)
def _dot(a, w, out, feature_major, aT, outT):
    """``out[:] = a @ W``; feature-major, ``w`` is ``Wᵀ`` and the product ``(Wᵀ aᵀ)ᵀ``."""
    if feature_major:
        transpose_into(a, aT)
        np.dot(w, aT, outT)
        transpose_into(outT, out)
    else:
        np.dot(a, w, out)


@njit(**JIT)
def project(h, U, dropout_mask, r0, z, feature_major, scratch):
    """``z[:] = (h ⊙ m_g) @ U_g`` for every gate (``z = h @ U`` without dropout).

    h: (b, H), batch rows ``r0 …`` of the masks; U and ``feature_major``: from
    :func:`recurrent_operand`; z: (b, G·H) output; scratch: from :func:`product_scratch`.
    """
    h_masked, z_gate, hT, zT = scratch
    if dropout_mask is None:
        _dot(h, U[0], z, feature_major, hT, zT)
        return
    m = dropout_mask[:, r0:r0 + h.shape[0]]
    if U.shape[0] == 1:                     # one mask shared by every gate
        np.multiply(h, m[0], h_masked)
        _dot(h_masked, U[0], z, feature_major, hT, zT)
    else:
        H = h.shape[1]
        for g in range(U.shape[0]):
            np.multiply(h, m[g], h_masked)
            np.dot(h_masked, U[g], z_gate)
            z[:, g * H:(g + 1) * H] = z_gate


@njit(**JIT)
def project_backward(dz, UT, dropout_mask, r0, dh, feature_major, scratch):
    """``dh[:] = Σ_g (dz_g @ U_gᵀ) ⊙ m_g``, the gradient of :func:`project` w.r.t. ``h``.

    dz: (b, G·H), batch rows ``r0 …``; UT and ``feature_major``: from
    :func:`recurrent_operand` (``backward=True``); dh: (b, H) output; scratch: from
    :func:`product_scratch`.
    """
    dz_gate, dh_gate, dhT, dzT = scratch
    if dropout_mask is None:
        _dot(dz, UT[0], dh, feature_major, dzT, dhT)
        return
    m = dropout_mask[:, r0:r0 + dh.shape[0]]
    if UT.shape[0] == 1:
        _dot(dz, UT[0], dh, feature_major, dzT, dhT)
        dh *= m[0]
        return
    H = dh.shape[1]
    dh[:] = 0
    for g in range(UT.shape[0]):
        dz_gate[:] = dz[:, g * H:(g + 1) * H]
        np.dot(dz_gate, UT[g], dh_gate)
        dh += dh_gate * m[g]


# --- the GEMMs over all T·B rows, split by rows over the threads --------------------------
#
# The same products as :mod:`scratchrnn.ops.common` (which see for the maths), each split
# over the threads: ``matmul`` for ``a @ b``, ``matmul_tn`` for the sums over rows ``aᵀ b``.
# A block is at least MIN_ROWS rows: below that a thread's start costs more than it saves.

MIN_ROWS = 256


@njit(**PARALLEL_JIT)
def _matmul(a, b, out, threads):
    n = n_blocks(a.shape[0], threads, MIN_ROWS)
    for k in prange(n):
        r0, r1 = row_block(k, n, a.shape[0])
        np.dot(a[r0:r1], b, out[r0:r1])


def _blas_operand(x):
    """``x`` as BLAS reads it without a copy (C or Fortran order), copied otherwise."""
    return x if x.flags.c_contiguous or x.flags.f_contiguous else np.ascontiguousarray(x)


def matmul(a, b, threads, out=None):
    """``a @ b`` into ``out``, each of ``threads`` threads multiplying a block of ``a``'s
    rows."""
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    _matmul(np.ascontiguousarray(a), _blas_operand(b), out, threads)
    return out


@njit(**PARALLEL_JIT)
def _matmul_tn(a, b, threads):
    n = n_blocks(a.shape[0], threads, MIN_ROWS)
    partial = np.empty((n, a.shape[1], b.shape[1]), a.dtype)
    for k in prange(n):
        r0, r1 = row_block(k, n, a.shape[0])
        np.dot(a[r0:r1].T, b[r0:r1], partial[k])
    for k in range(1, n):
        partial[0] += partial[k]
    return partial[0]


def matmul_tn(a, b, threads):
    """``aᵀ @ b`` (a weight gradient: a sum over rows), each of ``threads`` threads
    summing a block of the rows; the blocks' partial products are added at the end."""
    return _matmul_tn(np.ascontiguousarray(a), np.ascontiguousarray(b), threads)


@njit(**JIT)
def column_sums(a):
    """``a.sum(axis=0)`` as whole-row additions, 3x faster than NumPy's here."""
    out = np.zeros(a.shape[1], a.dtype)
    for r in range(a.shape[0]):
        out += a[r]
    return out


def _masked_rows(x, mask):
    """``x ⊙ mask`` (mask broadcast over time) as a (T·B, F) matrix."""
    T, B, F = x.shape
    return (x if mask is None else x * mask).reshape(T * B, F)


def _gates(dropout_mask, n_columns):
    """``(mask, columns)`` per gate mask: :func:`scratchrnn.ops.common.gate_slices`."""
    return zip(dropout_mask, gate_slices(len(dropout_mask), n_columns // len(dropout_mask)))


def loop_bias(bias, zx):
    """The bias as the time loops add it, to each row of ``x @ kernel`` as they finish it
    (a pass over ``zx`` of its own was 5 ms of the (128, 50, 512, 512) LSTM's forward).
    Zeros without a bias, so that the loops compile once for both."""
    return np.zeros(zx.shape[-1], zx.dtype) if bias is None else np.ascontiguousarray(bias)


def input_projection(x, kernel, dropout_mask, zx, threads):
    """:func:`scratchrnn.ops.common.input_projection` without the bias (the loops add it:
    :func:`loop_bias`), into ``zx`` (T·B, G·H)."""
    if dropout_mask is None or dropout_mask.shape[0] == 1:
        m = None if dropout_mask is None else dropout_mask[0]
        matmul(_masked_rows(x, m), kernel, threads, zx)
    else:
        for m, cols in _gates(dropout_mask, kernel.shape[1]):
            zx[:, cols] = matmul(_masked_rows(x, m), kernel[:, cols], threads)


def sequence_inputs(x, mask, go_backwards, kernel, dropout_mask, workspace, threads, name):
    """A forward's time-major inputs, in buffers of ``workspace``: ``x`` (T, B, I), the
    mask (T, B) or None, and ``x @ kernel`` (T, B, G·H) without the bias, in the buffer
    ``name``: the one the time loop then finishes in place (adding the bias and ``h @ U``,
    activating), so that the loop streams through one array of the sequence's size, not
    two."""
    xs = time_major(x, go_backwards, workspace, "x")
    ms = None if mask is None else time_major(mask, go_backwards, workspace, "mask")
    if ms is not None:          # padding never reaches a result: ops.common.drop_padding
        np.copyto(xs, 0, where=np.logical_not(ms)[:, :, None])
    T, B, _ = xs.shape
    zx = workspace.get(name, (T, B, kernel.shape[1]), xs.dtype)
    input_projection(xs, kernel, dropout_mask, zx.reshape(T * B, -1), threads)
    return xs, ms, zx


def input_projection_backward(dzx, x, kernel, dropout_mask, threads):
    """:func:`scratchrnn.ops.common.input_projection_backward`; returns ``dx, dkernel,
    dbias`` (dbias always; the caller drops it without a bias)."""
    T, B, I = x.shape
    dz2 = dzx.reshape(T * B, -1)
    dbias = column_sums(dz2)
    if dropout_mask is None or dropout_mask.shape[0] == 1:
        m = None if dropout_mask is None else dropout_mask[0]
        dkernel = matmul_tn(_masked_rows(x, m), dz2, threads)
        dx = matmul(dz2, kernel.T, threads).reshape(T, B, I)
        if m is not None:
            dx *= m
        return dx, dkernel, dbias
    dkernel = np.empty_like(kernel)
    dx = np.zeros_like(x)
    for m, cols in _gates(dropout_mask, kernel.shape[1]):
        dz_g = np.ascontiguousarray(dz2[:, cols])
        dkernel[:, cols] = matmul_tn(_masked_rows(x, m), dz_g, threads)
        dx += matmul(dz_g, kernel[:, cols].T, threads).reshape(T, B, I) * m
    return dx, dkernel, dbias


def recurrent_kernel_gradient(h_prev, dz, dropout_mask, threads):
    """:func:`scratchrnn.ops.common.recurrent_kernel_gradient`."""
    T, B, H = h_prev.shape
    dz2 = dz.reshape(T * B, -1)
    if dropout_mask is None or dropout_mask.shape[0] == 1:
        m = None if dropout_mask is None else dropout_mask[0]
        return matmul_tn(_masked_rows(h_prev, m), dz2, threads)
    return np.concatenate([matmul_tn(_masked_rows(h_prev, m), np.ascontiguousarray(dz2[:, c]),
                                     threads)
                           for m, c in _gates(dropout_mask, dz2.shape[1])], axis=1)
