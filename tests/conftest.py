"""Hypothesis profiles, chosen with the ``HYPOTHESIS_PROFILE`` environment variable.

``ci`` (the default): every property test runs the number of examples it asks for,
derandomized, so that a fresh clone gets the same examples on every run.
``dev``: a fifth of them (at least two), random, for quick local iterations.
Tests ask for their count through :func:`tests.cells.examples`, which scales it by the
loaded profile's ``max_examples`` (100 for ``ci``, 20 for ``dev``).
"""

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True,
                          print_blob=True)
settings.register_profile("dev", max_examples=20, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
