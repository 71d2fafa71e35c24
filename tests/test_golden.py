"""Keras's own golden numbers, reproduced without TensorFlow.

Keras's recurrent tests (``keras/src/layers/rnn/{lstm,gru,simple_rnn,bidirectional}_test.py``
in keras-team/keras) build layers with ``initializers.Constant`` weights -- 0.01 for the
kernel, 0.02 for the recurrent kernel, 0.03 for the bias -- run them on ``np.arange``
inputs and assert the outputs.  Here the same constants come from initialiser callables
(so that LSTM's ``unit_forget_bias`` still sets the forget block of the bias to 1.0, as
it does in Keras) and our outputs must equal Keras's numbers, with Keras's tolerance:
``atol = rtol = 1e-5`` in the LSTM and Bidirectional tests, 1e-6 (``assertAllClose``'s
default) in the GRU and SimpleRNN ones.  Each case runs in float32 and float64.
"""

import numpy as np
import pytest

from scratchrnn import layers

LOOSE = 1e-5    # Keras's atol/rtol in lstm_test.py and bidirectional_test.py
DEFAULT = 1e-6  # keras.src.testing.TestCase.assertAllClose's default atol/rtol

MASK_LSTM = np.array([[True, True, True, False], [True, True, False, False]])
MASK_HOLES = np.array([[True, True, False, True], [True, False, False, True]])


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return request.param


def constant(value):
    """What ``keras.initializers.Constant(value)`` draws, as a scratchrnn initialiser."""
    return lambda shape, rng: np.full(shape, value)


def keras_layer(cls, units, dtype, kernel=0.01, recurrent=0.02, bias=0.03, **kwargs):
    return cls(units, kernel_initializer=constant(kernel),
               recurrent_initializer=constant(recurrent), bias_initializer=constant(bias),
               dtype=dtype, **kwargs)


def arange(*shape):
    return np.arange(np.prod(shape)).reshape(shape).astype("float32")


def same_units(values, units):
    """Keras's expected arrays whose rows repeat one number per sample (or per step)."""
    values = np.asarray(values)
    return np.repeat(values[..., None], units, axis=-1)


def assert_keras_close(actual, desired, tol):
    np.testing.assert_allclose(actual, desired, atol=tol, rtol=tol)


# --- LSTM -------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, expected", [
    ({}, [0.6288687, 0.86899155, 0.9460773]),
    ({"go_backwards": True}, [0.35622165, 0.74789524, 0.8872726]),
    ({"unit_forget_bias": False}, [0.57019705, 0.8661914, 0.9459622]),
    ({"use_bias": False}, [0.54986924, 0.86226785, 0.9443936]),
], ids=["default", "go_backwards", "no_unit_forget_bias", "no_bias"])
def test_lstm_correctness(dtype, kwargs, expected):
    """keras lstm_test.py::LSTMTest::test_correctness (implementation 1 and 2 agree)."""
    layer = keras_layer(layers.LSTM, 3, dtype, **kwargs)
    assert_keras_close(layer(arange(3, 6, 4)), same_units(expected, 3), LOOSE)


def test_lstm_statefulness(dtype):
    """keras lstm_test.py::LSTMTest::test_statefulness: the second call continues the first."""
    layer = keras_layer(layers.LSTM, 4, dtype, stateful=True)
    expected = same_units([0.3124785, 0.6863672], 4)
    for _ in range(2):                       # again after reset_states()
        layer(arange(2, 3, 4))
        assert_keras_close(layer(arange(2, 3, 4)), expected, LOOSE)
        layer.reset_states()


@pytest.mark.parametrize("go_backwards, expected", [
    (False, [[0.20574439, 0.3558822], [0.64930826, 0.66276]]),
    (True, [[0.13281618, 0.2790356], [0.5839337, 0.5992567]]),
])
def test_lstm_pass_initial_state(dtype, go_backwards, expected):
    """keras lstm_test.py::LSTMTest::test_pass_initial_state."""
    layer = keras_layer(layers.LSTM, 2, dtype, go_backwards=go_backwards)
    out = layer(arange(2, 4, 3), initial_state=[arange(2, 2), arange(2, 2)])
    assert_keras_close(out, expected, LOOSE)


