"""Is my backward right?  :func:`check_gradients` compares the gradients a hand-written
``backward`` returns with central finite differences, in float64, and prints one row per
input, initial state and weight::

    import scratchrnn as sr
    layer = MyLayer(dtype="float64")            # the check runs in float64
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    result = sr.testing.check_gradients(layer, x)
    assert result.ok, result.worst

**The method** (CS231n's, and llm.c's check against autograd).  The scalar checked is
``loss = Σ_i sum(out_i * G_i)`` for random upstream gradients ``G_i`` (seeded), one per
output of the call, so that the analytic gradient of ``loss`` is exactly what
``backward`` returns when it is given ``G_i``.  Each input and weight array is perturbed
in place, one element at a time::

    numerical[k] = (loss(θ + ε e_k) - loss(θ - ε e_k)) / 2ε          ε = 1e-6

and compared with the analytic gradient by::

    max abs error  = max_k |numerical_k - analytic_k|
    relative error = max abs error / max(1, max_k |numerical_k|)

(relative to the gradient's own size, absolute below 1, so that a gradient near zero
does not divide by zero).  Central differences have a truncation error of O(ε²) and a
rounding error of O(u·|loss|/ε), u = 1.1e-16: both stay far below the tolerance of
1e-7 for small problems, while a wrong derivative gives errors of order 1e-2 and more.
That is why the check runs in float64 only: in float32 (u = 6e-8) the rounding error
alone would be ~1e-1 and no verdict could be trusted.

**What can be checked**, found by duck typing:

- a *layer* (anything with ``backward`` and ``get_gradients``): called as
  ``layer(*inputs, mask=..., initial_state=..., training=...)`` — ``inputs`` one array,
  a tuple of arrays (several positional inputs) or a list (a layer taking a list);
  ``mask`` and ``initial_state`` are passed only when given.  ``backward`` receives the
  ``G_i`` shaped like the outputs (one array, or a list/tuple like the outputs; a
  ``backward(d_context, d_weights)`` that takes one argument per output gets them
  positionally) and returns one gradient per input, then the initial states' (nested as
  ``(dx, [dh0, dc0])`` or flat);
- a *cell* (it has ``state_size``): ``output, new_states = cell(x, states)`` and
  ``d_x, d_states = cell.backward(d_output, d_new_states)``; ``initial_state`` gives
  ``states`` (random normal ones when not given);
- a *model* (it has ``compile``): ``model(inputs, training=...)`` and
  ``model.backward(d_outputs)``, returning one gradient per input (None for integer
  inputs).

Weights are the arrays of ``target.weights`` (the arrays themselves, perturbed in place
and restored exactly); their analytic gradients are ``target.get_gradients()``, aligned
with ``get_weights()``.  Integer inputs (Embedding indices) have no gradient: they are
listed and skipped.  Randomness is replayed: every ``numpy.random.Generator`` held by the
target or its sub-layers is reset before each forward pass, so that a check at
``training=True`` sees the same dropout masks in every pass; a stateful layer gets its
carried states back before each pass too.  Both are restored when the check ends.
"""

import inspect
from dataclasses import dataclass, field

import numpy as np

EPS = 1e-6
TOLERANCE = 1e-7

__all__ = ["EPS", "TOLERANCE", "GradientCheck", "GradientRow", "check_gradients",
           "numerical_gradient", "relative_error", "weighted_sum"]


# --- the finite-difference machinery ------------------------------------------------------

def weighted_sum(outputs, upstream):
    """``Σ_i sum(out_i * G_i)``: the scalar whose gradient a backward pass given ``G_i`` returns."""
    return float(sum(np.sum(o * g) for o, g in zip(outputs, upstream, strict=True)))


def numerical_gradient(loss, array, eps=EPS):
    """Central differences of ``loss()`` with respect to ``array``, perturbed in place
    (and restored).  ``loss`` must read ``array`` afresh at every call."""
    if array.dtype != np.float64:
        raise TypeError(f"gradient checks run in float64, got an array of {array.dtype}")
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        saved = array[idx]
        array[idx] = saved + eps
        up = loss()
        array[idx] = saved - eps
        down = loss()
        array[idx] = saved
        grad[idx] = (up - down) / (2 * eps)
    return grad


