"""The ``scratchrnn`` command.

    scratchrnn parity [options]     the Keras cross-check report (needs TensorFlow)
    scratchrnn bench [options]      the benchmark matrix (python -m benchmarks)
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
    args, rest = parser.parse_known_args(argv)
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
