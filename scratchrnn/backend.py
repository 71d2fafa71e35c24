"""Which implementation of the time loops the layers run: ``"numpy"`` or ``"numba"``.

``"numpy"`` runs :mod:`scratchrnn.ops`, the readable reference.  ``"numba"`` runs
:mod:`scratchrnn.kernels`, the same loops compiled (tested equal to the reference).
A layer's ``backend=None`` follows the global default, set by :func:`set_backend` or
by the environment variable ``SCRATCHRNN_BACKEND`` (read at import); it is ``"numpy"``.
"""

import os

BACKENDS = ("numpy", "numba")


def check(name, argument="backend"):
    if name not in BACKENDS:
        raise ValueError(f"`{argument}` must be one of {BACKENDS}, got {name!r}")
    return name


_default = check(os.environ.get("SCRATCHRNN_BACKEND", "numpy"), "SCRATCHRNN_BACKEND")


def set_backend(name):
    """Set the backend of every layer created with ``backend=None``."""
    global _default
    _default = check(name)


def get_backend():
    return _default


def resolve(backend):
    """``backend``, or the global default for None."""
    return _default if backend is None else backend


def cell_module(backend, cell):
    """The module holding ``cell``'s forward and backward (``"lstm"``, ``"gru"``,
    ``"simple_rnn"``) for ``backend`` (None: the global default): ``scratchrnn/ops/<cell>.py``
    or ``scratchrnn/kernels/<cell>.py``.  Both define the same entry functions with the same
    signatures (``lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias, *, mask=..., ...)``)
    and the same cache record (``LSTMCache``, ...), so a layer calls either the same way."""
    if resolve(backend) == "numpy":
        from .ops import gru, lstm, simple_rnn
    else:
        try:
            import numba  # noqa: F401
        except ImportError as err:
            raise ImportError("backend='numba' needs numba (and scipy, for np.dot inside "
                              "compiled code): pip install numba scipy") from err
        from .kernels import gru, lstm, simple_rnn
    return {"lstm": lstm, "gru": gru, "simple_rnn": simple_rnn}[cell]


def count_params(x):
    """The number of entries of the weight ``x``: Keras's ``backend.count_params``."""
    import numpy as np
    return int(np.prod(np.shape(x), dtype=np.int64))
