"""Bad arguments and inputs fail early, with a message naming the argument, what was
expected and what was given -- never a broadcasting error from deep inside an op.
And NaN in gives NaN out, never a silent zero.
"""

import re

import numpy as np
import pytest

from scratchrnn import layers
from scratchrnn.ops import activations as act

CLASSES = (layers.SimpleRNN, layers.LSTM, layers.GRU)
N_STATES = {layers.SimpleRNN: 1, layers.LSTM: 2, layers.GRU: 1}


def built(cls=layers.LSTM, units=3, batch=2, timesteps=4, features=5, **kwargs):
    """A layer called once on zeros of shape (batch, timesteps, features)."""
    layer = cls(units, **kwargs)
    layer(np.zeros((batch, timesteps, features)))
    return layer


def x(batch=2, timesteps=4, features=5):
    return np.zeros((batch, timesteps, features))


def says(*parts):
    """A regex matching the message parts in order, each taken literally."""
    return ".*".join(re.escape(p) for p in parts)


# --- inputs, masks, initial states -------------------------------------------------------

@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("shape", [(2, 4), (2, 4, 5, 1), (4,)])
def test_input_of_wrong_rank(cls, shape):
    with pytest.raises(ValueError, match=says("`inputs`", "3-D", "(batch, timesteps, features)",
                                              f"got shape {shape}")):
        cls(3)(np.zeros(shape))


def test_input_with_wrong_feature_count_after_build():
    layer = built(features=5)
    with pytest.raises(ValueError, match=says("`inputs`", "5 features", "got shape (2, 4, 6)")):
        layer(x(features=6))


@pytest.mark.parametrize("bad", [np.array([[["a"]]]), np.ones((1, 2, 3), bool)])
def test_input_that_is_not_real_numbers(bad):
    with pytest.raises(TypeError, match=says("`inputs`", "real numbers", str(bad.dtype))):
        layers.GRU(2)(bad)


def test_empty_input():
    with pytest.raises(ValueError, match=says("`inputs`", "at least one", "(0, 4, 5)")):
        layers.GRU(2)(x(batch=0))


@pytest.mark.parametrize("mask_shape", [(2, 3), (3, 4), (2, 4, 1), (8,)])
def test_mask_of_mismatched_shape(mask_shape):
    with pytest.raises(ValueError, match=says("`mask`", "(2, 4)", "(batch, timesteps)",
                                              f"got {mask_shape}")):
        built()(x(), mask=np.ones(mask_shape, bool))


@pytest.mark.parametrize("mask", [np.ones((2, 4)), np.full((2, 4), "yes")])
def test_mask_that_is_not_boolean(mask):
    with pytest.raises(TypeError, match=says("`mask`", "booleans", f"dtype {mask.dtype}")):
        built()(x(), mask=mask)


def test_integer_mask_must_be_zeros_and_ones():
    with pytest.raises(ValueError, match=says("`mask`", "0/1", "[2]")):
        built()(x(), mask=np.full((2, 4), 2))
    built()(x(), mask=np.ones((2, 4), int))          # 0/1 integers are accepted


@pytest.mark.parametrize("cls", CLASSES)
def test_wrong_number_of_initial_states(cls):
    n = N_STATES[cls]
    states = [np.zeros((2, 3))] * (n + 1)
    with pytest.raises(ValueError, match=says("`initial_state`", f"{n} arrays", "(2, 3)",
                                              f"got {n + 1}")):
        built(cls)(x(), initial_state=states)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("bad_shape", [(2, 4), (3, 3), (2, 3, 1)])
def test_initial_state_of_wrong_shape(cls, bad_shape):
    states = [np.zeros((2, 3))] * (N_STATES[cls] - 1) + [np.zeros(bad_shape)]
    name = "c" if cls is layers.LSTM else "h"
    with pytest.raises(ValueError, match=says(f"`initial_state[{name}]`", "(2, 3)",
                                              "(batch, units)", f"got {bad_shape}")):
        built(cls)(x(), initial_state=states)


def test_bidirectional_wrong_number_of_initial_states():
    with pytest.raises(ValueError, match=says("`initial_state`", "4 arrays", "got 2")):
        layers.Bidirectional(layers.LSTM(3))(x(), initial_state=[np.zeros((2, 3))] * 2)


# --- weights ----------------------------------------------------------------------------

@pytest.mark.parametrize("count", [0, 2, 4])
def test_set_weights_with_wrong_count(count):
    layer = built()
    weights = (layer.get_weights() * 2)[:count]
    with pytest.raises(ValueError, match=says("`weights`", "3 arrays",
                                              "kernel, recurrent_kernel, bias", f"got {count}")):
        layer.set_weights(weights)


