"""The parity report: one row per case, worst error per quantity, PASS/FAIL.

``python -m parity [--dtype float32|float64] [--layer lstm] [-k substring] [--backend numba]
[--hypothesis N [--seed S]]``

The recurrent layers come first (their cases, below); then every other check of
:mod:`parity.components` (the feed-forward layers, losses, metrics, optimizers, whole
models and 20-step training runs), one row each with its worst error per group.

Each row shows the worst :func:`parity.harness.relative_error` of the outputs, the returned
states, dx, the initial-state gradients and the weight gradients ("-" where the case has
no such quantity), the case's tolerance and its verdict: PASS; PASS* (a float32 group over
the tolerance, excused as an ill-conditioned problem, the numbers in the note column: see
:mod:`parity.harness`); FAIL, explained below the table with the line that reruns the
case. The exit status is 0 when every case passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import traceback

import hypothesis
from hypothesis import HealthCheck, Phase, given, settings

from scratchrnn.backend import BACKENDS

from .cases import DTYPES, named_cases, random_cases, select
from .components import CheckResult, all_checks, run_check
from .harness import GROUPS, LAYERS, Case, Result, run_case


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="parity", description="Compare scratchrnn layers with tf.keras."
    )
    parser.add_argument("--dtype", choices=DTYPES, help="only cases of this dtype")
    parser.add_argument(
        "--layer",
        choices=[name.lower() for name in LAYERS],
        type=str.lower,
        help="only cases of this layer kind",
    )
    parser.add_argument("-k", dest="substring", help="only cases whose name contains this")
    parser.add_argument(
        "--hypothesis",
        type=int,
        default=0,
        metavar="N",
        help="also run N random configurations drawn by hypothesis",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random configurations")
    parser.add_argument(
        "--backend", choices=BACKENDS, help="scratchrnn backend (default: scratchrnn's default)"
    )
    parser.add_argument(
        "--only",
        choices=("rnn", "components"),
        help="only the recurrent layers' cases, or only the other checks (layers, losses, "
        "optimizers, models, training)",
    )
    return parser.parse_args(argv)


def draw_random_cases(
    count: int, seed: int, dtype: str | None, backend: str | None = None
) -> list[Case]:
    """Up to ``count`` distinct configurations from :func:`parity.cases.random_cases`,
    named ``random<index>-<layer>-s<case seed>``; ``python -m parity`` draws the same
    ones for the same arguments, and a failure prints the line that reruns its case."""
    drawn: dict[str, Case] = {}

    @hypothesis.seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(random_cases(dtypes=(dtype,) if dtype else DTYPES, backends=(backend,)))
    def collect(case):
        drawn.setdefault(repr(case), case)

    collect()
    return [
        dataclasses.replace(case, name=f"random{i:03d}-{case.layer.lower()}-s{case.seed}")
        for i, case in enumerate(drawn.values())
    ]


def safe_run(case: Case) -> Result:
    """:func:`run_case`, with an exception turned into a failed row carrying its message."""
    start = time.perf_counter()
    try:
        return run_case(case)
    except Exception as error:  # a crash of either side is a failed case, not a dead report
        last = traceback.extract_tb(error.__traceback__)[-1]
        problem = f"raised {type(error).__name__}: {error} ({last.filename}:{last.lineno})"
        return Result(case, {}, (problem,), seconds=time.perf_counter() - start)


def format_error(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def format_table(results: list[Result]) -> list[str]:
    """Aligned rows: name, layer, options, dtype, one column per group, tolerance, verdict, note."""
    header = ["case", "layer", "options", "dtype", *GROUPS, "tol", "result", "note"]
    rows = [
        [
            r.name,
            r.layer,
            r.options,
            r.dtype,
            *[format_error(r.errors.get(g)) for g in GROUPS],
            f"{r.tolerance:.0e}",
            r.verdict,
            r.note,
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header] + rows
    ]


def format_check_table(results: list[CheckResult]) -> list[str]:
    """Aligned rows: name, kind, options, dtype, the worst error of each group, tolerance,
    verdict."""
    header = ["check", "kind", "options", "dtype", "tol", "result", "worst error per group"]
    rows = [
        [
            r.name,
            r.kind,
            r.check.options,
            r.dtype,
            f"{r.check.limit:.0e}",
            r.verdict,
            " ".join(f"{g}={format_error(e)}" for g, e in r.errors.items()) or "-",
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header] + rows
    ]


def select_checks(args: argparse.Namespace) -> list:
    """The component checks the filters keep (none with ``--layer``, ``--backend`` or
    ``--only rnn``: those filters speak of the recurrent cases)."""
    if args.only == "rnn" or args.layer or args.backend:
        return []
    return [
        c
        for c in all_checks()
        if (args.dtype is None or c.dtype == args.dtype)
        and (args.substring is None or args.substring in c.name)
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the selected cases, print the table and a summary; 0 if all pass, else 1."""
    args = parse_args(argv)
    cases = []
    if args.only != "components":
        cases = select(named_cases(args.backend), args.dtype, args.layer, args.substring)
        if args.hypothesis:
            drawn = draw_random_cases(args.hypothesis, args.seed, args.dtype, args.backend)
            cases += select(drawn, layer=args.layer)
    checks = select_checks(args)
    if not cases and not checks:
        print("no case matches the filters", file=sys.stderr)
        return 1
    start = time.perf_counter()
    results = [safe_run(case) for case in cases]
    check_results = [run_check(check) for check in checks]
    elapsed = time.perf_counter() - start
    if results:
        for line in format_table(results):
            print(line)
    if check_results:
        print()
        for line in format_check_table(check_results):
            print(line)
    failed = [r for r in results if not r.passed] + [r for r in check_results if not r.passed]
    for result in failed:
        print("\nFAIL " + result.describe())
    worst_text = "; ".join(
        f"{label}: " + ", ".join(
            f"worst {d} {format_error(w)}" for d, w in worst_by_dtype(rows).items()
        )
        for label, rows in (("recurrent", results), ("other", check_results))
        if rows
    )
    excused = sum(r.verdict == "PASS*" for r in results)
    passed = len(results) + len(check_results) - len(failed)
    print(
        f"\n{passed}/{len(results) + len(check_results)} passed ({len(results)} recurrent "
        f"cases, {excused} of them ill-conditioned and excused; {len(check_results)} other "
        f"checks), {len(failed)} failed; {worst_text}; {elapsed:.1f} s"
    )
    return 1 if failed else 0


def worst_by_dtype(results: list) -> dict:
    """The largest error (not excused) of each dtype."""
    worst = {}
    for r in results:
        for group, e in r.errors.items():
            if group not in getattr(r, "excused", ()):
                worst[r.dtype] = max(worst.get(r.dtype, 0.0), e)
    return worst
