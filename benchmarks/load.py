"""The numba LSTM with another process busy on the machine: does a second thread help?

A thread on a core that another process is using runs at a fraction of its speed, and
the other threads wait for it.  The numba backend therefore runs a call on no more
threads than the cores other processes leave free (``free_cores`` in
``scratchrnn/kernels/policy.py``).  This measures the LSTM's forward+backward on one
thread, on all of them following the load (the default), and on all of them whatever
the load, with and without a busy loop started on the side, in alternating rounds::

    python -m benchmarks.load            # (32, 50, 10, 64), 2 rounds of each

Measured on the 2-core AVX2 VM (AMD EPYC), 2026-12-05, ``python -m benchmarks.load``,
ms, the median of 200 calls in each of two rounds::

    condition              1 thread      2, following the load   2, whatever the load
    quiet                  6.11  5.99    3.68  4.64              3.36  4.68
    another process busy   7.22  5.95    6.02  5.48              8.87  8.27

Quiet, following the load costs nothing; with the other core busy, two threads whatever
the load are 1.4x slower than one, and following the load they run as fast as one.
"""

import argparse
import subprocess
import sys
import time

import numpy as np

from .splits import _problem


def median_ms(call, calls):
    call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return 1e3 * float(np.median(samples))


def main(argv=None):
    import numba

    from scratchrnn.kernels import lstm, policy
    from scratchrnn.kernels.common import Workspace

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", type=int, nargs=4, default=[32, 50, 10, 64],
                        metavar=("B", "T", "I", "H"))
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    x, h0, kernel, recurrent, bias = _problem(*args.shape)
    workspace = Workspace()

    def call():
        (outputs, h, c), cache = lstm.lstm_forward(x, h0, h0, kernel, recurrent, bias,
                                                   workspace=workspace)
        lstm.lstm_backward(outputs, h, c, cache, kernel, recurrent, workspace=workspace)

    most = numba.config.NUMBA_NUM_THREADS
    conditions = [("1 thread", 1, True), (f"{most}, following the load", most, True),
                  (f"{most}, whatever the load", most, False)]
    results = {}
    for _ in range(args.rounds):
        for busy in (False, True):
            hog = (subprocess.Popen([sys.executable, "-c", "while True: pass"])
                   if busy else None)
            try:
                time.sleep(0.5)
                for name, threads, follow in conditions:
                    numba.set_num_threads(threads)
                    policy.set_follow_load(follow)
                    call()
                    time.sleep(0.3)         # a fresh load window (policy.LOAD_WINDOW)
                    results.setdefault((busy, name), []).append(median_ms(call, args.calls))
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
            time.sleep(0.3)
    print(f"LSTM {tuple(args.shape)} forward+backward, ms (median of {args.calls} calls "
          f"per round; {args.rounds} rounds)")
    for (busy, name), values in results.items():
        state = "another process busy" if busy else "quiet"
        print(f"{state:22s} {name:28s} " + "  ".join(f"{v:6.2f}" for v in values))


if __name__ == "__main__":
    main()