@pytest.mark.parametrize("index, name, bad, expected", [
    (1, "recurrent_kernel", (3, 8), "(3, 12)"),
    (1, "recurrent_kernel", (4, 12), "(3, 12)"),
    (2, "bias", (8,), "(12"),
    (2, "bias", (1, 12), "(12"),
])
def test_set_weights_with_wrong_shape(index, name, bad, expected):
    layer = built()
    weights = layer.get_weights()
    weights[index] = np.zeros(bad)
    with pytest.raises(ValueError, match=says(f"`weights[{name}]`", expected, f"got {bad}")):
        layer.set_weights(weights)


def test_set_weights_with_a_kernel_for_other_inputs_on_a_built_layer():
    """A layer built for 5 features refuses a (6, 12) kernel, as Keras does, instead of
    silently rebuilding itself for 6 features.  (Fails at the time of writing: see the
    test report.)"""
    layer = built(features=5)
    weights = layer.get_weights()
    weights[0] = np.zeros((6, 12))
    with pytest.raises(ValueError, match=says("`weights[kernel]`", "(5, 12)", "(6, 12)")):
        layer.set_weights(weights)


def test_gru_reset_after_bias_must_have_two_rows():
    layer = built(layers.GRU)
    weights = layer.get_weights()
    weights[2] = np.zeros(9)
    with pytest.raises(ValueError, match=says("`weights[bias]`", "(2, 9)", "got (9,)")):
        layer.set_weights(weights)


def test_bidirectional_set_weights_with_odd_count():
    with pytest.raises(ValueError, match=says("`weights`", "even", "got 3")):
        layers.Bidirectional(layers.LSTM(3)).set_weights([np.zeros(1)] * 3)


def test_get_weights_of_an_unbuilt_layer():
    with pytest.raises(RuntimeError, match="needs the layer built"):
        layers.LSTM(3).get_weights()


# --- constructor arguments -----------------------------------------------------------------

@pytest.mark.parametrize("cls, argument", [
    (layers.SimpleRNN, "activation"), (layers.LSTM, "activation"),
    (layers.LSTM, "recurrent_activation"), (layers.GRU, "activation"),
    (layers.GRU, "recurrent_activation"),
])
def test_unknown_activation_name(cls, argument):
    with pytest.raises(ValueError, match=says(f"`{argument}`", "'tanh'", "got 'swish'")):
        cls(3, **{argument: "swish"})


@pytest.mark.parametrize("cls", CLASSES)
def test_callable_activation_is_refused(cls):
    with pytest.raises(TypeError, match=says("`activation`", "activation name", "ufunc",
                                             "derivative")):
        cls(3, activation=np.tanh)


@pytest.mark.parametrize("units", [0, -2])
def test_units_must_be_positive(units):
    with pytest.raises(ValueError, match=says("`units`", "positive integer", f"got {units}")):
        layers.GRU(units)


@pytest.mark.parametrize("units, type_name", [(2.5, "float"), ("3", "str"), (True, "bool"),
                                              (None, "NoneType")])
def test_units_must_be_an_integer(units, type_name):
    with pytest.raises(TypeError, match=says("`units`", "positive integer", repr(units),
                                             type_name)):
        layers.SimpleRNN(units)


@pytest.mark.parametrize("argument", ["dropout", "recurrent_dropout"])
@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_dropout_outside_zero_one(argument, rate):
    with pytest.raises(ValueError, match=says(f"`{argument}`", "[0, 1)", f"got {rate}")):
        layers.LSTM(3, **{argument: rate})


def test_dropout_that_is_not_a_number():
    with pytest.raises(TypeError, match=says("`dropout`", "[0, 1)", "'0.1'")):
        layers.LSTM(3, dropout="0.1")


@pytest.mark.parametrize("dtype", ["float16", "int32", np.float16, "double precision"])
def test_bad_dtype(dtype):
    with pytest.raises(ValueError, match=says("`dtype`", "'float32', 'float64'", "got")):
        layers.GRU(3, dtype=dtype)


def test_backend_must_be_known():
    with pytest.raises(ValueError, match=says("`backend`", "'numpy'", "got 'cuda'")):
        layers.LSTM(3, backend="cuda")


@pytest.mark.parametrize("argument, value", [("use_bias", "yes"), ("return_sequences", 1),
                                             ("go_backwards", None)])
def test_flags_must_be_booleans(argument, value):
    with pytest.raises(TypeError, match=says(f"`{argument}`", "True or False", repr(value))):
        layers.SimpleRNN(3, **{argument: value})


def test_unknown_initializer():
    with pytest.raises(ValueError, match=says("`kernel_initializer`", "'glorot_uniform'",
                                              "got 'glorot'")):
        layers.LSTM(3, kernel_initializer="glorot")


def test_bad_seed():
    with pytest.raises(ValueError, match=says("`seed`", "non-negative integer", "got -1")):
        layers.LSTM(3, seed=-1)


def test_bad_merge_mode():
    with pytest.raises(ValueError, match=says("`merge_mode`", "'concat'", "None", "got 'max'")):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")


def test_bidirectional_of_a_go_backwards_layer():
    with pytest.raises(ValueError, match=says("`layer`", "go_backwards=False")):
        layers.Bidirectional(layers.LSTM(3, go_backwards=True))


