"""Run one parity case: a scratchrnn layer against its tf.keras twin.

What a case does (:func:`run_case`)
-----------------------------------
``check="parity"``
    Build the Keras layer (optionally inside ``Bidirectional``) with ``dtype``, build it on
    ``(B, T, I)`` and give it random non-trivial weights (uniform(-0.6, 0.6) for every
    kernel, recurrent kernel *and* bias) with ``set_weights``; build the scratchrnn layer
    with the same arguments and ``set_weights(keras_layer.get_weights())``. Run both on the
    same random normal ``x``, the same boolean ``(B, T)`` mask and the same random initial
    states. Keras's gradients come from ``tf.GradientTape`` on ``sum_i sum(out_i * G_i)``
    with one random ``G_i`` per output (returned states included), taken with respect to
    the inputs, the initial states and every weight in ``get_weights()`` order;
    scratchrnn's from ``layer.backward([G_i, ...])`` and ``layer.get_gradients()``.
    Before the weights are replaced, the freshly built layers must agree on weight shapes
    and on the bias (deterministic: zeros, plus ``unit_forget_bias``'s ones).
    With ``training=True`` and dropout, scratchrnn draws its masks and they are injected
    into the Keras cell (``cell._dropout_mask``, ``cell._recurrent_dropout_mask``), which
    Keras's ``RNN.call`` then uses for every step, so training-time dropout is compared
    exactly like everything else.
``check="stateful"``
    A stateful layer is called four times in a row: twice (the second call continues from
    the first's state), after ``reset_states()``, and after ``reset_states(states=S)`` (on
    the Keras side: the state variables assigned ``S``). Every call is compared like a
    parity case (gradients stop at the call boundary on both sides).
``check="dropout_structure"``
    Keras's own masks (``cell.get_dropout_mask`` / ``get_recurrent_dropout_mask`` on a
    fresh cell) and scratchrnn's (``layer.dropout_mask`` after a ``training=True`` call)
    over a large batch must have the same count ``G`` (one per gate with
    ``recurrent_dropout > 0`` for LSTM/GRU), shapes, dtype and values ``{0, 1/(1-rate)}``;
    the fraction of zeros must lie within 5 binomial standard deviations of ``rate``;
    per-gate masks must differ from each other and a second call must draw new masks.

The error metric
----------------
For an array ``a`` (scratchrnn) against ``b`` (Keras, the reference)::

    error = max_i |a_i - b_i| / (|b_i| + floor),   floor = 0.1 * S

where ``S`` is the largest ``|b|`` of the whole quantity group the array belongs to
(outputs; returned states; dx; initial-state gradients; weight gradients). Each element
is compared relative to itself, except that elements smaller than a tenth of the group's
largest are compared against that tenth. The floor is there for cancellation: a gradient
entry is a sum of terms of the size of the group's large entries (``db = sum dz`` and
``dW = sum x dz`` are built from the same ``dz``), and its rounding error is proportional
to those terms, not to the sum. The fraction 0.1 was chosen by measurement: on 60 random
configurations (T=7, H=6, random masks and activations), Keras float32 against Keras
float64 reaches 1.1e-5 with a floor of 0.01 of the array's largest entry, 1.7e-6 with
0.1, 2.7e-7 with 1. The tolerances:

- float64: 1e-10, about 1e6 unit roundoffs: room for cancellation, none for a bug. The
  named cases reach 5e-15, 1000 random configurations 5e-14.
- float32: 1e-5, about 170 unit roundoffs. The named cases reach 2.2e-6; of 4000 random
  configurations one exceeded 1e-5 (an ill-conditioned one, see below), the next 9.8e-6.

A looser tolerance is a bug to explain, not a number to raise. A shape or dtype that
differs from Keras's, a NaN, or a missing array fails the case whatever the numbers say.

Ill-conditioned float32 problems. Rarely, float32 rounding is amplified beyond 1e-5 in
*both* implementations: an LSTM step whose ``f*c`` and ``i*g`` nearly cancel; a gradient
through saturated gates, where ``1 - y**2`` or ``y*(1 - y)`` of a float32 ``y`` near its
bound keeps few digits (in Keras too); linear or relu gates. Which implementation is
luckier at a given element is chance. Measured: 1 in 4000 random float32 configurations
with the numpy backend; 4 in 1450 with the numba backend, whose float32 tanh and sigmoid
are rational approximations (all four through saturated gates of a single-element dx).
When a float32 call (a parity case, or one call of a stateful case) exceeds the
tolerance, the harness therefore measures how far float32 rounding can move the answer,
on the same float32-representable weights, inputs, masks and seeds:

- the exact answer: Keras in float64;
- the sensitivity: the largest change of that answer when every weight, input, state and
  seed is multiplied by ``1 + d``, ``|d| <= u`` (float32's unit roundoff), in two draws:
  the forward error of a backward-stable float32 computation;
- Keras's own float32 error against the exact answer (it also counts the roundings of
  intermediate sums in the backward pass, which the perturbation of the data misses).

A group over the tolerance is excused (verdict ``PASS*``, numbers in ``Result.note``) only
if scratchrnn's float32 error against the exact answer is at most 10 times the larger of
the last two, and scratchrnn and Keras differ by at most ``sqrt(u)`` = 2.4e-4 (beyond
half of float32's digits a difference is not a rounding question): the rounding of an
ill-conditioned problem, judged at 1e-10 by the float64 case of the same configuration.
Anything else fails.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from scratchrnn import layers as scratch_layers
from scratchrnn._tensorflow import import_tensorflow

TOLERANCE = {"float64": 1e-10, "float32": 1e-5}
FLOOR_FRACTION = 0.1
GROUPS = ("out", "states", "dx", "dstates", "dweights")
LAYERS = ("SimpleRNN", "LSTM", "GRU")
MERGE_MODES = ("concat", "sum", "mul", "ave", None)
MASK_KINDS = (None, "padded", "holes")
CHECKS = ("parity", "stateful", "dropout_structure")
WEIGHT_SCALE = 0.6
STRUCTURE_BATCH = 20000
RATE_SIGMAS = 5.0
ROUNDING_RATIO = 10.0  # excusable float32 error, in units of the measured rounding reach
PERTURBATIONS = 2  # float64 runs on data perturbed by float32's unit roundoff
FLOAT32_ROUNDOFF = np.finfo(np.float32).eps / 2
EXCUSABLE_LIMIT = np.sqrt(FLOAT32_ROUNDOFF)  # no larger float32 difference is ever excused


def _import_tensorflow():
    """Import TensorFlow and Keras quietly, with every GPU hidden (Keras's CPU path is
    the reference: cuDNN treats masks differently)."""
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    tensorflow, keras = import_tensorflow()
    try:
        tensorflow.config.set_visible_devices([], "GPU")
    except RuntimeError:  # TensorFlow was initialised before parity was imported: keep it
        pass
    return tensorflow, keras


tf, keras = _import_tensorflow()


@dataclasses.dataclass(frozen=True)
class Case:
    """One configuration to compare.

    ``kwargs`` are the recurrent layer's constructor arguments (``units`` included), passed
    identically to Keras and scratchrnn; ``shape`` is ``(B, T, I)``. ``mask``: ``None``;
    ``"padded"`` (per-sample lengths: sample 0 right-padded so its last steps are masked,
    sample 1 left-padded so its first steps are masked, the others random lengths on a
    random side); or ``"holes"`` (each step kept with probability 0.6, the last sample
    fully masked). ``initial_state``: pass random initial states (and compare their
    gradients). ``training``: call with ``training=True`` (dropout on, masks injected).
    ``none_state_grads``: give scratchrnn's ``backward`` ``None`` for the returned states
    (Keras: zeros). ``check``: see the module docstring. ``seed`` drives every random
    draw. ``backend``: scratchrnn's ``"numpy"`` or ``"numba"`` (None: its default).
    """

    name: str
    layer: str
    kwargs: Mapping[str, Any]
    dtype: str = "float64"
    shape: tuple[int, int, int] = (3, 5, 4)
    bidirectional: bool = False
    merge_mode: str | None = "concat"
    mask: str | None = None
    initial_state: bool = False
    training: bool = False
    none_state_grads: bool = False
    check: str = "parity"
    seed: int = 0
    backend: str | None = None

    def __post_init__(self):
        if self.layer not in LAYERS:
            raise ValueError(f"Case.layer must be one of {LAYERS}, got {self.layer!r}")
        if self.dtype not in TOLERANCE:
            raise ValueError(f"Case.dtype must be float32 or float64, got {self.dtype!r}")
        if self.merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Case.merge_mode must be one of {MERGE_MODES}, got {self.merge_mode!r}"
            )
        if self.mask not in MASK_KINDS:
            raise ValueError(f"Case.mask must be one of {MASK_KINDS}, got {self.mask!r}")
        if self.check not in CHECKS:
            raise ValueError(f"Case.check must be one of {CHECKS}, got {self.check!r}")

    @property
    def options(self) -> str:
        """A compact description of everything but the layer kind and the dtype."""
        parts = [_format_kwarg(key, value) for key, value in self.kwargs.items()]
        if self.bidirectional:
            parts.append(f"bidi:{self.merge_mode}")
        if self.mask:
            parts.append(f"mask:{self.mask}")
        if self.initial_state:
            parts.append("init")
        if self.training:
            parts.append("training")
        if self.none_state_grads:
            parts.append("dstate=None")
        if self.check not in ("parity", *parts):
            parts.append(self.check)
        if self.backend:
            parts.append(self.backend)
        parts.append("B{}T{}I{}".format(*self.shape))
        return " ".join(parts)

    @property
    def n_states(self) -> int:
        """States of the whole layer: [h, c] for LSTM, [h] otherwise, twice if Bidirectional."""
        return (2 if self.layer == "LSTM" else 1) * (2 if self.bidirectional else 1)

    @property
    def n_outputs(self) -> int:
        """How many leading outputs are sequences/last outputs rather than states."""
        return 2 if self.bidirectional and self.merge_mode is None else 1


_SHORT_NAMES = {
    "units": "u",
    "return_sequences": "seq",
    "return_state": "rstate",
    "go_backwards": "back",
    "use_bias": "bias",
    "unit_forget_bias": "ufb",
    "reset_after": "reset_after",
    "activation": "act",
    "recurrent_activation": "ract",
    "dropout": "drop",
    "recurrent_dropout": "rdrop",
}


def _format_kwarg(key: str, value: Any) -> str:
    short = _SHORT_NAMES.get(key, key)
    if value is True:
        return short
    if value is False:
        return f"no-{short}"
    if value is None:
        return f"{short}=linear"
    return f"{short}={value}"


@dataclasses.dataclass(frozen=True)
class Result:
    """The outcome of one case: worst error per quantity group (see :data:`GROUPS`; a
    group absent from ``errors`` was not compared), structural problems, and the groups
    whose float32 excess is excused as ill-conditioning (see the module docstring)."""

    case: Case
    errors: Mapping[str, float]
    problems: tuple[str, ...] = ()
    excused: tuple[str, ...] = ()
    note: str = ""
    seconds: float = 0.0

    name = property(lambda self: self.case.name)
    layer = property(lambda self: self.case.layer)
    options = property(lambda self: self.case.options)
    dtype = property(lambda self: self.case.dtype)
    tolerance = property(lambda self: TOLERANCE[self.case.dtype])

    @property
    def passed(self) -> bool:
        return not self.problems and all(
            e <= self.tolerance or g in self.excused for g, e in self.errors.items()
        )

    @property
    def verdict(self) -> str:
        """``PASS``, ``PASS*`` (passed with an excused ill-conditioned group) or ``FAIL``."""
        if not self.passed:
            return "FAIL"
        return "PASS*" if self.excused else "PASS"

    def describe(self) -> str:
        """The numbers, the tolerance, the problems and how to rerun the case."""
        numbers = ", ".join(f"{g}={e:.3g}" for g, e in self.errors.items())
        lines = [
            f"{self.name} [{self.layer} {self.options} {self.dtype}]",
            f"errors: {numbers or '-'} (tolerance {self.tolerance:g})",
        ]
        lines += [f"problem: {p}" for p in self.problems]
        if self.note:
            lines.append(f"note: {self.note}")
        lines.append(f"rerun: parity.harness.run_case(parity.harness.{self.case!r})")
        return "\n".join(lines)


class Outcome(NamedTuple):
    """What a check function found (see :class:`Result`)."""

    errors: dict
    problems: list
    excused: tuple = ()
    note: str = ""


class Inputs(NamedTuple):
    """What both layers are called with: ``x`` (B, T, I), a bool (B, T) mask, states."""

    x: np.ndarray
    mask: np.ndarray | None
    states: list[np.ndarray] | None


class Grads(NamedTuple):
    """Everything one side produced for one call."""

    outputs: list[np.ndarray]
    dx: np.ndarray
    dstates: list[np.ndarray]
    dweights: list[np.ndarray]


# ----------------------------------------------------------------------------- error metric


def relative_error(actual, expected, scale: float | None = None) -> float:
    """``max_i |a_i - b_i| / (|b_i| + 0.1 * scale)``, ``scale`` defaulting to ``max|b|``;
    ``inf`` on a shape mismatch or a NaN."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape or not (
        np.isfinite(actual).all() and np.isfinite(expected).all()
    ):
        return float("inf")
    if scale is None:
        scale = np.abs(expected).max(initial=0.0)
    floor = max(FLOOR_FRACTION * scale, np.finfo(np.float64).tiny)
    return float((np.abs(actual - expected) / (np.abs(expected) + floor)).max(initial=0.0))


