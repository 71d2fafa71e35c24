"""Registers the ``keras`` marker, so the parity tests run under ``--strict-markers``
even where setup.cfg does not declare it."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "keras: cross-checks against tf.keras (slow, imports TensorFlow)"
    )
