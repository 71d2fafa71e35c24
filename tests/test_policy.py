"""The threading policy of the numba backend: which split the cost model picks, and the
load reading that caps a call's threads (``scratchrnn/kernels/policy.py``)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn.kernels import policy

from .cells import examples

AVX2 = policy.Machine(flops_per_second=80e9, l2_bytes=512 * 2 ** 10, lanes=8)
AVX512 = policy.Machine(flops_per_second=160e9, l2_bytes=2 * 2 ** 20, lanes=16)


def lstm(batch, units, threads, *, backward=False, has_units_split=True, machine=AVX2,
         itemsize=4):
    return policy.choose(batch, units, 4, itemsize, threads, backward=backward,
                         has_units_split=has_units_split, machine=machine)


def test_one_thread_runs_one_block_of_rows():
    assert lstm(128, 512, 1) == ("rows", 1)
    assert lstm(1, 1024, 1, has_units_split=False) == ("rows", 1)


def test_two_threads_split_the_batch():
    """On two cores the units split's gains are within the model's error: the rows
    split, also at H = 1024, where a cell without a units split gives a forward to
    BLAS's threads."""
    for batch, units in ((1, 32), (32, 64), (32, 128), (64, 256), (128, 512), (64, 1024)):
        for backward in (False, True):
            assert lstm(batch, units, 2, backward=backward) == ("rows", min(2, batch))


def test_many_threads_with_few_rows_each_split_the_units():
    """The 16-core case of the issue: 8 rows a thread streaming 4 MB a step, against
    32 units a thread whose 256 KB stay in its L2."""
    rows = policy.step_seconds("rows", 128, 512, 4, 4, 16, AVX2)
    units = policy.step_seconds("units", 128, 512, 4, 4, 16, AVX2)
    assert units * 4 < rows
    for batch, units in ((64, 256), (128, 512), (64, 1024)):
        for threads in (4, 8, 16):
            for backward in (False, True):
                assert lstm(batch, units, threads, backward=backward) == ("units", threads)
    assert lstm(32, 64, 16) == ("rows", 16)            # its 64 KB kernel fits every L2


def test_slices_keep_a_minimum_of_units():
    assert policy.unit_slices(128, 16) == 8                 # 16 units each, not 8
    assert policy.unit_slices(20, 2) == 1
    assert lstm(64, 256, 16) == ("units", 16)
    assert lstm(64, 256, 32) == ("units", 16)               # 16 units each, not 8


def test_without_a_units_split_a_large_forward_goes_to_blas():
    """The GRU and SimpleRNN have no units split: past BLAS_MIN_BYTES of recurrent kernel
    a forward hands BLAS the threads; a backward splits the batch."""
    assert lstm(64, 1024, 2, has_units_split=False) == ("blas", 2)
    assert lstm(64, 1024, 2, has_units_split=False, backward=True) == ("rows", 2)
    assert lstm(64, 256, 2, has_units_split=False) == ("rows", 2)


def test_the_machine_decides():
    """A core twice as fast with four times the L2 (an AVX-512 server part against the
    AVX2 VM) keeps the batch split where the AVX2 core splits the units: its products
    shrink while the meetings do not, and at H = 192 or 256 the whole kernel fits its
    L2.  The same shapes, 8 threads."""
    def path(b, h, machine):
        return lstm(b, h, 8, machine=machine).path
    edge = [(b, h) for b in (16, 32, 64, 128) for h in (64, 128, 192, 256)
            if path(b, h, AVX2) == "units" and path(b, h, AVX512) == "rows"]
    assert (32, 192) in edge and (64, 256) in edge
    for b, h in edge:
        assert (policy.step_seconds("units", b, h, 4, 4, 8, AVX512) * policy.UNITS_MARGIN
                >= policy.step_seconds("rows", b, h, 4, 4, 8, AVX512))


@settings(deadline=None, max_examples=examples(100))
@given(batch=st.integers(1, 512), units=st.integers(1, 2048), threads=st.integers(1, 64),
       backward=st.booleans(), has_units_split=st.booleans(), itemsize=st.sampled_from([4, 8]))
def test_every_plan_is_runnable_and_units_only_where_clearly_cheaper(
        batch, units, threads, backward, has_units_split, itemsize):
    plan = lstm(batch, units, threads, backward=backward, has_units_split=has_units_split,
                itemsize=itemsize)
    if plan.path == "rows":
        assert 1 <= plan.threads <= min(threads, batch)
    elif plan.path == "units":
        assert has_units_split and 2 <= plan.threads <= threads
        assert units // plan.threads >= policy.MIN_UNITS_PER_THREAD
        costs = [policy.step_seconds(p, batch, units, 4, itemsize, threads, AVX2)
                 for p in ("units", "rows")]
        assert costs[0] * policy.UNITS_MARGIN < costs[1]
    else:
        assert plan == ("blas", threads) and not (backward or has_units_split)
        assert threads > 1
        assert units * 4 * units * itemsize >= policy.BLAS_MIN_BYTES


