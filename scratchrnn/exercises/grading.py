"""The machinery of the exercises: an :class:`Exercise` names a function of the library,
writes it out with its body cut away (:func:`start_text`), and grades a student's version
of it (:func:`grade`) against the library's own, draw by draw, quantity by quantity.

The exercise file is made from the library's source by ``inspect.getsource``: the
function's signature and docstring, the module's docstring (the equations), the
functions and classes around it that the exercise names as context, and the imports of
every global name its body uses.  So the exercise cannot drift from the code it teaches:
change the library and the next ``start`` writes the new code.

Grading runs the reference and the student's function on the same random draws (seeded:
the same draws on every run) and compares every quantity they return (``dW``, ``dh_prev``,
``dc_prev``, ...) by the relative error of :func:`scratchrnn.testing.relative_error`;
for the gradient exercises it also compares them with central finite differences in
float64 (:func:`scratchrnn.testing.numerical_gradient`), so that the table says both
"not what the library computes" and "not the derivative".
"""

import ast
import copy
import dataclasses
import importlib
import importlib.util
import inspect
import sys
import textwrap
import traceback
import types
import warnings
from collections.abc import Callable

import numpy as np

from ..testing import TOLERANCE as FD_TOLERANCE
from ..testing import numerical_gradient, relative_error

GAP = "raise NotImplementedError  # YOUR CODE HERE"
TOLERANCE = 1e-9


@dataclasses.dataclass(frozen=True)
class Draw:
    """One random configuration.  ``call(fn)`` runs ``fn`` (the library's or the
    student's) on it and returns ``{quantity: array or None}``; ``numerical()``, when
    given, returns the finite-difference value of some of those quantities."""

    label: str
    call: Callable
    numerical: Callable | None = None


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise.  ``target``: ``"module:qualname"`` of the library's function (a
    method is written out as a function taking ``self``).  ``draws(seed)`` gives the
    :class:`Draw` of seed ``seed`` (``n_draws`` of them are graded).  ``hints`` maps a
    quantity to what usually makes it wrong (``"*"``: general hints, printed in the file).
    ``context``: qualnames in the target's module copied above it (the forward it
    inverts, the cache it reads)."""

    name: str
    group: str
    difficulty: str
    summary: str
    target: str
    task: str
    draws: Callable
    hints: dict
    context: tuple = ()
    n_draws: int = 4
    tolerance: float = TOLERANCE

    @property
    def module(self):
        return importlib.import_module(self.target.split(":")[0])

    @property
    def qualname(self):
        return self.target.split(":")[1]

    @property
    def function_name(self):
        return self.qualname.split(".")[-1]

    @property
    def reference(self):
        """The library's function (for a method: the plain function, taking ``self``)."""
        return _lookup(self.module, self.qualname)

    @property
    def gradient(self):
        """True when the draws compare with finite differences."""
        return any(self.draws(seed).numerical is not None for seed in range(self.n_draws))

    def solution(self):
        """The library's implementation, as ``solution`` prints it."""
        return textwrap.dedent(inspect.getsource(self.reference))


def _lookup(module, qualname):
    obj = module
    for part in qualname.split("."):
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    return obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj


# --- writing the exercise file --------------------------------------------------------------

def cut_body(source, name):
    """``source`` (one function) with everything after its docstring replaced by the gap."""
    tree = ast.parse(source)
    func = tree.body[0]
    if not isinstance(func, ast.FunctionDef) or func.name != name:
        raise ValueError(f"expected the source of function {name!r}")
    first = func.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None),
                                                         ast.Constant) \
        and isinstance(first.value.value, str)
    lines = source.splitlines()
    keep = first.end_lineno if has_doc else first.lineno - 1
    statement = func.body[1] if has_doc and len(func.body) > 1 else first
    indent = " " * statement.col_offset
    return "\n".join(lines[:keep] + [indent + GAP]) + "\n"


