"""Every named parity case (scratchrnn's default backend, then numba), and random
configurations drawn by hypothesis (either backend), under pytest.

Each test runs a case through :func:`parity.harness.run_case` and asserts that every
worst error is within the dtype's tolerance (float64 1e-10, float32 1e-5) or, in float32
only, excused as the rounding of an ill-conditioned problem (see :mod:`parity.harness`),
and that nothing is structurally wrong; the failure message carries all the numbers and
the line that reruns the case.
"""

import pytest
from hypothesis import HealthCheck, given, settings

from parity.cases import named_cases, random_cases
from parity.harness import run_case

pytestmark = pytest.mark.keras

NAMED = named_cases() + named_cases("numba")


def assert_passes(result):
    assert result.errors or result.problems or result.note, f"{result.name} compared nothing"
    assert result.passed, result.describe()


@pytest.mark.parametrize("case", NAMED, ids=[c.name for c in NAMED])
def test_named_case(case):
    assert_passes(run_case(case))


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(random_cases(backends=("numpy", "numba")))
def test_random_configuration(case):
    assert_passes(run_case(case))


def test_the_report_command_passes_and_fails_loudly(capsys, monkeypatch):
    """`scratchrnn parity` prints one row per case and exits 0; a failing case makes it
    exit non-zero and explains itself."""
    from parity import report
    from scratchrnn import cli

    assert cli.main(["parity", "-k", "simplernn-defaults"]) == 0
    out = capsys.readouterr().out
    assert "simplernn-defaults-f64" in out and "simplernn-defaults-f32" in out
    assert "2/2 passed" in out

    def failing(case):
        result = run_case(case)
        result.errors["out"] = 1.0          # as if the outputs differed completely
        return result
    monkeypatch.setattr(report, "safe_run", failing)
    assert cli.main(["parity", "-k", "simplernn-defaults-f64"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "0/1 passed" in out
