"""The Numba backend equals the NumPy reference: outputs, final states, every gradient.

``scratchrnn.kernels`` compiles the time loops of ``scratchrnn.ops``; the two must agree
over every option.  float64 kernels use the exact activations, so they agree to
rounding (≤ 1e-12 normalised); float32 kernels use a rational tanh (|error| < 3e-7),
so they agree to ≤ 1e-5, the float32 parity bound.  Each backend's backward also
accepts the other's forward cache (they share the cache type).
"""

import contextlib
import dataclasses
import os
import subprocess
import sys
import types

import numba
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_info, threadpool_limits

import scratchrnn as sr
from scratchrnn import ops
from scratchrnn.kernels import common, gru, lstm, policy, simple_rnn
from scratchrnn.ops import activations as act

from .cells import CELLS, Options, Problem, backward, examples, forward, options

kernels = types.SimpleNamespace(**{
    name: getattr(module, name)
    for module, cell in ((simple_rnn, "simple_rnn"), (lstm, "lstm"), (gru, "gru"))
    for name in (f"{cell}_forward", f"{cell}_backward")
})

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


def normalised_error(a, b):
    """max |a - b| / max(1, max |b|): relative for large values, absolute for small."""
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def as_dtype(problem, dtype):
    cast = {k: v.astype(dtype) for k, v in problem.params.items()}
    extras = [None if m is None else m.astype(dtype) if m.dtype != bool else m
              for m in (problem.mask, problem.dropout_mask, problem.recurrent_dropout_mask)]
    return cast, extras, [u.astype(dtype) for u in problem.upstream]


def run(impl, o, params, extras, upstream):
    outputs, cache = forward(o, params, *extras, impl=impl)
    return outputs, backward(o, params, cache, upstream, impl=impl)


PRODUCTS = ("row-major", "feature-major")


@contextlib.contextmanager
def product_form(form):
    """The kernels' per-step products in ``form`` at every size (by default the form
    depends on H: :func:`scratchrnn.kernels.common.feature_major`)."""
    before = common.FEATURE_MAJOR_MIN_UNITS
    common.FEATURE_MAJOR_MIN_UNITS = 0 if form == "feature-major" else 2 ** 62
    try:
        yield
    finally:
        common.FEATURE_MAJOR_MIN_UNITS = before


def assert_backends_agree(o, dtype, drawn=False):
    """Outputs, final states and gradients agree to TOLERANCE.  ``drawn``: the problem
    is a hypothesis draw, which an overflowing reference rejects."""
    params, extras, upstream = as_dtype(Problem(o), dtype)
    ref_out, ref_grads = run(ops, o, params, extras, upstream)
    # An exponential activation can overflow: then there is nothing to compare.
    finite = all(np.isfinite(v).all() for v in list(ref_out) + list(ref_grads.values()))
    if drawn:
        assume(finite)
    assert finite, "the NumPy reference overflowed"
    out, grads = run(kernels, o, params, extras, upstream)
    for name, a, b in [("output", out[0], ref_out[0])] + [
            (f"state {i}", a, b) for i, (a, b) in enumerate(zip(out[1:], ref_out[1:]))] + [
            (f"d{k}", grads[k], ref_grads[k]) for k in ref_grads]:
        assert a.dtype == dtype, f"{name}: dtype {a.dtype}, expected {dtype}"
        err = normalised_error(a, b)
        assert err <= TOLERANCE[dtype], f"{name}: numba differs from numpy by {err:.2e}"


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell", CELLS)
@settings(deadline=None, max_examples=examples(40))
@given(data=st.data())
def test_numba_equals_numpy(cell, dtype, product, data):
    o = data.draw(options(cell))
    # exp feeding exp amplifies rounding (d exp(a) / exp(a) = da with a ~ 1e2): that is
    # the problem's conditioning, not a kernel's error.  float32 skips every exponential
    # activation, float64 the cells whose every activation is one (one LSTM of them, in
    # the gates' and the cell's, differed by 1.02e-12 when the additions were reordered).
    exponentials = [a == act.EXPONENTIAL for a in (o.activation, o.recurrent_activation)]
    assume(not (any(exponentials) if dtype == np.float32 else all(exponentials)))
    with product_form(product):
        assert_backends_agree(o, dtype, drawn=True)


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("cell", CELLS)
def test_a_larger_float32_problem(cell, product):
    """Long enough (T = 40, H = 48) for rounding to compound over the steps."""
    with product_form(product):
        assert_backends_agree(Options(cell=cell, batch=7, timesteps=40, input_dim=9, units=48,
                                      mask=True, seed=3), np.float32)