def relative_error(numerical, analytic):
    """``max|numerical - analytic| / max(1, max|numerical|)``; inf when shapes differ or
    the analytic gradient is missing."""
    if analytic is None:
        return np.inf
    numerical, analytic = np.asarray(numerical), np.asarray(analytic)
    if numerical.shape != analytic.shape:
        return np.inf
    if numerical.size == 0:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(numerical))))
    return float(np.max(np.abs(numerical - analytic))) / scale


# --- the result ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GradientRow:
    """One checked (or skipped) array.  ``ok`` is None for an array that has no gradient
    to check (integer indices); ``note`` says why a row is skipped or wrong."""

    name: str
    shape: tuple
    max_abs_error: float | None
    relative_error: float | None
    ok: bool | None
    note: str = ""

    @property
    def verdict(self):
        return {True: "OK", False: "WRONG", None: "skipped"}[self.ok]


@dataclass(frozen=True)
class GradientCheck:
    """What :func:`check_gradients` found: ``rows`` (inputs, initial states, weights, in
    that order), true (``ok``) when every checked gradient is within ``tolerance``."""

    rows: list
    tolerance: float
    title: str = ""
    eps: float = EPS
    checked: list = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "checked", [r for r in self.rows if r.ok is not None])

    @property
    def ok(self):
        return all(row.ok for row in self.checked)

    def __bool__(self):
        return self.ok

    @property
    def wrong(self):
        """The rows whose gradient disagrees with finite differences."""
        return [row for row in self.checked if not row.ok]

    @property
    def worst(self):
        """The checked row with the largest relative error (None if nothing was checked)."""
        if not self.checked:
            return None
        return max(self.checked, key=lambda row: row.relative_error)

    def table(self):
        """The table :func:`check_gradients` prints."""
        header = ("name", "shape", "max abs error", "relative error", "")
        lines = [(row.name, str(tuple(row.shape)), _number(row.max_abs_error),
                  _number(row.relative_error),
                  row.verdict + (f" ({row.note})" if row.note else "")) for row in self.rows]
        widths = [max(len(line[i]) for line in [header, *lines]) for i in range(4)]

        def fmt(line):
            return "  ".join(cell.ljust(w) for cell, w in zip(line[:4], widths)) + \
                "  " + line[4]

        worst = self.worst
        if worst is None:
            summary = "nothing to check"
        elif self.ok:
            summary = (f"all {len(self.checked)} gradients OK (worst: {worst.name}, "
                       f"{worst.relative_error:.1e})")
        else:
            summary = (f"{len(self.wrong)} of {len(self.checked)} gradients WRONG: "
                       + ", ".join(row.name for row in self.wrong))
        out = [self.title] if self.title else []
        return "\n".join(out + [fmt(header).rstrip(), *(fmt(line) for line in lines),
                                summary])

    def __str__(self):
        return self.table()

    def __repr__(self):
        worst = self.worst
        detail = "" if worst is None else \
            f", worst={worst.name!r} ({_number(worst.relative_error)})"
        return f"GradientCheck(ok={self.ok}, {len(self.checked)} checked{detail})"


def _number(value):
    if value is None:
        return "-"
    return "inf" if value == np.inf else f"{value:.1e}"


# --- check_gradients ------------------------------------------------------------------------

