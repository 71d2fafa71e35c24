"""Run the benchmark matrix and report it: a table, a JSON file and a PNG plot.

Method.  Each backend runs in a process of its own, one per thread count (1 and 2 by
default): ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` set in its environment,
``threadpoolctl`` limits on both OpenBLAS pools (NumPy's, and SciPy's that
Numba's ``np.dot`` calls), TensorFlow's intra/inter-op threads, ``torch.set_num_threads``.
Separate processes because the libraries' thread pools spin-wait after their work:
sharing two cores, PyTorch ran 800x slower right after TensorFlow in one process.

The processes stay up for the whole matrix and take turns, case by case.  For each cell
and configuration every backend is built and called once (the *first call*, reported
apart: it holds Numba's compile or cache load and ``tf.function``'s tracing) and warmed
up.  Then the case's budget of seconds is spent in ``ROUNDS`` rounds: in each round
every backend times each mode for its share, one backend at a time, ``PAUSE_S`` apart,
the order reversed from one round to the next (:func:`schedule`); a turn starts with an
untimed call (see ``WARM_UP_MAX_S``).  So the backends are compared over the same
seconds of the machine: on the 2-core VM this was measured on, the same call runs ~1.7x
slower for spells of ~25 s, which a process per backend and pass let fall on one
backend and not on another.  The report gives the median and
inter-quartile range of each case's samples.  Ratios are against Keras CPU in the same
run, paired by round: the median over rounds of the two backends' turn medians' ratio
(turns of one round are seconds apart, so a spell of the machine cancels out of it).
GFLOP/s counts the GEMMs only (``2·B·T·(I+H)·gH`` forward, three times that
forward+backward) and is set against the machine's measured sgemm peak (NumPy, 2048²,
same thread count).
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from scratchrnn.kernels.policy import usable_cores  # the cores this process may use

from .backends import CELLS, Skip, all_backends

#: (B, T, I, H), from overhead-bound (one sequence) to GEMM-bound.
CONFIGS = [(1, 100, 8, 32), (32, 50, 10, 64), (32, 100, 128, 128), (64, 100, 256, 256),
           (128, 50, 512, 512), (64, 25, 1024, 1024)]
QUICK_CONFIGS = [(1, 100, 8, 32), (32, 50, 10, 64)]
MODES = ("forward", "forward_backward")
#: Turns each backend takes at each case (see :func:`schedule`).
ROUNDS = 3
#: Seconds between two turns, for the last backend's thread pools to stop spin-waiting:
#: without it, the numba LSTM's fwd+bwd at (32, 50, 10, 64) ran 3.1–3.8 ms in turns with
#: PyTorch or the numpy backend, against 1.8 alone (1.8–1.9 with this pause).
PAUSE_S = 0.05
#: A turn starts with an untimed call when a call takes less than this many seconds:
#: the numpy backend's first LSTM forward after another backend's turn took 410–430 ms
#: at (128, 50, 512, 512), its next ones 250–280.  Longer calls are timed from the first,
#: to keep the matrix under 10 minutes.
WARM_UP_MAX_S = 0.5
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
HERE = os.path.dirname(os.path.abspath(__file__))


def gemm_flops(cell, config, mode):
    B, T, I, H = config
    forward = 2 * B * T * (I + H) * GATES[cell] * H
    return forward if mode == "forward" else 3 * forward


def sgemm_peak(n=2048, repeats=5):
    """GFLOP/s of NumPy's float32 GEMM at n x n, best of ``repeats``."""
    import numpy as np
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The vector extensions that decide a float32 GEMM's speed: ``{"avx2": ..., "fma": ...,
    "avx512f": ...}`` and the widest of them as ``"vector"`` (``"AVX-512"``, ``"AVX2"``,
    ``"SSE"``, or None where /proc/cpuinfo is not there)."""
    try:
        with open(cpuinfo) as f:
            flags = set(next(line for line in f if line.startswith(("flags", "Features")))
                        .split(":", 1)[1].split())
    except (OSError, StopIteration):
        return {"avx2": None, "fma": None, "avx512f": None, "vector": None}
    found = {name: name in flags for name in ("avx2", "fma", "avx512f")}
    found["vector"] = ("AVX-512" if found["avx512f"] else "AVX2" if found["avx2"] else "SSE")
    return found


def blas_libraries():
    """Every BLAS in the process as threadpoolctl sees it — NumPy's and SciPy's (the one
    Numba's ``np.dot`` calls) — with the kernel set it chose (``architecture``: OpenBLAS's
    ``Haswell`` on AVX2, ``SkylakeX`` or ``Cooperlake`` on AVX-512)."""
    import numpy as np  # noqa: F401  (its BLAS)
    try:
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        pass
    from threadpoolctl import threadpool_info
    return [{"library": os.path.basename(p["filepath"]), "internal_api": p["internal_api"],
             "version": p.get("version"), "architecture": p.get("architecture"),
             "threading_layer": p.get("threading_layer")}
            for p in threadpool_info() if p["user_api"] == "blas"]


def machine():
    """What decides the results: CPU model and vector width, cores, the BLAS kernels."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable_cores(),
            **cpu_flags(), "blas": blas_libraries(),
            "python": platform.python_version(), "platform": platform.platform(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def child_environment(threads, environ=None):
    """The environment of a backend's process at ``threads`` threads: every pool set
    before it starts; Numba allowed as many threads as asked even beyond the cores
    (``NUMBA_NUM_THREADS`` caps ``set_num_threads``; its default is the core count), so
    that ``--threads 16`` runs on any machine — oversubscribed where there are fewer
    cores, which the run records."""
    environ = dict(os.environ if environ is None else environ)
    numba_cap = max(threads, int(environ.get("NUMBA_NUM_THREADS") or 0), os.cpu_count() or 1)
    return dict(environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                MKL_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(numba_cap),
                TF_CPP_MIN_LOG_LEVEL="3")


def schedule(backends, rounds=ROUNDS):
    """The turns of one case: ``(backend, mode)`` pairs, every backend timing each mode
    once a round, in ``backends`` order in even rounds and reversed in odd ones."""
    return [(backend, mode) for r in range(rounds) for mode in MODES
            for backend in (backends if r % 2 == 0 else backends[::-1])]


# --- the child: one backend, timing what the parent asks -------------------------------

def serve(threads, backend_name, requests=sys.stdin, replies=None):
    """Answer the parent's requests, one JSON object a line each way:

    - ``{"op": "configure"}`` → ``{"info": ...}`` or ``{"skipped": why}``;
    - ``{"op": "prepare", "cell", "config"}`` → ``{"first_call_s": {mode: s}}`` (each mode
      called once more after its first call, to warm up) or ``{"skipped": why}``;
    - ``{"op": "time", "mode", "budget_s"}`` → ``{"samples_s": [...]}``, after an untimed
      call when the mode's warm-up took less than ``WARM_UP_MAX_S``.
    """
    if replies is None:
        # Whatever the libraries print goes to stderr: stdout carries the replies alone.
        replies = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)
    from threadpoolctl import threadpool_limits
    backend = next(b for b in all_backends() if b.name == backend_name)
    calls = {}
    with threadpool_limits(threads):
        for line in requests:
            request = json.loads(line)
            try:
                reply = _answer(request, backend, threads, calls)
            except (Skip, ImportError) as why:
                reply = {"skipped": str(why)}
            print(json.dumps(reply), file=replies)


