"""The cells of :mod:`scratchrnn.layers.cells` and their time loop.

(a) each cell's one-step backward against central finite differences (float64), with a
    negative control; (b) ``rnn_cell_forward/backward`` equal to the fused sequence ops of
    :mod:`scratchrnn.ops` (float64, 1e-12) for every cell, and ``StackedRNNCells`` equal
    to the fused ops composed; (c) Keras's own golden numbers for cells and stacks
    (``keras/src/layers/rnn/{lstm,gru,simple_rnn,rnn,stacked_rnn_cells}_test.py``),
    reproduced without TensorFlow; (d) bad input; and Keras's cell API (state sizes,
    state structures, dropout masks, configs).
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scratchrnn.layers.cells import (
    GRUCell,
    LSTMCell,
    SimpleRNNCell,
    StackedRNNCells,
    rnn_cell_backward,
    rnn_cell_forward,
)
from scratchrnn.ops import activations as act

from . import cells as cases
from .gradcheck import assert_gradients_match, gradient_errors, weighted_sum

CLASSES = {"simple_rnn": SimpleRNNCell, "lstm": LSTMCell, "gru": GRUCell}
ACTIVATIONS = sorted(act.ACTIVATIONS)


def flat(structure):
    if isinstance(structure, (list, tuple)):
        return [a for item in structure for a in flat(item)]
    return [structure]


def random_cell(kind, units, input_dim, rng, dtype="float64", **kwargs):
    """A built cell with random weights (the bias too)."""
    cell = CLASSES[kind](units, dtype=dtype, **kwargs)
    cell.build((1, input_dim))
    cell.set_weights([rng.uniform(-0.8, 0.8, w.shape) for w in cell.weights])
    return cell


def assert_close(ours, theirs, tol=1e-12):
    for a, b in zip(flat(ours), flat(theirs), strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# --- (a) one step against finite differences ------------------------------------------------

@st.composite
def step_problems(draw, kind):
    return dict(
        kind=kind, batch=draw(st.integers(1, 3)), input_dim=draw(st.integers(1, 3)),
        units=draw(st.integers(1, 3)), activation=draw(st.sampled_from(ACTIVATIONS)),
        recurrent_activation=draw(st.sampled_from(ACTIVATIONS)),
        use_bias=draw(st.booleans()), dropout=draw(st.sampled_from([0.0, 0.3])),
        recurrent_dropout=draw(st.sampled_from([0.0, 0.3])), training=draw(st.booleans()),
        reset_after=draw(st.booleans()), bare=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)))


def step_setup(p):
    """A cell, its float64 arrays by name, and the loss and analytic gradients of
    ``sum(out * G) + Σ sum(state * G_state)`` for one step."""
    rng = np.random.default_rng(p["seed"])
    kwargs = dict(activation=p["activation"], use_bias=p["use_bias"], dropout=p["dropout"],
                  recurrent_dropout=p["recurrent_dropout"], seed=p["seed"])
    if p["kind"] != "simple_rnn":
        kwargs["recurrent_activation"] = p["recurrent_activation"]
    if p["kind"] == "gru":
        kwargs["reset_after"] = p["reset_after"]
    cell = random_cell(p["kind"], p["units"], p["input_dim"], rng, **kwargs)
    B, H = p["batch"], p["units"]
    names = ["h", "c"] if p["kind"] == "lstm" else ["h"]
    params = {"x": rng.normal(size=(B, p["input_dim"]))}
    params.update({n: rng.normal(scale=0.5, size=(B, H)) for n in names})
    params.update(zip(cell.weight_names, cell.weights))       # perturbed in place
    upstream = [rng.normal(size=(B, H)) for _ in range(1 + len(names))]
    bare = p["bare"] and len(names) == 1

    def states():
        return params["h"] if bare else [params[n] for n in names]

    def run():
        out, new = cell(params["x"], states(), training=p["training"])
        return [out, *flat(new)]

    def loss():
        outputs = run()
        cell._pop_tape()                 # one call, no backward: drop its tape
        return weighted_sum(outputs, upstream)

    def analytic(with_state_gradients=True):
        run()
        d_states = (upstream[1] if bare else upstream[1:]) if with_state_gradients else None
        dx, d_prev = cell.backward(upstream[0], d_states)
        grads = {"x": dx, **dict(zip(names, flat(d_prev)))}
        grads.update(zip(cell.weight_names, cell.get_gradients()))
        return grads

    return cell, params, loss, analytic, run


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_step_backward_matches_finite_differences(kind):
    @settings(max_examples=cases.examples(20))
    @given(step_problems(kind))
    def check(p):
        cell, params, loss, analytic, run = step_setup(p)
        run()                                         # draws the dropout masks once
        cell._pop_tape()
        assume(cases.min_kink_distance(run) > 1e-4)
        cell._pop_tape()
        assert_gradients_match(loss, params, analytic())
    check()


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_gradient_check_catches_a_wrong_gradient(kind):
    """Negative control: dropping the gradient that reaches the new state (which is the
    output h itself) must fail the check."""
    p = dict(kind=kind, batch=2, input_dim=2, units=3, activation="tanh",
             recurrent_activation="sigmoid", use_bias=True, dropout=0.0,
             recurrent_dropout=0.0, training=False, reset_after=True, bare=False, seed=3)
    _, params, loss, analytic, _ = step_setup(p)
    errors = gradient_errors(loss, params, analytic(with_state_gradients=False))
    assert max(errors.values()) > 1e-2
    with pytest.raises(AssertionError, match="differ from finite differences"):
        assert_gradients_match(loss, params, analytic(with_state_gradients=False))


# --- (b) the loop equals the fused sequence ops ---------------------------------------------

def cell_for(o):
    """The cell matching :class:`tests.cells.Options` ``o``, with the problem's weights."""
    kwargs = dict(activation=act.NAMES[o.activation], use_bias=o.use_bias,
                  dropout=cases.DROP_RATE if o.dropout_gates else 0.0,
                  recurrent_dropout=cases.DROP_RATE if o.recurrent_dropout_gates else 0.0,
                  seed=o.seed, dtype="float64")
    if o.cell != "simple_rnn":
        kwargs["recurrent_activation"] = act.NAMES[o.recurrent_activation]
    if o.cell == "gru":
        kwargs["reset_after"] = o.reset_after
    return CLASSES[o.cell](o.units, **kwargs)


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_loop_equals_fused_ops(kind):
    """Outputs, final states, dx, initial-state and weight gradients of the cell run by
    ``rnn_cell_forward/backward`` equal the fused op's, given the cell's dropout masks."""
    @settings(max_examples=cases.examples(25))
    @given(cases.options(kind))
    def check(o):
        problem = cases.Problem(o)
        p = problem.params
        with np.errstate(over="ignore", invalid="ignore"):
            outs, _ = cases.forward(o, p, problem.mask)
        assume(all(np.isfinite(a).all() for a in outs))     # exp(exp(.)) can overflow
        cell = cell_for(o)
        cell.build((o.batch, o.input_dim))
        cell.set_weights([p[n] for n in cell.weight_names])
        states = [p[n] for n in cases.STATES[kind]]
        training = bool(o.dropout_gates or o.recurrent_dropout_gates)
        outputs, final, tape = rnn_cell_forward(
            cell, p["x"], states, problem.mask, go_backwards=o.go_backwards,
            zero_output_for_mask=o.zero_output_for_mask, training=training)
        dx, d_initial, grads = rnn_cell_backward(cell, problem.upstream[0],
                                                 problem.upstream[1:], tape)

        theirs, cache = cases.forward(o, p, problem.mask, cell.dropout_mask,
                                      cell.recurrent_dropout_mask)
        assert_close([outputs, *final], list(theirs))
        expected = cases.backward(o, p, cache, problem.upstream)
        assert_close(dx, expected["x"])
        assert_close(d_initial, [expected[n] for n in cases.STATES[kind]])
        assert_close(grads, [expected[n] for n in cell.weight_names])
        assert_close(cell.get_gradients(), grads, 0)
    check()


