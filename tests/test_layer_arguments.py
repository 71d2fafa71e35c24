"""Constructor arguments as Keras 3.15 takes them: what it accepts (with its warnings),
what it refuses (with its error types), ``Conv1D(groups=...)``, layers without weights
built at construction, and initialiser objects in ``get_config`` and saved models.
Tests marked ``keras`` check each behaviour against Keras itself."""

import json
import re
import warnings

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn.layers import (
    GRU,
    LSTM,
    AveragePooling1D,
    Bidirectional,
    Conv1D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Masking,
    MaxPooling1D,
    RepeatVector,
    SimpleRNN,
)

from .test_conv_layers import check_gradients, randomize, reference_conv1d


def says(*parts):
    return ".*".join(re.escape(p) for p in parts)


def keras_module():
    from scratchrnn._tensorflow import import_tensorflow
    return import_tensorflow()[1]


# --- input_length ----------------------------------------------------------------------------

def test_embedding_input_length_warns_and_is_ignored():
    with pytest.warns(UserWarning, match=says("`input_length` is deprecated")):
        layer = Embedding(10, 4, input_length=5)
    assert "input_length" not in layer.get_config()
    assert layer(np.zeros((2, 7), int)).shape == (2, 7, 4)      # any length still
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Embedding(10, 4, input_length=None)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_recurrent_layers_refuse_input_length_as_keras_3_does(cls):
    with pytest.raises(ValueError, match=says("`input_length`", cls.__name__, "Embedding")):
        cls(3, input_length=5)


# --- sizes that are not integers ---------------------------------------------------------------

NOT_INTEGERS = [3.7, 3.0, "3", None, True]
SIZE_ARGUMENTS = [
    ("Embedding(input_dim)", lambda v: Embedding(v, 4), "input_dim"),
    ("Embedding(output_dim)", lambda v: Embedding(4, v), "output_dim"),
    ("Dense(units)", lambda v: Dense(v), "units"),
    ("SimpleRNN(units)", lambda v: SimpleRNN(v), "units"),
    ("LSTM(units)", lambda v: LSTM(v), "units"),
    ("GRU(units)", lambda v: GRU(v), "units"),
    ("Conv1D(filters)", lambda v: Conv1D(v, 3), "filters"),
    ("Conv1D(kernel_size)", lambda v: Conv1D(2, v), "kernel_size"),
    ("Conv1D(groups)", lambda v: Conv1D(2, 3, groups=v), "groups"),
    ("MaxPooling1D(pool_size)", lambda v: MaxPooling1D(v), "pool_size"),
    ("Conv1D(strides)", lambda v: Conv1D(2, 3, strides=v), "strides"),
]


@pytest.mark.parametrize("value", NOT_INTEGERS)
@pytest.mark.parametrize("label, make, argument", SIZE_ARGUMENTS,
                         ids=[s[0] for s in SIZE_ARGUMENTS])
def test_non_integer_sizes_raise_value_error_as_in_keras(label, make, argument, value):
    """Keras raises ValueError; the error is a TypeError too (Python's convention)."""
    with pytest.raises(ValueError, match=says(f"`{argument}`", "positive integer")) as info:
        make(value)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("label, make, argument", SIZE_ARGUMENTS,
                         ids=[s[0] for s in SIZE_ARGUMENTS])
def test_non_positive_sizes_raise_value_error(label, make, argument):
    with pytest.raises(ValueError, match=says(f"`{argument}`", "positive integer", "0")):
        make(0)


def test_numpy_integers_are_sizes():
    """Keras's Embedding and Dense refuse np.int64(3); accepting it harms nobody."""
    assert Embedding(np.int64(5), np.int32(2)).embeddings.shape == (5, 2)
    assert Dense(np.int64(3)).units == 3


