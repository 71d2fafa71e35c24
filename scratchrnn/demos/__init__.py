"""``scratchrnn demo NAME``: course tasks end to end, on this library alone.

Each demo is a module with ``main(argv) -> int`` and the options ``--quick`` (seconds, for
the tests), ``--out DIR`` (its PNG files) and ``--seed``; :data:`DEMOS` lists them.
"""

import importlib
import sys

#: name -> (module, what it shows); None as the module: not written yet.
DEMOS = {
    "textgen": ("textgen", "a character LSTM trained on Python's own standard library, "
                           "sampled at four temperatures"),
    "sentiment": ("sentiment", "four architectures and a bag of words on reviews where "
                               "word order (negation) decides"),
    "forecast": ("forecast", "LSTM, Conv1D + LSTM and a multi-step forecaster against "
                             "naive baselines, on a synthetic and a stock series"),
    "seq2seq": ("seq2seq", "an LSTM encoder-decoder, with and without attention, learning "
                           "to reverse sequences"),
}


def usage():
    lines = ["usage: scratchrnn demo NAME [--quick] [--out DIR] [--seed N] [options]",
             "", "demos:"]
    width = max(len(name) for name in DEMOS)
    lines += [f"  {name.ljust(width)}  {about}" for name, (_, about) in DEMOS.items()]
    lines += ["", "`scratchrnn demo NAME --help` for a demo's own options."]
    return "\n".join(lines)


def main(argv=None):
    """Run the demo named by ``argv[0]`` with the remaining arguments; 0 on success,
    2 for an unknown (or missing) name."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in DEMOS:
        print(f"scratchrnn demo: unknown demo {name!r}; choose one of "
              f"{', '.join(DEMOS)}\n\n{usage()}", file=sys.stderr)
        return 2
    module = DEMOS[name][0]
    if module is None:
        print(f"scratchrnn demo: {name!r} is not written yet", file=sys.stderr)
        return 2
    from ._common import single_threaded_blas
    with single_threaded_blas():
        return importlib.import_module(f"{__name__}.{module}").main(rest)