def compare_arrays(label: str, ours: list, theirs: list, dtype: str) -> tuple[float, list[str]]:
    """Worst :func:`relative_error` over paired arrays, all measured against the scale of
    the whole group (the largest ``|b|`` in ``theirs``), and what is structurally wrong."""
    if len(ours) != len(theirs):
        return float("inf"), [f"{label}: scratchrnn gave {len(ours)} arrays, Keras {len(theirs)}"]
    scale = max((float(np.abs(b).max(initial=0.0)) for b in theirs), default=0.0)
    problems, worst = [], 0.0
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if a is None:
            problems.append(f"{label}[{i}]: scratchrnn gave None, Keras shape {np.shape(b)}")
            worst = float("inf")
            continue
        if np.shape(a) != np.shape(b):
            problems.append(f"{label}[{i}]: shape {np.shape(a)}, Keras {np.shape(b)}")
        elif np.asarray(a).dtype != np.dtype(dtype):
            problems.append(f"{label}[{i}]: dtype {np.asarray(a).dtype}, expected {dtype}")
        worst = max(worst, relative_error(a, b, scale))
    return worst, problems


# ----------------------------------------------------------------------------- inputs


def make_mask(
    rng: np.random.Generator, batch: int, steps: int, kind: str | None
) -> np.ndarray | None:
    """A boolean ``(batch, steps)`` mask of the given kind (see :class:`Case`)."""
    if kind is None:
        return None
    if kind == "holes":
        mask = rng.random((batch, steps)) < 0.6
        if batch > 1:
            mask[-1] = False
        return mask
    mask = np.zeros((batch, steps), dtype=bool)
    for b in range(batch):
        side = ("right", "left")[b] if b < 2 else rng.choice(["right", "left"])
        longest = steps - 1 if b < 2 and steps > 1 else steps
        length = int(rng.integers(1, longest + 1))
        if side == "right":
            mask[b, :length] = True
        else:
            mask[b, steps - length :] = True
    return mask


