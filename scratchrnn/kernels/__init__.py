"""The time loops of :mod:`scratchrnn.ops` compiled with Numba (``backend="numba"``).

Each module mirrors its readable counterpart function for function and shares its
cache type; only the sequential loops are compiled.  Compiled code is cached on disk
(``cache=True``, in ``__pycache__``), so a later process pays no compile.

Numba checks a cached function against its own file only: after editing
``activations.py`` or ``common.py`` here, delete ``scratchrnn/kernels/__pycache__/*.nb*``,
or the cells' loops keep calling the old compiled helpers.
"""

import os

# Threads that sleep when they wait.  Numba's parallel loops run on OpenMP where it is
# installed (libgomp, read once when Numba first loads it, after this line), whose
# threads spin at every join by default.  On a busy machine the spinning thread takes
# the core the other job needs, and both slow down: measured on the 2-core AVX2 VM, LSTM
# (32,50,10,64) forward+backward with a busy-loop process on the other core, medians of
# 200 calls: 1 thread 5.7-6.0 ms; 2 threads 8.0 ms spinning, 6.4 ms sleeping.  Quiet,
# 2 threads took 4.3 ms spinning and 3.6 ms sleeping: a loop here waits once per
# sequence, not once per step, so waking a sleeper costs nothing measurable.  The
# setting is the process's (another library's OpenMP loaded later reads it too); a
# value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