def _names(obj):
    """Every bare name the source of ``obj`` reads (``np`` of ``np.tanh``, annotations too)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _imports(module, objects, defined):
    """Import lines for the globals of ``module`` that ``objects`` read, minus ``defined``."""
    used = set().union(*(_names(obj) for obj in objects))
    lines = []
    for name in sorted(used - set(defined)):
        if name not in vars(module) or name.startswith("__"):
            continue
        value = vars(module)[name]
        if isinstance(value, types.ModuleType):
            full = value.__name__
            lines.append(f"import {full}" if full == name else f"import {full} as {name}")
        else:   # from where it is defined (typing's NamedTuple, ops.common's keep)
            home = getattr(value, "__module__", None)
            if not (home in sys.modules and getattr(sys.modules[home], name, None) is value):
                home = module.__name__
            lines.append(f"from {home} import {name}")
    return sorted(lines, key=lambda line: (not line.startswith("import "), line))


def _comment(text):
    return "\n".join(("# " + line).rstrip() for line in textwrap.dedent(text).strip().splitlines())


def _rule(title):
    return f"# --- {title} ".ljust(88, "-")


def start_text(exercise, number=None, total=None):
    """The text of the exercise file ``start`` writes."""
    module = exercise.module
    path = module.__name__.replace(".", "/") + ".py"
    target = exercise.reference
    context = [_lookup(module, q) for q in exercise.context]
    defined = [exercise.function_name] + [q.split(".")[-1] for q in exercise.context]
    owner = None
    if "." in exercise.qualname:
        owner = _lookup(module, exercise.qualname.rsplit(".", 1)[0])
    command = f"scratchrnn exercise check {exercise.name}.py"
    where = f"{exercise.qualname}" + (f" (a method of {owner.__name__}, written here as a "
                                      "function of `self`)" if owner is not None else "")
    position = f"Exercise {number} of {total}: " if number else "Exercise: "
    hints = [f"- {quantity}: {text}" if quantity != "*" else f"- {text}"
             for quantity, text in exercise.hints.items()]
    checks = (f"The check runs your function and the library's on {exercise.n_draws} seeded "
              "random draws of shapes and options"
              + (" and compares both with finite differences in float64 "
                 "(scratchrnn.testing)" if exercise.gradient else "")
              + ", and prints one row per quantity with its error.")
    source = (f"Everything below except the gap is copied from {path} ({where}) by "
              "inspect.getsource when this file was written: it is the code the library runs.")
    write = (f"Write the body of `{exercise.function_name}` where it says YOUR CODE HERE "
             "(keep its signature), then grade it:")
    header = f'''"""{position}{exercise.name} ({exercise.group}, {exercise.difficulty})

{textwrap.fill(exercise.task, 88)}

{textwrap.fill(write, 88)}

    {command}

{textwrap.fill(checks, 88)}
Stuck?  The hints are at the bottom of this file.  After your attempt,
`scratchrnn exercise solution {exercise.name}` prints the library's code.

