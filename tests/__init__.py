"""Unit tests of scratchrnn: gradient checks, equivalences, golden numbers, bad input.

No TensorFlow here (the Keras comparisons live in ``parity/``).  A package, so that the
helpers import as ``tests.gradcheck`` and ``tests.cells`` from the repository root.
"""