def make_inputs(case: Case, rng: np.random.Generator, stateful_call: bool = False) -> Inputs:
    """Random normal ``x``, the case's mask and (when asked) random initial states."""
    batch, steps, features = case.shape
    x = rng.standard_normal((batch, steps, features)).astype(case.dtype)
    mask = make_mask(rng, batch, steps, case.mask)
    states = None
    if case.initial_state and not stateful_call:
        count = case.n_states
        states = [
            rng.standard_normal((batch, case.kwargs["units"])).astype(case.dtype)
            for _ in range(count)
        ]
    return Inputs(x, mask, states)


def random_weights(
    rng: np.random.Generator, like: list[np.ndarray], dtype: str
) -> list[np.ndarray]:
    """Uniform(-0.6, 0.6) arrays shaped like ``like``: biases are non-zero too."""
    return [rng.uniform(-WEIGHT_SCALE, WEIGHT_SCALE, w.shape).astype(dtype) for w in like]


def as_list(outputs) -> list:
    """A layer's result as a list of arrays (one array -> a list of one)."""
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]


# ----------------------------------------------------------------------------- the two layers


def make_keras_layer(case: Case, batch_size: int):
    """The Keras layer for ``case``, built on ``(batch_size, T, I)``."""
    layer = getattr(keras.layers, case.layer)(**case.kwargs, dtype=case.dtype, seed=case.seed)
    if case.bidirectional:
        layer = keras.layers.Bidirectional(layer, merge_mode=case.merge_mode, dtype=case.dtype)
    layer.build((batch_size,) + tuple(case.shape[1:]))
    return layer


