"""The ``scratchrnn`` command.

    scratchrnn parity [options]     the Keras cross-check report (needs TensorFlow)
    scratchrnn bench [options]      the benchmark matrix (python -m benchmarks)
    scratchrnn demo NAME [options]  a course task end to end: textgen, sentiment, forecast, seq2seq
    scratchrnn gradients [options]  the vanishing-gradient picture, computed by BPTT
    scratchrnn trace [options]      one SimpleRNN/LSTM/GRU step, every gate (--backward:
                                    every gradient) printed
    scratchrnn exercise ACTION      exercises graded by the library: list, start, check, solution
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="scratchrnn",
        description="Recurrent networks from scratch in NumPy, checked against Keras.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "parity", add_help=False,
        help="compare every layer and option with tf.keras (outputs and gradients); "
             "`scratchrnn parity --help` for its options")
    commands.add_parser(
        "bench", add_help=False,
        help="time numpy, numba, Keras CPU, PyTorch CPU and cuDNN; `scratchrnn bench --help` "
             "for its options")
    commands.add_parser(
        "demo", add_help=False,
        help="run a course task end to end (textgen, sentiment, forecast, seq2seq); "
             "`scratchrnn demo --help` for the list")
    commands.add_parser(
        "gradients", add_help=False,
        help="measure |dloss/dh_t| over 100+ steps for SimpleRNN, LSTM and GRU and plot it")
    commands.add_parser(
        "trace", add_help=False,
        help="print every gate of one SimpleRNN, LSTM or GRU step on a tiny input "
             "(--backward: and every gradient of its backward)")
    commands.add_parser(
        "exercise", add_help=False,
        help="exercises graded by the library (list, start NAME, check FILE, solution NAME); "
             "`scratchrnn exercise --help` for more")
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        from . import demos
        return demos.main(rest)
    if args.command == "gradients":
        from . import study
        return study.gradients_main(rest)
    if args.command == "trace":
        from . import study
        return study.trace_main(rest)
    if args.command == "exercise":
        from . import exercises
        return exercises.main(rest)
    if args.command == "bench":
        try:
            from benchmarks import runner
        except ImportError as err:
            print(f"scratchrnn bench needs its extras: pip install -e '.[bench]' ({err})",
                  file=sys.stderr)
            return 2
        return runner.main(rest)
    if args.command == "parity":
        try:
            from parity import report
        except ImportError as err:
            print(f"scratchrnn parity needs TensorFlow and hypothesis: pip install -e "
                  f"'.[parity]' ({err})", file=sys.stderr)
            return 2
        return report.main(rest)
    return 2


if __name__ == "__main__":
    sys.exit(main())
