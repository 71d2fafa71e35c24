"""Every check of :mod:`parity.components` (layers, losses, metrics, optimizers, models,
training runs) under pytest: each must compare something and stay within its tolerance."""

import pytest

from parity.components import all_checks, run_check

pytestmark = pytest.mark.keras

CHECKS = all_checks()


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
def test_check(check):
    result = run_check(check)
    assert result.errors, f"{check.name} compared nothing"
    assert result.passed, result.describe()
