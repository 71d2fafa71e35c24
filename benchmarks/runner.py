"""Run the benchmark matrix and report it: a table, a JSON file and a PNG plot.

Method.  Each backend runs in a process of its own, one per thread count (1 and 2 by
default): ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` set in its environment,
``threadpoolctl`` limits on both OpenBLAS pools (NumPy's, and SciPy's that
Numba's ``np.dot`` calls), TensorFlow's intra/inter-op threads, ``torch.set_num_threads``.
Separate processes because the libraries' thread pools spin-wait after their work:
sharing two cores, PyTorch ran 800x slower right after TensorFlow in one process.
For each cell and configuration a backend is built and called once (the *first call*,
reported apart: it holds Numba's compile or cache load and ``tf.function``'s tracing),
warmed up, then timed for a budget of seconds.  The whole matrix runs in two passes
(one with ``--quick``), the backends in one order and then the reverse, so that a
slow spell of the machine falls on all of them; the report gives the median and
inter-quartile range of both passes' samples.  Ratios are against Keras CPU in the same
run.  GFLOP/s counts the GEMMs only (``2·B·T·(I+H)·gH`` forward, three times that
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
import tempfile
import time

from .backends import CELLS, Skip, all_backends

#: (B, T, I, H), from overhead-bound (one sequence) to GEMM-bound.
CONFIGS = [(1, 100, 8, 32), (32, 50, 10, 64), (32, 100, 128, 128), (64, 100, 256, 256),
           (128, 50, 512, 512), (64, 25, 1024, 1024)]
QUICK_CONFIGS = [(1, 100, 8, 32), (32, 50, 10, 64)]
MODES = ("forward", "forward_backward")
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


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


# --- the child: one thread count -------------------------------------------------------

def run_child(threads, backend_name, configs, cells, budget_s, progress):
    """Time every (cell, config, mode) of one backend with ``threads`` threads."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(threads)
    backend = next(b for b in all_backends() if b.name == backend_name)
    try:
        info = backend.configure(threads)
        info["versions"] = backend.versions()
    except (Skip, ImportError) as why:
        return {"skipped": str(why), "records": [
            _skip(cell, config, mode, backend_name, threads, str(why))
            for cell in cells for config in configs for mode in MODES]}
    records = []
    bar = _progress(len(cells) * len(configs), f"{backend_name}, {threads} thread(s)", progress)
    for cell in cells:
        for config in configs:
            try:
                calls = backend.prepare(cell, config, threads)
            except Skip as why:
                records += [_skip(cell, config, mode, backend_name, threads, str(why))
                            for mode in MODES]
                bar.update()
                continue
            for mode, fn in zip(MODES, calls):
                first = _timed(fn)
                _timed(fn)                                   # warm-up
                records.append({"cell": cell, "config": list(config), "mode": mode,
                                "backend": backend_name, "threads": threads,
                                "first_call_s": first, "samples_s": _samples(fn, budget_s)})
            bar.update()
    bar.close()
    return {"info": info, "records": records}


def _samples(fn, budget_s, least=2, most=50):
    """Call ``fn`` until ``budget_s`` is spent (at least ``least``, at most ``most`` times)."""
    samples, start = [], time.perf_counter()
    while len(samples) < most and (len(samples) < least
                                   or time.perf_counter() - start < budget_s):
        samples.append(_timed(fn))
    return samples


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


# --- the parent: one child per thread count, then the report ---------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="two small configs, LSTM and GRU, 2 threads (under a minute)")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="thread counts to run (default: 1 2; --quick: 2)")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=None)
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of timed rounds per case (default 0.7; --quick 0.4)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"),
                        help="folder for the JSON and PNG (default benchmarks/results)")
    parser.add_argument("--name", default=None, help="file name stem (default: bench or quick)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    cells = args.cells or (["LSTM", "GRU"] if args.quick else list(CELLS))
    budget = args.budget or (0.4 if args.quick else 0.7)

    if args.child is not None:
        result = run_child(args.child, args.backend, configs, cells, budget,
                           not args.no_progress)
        with open(args.child_out, "w") as f:
            json.dump(result, f)
        return 0

    threads = args.threads or ([2] if args.quick else [1, 2])
    started = time.time()
    names = [b.name for b in all_backends()]
    runs = []
    for n in threads:
        passes = [names] if args.quick else [names, names[::-1]]
        results = [_spawn(n, name, args, cells, budget / len(passes))
                   for order in passes for name in order]
        runs.append(_merge(n, results))
    report = {"date": datetime.date.today().isoformat(), "machine": machine(),
              "command": "python -m benchmarks " + " ".join(argv or []),
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


def _spawn(threads, backend, args, cells, budget):
    """Run one backend over the matrix in a fresh process (fresh thread pools)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), TF_CPP_MIN_LOG_LEVEL="3")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        command = [sys.executable, "-m", "benchmarks", "--child", str(threads), "--backend",
                   backend, "--child-out", out, "--cells", *cells, "--budget", str(budget)]
        command += ["--quick"] * args.quick + ["--no-progress"] * args.no_progress
        subprocess.run(command, env=env, check=True, cwd=os.path.dirname(HERE))
        with open(out) as f:
            return json.load(f)


def _merge(threads, results):
    """One thread count's report: the samples of both passes pooled per case."""
    pooled, info, skipped = {}, {}, {}
    for result in results:
        for r in result["records"]:
            key = (r["cell"], tuple(r["config"]), r["mode"], r["backend"])
            if "skipped" in r:
                skipped[r["backend"]] = r["skipped"]
                pooled.setdefault(key, r)
                continue
            merged = pooled.setdefault(key, {**r, "samples_s": [], "first_call_s": []})
            merged["samples_s"] += r["samples_s"]
            merged["first_call_s"].append(r["first_call_s"])
        if "info" in result:
            info[result["records"][0]["backend"]] = result["info"]
    records = []
    for (cell, config, mode, _), r in pooled.items():
        if "samples_s" in r:
            seconds = r.pop("samples_s")
            median = statistics.median(seconds)
            r.update(median_ms=1e3 * median, q1_ms=1e3 * _quantile(seconds, 0.25),
                     q3_ms=1e3 * _quantile(seconds, 0.75), repeats=len(seconds),
                     first_call_s=max(r["first_call_s"]),
                     gflops=gemm_flops(cell, config, mode) / median / 1e9)
        records.append(r)
    return {"threads": threads, "sgemm_peak_gflops": _peak_in_child(threads),
            "backends": info, "skipped": skipped, "records": records}


def _peak_in_child(threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", "from benchmarks.runner import sgemm_peak; "
                          "print(sgemm_peak())"], env=env, stdout=subprocess.PIPE,
                         check=True, cwd=os.path.dirname(HERE), text=True)
    return float(out.stdout)
