"""What the demos share: their command-line options, a plain-text table, a stopwatch and
matplotlib, imported only when a figure is drawn (with the file-only ``Agg`` backend)."""

import argparse
import contextlib
import os
import time

import numpy as np


def parser(name, description):
    """An argument parser with the options every demo has: ``--quick``, ``--out``,
    ``--seed``."""
    p = argparse.ArgumentParser(prog=f"scratchrnn demo {name}", description=description)
    p.add_argument("--quick", action="store_true",
                   help="a smoke test: tiny data and a few epochs, seconds instead of "
                        "minutes; it shows that the demo runs, not what the models learn")
    p.add_argument("--out", default="demo-output", metavar="DIR",
                   help="folder for the PNG files, created if needed (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the weights, the shuffling and the sampling "
                        "(default: %(default)s)")
    return p


def quick_note(args, epochs):
    """Say, in quick mode, that the run is a smoke test, so that its numbers are not read
    as the demo's results."""
    if args.quick:
        print(f"Quick mode: a smoke test (tiny data, {epochs} epochs). It shows that the demo "
              "runs end to end;\nits numbers are not the demo's results, and a lesson is "
              "printed only where they carry it.\nRun without --quick for the real thing.\n")


def accuracy_margin(n):
    """How far apart two accuracies measured on ``n`` examples each must be before a demo
    calls one better: three standard errors of their difference.  An accuracy ``p`` on
    ``n`` examples has a standard error of ``sqrt(p (1 - p) / n)``, at most ``sqrt(0.25 /
    n)`` (at p = 0.5); the difference of two independent ones ``sqrt(2)`` times that.  So
    0.15 on 200 examples, 0.07 on 1,000 (conservative: both models are scored on the same
    examples, which makes the difference's error smaller)."""
    return 3 * np.sqrt(2 * 0.25 / max(n, 1))


def table(headers, rows):
    """``rows`` (lists of cells) under ``headers`` as aligned text: numbers (and cells
    starting with a digit) to the right, words to the left."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.rjust(w) if c[:1].isdigit() or c[:1] == "-" and c[1:2].isdigit()
                         else c.ljust(w) for c, w in zip(row, widths)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        self.seconds = None
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False


def single_threaded_blas():
    """A context in which the BLAS libraries (NumPy's OpenBLAS and SciPy's, which the
    numba kernels call) run one thread each, when ``threadpoolctl`` is installed.

    Why: the demos' matrices are small (at most 128 wide), so a second thread gains
    little, and the two pools take turns, each spinning after its work while the other
    computes (see :mod:`scratchrnn.kernels.common`): on a 2-core machine with other
    work running, a training step measured 15 to 20 times slower with two threads per
    pool than with one."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    # threadpoolctl limits the libraries already loaded: load SciPy's BLAS first (the
    # numba kernels would load it only at their first product).
    try:
        import scipy.linalg  # noqa: F401
    except ImportError:
        pass
    return threadpool_limits(limits=1, user_api="blas")


def pyplot():
    """``matplotlib.pyplot`` on the ``Agg`` backend (files only, no window), or None with
    a note when matplotlib is not installed: the demo then runs without its figures."""
    try:
        import matplotlib
    except ImportError:
        print("(matplotlib is not installed: no figure; pip install matplotlib)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(figure, out, filename):
    """Write ``figure`` to ``out/filename`` (creating ``out``), close it, print and return
    the path."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, filename)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(figure)
    print(f"wrote {path}")
    return path