def test_dropout_masks_are_keras_shaped_and_reset_per_sequence():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 2))
    for cls, gates in ((LSTMCell, 4), (GRUCell, 3), (SimpleRNNCell, 1)):
        cell = cls(5, dropout=0.5, recurrent_dropout=0.5, seed=1)
        rnn_cell_forward(cell, x, training=True)
        first = cell.dropout_mask, cell.recurrent_dropout_mask
        assert first[0].shape == (gates, 4, 2) and first[1].shape == (gates, 4, 5)
        assert set(np.unique(first[0])) <= {0.0, 2.0}
        rnn_cell_forward(cell, x, training=True)      # a new sequence draws new masks
        assert not np.array_equal(first[1], cell.recurrent_dropout_mask)
        rnn_cell_forward(cell, x, training=False)
        assert cell.dropout_mask is None and cell.recurrent_dropout_mask is None
    only_input = LSTMCell(3, dropout=0.5, seed=0)     # no recurrent dropout: one shared mask
    only_input(x[:, 0], only_input.get_initial_state(4), training=True)
    assert only_input.dropout_mask.shape == (1, 4, 2)
    assert only_input.recurrent_dropout_mask is None


def test_cell_reuses_its_mask_until_reset():
    cell = GRUCell(3, dropout=0.4, seed=0)
    x, h = np.ones((5, 2)), np.zeros((5, 3))
    cell(x, h, training=True)
    mask = cell.dropout_mask
    cell(x, h, training=True)
    assert cell.dropout_mask is mask
    cell.reset_dropout_mask()
    cell(x, h, training=True)
    assert cell.dropout_mask is not mask
    with pytest.raises(ValueError, match="reset_dropout_mask"):
        cell(np.ones((2, 2)), np.zeros((2, 3)), training=True)


