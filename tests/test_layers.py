"""The layers: gradients through ``__call__``/``backward``/``get_gradients``, structural
identities (in the manner of Flax's recurrent tests), dropout, initialisers, weights
and dtypes.  Gradient checks run in float64 against central finite differences.

Shapes: B samples, T timesteps, F input features, H units, G dropout masks.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn import initializers, layers, ops
from scratchrnn.ops import activations as act

from .cells import examples
from .gradcheck import assert_gradients_match, weighted_sum

KINDS = ("SimpleRNN", "LSTM", "GRU", "GRU_reset_before")
N_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3, "GRU_reset_before": 3}
N_STATES = {"SimpleRNN": 1, "LSTM": 2, "GRU": 1, "GRU_reset_before": 1}


def make_layer(kind, units=3, **kwargs):
    """A layer of ``kind``; ``GRU_reset_before`` is a GRU with ``reset_after=False``."""
    kwargs.setdefault("dtype", "float64")
    if kind == "GRU_reset_before":
        return layers.GRU(units, reset_after=False, **kwargs)
    return getattr(layers, kind)(units, **kwargs)


def randomize(layer, input_dim, seed=0, scale=0.6):
    """Build ``layer`` and give it uniform(-scale, scale) weights, biases included."""
    rng = np.random.default_rng(seed)
    layer.build((None, None, input_dim))
    layer.set_weights([rng.uniform(-scale, scale, w.shape) for w in layer.get_weights()])
    return layer


def as_list(out):
    return out if isinstance(out, list) else [out]


def padded_mask(batch, timesteps, rng):
    """Random (batch, timesteps) mask with a left-padded, a right-padded sample and holes."""
    mask = rng.random((batch, timesteps)) < 0.7
    mask[0, :1] = False
    mask[-1, -1:] = False
    return mask


class LayerProblem:
    """Loss ``Σ sum(out_i * G_i)`` of a layer call, as a function of named float64 arrays:
    ``x``, the initial states ``state0..`` (when given) and the weights ``w0..``, which
    every evaluation installs with ``set_weights``.  ``before_call`` runs before each call
    (a stateful layer's ``reset_states``)."""

    def __init__(self, layer, x, mask=None, initial_state=None, before_call=None, seed=0,
                 training=False):
        self.layer, self.mask, self.before_call = layer, mask, before_call
        self.training = training
        self.params = {"x": x}
        self.n_states = 0 if initial_state is None else len(initial_state)
        for i, s in enumerate(initial_state or []):
            self.params[f"state{i}"] = s
        self.n_weights = len(layer.get_weights())
        for i, w in enumerate(layer.get_weights()):
            self.params[f"w{i}"] = w
        rng = np.random.default_rng(seed)
        self.returns_list = isinstance(self.call(), list)
        self.upstream = [rng.normal(size=o.shape) for o in as_list(self.call())]

    def call(self):
        p = self.params
        self.layer.set_weights([p[f"w{i}"] for i in range(self.n_weights)])
        if self.before_call is not None:
            self.before_call()
        states = [p[f"state{i}"] for i in range(self.n_states)] or None
        return self.layer(p["x"], mask=self.mask, initial_state=states,
                          training=self.training)

    def loss(self):
        return weighted_sum(as_list(self.call()), self.upstream)

    def analytic(self):
        self.call()
        result = self.layer.backward(self.upstream if self.returns_list else self.upstream[0])
        grads = {}
        if self.n_states:
            dx, d_states = result
            assert len(d_states) == self.n_states
            grads.update({f"state{i}": d for i, d in enumerate(d_states)})
        else:
            dx = result
        grads["x"] = dx
        grads.update({f"w{i}": g for i, g in enumerate(self.layer.get_gradients())})
        return grads

    def check(self):
        return assert_gradients_match(self.loss, self.params, self.analytic())


def random_inputs(batch, timesteps, input_dim, seed):
    return np.random.default_rng(seed).normal(size=(batch, timesteps, input_dim))


def random_states(kind, batch, units, seed, n=None):
    rng = np.random.default_rng(seed + 1000)
    return [rng.normal(scale=0.5, size=(batch, units)) for _ in range(n or N_STATES[kind])]


# --- gradients through the layer API ---------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=examples(60))
@given(return_sequences=st.booleans(), return_state=st.booleans(), go_backwards=st.booleans(),
       masked=st.booleans(), given_state=st.booleans(), use_bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_layer_gradients_match_finite_differences(kind, return_sequences, return_state,
                                                  go_backwards, masked, given_state,
                                                  use_bias, seed):
    B, T, F, H = 2, 3, 2, 2
    layer = randomize(make_layer(kind, H, return_sequences=return_sequences,
                                 return_state=return_state, go_backwards=go_backwards,
                                 use_bias=use_bias), F, seed)
    rng = np.random.default_rng(seed)
    mask = padded_mask(B, T, rng) if masked else None
    states = random_states(kind, B, H, seed) if given_state else None
    LayerProblem(layer, random_inputs(B, T, F, seed), mask, states, seed=seed).check()


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_gradients_match_finite_differences(kind, merge_mode, return_sequences):
    B, T, F, H = 2, 4, 2, 2
    bidi = layers.Bidirectional(make_layer(kind, H, return_sequences=return_sequences),
                                merge_mode=merge_mode)
    bidi.build((B, T, F))
    bidi.set_weights([np.random.default_rng(i).uniform(-0.6, 0.6, w.shape)
                      for i, w in enumerate(bidi.get_weights())])
    mask = padded_mask(B, T, np.random.default_rng(1))
    LayerProblem(bidi, random_inputs(B, T, F, 2), mask).check()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_bidirectional_gradients_with_states(kind, merge_mode):
    """return_state and initial_state: the states of both halves get their gradients."""
    B, T, F, H = 2, 3, 2, 2
    bidi = layers.Bidirectional(make_layer(kind, H, return_sequences=True, return_state=True),
                                merge_mode=merge_mode)
    bidi.build((B, T, F))
    bidi.set_weights([np.random.default_rng(i).uniform(-0.6, 0.6, w.shape)
                      for i, w in enumerate(bidi.get_weights())])
    states = random_states(kind, B, H, seed=3, n=2 * N_STATES[kind])
    mask = padded_mask(B, T, np.random.default_rng(4))
    LayerProblem(bidi, random_inputs(B, T, F, 5), mask, states).check()


@pytest.mark.parametrize("kind", KINDS)
def test_stateful_second_call_gradients(kind):
    """The second call of a stateful layer starts from the first call's final state
    (a constant for that call's gradients, as in Keras)."""
    B, T, F, H = 2, 3, 2, 3
    layer = randomize(make_layer(kind, H, stateful=True, return_state=True), F)
    layer(random_inputs(B, T, F, 0))
    carried = [s.copy() for s in layer.states]
    problem = LayerProblem(layer, random_inputs(B, T, F, 1),
                           before_call=lambda: layer.reset_states(carried))
    problem.check()


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_of_a_training_call_with_dropout(kind):
    """With training=True the masks drawn by the call stay fixed afterwards; the
    layer's backward must be the gradient of the ops run with those masks."""
    B, T, F, H = 3, 4, 3, 3
    layer = randomize(make_layer(kind, H, dropout=0.3, recurrent_dropout=0.4,
                                 return_sequences=True, return_state=True, seed=7), F)
    x, states = random_inputs(B, T, F, 1), random_states(kind, B, H, 1)
    mask = padded_mask(B, T, np.random.default_rng(2))
    outs = layer(x, mask=mask, initial_state=states, training=True)
    upstream = [np.random.default_rng(3).normal(size=o.shape) for o in outs]
    dx, d_states = layer.backward(upstream)
    analytic = {"x": dx, **{f"state{i}": d for i, d in enumerate(d_states)},
                **{f"w{i}": g for i, g in enumerate(layer.get_gradients())}}

    params = {"x": x, **{f"state{i}": s for i, s in enumerate(states)},
              **{f"w{i}": w for i, w in enumerate(layer.get_weights())}}
    masks = layer.dropout_mask, layer.recurrent_dropout_mask
    assert masks[0] is not None and masks[1] is not None

    def loss():
        return weighted_sum(run_ops(layer, params, mask, *masks), upstream)

    np.testing.assert_allclose(loss(), weighted_sum(outs, upstream), rtol=1e-13)
    assert_gradients_match(loss, params, analytic)


def run_ops(layer, p, mask, dropout_mask, recurrent_dropout_mask):
    """The sequence op of ``layer`` on named arrays (x, state0.., w0..): outputs, *states."""
    weights = [p[f"w{i}"] for i in range(len(layer.get_weights()))]
    bias = weights[2] if layer.use_bias else None
    states = [p[k] for k in sorted(p) if k.startswith("state")]
    common = dict(mask=mask, go_backwards=layer.go_backwards, activation=layer._activation,
                  dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask)
    if isinstance(layer, layers.LSTM):
        result, _ = ops.lstm_forward(p["x"], *states, weights[0], weights[1], bias,
                                     recurrent_activation=layer._recurrent_activation, **common)
    elif isinstance(layer, layers.GRU):
        result, _ = ops.gru_forward(p["x"], *states, weights[0], weights[1], bias,
                                    recurrent_activation=layer._recurrent_activation,
                                    reset_after=layer.reset_after, **common)
    else:
        result, _ = ops.simple_rnn_forward(p["x"], *states, weights[0], weights[1], bias,
                                           **common)
    return result


# --- equivalences ----------------------------------------------------------------------

def step_loop(kind, x, states, weights, mask=None, zero_output_for_mask=False):
    """Reference: the cell's step function called in a Python loop, with the input
    projection written out and Keras's masking rule applied by hand."""
    kernel, recurrent_kernel = weights[0], weights[1]
    bias = weights[2] if len(weights) == 3 else None
    recurrent_bias = None
    if kind == "GRU" and bias is not None:
        bias, recurrent_bias = bias[0], bias[1]
    B, T, _ = x.shape
    states = list(states)
    out = np.zeros_like(states[0])
    outputs = []
    for t in range(T):
        zx = x[:, t] @ kernel + (0 if bias is None else bias)
        if kind == "SimpleRNN":
            h, _ = ops.simple_rnn_step_forward(zx, states[0], recurrent_kernel, None, act.TANH)
            new = [h]
        elif kind == "LSTM":
            h, c, _ = ops.lstm_step_forward(zx, *states, recurrent_kernel, None, act.TANH,
                                            act.SIGMOID)
            new = [h, c]
        else:
            h, _ = ops.gru_step_forward(zx, states[0], recurrent_kernel, recurrent_bias, None,
                                        kind == "GRU", act.TANH, act.SIGMOID)
            new = [h]
        keep = np.ones((B, 1), bool) if mask is None else mask[:, t:t + 1]
        out = np.where(keep, new[0], 0.0 if zero_output_for_mask else out)
        states = [np.where(keep, n, s) for n, s in zip(new, states, strict=True)]
        outputs.append(out)
    return np.stack(outputs, axis=1), states


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_sequence_equals_a_python_loop_of_steps(kind, masked, zero_output_for_mask):
    B, T, F, H = 3, 5, 2, 4
    layer = randomize(make_layer(kind, H, return_sequences=True, return_state=True,
                                 zero_output_for_mask=zero_output_for_mask), F)
    x, states = random_inputs(B, T, F, 0), random_states(kind, B, H, 0)
    mask = padded_mask(B, T, np.random.default_rng(0)) if masked else None
    out, *final = layer(x, mask=mask, initial_state=states)
    ref_out, ref_final = step_loop(kind, x, states, layer.get_weights(), mask,
                                   zero_output_for_mask)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-14)
    for s, r in zip(final, ref_final, strict=True):
        np.testing.assert_allclose(s, r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("masked", [False, True])
def test_go_backwards_equals_reading_the_reversed_sequence(kind, masked):
    B, T, F, H = 3, 5, 2, 3
    kw = dict(return_sequences=True, return_state=True)
    backwards = randomize(make_layer(kind, H, go_backwards=True, **kw), F)
    forwards = make_layer(kind, H, **kw)
    forwards.set_weights(backwards.get_weights())
    x = random_inputs(B, T, F, 1)
    mask = padded_mask(B, T, np.random.default_rng(1)) if masked else None
    got = backwards(x, mask=mask)
    want = forwards(x[:, ::-1], mask=None if mask is None else mask[:, ::-1])
    for g, w in zip(got, want, strict=True):   # the sequence comes back in processing order
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("padding", ["post", "pre"])
def test_padded_sample_ends_in_the_state_of_its_truncated_sequence(kind, padding):
    """Masked steps keep the state: padding (either side) does not change the final state,
    and the last output is the last valid step's."""
    B, T, F, H, n = 2, 6, 3, 3, 4
    layer = randomize(make_layer(kind, H, return_state=True), F)
    x = random_inputs(B, T, F, 2)
    mask = np.zeros((B, T), bool)
    valid = slice(0, n) if padding == "post" else slice(T - n, T)
    mask[:, valid] = True
    padded = layer(x, mask=mask)
    truncated = layer(x[:, valid])
    for p, t in zip(padded, truncated, strict=True):
        np.testing.assert_allclose(p, t, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
def test_masked_outputs_repeat_the_previous_output_or_are_zero(kind):
    B, T, F, H = 3, 5, 2, 3
    x = random_inputs(B, T, F, 3)
    mask = padded_mask(B, T, np.random.default_rng(3))
    mask[1] = [False, True, False, False, True]
    repeat = randomize(make_layer(kind, H, return_sequences=True), F)
    zero = make_layer(kind, H, return_sequences=True, zero_output_for_mask=True)
    zero.set_weights(repeat.get_weights())
    y_repeat, y_zero = repeat(x, mask=mask), zero(x, mask=mask)
    np.testing.assert_array_equal(y_zero[~mask], 0)
    np.testing.assert_array_equal(y_zero[mask], y_repeat[mask])
    for b, t in zip(*np.nonzero(~mask), strict=True):
        previous = y_repeat[b, t - 1] if t > 0 else np.zeros(H)
        np.testing.assert_array_equal(y_repeat[b, t], previous)


@pytest.mark.parametrize("kind", KINDS)
def test_all_true_mask_equals_no_mask(kind):
    layer = randomize(make_layer(kind, 3, return_sequences=True, return_state=True), 2)
    x = random_inputs(2, 4, 2, 4)
    for a, b in zip(layer(x), layer(x, mask=np.ones((2, 4), bool)), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", KINDS)
def test_samples_are_independent(kind):
    """Each row of the batch is computed from its own sample only."""
    B, T, F, H = 4, 3, 2, 3
    layer = randomize(make_layer(kind, H, return_sequences=True, return_state=True), F)
    x, states = random_inputs(B, T, F, 5), random_states(kind, B, H, 5)
    mask = padded_mask(B, T, np.random.default_rng(5))
    batch = layer(x, mask=mask, initial_state=states)
    for b in range(B):
        alone = layer(x[b:b + 1], mask=mask[b:b + 1], initial_state=[s[b:b + 1] for s in states])
        for got, want in zip(alone, batch, strict=True):
            np.testing.assert_allclose(got[0], want[b], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
def test_last_output_and_returned_state(kind):
    """return_sequences=False gives the sequence's last output; without a mask the
    returned h is that output too."""
    B, T, F, H = 2, 4, 3, 3
    seq = randomize(make_layer(kind, H, return_sequences=True, return_state=True), F)
    last = make_layer(kind, H, return_state=True)
    last.set_weights(seq.get_weights())
    x = random_inputs(B, T, F, 6)
    y_seq, h, *_ = seq(x)
    y_last, h_last, *_ = last(x)
    np.testing.assert_array_equal(y_last, y_seq[:, -1])
    np.testing.assert_array_equal(h, y_seq[:, -1])
    np.testing.assert_array_equal(h_last, h)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("split", [1, 3])
def test_stateful_calls_continue_the_sequence(kind, split):
    """A stateful layer fed x in two pieces gives the outputs and final states of one
    call on the whole of x; reset_states() starts over from zeros."""
    B, T, F, H = 2, 5, 2, 3
    whole = randomize(make_layer(kind, H, return_sequences=True, return_state=True), F)
    pieces = make_layer(kind, H, return_sequences=True, return_state=True, stateful=True)
    pieces.set_weights(whole.get_weights())
    x = random_inputs(B, T, F, 7)
    y, *states = whole(x)
    y1, *_ = pieces(x[:, :split])
    y2, *states2 = pieces(x[:, split:])
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), y, rtol=1e-13, atol=1e-15)
    for a, b in zip(states2, states, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    pieces.reset_states()
    np.testing.assert_array_equal(pieces(x[:, :split])[0], y1)


@pytest.mark.parametrize("kind", KINDS)
def test_initial_state_continues_a_sequence(kind):
    """Calling on the second half with the first half's final states as initial_state
    equals the second half of one call on the whole."""
    B, T, F, H = 2, 6, 2, 3
    layer = randomize(make_layer(kind, H, return_sequences=True, return_state=True), F)
    x = random_inputs(B, T, F, 8)
    y, *_ = layer(x)
    _, *middle = layer(x[:, :2])
    y2, *_ = layer(x[:, 2:], initial_state=middle)
    np.testing.assert_allclose(y2, y[:, 2:], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_layer_agrees_with_float64(kind):
    layer64 = randomize(make_layer(kind, 4, return_sequences=True), 3)
    layer32 = make_layer(kind, 4, return_sequences=True, dtype="float32")
    layer32.set_weights(layer64.get_weights())
    x = random_inputs(3, 5, 3, 9)
    y32, y64 = layer32(x), layer64(x)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-6)


# --- Bidirectional ---------------------------------------------------------------------

def bidirectional_pair(kind, H, F, **kwargs):
    """A Bidirectional layer with random weights, and the two plain layers equal to its halves."""
    bidi = layers.Bidirectional(make_layer(kind, H, **kwargs), merge_mode=None)
    bidi.build((None, None, F))
    rng = np.random.default_rng(11)
    bidi.set_weights([rng.uniform(-0.6, 0.6, w.shape) for w in bidi.get_weights()])
    n = len(bidi.get_weights()) // 2
    zero = kwargs.get("return_sequences", False)
    fwd = make_layer(kind, H, zero_output_for_mask=zero, **kwargs)
    bwd = make_layer(kind, H, go_backwards=True, zero_output_for_mask=zero, **kwargs)
    fwd.set_weights(bidi.get_weights()[:n])
    bwd.set_weights(bidi.get_weights()[n:])
    return bidi, fwd, bwd


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_halves_equal_two_layers_run_separately(kind, return_sequences):
    B, T, F, H = 3, 5, 2, 3
    bidi, fwd, bwd = bidirectional_pair(kind, H, F, return_sequences=return_sequences,
                                        return_state=True)
    x = random_inputs(B, T, F, 12)
    mask = padded_mask(B, T, np.random.default_rng(12))
    y_f, y_b, *states = bidi(x, mask=mask)
    want_f, *states_f = fwd(x, mask=mask)
    want_b, *states_b = bwd(x, mask=mask)
    if return_sequences:
        want_b = want_b[:, ::-1]                  # flipped back into time order
        np.testing.assert_array_equal(y_f[~mask], 0)   # Bidirectional zeroes masked steps
        np.testing.assert_array_equal(y_b[~mask], 0)
    np.testing.assert_allclose(y_f, want_f, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(y_b, want_b, rtol=1e-13, atol=1e-15)
    for got, want in zip(states, states_f + states_b, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("merge_mode, merge", [
    ("concat", lambda a, b: np.concatenate([a, b], axis=-1)),
    ("sum", lambda a, b: a + b),
    ("mul", lambda a, b: a * b),
    ("ave", lambda a, b: (a + b) / 2),
])
def test_bidirectional_merge_modes_combine_the_unmerged_halves(merge_mode, merge):
    bidi, _, _ = bidirectional_pair("LSTM", 3, 2, return_sequences=True)
    x = random_inputs(2, 4, 2, 13)
    y_f, y_b = bidi(x)
    merged = layers.Bidirectional(make_layer("LSTM", 3, return_sequences=True),
                                  merge_mode=merge_mode)
    merged.set_weights(bidi.get_weights())
    np.testing.assert_allclose(merged(x), merge(y_f, y_b), rtol=1e-14)


def test_bidirectional_weights_are_forward_then_backward():
    bidi = layers.Bidirectional(make_layer("GRU", 3))
    bidi.build((2, 4, 5))
    weights = bidi.get_weights()
    assert [w.shape for w in weights] == [(5, 9), (3, 9), (2, 9)] * 2
    assert bidi.count_params() == 2 * (45 + 27 + 18)
    assert bidi.backward_layer.go_backwards and not bidi.forward_layer.go_backwards


# --- dropout ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dropout, recurrent_dropout", [(0.3, 0.0), (0.0, 0.4), (0.3, 0.4)])
def test_dropout_mask_shapes_and_values(kind, dropout, recurrent_dropout):
    """(G, B, F) and (G, B, H); G = the number of gates for LSTM/GRU once
    recurrent_dropout > 0 (Keras's per-gate masks), else 1; values 0 or 1/(1 - rate)."""
    B, F, H = 5, 3, 4
    layer = make_layer(kind, H, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=1,
                       dtype="float32")
    layer(random_inputs(B, 2, F, 0), training=True)
    G = N_GATES[kind] if (recurrent_dropout > 0 and kind != "SimpleRNN") else 1
    for mask, rate, shape in [(layer.dropout_mask, dropout, (G, B, F)),
                              (layer.recurrent_dropout_mask, recurrent_dropout, (G, B, H))]:
        if rate == 0:
            assert mask is None
            continue
        assert mask.shape == shape and mask.dtype == np.float32
        assert set(np.unique(mask)) <= {0.0, np.float32(1 / (1 - rate))}


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_rate_matches_within_a_binomial_bound(kind, rate):
    B, F, H = 2000, 4, 3
    layer = make_layer(kind, H, dropout=rate, recurrent_dropout=rate, seed=2)
    layer(random_inputs(B, 1, F, 0), training=True)
    for mask in (layer.dropout_mask, layer.recurrent_dropout_mask):
        n = mask.size
        dropped = np.mean(mask == 0)
        assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / n), (dropped, rate)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_per_gate_masks_differ_and_each_call_draws_new_ones(kind):
    layer = make_layer(kind, 4, dropout=0.5, recurrent_dropout=0.5, seed=3)
    x = random_inputs(8, 2, 5, 0)
    layer(x, training=True)
    first = layer.dropout_mask.copy(), layer.recurrent_dropout_mask.copy()
    for mask in first:
        assert all(not np.array_equal(mask[0], mask[g]) for g in range(1, len(mask)))
    layer(x, training=True)
    assert not np.array_equal(layer.dropout_mask, first[0])
    assert not np.array_equal(layer.recurrent_dropout_mask, first[1])


@pytest.mark.parametrize("kind", KINDS)
def test_input_dropout_equals_running_on_the_masked_input(kind):
    """With one shared mask (no recurrent dropout), dropout is x * m with the same m at
    every step: the output equals a dropout-free call on x * m."""
    B, T, F, H = 4, 5, 3, 3
    dropped = randomize(make_layer(kind, H, dropout=0.4, return_sequences=True, seed=4), F)
    plain = make_layer(kind, H, return_sequences=True)
    plain.set_weights(dropped.get_weights())
    x = random_inputs(B, T, F, 4)
    y = dropped(x, training=True)
    (m,) = dropped.dropout_mask
    np.testing.assert_allclose(y, plain(x * m[:, None, :]), rtol=1e-13, atol=1e-15)


def test_recurrent_dropout_uses_one_mask_at_every_step():
    """SimpleRNN with recurrent dropout: h_t = tanh(x_t W + (h_{t-1} ⊙ m) U + b), the
    same m at every step."""
    B, T, F, H = 4, 5, 3, 3
    layer = randomize(make_layer("SimpleRNN", H, recurrent_dropout=0.5,
                                 return_sequences=True, seed=5), F)
    x = random_inputs(B, T, F, 5)
    y = layer(x, training=True)
    (m,) = layer.recurrent_dropout_mask
    W, U, b = layer.get_weights()
    h = np.zeros((B, H))
    for t in range(T):
        h = np.tanh(x[:, t] @ W + (h * m) @ U + b)
        np.testing.assert_allclose(y[:, t], h, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "GRU_reset_before"])
def test_per_gate_dropout_reuses_the_masks_at_every_step(kind):
    """Per-gate masks: gate g sees x_t ⊙ m_g and h_{t-1} ⊙ r_g at every step; the
    reference feeds a step loop the input projection built gate by gate."""
    B, T, F, H = 3, 4, 3, 2
    G = N_GATES[kind]
    layer = randomize(make_layer(kind, H, dropout=0.3, recurrent_dropout=0.3,
                                 return_sequences=True, seed=6), F)
    x = random_inputs(B, T, F, 6)
    y = layer(x, training=True)
    m, r = layer.dropout_mask, layer.recurrent_dropout_mask
    W, U, bias = layer.get_weights()
    b_in, b_rec = (bias[0], bias[1]) if kind == "GRU" else (bias, None)
    h, c = np.zeros((B, H)), np.zeros((B, H))
    for t in range(T):
        zx = np.concatenate([(x[:, t] * m[g]) @ W[:, g * H:(g + 1) * H] for g in range(G)],
                            axis=1) + b_in
        if kind == "LSTM":
            h, c, _ = ops.lstm_step_forward(zx, h, c, U, r, act.TANH, act.SIGMOID)
        else:
            h, _ = ops.gru_step_forward(zx, h, U, b_rec, r, kind == "GRU", act.TANH,
                                        act.SIGMOID)
        np.testing.assert_allclose(y[:, t], h, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
def test_no_dropout_when_not_training(kind):
    dropped = randomize(make_layer(kind, 3, dropout=0.5, recurrent_dropout=0.5), 2)
    plain = make_layer(kind, 3)
    plain.set_weights(dropped.get_weights())
    x = random_inputs(3, 4, 2, 7)
    np.testing.assert_array_equal(dropped(x), plain(x))
    assert dropped.dropout_mask is None and dropped.recurrent_dropout_mask is None


def test_seeded_layers_draw_the_same_dropout_masks():
    a, b = (make_layer("LSTM", 3, dropout=0.5, recurrent_dropout=0.5, seed=9) for _ in "ab")
    x = random_inputs(4, 3, 2, 0)
    np.testing.assert_array_equal(a(x, training=True), b(x, training=True))
    np.testing.assert_array_equal(a.dropout_mask, b.dropout_mask)


# --- initialisers, weights, dtypes ---------------------------------------------------------

@pytest.mark.parametrize("name, limit", [
    ("glorot_uniform", lambda i, o: np.sqrt(6 / (i + o))),
    ("he_uniform", lambda i, o: np.sqrt(6 / i)),
    ("lecun_uniform", lambda i, o: np.sqrt(3 / i)),
    ("random_uniform", lambda i, o: 0.05),
])
def test_uniform_initializers_fill_their_bounds(name, limit):
    """U(-l, l): within the bound, reaching close to it, with variance l²/3."""
    fan_in, fan_out = 40, 60
    w = initializers.get(name, "kernel_initializer")((fan_in, fan_out),
                                                     np.random.default_rng(0))
    lim = limit(fan_in, fan_out)
    assert np.abs(w).max() <= lim
    assert np.abs(w).max() > 0.99 * lim
    assert np.var(w) == pytest.approx(lim**2 / 3, rel=0.05)


@pytest.mark.parametrize("name, std", [
    ("glorot_normal", lambda i, o: np.sqrt(2 / (i + o))),
    ("he_normal", lambda i, o: np.sqrt(2 / i)),
])
def test_truncated_normal_initializers(name, std):
    """Keras's truncated normal: cut at 2 s where s = std / 0.8796, so the final
    standard deviation is ``std``."""
    fan_in, fan_out = 100, 150
    w = initializers.get(name, "kernel_initializer")((fan_in, fan_out),
                                                     np.random.default_rng(0))
    s = std(fan_in, fan_out) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * s
    assert np.std(w) == pytest.approx(std(fan_in, fan_out), rel=0.03)


@pytest.mark.parametrize("shape", [(4, 4), (3, 12), (12, 3), (5, 15)])
def test_orthogonal_initializer_gives_orthonormal_rows_or_columns(shape):
    q = initializers.orthogonal(shape, np.random.default_rng(0))
    assert q.shape == shape
    small = min(shape)
    gram = q @ q.T if shape[0] <= shape[1] else q.T @ q
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_default_initialization(kind):
    """Kernel glorot_uniform over (F, gH); recurrent kernel orthogonal (H, gH) with
    orthonormal rows; bias zeros, except LSTM's forget block (unit_forget_bias)."""
    F, H = 7, 5
    layer = make_layer(kind, H, seed=0)
    layer.build((2, 3, F))
    kernel, recurrent, bias = layer.get_weights()
    gH = N_GATES[kind] * H
    assert np.abs(kernel).max() <= np.sqrt(6 / (F + gH))
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(H), atol=1e-12)
    expected_bias = np.zeros(bias.shape)
    if kind == "LSTM":
        expected_bias[H:2 * H] = 1.0
    np.testing.assert_array_equal(bias, expected_bias)


def test_unit_forget_bias_sets_only_the_forget_block():
    H = 3
    ones = make_layer("LSTM", H, bias_initializer="ones", unit_forget_bias=False)
    ones.build((1, 1, 2))
    np.testing.assert_array_equal(ones.get_weights()[2], np.ones(4 * H))
    forget = make_layer("LSTM", H, bias_initializer="random_uniform", seed=1)
    forget.build((1, 1, 2))
    bias = forget.get_weights()[2]
    np.testing.assert_array_equal(bias[H:2 * H], 1.0)
    assert np.all(np.abs(np.delete(bias, np.s_[H:2 * H])) <= 0.05)
    assert np.all(np.delete(bias, np.s_[H:2 * H]) != 0)


def test_callable_initializer_is_called_with_shape_and_generator():
    calls = []

    def init(shape, rng):
        calls.append((shape, type(rng)))
        return np.full(shape, 0.25)

    layer = make_layer("GRU", 2, kernel_initializer=init)
    layer.build((1, 1, 3))
    assert calls == [((3, 6), np.random.Generator)]
    np.testing.assert_array_equal(layer.get_weights()[0], 0.25)


@pytest.mark.parametrize("kind", KINDS)
def test_seeded_layers_are_reproducible(kind):
    def weights(seed):
        layer = make_layer(kind, 3, seed=seed)
        layer.build((2, 4, 5))
        return layer.get_weights()

    for a, b in zip(weights(42), weights(42), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(weights(42)[0], weights(43)[0])


@pytest.mark.parametrize("kind, shapes", [
    ("SimpleRNN", [(5, 3), (3, 3), (3,)]),
    ("LSTM", [(5, 12), (3, 12), (12,)]),
    ("GRU", [(5, 9), (3, 9), (2, 9)]),
    ("GRU_reset_before", [(5, 9), (3, 9), (9,)]),
])
def test_weights_have_keras_order_names_and_shapes(kind, shapes):
    layer = make_layer(kind, 3)
    layer.build((2, 4, 5))
    assert layer.weight_names == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in layer.get_weights()] == shapes
    assert layer.count_params() == sum(np.prod(s) for s in shapes)
    no_bias = make_layer(kind, 3, use_bias=False)
    no_bias.build((2, 4, 5))
    assert [w.shape for w in no_bias.get_weights()] == shapes[:2]


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_align_with_weights(kind):
    layer = randomize(make_layer(kind, 3, return_state=True), 4)
    outs = layer(random_inputs(2, 3, 4, 0))
    layer.backward([np.ones_like(o) for o in outs])
    assert [g.shape for g in layer.get_gradients()] == [w.shape for w in layer.get_weights()]


def test_set_weights_builds_an_unbuilt_layer_and_get_weights_returns_copies():
    layer = make_layer("LSTM", 2)
    weights = [np.full((3, 8), 0.1), np.full((2, 8), 0.2), np.full(8, 0.3)]
    layer.set_weights(weights)
    assert layer.built and layer.input_dim == 3
    got = layer.get_weights()
    got[0][:] = 9.0
    np.testing.assert_array_equal(layer.get_weights()[0], 0.1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_set_weights_copies_the_given_arrays(dtype):
    """As in Keras, set_weights copies values: changing the caller's arrays afterwards
    (or setting the same list on two layers and updating one) must not change the layer.
    (Fails at the time of writing: arrays already of the layer's dtype are kept by
    reference; see the test report.)"""
    layer = make_layer("SimpleRNN", 2, dtype=dtype)
    weights = [np.full((3, 2), 0.1, dtype), np.full((2, 2), 0.2, dtype), np.zeros(2, dtype)]
    layer.set_weights(weights)
    weights[0][:] = 9.0
    np.testing.assert_array_equal(layer.get_weights()[0], np.full((3, 2), 0.1, dtype))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_outputs_states_and_gradients_keep_the_layer_dtype(kind, dtype):
    layer = make_layer(kind, 3, dtype=dtype, return_sequences=True, return_state=True, seed=0)
    x = random_inputs(2, 3, 4, 0).astype(np.float64 if dtype == "float32" else np.float32)
    states = [s.astype(np.float16) for s in random_states(kind, 2, 3, 0)]
    outs = layer(x, initial_state=states)
    assert all(o.dtype == dtype for o in outs)
    assert all(w.dtype == dtype for w in layer.get_weights())
    dx, d_states = layer.backward([np.ones(o.shape, np.float64) for o in outs])
    assert dx.dtype == dtype and all(d.dtype == dtype for d in d_states)
    assert all(g.dtype == dtype for g in layer.get_gradients())


def test_config_round_trip():
    layer = make_layer("GRU", 4, reset_after=False, go_backwards=True, dropout=0.2, seed=3)
    clone = layers.GRU.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


# --- issue 16, class 6: errors that say what is wrong -------------------------------------------

@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("kind", KINDS)
def test_initial_state_as_a_generator_is_refused_by_name(kind, backend):
    layer = make_layer(kind, 3, backend=backend, seed=0)
    x = random_inputs(2, 4, 5, 0)
    states = random_states(kind, 2, 3, 0)
    with pytest.raises(TypeError, match=r"`initial_state` must be a list .* got a generator"):
        layer(x, initial_state=(s for s in states))
    with pytest.raises(TypeError, match=r"`initial_state` must be a list .* got a dict"):
        layer(x, initial_state={"h": states[0]})
    np.testing.assert_array_equal(layer(x, initial_state=list(states)),
                                  layer(x, initial_state=tuple(states)))


def test_generic_rnn_refuses_a_generator_initial_state():
    layer = layers.RNN(layers.LSTMCell(3, dtype="float64"))
    x = random_inputs(2, 4, 5, 0)
    with pytest.raises(TypeError, match=r"`initial_state` must be a list .* got a generator"):
        layer(x, initial_state=(np.zeros((2, 3)) for _ in range(2)))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("kind", KINDS)
def test_reset_states_lets_a_stateful_layer_take_a_new_batch_size(kind, backend):
    """The refusal's message says reset_states() allows a new batch size: it does, and the
    call then starts from zeros, as a fresh layer does."""
    layer = make_layer(kind, 3, backend=backend, stateful=True, seed=0)
    fresh = make_layer(kind, 3, backend=backend, stateful=True, seed=0)
    layer(random_inputs(2, 4, 5, 0))
    x3 = random_inputs(3, 4, 5, 1)
    with pytest.raises(ValueError, match=r"batch size 2.*got batch size 3.*reset_states\(\)"):
        layer(x3)
    layer.reset_states()
    assert all(not s.any() and s.shape[0] == 2 for s in layer.states)   # zeros until the call
    np.testing.assert_array_equal(layer(x3), fresh(x3))
    assert layer.states[0].shape == (3, 3)
    with pytest.raises(ValueError, match="batch size 3"):     # carried again: kept
        layer(random_inputs(2, 4, 5, 2))
    layer.reset_states([np.zeros((2, 3))] * N_STATES[kind])    # explicit states: their batch
    with pytest.raises(ValueError, match="batch size 2"):
        layer(x3)
    with pytest.raises(TypeError, match=r"`states` must be a list .* got a generator"):
        layer.reset_states(np.zeros((2, 3)) for _ in range(N_STATES[kind]))
