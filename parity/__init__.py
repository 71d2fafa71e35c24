"""Keras cross-check suite for scratchrnn.

Every scratchrnn recurrent layer is built next to its tf.keras twin with the same
arguments and the same (random, non-trivial) weights, both are run on the same inputs,
and the outputs, returned states and every gradient (inputs, initial states, each
weight) are compared element by element.

- :mod:`parity.harness` builds and runs one case and returns a :class:`~parity.harness.Result`;
- :mod:`parity.cases` holds the named cases and a hypothesis strategy for random ones;
- :mod:`parity.report` prints one row per case (``python -m parity``);
- ``parity/test_parity.py`` runs the same cases under pytest (marker ``keras``).

TensorFlow is imported lazily by :mod:`parity.harness`, quietly and on the CPU.
"""