# --- StackedRNNCells ---------------------------------------------------------------------------

def stacked_problem(seed=0, go_backwards=True):
    rng = np.random.default_rng(seed)
    B, T, F = 3, 4, 2
    lstm = random_cell("lstm", 3, F, rng, dropout=0.3, recurrent_dropout=0.3, seed=1)
    gru = random_cell("gru", 2, 3, rng, dropout=0.3, seed=2)
    stack = StackedRNNCells([lstm, gru])
    x = rng.normal(size=(B, T, F))
    states = [[rng.normal(size=(B, 3)), rng.normal(size=(B, 3))], rng.normal(size=(B, 2))]
    mask = cases.random_mask(rng, B, T)
    upstream = [rng.normal(size=(B, T, 2)), [rng.normal(size=(B, 3)), rng.normal(size=(B, 3))],
                rng.normal(size=(B, 2))]
    return stack, x, states, mask, upstream


def test_stacked_cells_equal_the_fused_ops_composed():
    """An LSTM + GRU stack over a masked, reversed sequence with dropout equals
    lstm_forward followed by gru_forward on its outputs (each cell's masks)."""
    from scratchrnn import ops
    stack, x, states, mask, up = stacked_problem()
    lstm, gru = stack.cells
    out, final, tape = rnn_cell_forward(stack, x, states, mask, go_backwards=True,
                                        training=True)
    dx, d_initial, grads = rnn_cell_backward(stack, up[0], up[1:], tape)
    assert [type(s) for s in final] == [list, np.ndarray]        # the structure given

    (seq1, h1, c1), cache1 = ops.lstm_forward(
        x, *states[0], *lstm.weights, mask=mask, go_backwards=True,
        dropout_mask=lstm.dropout_mask, recurrent_dropout_mask=lstm.recurrent_dropout_mask)
    (seq2, h2), cache2 = ops.gru_forward(                    # seq1 is in processing order
        seq1, states[1], *gru.weights, mask=mask[:, ::-1], dropout_mask=gru.dropout_mask)
    assert gru.recurrent_dropout_mask is None and gru.dropout_mask.shape[0] == 1
    assert_close([out, final], [seq2, [[h1, c1], h2]])
    dseq1, dh2, *g2 = ops.gru_backward(up[0], up[2], cache2, gru.kernel, gru.recurrent_kernel)
    dx1, dh1, dc1, *g1 = ops.lstm_backward(dseq1, *up[1], cache1, lstm.kernel,
                                           lstm.recurrent_kernel)
    assert_close([dx, d_initial, grads], [dx1, [[dh1, dc1], dh2], g1 + g2])
    assert_close(stack.get_gradients(), grads, 0)