def make_scratch_layer(case: Case, batch_size: int):
    """The scratchrnn layer for ``case``, built on ``(batch_size, T, I)``."""
    layer = getattr(scratch_layers, case.layer)(
        **case.kwargs, dtype=case.dtype, seed=case.seed, backend=case.backend
    )
    if case.bidirectional:
        layer = scratch_layers.Bidirectional(layer, merge_mode=case.merge_mode)
    layer.build((batch_size,) + tuple(case.shape[1:]))
    return layer


def rnn_layers(layer) -> list:
    """The recurrent layers inside ``layer``: itself, or Bidirectional's two halves."""
    if hasattr(layer, "forward_layer"):
        return [layer.forward_layer, layer.backward_layer]
    return [layer]


def check_fresh_layers(keras_layer, scratch_layer) -> list[str]:
    """Freshly built layers: same weight shapes, and the same (deterministic) bias."""
    theirs = keras_layer.get_weights()
    ours = scratch_layer.get_weights()
    if [np.shape(w) for w in ours] != [w.shape for w in theirs]:
        return [f"weight shapes {[np.shape(w) for w in ours]}, Keras {[w.shape for w in theirs]}"]
    return [
        f"initial {v.path}: scratchrnn {ours[i].ravel()[:8]}..., Keras {theirs[i].ravel()[:8]}..."
        for i, v in enumerate(keras_layer.weights)
        if v.name == "bias" and not np.array_equal(ours[i], theirs[i])
    ]


