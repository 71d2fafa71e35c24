"""How a call of the numba backend spreads its work over the threads: a cost model.

A step of a recurrence multiplies the state ``h`` (B × H) by the recurrent kernel
``U`` (H × G·H) and then runs elementwise gate arithmetic; the steps run one after the
other.  Three ways to put T threads on that:

``rows`` — the **batch split**.  Sequences are independent, so each thread takes a
    block of ⌈B/T⌉ rows and runs the whole time loop for them with a one-thread BLAS;
    the threads meet once, at the end.  But every thread multiplies by *all* of ``U``
    every step: with many threads and few rows each, the product is a short, inefficient
    GEMM and T copies of ``U`` stream through the caches each step.

``units`` — the **weight-stationary split** (the CPU form of "Persistent RNNs", Diamos
    et al., ICML 2016; oneDNN splits the same way).  Each thread owns H/T hidden units:
    its columns of every gate of ``U``, which stay in its own cache for the whole
    sequence.  Each step it multiplies the whole batch by its slice and finishes its
    units' gates; the threads meet once per step (a ``prange`` launch, ~3 µs), because
    every thread's next product reads all of ``h``.  A backward meets once per step too:
    each thread computes its units' ``dz``, then its units' rows of ``dz Uᵀ``.

``blas`` — BLAS's own threads split each per-step product by columns, the gate
    arithmetic serial.  It is the units split done by the library, with ``U`` repacked
    every step and no parallel gate arithmetic; it is kept for the cells that have no
    units split (GRU, SimpleRNN) on a forward whose kernel is too large to stream
    (:data:`BLAS_MIN_BYTES`).  The LSTM no longer takes it: at (64, 25, 1024, 1024) on
    the 2-core VM its forward took 237 ms there against 204 split by rows and 210 by
    units, and the backward after it 468 against 402, BLAS's pool still spinning when
    Numba's threads started (``python -m benchmarks.splits``).

:func:`choose` prices a step of ``rows`` and ``units`` and takes the cheaper:

* a thread's product costs ``2·m·H·n / (F·e(m))`` for ``m`` output rows and ``n``
  columns, where ``F`` is a core's peak (8 float32 lanes per FMA with AVX2, 16 with
  AVX-512, two FMAs a cycle) and ``e(m) = m / (m + M_HALF)`` the efficiency of a GEMM
  that short (OpenBLAS reached about two thirds of its peak at 16 rows, here);
* reading a thread's share of ``U``: from its L2 if it fits there, else from the shared
  caches and memory, whose bandwidth all the threads streaming it divide;
* a units split pays :data:`SYNC_SECONDS` a step for the threads to meet.

The constants are orders of magnitude, not fits: the model need only rank the two
splits.  On this project's 2-core VMs the two measured within noise of each other at
every benchmark shape (AVX2: LSTM forward (128, 50, 512, 512) 170 ms both, backward
336 against 340; (32, 50, 10, 64) forward 1.2 against 1.3 ms, backward 2.1 against
1.8) and the model calls the small shapes for ``rows``, the large for ``units``; at 16
threads with 8 rows each it prices ``rows`` several times dearer, as the 16-core
measurements in the README found it.

**Load.**  A thread on a core that another process is using runs at a fraction of its
speed, and every other thread waits for it: at the end of a rows split, every step of
a units split.  On the 2-core VM with a busy loop on the other core, the LSTM at
(32, 50, 10, 64) took 8.0–9.6 ms forward+backward on two threads against 5.6–6.3 on one.
So a call runs on no more threads than there are cores not busy with other processes
(:func:`free_cores`, from ``/proc/stat``, read at most every :data:`LOAD_WINDOW` seconds).
A different thread count sums in another order (the last bits of float32 results): for
the same bits call after call whatever the load, turn this off with
``SCRATCHRNN_FOLLOW_LOAD=0`` in the environment or :func:`set_follow_load`.
"""

import collections
import contextlib
import functools
import os
import threading
import time