def test_stacked_sequence_matches_finite_differences():
    stack, x, states, mask, up = stacked_problem(seed=5)
    for cell in stack.cells:
        cell.dropout = cell.recurrent_dropout = 0.0
    params = {"x": x, "h1": states[0][0], "c1": states[0][1], "h2": states[1]}
    params.update({f"w{i}": w for i, w in enumerate(stack.weights)})

    def outputs():
        out, final, _ = rnn_cell_forward(stack, x, states, mask, go_backwards=True)
        return [out, *flat(final)]

    def analytic():
        _, _, tape = rnn_cell_forward(stack, x, states, mask, go_backwards=True)
        dx, d_init, grads = rnn_cell_backward(stack, up[0], up[1:], tape)
        return {"x": dx, **dict(zip(["h1", "c1", "h2"], flat(d_init))),
                **{f"w{i}": g for i, g in enumerate(grads)}}

    assert_gradients_match(lambda: weighted_sum(outputs(), flat(up)), params, analytic())


def test_stacked_cells_follow_keras_structures():
    lstm, gru = LSTMCell(4), GRUCell(2)
    stack = StackedRNNCells([lstm, gru])
    assert stack.state_size == [[4, 4], 2] and stack.output_size == 2
    initial = stack.get_initial_state(3)          # each cell's own list, as in Keras
    assert [len(s) for s in initial] == [2, 1] and initial[1][0].shape == (3, 2)
    out, new = stack(np.ones((3, 5)), initial)
    assert out.shape == (3, 2) and isinstance(new[1], list)
    _, new = stack(np.ones((3, 5)), [initial[0], initial[1][0]])      # a bare GRU state
    assert isinstance(new[1], np.ndarray)
    assert stack.weights == lstm.weights + gru.weights
    assert stack.count_params() == lstm.count_params() + gru.count_params()
    stack.set_weights([w + 1 for w in stack.get_weights()])
    assert np.array_equal(gru.bias, np.ones((2, 6)))
    single = StackedRNNCells([LSTMCell(2)])       # one cell: its states come back unwrapped
    out, new = single(np.ones((1, 3)), [single.cells[0].get_initial_state(1)])
    assert len(new) == 2 and new[0].shape == (1, 2)
    dx, d_prev = single.backward(np.ones((1, 2)), new)
    assert dx.shape == (1, 3) and len(d_prev) == 1 and len(d_prev[0]) == 2
    clone = StackedRNNCells.from_config(stack.get_config())
    assert [type(c) for c in clone.cells] == [LSTMCell, GRUCell] and clone.state_size == [[4, 4], 2]


# --- (c) Keras's golden numbers ------------------------------------------------------------------

def constant(value):
    return lambda shape, rng: np.full(shape, value)


def keras_cell(cls, units, dtype, kernel=0.01, recurrent=0.02, bias=0.03, **kwargs):
    """Keras's test cells: ``initializers.Constant`` weights."""
    return cls(units, kernel_initializer=constant(kernel),
               recurrent_initializer=constant(recurrent), bias_initializer=constant(bias),
               dtype=dtype, **kwargs)


def one_state_cell(units, dtype):
    """rnn_test.py's ``OneStateRNNCell``: a linear SimpleRNNCell, ones, no bias."""
    return SimpleRNNCell(units, activation=None, use_bias=False, kernel_initializer="ones",
                         recurrent_initializer="ones", dtype=dtype)


def arange(*shape):
    return np.arange(np.prod(shape)).reshape(shape).astype("float32")


def same(values, units):
    return np.repeat(np.asarray(values)[..., None], units, axis=-1)


MASK_LSTM = np.array([[True, True, True, False], [True, True, False, False]])
MASK_HOLES = np.array([[True, True, False, True], [True, False, False, True]])
BACK_MASK = np.array([[False, True, True, True], [False, False, True, True]])
INITIAL = arange(2, 2)