def make_layer_pair(case: Case, rng: np.random.Generator, batch_size: int):
    """Both layers with the same random weights, and any problem found on the way."""
    keras_layer = make_keras_layer(case, batch_size)
    scratch_layer = make_scratch_layer(case, batch_size)
    problems = check_fresh_layers(keras_layer, scratch_layer)
    keras_layer.set_weights(random_weights(rng, keras_layer.get_weights(), case.dtype))
    scratch_layer.set_weights(keras_layer.get_weights())
    ours, theirs = scratch_layer.get_weights(), keras_layer.get_weights()
    if len(ours) != len(theirs):
        return keras_layer, scratch_layer, problems + [f"{len(ours)} weights, Keras {len(theirs)}"]
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if not (np.array_equal(a, b) and np.asarray(a).dtype == b.dtype):
            problems.append(f"get_weights()[{i}] after set_weights does not round-trip")
    return keras_layer, scratch_layer, problems


# ----------------------------------------------------------------------------- running them


def random_seeds(rng: np.random.Generator, case: Case):
    """A ``make_seeds`` for :func:`keras_forward_backward`: one random normal G per output,
    zeros for the returned states when ``case.none_state_grads``."""

    def make_seeds(outputs):
        seeds = [rng.standard_normal(tuple(o.shape)).astype(case.dtype) for o in outputs]
        if case.none_state_grads:
            seeds[case.n_outputs :] = [np.zeros_like(s) for s in seeds[case.n_outputs :]]
        return seeds

    return make_seeds


def scratch_seeds(case: Case, seeds: list[np.ndarray]) -> list:
    """The seeds as scratchrnn's ``backward`` gets them: ``None`` (zero) for the returned
    states when ``case.none_state_grads``."""
    if not case.none_state_grads:
        return seeds
    return seeds[: case.n_outputs] + [None] * (len(seeds) - case.n_outputs)


def keras_forward_backward(layer, inputs: Inputs, training: bool, make_seeds) -> tuple[Grads, list]:
    """Keras outputs and the gradients of ``sum_i sum(out_i * G_i)`` with respect to the
    inputs, the initial states and every weight; ``G = make_seeds(outputs)``. Returns
    ``(Grads, G)``."""
    x = tf.constant(inputs.x)
    states = None if inputs.states is None else [tf.constant(s) for s in inputs.states]
    mask = None if inputs.mask is None else tf.constant(inputs.mask)
    watched = [x] + (states or [])
    with tf.GradientTape() as tape:
        tape.watch(watched)
        outputs = as_list(layer(x, mask=mask, initial_state=states, training=training))
        seeds = make_seeds(outputs)
        loss = tf.add_n([tf.reduce_sum(o * s) for o, s in zip(outputs, seeds, strict=True)])
    grads = tape.gradient(
        loss, watched + list(layer.weights), unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    grads = [g.numpy() for g in grads]
    n = len(watched)
    return Grads([o.numpy() for o in outputs], grads[0], grads[1:n], grads[n:]), seeds


def scratch_backward(layer, raw_outputs, seeds: list, with_states: bool) -> tuple[Grads, list[str]]:
    """scratchrnn's gradients for the seeds Keras used (one array when it returned one)."""
    result = layer.backward(seeds if isinstance(raw_outputs, (list, tuple)) else seeds[0])
    problems = []
    if with_states:
        if not (isinstance(result, tuple) and len(result) == 2):
            return None, ["backward() with initial_state given must return (dx, [d_state, ...])"]
        dx, dstates = result[0], list(result[1])
    else:
        if isinstance(result, tuple):
            problems.append("backward() without initial_state must return dx alone")
            result = result[0]
        dx, dstates = result, []
    return Grads(as_list(raw_outputs), dx, dstates, list(layer.get_gradients())), problems


def compare_grads(
    ours: Grads, theirs: Grads, n_out: int, dtype: str, label: str = ""
) -> tuple[dict, list[str]]:
    """Worst error per group; the first ``n_out`` outputs are outputs, the rest states."""
    groups = {
        "out": (ours.outputs[:n_out], theirs.outputs[:n_out]),
        "states": (ours.outputs[n_out:], theirs.outputs[n_out:]),
        "dx": ([ours.dx], [theirs.dx]),
        "dstates": (ours.dstates, theirs.dstates),
        "dweights": (ours.dweights, theirs.dweights),
    }
    errors, problems = {}, []
    for group, (a, b) in groups.items():
        if len(a) or len(b):
            errors[group], found = compare_arrays(label + group, a, b, dtype)
            problems += found
    return errors, problems


def _keras_dropout_mask(mask, dtype: str):
    """scratchrnn's ``(G, B, F)`` mask in the form Keras's cell caches it."""
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=dtype)
    return tf.constant(mask[0]) if mask.shape[0] == 1 else [tf.constant(m) for m in mask]


