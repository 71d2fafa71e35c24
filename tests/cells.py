"""The sequence ops of the three cells behind one interface, for the tests.

A :class:`Problem` is one random configuration of one cell's sequence op: named float64
arrays that receive gradients (``x``, the initial states ``h0`` (``c0``), ``kernel``,
``recurrent_kernel``, ``bias``), fixed extras (mask, dropout masks) and random upstream
gradients for every output (the sequence and each final state).  ``problem.loss()``
runs the forward op on the current arrays; ``problem.analytic()`` runs forward and the
hand-written backward op and returns the gradients under the same names.
"""

import contextlib
import dataclasses
from unittest import mock

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from scratchrnn import ops
from scratchrnn.ops import activations as act

from .gradcheck import weighted_sum

CELLS = ("simple_rnn", "lstm", "gru")
N_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
STATES = {"simple_rnn": ("h0",), "lstm": ("h0", "c0"), "gru": ("h0",)}
ACTIVATION_CODES = tuple(sorted(act.NAMES))
DROP_RATE = 0.3


def examples(n):
    """``n`` hypothesis examples under the ``ci`` profile, a fifth (at least 2) under ``dev``."""
    return max(2, n * settings.default.max_examples // 100)


@dataclasses.dataclass(frozen=True)
class Options:
    """One configuration of a sequence op.  ``dropout_gates``: 0 (no mask), 1 (one mask
    for all gates) or the number of gates (one mask each); same for the recurrent one."""

    cell: str
    batch: int = 2
    timesteps: int = 3
    input_dim: int = 2
    units: int = 3
    mask: bool = False
    go_backwards: bool = False
    zero_output_for_mask: bool = False
    use_bias: bool = True
    dropout_gates: int = 0
    recurrent_dropout_gates: int = 0
    activation: int = act.TANH
    recurrent_activation: int = act.SIGMOID
    reset_after: bool = True
    weight_scale: float = 1.0
    seed: int = 0

    @property
    def n_gates(self):
        return N_GATES[self.cell]


def random_mask(rng, batch, timesteps):
    """Random (batch, timesteps) booleans, with sample 0 masked at its first step and the
    last sample masked at its last step."""
    mask = rng.random((batch, timesteps)) < 0.7
    mask[0, 0] = False
    mask[-1, -1] = False
    return mask


def dropout_mask(rng, gates, batch, features, rate=DROP_RATE):
    """A Keras-style dropout mask (gates, batch, features): 0 or 1/(1 - rate)."""
    return (rng.random((gates, batch, features)) >= rate) / (1 - rate)


def bias_shape(o):
    gh = o.n_gates * o.units
    return (2, gh) if (o.cell == "gru" and o.reset_after) else (gh,)


class Problem:
    """Random arrays for :class:`Options` ``o``; see the module docstring."""

    def __init__(self, o):
        self.o = o
        rng = np.random.default_rng(o.seed)
        B, T, F, H, G = o.batch, o.timesteps, o.input_dim, o.units, o.n_gates
        s = o.weight_scale / np.sqrt(F + H)
        self.params = {"x": rng.normal(size=(B, T, F))}
        for name in STATES[o.cell]:
            self.params[name] = rng.normal(scale=0.5, size=(B, H))
        self.params["kernel"] = rng.uniform(-s, s, size=(F, G * H))
        self.params["recurrent_kernel"] = rng.uniform(-s, s, size=(H, G * H))
        if o.use_bias:
            self.params["bias"] = rng.uniform(-0.5, 0.5, size=bias_shape(o)) * o.weight_scale
        self.mask = random_mask(rng, B, T) if o.mask else None
        self.dropout_mask = (dropout_mask(rng, o.dropout_gates, B, F)
                             if o.dropout_gates else None)
        self.recurrent_dropout_mask = (dropout_mask(rng, o.recurrent_dropout_gates, B, H)
                                       if o.recurrent_dropout_gates else None)
        n_outputs = 1 + len(STATES[o.cell])
        self.upstream = [rng.normal(size=(B, T, H))] + [rng.normal(size=(B, H))
                                                        for _ in range(n_outputs - 1)]

    def forward(self):
        """``(outputs, *final_states), cache`` of the cell's sequence op."""
        return forward(self.o, self.params, self.mask, self.dropout_mask,
                       self.recurrent_dropout_mask)

    def outputs(self):
        return self.forward()[0]

    def loss(self):
        return weighted_sum(self.outputs(), self.upstream)

    def analytic(self):
        """The gradients of :meth:`loss` by the hand-written backward op."""
        _, cache = self.forward()
        return backward(self.o, self.params, cache, self.upstream)


def forward(o, p, mask=None, dropout_mask=None, recurrent_dropout_mask=None, impl=ops):
    """Run the sequence op of ``o.cell`` on the arrays ``p`` (named as in :class:`Problem`).

    ``impl``: where the ``*_forward`` functions come from (the readable ops by default).
    """
    common = dict(mask=mask, go_backwards=o.go_backwards, activation=o.activation,
                  zero_output_for_mask=o.zero_output_for_mask, dropout_mask=dropout_mask,
                  recurrent_dropout_mask=recurrent_dropout_mask)
    bias = p.get("bias")
    if o.cell == "simple_rnn":
        return impl.simple_rnn_forward(p["x"], p["h0"], p["kernel"], p["recurrent_kernel"],
                                      bias, **common)
    if o.cell == "lstm":
        return impl.lstm_forward(p["x"], p["h0"], p["c0"], p["kernel"], p["recurrent_kernel"],
                                bias, recurrent_activation=o.recurrent_activation, **common)
    return impl.gru_forward(p["x"], p["h0"], p["kernel"], p["recurrent_kernel"], bias,
                           recurrent_activation=o.recurrent_activation,
                           reset_after=o.reset_after, **common)


def backward(o, p, cache, upstream, impl=ops):
    """The gradients of ``weighted_sum(outputs, upstream)``, named like ``p``."""
    k, rk = p["kernel"], p["recurrent_kernel"]
    if o.cell == "simple_rnn":
        dx, dh0, dk, drk, db = impl.simple_rnn_backward(*upstream, cache, k, rk)
        grads = {"x": dx, "h0": dh0}
    elif o.cell == "lstm":
        dx, dh0, dc0, dk, drk, db = impl.lstm_backward(*upstream, cache, k, rk)
        grads = {"x": dx, "h0": dh0, "c0": dc0}
    else:
        dx, dh0, dk, drk, db = impl.gru_backward(*upstream, cache, k, rk)
        grads = {"x": dx, "h0": dh0}
    grads.update(kernel=dk, recurrent_kernel=drk)
    if "bias" in p:
        grads["bias"] = db
    else:
        assert db is None, "the bias gradient of a layer without bias must be None"
    return grads


# --- kinks --------------------------------------------------------------------------------

KINKS = {act.RELU: (0.0,), act.HARD_SIGMOID: (-3.0, 3.0)}


@contextlib.contextmanager
def kink_distances():
    """Record, for every call of an activation with a kink (relu at 0, hard_sigmoid at
    ±3), how close its pre-activations came to it.  Finite differences across a kink
    measure a slope that is neither side's, so checks assume a distance > 1e-4.

    Yields a list that fills with one distance per such call.
    """
    distances = []
    original = act.forward

    def recording_forward(a, code):
        for kink in KINKS.get(code, ()):
            distances.append(float(np.min(np.abs(np.asarray(a) - kink), initial=np.inf)))
        return original(a, code)

    with mock.patch.object(act, "forward", recording_forward):
        yield distances


def min_kink_distance(function):
    """The smallest distance of a pre-activation to a kink while ``function()`` runs."""
    with kink_distances() as distances:
        function()
    return min(distances, default=np.inf)


# --- hypothesis strategies ----------------------------------------------------------------

@st.composite
def options(draw, cell):
    """Small random :class:`Options` of ``cell``: shapes, flags, dropout, activations."""
    gates = N_GATES[cell]
    activation = draw(st.sampled_from(ACTIVATION_CODES))
    recurrent_activation = draw(st.sampled_from(ACTIVATION_CODES))
    used = (activation,) if cell == "simple_rnn" else (activation, recurrent_activation)
    # exp(exp(.)) compounds over the steps: keep its arguments small.
    scale = 0.5 if act.EXPONENTIAL in used else draw(st.sampled_from([0.5, 1.0, 3.0]))
    return Options(
        cell=cell,
        batch=draw(st.integers(1, 3)),
        timesteps=draw(st.integers(1, 4)),
        input_dim=draw(st.integers(1, 3)),
        units=draw(st.integers(1, 3)),
        mask=draw(st.booleans()),
        go_backwards=draw(st.booleans()),
        zero_output_for_mask=draw(st.booleans()),
        use_bias=draw(st.booleans()),
        dropout_gates=draw(st.sampled_from(sorted({0, 1, gates}))),
        recurrent_dropout_gates=draw(st.sampled_from(sorted({0, 1, gates}))),
        activation=activation,
        recurrent_activation=recurrent_activation,
        reset_after=draw(st.booleans()),
        weight_scale=scale,
        seed=draw(st.integers(0, 2**32 - 1)),
    )