# (cell class, units, cell kwargs, x, initial state, mask, loop kwargs, expected, sequence?)
GOLDEN = {
    # lstm_test.py::test_correctness, test_pass_initial_state, test_masking (atol 1e-5)
    "lstm": (LSTMCell, 3, {}, arange(3, 6, 4), None, None, {},
             same([0.6288687, 0.86899155, 0.9460773], 3), False),
    "lstm-backwards": (LSTMCell, 3, {}, arange(3, 6, 4), None, None, {"go_backwards": True},
                       same([0.35622165, 0.74789524, 0.8872726], 3), False),
    "lstm-no-forget-bias": (LSTMCell, 3, {"unit_forget_bias": False}, arange(3, 6, 4), None,
                            None, {}, same([0.57019705, 0.8661914, 0.9459622], 3), False),
    "lstm-no-bias": (LSTMCell, 3, {"use_bias": False}, arange(3, 6, 4), None, None, {},
                     same([0.54986924, 0.86226785, 0.9443936], 3), False),
    "lstm-initial-state": (LSTMCell, 2, {}, arange(2, 4, 3), [INITIAL, INITIAL], None, {},
                           [[0.20574439, 0.3558822], [0.64930826, 0.66276]], False),
    "lstm-initial-state-backwards": (
        LSTMCell, 2, {}, arange(2, 4, 3), [INITIAL, INITIAL], None, {"go_backwards": True},
        [[0.13281618, 0.2790356], [0.5839337, 0.5992567]], False),
    "lstm-mask": (LSTMCell, 2, {}, arange(2, 4, 3), None, MASK_LSTM, {},
                  same([[0.01588910, 0.05552048, 0.11755939, 0.11755939],
                        [0.14185596, 0.28556206, 0.28556206, 0.28556206]], 2), True),
    "lstm-mask-zeros": (LSTMCell, 2, {}, arange(2, 4, 3), None, MASK_LSTM,
                        {"zero_output_for_mask": True},
                        same([[0.01588910, 0.05552048, 0.11755939, 0.0],
                              [0.14185596, 0.28556206, 0.0, 0.0]], 2), True),
    "lstm-mask-backwards": (LSTMCell, 2, {}, arange(2, 4, 3), None, BACK_MASK,
                            {"go_backwards": True}, same([0.15341201, 0.3844719], 2), False),
    # gru_test.py (assertAllClose's default 1e-6)
    "gru": (GRUCell, 3, {}, arange(3, 6, 4), None, None, {},
            same([0.5217289, 0.6371659, 0.39384964], 3), False),
    "gru-backwards": (GRUCell, 3, {}, arange(3, 6, 4), None, None, {"go_backwards": True},
                      same([0.24406259, 0.611516, 0.3928808], 3), False),
    "gru-reset-before": (GRUCell, 3, {"reset_after": False}, arange(3, 6, 4), None, None, {},
                         same([0.51447755, 0.6426879, 0.40208298], 3), False),
    "gru-no-bias": (GRUCell, 3, {"use_bias": False}, arange(3, 6, 4), None, None, {},
                    same([0.49988455, 0.64701194, 0.4103359], 3), False),
    "gru-initial-state": (GRUCell, 2, {}, arange(2, 4, 3), INITIAL, None, {},
                          [[0.23774096, 0.33508456], [0.83659905, 1.0227708]], False),
    "gru-initial-state-backwards": (
        GRUCell, 2, {}, arange(2, 4, 3), INITIAL, None, {"go_backwards": True},
        [[0.13486053, 0.23261218], [0.78257304, 0.9691353]], False),
    "gru-mask": (GRUCell, 2, {}, arange(2, 4, 3), None, MASK_HOLES, {},
                 same([[0.03606692, 0.09497581, 0.09497581, 0.19393763],
                       [0.16051409, 0.16051409, 0.16051409, 0.30818558]], 2), True),
    "gru-mask-zeros": (GRUCell, 2, {}, arange(2, 4, 3), None, MASK_HOLES,
                       {"zero_output_for_mask": True},
                       same([[0.03606692, 0.09497581, 0.0, 0.19393763],
                             [0.16051409, 0.0, 0.0, 0.30818558]], 2), True),
    "gru-mask-backwards": (GRUCell, 2, {}, arange(2, 4, 3), None, MASK_HOLES,
                           {"go_backwards": True}, same([0.11669192, 0.28380975], 2), False),
    # simple_rnn_test.py
    "simple-rnn": (SimpleRNNCell, 4, {}, arange(2, 3, 4), None, None, {},
                   same([0.405432, 0.73605347], 4), False),
    "simple-rnn-backwards": (SimpleRNNCell, 4, {}, arange(2, 3, 4), None, None,
                             {"go_backwards": True}, same([0.11144729, 0.5528889], 4), False),
    "simple-rnn-initial-state": (SimpleRNNCell, 4, {}, arange(2, 4, 3), arange(2, 4), None,
                                 {}, same([0.33621645, 0.6262637], 4), False),
    "simple-rnn-initial-state-backwards": (
        SimpleRNNCell, 4, {}, arange(2, 4, 3), arange(2, 4), None, {"go_backwards": True},
        same([0.07344437, 0.43043602], 4), False),
    "simple-rnn-mask": (SimpleRNNCell, 2, {}, arange(2, 4, 3), None, MASK_HOLES, {},
                        same([[0.0599281, 0.15122814, 0.15122814, 0.32394567],
                              [0.3969304, 0.3969304, 0.3969304, 0.608085]], 2), True),
    "simple-rnn-mask-zeros": (SimpleRNNCell, 2, {}, arange(2, 4, 3), None, MASK_HOLES,
                              {"zero_output_for_mask": True},
                              same([[0.0599281, 0.15122814, 0.0, 0.32394567],
                                    [0.3969304, 0.0, 0.0, 0.608085]], 2), True),
    "simple-rnn-mask-backwards": (SimpleRNNCell, 4, {}, arange(2, 4, 3), None, MASK_HOLES,
                                  {"go_backwards": True}, same([0.07376196, 0.43645123], 4),
                                  False),
}


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_keras_golden_values_through_cells(name, dtype):
    cls, units, kwargs, x, state, mask, loop, expected, sequence = GOLDEN[name]
    cell = keras_cell(cls, units, dtype, **kwargs)
    out, _, _ = rnn_cell_forward(cell, x, state, mask, **loop)
    tol = 1e-5 if cls is LSTMCell else 1e-6
    np.testing.assert_allclose(out if sequence else out[:, -1], expected, atol=tol, rtol=tol)


