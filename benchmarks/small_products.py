"""Does a step's small product need BLAS?  A register-blocked product in Numba against
SciPy's OpenBLAS (what ``np.dot`` inside the numba kernels calls), one thread each.

Per step the recurrent product is ``(B, H) @ (H, g·H)``; with a batch split each thread
multiplies its block of rows.  Below BLAS's efficient range its call and packing
overheads dominate, so a product written as plain loops — four rows of ``a`` held in
registers while a row of ``b`` streams past, the inner loop contiguous so that LLVM
vectorises it for the CPU at hand (AVX2 or AVX-512) — might win there.

Measured on the 2-core AVX2 VM (AMD EPYC, OpenBLAS Haswell kernels), 2026-12-05,
``python -m benchmarks.small_products``, float32, best of 5:

==========================  ================  ==============
a @ b                       register-blocked  OpenBLAS
==========================  ================  ==============
8x32 @ 32x128               2.9 µs            3.5 µs
16x64 @ 64x256              15.8 µs           17.1 µs
32x64 @ 64x256              47.2 µs           24.2 µs
32x128 @ 128x512            189 µs            88.8 µs
64x256 @ 256x1024           1.12 ms           0.53 ms
128x512 @ 512x2048          16.5 ms           3.5 ms
==========================  ================  ==============

(A second run straight after: within 20% of each, the same winner everywhere.)
The plain kernel wins only on the smallest products (by 8–17%), and loses 2–5x from
32 rows up, where OpenBLAS's packed micro-kernels reach 43–76 GFLOP/s.  On this machine
the per-step products therefore stay on BLAS; the ~28 µs once measured for 16x64 @
64x256 on another AVX2 VM was not reproduced here (17 µs).
"""

import time

import numpy as np
from numba import njit

SHAPES = [(8, 32, 128), (16, 64, 256), (32, 64, 256), (32, 128, 512), (64, 256, 1024),
          (128, 512, 2048)]


@njit(fastmath=True, nogil=True, cache=True)
def register_blocked(a, b, out):
    """``out = a @ b``, four rows of ``a`` at a time (their entries in registers), the
    inner loop over the contiguous columns of ``b`` and ``out``."""
    m, k_size = a.shape
    n = b.shape[1]
    i = 0
    while i + 4 <= m:
        out[i:i + 4, :] = 0
        for k in range(k_size):
            a0, a1, a2, a3 = a[i, k], a[i + 1, k], a[i + 2, k], a[i + 3, k]
            for j in range(n):
                bk = b[k, j]
                out[i, j] += a0 * bk
                out[i + 1, j] += a1 * bk
                out[i + 2, j] += a2 * bk
                out[i + 3, j] += a3 * bk
        i += 4
    while i < m:                                    # the last rows, one at a time
        out[i, :] = 0
        for k in range(k_size):
            for j in range(n):
                out[i, j] += a[i, k] * b[k, j]
        i += 1
    return out


@njit(nogil=True, cache=True)
def blas_product(a, b, out):
    np.dot(a, b, out)
    return out


@njit(nogil=True)
def _repeat(product, a, b, out, n):
    for _ in range(n):
        product(a, b, out)


def best_us(product, a, b, out, n, tries=5):
    _repeat(product, a, b, out, 2)
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        _repeat(product, a, b, out, n)
        best = min(best, (time.perf_counter() - start) / n)
    return 1e6 * best


def main():
    import scipy.linalg.cython_blas  # noqa: F401  (the BLAS np.dot calls in Numba)
    from threadpoolctl import threadpool_limits

    from .runner import cpu_flags
    rng = np.random.default_rng(0)
    print(f"vector width: {cpu_flags()['vector']}; float32, one thread, best of 5")
    with threadpool_limits(1):
        for m, k, n in SHAPES:
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            out = np.empty((m, n), np.float32)
            calls = max(2, int(2e7 / (2 * m * k * n)))
            mine = best_us(register_blocked, a, b, out, calls)
            theirs = best_us(blas_product, a, b, out, calls)
            flops = 2 * m * k * n / 1e3
            print(f"{m}x{k} @ {k}x{n}: register-blocked {mine:9.1f} µs "
                  f"({flops / mine:5.1f} GFLOP/s), OpenBLAS {theirs:9.1f} µs "
                  f"({flops / theirs:5.1f})")


if __name__ == "__main__":
    main()