@pytest.mark.keras
@pytest.mark.parametrize("value", [3.7, 3.0])
@pytest.mark.parametrize("make", [
    lambda L, v: L.Embedding(v, 4), lambda L, v: L.Embedding(4, v), lambda L, v: L.Dense(v),
    lambda L, v: L.GRU(v), lambda L, v: L.SimpleRNN(v), lambda L, v: L.Conv1D(2, v),
    lambda L, v: L.MaxPooling1D(v)])
def test_keras_refuses_float_sizes_with_value_error_too(make, value):
    """(Keras's LSTM(3.7) is the exception: accepted when made, it fails when built.)"""
    keras = keras_module()
    with pytest.raises(ValueError):
        make(keras.layers, value)


# --- Embedding's float ids -----------------------------------------------------------------------

def test_float_ids_that_are_not_integers_are_refused_naming_the_layer():
    layer = Embedding(10, 2, name="words")
    ids = np.array([[1.0, 2.0], [5.97, 3.0]])
    with pytest.raises(TypeError, match=says("words (Embedding)", "5.97", "(1, 0)",
                                             "truncate", "index 5")):
        layer(ids)
    assert layer(np.array([[1.0, 2.0]])).shape == (1, 2, 2)   # whole floats still work


@pytest.mark.keras
def test_keras_truncates_float_ids():
    """What the message says Keras does: 5.97 looks up row 5."""
    keras = keras_module()
    theirs = keras.layers.Embedding(10, 2)
    out = np.asarray(theirs(np.array([[5.97, 5.0]])))
    np.testing.assert_array_equal(out[0, 0], out[0, 1])


# --- Conv1D groups ------------------------------------------------------------------------------

def grouped_reference(x, kernel, bias, groups, strides=1, padding="valid", dilation=1):
    """Each group's plain convolution on its channels and filters, side by side."""
    xs = np.split(x, groups, axis=-1)
    ks = np.split(kernel, groups, axis=-1)
    bs = np.split(bias, groups) if bias is not None else [None] * groups
    return np.concatenate([reference_conv1d(a, k, b, strides, padding, dilation)
                           for a, k, b in zip(xs, ks, bs)], axis=-1)


def test_groups_one_is_the_default_and_in_the_config():
    layer = Conv1D(4, 3, groups=1)
    assert layer.groups == 1 and layer.get_config()["groups"] == 1
    assert Conv1D(4, 3).groups == 1


@pytest.mark.parametrize("groups, channels, filters", [(2, 6, 4), (3, 6, 6), (6, 6, 12)])
@pytest.mark.parametrize("padding, strides, dilation", [("valid", 1, 1), ("same", 2, 1),
                                                        ("causal", 1, 2)])
