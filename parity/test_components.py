"""Every check of :mod:`parity.components` (layers, losses, metrics, optimizers, models,
training runs) under pytest: each must compare something and stay within its tolerance."""

import numpy as np
import pytest

from parity.components import Check, CheckResult, Comparison, all_checks, run_check

pytestmark = pytest.mark.keras

CHECKS = all_checks()


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
def test_check(check):
    result = run_check(check)
    assert result.errors, f"{check.name} compared nothing"
    assert result.passed, result.describe()


def _judged(ours, theirs, exact):
    cmp = Comparison("float32")
    cmp.add("predict0", ours, theirs)
    cmp.judge_rounding("predict0", ours, theirs, exact)
    return CheckResult(Check("judged", "course", "float32", lambda c: None), dict(cmp.errors),
                       tuple(cmp.problems), 0.0, tuple(cmp.excused),
                       "; ".join(cmp.excused.values()))


def test_rounding_is_excused_only_within_ten_times_keras_own_error():
    # An output that cancels: float32 rounding moves both sides by ~1e-6 of the largest.
    exact = np.array([1.0, 1e-3, -0.5], np.float64)
    theirs = (exact + np.array([0, 2e-6, 0])).astype(np.float32)
    ours = (exact + np.array([0, -3e-6, 0])).astype(np.float32)
    result = _judged(ours, theirs, exact)
    assert result.errors["predict0"] > 1e-5
    assert result.verdict == "PASS*", result.describe()
    assert "Keras f32" in result.note
    # Negative control: the same excess, but Keras is exact and ours is not: a bug.
    wrong = _judged(ours, exact.astype(np.float32), exact)
    assert wrong.verdict == "FAIL" and "not excused" in wrong.problems[0]
    # Beyond sqrt(u) nothing is excused, whatever Keras's own error.
    far = _judged((exact + [0, 0.005, 0]).astype(np.float32),
                  (exact - [0, 0.005, 0]).astype(np.float32), exact)
    assert far.verdict == "FAIL" and "not excused" in far.problems[0]
