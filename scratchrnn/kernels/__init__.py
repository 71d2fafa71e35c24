"""The time loops of :mod:`scratchrnn.ops` compiled with Numba (``backend="numba"``).

Each module mirrors its readable counterpart function for function and shares its
cache type; only the sequential loops are compiled.  Compiled code is cached on disk
(``cache=True``), so a later process pays no compile.
"""
