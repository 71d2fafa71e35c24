"""The benchmark runner's method: the turns the backends take, the child's requests, and
one small matrix run end to end on the numpy backend (no TensorFlow)."""

import io
import json
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import report, runner
from benchmarks.backends import Skip

TINY = (2, 5, 3, 4)


@given(backends=st.lists(st.sampled_from(["numpy", "numba", "keras-cpu", "torch-cpu"]),
                         min_size=1, max_size=4, unique=True),
       rounds=st.integers(1, 5))
def test_every_backend_times_each_mode_once_a_round_in_alternating_order(backends, rounds):
    turns = runner.schedule(backends, rounds)
    per_round = len(backends) * len(runner.MODES)
    assert len(turns) == rounds * per_round
    for r in range(rounds):
        this_round = turns[r * per_round:(r + 1) * per_round]
        for m, mode in enumerate(runner.MODES):
            order = [b for b, m_ in this_round[m * len(backends):(m + 1) * len(backends)]
                     if m_ == mode]
            assert order == (backends if r % 2 == 0 else backends[::-1])


def _serve(backend, *requests):
    replies = io.StringIO()
    runner.serve(1, backend, io.StringIO("".join(json.dumps(r) + "\n" for r in requests)),
                 replies)
    return [json.loads(line) for line in replies.getvalue().splitlines()]


def test_the_child_configures_prepares_and_times():
    configured, prepared, timed = _serve(
        "numpy", {"op": "configure"}, {"op": "prepare", "cell": "GRU", "config": TINY},
        {"op": "time", "mode": "forward_backward", "budget_s": 0.02})
    assert configured["info"]["versions"]["scratchrnn"]
    assert set(prepared["first_call_s"]) == set(runner.MODES)
    assert all(s > 0 for s in prepared["first_call_s"].values())
    assert len(timed["samples_s"]) >= 1 and all(s > 0 for s in timed["samples_s"])


def test_the_child_answers_skipped_with_the_reason(monkeypatch):
    class NoGPU:
        name = "cudnn"

        def configure(self, threads):
            raise Skip("no GPU")

        def prepare(self, cell, config, threads):
            raise Skip("cuDNN has no SimpleRNN in Keras")

    monkeypatch.setattr(runner, "all_backends", lambda: [NoGPU()])
    assert _serve("cudnn", {"op": "configure"},
                  {"op": "prepare", "cell": "SimpleRNN", "config": TINY}) == [
        {"skipped": "no GPU"}, {"skipped": "cuDNN has no SimpleRNN in Keras"}]


class Counting:
    """A backend whose calls count themselves."""
    name = "numpy"

    def __init__(self):
        self.calls = {mode: 0 for mode in runner.MODES}

    def prepare(self, cell, config, threads):
        def call(mode):
            self.calls[mode] += 1
        return [lambda mode=mode: call(mode) for mode in runner.MODES]


@pytest.mark.parametrize("warm_up_max_s, untimed", [(10.0, 1), (0.0, 0)])
def test_a_turn_starts_with_an_untimed_call_when_calls_are_short(monkeypatch, warm_up_max_s,
                                                                untimed):
    backend = Counting()
    monkeypatch.setattr(runner, "all_backends", lambda: [backend])
    monkeypatch.setattr(runner, "WARM_UP_MAX_S", warm_up_max_s)
    prepared, timed = _serve("numpy", {"op": "prepare", "cell": "LSTM", "config": TINY},
                             {"op": "time", "mode": "forward", "budget_s": 0.001})
    assert set(prepared["first_call_s"]) == set(runner.MODES)
    # the first call and the warm-up of each mode, then the turn
    assert backend.calls == {"forward": 2 + untimed + len(timed["samples_s"]),
                             "forward_backward": 2}


def test_the_child_rejects_an_unknown_request():
    with pytest.raises(ValueError, match="request op: expected configure, prepare or time, "
                                         "got 'run'"):
        _serve("numpy", {"op": "run"})