def test_keras_one_state_cell_values(dtype):
    """rnn_test.py: forward pass, initial state, go_backwards and masking of
    ``OneStateRNNCell`` (a linear SimpleRNNCell of ones)."""
    out, (h,), _ = rnn_cell_forward(one_state_cell(2, dtype), np.ones((1, 2, 3)))
    np.testing.assert_array_equal(out, [[[3, 3], [9, 9]]])
    np.testing.assert_array_equal(h, [[9, 9]])
    out, _, _ = rnn_cell_forward(one_state_cell(2, dtype), np.ones((2, 3, 2)), np.ones((2, 2)))
    np.testing.assert_array_equal(out[:, -1], [[22, 22], [22, 22]])
    out, _, _ = rnn_cell_forward(one_state_cell(2, dtype), arange(2, 3, 4), go_backwards=True)
    np.testing.assert_array_equal(out[:, -1], [[202, 202], [538, 538]])
    out, _, _ = rnn_cell_forward(one_state_cell(2, dtype), arange(2, 4, 3), mask=MASK_LSTM)
    np.testing.assert_array_equal(out, same([[3, 18, 57, 57], [39, 126, 126, 126]], 2))


def test_keras_stacked_cells_values(dtype):
    """stacked_rnn_cells_test.py: a single-state stack's sequence and states; a stacked
    LSTM under a mask; a stacked LSTM's return_state structure."""
    stack = StackedRNNCells([one_state_cell(3, dtype), one_state_cell(2, dtype)])
    out, (s1, s2), _ = rnn_cell_forward(stack, arange(2, 3, 4))
    np.testing.assert_array_equal(out, same([[18, 156, 786], [162, 1020, 4386]], 2))
    np.testing.assert_array_equal(s1[0], same([158, 782], 3))
    np.testing.assert_array_equal(s2[0], same([786, 4386], 2))

    cells = [LSTMCell(1, kernel_initializer="ones", recurrent_initializer="ones", dtype=dtype)
             for _ in range(2)]
    out, _, _ = rnn_cell_forward(StackedRNNCells(cells), np.ones((2, 3, 4)),
                                 mask=np.array([[True, True, True], [True, True, False]]))
    np.testing.assert_allclose(out[:, -1], [[0.7793], [0.5998]], atol=1e-4)

    stack = StackedRNNCells([LSTMCell(10, dtype=dtype), LSTMCell(10, dtype=dtype)])
    _, states, _ = rnn_cell_forward(stack, np.zeros((2, 3, 5)))
    assert [[s.shape for s in pair] for pair in states] == [[(2, 10)] * 2] * 2


