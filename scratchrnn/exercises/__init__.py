"""Exercises graded by the library: write a backward pass (or an optimizer step, a sampler,
a data tool) yourself and have it checked against scratchrnn's own.

    scratchrnn exercise list                      the exercises, in order, with difficulty
    scratchrnn exercise start NAME [--dir DIR]    write NAME.py: the library's function with
                                                  its body cut out, its context and hints
    scratchrnn exercise check FILE                grade it: a table of every quantity's error
                                                  (exit status 0 when right, 1 when wrong)
    scratchrnn exercise solution NAME             print the library's implementation

As in CS231n's assignments, the signature and the docstring are given and a check follows;
here both come from the library itself (:mod:`.grading` copies the source with
``inspect.getsource``), so an exercise always teaches the code that runs.  The exercises
and their hints are in :mod:`.catalog`.
"""

import argparse
import os
import sys

from .catalog import BY_NAME, EXERCISES
from .grading import GAP, Exercise, Result, grade, load, start_text

__all__ = ["EXERCISES", "BY_NAME", "GAP", "Exercise", "Result", "check", "grade", "main",
           "start", "start_text"]


def _exercise(name):
    try:
        return BY_NAME[name]
    except KeyError:
        raise SystemExit(f"scratchrnn exercise: no exercise {name!r}; "
                         "`scratchrnn exercise list` lists them") from None


def listing():
    """The text ``list`` prints."""
    lines, group = [], None
    width = max(len(e.name) for e in EXERCISES)
    for number, e in enumerate(EXERCISES, 1):
        if e.group != group:
            group = e.group
            lines.append(("" if not lines else "\n") + group)
        lines.append(f"  {number:2d}. {e.name.ljust(width)}  {e.difficulty:<6}  {e.summary}")
    lines.append("\nscratchrnn exercise start NAME writes NAME.py; "
                 "scratchrnn exercise check NAME.py grades it.")
    return "\n".join(lines)


def start(name, directory=".", force=False):
    """Write the exercise file of ``name`` into ``directory``; returns its path."""
    exercise = _exercise(name)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.py")
    if os.path.exists(path) and not force:
        raise SystemExit(f"scratchrnn exercise: {path} exists; keep your work, or pass "
                         "--force to overwrite it")
    number = EXERCISES.index(exercise) + 1
    with open(path, "w", encoding="utf-8") as f:
        f.write(start_text(exercise, number, len(EXERCISES)))
    return path


def check(path, print_fn=print):
    """Grade the exercise file at ``path``; returns the :class:`Result` (None when the file
    cannot be graded at all, after printing why).  ``print_fn=None``: silent."""
    print_fn = print_fn or (lambda text: None)
    try:
        module, name = load(path)
    except FileNotFoundError:
        print_fn(f"scratchrnn exercise check: no file {path}")
        return None
    except Exception as err:  # the student's file: report it
        print_fn(f"scratchrnn exercise check: {path} does not import: "
                 f"{type(err).__name__}: {err}")
        return None
    name = name or os.path.splitext(os.path.basename(path))[0]
    if name not in BY_NAME:
        print_fn(f"scratchrnn exercise check: {path} names no known exercise ({name!r}); "
                 "keep the EXERCISE = \"...\" line that start wrote")
        return None
    exercise = BY_NAME[name]
    fn = getattr(module, exercise.function_name, None)
    if not callable(fn):
        print_fn(f"scratchrnn exercise check: {path} defines no function "
                 f"{exercise.function_name!r}")
        return None
    result = grade(exercise, fn)
    print_fn(result.table())
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="scratchrnn exercise",
        description="Exercises graded by the library: write a backward pass yourself and "
                    "have it checked against scratchrnn's own code and finite differences.")
    commands = parser.add_subparsers(dest="action", required=True)
    commands.add_parser("list", help="the exercises, in order, with their difficulty")
    p = commands.add_parser("start", help="write NAME.py: the function to write, its context "
                                          "and hints")
    p.add_argument("name")
    p.add_argument("--dir", default=".", help="where to write it (default: here)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p = commands.add_parser("check", help="grade an exercise file (exit 0 right, 1 wrong)")
    p.add_argument("file")
    p = commands.add_parser("solution", help="print the library's implementation")
    p.add_argument("name")
    args = parser.parse_args(argv)
    if args.action == "list":
        print(listing())
        return 0
    if args.action == "start":
        path = start(args.name, args.dir, args.force)
        print(f"wrote {path}: fill in `{BY_NAME[args.name].function_name}`, then "
              f"`scratchrnn exercise check {path}`")
        return 0
    if args.action == "solution":
        exercise = _exercise(args.name)
        print(f"# {exercise.target.replace(':', '.')}, as the library has it\n")
        print(exercise.solution(), end="")
        return 0
    result = check(args.file)
    return 0 if result is not None and result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