def test_bidirectional_of_something_else():
    with pytest.raises(TypeError, match=says("`layer`", "recurrent layer", "got str")):
        layers.Bidirectional("lstm")


def test_bidirectional_backward_layer_must_match():
    with pytest.raises(ValueError, match=says("`backward_layer`", "go_backwards=True")):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3))
    with pytest.raises(ValueError, match=says("`backward_layer`", "return_sequences",
                                              "False != True")):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(
            3, go_backwards=True, return_sequences=True))


# --- backward and state ----------------------------------------------------------------------

@pytest.mark.parametrize("layer", [layers.GRU(3), layers.Bidirectional(layers.GRU(3))],
                         ids=["GRU", "Bidirectional"])
def test_backward_before_any_call(layer):
    with pytest.raises(RuntimeError, match=says("backward()", "forward call first")):
        layer.backward(np.zeros((2, 3)))


def test_get_gradients_before_backward():
    layer = built(layers.GRU)
    with pytest.raises(RuntimeError, match=says("no gradients", "backward() first")):
        layer.get_gradients()


def test_backward_gradient_of_wrong_shape():
    layer = built(layers.GRU)
    with pytest.raises(ValueError, match=says("`grads[0] (the output)`", "(2, 3)",
                                              "got (2, 4)")):
        layer.backward(np.zeros((2, 4)))


def test_backward_state_gradient_of_wrong_shape():
    layer = built(layers.LSTM, return_state=True)
    with pytest.raises(ValueError, match=says("`grads[2] (state c)`", "(2, 3)", "got (2, 2)")):
        layer.backward([np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 2))])


@pytest.mark.parametrize("return_state, given", [(False, 2), (True, 1), (True, 4)])
def test_backward_with_wrong_number_of_gradients(return_state, given):
    layer = built(layers.LSTM, return_state=return_state)
    expected = 3 if return_state else 1
    with pytest.raises(ValueError, match=says("`grads`", f"{expected} gradient(s)",
                                              f"got {given}")):
        layer.backward([np.zeros((2, 3))] * given)


def test_bidirectional_backward_with_wrong_gradients():
    bidi = layers.Bidirectional(layers.LSTM(3))
    bidi(x())
    with pytest.raises(ValueError, match=says("`grads`", "1 gradient(s)", "got 2")):
        bidi.backward([np.zeros((2, 6))] * 2)
    with pytest.raises(ValueError, match=says("`grads[0] (the merged output)`", "(2, 6)",
                                              "got (2, 3)")):
        bidi.backward(np.zeros((2, 3)))


@pytest.mark.parametrize("cls", CLASSES)
def test_stateful_layer_refuses_a_new_batch_size(cls):
    layer = built(cls, stateful=True, batch=2)
    with pytest.raises(ValueError, match=says("stateful", "batch size 2", "got batch size 3")):
        layer(x(batch=3))
    layer.reset_states([np.zeros((3, 3))] * N_STATES[cls])   # the way to change it
    assert layer(x(batch=3)).shape == (3, 3)


def test_reset_states_of_a_stateless_layer():
    with pytest.raises(AttributeError, match=says("reset_states()", "stateful=True")):
        built().reset_states()


def test_reset_states_with_wrong_shape():
    layer = built(layers.SimpleRNN, stateful=True)
    with pytest.raises(ValueError, match=says("`states[h]`", "(2, 3)", "got (2, 4)")):
        layer.reset_states([np.zeros((2, 4))])


# --- NaN in, NaN out ------------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(act.NAMES), ids=lambda c: act.NAMES[c])
def test_every_activation_maps_nan_to_nan(code):
    assert np.isnan(act.forward(np.array([np.nan, 1.0]), code)[0])


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_in_the_input_gives_nan_out(cls, dtype):
    """A NaN at step 1 of sample 0 makes that sample's outputs NaN from step 1 on; its
    earlier output and the other sample stay finite."""
    layer = cls(3, return_sequences=True, return_state=True, seed=0, dtype=dtype)
    inputs = np.random.default_rng(0).normal(size=(2, 4, 2))
    inputs[0, 1, 0] = np.nan
    y, *states = layer(inputs)
    assert np.isnan(y[0, 1:]).all()
    assert np.isfinite(y[0, 0]).all() and np.isfinite(y[1]).all()
    for s in states:
        assert np.isnan(s[0]).all() and np.isfinite(s[1]).all()


@pytest.mark.parametrize("cls", CLASSES)
def test_nan_in_the_initial_state_gives_nan_out(cls):
    layer = cls(3, seed=0, dtype="float64")
    states = [np.zeros((2, 3)) for _ in range(N_STATES[cls])]
    states[-1][0, 0] = np.nan
    y = layer(np.ones((2, 3, 2)), initial_state=states)
    assert np.isnan(y[0]).any() and np.isfinite(y[1]).all()