# --- the cell API ---------------------------------------------------------------------------------

def test_cells_have_keras_weights_states_and_configs():
    lstm, gru, gru_before, simple = (LSTMCell(3), GRUCell(3), GRUCell(3, reset_after=False),
                                     SimpleRNNCell(3))
    for cell in (lstm, gru, gru_before, simple):
        cell.build((None, 2))
    assert [w.shape for w in lstm.weights] == [(2, 12), (3, 12), (12,)]
    assert [w.shape for w in gru.weights] == [(2, 9), (3, 9), (2, 9)]
    assert gru_before.bias.shape == (9,) and lstm.weight_names == ["kernel", "recurrent_kernel",
                                                                   "bias"]
    np.testing.assert_array_equal(lstm.bias, [0] * 3 + [1] * 3 + [0] * 6)  # unit_forget_bias
    assert (lstm.state_size, gru.state_size, simple.state_size) == ([3, 3], 3, 3)
    assert lstm.output_size == 3 and lstm.name == "lstm_cell" and lstm.dtype == np.float32
    simple_no_bias = SimpleRNNCell(2, use_bias=False)
    simple_no_bias.build((1, 3))
    assert simple_no_bias.count_params() == 3 * 2 + 2 * 2 and simple_no_bias.bias is None
    assert [s.shape for s in lstm.get_initial_state(5)] == [(5, 3), (5, 3)]
    for cell in (lstm, gru, simple):
        clone = type(cell).from_config(cell.get_config())
        assert clone.get_config() == cell.get_config()
    assert GRUCell.from_config(gru_before.get_config()).reset_after is False


def test_single_state_cells_keep_the_structure_they_are_given():
    for cell in (GRUCell(2), SimpleRNNCell(2)):
        x, h = np.ones((1, 3)), np.zeros((1, 2))
        out, new = cell(x, h)
        assert isinstance(new, np.ndarray) and np.array_equal(out, new)
        dx, dh = cell.backward(np.ones((1, 2)), np.ones((1, 2)))
        assert dx.shape == (1, 3) and isinstance(dh, np.ndarray)
        out, new = cell(x, [h])
        assert isinstance(new, list) and len(new) == 1
        assert isinstance(cell.backward(np.ones((1, 2)))[1], list)


def test_tapes_are_a_stack():
    """T calls then T backwards in reverse give the loop's gradients."""
    rng = np.random.default_rng(1)
    cell = random_cell("lstm", 2, 3, rng)
    x = rng.normal(size=(2, 4, 3))
    _, _, tape = rnn_cell_forward(cell, x)
    _, _, loop_grads = rnn_cell_backward(cell, np.ones((2, 4, 2)), None, tape)
    states, totals = cell.get_initial_state(2), None
    for t in range(4):
        _, states = cell(x[:, t], states)
    d_states = [np.zeros((2, 2))] * 2
    for _ in range(4):                   # the most recent call first
        _, d_states = cell.backward(np.ones((2, 2)), d_states)
        grads = cell.get_gradients()
        totals = grads if totals is None else [a + b for a, b in zip(totals, grads)]
    assert_close(totals, loop_grads)
    with pytest.raises(RuntimeError, match="backward\\(\\) needs a call first"):
        cell.backward(np.ones((2, 2)))