def test_lstm_masking(dtype):
    """keras lstm_test.py::LSTMTest::test_masking: last output, the sequence (masked steps
    repeat the previous output, or are zeros with zero_output_for_mask), go_backwards."""
    x = arange(2, 4, 3)
    last = keras_layer(layers.LSTM, 2, dtype)(x, mask=MASK_LSTM)
    assert_keras_close(last, same_units([0.11755939, 0.28556206], 2), LOOSE)

    seq = keras_layer(layers.LSTM, 2, dtype, return_sequences=True)(x, mask=MASK_LSTM)
    assert_keras_close(seq, same_units([[0.01588910, 0.05552048, 0.11755939, 0.11755939],
                                        [0.14185596, 0.28556206, 0.28556206, 0.28556206]], 2),
                       LOOSE)

    zero = keras_layer(layers.LSTM, 2, dtype, return_sequences=True,
                       zero_output_for_mask=True)(x, mask=MASK_LSTM)
    assert_keras_close(zero, same_units([[0.01588910, 0.05552048, 0.11755939, 0.0],
                                         [0.14185596, 0.28556206, 0.0, 0.0]], 2), LOOSE)

    backwards_mask = np.array([[False, True, True, True], [False, False, True, True]])
    back = keras_layer(layers.LSTM, 2, dtype, go_backwards=True)(x, mask=backwards_mask)
    assert_keras_close(back, same_units([0.15341201, 0.3844719], 2), LOOSE)


# --- GRU --------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, expected", [
    ({}, [0.5217289, 0.6371659, 0.39384964]),
    ({"go_backwards": True}, [0.24406259, 0.611516, 0.3928808]),
    ({"reset_after": False}, [0.51447755, 0.6426879, 0.40208298]),
    ({"use_bias": False}, [0.49988455, 0.64701194, 0.4103359]),
], ids=["default", "go_backwards", "reset_before", "no_bias"])
def test_gru_correctness(dtype, kwargs, expected):
    """keras gru_test.py::GRUTest::test_correctness."""
    layer = keras_layer(layers.GRU, 3, dtype, **kwargs)
    assert_keras_close(layer(arange(3, 6, 4)), same_units(expected, 3), DEFAULT)


def test_gru_statefulness(dtype):
    """keras gru_test.py::GRUTest::test_statefulness."""
    layer = keras_layer(layers.GRU, 4, dtype, stateful=True)
    expected = same_units([0.29542392, 0.5885018], 4)
    for _ in range(2):
        layer(arange(2, 3, 4))
        assert_keras_close(layer(arange(2, 3, 4)), expected, DEFAULT)
        layer.reset_states()


@pytest.mark.parametrize("go_backwards, expected", [
    (False, [[0.23774096, 0.33508456], [0.83659905, 1.0227708]]),
    (True, [[0.13486053, 0.23261218], [0.78257304, 0.9691353]]),
])
def test_gru_pass_initial_state_and_return_state(dtype, go_backwards, expected):
    """keras gru_test.py::GRUTest::test_pass_initial_state and ::test_pass_return_state
    (the returned state equals the last output)."""
    layer = keras_layer(layers.GRU, 2, dtype, go_backwards=go_backwards, return_state=True)
    out, state = layer(arange(2, 4, 3), initial_state=arange(2, 2))
    assert_keras_close(out, expected, DEFAULT)
    assert_keras_close(state, out, DEFAULT)