def check_gradients(target, inputs, *, initial_state=None, mask=None, upstream=None, seed=0,
                    eps=EPS, tolerance=TOLERANCE, print_fn=print, training=False):
    """Compare ``target``'s hand-written gradients with central finite differences.

    target: a layer, a cell or a model, built with ``dtype="float64"`` (see the module
    docstring for how each is called).  inputs: one array, a tuple of arrays (several
    positional inputs) or a list (a layer taking a list; a model's inputs).
    initial_state: the layer's initial states (checked too), or a cell's states.
    mask: passed to a layer's call.  upstream: the ``G_i``, one per float output in the
    order of the (flattened) outputs; random normal from ``seed`` when None.
    eps: the finite-difference step; tolerance: the largest relative error that passes.
    print_fn: prints the table (None: silent).  training: the ``training`` flag of the
    call (dropout masks are replayed, see the module docstring).

    Returns a :class:`GradientCheck` (true when every gradient is right).  Raises
    ``ValueError`` for a float32 target and ``TypeError`` for a target without
    ``backward``/``get_gradients``.
    """
    kind = _kind(target)
    _require_float64(target)
    label = getattr(target, "name", None)
    title = (f"check_gradients: {type(target).__name__}"
             + (f" {label!r}" if isinstance(label, str) else "")
             + f" ({kind}), loss = Σ sum(out * G), ε = {eps:g}, tolerance {tolerance:g}")
    if kind != "layer" and mask is not None:
        raise ValueError(f"`mask` is for layers; a {kind} takes none")
    if kind == "model" and initial_state is not None:
        raise ValueError("`initial_state` is for layers and cells; a model takes none")

    # Working copies of the inputs, float ones in float64: the check perturbs them.
    inputs = _copy(inputs)
    leaves = [("inputs", inputs)] if not isinstance(inputs, (list, tuple)) else \
        [(f"inputs[{i}]", item) for i, item in enumerate(inputs)]
    if kind == "cell":
        states = _cell_states(target, inputs, initial_state, seed)
        leaves += [(f"states[{i}]", s) for i, s in enumerate(states)]
        initial_state = states
    elif initial_state is not None:
        initial_state = _copy(initial_state)
        initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) \
            else [initial_state]
        leaves += [(f"initial_state[{i}]", s) for i, s in enumerate(initial_state)]
    leaves = [named for prefix, value in leaves for named in _named_leaves(prefix, value)]

    replay = _Replay(target)

    def forward(replayed=True):
        replay.reset(generators=replayed)
        if kind == "cell":
            extra = {"training": True} if training else {}
            return target(inputs, initial_state, **extra)
        if kind == "model":
            return target(inputs, training=training)
        options = {"training": training}
        if mask is not None:
            options["mask"] = mask
        if initial_state is not None:
            options["initial_state"] = initial_state
        args = inputs if isinstance(inputs, tuple) else (inputs,)
        return target(*args, **options)

    try:
        if not getattr(target, "built", True):
            # Build it first: building draws the initial weights from the generators
            # that dropout draws from later.
            forward(replayed=False)
            replay.capture_generators()
        # The analytic gradients, from one forward and one backward pass.
        outputs = forward()
        out_leaves = _flatten(outputs)
        floats = [i for i, o in enumerate(out_leaves) if _is_float(o)]
        for i in floats:
            if out_leaves[i].dtype != np.float64:
                raise ValueError(f"check_gradients() runs in float64 and {type(target).__name__}"
                                 f" returned an output of dtype {out_leaves[i].dtype}: build "
                                 "it with dtype=\"float64\"")
        upstream = _upstream(upstream, [out_leaves[i] for i in floats], seed)
        g_leaves = [None] * len(out_leaves)
        for i, g in zip(floats, upstream):
            g_leaves[i] = g
        returned = _backward(target, kind, outputs, _unflatten(outputs, g_leaves))
        input_grads = _align(returned, leaves)
        weights, weight_grads, weight_names = _weights_and_gradients(target)

        def loss():
            out = _flatten(forward())
            return weighted_sum([out[i] for i in floats], upstream)

        rows = [_row(name, array, analytic, note, loss, eps, tolerance)
                for (name, array), (analytic, note) in zip(leaves, input_grads)]
        rows += [_row(name, w, g, "", loss, eps, tolerance)
                 for name, w, g in zip(weight_names, weights, weight_grads)]
    finally:
        replay.restore()
    result = GradientCheck(rows, tolerance, title, eps)
    if print_fn is not None:
        print_fn(result.table())
    return result


# --- what the target is and how it is called -------------------------------------------------

def _kind(target):
    if not callable(getattr(target, "backward", None)):
        raise TypeError(f"check_gradients() needs a layer, cell or model with a backward() "
                        f"method, got {type(target).__name__} without one")
    if not callable(getattr(target, "get_gradients", None)):
        raise TypeError(f"check_gradients() needs {type(target).__name__}.get_gradients() "
                        "(the weight gradients of the last backward, aligned with "
                        "get_weights())")
    if hasattr(target, "state_size"):
        return "cell"
    if callable(getattr(target, "compile", None)):
        return "model"
    return "layer"


def _require_float64(target):
    dtype = getattr(target, "dtype", None)
    if dtype is None:
        return
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        return
    if dtype != np.float64:
        raise ValueError(
            f"check_gradients() runs in float64 and {type(target).__name__} "
            f"{getattr(target, 'name', '')!r} computes in {dtype}: build it with "
            "dtype=\"float64\" (in float32 the finite differences' rounding error alone is "
            "~1e-1, so no verdict could be trusted)")