def _answer(request, backend, threads, calls):
    op = request["op"]
    if op == "configure":
        return {"info": {**backend.configure(threads), "versions": backend.versions()}}
    if op == "prepare":
        calls.clear()          # the previous case's layers and arrays go first
        first = {}
        for mode, fn in zip(MODES, backend.prepare(request["cell"], tuple(request["config"]),
                                                   threads)):
            first[mode] = _timed(fn)
            warm_up_s = _timed(fn)
            calls[mode] = fn, warm_up_s < WARM_UP_MAX_S      # whether each turn warms up too
        return {"first_call_s": first}
    if op == "time":
        fn, warm_up = calls[request["mode"]]
        if warm_up:
            fn()
        return {"samples_s": _samples(fn, request["budget_s"])}
    raise ValueError(f"request op: expected configure, prepare or time, got {op!r}")


def _samples(fn, budget_s, most=50):
    """Call ``fn`` until ``budget_s`` is spent: at least once, at most ``most`` times."""
    samples, start = [], time.perf_counter()
    while len(samples) < most and (not samples or time.perf_counter() - start < budget_s):
        samples.append(_timed(fn))
    return samples


class Child:
    """One backend's process (``python -m benchmarks --serve``), with its thread count
    fixed in its environment before any library starts a pool."""

    def __init__(self, threads, backend):
        self.backend = backend
        env = child_environment(threads)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks", "--serve", str(threads), "--backend", backend],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
            cwd=os.path.dirname(HERE))

    def ask(self, op, **args):
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.backend} process ended (exit code "
                               f"{self.process.wait()}) on {op} {args}; its stderr says why")
        return json.loads(line)

    def close(self):
        if not self.process.stdin.closed:
            self.process.stdin.close()
        self.process.wait()