def test_grouped_conv_matches_the_reference(groups, channels, filters, padding, strides,
                                            dilation):
    layer = randomize(Conv1D(filters, 3, strides=strides, padding=padding,
                             dilation_rate=dilation, groups=groups, dtype="float64"),
                      (2, 9, channels))
    assert layer.kernel.shape == (3, channels // groups, filters)
    x = np.random.default_rng(1).normal(size=(2, 9, channels))
    expected = grouped_reference(x, layer.kernel, layer.bias, groups, strides, padding,
                                 dilation)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("groups, padding, strides, dilation", [
    (2, "valid", 1, 1), (3, "same", 2, 1), (2, "causal", 1, 2), (6, "same", 1, 1)])
def test_grouped_conv_gradients_match_finite_differences(groups, padding, strides, dilation):
    layer = randomize(Conv1D(6, 3, strides=strides, padding=padding, dilation_rate=dilation,
                             groups=groups, activation="tanh", dtype="float64"), (2, 8, 6))
    x = np.random.default_rng(2).normal(size=(2, 8, 6))
    check_gradients(layer, x)


def test_grouped_conv_gradient_check_catches_a_wrong_kernel_gradient(monkeypatch):
    """Negative control: mixing the groups' kernel gradients up must fail the check."""
    layer = randomize(Conv1D(4, 2, groups=2, dtype="float64"), (1, 5, 4))
    backward = Conv1D._backward_group

    def swapped(cols, dz, kernel):
        d_kernel, d_cols = backward(cols, dz, kernel)
        return d_kernel[..., ::-1], d_cols
    monkeypatch.setattr(Conv1D, "_backward_group", staticmethod(swapped))
    with pytest.raises(AssertionError):
        check_gradients(layer, np.random.default_rng(3).normal(size=(1, 5, 4)))


@pytest.mark.parametrize("make, parts", [
    (lambda: Conv1D(4, 3, groups=3), ("`filters`", "divisible by `groups`", "groups=3")),
    (lambda: Conv1D(4, 3, groups=0), ("`groups`", "positive integer", "0")),
    (lambda: Conv1D(4, 3, groups=4).build((1, 5, 6)),
     ("input channels", "divisible by `groups`", "6 channels", "groups=4")),
])
def test_bad_groups(make, parts):
    with pytest.raises(ValueError, match=says(*parts)):
        make()


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("groups, padding, strides, dilation", [
    (2, "valid", 1, 1), (3, "same", 2, 1), (2, "causal", 1, 2), (6, "same", 1, 1)])
def test_grouped_conv_equals_keras(groups, padding, strides, dilation, dtype):
    from parity.checks_layers import run_conv_groups_pair
    errors = run_conv_groups_pair(groups, padding, strides, dilation, dtype)
    tol = 1e-10 if dtype == "float64" else 1e-5
    assert all(e <= tol for e in errors.values()), errors


# --- recurrent layers' Keras-only arguments -----------------------------------------------------

@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_lstm_gru_accept_keras_implementation_options(cls):
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    base = cls(3, dtype="float64")
    y = base(x)
    for kwargs in (dict(unroll=True), dict(implementation=1), dict(implementation=3),
                   dict(use_cudnn=False), dict(use_cudnn=True), dict(use_cudnn="auto")):
        other = cls(3, dtype="float64", **kwargs)
        other.build(x.shape)
        other.set_weights(base.get_weights())
        np.testing.assert_array_equal(other(x), y)


def test_simple_rnn_refuses_lstm_only_options_as_keras_does():
    for kwargs in (dict(implementation=1), dict(use_cudnn=False)):
        with pytest.raises(ValueError, match=says("SimpleRNN", "`implementation`",
                                                  "`use_cudnn`")):
            SimpleRNN(3, **kwargs)
    assert SimpleRNN(3, unroll=True).unroll is True


@pytest.mark.parametrize("value", ["x", None, 1.5])
def test_use_cudnn_values_keras_refuses(value):
    if value is None:       # None means the default here ("auto")
        assert LSTM(3, use_cudnn=None).use_cudnn == "auto"
        return
    with pytest.raises(ValueError, match=says("`use_cudnn`", repr(value))):
        LSTM(3, use_cudnn=value)


@pytest.mark.keras
def test_keras_accepts_and_refuses_the_same_recurrent_options():
    keras = keras_module()
    cases = [("LSTM", dict(unroll=True)), ("GRU", dict(implementation=1)),
             ("LSTM", dict(implementation=3)), ("GRU", dict(use_cudnn=False)),
             ("LSTM", dict(use_cudnn="x")), ("SimpleRNN", dict(implementation=1)),
             ("SimpleRNN", dict(use_cudnn=False)), ("LSTM", dict(input_length=5)),
             ("GRU", dict(input_length=5)), ("SimpleRNN", dict(unroll=True))]
    for name, kwargs in cases:
        outcomes = []
        for module in (keras.layers, sr.layers):
            try:
                getattr(module, name)(3, **kwargs)
                outcomes.append("accepted")
            except ValueError:
                outcomes.append("ValueError")
        assert outcomes[0] == outcomes[1], (name, kwargs, outcomes)


# --- built at construction ------------------------------------------------------------------------

WEIGHTLESS = [lambda: MaxPooling1D(2), lambda: AveragePooling1D(2),
              lambda: GlobalMaxPooling1D(), lambda: GlobalAveragePooling1D(),
              lambda: Dropout(0.5), lambda: Masking()]


@pytest.mark.parametrize("make", WEIGHTLESS)
def test_layers_without_weights_are_built_at_construction(make):
    layer = make()
    assert layer.built is True and layer.count_params() == 0 and layer.weights == []
    assert layer.losses == [] and layer.regularization_gradients() == []


def test_flatten_and_repeat_vector_wait_for_their_input_as_in_keras():
    assert Flatten().built is False and RepeatVector(2).built is False


@pytest.mark.keras
def test_built_at_construction_as_in_keras():
    keras = keras_module()
    L = keras.layers
    pairs = [(L.MaxPooling1D(2), MaxPooling1D(2)), (L.AveragePooling1D(2), AveragePooling1D(2)),
             (L.GlobalMaxPooling1D(), GlobalMaxPooling1D()),
             (L.GlobalAveragePooling1D(), GlobalAveragePooling1D()),
             (L.Dropout(0.5), Dropout(0.5)), (L.Masking(), Masking()),
             (L.Flatten(), Flatten()), (L.RepeatVector(2), RepeatVector(2)),
             (L.Dense(2), Dense(2)), (L.Conv1D(2, 3), Conv1D(2, 3)), (L.LSTM(2), LSTM(2))]
    for theirs, ours in pairs:
        assert theirs.built == ours.built, type(ours).__name__


# --- initialiser objects in configs and saved models ---------------------------------------------

MATRIX = np.arange(12, dtype=float).reshape(6, 2) / 7


@pytest.mark.parametrize("make, key", [
    (lambda init: Embedding(6, 2, embeddings_initializer=init), "embeddings_initializer"),
    (lambda init: Dense(2, kernel_initializer=init), "kernel_initializer"),
    (lambda init: Conv1D(2, 3, bias_initializer=init), "bias_initializer"),
    (lambda init: LSTM(2, recurrent_initializer=init), "recurrent_initializer"),
])
def test_get_config_serialises_initializer_objects(make, key):
    init = sr.initializers.RandomNormal(0.0, 0.3, seed=4)
    config = make(init).get_config()
    assert config[key] == {"class_name": "RandomNormal",
                           "config": {"mean": 0.0, "stddev": 0.3, "seed": 4}}
    assert json.loads(json.dumps(config)) == config
    assert getattr(type(make(init)).from_config(config), key) is not None


def test_constant_matrix_embedding_config_round_trip():
    layer = Embedding(6, 2, embeddings_initializer=sr.initializers.Constant(MATRIX))
    config = layer.get_config()
    again = Embedding.from_config(json.loads(json.dumps(config)))
    np.testing.assert_array_equal(again.embeddings, layer.embeddings)
    np.testing.assert_allclose(again.embeddings, MATRIX.astype("float32"))


def test_names_and_own_functions_stay_in_the_config():
    assert Dense(2, kernel_initializer="he_uniform").get_config()["kernel_initializer"] == \
        "he_uniform"

    def mine(shape, rng):
        return np.full(shape, 0.5)
    layer = Dense(2, kernel_initializer=mine)
    assert layer.get_config()["kernel_initializer"] is mine         # kept, not refused
    assert Bidirectional(LSTM(2, kernel_initializer=mine)).backward_layer is not None


def test_save_and_load_a_model_with_a_constant_embedding(tmp_path):
    model = sr.Sequential([sr.Input((4,), dtype="int32"),
                           Embedding(6, 2, embeddings_initializer=sr.initializers.Constant(
                               MATRIX), mask_zero=True),
                           GlobalAveragePooling1D(), Dense(1, activation="sigmoid")])
    x = np.array([[1, 2, 0, 0], [5, 4, 3, 2]])
    expected = model.predict(x, verbose=0)
    path = tmp_path / "constant.keras"
    model.save(path)
    loaded = sr.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    init = loaded.layers[0]._embeddings_initializer
    assert isinstance(init, sr.initializers.Constant)
    np.testing.assert_allclose(init((6, 2)), MATRIX)
