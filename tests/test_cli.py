"""The ``scratchrnn`` command and the benchmark report, without running TensorFlow."""

import pytest

from benchmarks.report import markdown, speedup, table
from benchmarks.runner import gemm_flops
from scratchrnn import cli


def test_the_command_lists_its_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([])
    assert exit_.value.code == 2
    assert "parity" in capsys.readouterr().err


def test_bench_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["bench", "--help"])
    assert exit_.value.code == 0
    assert "--quick" in capsys.readouterr().out


def test_gemm_flops():
    """2·B·T·(I+H)·gH forward, three times that with the backward."""
    assert gemm_flops("LSTM", (2, 3, 4, 5), "forward") == 2 * 2 * 3 * 9 * 20
    assert gemm_flops("GRU", (2, 3, 4, 5), "forward_backward") == 3 * 2 * 2 * 3 * 9 * 15


def _record(backend, median_ms, mode="forward_backward"):
    return {"cell": "LSTM", "config": [32, 50, 10, 64], "mode": mode, "backend": backend,
            "threads": 2, "median_ms": median_ms, "q1_ms": median_ms * 0.9,
            "q3_ms": median_ms * 1.1, "gflops": 100.0, "repeats": 5, "first_call_s": 0.1}


REPORT = {
    "date": "2026-11-24", "wall_s": 1.0, "machine": {"cpu": "test cpu", "cores": 2},
    "runs": [{"threads": 2, "sgemm_peak_gflops": 200.0, "skipped": {"cudnn": "no GPU"},
              "records": [_record("numba", 2.0), _record("keras-cpu", 6.0),
                          _record("numba", 1.0, "forward"), _record("keras-cpu", 2.0, "forward"),
                          {"cell": "LSTM", "config": [32, 50, 10, 64],
                           "mode": "forward_backward", "backend": "cudnn", "threads": 2,
                           "skipped": "no GPU"}]}],
}


def test_the_table_shows_times_ratios_and_skips():
    text = table(REPORT)
    assert "cudnn (no GPU)" in text
    row = next(line for line in text.splitlines() if "fwd+bwd" in line)
    assert "3.00x" in row                    # numba 2 ms against Keras 6 ms
    assert "50%, 50%" in row                 # 100 GFLOP/s of a 200 GFLOP/s peak
    assert "skipped" in row


def test_the_markdown_table():
    text = markdown(REPORT, 2)
    assert "| LSTM | 32, 50, 10, 64 | 1 / 2 | 2 / 6 | 2.00x / 3.00x |" in text


def test_speedups_pair_the_turns_of_a_round():
    """A spell that slows round 2 for both backends cancels out of the paired ratio; the
    ratio of medians, without turns, does not pair anything."""
    keras = {"median_ms": 6.0, "turn_ms": [6.0, 12.0, 6.0]}
    numba = {"median_ms": 4.0, "turn_ms": [2.0, 4.0, 2.2]}
    assert speedup(keras, numba) == pytest.approx(3.0)              # median of 3, 3, 2.73
    assert speedup({"median_ms": 6.0}, {"median_ms": 4.0}) == pytest.approx(1.5)