#: How many rows make a GEMM half as efficient as a long one (``e(m) = m / (m + M_HALF)``).
M_HALF = 8
#: What a units split pays per step beyond its product, and per thread beyond the first:
#: the meeting (a ``prange`` launch, 2.8 µs in a tight loop) and waiting for the slowest
#: thread, the transposes.  Measured on the 2-core VM, its step cost 20–40 µs more than the
#: rows split's at (32, 50, 10, 64) and (32, 100, 128, 128).
SYNC_SECONDS, SYNC_SECONDS_PER_THREAD = 20e-6, 0.5e-6
#: How much cheaper the model must price a units split to take it.  On the 2-core VM it
#: priced the units split 7–20% cheaper at (64, 100, 256, 256), (128, 50, 512, 512) and
#: (64, 25, 1024, 1024), and the two measured within noise of each other (±6%): the
#: model is not that precise, and the rows split has no meetings to lose under load.
UNITS_MARGIN = 1.25
#: Bandwidths: a core reading its own L2, and the shared caches and memory, all cores.
L2_BYTES_PER_SECOND, SHARED_BYTES_PER_SECOND = 100e9, 40e9
#: Fewest hidden units a thread of a units split owns: below, the split pays for its
#: meetings with nothing to gain.
MIN_UNITS_PER_THREAD = 16
#: Recurrent kernels from this size give a forward without a units split to BLAS's threads
#: (an LSTM at H = 1024 is 16 MB): a one-thread BLAS call repacks all of ``U`` each step,
#: which costs as much as the product for 32 rows.
BLAS_MIN_BYTES = 8 * 2 ** 20
#: Seconds between two readings of the machine's load (reading it costs ~30 µs).
LOAD_WINDOW = 0.25
#: A window longer than this says little about the load now (the process was idle, and
#: what ran meanwhile may have stopped): the cores count as free until a fresh one.
STALE_WINDOW = 0.5


Machine = collections.namedtuple("Machine", "flops_per_second l2_bytes lanes")
Machine.__doc__ = """What the cost model needs of a core: its float32 peak (FLOP/s; half for
float64), its L2 cache (bytes) and its float32 vector lanes (8: AVX2, 16: AVX-512)."""

Plan = collections.namedtuple("Plan", "path threads")
Plan.__doc__ = """A call's split: ``path`` ``"rows"``, ``"units"`` or ``"blas"``, on ``threads``
threads (Numba's, or BLAS's for ``"blas"``)."""


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            line = next(line for line in f if line.startswith(("flags", "Features")))
        return set(line.split(":", 1)[1].split())
    except (OSError, StopIteration):
        return set()


def _l2_bytes():
    """The L2 cache of cpu0 from sysfs; 512 KB where it cannot be read."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in sorted(os.listdir(base)):
            with open(f"{base}/{index}/level") as f:
                if f.read().strip() != "2":
                    continue
            with open(f"{base}/{index}/size") as f:
                size = f.read().strip()
            scale = {"K": 2 ** 10, "M": 2 ** 20}.get(size[-1], 1)
            return int(size.rstrip("KM")) * scale
    except (OSError, ValueError):
        pass
    return 512 * 2 ** 10


@functools.cache
def this_machine():
    """:class:`Machine` for the CPU this runs on: float32 lanes from the vector flags
    (AVX-512: 16, AVX2: 8, else 4) × 2 (an FMA is two flops) × 2 FMA units × 2.5 GHz."""
    flags = _cpu_flags()
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    return Machine(flops_per_second=lanes * 2 * 2 * 2.5e9, l2_bytes=_l2_bytes(), lanes=lanes)


def feature_major_min_units(machine=None):
    """From how many units the per-step products run feature-major, ``zᵀ = Uᵀ hᵀ``
    between two tiled transposes (:func:`scratchrnn.kernels.common.feature_major`).

    OpenBLAS computes a product of a few rows faster that way round, once the product
    gains more than the transposes cost, and where that happens depends on the kernels
    the CPU gets.  With AVX-512 (OpenBLAS's SkylakeX kernels, the 2-core VM of that
    kind): from H = 128, the transposes costing more than the products gain at H = 64.
    With AVX2 (Haswell kernels, the AVX2 VM, 2 threads of 16 rows, ms forward /
    backward, row-major against feature-major): from H = 64 — the LSTM at
    (32, 50, 10, 64) 1.43 / 2.07 against 1.12 / 1.77, the GRU 1.12 / 1.93 against
    0.89 / 1.65, the SimpleRNN 0.47 / 0.61 against 0.44 / 0.55 — while at H = 32 the
    row form stays faster (the LSTM at (32, 50, 10, 32) 0.67 / 0.94 against 0.74 / 1.04).
    """
    machine = machine or this_machine()
    return 128 if machine.lanes >= 16 else 64


def _product_seconds(m, k, n, flops_per_second):
    """A thread's ``(m × k) @ (k × n)`` at the efficiency of an ``m``-row GEMM."""
    return 2.0 * m * k * n / (flops_per_second * m / (m + M_HALF))