def inject_dropout_masks(keras_layer, scratch_layer) -> list[str]:
    """Give each Keras cell scratchrnn's masks, so both sides drop the same units."""
    problems = []
    for k, s in zip(rnn_layers(keras_layer), rnn_layers(scratch_layer), strict=True):
        for attr, rate in (
            ("dropout_mask", k.cell.dropout),
            ("recurrent_dropout_mask", k.cell.recurrent_dropout),
        ):
            mask = getattr(s, attr, None)
            if 0.0 < rate < 1.0 and mask is None:
                problems.append(f"{attr} is None after a training call with rate {rate}")
            setattr(k.cell, "_" + attr, _keras_dropout_mask(mask, k.cell.compute_dtype))
    return problems


def float64_reruns(
    case: Case, keras_layer, scratch_layer, inputs: Inputs, seeds: list
) -> tuple[Grads, list]:
    """Keras in float64 on a float32 case's weights, inputs, dropout masks and seeds: once
    exactly, then :data:`PERTURBATIONS` times with each value multiplied by ``1 + d``,
    ``|d| <= u`` (float32's unit roundoff). Returns ``(exact, [perturbed, ...])``."""
    twin = make_keras_layer(dataclasses.replace(case, dtype="float64"), case.shape[0])
    rng = np.random.default_rng(case.seed)

    def run(widen):
        twin.set_weights([widen(w) for w in keras_layer.get_weights()])
        if case.training:
            inject_dropout_masks(twin, scratch_layer)
        wide = Inputs(
            widen(inputs.x),
            inputs.mask,
            None if inputs.states is None else [widen(s) for s in inputs.states],
        )
        return keras_forward_backward(
            twin, wide, case.training, lambda _: [widen(s) for s in seeds]
        )[0]

    def perturb(a):
        return a.astype(np.float64) * (1 + FLOAT32_ROUNDOFF * rng.uniform(-1, 1, a.shape))

    exact = run(lambda a: a.astype(np.float64))
    return exact, [run(perturb) for _ in range(PERTURBATIONS)]


def excuse_ill_conditioned(
    errors: dict,
    ours: Grads,
    theirs: Grads,
    exact: Grads,
    perturbed: list,
    n_out: int,
    tolerance: float,
) -> tuple[tuple[str, ...], str]:
    """The groups over ``tolerance`` whose excess is float32 rounding of an ill-conditioned
    problem (see the module docstring), and a note with the numbers of every such group."""
    ours_off, _ = compare_grads(ours, exact, n_out, "float32")
    keras_off, _ = compare_grads(theirs, exact, n_out, "float32")
    sensitivity = {}
    for run in perturbed:
        for group, error in compare_grads(run, exact, n_out, "float64")[0].items():
            sensitivity[group] = max(sensitivity.get(group, 0.0), error)
    excused, notes = [], []
    for group in (g for g, e in errors.items() if e > tolerance):
        reach = max(keras_off[group], sensitivity[group])
        if errors[group] <= EXCUSABLE_LIMIT and ours_off[group] <= ROUNDING_RATIO * reach:
            excused.append(group)
        notes.append(
            f"{group} against float64: scratchrnn f32 {ours_off[group]:.1e}, Keras f32 "
            f"{keras_off[group]:.1e}, sensitivity {sensitivity[group]:.1e}"
        )
    verdict = "ill-conditioned, excused" if len(excused) == len(notes) else "not excused"
    return tuple(excused), f"{verdict}: " + "; ".join(notes)