{textwrap.fill(source, 88)}
"""
'''
    parts = [header]
    parts.append("\n".join(_imports(module, [target, *context], defined)) + "\n")
    parts.append(f'EXERCISE = "{exercise.name}"\n')
    parts.append(_rule(f"{path}: the module's docstring") + "\n#\n"
                 + _comment(module.__doc__ or "") + "\n")
    if owner is not None and owner.__doc__:
        parts.append(_rule(f"{owner.__name__}'s docstring") + "\n#\n"
                     + _comment(owner.__doc__) + "\n")
    for q, obj in zip(exercise.context, context):
        parts.append(_rule(f"context: {q}, as the library has it") + "\n\n"
                     + textwrap.dedent(inspect.getsource(obj)))
    parts.append(_rule("your exercise") + "\n\n"
                 + cut_body(exercise.solution(), exercise.function_name))
    parts.append("\n" + _rule("hints: read them when stuck") + "\n#\n"
                 + "\n".join(_comment(textwrap.fill(h, 86, subsequent_indent="  "))
                             for h in hints) + "\n")
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


# --- grading --------------------------------------------------------------------------------

@dataclasses.dataclass
class Row:
    """One quantity: its largest error over the draws against the library and against
    finite differences (None when not compared), and the first draw where it failed."""

    quantity: str
    shape: tuple | None          # in the first draw that gave the quantity
    library: float = 0.0
    numerical: float | None = None
    note: str = ""

    def ok(self, tolerance):
        return self.library <= tolerance and (self.numerical is None
                                              or self.numerical <= FD_TOLERANCE)


@dataclasses.dataclass
class Result:
    exercise: Exercise
    rows: list
    error: str = ""            # an exception the student's function raised
    not_implemented: bool = False

    @property
    def wrong(self):
        return [row for row in self.rows if not row.ok(self.exercise.tolerance)]

    @property
    def ok(self):
        return not self.error and not self.not_implemented and not self.wrong

    def table(self):
        """The report ``check`` prints."""
        e = self.exercise
        head = (f"check {e.name} ({e.group}, {e.difficulty}): {e.n_draws} seeded draws\n"
                f"tolerance {e.tolerance:.0e} against the library"
                + (f", {FD_TOLERANCE:.0e} against finite differences (float64)"
                   if e.gradient else ""))
        if self.not_implemented:
            return (f"{head}\nnot implemented yet: `{e.function_name}` still raises "
                    "NotImplementedError (write its body where it says YOUR CODE HERE)")
        lines = [head]
        if self.error:
            lines.append(self.error)
        fd_column = any(r.numerical is not None for r in self.rows)
        header = ("quantity", "shape (draw 0)", "vs library") + (("vs finite diff.",) if fd_column
                                                         else ()) + ("",)
        body = [(r.quantity, "-" if r.shape is None else str(tuple(r.shape)),
                 _number(r.library)) + ((_number(r.numerical),) if fd_column else ())
                + (("OK" if r.ok(e.tolerance) else "WRONG")
                   + (f"  {r.note}" if r.note and not r.ok(e.tolerance) else ""),)
                for r in self.rows]
        n = len(header) - 1
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(n)]
        for line in [header, *body]:
            lines.append(("  ".join(c.ljust(w) for c, w in zip(line[:n], widths))
                          + "  " + line[n]).rstrip())
        wrong = self.wrong
        if self.error:
            lines.append("WRONG: your function raised an exception")
        elif not wrong:
            lines.append(f"all {len(self.rows)} quantities OK")
        else:
            lines.append(f"{len(wrong)} of {len(self.rows)} quantities WRONG: "
                         + ", ".join(r.quantity for r in wrong))
            lines.append("")
            lines.append("hints:")
            for r in wrong:
                hint = e.hints.get(r.quantity) or e.hints.get("*", "")
                lines.append(textwrap.fill(f"{r.quantity}: {hint}", 92, initial_indent="  ",
                                           subsequent_indent="    "))
        return "\n".join(lines)


def _number(value):
    if value is None:
        return "-"
    if np.isnan(value):
        return "nan"
    return "inf" if value == np.inf else f"{value:.1e}"


def compare(expected, got):
    """``(error, note)``: the relative error of ``got`` against ``expected`` (inf with a
    note when ``got`` is missing, of another shape or dtype)."""
    if expected is None and got is None:
        return 0.0, ""
    if expected is None:
        return np.inf, "should be None"
    if got is None:
        return np.inf, "missing (None)"
    expected, got = np.asarray(expected), np.asarray(got)
    if got.shape != expected.shape:
        return np.inf, f"shape {got.shape}, expected {expected.shape}"
    if got.dtype != expected.dtype and not (got.dtype.kind == expected.dtype.kind == "f"
                                            and expected.dtype == np.float64):
        return np.inf, f"dtype {got.dtype}, expected {expected.dtype}"
    if expected.dtype.kind not in "fc":
        equal = got == expected
        return (0.0, "") if np.all(equal) else \
            (np.inf, f"differs in {int(np.size(equal) - np.sum(equal))} of {got.size} entries")
    both_nan = np.isnan(expected) & np.isnan(got)
    e, g = np.where(both_nan, 0, expected), np.where(both_nan, 0, got)
    same_inf = np.isinf(e) & (e == g)
    e, g = np.where(same_inf, 0, e), np.where(same_inf, 0, g)
    if not np.all(np.isfinite(g)):
        return np.nan, "has nan or inf"
    return relative_error(e.astype(np.float64), g.astype(np.float64)), ""


def grade(exercise, fn, draws=None):
    """Grade ``fn`` (the student's function) on ``exercise``'s draws; returns a :class:`Result`."""
    reference = exercise.reference
    rows = {}
    error = ""
    for seed in range(exercise.n_draws) if draws is None else draws:
        draw = exercise.draws(seed)
        expected = draw.call(reference)
        for q, value in expected.items():
            row = rows.setdefault(q, Row(q, None))
            if row.shape is None and value is not None:
                row.shape = np.shape(value)
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")   # a nan or inf shows in the table
                got = draw.call(fn)
        except NotImplementedError:
            return Result(exercise, list(rows.values()), not_implemented=True)
        except Exception as err:  # the student's code: report it, never crash
            tb = traceback.extract_tb(err.__traceback__)
            where = next((f"line {f.lineno} ({f.line})" for f in reversed(tb)
                          if f.name == exercise.function_name), "")
            error = (f"draw {seed} ({draw.label}): {type(err).__name__}: {err}"
                     + (f"\n  at {where}" if where else ""))
            for row in rows.values():
                row.library, row.note = np.inf, "raised"
            break
        numerical = draw.numerical() if draw.numerical is not None else {}
        for q, value in expected.items():
            row = rows[q]
            err, note = compare(value, got.get(q) if isinstance(got, dict) else None)
            if not err <= row.library:   # nan and larger errors win: the worst draw
                row.library = err
                row.note = f"({note + '; ' if note else ''}worst in draw {seed}: {draw.label})"
            if q in numerical:
                if numerical[q] is None:
                    continue
                n_err, _ = compare(numerical[q], got.get(q))
                if row.numerical is None or not n_err <= row.numerical:
                    row.numerical = n_err
    return Result(exercise, list(rows.values()), error=error)


def load(path):
    """Import the student's file; returns ``(module, exercise name)``."""
    name = f"_scratchrnn_exercise_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise ValueError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module, getattr(module, "EXERCISE", None)


def copies(*args):
    """Deep copies of ``args``, so that a function that changes its arguments in place
    changes nothing the next call reads."""
    return copy.deepcopy(args)


def fd(loss, arrays):
    """Central differences of ``loss()`` for each named float64 array (perturbed in place)."""
    return {name: None if a is None else numerical_gradient(loss, a)
            for name, a in arrays.items()}
