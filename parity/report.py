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

The rows print as their cases finish (flushed, so a pipe or a log file sees them too),
under a header sized from the names known before the run; while a part runs, a progress
bar (tqdm, on stderr, only when stderr is a terminal) counts its cases and its elapsed
and remaining time.  The failures' explanations and the summary follow the last row.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import traceback

import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from tqdm import tqdm

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


#: The table's columns: those of a recurrent case's row and of another check's row.
CASE_HEADER = ["case", "layer", "options", "dtype", *GROUPS, "tol", "result", "note"]
CHECK_HEADER = ["check", "kind", "options", "dtype", "tol", "result", "worst error per group"]
#: Cells known only once a row has run have a fixed width: an error ("1.2e-05"), a
#: tolerance ("1e-10"), a verdict ("PASS*"); the last column is left free.  (An error
#: under 1e-99 would print a 3-digit exponent and push the rest of its row one place.)
ERROR_WIDTH, TOL_WIDTH, VERDICT_WIDTH = 7, 5, 5


def _widths(header: list[str], known: list[list[str]], fixed: list[int]) -> list[int]:
    """Column widths: the known leading columns sized from their cells, then ``fixed``
    (each at least its heading), the last column free (0)."""
    widths = [max(len(row[i]) for row in [header] + known) for i in range(len(known[0]))]
    widths += [max(w, len(h)) for w, h in zip(fixed, header[len(widths):])]
    return widths + [0] * (len(header) - len(widths))


def case_widths(cases: list[Case]) -> list[int]:
    """The widths of the recurrent table's columns, from the cases before they run."""
    known = [[c.name, c.layer, c.options, c.dtype] for c in cases]
    return _widths(CASE_HEADER, known, [ERROR_WIDTH] * len(GROUPS) + [TOL_WIDTH, VERDICT_WIDTH])


def check_widths(checks: list) -> list[int]:
    """The widths of the component table's columns, from the checks before they run."""
    known = [[c.name, c.kind, c.options, c.dtype] for c in checks]
    return _widths(CHECK_HEADER, known, [TOL_WIDTH, VERDICT_WIDTH])


def format_line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def case_cells(r: Result) -> list[str]:
    """One recurrent row: name, layer, options, dtype, one column per group, tolerance,
    verdict, note."""
    return [r.name, r.layer, r.options, r.dtype, *[format_error(r.errors.get(g)) for g in GROUPS],
            f"{r.tolerance:.0e}", r.verdict, r.note]


def check_cells(r: CheckResult) -> list[str]:
    """One component row: name, kind, options, dtype, tolerance, verdict, the worst error of
    each group."""
    return [r.name, r.kind, r.check.options, r.dtype, f"{r.check.limit:.0e}", r.verdict,
            (" ".join(f"{g}={format_error(e)}" for g, e in r.errors.items()) or "-")
            + (f"  ({r.note})" if r.note else "")]


def format_table(results: list[Result]) -> list[str]:
    """Aligned rows: name, layer, options, dtype, one column per group, tolerance, verdict, note."""
    widths = case_widths([r.case for r in results])
    return [format_line(row, widths) for row in [CASE_HEADER] + [case_cells(r) for r in results]]


def format_check_table(results: list[CheckResult]) -> list[str]:
    """Aligned rows: name, kind, options, dtype, tolerance, verdict, the worst error of each
    group."""
    widths = check_widths([r.check for r in results])
    return [format_line(row, widths) for row in [CHECK_HEADER] + [check_cells(r) for r in results]]


def emit(line: str = "") -> None:
    """Print a line of the report now: above the progress bar, flushed."""
    tqdm.write(line, file=sys.stdout)
    sys.stdout.flush()


def run_streamed(items: list, run, header: list[str], widths: list[int], cells,
                 unit: str) -> list:
    """Run each item, printing its row as soon as it is done, under a progress bar on
    stderr (shown only when stderr is a terminal); returns the results in order."""
    emit(format_line(header, widths))
    results = []
    with tqdm(items, unit=unit, file=sys.stderr, disable=None, leave=False,
              dynamic_ncols=True) as bar:
        for item in bar:
            bar.set_postfix_str(item.name, refresh=False)
            result = run(item)
            results.append(result)
            emit(format_line(cells(result), widths))
    return results


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
    parts = [f"{len(cases)} recurrent cases"] * bool(cases) + \
        [f"{len(checks)} other checks"] * bool(checks)
    emit(f"parity: {' then '.join(parts)}; each row prints as its case finishes")
    start = time.perf_counter()
    results, check_results = [], []
    if cases:
        emit()
        # safe_run and run_check are looked up at call time (the tests replace them)
        results = run_streamed(cases, lambda case: safe_run(case), CASE_HEADER,
                               case_widths(cases), case_cells, "case")
    if checks:
        emit()
        check_results = run_streamed(checks, lambda check: run_check(check), CHECK_HEADER,
                                     check_widths(checks), check_cells, "check")
    elapsed = time.perf_counter() - start
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
    excused_checks = sum(r.verdict == "PASS*" for r in check_results)
    passed = len(results) + len(check_results) - len(failed)
    print(
        f"\n{passed}/{len(results) + len(check_results)} passed ({len(results)} recurrent "
        f"cases, {excused} of them ill-conditioned and excused; {len(check_results)} other "
        f"checks, {excused_checks} excused), {len(failed)} failed; {worst_text}; {elapsed:.1f} s"
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