# --- (d) bad input --------------------------------------------------------------------------------

def built(cls=LSTMCell, units=3, features=2):
    cell = cls(units)
    cell.build((1, features))
    return cell


BAD = [
    (lambda: LSTMCell(0), ValueError, "`units`"),
    (lambda: GRUCell(2.5), TypeError, "`units`"),
    (lambda: SimpleRNNCell(2, activation="swish"), ValueError, "`activation`"),
    (lambda: LSTMCell(2, recurrent_activation=np.tanh), TypeError, "`recurrent_activation`"),
    (lambda: GRUCell(2, dropout=1.5), ValueError, "`dropout`"),
    (lambda: GRUCell(2, recurrent_dropout="0.1"), TypeError, "`recurrent_dropout`"),
    (lambda: GRUCell(2, reset_after=1), TypeError, "`reset_after`"),
    (lambda: LSTMCell(2, kernel_initializer="nope"), ValueError, "`kernel_initializer`"),
    (lambda: built()(np.ones((2, 3, 2)), [np.zeros((2, 3))] * 2), ValueError, "`inputs`"),
    (lambda: built()(np.ones((2, 5)), [np.zeros((2, 3))] * 2), ValueError, "`inputs`"),
    (lambda: built()(np.ones((2, 2)), np.zeros((2, 3))), ValueError, "`states`"),
    (lambda: built()(np.ones((2, 2)), [np.zeros((2, 3)), np.zeros((2, 4))]), ValueError,
     "`states\\[1\\]`"),
    (lambda: built(GRUCell)(np.ones((2, 2)), [np.zeros((1, 3))]), ValueError, "`states\\[0\\]`"),
    (lambda: built()(np.array([["a", "b"]]), [np.zeros((1, 3))] * 2), TypeError, "`inputs`"),
    (lambda: built().backward(np.ones((1, 3))), RuntimeError, "needs a call first"),
    (lambda: StackedRNNCells([]), TypeError, "`cells`"),
    (lambda: StackedRNNCells([LSTMCell(2), "gru"]), TypeError, "`cells\\[1\\]`"),
    (lambda: StackedRNNCells([LSTMCell(2), GRUCell(2)])(np.ones((1, 2)), [[np.zeros((1, 2))] * 2]),
     ValueError, "`states`"),
    (lambda: rnn_cell_forward("lstm", np.ones((1, 2, 3))), TypeError, "`cell`"),
    (lambda: rnn_cell_forward(LSTMCell(2), np.ones((2, 3))), ValueError, "`x`"),
    (lambda: rnn_cell_forward(LSTMCell(2), np.ones((2, 3, 1)), mask=np.ones((2, 4), bool)),
     ValueError, "`mask`"),
    (lambda: rnn_cell_forward(LSTMCell(2), np.ones((2, 3, 1)), mask=np.full((2, 3), 0.5)),
     TypeError, "`mask`"),
    (lambda: rnn_cell_forward(GRUCell(2), np.ones((2, 3, 1)), go_backwards="yes"), TypeError,
     "`go_backwards`"),
]


@pytest.mark.parametrize("make, error, match", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_is_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_gradients_are_named():
    cell = GRUCell(2)
    _, _, tape = rnn_cell_forward(cell, np.ones((2, 3, 1)))
    with pytest.raises(ValueError, match="`d_outputs`"):
        rnn_cell_backward(cell, np.ones((2, 3, 3)), None, tape)
    with pytest.raises(ValueError, match="`d_final_states`"):
        rnn_cell_backward(cell, None, [np.ones((2, 2))] * 2, tape)
    cell(np.ones((2, 1)), [np.zeros((2, 2))])
    with pytest.raises(ValueError, match="`d_output`"):
        cell.backward(np.ones((2, 3)))