def test_gru_masking(dtype):
    """keras gru_test.py::GRUTest::test_masking (a mask with holes)."""
    x = arange(2, 4, 3)
    last = keras_layer(layers.GRU, 2, dtype)(x, mask=MASK_HOLES)
    assert_keras_close(last, same_units([0.19393763, 0.30818558], 2), DEFAULT)

    seq = keras_layer(layers.GRU, 2, dtype, return_sequences=True)(x, mask=MASK_HOLES)
    assert_keras_close(seq, same_units([[0.03606692, 0.09497581, 0.09497581, 0.19393763],
                                        [0.16051409, 0.16051409, 0.16051409, 0.30818558]], 2),
                       DEFAULT)

    zero = keras_layer(layers.GRU, 2, dtype, return_sequences=True,
                       zero_output_for_mask=True)(x, mask=MASK_HOLES)
    assert_keras_close(zero, same_units([[0.03606692, 0.09497581, 0.0, 0.19393763],
                                         [0.16051409, 0.0, 0.0, 0.30818558]], 2), DEFAULT)

    back = keras_layer(layers.GRU, 2, dtype, go_backwards=True)(x, mask=MASK_HOLES)
    assert_keras_close(back, same_units([0.11669192, 0.28380975], 2), DEFAULT)


# --- SimpleRNN --------------------------------------------------------------------------

@pytest.mark.parametrize("go_backwards, expected", [
    (False, [0.405432, 0.73605347]),
    (True, [0.11144729, 0.5528889]),
])
def test_simple_rnn_correctness(dtype, go_backwards, expected):
    """keras simple_rnn_test.py::SimpleRNNTest::test_correctness."""
    layer = keras_layer(layers.SimpleRNN, 4, dtype, go_backwards=go_backwards)
    assert_keras_close(layer(arange(2, 3, 4)), same_units(expected, 4), DEFAULT)


def test_simple_rnn_statefulness(dtype):
    """keras simple_rnn_test.py::SimpleRNNTest::test_statefulness."""
    layer = keras_layer(layers.SimpleRNN, 4, dtype, stateful=True)
    expected = same_units([0.40559256, 0.7361247], 4)
    for _ in range(2):
        layer(arange(2, 3, 4))
        assert_keras_close(layer(arange(2, 3, 4)), expected, DEFAULT)
        layer.reset_states()


@pytest.mark.parametrize("go_backwards, expected", [
    (False, [0.33621645, 0.6262637]),
    (True, [0.07344437, 0.43043602]),
])
def test_simple_rnn_pass_initial_state(dtype, go_backwards, expected):
    """keras simple_rnn_test.py::SimpleRNNTest::test_pass_initial_state."""
    layer = keras_layer(layers.SimpleRNN, 4, dtype, go_backwards=go_backwards)
    out = layer(arange(2, 4, 3), initial_state=arange(2, 4))
    assert_keras_close(out, same_units(expected, 4), DEFAULT)


def test_simple_rnn_masking(dtype):
    """keras simple_rnn_test.py::SimpleRNNTest::test_masking."""
    x = arange(2, 4, 3)
    last = keras_layer(layers.SimpleRNN, 4, dtype)(x, mask=MASK_HOLES)
    assert_keras_close(last, same_units([0.32951632, 0.61799484], 4), DEFAULT)

    seq = keras_layer(layers.SimpleRNN, 2, dtype, return_sequences=True)(x, mask=MASK_HOLES)
    assert_keras_close(seq, same_units([[0.0599281, 0.15122814, 0.15122814, 0.32394567],
                                        [0.3969304, 0.3969304, 0.3969304, 0.608085]], 2),
                       DEFAULT)

    zero = keras_layer(layers.SimpleRNN, 2, dtype, return_sequences=True,
                       zero_output_for_mask=True)(x, mask=MASK_HOLES)
    assert_keras_close(zero, same_units([[0.0599281, 0.15122814, 0.0, 0.32394567],
                                         [0.3969304, 0.0, 0.0, 0.608085]], 2), DEFAULT)

    back = keras_layer(layers.SimpleRNN, 4, dtype, go_backwards=True)(x, mask=MASK_HOLES)
    assert_keras_close(back, same_units([0.07376196, 0.43645123], 4), DEFAULT)


# --- Bidirectional ----------------------------------------------------------------------