def _backward(target, kind, outputs, grads):
    """Call ``backward`` with the upstream gradients shaped like ``outputs``."""
    if kind == "cell":
        output, new_states = grads
        return target.backward(output, new_states)
    if kind == "model":                    # one structure, like the model's outputs
        return target.backward(grads)
    if isinstance(outputs, (list, tuple)) and len(outputs) > 1 and \
            _positional_capacity(target.backward) >= len(outputs):
        return target.backward(*grads)     # backward(d_context, d_weights)
    return target.backward(grads)


def _positional_capacity(function):
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 1
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _cell_states(target, x, states, seed):
    """A cell's states: those given (copied to float64), else random normal ones."""
    if states is not None:
        states = _copy(states)
        return list(states) if isinstance(states, (list, tuple)) else [states]
    rng = np.random.default_rng(seed + 1)
    batch = np.shape(x)[0]

    def draw(size):             # state_size: an int, or a (nested) list of them
        if isinstance(size, (list, tuple)):
            return [draw(s) for s in size]
        return rng.normal(size=(batch, int(size)))

    states = draw(target.state_size)
    return states if isinstance(states, list) else [states]


def _weights_and_gradients(target):
    """``(weights, analytic gradients, names)``: the arrays themselves, checked float64."""
    weights, again = list(target.weights), list(target.weights)
    if any(not (a is b or np.shares_memory(a, b)) for a, b in zip(weights, again)):
        raise TypeError(f"{type(target).__name__}.weights must give the weight arrays "
                        "themselves (the check perturbs them in place), not copies")
    for w in weights:
        if np.asarray(w).dtype != np.float64:
            raise ValueError(f"check_gradients() runs in float64, got a weight of dtype "
                             f"{np.asarray(w).dtype}: build the {type(target).__name__} "
                             "with dtype=\"float64\"")
    grads = list(target.get_gradients())
    names = _weight_names(target, len(weights))
    if len(grads) != len(weights):
        note = (f"get_gradients() gave {len(grads)} arrays for {len(weights)} weights")
        return weights, [_Missing(note)] * len(weights), names
    return weights, [np.array(g, dtype=np.float64, copy=True) for g in grads], names


def _weight_names(target, n):
    """The weights' names: the layer's labels (``W1/kernel``), a model's
    ``layer/weight``, else ``weights[i]``."""
    candidates = []
    labels = getattr(target, "_weight_labels", None)
    if callable(labels):
        candidates.append(list(labels()))
    candidates.append(list(getattr(target, "weight_names", None) or []))
    layers = getattr(target, "layers", None)
    if isinstance(layers, (list, tuple)):
        candidates.append([f"{getattr(layer, 'name', i)}/{name}" for i, layer in enumerate(layers)
                           for name in _weight_names(layer, len(getattr(layer, "weights", [])))])
    for names in candidates:
        if len(names) == n and len(set(names)) == n:
            return names
    return [f"weights[{i}]" for i in range(n)]


class _Missing:
    """An analytic gradient that is not there (with the reason)."""

    def __init__(self, note):
        self.note = note


def _align(returned, leaves):
    """``[(analytic gradient or None, note)]`` for each input leaf, from what backward
    returned: one gradient per leaf, or one per float leaf (integer ones left out).  Too
    few: the first ones are taken in order and the rest are missing."""
    grads = _flatten(returned)
    floats = [i for i, (_, leaf) in enumerate(leaves) if _is_float(leaf)]
    missing = ""
    if len(grads) == len(floats) and len(grads) != len(leaves):
        full = [None] * len(leaves)
        for i, g in zip(floats, grads):
            full[i] = g
        grads = full
    elif len(grads) != len(leaves):
        missing = (f"backward returned {len(grads)} input gradient(s) for {len(leaves)} "
                   "input(s) and initial state(s)")
        if len(grads) > len(leaves):
            return [(None, missing)] * len(leaves)
        grads = grads + [None] * (len(leaves) - len(grads))
    aligned = []
    for g, (_, leaf) in zip(grads, leaves):
        if g is None:
            aligned.append((None, (missing or "backward returned None")
                            if _is_float(leaf) else ""))
        else:
            aligned.append((np.array(g, dtype=np.float64, copy=True), ""))
    return aligned


