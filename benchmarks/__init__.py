"""The benchmark matrix: NumPy vs Numba vs Keras CPU vs PyTorch CPU vs cuDNN.

    python -m benchmarks [--quick] [--threads 1 2] [--out benchmarks/results]
    scratchrnn bench [...]          the same

See :mod:`benchmarks.runner` for the method.
"""
