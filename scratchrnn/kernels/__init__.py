"""The time loops of :mod:`scratchrnn.ops` compiled with Numba (``backend="numba"``).

Each module mirrors its readable counterpart function for function and shares its
cache type; only the sequential loops are compiled.  Compiled code is cached on disk
(``cache=True``, in ``__pycache__``), so a later process pays no compile.

Numba checks a cached function against its own file only: after editing
``activations.py`` or ``common.py`` here, delete ``scratchrnn/kernels/__pycache__/*.nb*``,
or the cells' loops keep calling the old compiled helpers.
"""