def _row(name, array, analytic, note, loss, eps, tolerance):
    array_ = np.asarray(array)
    if not _is_float(array_):
        return GradientRow(name, array_.shape, None, None, None,
                           f"{array_.dtype} indices: no gradient")
    if isinstance(analytic, _Missing):
        analytic, note = None, analytic.note
    numerical = numerical_gradient(loss, array, eps)
    if analytic is None:
        return GradientRow(name, array.shape, np.inf, np.inf, False, note or "missing")
    if analytic.shape != numerical.shape:
        return GradientRow(name, array.shape, np.inf, np.inf, False,
                           f"backward gave shape {analytic.shape}")
    error = relative_error(numerical, analytic)
    max_abs = float(np.max(np.abs(numerical - analytic))) if numerical.size else 0.0
    return GradientRow(name, array.shape, max_abs, error, bool(error <= tolerance), note)


# --- randomness and carried states, replayed ----------------------------------------------------

class _Replay:
    """Puts back, before each forward pass, the state of every ``numpy.random.Generator``
    the target and its sub-layers hold, and a stateful layer's carried ``states``;
    ``restore`` leaves them as they were before the check.  A cell's stack of tapes (one
    pushed per call, popped by backward) is cut back to its length before the check, so
    that the finite-difference passes leave none behind."""

    def __init__(self, target):
        self.target = target
        parts = _parts(target)
        self.stateful = [(part, _copy_states(part.states)) for part in parts
                         if getattr(part, "stateful", False) is True
                         and hasattr(part, "states")]
        self.tapes = [(part._tapes, len(part._tapes)) for part in parts
                      if isinstance(getattr(part, "_tapes", None), list)]
        self.capture_generators()

    def capture_generators(self):
        self.generators = [(value, value.bit_generator.state) for part in _parts(self.target)
                           for value in vars(part).values()
                           if isinstance(value, np.random.Generator)]

    def reset(self, generators=True):
        for generator, state in self.generators if generators else ():
            generator.bit_generator.state = state
        for part, states in self.stateful:
            part.states = _copy_states(states)
        for tapes, length in self.tapes:
            del tapes[length:]

    def restore(self):
        self.reset()


def _copy_states(states):
    return None if states is None else [np.array(s, copy=True) for s in states]


def _parts(target, depth=6):
    """The target and the layers, cells and models it holds (through attributes and
    lists/tuples of them), each once."""
    found, seen, frontier = [], set(), [target]
    for _ in range(depth):
        following = []
        for obj in frontier:
            if id(obj) in seen or not hasattr(obj, "__dict__"):
                continue
            seen.add(id(obj))
            found.append(obj)
            for value in vars(obj).values():
                items = value if isinstance(value, (list, tuple)) else [value]
                following += [item for item in items
                              if callable(getattr(item, "backward", None))]
        frontier = following
    return found


# --- nested structures ------------------------------------------------------------------------

def _is_float(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _copy(value):
    """``value`` with every array copied, float ones as float64 (structure kept)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(item) for item in value)
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return np.array(array, dtype=np.float64, copy=True)
    return np.array(array, copy=True)


def _named_leaves(prefix, value):
    if isinstance(value, (list, tuple)):
        return [leaf for i, item in enumerate(value)
                for leaf in _named_leaves(f"{prefix}[{i}]", item)]
    if isinstance(value, dict):
        return [leaf for key, item in value.items()
                for leaf in _named_leaves(f"{prefix}[{key!r}]", item)]
    return [] if value is None else [(prefix, value)]


def _flatten(value):
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _flatten(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _flatten(item)]
    return [value]


def _unflatten(structure, leaves):
    """``leaves`` (as :func:`_flatten` lists them) put back into ``structure``'s shape."""
    leaves = iter(leaves)

    def build(value):
        if isinstance(value, (list, tuple)):
            return type(value)(build(item) for item in value)
        if isinstance(value, dict):
            return {key: build(item) for key, item in value.items()}
        return next(leaves)

    return build(structure)


def _upstream(upstream, outputs, seed):
    """The ``G_i`` for the float ``outputs``: random normal from ``seed``, or those given."""
    if upstream is None:
        rng = np.random.default_rng(seed)
        return [rng.normal(size=o.shape) for o in outputs]
    given = _flatten(upstream)
    if len(given) != len(outputs):
        raise ValueError(f"`upstream` must hold one gradient per float output ({len(outputs)}), "
                         f"got {len(given)}")
    checked = []
    for i, (g, o) in enumerate(zip(given, outputs)):
        g = np.asarray(g, dtype=np.float64)
        if g.shape != o.shape:
            raise ValueError(f"`upstream[{i}]` must have the output's shape {o.shape}, got "
                             f"{g.shape}")
        checked.append(g)
    return checked