def run_threads(threads, backends, configs, cells, budget_s, progress, rounds=ROUNDS):
    """Every case of the matrix with ``threads`` threads, the backends taking turns."""
    children = [Child(threads, name) for name in backends]
    info, skipped, records = {}, {}, []
    try:
        for child in children:
            reply = child.ask("configure")
            if "skipped" in reply:
                skipped[child.backend] = reply["skipped"]
                child.close()
            else:
                info[child.backend] = reply["info"]
        live = [c for c in children if c.backend in info]
        bar = _progress(len(cells) * len(configs), f"{threads} thread(s)", progress)
        for cell in cells:
            for config in configs:
                records += _case(cell, config, threads, live, budget_s, rounds)
                bar.update()
        bar.close()
    finally:
        for child in children:
            child.close()
    records += [_skip(cell, config, mode, name, threads, why) for name, why in skipped.items()
                for cell in cells for config in configs for mode in MODES]
    return {"threads": threads, "oversubscribed": threads > usable_cores(),
            "sgemm_peak_gflops": _peak_in_child(threads),
            "backends": info, "skipped": skipped, "records": records}


def _case(cell, config, threads, children, budget_s, rounds):
    """One cell and config on every backend: built, first call, then ``rounds`` turns."""
    records, ready = [], {}
    for child in children:
        reply = child.ask("prepare", cell=cell, config=config)
        if "skipped" in reply:
            records += [_skip(cell, config, mode, child.backend, threads, reply["skipped"])
                        for mode in MODES]
        else:
            ready[child.backend] = child, reply["first_call_s"]
    turns = {(name, mode): [] for name in ready for mode in MODES}
    for name, mode in schedule(list(ready), rounds):
        time.sleep(PAUSE_S)
        child, _ = ready[name]
        turns[name, mode].append(child.ask("time", mode=mode, budget_s=budget_s / rounds)[
            "samples_s"])
    for name, (_, first) in ready.items():
        for mode in MODES:
            records.append(_summary(cell, config, mode, name, threads, first[mode],
                                    turns[name, mode]))
    return records


def _summary(cell, config, mode, backend, threads, first_call_s, turns):
    """One case's record: the median and quartiles of all its samples, and the median
    of each turn (``turn_ms``, in round order), which the report pairs across backends."""
    seconds = [s for turn in turns for s in turn]
    median = statistics.median(seconds)
    return {"cell": cell, "config": list(config), "mode": mode, "backend": backend,
            "threads": threads, "first_call_s": first_call_s, "median_ms": 1e3 * median,
            "q1_ms": 1e3 * _quantile(seconds, 0.25), "q3_ms": 1e3 * _quantile(seconds, 0.75),
            "turn_ms": [1e3 * statistics.median(turn) for turn in turns],
            "repeats": len(seconds), "gflops": gemm_flops(cell, config, mode) / median / 1e9}


def _skip(cell, config, mode, backend, threads, why):
    return {"cell": cell, "config": list(config), "mode": mode, "backend": backend,
            "threads": threads, "skipped": why}


def _quantile(values, q):
    return statistics.quantiles(values, n=4, method="inclusive")[int(q * 4) - 1] \
        if len(values) > 1 else values[0]


def _progress(total, label, enabled):
    from tqdm import tqdm
    return tqdm(total=total, desc=label, unit="case", file=sys.stderr, leave=False,
                disable=not enabled)


# --- the parent: the children per thread count, then the report ------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="two small configs, LSTM and GRU, 2 threads (under a minute)")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="thread counts to run (default: 1 2; --quick: 2)")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=None)
    names = [b.name for b in all_backends()]
    parser.add_argument("--backends", nargs="+", choices=names, default=names,
                        help="backends to run (default: all)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of timed calls per case and backend, over all "
                             f"{ROUNDS} rounds (default 0.7; --quick 0.4)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"),
                        help="folder for the JSON and PNG (default benchmarks/results)")
    parser.add_argument("--name", default=None, help="file name stem (default: bench or quick)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve, args.backend)
        return 0

    configs = QUICK_CONFIGS if args.quick else CONFIGS
    cells = args.cells or (["LSTM", "GRU"] if args.quick else list(CELLS))
    budget = args.budget or (0.4 if args.quick else 0.7)
    threads = args.threads or ([2] if args.quick else [1, 2])
    started = time.time()
    runs = [run_threads(n, args.backends, configs, cells, budget, not args.no_progress)
            for n in threads]
    report = {"date": datetime.date.today().isoformat(), "machine": machine(),
              "command": "python -m benchmarks " + " ".join(argv or sys.argv[1:]),
              "wall_s": round(time.time() - started, 1), "runs": runs}
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, args.name or ("quick" if args.quick else "bench"))
    with open(stem + ".json", "w") as f:
        json.dump(report, f, indent=1)
    from .report import plot, table
    print(table(report))
    try:
        plot(report, stem + ".png")
        print(f"\nwrote {stem}.json and {stem}.png")
    except ImportError:
        print(f"\nwrote {stem}.json (no plot: pip install matplotlib)")
    return 0


def _peak_in_child(threads):
    env = child_environment(threads)
    out = subprocess.run([sys.executable, "-c", "from benchmarks.runner import sgemm_peak; "
                          "print(sgemm_peak())"], env=env, stdout=subprocess.PIPE,
                         check=True, cwd=os.path.dirname(HERE), text=True)
    return float(out.stdout)
