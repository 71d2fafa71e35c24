"""The benchmark runner's method: the turns the backends take, the child's requests, and
one small matrix run end to end on the numpy backend (no TensorFlow)."""

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import runner
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
