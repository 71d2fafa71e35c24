"""Layers called from several Python threads (issue 16, class 1), and the bits a
thread count gives.

A layer of either backend may be shared by threads: every call gives the result it gives
alone (the numba backend's reusable buffers are per thread), an unbuilt layer is built
once, and a thread's ``backward`` follows its own latest call.  The same thread count
gives the same bits; another thread count may change the last bits only.
"""

import threading

import numba
import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import layers
from scratchrnn.kernels import common

N_THREADS = 4
CALLS = 100           # per thread: 400 calls a layer


def _inputs(n, features, seed=0):
    """``n`` inputs of batch sizes 3..6 (the workspace's buffers change shape too)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3 + i % 4, 5 + i % 3, features)).astype("float32")
            for i in range(n)]


def _in_thread(fn):
    """``fn()`` run in a fresh thread (the workers' Numba thread count: the default)."""
    out = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as err:          # noqa: BLE001 (re-raised below)
            out["error"] = err
    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _run_threads(work, n=N_THREADS):
    """``work(k)`` in ``n`` threads started together; re-raises the first failure."""
    errors, start = [], threading.Barrier(n)

    def target(k):
        try:
            start.wait()
            work(k)
        except BaseException as err:          # noqa: BLE001 (re-raised below)
            errors.append(err)
    threads = [threading.Thread(target=target, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _check_shared(call, xs):
    """Every call of ``call`` on ``xs[i]`` from N_THREADS threads equals its lone result."""
    expected = _in_thread(lambda: [call(x) for x in xs])
    wrong = []

    def work(k):
        for i in range(CALLS):
            j = (7 * i + k) % len(xs)
            got = call(xs[j])
            for a, b in zip(_flat(got), _flat(expected[j])):
                if not np.array_equal(a, b):
                    wrong.append((k, i, j))
                    break
    _run_threads(work)
    assert not wrong, f"{len(wrong)} of {N_THREADS * CALLS} calls gave wrong outputs"


def _flat(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_own_backward(target, units, seed, rounds):
    """Two threads call ``target`` (a layer or a model), wait for each other, then
    backpropagate: each thread's input and weight gradients must be those of its own
    call, as computed alone; a thread that never called is refused."""
    xs = _inputs(2, 3, seed=seed)
    gs = [np.random.default_rng(seed + 1 + k).standard_normal((x.shape[0], x.shape[1], units))
          .astype("float32") for k, x in enumerate(xs)]

    def alone(k):
        target(xs[k])
        return target.backward(gs[k]), target.get_gradients()
    expected = [_in_thread(lambda k=k: alone(k)) for k in range(2)]
    between = threading.Barrier(2, timeout=60)      # a failing thread breaks it, no hang

    def work(k):
        for _ in range(rounds):
            target(xs[k])
            between.wait()                    # the other thread calls before this backward
            dx, grads = target.backward(gs[k]), target.get_gradients()
            between.wait()
            for a, b in zip([dx] + grads, [expected[k][0]] + expected[k][1]):
                np.testing.assert_array_equal(a, b)
    _run_threads(work, n=2)
    with pytest.raises(RuntimeError, match="forward call first"):
        _in_thread(lambda: target.backward(gs[0]))     # a thread that never called


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_a_recurrent_layer_shared_by_threads(cls, backend):
    layer = cls(16, return_sequences=True, return_state=True, backend=backend, seed=1)
    _check_shared(layer, _inputs(12, 4))


def test_generic_rnn_and_dense_shared_by_threads():
    rnn = layers.RNN(layers.LSTMCell(8, seed=2), return_sequences=True)
    _check_shared(rnn, _inputs(8, 3))
    dense = layers.Dense(7, activation="tanh", seed=3)
    _check_shared(dense, _inputs(8, 3))


def test_a_functional_model_predicts_from_threads():
    """A model with a layer shared by two nodes (one tape and workspace per node)."""
    a, b = sr.Input((None, 4)), sr.Input((None, 4))
    lstm = layers.LSTM(8, backend="numba", seed=4)
    out = layers.Dense(3, seed=5)(layers.Concatenate()([lstm(a), lstm(b)]))
    model = sr.Model([a, b], out)
    xs = _inputs(10, 4)
    pairs = [[x, x[:, ::-1] * 0.5] for x in xs]
    index = {id(p[0]): p for p in pairs}
    _check_shared(lambda x: model.predict(index[id(x)], batch_size=2), xs)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_each_thread_backpropagates_through_its_own_model_call(backend):
    """A model's last run and weight gradients are per thread, as a layer's tape is (a
    layer called twice keeps its tapes in the run)."""
    inputs = sr.Input((None, 3))
    shared = layers.Dense(6, activation="tanh", seed=15)
    h = layers.LSTM(6, return_sequences=True, backend=backend, seed=11)(inputs)
    model = sr.Model(inputs, layers.Dense(2, seed=12)(shared(shared(h))))
    _check_own_backward(model, 2, seed=13, rounds=10)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_an_unbuilt_layer_is_built_once(backend, monkeypatch):
    layer = layers.LSTM(8, backend=backend, seed=6)
    builds = []
    build = layer.build

    def slow_build(shape):
        builds.append(shape)
        threading.Event().wait(0.05)          # widen the window of the race
        build(shape)
    monkeypatch.setattr(layer, "build", slow_build)
    x = _inputs(1, 3)[0]
    outs = [None] * N_THREADS

    def work(k):
        outs[k] = layer(x)
    _run_threads(work)
    assert len(builds) == 1
    for out in outs:
        np.testing.assert_array_equal(out, outs[0])
    np.testing.assert_allclose(layer(x), outs[0], rtol=1e-6)

    dense = layers.Dense(5, seed=7)
    dense_builds = []
    dense_build = dense.build
    monkeypatch.setattr(dense, "build", lambda shape: (dense_builds.append(shape),
                                                       threading.Event().wait(0.05),
                                                       dense_build(shape)))
    _run_threads(lambda k: dense(x))
    assert len(dense_builds) == 1


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_each_thread_backpropagates_through_its_own_call(backend):
    """Both threads call, then both backpropagate: each thread's gradients are those of
    its own call, as computed alone."""
    layer = layers.GRU(8, return_sequences=True, backend=backend, seed=8)
    _check_own_backward(layer, 8, seed=9, rounds=20)


def test_blas_thread_count_is_restored_after_concurrent_calls():
    pools = common._blas_controllers()
    before = [pool.num_threads for pool in pools]
    layer = layers.LSTM(8, backend="numba", seed=11)
    xs = _inputs(4, 3)
    _run_threads(lambda k: [layer(x) for x in xs for _ in range(10)])
    assert [pool.num_threads for pool in pools] == before


# --- thread counts and bits -----------------------------------------------------------------

def _forward_backward(layer, x, g, threads):
    def run():
        numba.set_num_threads(threads)        # per Python thread (Numba's rule)
        out = layer(x)
        dx = layer.backward(g)
        return [out, dx] + layer.get_gradients()
    return _in_thread(run)


@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_same_thread_count_same_bits_other_counts_close(cls):
    """The guarantee: the same seed and the same thread count give the same bits; other
    thread counts agree within 1e-6 of each array's largest magnitude (float32) and may
    differ in the last bits (here they do: ~2e-7)."""
    layer = cls(32, return_sequences=True, backend="numba", seed=12)
    rng = np.random.default_rng(13)
    x = rng.standard_normal((64, 12, 16)).astype("float32")    # 768 rows: the GEMMs split
    g = rng.standard_normal((64, 12, 32)).astype("float32")
    counts = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS),
                     numba.config.NUMBA_NUM_THREADS})
    for n in counts:
        first, again = (_forward_backward(layer, x, g, n) for _ in range(2))
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a, b)
    one = _forward_backward(layer, x, g, 1)
    for n in counts[1:]:
        for a, b in zip(one, _forward_backward(layer, x, g, n)):
            # within 1e-6 of the array's scale (a sum over 768 rows rounds differently)
            assert np.max(np.abs(b - a)) <= 1e-6 * np.max(np.abs(a)), (n, a.shape)
    twin = cls(32, return_sequences=True, backend="numba", seed=12)   # same seed, new layer
    for a, b in zip(one, _forward_backward(twin, x, g, 1)):
        np.testing.assert_array_equal(a, b)
