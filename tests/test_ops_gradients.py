"""The hand-written backward ops against central finite differences (float64).

Every gradient a backward op returns (inputs, initial states, kernel, recurrent kernel,
bias) is checked, for the sequence ops under every option and every activation, and
for the single steps.  ``loss = Σ_i sum(out_i * G_i)`` over the output sequence and
each final state, with random ``G_i``; see :mod:`tests.gradcheck` for the metric.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scratchrnn import ops
from scratchrnn.ops import activations as act
from scratchrnn.ops.common import recurrent_kernel_gradient

from .cells import (
    ACTIVATION_CODES,
    CELLS,
    N_GATES,
    STATES,
    Options,
    Problem,
    dropout_mask,
    examples,
    min_kink_distance,
    options,
)
from .gradcheck import assert_gradients_match, weighted_sum

KINK_MARGIN = 1e-4


def moderate(result):
    """Whether every array of an op's ``(outputs, cache)`` is finite and below 1e4.

    The cache counts too: a masked step is computed and then discarded, and an overflow
    there (exp of exp) still turns the backward's ``0 * inf`` into NaN, as in TensorFlow.
    """
    outputs, cache = result
    arrays = [a for a in (*outputs, *cache) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    return all(np.isfinite(a).all() and np.abs(a).max(initial=0) < 1e4 for a in arrays)


def check_problem(o, *, assume_smooth=False):
    """Gradient-check the sequence op of ``o``.  Finite differences are meaningless
    across a kink: with ``assume_smooth`` such an example is discarded (hypothesis),
    otherwise the test fails if a pre-activation comes within 1e-4 of one."""
    problem = Problem(o)
    with np.errstate(over="ignore", invalid="ignore"):    # overflows are discarded below
        finite = moderate(problem.forward())
        distance = min_kink_distance(problem.forward)
    if assume_smooth:
        assume(finite and distance > KINK_MARGIN)
    assert finite, "the configuration overflows: choose smaller weights"
    assert distance > KINK_MARGIN, f"a pre-activation lies {distance:.1e} from a kink"
    assert_gradients_match(problem.loss, problem.params, problem.analytic())


# --- sequence ops: every option, one at a time ---------------------------------------

def option_cases():
    cases = []
    for cell in CELLS:
        g = N_GATES[cell]
        variants = {
            "plain": {},
            "mask": dict(mask=True),
            "mask_zero_output": dict(mask=True, zero_output_for_mask=True),
            "go_backwards": dict(go_backwards=True),
            "go_backwards_mask": dict(go_backwards=True, mask=True),
            "no_bias": dict(use_bias=False),
            "dropout_shared": dict(dropout_gates=1, recurrent_dropout_gates=1),
            "dropout_input_only": dict(dropout_gates=1),
            "dropout_recurrent_only": dict(recurrent_dropout_gates=1),
            "single_step": dict(timesteps=1, mask=True),
            "single_sample_unit": dict(batch=1, units=1, input_dim=1),
        }
        if g > 1:
            variants["dropout_per_gate"] = dict(dropout_gates=g, recurrent_dropout_gates=g)
            variants["dropout_per_gate_mask_backwards"] = dict(
                dropout_gates=g, recurrent_dropout_gates=g, mask=True, go_backwards=True)
        if cell == "gru":
            for name, kw in list(variants.items()):
                variants[name + "_reset_before"] = dict(kw, reset_after=False)
        for name, kw in variants.items():
            cases.append(pytest.param(Options(cell, batch=kw.pop("batch", 3),
                                              timesteps=kw.pop("timesteps", 4), **kw),
                                      id=f"{cell}-{name}"))
    return cases


@pytest.mark.parametrize("o", option_cases())
def test_sequence_gradients_for_each_option(o):
    check_problem(o)


def activation_cases():
    cases = []
    for cell in CELLS:
        slots = ["activation"] if cell == "simple_rnn" else ["activation",
                                                             "recurrent_activation"]
        for slot in slots:
            for code in ACTIVATION_CODES:
                # exp compounds over steps; hard_sigmoid needs |a| > 3 to saturate.
                scale = {act.EXPONENTIAL: 0.5, act.HARD_SIGMOID: 4.0}.get(code, 1.0)
                kw = {slot: code, "weight_scale": scale, "mask": True}
                for reset_after in ([True, False] if cell == "gru" else [True]):
                    cases.append(pytest.param(
                        Options(cell, batch=3, timesteps=4, reset_after=reset_after, **kw),
                        id=f"{cell}-{slot}={act.NAMES[code]}"
                           + ("" if reset_after else "-reset_before")))
    return cases


@pytest.mark.parametrize("o", activation_cases())
def test_sequence_gradients_for_each_activation(o):
    check_problem(o)


def test_hard_sigmoid_cases_reach_both_saturated_sides():
    """The hard_sigmoid checks above test the flat parts too, not only the slope."""
    o = Options("lstm", batch=3, timesteps=4, recurrent_activation=act.HARD_SIGMOID,
                weight_scale=4.0, mask=True)
    _, cache = Problem(o).forward()
    gates = np.delete(cache.gates, np.s_[2 * o.units:3 * o.units], axis=-1)  # i, f, o
    assert (gates == 0).any() and (gates == 1).any() and ((gates > 0) & (gates < 1)).any()


# --- sequence ops: random combinations -------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
@settings(max_examples=examples(400))
@given(data=st.data())
def test_sequence_gradients_random_configurations(cell, data):
    check_problem(data.draw(options(cell)), assume_smooth=True)


# --- structural facts of the backward pass ----------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
def test_fully_masked_sample_passes_state_gradients_through_untouched(cell):
    """A sample masked at every step never changes its state: its dx is zero and the
    gradient of each final state arrives unchanged at the initial state."""
    problem = Problem(Options(cell, batch=3, timesteps=4, mask=True))
    problem.mask[1] = False
    grads = problem.analytic()
    np.testing.assert_array_equal(grads["x"][1], 0)
    for name, g in zip(STATES[cell], problem.upstream[1:], strict=True):
        np.testing.assert_array_equal(grads[name][1], g[1])


@pytest.mark.parametrize("cell", CELLS)
def test_backward_leaves_its_arguments_unchanged(cell):
    problem = Problem(Options(cell, mask=True, dropout_gates=1, recurrent_dropout_gates=1))
    before = [g.copy() for g in problem.upstream]
    params_before = {k: v.copy() for k, v in problem.params.items()}
    problem.analytic()
    for g, b in zip(problem.upstream, before, strict=True):
        np.testing.assert_array_equal(g, b)
    for k, v in problem.params.items():
        np.testing.assert_array_equal(v, params_before[k])


# --- single steps ---------------------------------------------------------------------

class Step:
    """One step of a cell as a function of named float64 arrays, with its backward.

    params: ``zx`` (the input projection), ``h_prev`` (``c_prev``), ``recurrent_kernel``
    and, for GRU with reset_after, ``recurrent_bias``.  The recurrent weight gradients
    are assembled from what the step backward returns, as the sequence backward does.
    """

    def __init__(self, cell, batch, units, gates, activation, recurrent_activation,
                 reset_after, scale, seed):
        rng = np.random.default_rng(seed)
        G = N_GATES[cell]
        self.cell, self.activation = cell, activation
        self.recurrent_activation, self.reset_after = recurrent_activation, reset_after
        self.params = {"zx": rng.normal(scale=scale, size=(batch, G * units)),
                       "h_prev": rng.normal(size=(batch, units))}
        if cell == "lstm":
            self.params["c_prev"] = rng.normal(size=(batch, units))
        self.params["recurrent_kernel"] = rng.uniform(-scale, scale, (units, G * units)) \
            / np.sqrt(units)
        if cell == "gru" and reset_after:
            self.params["recurrent_bias"] = rng.uniform(-0.5, 0.5, G * units)
        self.mask = dropout_mask(rng, gates, batch, units) if gates else None
        n_out = 2 if cell == "lstm" else 1
        self.upstream = [rng.normal(size=(batch, units)) for _ in range(n_out)]

    def forward(self):
        p, m = self.params, self.mask
        if self.cell == "simple_rnn":
            h, cache = ops.simple_rnn_step_forward(p["zx"], p["h_prev"], p["recurrent_kernel"],
                                                   m, self.activation)
            return (h,), cache
        if self.cell == "lstm":
            h, c, cache = ops.lstm_step_forward(p["zx"], p["h_prev"], p["c_prev"],
                                                p["recurrent_kernel"], m, self.activation,
                                                self.recurrent_activation)
            return (h, c), cache
        h, cache = ops.gru_step_forward(p["zx"], p["h_prev"], p["recurrent_kernel"],
                                        p.get("recurrent_bias"), m, self.reset_after,
                                        self.activation, self.recurrent_activation)
        return (h,), cache

    def loss(self):
        return weighted_sum(self.forward()[0], self.upstream)

    def analytic(self):
        p, m = self.params, self.mask
        _, cache = self.forward()
        rk = p["recurrent_kernel"]
        if self.cell == "simple_rnn":
            da, dh_prev = ops.simple_rnn_step_backward(*self.upstream, cache, rk, m,
                                                       self.activation)
            return {"zx": da, "h_prev": dh_prev,
                    "recurrent_kernel": recurrent_kernel_gradient(p["h_prev"][None],
                                                                  da[None], m)}
        if self.cell == "lstm":
            dz, dh_prev, dc_prev = ops.lstm_step_backward(
                *self.upstream, cache, rk, m, self.activation, self.recurrent_activation)
            return {"zx": dz, "h_prev": dh_prev, "c_prev": dc_prev,
                    "recurrent_kernel": recurrent_kernel_gradient(p["h_prev"][None],
                                                                  dz[None], m)}
        dzx, dzh, dh_prev = ops.gru_step_backward(*self.upstream, cache, rk, m,
                                                  self.reset_after, self.activation,
                                                  self.recurrent_activation)
        grads = {"zx": dzx, "h_prev": dh_prev}
        if self.reset_after:
            grads["recurrent_kernel"] = recurrent_kernel_gradient(p["h_prev"][None],
                                                                  dzh[None], m)
            grads["recurrent_bias"] = dzh.sum(axis=0)
        else:
            H = dh_prev.shape[1]
            zr_mask = None if m is None else m[:2] if len(m) == 3 else m
            grads["recurrent_kernel"] = np.concatenate([
                recurrent_kernel_gradient(p["h_prev"][None], dzh[None, :, :2 * H], zr_mask),
                cache.u.T @ dzh[:, 2 * H:]], axis=1)
        return grads


@st.composite
def steps(draw, cell):
    G = N_GATES[cell]
    activation = draw(st.sampled_from(ACTIVATION_CODES))
    recurrent_activation = draw(st.sampled_from(ACTIVATION_CODES))
    return Step(cell, batch=draw(st.integers(1, 3)), units=draw(st.integers(1, 3)),
                gates=draw(st.sampled_from(sorted({0, 1, G}))), activation=activation,
                recurrent_activation=recurrent_activation, reset_after=draw(st.booleans()),
                scale=draw(st.sampled_from([0.5, 1.0, 3.0])),
                seed=draw(st.integers(0, 2**32 - 1)))


@pytest.mark.parametrize("cell", CELLS)
@settings(max_examples=examples(200))
@given(data=st.data())
def test_step_backward_matches_finite_differences(cell, data):
    step = data.draw(steps(cell))
    with np.errstate(over="ignore", invalid="ignore"):
        assume(moderate(step.forward()))
        assume(min_kink_distance(step.forward) > KINK_MARGIN)
    assert_gradients_match(step.loss, step.params, step.analytic())


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("gates", ["none", "shared", "per_gate"])
def test_step_backward_default_activations(cell, gates):
    G = {"none": 0, "shared": 1, "per_gate": N_GATES[cell]}[gates]
    for reset_after in ([True, False] if cell == "gru" else [True]):
        step = Step(cell, batch=3, units=3, gates=G, activation=act.TANH,
                    recurrent_activation=act.SIGMOID, reset_after=reset_after, scale=1.0,
                    seed=1)
        assert_gradients_match(step.loss, step.params, step.analytic())