def judge_float32_excess(
    case: Case, keras_layer, scratch_layer, inputs: Inputs, seeds: list, verdict: tuple
) -> tuple[tuple[str, ...], str]:
    """For a float32 call over the tolerance, the groups excused as ill-conditioned and a
    note (see the module docstring); ``((), "")`` when there is nothing to judge.
    ``verdict`` is ``(errors, ours, theirs)`` of the call; ``case`` and ``inputs`` must
    describe it as a non-stateful call (the states it started from as initial states)."""
    errors, ours, theirs = verdict
    tolerance = TOLERANCE[case.dtype]
    if case.dtype != "float32" or all(e <= tolerance for e in errors.values()):
        return (), ""
    exact, perturbed = float64_reruns(case, keras_layer, scratch_layer, inputs, seeds)
    return excuse_ill_conditioned(errors, ours, theirs, exact, perturbed, case.n_outputs, tolerance)


def check_parity(case: Case) -> Outcome:
    """Outputs, states and all gradients of one call (see the module docstring)."""
    rng = np.random.default_rng(case.seed)
    keras_layer, scratch_layer, problems = make_layer_pair(case, rng, case.shape[0])
    inputs = make_inputs(case, rng)
    raw = scratch_layer(
        inputs.x, mask=inputs.mask, initial_state=inputs.states, training=case.training
    )
    if case.training:
        problems += inject_dropout_masks(keras_layer, scratch_layer)
    theirs, seeds = keras_forward_backward(
        keras_layer, inputs, case.training, random_seeds(rng, case)
    )
    if len(as_list(raw)) != len(theirs.outputs):
        return Outcome(
            {},
            problems + [f"call returned {len(as_list(raw))} arrays, Keras {len(theirs.outputs)}"],
        )
    with_states = inputs.states is not None
    ours, found = scratch_backward(scratch_layer, raw, scratch_seeds(case, seeds), with_states)
    if ours is None:
        return Outcome({}, problems + found)
    errors, compared = compare_grads(ours, theirs, case.n_outputs, case.dtype)
    problems += found + compared
    if problems:
        return Outcome(errors, problems)
    verdict = (errors, ours, theirs)
    excused, note = judge_float32_excess(case, keras_layer, scratch_layer, inputs, seeds, verdict)
    return Outcome(errors, problems, excused, note)


def check_stateful(case: Case) -> Outcome:
    """Four calls of a stateful layer: continue, continue, reset to zeros, reset to S."""
    rng = np.random.default_rng(case.seed)
    keras_layer, scratch_layer, problems = make_layer_pair(case, rng, case.shape[0])
    units = case.kwargs["units"]
    reset_to = [
        rng.standard_normal((case.shape[0], units)).astype(case.dtype) for _ in range(case.n_states)
    ]
    # A call of the stateful layer, as a plain call from the states it starts from.
    as_plain = dataclasses.replace(
        case, kwargs={**case.kwargs, "stateful": False}, initial_state=True, check="parity"
    )

    def reset_zeros():
        keras_layer.reset_states()
        scratch_layer.reset_states()

    def reset_given():
        for variable, value in zip(keras_layer.states, reset_to, strict=True):
            variable.assign(value)
        scratch_layer.reset_states(states=[s.copy() for s in reset_to])

    errors, excused, unexcused, notes = {}, set(), set(), []
    for label, before in (
        ("call1 ", None),
        ("call2 ", None),
        ("reset ", reset_zeros),
        ("reset(S) ", reset_given),
    ):
        if before is not None:
            before()
        inputs = make_inputs(case, rng, stateful_call=True)
        start = [np.array(v.numpy()) for v in keras_layer.states]
        raw = scratch_layer(inputs.x, mask=inputs.mask)
        theirs, seeds = keras_forward_backward(keras_layer, inputs, False, random_seeds(rng, case))
        ours, found = scratch_backward(scratch_layer, raw, scratch_seeds(case, seeds), False)
        new, compared = compare_grads(ours, theirs, case.n_outputs, case.dtype, label)
        problems += found + compared
        for group, error in new.items():
            errors[group] = max(errors.get(group, 0.0), error)
        if found or compared:
            continue
        plain = inputs._replace(states=start)
        verdict = (new, ours, theirs)
        ok, note = judge_float32_excess(as_plain, keras_layer, scratch_layer, plain, seeds, verdict)
        excused |= set(ok)
        unexcused |= {g for g, e in new.items() if e > TOLERANCE[case.dtype] and g not in ok}
        notes += [label + note] if note else []
    return Outcome(errors, problems, tuple(sorted(excused - unexcused)), "; ".join(notes))