def test_a_small_matrix_end_to_end(monkeypatch):
    """Real child processes: every case timed in every round, first calls apart."""
    monkeypatch.setattr(runner, "PAUSE_S", 0.0)
    run = runner.run_threads(1, ["numpy"], [TINY, (1, 3, 2, 3)], ["LSTM", "SimpleRNN"],
                             budget_s=0.03, progress=False, rounds=2)
    assert run["threads"] == 1 and run["skipped"] == {}
    assert run["sgemm_peak_gflops"] > 0
    assert set(run["backends"]) == {"numpy"}
    records = run["records"]
    assert {(r["cell"], tuple(r["config"]), r["mode"]) for r in records} == {
        (c, k, m) for c in ("LSTM", "SimpleRNN") for k in (TINY, (1, 3, 2, 3))
        for m in runner.MODES}
    for r in records:
        assert r["repeats"] >= 2                     # at least one sample a round
        assert len(r["turn_ms"]) == 2 and all(t > 0 for t in r["turn_ms"])
        assert 0 < r["q1_ms"] <= r["median_ms"] <= r["q3_ms"]
        assert r["first_call_s"] > 0
        assert r["gflops"] == pytest.approx(
            runner.gemm_flops(r["cell"], tuple(r["config"]), r["mode"])
            / (r["median_ms"] / 1e3) / 1e9)


def test_the_machine_record_names_what_decides_the_result(tmp_path):
    m = runner.machine()
    assert m["cores"] >= m["usable_cores"] >= 1
    assert m["vector"] in ("AVX-512", "AVX2", "SSE", None)
    with open("/proc/cpuinfo") as f:
        text = f.read()
    assert m["avx512f"] == (" avx512f" in text) and m["avx2"] == (" avx2" in text)
    assert any(b["internal_api"] for b in m["blas"])            # NumPy's BLAS at least
    assert all({"library", "architecture", "version"} <= set(b) for b in m["blas"])
    # A cpuinfo of each kind, and none at all.
    for flags, vector in (("fpu sse2 avx avx2 fma", "AVX2"),
                          ("fpu avx2 fma avx512f avx512bw", "AVX-512"), ("fpu sse2", "SSE")):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        assert runner.cpu_flags(str(path))["vector"] == vector
    assert runner.cpu_flags(str(tmp_path / "missing"))["vector"] is None
    line = report.describe_machine(m)
    assert m["cpu"] in line and f"{m['cores']} cores" in line


@pytest.mark.parametrize("threads", [1, 2, 16])
def test_any_thread_count_runs_on_any_machine(threads):
    """Numba caps its threads at NUMBA_NUM_THREADS (default: the cores): the child's
    environment lifts the cap, so --threads 16 runs on two cores, oversubscribed."""
    env = runner.child_environment(threads, {"PATH": "/bin"})
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == str(threads)
    assert int(env["NUMBA_NUM_THREADS"]) >= max(threads, os.cpu_count())
    assert env["PATH"] == "/bin"


def test_a_numba_child_sets_more_threads_than_cores():
    threads = os.cpu_count() + 2
    child = runner.Child(threads, "numba")
    try:
        reply = child.ask("configure")
    finally:
        child.close()
    assert reply["info"]["numba_threads"] == threads


@given(m=st.integers(1, 9), k=st.integers(1, 17), n=st.integers(1, 33),
       dtype=st.sampled_from(["float32", "float64"]))
def test_the_register_blocked_product_equals_np_dot(m, k, n, dtype):
    from benchmarks.small_products import register_blocked
    rng = np.random.default_rng(m * 1000 + k * 40 + n)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)           # every entry must be written
    register_blocked(a, b, out)
    np.testing.assert_allclose(out, a @ b, rtol={"float32": 1e-5, "float64": 1e-12}[dtype],
                               atol={"float32": 1e-5, "float64": 1e-12}[dtype])
    if m * k * n > 1:                               # negative control: a wrong product fails
        with pytest.raises(AssertionError):
            np.testing.assert_allclose(out, a @ b + 1e-3, rtol=1e-5, atol=1e-6)
