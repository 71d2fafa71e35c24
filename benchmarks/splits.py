"""The numba LSTM's two thread splits, measured against each other on this machine.

``scratchrnn/kernels/policy.py`` chooses, per call, between the batch split (``rows``: a
block of sequences per thread) and the weight-stationary split (``units``: a slice of
hidden units per thread, meeting every step), with a cost model.  This measures both,
and the policy's own choice, at the benchmark matrix's shapes and the thread counts
given, so that the model can be checked on any machine::

    python -m benchmarks.splits --threads 2 4 8 16

The splits take turns within each round (rows, units, the policy's), so a spell of a
noisy machine falls on all three alike; the figures are medians over the rounds.

Measured on the 2-core AVX2 VM (AMD EPYC, OpenBLAS Haswell kernels), 2026-12-05,
``python -m benchmarks.splits --threads 2``, ms forward / backward::

    B,T,I,H              rows             units            policy           picks
    32,50,10,64          1.32 / 1.90      1.39 / 2.21      1.32 / 1.91      rows / rows
    32,100,128,128       8.37 / 14.8      11.7 / 22.2      8.54 / 15.0      rows / rows
    64,100,256,256       50.4 / 97.9      63.1 / 118       50.4 / 97.5      rows / rows
    128,50,512,512       208 / 372        209 / 397        199 / 350        rows / rows
    64,25,1024,1024      206 / 394        195 / 397        222 / 390        rows / rows

On two cores the units split never wins clearly: it pays for a meeting every step,
and its gate arithmetic works on slices of H/2 units, ~2.5x dearer per element than
the rows split's whole rows at (64, 100, 256, 256) (10 ms against 4 of the forward).
The model, which prices it 7–20% cheaper at the three large shapes, takes it only from
a 25% margin: from 4 threads at those shapes, where each thread's share of the batch
gets short and every thread streams the whole kernel each step.  The many-core figures
that motivate it are in the README (the 16-core host of the GPU machine).
"""

import argparse
import time

import numpy as np

SHAPES = [(32, 50, 10, 64), (32, 100, 128, 128), (64, 100, 256, 256), (128, 50, 512, 512),
          (64, 25, 1024, 1024)]


def _problem(batch, timesteps, input_dim, units, seed=0):
    rng = np.random.default_rng(seed)
    f32 = np.float32
    x = rng.standard_normal((batch, timesteps, input_dim)).astype(f32)
    h0 = np.zeros((batch, units), f32)
    kernel = (rng.standard_normal((input_dim, 4 * units)) / np.sqrt(input_dim)).astype(f32)
    recurrent = (rng.standard_normal((units, 4 * units)) / np.sqrt(units)).astype(f32)
    return x, h0, kernel, recurrent, np.zeros(4 * units, f32)


def time_splits(shape, rounds=4, budget=0.5):
    """{"rows" | "units" | "policy": (forward ms, backward ms)}: medians over ``rounds``
    rounds, each split timed for about ``budget`` seconds a round."""
    import contextlib

    from scratchrnn.kernels import lstm, policy
    from scratchrnn.kernels.common import Workspace

    x, h0, kernel, recurrent, bias = _problem(*shape)
    workspace = Workspace()
    contexts = {"rows": lambda: policy.forced("rows"), "units": lambda: policy.forced("units"),
                "policy": contextlib.nullcontext}
    samples = {name: ([], []) for name in contexts}

    def call():
        t0 = time.perf_counter()
        (outputs, h, c), cache = lstm.lstm_forward(x, h0, h0, kernel, recurrent, bias,
                                                   workspace=workspace)
        t1 = time.perf_counter()
        lstm.lstm_backward(outputs, h, c, cache, kernel, recurrent, workspace=workspace)
        return t1 - t0, time.perf_counter() - t1

    for _ in range(rounds):
        for name, context in contexts.items():
            with context():
                call()                                      # untimed: compile, warm up
                spent = 0.0
                while spent < budget:
                    forward, backward = call()
                    samples[name][0].append(forward)
                    samples[name][1].append(backward)
                    spent += forward + backward
    return {name: (1e3 * float(np.median(f)), 1e3 * float(np.median(b)))
            for name, (f, b) in samples.items()}


def policy_choice(shape, threads):
    """What the policy picks for this shape on ``threads`` threads (forward, backward)."""
    from scratchrnn.kernels import policy
    batch, _, _, units = shape
    return tuple(policy.choose(batch, units, 4, 4, threads, backward=backward,
                               has_units_split=True).path for backward in (False, True))


def main(argv=None):
    import numba

    from scratchrnn.kernels import policy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--budget", type=float, default=0.5,
                        help="seconds per split per round (default 0.5)")
    args = parser.parse_args(argv)
    policy.set_follow_load(False)             # the counts asked for, whatever the load
    print(f"{policy.this_machine()}; float32; ms forward / backward, medians over "
          f"{args.rounds} rounds")
    for threads in args.threads:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        print(f"\n{numba.get_num_threads()} threads")
        print(f"{'B,T,I,H':20s} {'rows':>16s} {'units':>16s} {'policy':>16s}  policy picks")
        for shape in SHAPES:
            t = time_splits(shape, args.rounds, args.budget)
            cells = " ".join(f"{t[k][0]:7.3g} / {t[k][1]:6.3g}" for k in ("rows", "units",
                                                                          "policy"))
            picks = " / ".join(policy_choice(shape, numba.get_num_threads()))
            print(f"{','.join(map(str, shape)):20s} {cells}  {picks}")


if __name__ == "__main__":
    main()