def test_this_machine_reads_the_vector_width_and_l2(monkeypatch):
    policy.this_machine.cache_clear()
    monkeypatch.setattr(policy, "_cpu_flags", lambda: {"avx2", "fma", "avx512f"})
    monkeypatch.setattr(policy, "_l2_bytes", lambda: 2 ** 20)
    assert policy.this_machine() == (16 * 2 * 2 * 2.5e9, 2 ** 20, 16)
    policy.this_machine.cache_clear()
    monkeypatch.setattr(policy, "_cpu_flags", lambda: {"avx2"})
    assert policy.this_machine().flops_per_second == 8 * 2 * 2 * 2.5e9
    policy.this_machine.cache_clear()
    monkeypatch.undo()
    assert policy.this_machine().l2_bytes >= 32 * 2 ** 10          # the real one reads


@pytest.fixture
def fresh_load(monkeypatch):
    """A load reading with no history, restored after the test."""
    for name, value in (("when", None), ("busy", None), ("others", 0.0)):
        monkeypatch.setattr(policy._Load, name, value)


def test_others_busy_is_the_machine_less_this_process(fresh_load):
    """CPU seconds of the whole machine less this process's, per second of the window."""
    assert policy.others_busy(now=10.0, reading=(100.0, 5.0)) == 0.0      # no window yet
    # 0.4 s later: the machine did 0.7 CPU-seconds, this process 0.3 -> 1 core's worth.
    assert policy.others_busy(now=10.4, reading=(100.7, 5.3)) == pytest.approx(1.0)
    # Within LOAD_WINDOW the last value stands, whatever the reading.
    assert policy.others_busy(now=10.5, reading=(999.0, 5.3)) == pytest.approx(1.0)
    # A quiet window.
    assert policy.others_busy(now=10.8, reading=(101.1, 5.7)) == pytest.approx(0.0)


def test_a_stale_window_counts_the_cores_free(fresh_load):
    """After an idle spell longer than STALE_WINDOW, what ran meanwhile may have stopped."""
    policy.others_busy(now=0.0, reading=(0.0, 0.0))
    assert policy.others_busy(now=0.3, reading=(0.6, 0.0)) == pytest.approx(2.0)
    assert policy.others_busy(now=5.0, reading=(9.0, 0.0)) == 0.0
    assert policy.others_busy(now=5.3, reading=(9.3, 0.3)) == pytest.approx(0.0)


def test_free_cores_rounds_the_others_load(monkeypatch):
    monkeypatch.setattr(policy, "usable_cores", lambda: 2)
    policy.set_follow_load(True)                        # (conftest turns it off)
    for others, free in ((0.0, 2), (0.4, 2), (0.6, 1), (1.0, 1), (5.0, 1)):
        monkeypatch.setattr(policy, "others_busy", lambda others=others: others)
        assert policy.free_cores() == free
    policy.set_follow_load(False)
    assert policy.free_cores() == 2                     # the load not followed


def test_the_load_setting_and_its_errors():
    assert policy._follow_load_from({}) is True
    assert policy._follow_load_from({"SCRATCHRNN_FOLLOW_LOAD": "0"}) is False
    with pytest.raises(ValueError, match="SCRATCHRNN_FOLLOW_LOAD must be '0' or '1', "
                                         "got 'no'"):
        policy._follow_load_from({"SCRATCHRNN_FOLLOW_LOAD": "no"})
    with pytest.raises(TypeError, match="`follow` must be a bool, got int"):
        policy.set_follow_load(1)


def test_forced_plans_and_their_arguments():
    with policy.forced("units", 3):
        assert policy.forced_plan(8, 2, 4, True) == ("units", 2)       # no more than units
        assert policy.forced_plan(8, 64, 4, False) == ("rows", 3)      # no units split
    with policy.forced("rows"):
        assert policy.forced_plan(3, 64, 4, True) == ("rows", 3)
    assert policy.forced_plan(3, 64, 4, True) is None
    with pytest.raises(ValueError, match="`path` must be 'rows' or 'units', got 'cols'"):
        with policy.forced("cols"):
            pass
    with pytest.raises(ValueError, match="`blocks` must be a positive int or None, got 0"):
        with policy.forced("rows", 0):
            pass


def test_the_units_order_groups_each_slice_gate_by_gate():
    from scratchrnn.kernels.common import unit_order, units_operand
    # H = 5 in 2 slices: units [0, 2) and [2, 5); 2 gates.
    np.testing.assert_array_equal(unit_order(5, 2, 2), [0, 1, 5, 6, 2, 3, 4, 7, 8, 9])
    U = np.arange(5 * 10, dtype=np.float64).reshape(5, 10)
    order = unit_order(5, 2, 2)
    np.testing.assert_array_equal(units_operand(U, 2, 2), U.T[order])
    np.testing.assert_array_equal(units_operand(U, 2, 2, backward=True), U[:, order])


def test_the_products_turn_feature_major_where_the_kernels_gain():
    assert policy.feature_major_min_units(AVX512) == 128
    assert policy.feature_major_min_units(AVX2) == 64