@pytest.mark.parametrize("slices", [None, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(deadline=None, max_examples=examples(30))
@given(data=st.data())
def test_the_units_split_equals_numpy(dtype, slices, data):
    """The LSTM's weight-stationary split (:mod:`scratchrnn.kernels.policy`) forced at
    every size: a slice of hidden units per thread, or three (as many as there are
    units, 1 to 3)."""
    o = dataclasses.replace(data.draw(options("lstm")), recurrent_dropout_gates=0)
    assume(act.EXPONENTIAL not in (o.activation, o.recurrent_activation)
           or dtype == np.float64)
    with policy.forced("units", slices):
        assert_backends_agree(o, dtype, drawn=True)


@pytest.mark.parametrize("slices", [2, 5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_units_split_on_a_larger_problem(dtype, slices):
    """T = 40 steps of H = 48 units in uneven slices (48 / 5), masked."""
    with policy.forced("units", slices):
        assert_backends_agree(Options(cell="lstm", batch=7, timesteps=40, input_dim=9, units=48,
                                      mask=True, go_backwards=True, seed=6), dtype)


UNITS_SPLIT_CHILD = """
import sys, numba, numpy as np
sys.path.insert(0, {root!r})
from tests.cells import Options, Problem, backward, forward
from scratchrnn.kernels import lstm, policy
policy.free_cores = lambda: 8           # run the threads asked for, more than the cores
o = Options(cell="lstm", batch=9, timesteps=6, input_dim=4, units=20, mask=True, seed=7)
p = Problem(o)
extras = p.mask, p.dropout_mask, p.recurrent_dropout_mask
ref_out, ref_cache = forward(o, p.params, *extras)
ref = list(ref_out) + list(backward(o, p.params, ref_cache, p.upstream).values())
for threads in (4, 8):
    numba.set_num_threads(threads)
    for path in ("rows", "units"):
        with policy.forced(path):
            out, cache = forward(o, p.params, *extras, impl=lstm)
            got = list(out) + list(backward(o, p.params, cache, p.upstream, impl=lstm).values())
        print(threads, path, max(float(np.max(np.abs(a - b))) for a, b in zip(got, ref)))
"""


def test_both_splits_on_more_threads_than_cores():
    """4 and 8 threads, in a child started with NUMBA_NUM_THREADS=8 (Numba's cap)."""
    env = dict(os.environ, NUMBA_NUM_THREADS="8")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.run([sys.executable, "-c", UNITS_SPLIT_CHILD.format(root=root)], env=env,
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr
    rows = [line.split() for line in child.stdout.split("\n") if line]
    assert [(t, path) for t, path, _ in rows] == [
        ("4", "rows"), ("4", "units"), ("8", "rows"), ("8", "units")]
    for _, _, err in rows:
        assert float(err) <= 1e-12


@pytest.mark.parametrize("cell", CELLS)
def test_the_feature_major_products_run_at_their_own_size(cell):
    """H at the machine's threshold (64 or 128), where the default switches form; B = 33
    makes ragged transpose tiles."""
    assert_backends_agree(Options(cell=cell, batch=33, timesteps=3, input_dim=5,
                                  units=common.FEATURE_MAJOR_MIN_UNITS,
                                  mask=True, seed=4), np.float32)


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("cell", CELLS)
def test_backward_accepts_the_other_backends_cache(cell, product):
    o = Options(cell=cell, batch=3, timesteps=5, mask=True, recurrent_dropout_gates=1, seed=1)
    p = Problem(o)
    _, numpy_cache = forward(o, p.params, p.mask, p.dropout_mask, p.recurrent_dropout_mask)
    with product_form(product):
        _, numba_cache = forward(o, p.params, p.mask, p.dropout_mask, p.recurrent_dropout_mask,
                                 impl=kernels)
        a = backward(o, p.params, numba_cache, p.upstream, impl=ops)
        b = backward(o, p.params, numpy_cache, p.upstream, impl=kernels)
    for k in a:
        assert normalised_error(a[k], b[k]) <= 1e-12, k


@pytest.mark.parametrize("layer_class", [sr.layers.SimpleRNN, sr.layers.LSTM, sr.layers.GRU])
def test_layer_backends_agree(layer_class):
    """The layers run the backend they are given, and both give the same numbers."""
    x = np.random.default_rng(0).normal(size=(4, 6, 3))
    mask = np.ones((4, 6), bool)
    mask[1, 4:] = False
    results = []
    for backend in ("numpy", "numba"):
        layer = layer_class(5, return_sequences=True, return_state=True, seed=7,
                            dtype="float64", backend=backend)
        outs = layer(x, mask=mask)
        dx = layer.backward([np.ones_like(o) for o in outs])
        results.append(outs + [dx] + layer.get_gradients())
    for a, b in zip(*results):
        assert normalised_error(a, b) <= 1e-12


def test_global_default_backend(monkeypatch):
    layer = sr.layers.LSTM(2)
    assert sr.get_backend() == "numpy"
    assert layer.ops is ops.lstm
    sr.set_backend("numba")
    try:
        assert layer.ops is lstm
        assert sr.layers.LSTM(2, backend="numpy").ops is ops.lstm
    finally:
        sr.set_backend("numpy")
    with pytest.raises(ValueError, match="`backend` must be one of .*'cuda'"):
        sr.set_backend("cuda")


@pytest.mark.parametrize("layer_class", [sr.layers.SimpleRNN, sr.layers.LSTM, sr.layers.GRU])
def test_reused_buffers_leak_nothing_between_calls(layer_class):
    """A numba layer reuses its buffers from call to call: the arrays it hands out must
    not change with the next call, and a backward must use its own call's cache."""
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=(2, 3, 5, 4))
    layer = layer_class(3, return_sequences=True, seed=0, dtype="float64", backend="numba")
    reference = layer_class(3, return_sequences=True, seed=0, dtype="float64",
                            backend="numpy")
    out1 = layer(x1)
    kept = out1.copy()
    dx1 = layer.backward(np.ones_like(out1))
    out2 = layer(x2)
    np.testing.assert_array_equal(out1, kept)
    dx2 = layer.backward(np.ones_like(out2))
    np.testing.assert_allclose(dx1, reference.backward(np.ones_like(reference(x1))),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx2, reference.backward(np.ones_like(reference(x2))),
                               rtol=1e-12, atol=1e-12)
    assert not np.shares_memory(dx1, dx2)


# --- threads: each runs the time loop for a block of the batch's rows --------------------

@pytest.fixture
def numba_threads():
    """Every thread count Numba can run here, restoring the count afterwards."""
    most = numba.config.NUMBA_NUM_THREADS
    if most < 2:
        pytest.skip("one CPU: Numba cannot run a second thread here")
    before = numba.get_num_threads()
    yield range(1, most + 1)
    numba.set_num_threads(before)


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("gates", [0, 1, "each"])
@pytest.mark.parametrize("cell", CELLS)
def test_results_do_not_depend_on_the_thread_count(cell, gates, product, numba_threads):
    """Blocks of uneven sizes (B = 5) with masks and dropout give one block's numbers."""
    n_gates = Options(cell=cell).n_gates if gates == "each" else gates
    o = Options(cell=cell, batch=5, timesteps=6, input_dim=4, units=3, mask=True,
                dropout_gates=n_gates, recurrent_dropout_gates=n_gates, seed=5)
    params, extras, upstream = as_dtype(Problem(o), np.float64)
    results = []
    for threads in numba_threads:
        numba.set_num_threads(threads)
        with product_form(product):
            outputs, grads = run(kernels, o, params, extras, upstream)
        results.append(list(outputs) + list(grads.values()))
    for other in results[1:]:
        for a, b in zip(other, results[0]):
            assert normalised_error(a, b) <= 1e-13


@pytest.mark.parametrize("rows", [1, 255, 256, 600, 1001])
def test_row_split_products_equal_numpy(rows, numba_threads):
    rng = np.random.default_rng(rows)
    a, b = rng.normal(size=(rows, 7)), rng.normal(size=(7, 5))
    c = rng.normal(size=(rows, 5))
    for threads in numba_threads:
        np.testing.assert_allclose(common.matmul(a, b, threads), a @ b, rtol=1e-13,
                                   atol=1e-13)
        np.testing.assert_allclose(common.matmul(a, b.T.copy().T, threads), a @ b,
                                   rtol=1e-13, atol=1e-13)           # Fortran-ordered b
        np.testing.assert_allclose(common.matmul_tn(a, c, threads), a.T @ c, rtol=1e-12,
                                   atol=1e-12)


@settings(deadline=None, max_examples=examples(50))
@given(rows=st.integers(1, 70), columns=st.integers(1, 70),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_transpose_into_equals_numpy(rows, columns, dtype):
    src = np.arange(rows * columns, dtype=dtype).reshape(rows, columns)
    dst = np.full((columns, rows), np.nan, dtype)
    common.transpose_into(src, dst)
    np.testing.assert_array_equal(dst, src.T)


@pytest.mark.parametrize("gates", [0, 1, 4])
def test_recurrent_blocks_transposed_are_the_blocks_transposes(gates):
    U = np.random.default_rng(gates).normal(size=(5, 20)).astype(np.float32)
    mask = None if gates == 0 else np.ones((gates, 3, 5), np.float32)
    blocks = common.recurrent_blocks(U, 4, mask)
    np.testing.assert_array_equal(common.recurrent_blocks(U, 4, mask, transposed=True),
                                  blocks.transpose(0, 2, 1))
    assert blocks.shape == ((1, 5, 20) if gates < 4 else (4, 5, 5))


def test_feature_major_from_the_machines_threshold_without_per_gate_masks():
    n = common.FEATURE_MAJOR_MIN_UNITS
    assert n == policy.feature_major_min_units() in (64, 128)
    assert not common.feature_major(np.zeros((n - 1, 4 * n - 4)), None)
    assert common.feature_major(np.zeros((n, 4 * n)), None)
    assert common.feature_major(np.zeros((n, 4 * n)), np.ones((1, 2, n)))
    assert not common.feature_major(np.zeros((n, 4 * n)), np.ones((4, 2, n)))


def test_blas_threads_restores_every_pool():
    """The kernels run BLAS on one thread and hand the caller back its own settings,
    also when the kernel raises."""
    def blas_threads():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        with pytest.raises(RuntimeError, match="inside"):
            with common.blas_threads(1):
                assert blas_threads() == [1] * len(before)
                raise RuntimeError("inside")
        assert blas_threads() == before


def test_work_split_sets_each_pool_for_the_split_it_runs(numba_threads, monkeypatch):
    """Rows and units: Numba's threads, BLAS on one; the BLAS split: one block, BLAS on
    the threads.  The plan is the policy's (``tests/test_policy.py`` tests its choice)."""
    def blas_threads():
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    monkeypatch.setattr(policy, "free_cores", lambda: 2)             # a quiet machine
    numba.set_num_threads(2)
    small = np.zeros((64, 256), np.float32)                         # 64 KB
    large = np.zeros((1024, 4096), np.float32)                      # 16 MB
    with common.work_split(5, small, gates=4) as split:
        assert split == ("rows", 2, 2) and blas_threads() == {1}
    with common.work_split(1, small, gates=4) as split:
        assert split == ("rows", 1, 2) and blas_threads() == {1}
    with common.work_split(64, large, gates=3) as split:
        assert split == ("blas", 1, 1) and blas_threads() == {2}
    with common.work_split(64, large, gates=4, has_units_split=True) as split:
        assert split == ("rows", 2, 2) and blas_threads() == {1}
    with common.work_split(64, large, gates=4, backward=True) as split:
        assert split == ("rows", 2, 2) and blas_threads() == {1}
    monkeypatch.setattr(policy, "choose", lambda *args, **kwargs: policy.Plan("units", 2))
    with common.work_split(64, large, gates=4, has_units_split=True) as split:
        assert split == ("units", 2, 2) and blas_threads() == {1}


def test_work_split_runs_on_the_free_cores_only(numba_threads, monkeypatch):
    """With the other core busy a call runs on one thread, and Numba's count is the
    caller's again after it."""
    monkeypatch.setattr(policy, "free_cores", lambda: 1)
    numba.set_num_threads(2)
    with common.work_split(64, np.zeros((512, 2048), np.float32), gates=4,
                           has_units_split=True) as split:
        assert split == ("rows", 1, 1) and numba.get_num_threads() == 1
    assert numba.get_num_threads() == 2