def _stack_keras_mask(mask) -> np.ndarray | None:
    """Keras's cached mask (one tensor, or a list of one per gate) as a (G, B, F) array."""
    if mask is None:
        return None
    return (
        np.stack([np.asarray(m) for m in mask])
        if isinstance(mask, list)
        else np.asarray(mask)[None]
    )


def _mask_problems(label: str, ours, theirs, rate: float, dtype: str) -> tuple[list[str], str]:
    """Structure of one scratchrnn mask against Keras's; returns (problems, a note)."""
    if theirs is None:
        return ([] if ours is None else [f"{label}: scratchrnn drew a mask, Keras none"]), ""
    if ours is None:
        return [f"{label}: scratchrnn drew no mask, Keras {theirs.shape}"], ""
    ours = np.asarray(ours)
    if ours.shape != theirs.shape:
        return [f"{label}: shape {ours.shape}, Keras {theirs.shape}"], ""
    problems = []
    if ours.dtype != np.dtype(dtype):
        problems.append(f"{label}: dtype {ours.dtype}, expected {dtype}")
    kept = theirs[theirs != 0].flat[0]
    if not np.all((ours == 0) | np.isclose(ours, kept, rtol=4 * np.finfo(dtype).eps, atol=0)):
        problems.append(f"{label}: values {np.unique(ours)[:6]}, expected {{0, {kept}}}")
    zeros = float(np.mean(ours == 0))
    sigma = np.sqrt(rate * (1 - rate) / ours.size)
    if abs(zeros - rate) > RATE_SIGMAS * sigma:
        problems.append(
            f"{label}: fraction of zeros {zeros:.4f}, rate {rate}: off by more than "
            f"{RATE_SIGMAS:g} sigma = {RATE_SIGMAS * sigma:.4f}"
        )
    if len(ours) > 1 and all(np.array_equal(ours[0], m) for m in ours[1:]):
        problems.append(f"{label}: the {len(ours)} per-gate masks are identical")
    return problems, f"{label} zeros {zeros:.3f}/{rate}"


def check_dropout_structure(case: Case) -> Outcome:
    """Keras's and scratchrnn's training-time dropout masks agree in structure and rate."""
    rng = np.random.default_rng(case.seed)
    batch, steps, features = STRUCTURE_BATCH, case.shape[1], case.shape[2]
    x = rng.standard_normal((batch, steps, features)).astype(case.dtype)
    cell = make_keras_layer(case, batch).cell
    theirs = {
        "dropout_mask": _stack_keras_mask(cell.get_dropout_mask(tf.constant(x[:, 0, :]))),
        "recurrent_dropout_mask": _stack_keras_mask(
            cell.get_recurrent_dropout_mask(
                tf.zeros((batch, case.kwargs["units"]), dtype=case.dtype)
            )
        ),
    }
    cell.reset_dropout_mask()
    cell.reset_recurrent_dropout_mask()
    scratch_layer = make_scratch_layer(case, batch)
    scratch_layer(x, training=True)
    first = {attr: getattr(scratch_layer, attr, None) for attr in theirs}
    first = {attr: None if m is None else np.array(m) for attr, m in first.items()}
    scratch_layer(x, training=True)
    problems, notes = [], []
    for attr, rate in (
        ("dropout_mask", cell.dropout),
        ("recurrent_dropout_mask", cell.recurrent_dropout),
    ):
        found, note = _mask_problems(attr, first[attr], theirs[attr], rate, case.dtype)
        problems += found
        notes += [note] if note else []
        again = getattr(scratch_layer, attr, None)
        if first[attr] is not None and again is not None and np.array_equal(first[attr], again):
            problems.append(f"{attr}: a second training call reused the first call's mask")
    return Outcome({}, problems, note=", ".join(notes))


_CHECKERS = {
    "parity": check_parity,
    "stateful": check_stateful,
    "dropout_structure": check_dropout_structure,
}


def run_case(case: Case) -> Result:
    """Run ``case`` (see the module docstring) and return its :class:`Result`."""
    start = time.perf_counter()
    outcome = _CHECKERS[case.check](case)
    return Result(
        case,
        outcome.errors,
        tuple(outcome.problems),
        outcome.excused,
        outcome.note,
        time.perf_counter() - start,
    )
