"""Hypothesis profiles, chosen with the ``HYPOTHESIS_PROFILE`` environment variable.

``ci`` (the default): every property test runs the number of examples it asks for,
derandomized, so that a fresh clone gets the same examples on every run.
``dev``: a fifth of them (at least two), random, for quick local iterations.
Tests ask for their count through :func:`tests.cells.examples`, which scales it by the
loaded profile's ``max_examples`` (100 for ``ci``, 20 for ``dev``).
"""

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True,
                          print_blob=True)
settings.register_profile("dev", max_examples=20, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def same_threads_whatever_the_load():
    """The numba backend runs on the threads asked for, not on the cores that other
    processes leave free (``scratchrnn.kernels.policy``): the tests compare bits, and a
    busy CI machine must not change a call's thread count between two calls.  The
    tests of the load reading turn it back on."""
    from scratchrnn.kernels import policy
    before = policy.set_follow_load(False)
    yield
    policy.set_follow_load(before)