def _read_seconds(nbytes, readers, machine):
    """``readers`` threads each reading its own ``nbytes`` of weights once."""
    if nbytes <= machine.l2_bytes:
        return nbytes / L2_BYTES_PER_SECOND
    return nbytes * readers / SHARED_BYTES_PER_SECOND


def step_seconds(path, batch, units, gates, itemsize, threads, machine):
    """The model's time for one step of ``path`` (``"rows"`` or ``"units"``)."""
    flops = machine.flops_per_second * (4 / itemsize)        # float64: half the lanes
    columns = gates * units
    if path == "rows":
        blocks = max(1, min(threads, batch))
        rows = -(-batch // blocks)
        return (_product_seconds(rows, units, columns, flops)
                + _read_seconds(units * columns * itemsize, blocks, machine))
    slices = unit_slices(units, threads)
    share = -(-columns // slices)
    return (_product_seconds(batch, units, share, flops)
            + _read_seconds(units * share * itemsize, slices, machine)
            + SYNC_SECONDS + SYNC_SECONDS_PER_THREAD * (slices - 1))


def unit_slices(units, threads):
    """How many slices of hidden units a units split makes: one per thread, each at
    least :data:`MIN_UNITS_PER_THREAD` units."""
    return max(1, min(threads, units // MIN_UNITS_PER_THREAD))


def choose(batch, units, gates, itemsize, threads, *, backward, has_units_split,
           machine=None):
    """The split for one call (see the module's docstring), on at most ``threads``.

    ``has_units_split``: whether the cell has a units split for this call (the LSTM
    without per-gate recurrent dropout).  Such a call takes the units split where the
    model prices it :data:`UNITS_MARGIN` times cheaper than the rows split, and the rows
    split otherwise.  A call without one hands a forward with a kernel of
    :data:`BLAS_MIN_BYTES` or more to BLAS's threads, and splits the batch otherwise.
    One thread always runs one block of rows.
    """
    machine = machine or this_machine()
    if threads == 1:
        return Plan("rows", 1)
    slices = unit_slices(units, threads)
    if has_units_split and slices > 1:
        rows_cost, units_cost = (
            step_seconds(path, batch, units, gates, itemsize, threads, machine)
            for path in ("rows", "units"))
        if units_cost * UNITS_MARGIN < rows_cost:
            return Plan("units", slices)
    if (not backward and not has_units_split
            and units * gates * units * itemsize >= BLAS_MIN_BYTES):
        return Plan("blas", threads)
    return Plan("rows", max(1, min(threads, batch)))


# --- the load: cores busy with other processes ---------------------------------------------

class _Load:
    """The latest reading of the machine's load, shared by the Python threads."""
    lock = threading.Lock()
    when = None          # time.monotonic() of the reading
    busy = None          # (all CPUs' busy seconds, this process's CPU seconds)
    others = 0.0         # cores' worth of work by other processes over the last window


def _busy_seconds():
    """(seconds every CPU has spent busy, including time stolen by the hypervisor;
    seconds this process has run), or None where ``/proc`` is not there."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    busy = (user + nice + system + irq + softirq + steal) / ticks
    own = os.times()
    return busy, own.user + own.system


def others_busy(now=None, reading=None):
    """How many cores' worth of work other processes did over the last window (a
    float), refreshed at most every :data:`LOAD_WINDOW` seconds; 0 after a gap longer
    than :data:`STALE_WINDOW` (an idle spell: the benchmark's backends taking turns, a
    server between requests), until the next window.  ``now`` and ``reading``
    (:func:`_busy_seconds`) are for tests."""
    now = time.monotonic() if now is None else now
    state = _Load
    with state.lock:
        if state.when is not None and now - state.when < LOAD_WINDOW:
            return state.others
        reading = _busy_seconds() if reading is None else reading
        if reading is None:
            return 0.0
        elapsed = None if state.when is None else now - state.when
        if elapsed is None or elapsed > STALE_WINDOW:
            state.others = 0.0      # no recent window: assume the cores free until one is read
        else:
            others = (reading[0] - state.busy[0]) - (reading[1] - state.busy[1])
            state.others = max(0.0, others / elapsed)
        state.when, state.busy = now, reading
        return state.others


def _follow_load_from(environ):
    value = environ.get("SCRATCHRNN_FOLLOW_LOAD", "1")
    if value not in ("0", "1"):
        raise ValueError(f"SCRATCHRNN_FOLLOW_LOAD must be '0' or '1', got {value!r}")
    return value == "1"


_follow_load = _follow_load_from(os.environ)


def set_follow_load(follow):
    """Whether calls run on the free cores only (True, the default: see the module's
    docstring) or on every thread asked for, whatever the load (False: the same bits
    call after call).  Returns the previous setting."""
    global _follow_load
    if not isinstance(follow, bool):
        raise TypeError(f"`follow` must be a bool, got {type(follow).__name__}")
    before, _follow_load = _follow_load, follow
    return before


def usable_cores():
    """The cores this process may run on (a container or ``taskset`` may allow fewer)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                      # not Linux
        return os.cpu_count() or 1


def free_cores():
    """Cores not busy with other processes: usable cores less the others' load, rounded
    (a core half used by another process still holds back a thread that waits on it).
    Every usable core when the load is not followed (:func:`set_follow_load`)."""
    if not _follow_load:
        return usable_cores()
    return max(1, usable_cores() - int(others_busy() + 0.5))


# --- for tests and benchmarks ----------------------------------------------------------------

class _Forced(threading.local):
    plan = None


_forced = _Forced()


@contextlib.contextmanager
def forced(path, blocks=None):
    """Run every call in this Python thread on ``path`` (``"rows"`` or ``"units"``)
    where the cell has it, whatever the model says, in ``blocks`` row blocks or unit
    slices (default: one per thread, as many as there are rows or units): for the tests
    that hold the splits equal and the benchmarks that compare them."""
    if path not in ("rows", "units"):
        raise ValueError(f"`path` must be 'rows' or 'units', got {path!r}")
    if blocks is not None and (not isinstance(blocks, int) or blocks < 1):
        raise ValueError(f"`blocks` must be a positive int or None, got {blocks!r}")
    before, _forced.plan = _forced.plan, (path, blocks)
    try:
        yield
    finally:
        _forced.plan = before


def forced_plan(batch, units, threads, has_units_split):
    """The :class:`Plan` :func:`forced` set in this thread for such a call, or None."""
    if _forced.plan is None:
        return None
    path, blocks = _forced.plan
    if path == "units" and not has_units_split:
        path = "rows"
    most = units if path == "units" else batch
    return Plan(path, max(1, min(blocks or threads, most)))
