"""Parity checks of everything around the recurrent layers: the other layers, losses,
metrics, optimizers, whole models and training runs.

A :class:`Check` is a named comparison that runs both sides itself and records what it
compared in a :class:`Comparison`: ``cmp.add(group, ours, theirs)`` for arrays (scored by
the metric of :func:`parity.harness.relative_error`, relative to the group's largest
Keras value), ``cmp.problem(text)`` for anything structurally wrong.  Tolerances are the
recurrent suite's (float64 1e-10, float32 1e-5) unless a check names its own and says
why in its ``options``.

The checks live in the ``parity/checks_*.py`` modules, one per area, each exposing a list
``CHECKS``; :func:`all_checks` gathers them for the report and for pytest.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
import traceback
from collections.abc import Callable

import numpy as np

from .harness import EXCUSABLE_LIMIT, ROUNDING_RATIO, TOLERANCE, compare_arrays, relative_error

#: The modules holding checks, in report order.
CHECK_MODULES = (
    "parity.checks_layers",
    "parity.checks_conv",
    "parity.checks_losses",
    "parity.checks_optimizers",
    "parity.checks_models",
    "parity.checks_text",
    "parity.checks_attention",
    "parity.checks_seq2seq",
    "parity.checks_cells",
    "parity.checks_merging",
    "parity.checks_functional",
    "parity.checks_course",
)


class Comparison:
    """What one check compared: worst error per group, and structural problems."""

    def __init__(self, dtype: str):
        self.dtype = dtype
        self.errors: dict[str, float] = {}
        self.problems: list[str] = []
        self.excused: dict[str, str] = {}   # group -> the numbers that excuse it

    def add(self, group: str, ours, theirs) -> float:
        """Compare arrays (or lists of arrays, paired in order) and keep the worst error
        of ``group``; a shape or dtype that differs is a problem whatever the numbers."""
        ours = list(ours) if isinstance(ours, (list, tuple)) else [ours]
        theirs = list(theirs) if isinstance(theirs, (list, tuple)) else [theirs]
        theirs = [np.asarray(t) for t in theirs]
        worst, problems = compare_arrays(group, ours, theirs, self.dtype)
        self.errors[group] = max(self.errors.get(group, 0.0), worst)
        self.problems += problems
        return worst

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def judge_rounding(self, group: str, ours, theirs, exact) -> None:
        """Excuse ``group``'s float32 excess as rounding of an ill-conditioned problem, by
        the recurrent suite's rule (:mod:`parity.harness`): ``exact`` is Keras's answer in
        float64 on the same float32 weights and inputs; the group passes (``PASS*``) only
        if scratchrnn's error against it is at most 10 times Keras's own float32 error,
        and the two sides differ by at most ``sqrt(u)``.  Nothing is excused in float64,
        or when the group is within the tolerance."""
        error = self.errors.get(group, 0.0)
        if self.dtype != "float32" or error <= TOLERANCE["float32"]:
            return
        ours_off = relative_error(ours, exact)
        keras_off = relative_error(theirs, exact)
        note = (f"{group} against float64: scratchrnn f32 {ours_off:.1e}, "
                f"Keras f32 {keras_off:.1e}")
        if error <= EXCUSABLE_LIMIT and ours_off <= ROUNDING_RATIO * keras_off:
            self.excused[group] = "ill-conditioned, excused: " + note
        else:
            self.problems.append("not excused: " + note)


@dataclasses.dataclass(frozen=True)
class Check:
    """One named comparison.  ``run(cmp)`` builds both sides and records into ``cmp``."""

    name: str
    kind: str                      # "layer", "loss", "metric", "optimizer", "model", "training"
    dtype: str
    run: Callable[[Comparison], None]
    options: str = ""
    tolerance: float | None = None

    @property
    def limit(self) -> float:
        return TOLERANCE[self.dtype] if self.tolerance is None else self.tolerance


@dataclasses.dataclass(frozen=True)
class CheckResult:
    check: Check
    errors: dict
    problems: tuple = ()
    seconds: float = 0.0
    excused: tuple = ()            # groups over the tolerance excused as float32 rounding
    note: str = ""

    name = property(lambda self: self.check.name)
    kind = property(lambda self: self.check.kind)
    dtype = property(lambda self: self.check.dtype)

    @property
    def passed(self) -> bool:
        return (not self.problems and bool(self.errors)
                and all(e <= self.check.limit or g in self.excused
                        for g, e in self.errors.items()))

    @property
    def verdict(self) -> str:
        if not self.passed:
            return "FAIL"
        return "PASS*" if self.excused else "PASS"

    def describe(self) -> str:
        numbers = ", ".join(f"{g}={e:.3g}" for g, e in self.errors.items())
        lines = [f"{self.name} [{self.kind} {self.check.options} {self.dtype}]",
                 f"errors: {numbers or '- (nothing compared)'} "
                 f"(tolerance {self.check.limit:g})"]
        lines += [f"problem: {p}" for p in self.problems]
        lines += [f"note: {self.note}"] if self.note else []
        lines.append(f"rerun: python -m parity -k {self.name}")
        return "\n".join(lines)


def run_check(check: Check) -> CheckResult:
    """Run ``check``; an exception on either side is a failed result carrying its message."""
    start = time.perf_counter()
    cmp = Comparison(check.dtype)
    try:
        check.run(cmp)
    except Exception as error:  # a crash is a failed check, not a dead report
        last = traceback.extract_tb(error.__traceback__)[-1]
        cmp.problem(f"raised {type(error).__name__}: {error} "
                    f"({last.filename}:{last.lineno})")
    return CheckResult(check, dict(cmp.errors), tuple(cmp.problems),
                       time.perf_counter() - start, tuple(cmp.excused),
                       "; ".join(cmp.excused.values()))


def all_checks() -> list[Check]:
    """Every check of :data:`CHECK_MODULES`, in order; names are unique."""
    checks = [c for module in CHECK_MODULES for c in importlib.import_module(module).CHECKS]
    names = [c.name for c in checks]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"parity check names must be unique, repeated: {duplicated}")
    return checks


def dtype_suffix(dtype: str) -> str:
    return {"float64": "f64", "float32": "f32"}[dtype]


def keras_gradients(tf, fn, sources, upstream):
    """Keras's side of a backward check: ``fn()``'s outputs and the gradients of
    ``sum(out * upstream)`` with respect to ``sources`` (tf.Variables or tensors, watched),
    by ``tf.GradientTape``.  Returns ``(outputs as NumPy, [gradient as NumPy or None])``."""
    with tf.GradientTape(persistent=True) as tape:
        for s in sources:
            tape.watch(s)
        out = fn()
        outs = out if isinstance(out, (list, tuple)) else [out]
        total = sum(tf.reduce_sum(o * tf.cast(u, o.dtype)) for o, u in zip(outs, upstream))
    grads = tape.gradient(total, list(sources))
    as_numpy = [None if g is None else np.asarray(tf.convert_to_tensor(g)) for g in grads]
    return [np.asarray(o) for o in outs], as_numpy