def test_bidirectional_correctness(dtype):
    """keras bidirectional_test.py::SimpleRNNTest::test_correctness: merge modes concat,
    ave, None, mul with an explicit backward layer, and sum over GRU sequences."""
    x = arange(2, 3, 4)
    forward = keras_layer(layers.SimpleRNN, 2, dtype)
    concat = layers.Bidirectional(forward)(x)
    assert_keras_close(concat, [[0.39687276, 0.39687276, 0.10004295, 0.10004295],
                                [0.7237238, 0.7237238, 0.53391594, 0.53391594]], LOOSE)

    ave = layers.Bidirectional(forward, merge_mode="ave")(x)
    assert_keras_close(ave, same_units([0.24845785, 0.6288199], 2), LOOSE)

    out1, out2 = layers.Bidirectional(forward, merge_mode=None)(x)
    assert_keras_close(out1, same_units([0.39687276, 0.7237238], 2), LOOSE)
    assert_keras_close(out2, same_units([0.10004295, 0.53391594], 2), LOOSE)

    backward = keras_layer(layers.SimpleRNN, 2, dtype, kernel=0.03, bias=0.01,
                           go_backwards=True)
    mul = layers.Bidirectional(forward, backward_layer=backward, merge_mode="mul")(x)
    assert_keras_close(mul, same_units([0.08374989, 0.6740834], 2), LOOSE)

    gru = keras_layer(layers.GRU, 2, dtype, return_sequences=True)
    total = layers.Bidirectional(gru, merge_mode="sum")(x)
    assert_keras_close(total, same_units([[0.20937867, 0.34462988, 0.40290534],
                                          [0.59829646, 0.6734641, 0.6479671]], 2), LOOSE)


def test_bidirectional_statefulness(dtype):
    """keras bidirectional_test.py::SimpleRNNTest::test_statefulness (stateful LSTM halves)."""
    layer = layers.Bidirectional(keras_layer(layers.LSTM, 2, dtype, stateful=True))
    expected = [[0.26234663, 0.26234663, 0.16959146, 0.16959146],
                [0.6137073, 0.6137073, 0.5381646, 0.5381646]]
    for _ in range(2):
        layer(arange(2, 4, 3))
        assert_keras_close(layer(arange(2, 4, 3)), expected, LOOSE)
        layer.reset_states()


def test_bidirectional_pass_initial_state(dtype):
    """keras bidirectional_test.py::SimpleRNNTest::test_pass_initial_state: forward h, c
    then backward h, c."""
    layer = layers.Bidirectional(keras_layer(layers.LSTM, 2, dtype))
    states = [arange(2, 2) * k for k in (1, 2, 3, 4)]
    out = layer(arange(2, 4, 3), initial_state=states)
    assert_keras_close(out, [[0.20794602, 0.4577124, 0.14046375, 0.48191673],
                             [0.6682636, 0.6711909, 0.60943645, 0.60950446]], LOOSE)


def test_bidirectional_masking(dtype):
    """keras bidirectional_test.py::SimpleRNNTest::test_masking (GRU halves, mask with holes)."""
    layer = layers.Bidirectional(keras_layer(layers.GRU, 2, dtype))
    out = layer(arange(2, 4, 3), mask=MASK_HOLES)
    assert_keras_close(out, [[0.19393763, 0.19393763, 0.11669192, 0.11669192],
                             [0.30818558, 0.30818558, 0.28380975, 0.28380975]], LOOSE)


def test_bidirectional_return_state(dtype):
    """keras bidirectional_test.py::SimpleRNNTest::test_return_state: output, then the
    forward half's h, c and the backward half's h, c."""
    layer = layers.Bidirectional(keras_layer(layers.LSTM, 2, dtype, return_state=True))
    out, h1, c1, h2, c2 = layer(arange(2, 4, 3))
    assert_keras_close(out, [[0.1990008, 0.1990008, 0.12659755, 0.12659755],
                             [0.52335435, 0.52335435, 0.44717982, 0.44717982]], LOOSE)
    assert_keras_close(h1, same_units([0.1990008, 0.52335435], 2), LOOSE)
    assert_keras_close(c1, same_units([0.35567185, 1.0492687], 2), LOOSE)
    assert_keras_close(h2, same_units([0.12659755, 0.44717982], 2), LOOSE)
    assert_keras_close(c2, same_units([0.2501858, 0.941473], 2), LOOSE)
