"""The feed-forward layers: ``Dense``, ``Dropout``, ``Masking``, ``Embedding``, ``Flatten``,
``RepeatVector`` and ``TimeDistributed``.  Gradient checks in float64 against central
finite differences, shapes under hypothesis, masks, configuration and bad input.
"""

import re
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn import initializers, layers
from scratchrnn.layers.core import Dense, Dropout, Masking
from scratchrnn.layers.embedding import Embedding
from scratchrnn.layers.reshaping import Flatten, RepeatVector
from scratchrnn.layers.time_distributed import TimeDistributed

from .cells import examples
from .gradcheck import assert_gradients_match, numerical_gradient, relative_error, weighted_sum

ACTIVATIONS = (None, "linear", "relu", "sigmoid", "tanh", "softmax", "hard_sigmoid",
               "softsign", "exponential", "elu")
OURS = {cls.__name__: cls for cls in (Dense, Dropout, Masking, Embedding, Flatten,
                                      RepeatVector, TimeDistributed)}


def says(*parts):
    """A regex matching the message parts in order, each taken literally."""
    return ".*".join(re.escape(p) for p in parts)


def normal(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def randomize(layer, input_shape, seed=0):
    """Build ``layer`` and give it uniform(-0.6, 0.6) weights (biases included)."""
    rng = np.random.default_rng(seed)
    layer.build(input_shape)
    layer.set_weights([rng.uniform(-0.6, 0.6, w.shape) for w in layer.get_weights()])
    return layer


def check_gradients(make_layer, x, training=False, seed=0, input_gradient=True):
    """Finite differences of ``sum(layer(x) * G)`` against ``backward`` and
    ``get_gradients``, for ``x`` (unless ``input_gradient=False``) and every weight.

    ``make_layer()`` gives the layer for each evaluation, so that a random layer can be
    rebuilt from its seed and draw the same mask every time."""
    layer = make_layer()
    params = {f"w{i}": w for i, w in enumerate(layer.get_weights())}
    if input_gradient:
        params["x"] = x
    upstream = normal(layer(x, training=training).shape, seed + 100)

    def call():
        layer = make_layer()
        if layer.weights:
            layer.set_weights([params[f"w{i}"] for i in range(len(layer.weights))])
        return layer, layer(params.get("x", x), training=training)

    def loss():
        return weighted_sum([call()[1]], [upstream])

    layer, _ = call()
    dx = layer.backward(upstream)
    analytic = {f"w{i}": g for i, g in enumerate(layer.get_gradients())}
    if input_gradient:
        analytic["x"] = dx
    return assert_gradients_match(loss, params, analytic)


def dense(activation=None, shape=(4, 3), units=3, use_bias=True, seed=0):
    layer = Dense(units, activation=activation, use_bias=use_bias, dtype="float64")
    return randomize(layer, shape, seed)


# --- Dense ------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 3)], ids=["2d", "3d"])
def test_dense_gradients(activation, shape):
    layer = dense(activation, shape)
    check_gradients(lambda: layer, normal(shape, 1))


def test_dense_gradients_without_bias():
    layer = dense("tanh", (2, 3, 3), use_bias=False)
    assert layer.weight_names == ["kernel"]
    check_gradients(lambda: layer, normal((2, 3, 3), 1))


@pytest.mark.parametrize("activation", ["sigmoid", "softmax", "tanh"])
def test_dense_logits_and_backward_logits(activation):
    """``logits`` is ``x W + b``; ``backward_logits`` is the gradient of
    ``sum(logits * G)``, with the weight gradients set as by ``backward``."""
    layer = dense(activation, (2, 4, 3))
    assert layer.logits is None
    params = {"x": normal((2, 4, 3), 1), "w0": layer.kernel.copy(), "w1": layer.bias.copy()}
    upstream = normal((2, 4, 3), 2)

    def logits():
        layer.set_weights([params["w0"], params["w1"]])
        layer(params["x"])
        return layer.logits

    np.testing.assert_allclose(logits(), params["x"] @ params["w0"] + params["w1"],
                               rtol=1e-14)
    with pytest.raises(ValueError):
        logits()[0, 0, 0] = 1.0                        # read-only
    dx = layer.backward_logits(upstream)
    analytic = {"x": dx, "w0": layer.get_gradients()[0], "w1": layer.get_gradients()[1]}
    assert_gradients_match(lambda: weighted_sum([logits()], [upstream]), params, analytic)


@settings(max_examples=examples(30))
@given(leading=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       features=st.integers(1, 4), units=st.integers(1, 4),
       activation=st.sampled_from(ACTIVATIONS), use_bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_dense_any_rank(leading, features, units, activation, use_bias, seed):
    shape = (*leading, features)
    layer = randomize(Dense(units, activation, use_bias, dtype="float64"), shape, seed)
    assert layer.compute_output_shape(shape) == (*leading, units)
    check_gradients(lambda: layer, normal(shape, seed), seed=seed)


def test_dense_weights_and_initializers():
    layer = Dense(4, kernel_initializer="ones", bias_initializer="ones", seed=1)
    y = layer(np.ones((2, 3), np.float32))
    assert layer.weight_names == ["kernel", "bias"]
    assert [w.shape for w in layer.get_weights()] == [(3, 4), (4,)]
    assert y.dtype == np.float32 and np.all(y == 4)
    default = Dense(4, seed=1)
    default.build((None, 5))
    limit = np.sqrt(6 / (5 + 4))
    assert np.all(np.abs(default.kernel) <= limit) and np.all(default.bias == 0)
    assert default.count_params() == 24


# --- Dropout -----------------------------------------------------------------------------

@pytest.mark.parametrize("noise_shape", [None, (None, 1, None), (1, 3, 1)])
def test_dropout_gradients_at_training(noise_shape):
    """The same seed draws the same mask, so the loss is a fixed function of x."""
    make = lambda: Dropout(0.4, noise_shape=noise_shape, seed=5, dtype="float64")  # noqa: E731
    x = normal((2, 3, 4), 1)
    check_gradients(make, x, training=True)
    layer = make()
    y = layer(x, training=True)
    assert layer.dropout_mask.shape == tuple(n or s for n, s in
                                             zip(noise_shape or (None,) * 3, x.shape))
    np.testing.assert_array_equal(y, x * layer.dropout_mask)


def test_dropout_mask_values_rate_and_fresh_draws():
    layer = Dropout(0.3, seed=0)
    x = np.ones((200, 100), np.float32)
    y = layer(x, training=True)
    mask = layer.dropout_mask
    scale = np.float32(1 / 0.7)
    assert set(np.unique(mask).tolist()) == {0.0, float(scale)}
    assert abs(np.mean(mask == 0) - 0.3) < 5 * np.sqrt(0.3 * 0.7 / mask.size)
    assert y.dtype == np.float32 and mask.dtype == np.float32
    layer(x, training=True)
    assert not np.array_equal(layer.dropout_mask, mask)
    again = Dropout(0.3, seed=0)
    again(x, training=True)
    np.testing.assert_array_equal(again.dropout_mask, mask)


@pytest.mark.parametrize("rate, training", [(0.5, False), (0.0, True)])
def test_dropout_identity(rate, training):
    layer = Dropout(rate, dtype="float64")
    x = normal((3, 4))
    np.testing.assert_array_equal(layer(x, training=training), x)
    assert layer.dropout_mask is None
    g = normal((3, 4), 1)
    np.testing.assert_array_equal(layer.backward(g), g)
    assert layer.get_gradients() == []


# --- Masking ------------------------------------------------------------------------------

@pytest.mark.parametrize("mask_value", [0.0, 0.5])
def test_masking_output_mask_and_gradient(mask_value):
    """dx is dy at real steps and 0 at masked ones (TensorFlow's gradient of ``where``).
    At a masked step the output is a jump, so finite differences are taken at the real
    steps only."""
    x = normal((2, 4, 3))
    x[0, 1] = mask_value
    x[1, [0, 3]] = mask_value
    x[1, 2, :2] = mask_value                # equal in some features only: a real step
    layer = Masking(mask_value, dtype="float64")
    expected_mask = np.array([[True, False, True, True], [False, True, True, False]])
    np.testing.assert_array_equal(layer.compute_mask(x), expected_mask)
    y = layer(x)
    np.testing.assert_array_equal(y, np.where(expected_mask[..., None], x, 0))
    upstream = normal(y.shape, 1)
    dx = layer.backward(upstream)
    np.testing.assert_array_equal(dx[~expected_mask], 0)
    numerical = numerical_gradient(lambda: weighted_sum([layer(x)], [upstream]), x)
    assert relative_error(numerical[expected_mask], dx[expected_mask]) < 1e-7


def test_masking_replaces_an_incoming_mask():
    """Keras's Masking.compute_mask ignores the previous mask (checked against Keras in
    parity ``masking-value-incoming-mask``)."""
    x = np.ones((1, 3, 2))
    x[0, 1] = 0
    incoming = np.array([[False, True, True]])
    np.testing.assert_array_equal(Masking().compute_mask(x, incoming), [[True, False, True]])


# --- Embedding ----------------------------------------------------------------------------

def embedding(seed=0, **kwargs):
    layer = Embedding(6, 3, dtype="float64", seed=seed, **kwargs)
    layer.set_weights([np.random.default_rng(seed).normal(size=(6, 3))])
    return layer


def test_embedding_lookup_and_gradient_with_repeated_indices():
    layer = embedding()
    indices = np.array([[1, 3, 3, 0], [5, 3, 1, 1]])
    y = layer(indices)
    np.testing.assert_array_equal(y, layer.embeddings[indices])
    errors = check_gradients(lambda: layer, indices, input_gradient=False)
    assert set(errors) == {"w0"}
    grad = layer.get_gradients()[0]
    np.testing.assert_array_equal(grad[[2, 4]], 0)            # rows never looked up


@settings(max_examples=examples(20))
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=3), seed=st.integers(0, 2**16))
def test_embedding_any_index_shape(shape, seed):
    layer = embedding(seed)
    indices = np.random.default_rng(seed).integers(0, 6, size=shape)
    y = layer(indices)
    assert y.shape == layer.compute_output_shape(tuple(shape)) == (*shape, 3)
    upstream = normal(y.shape, seed)
    assert layer.backward(upstream) is None
    expected = np.zeros((6, 3))
    for index, g in zip(np.ravel(indices), upstream.reshape(-1, 3)):
        expected[index] += g
    np.testing.assert_allclose(layer.get_gradients()[0], expected, rtol=1e-14, atol=1e-15)


def test_embedding_dtype_float_indices_and_initializer():
    layer = Embedding(10, 4, seed=0)
    y = layer(np.array([[1.0, 2.0]]))                  # floats holding integers
    assert y.dtype == np.float32 and layer.embeddings.dtype == np.float32
    np.testing.assert_array_equal(y[0], layer.embeddings[[1, 2]])
    assert np.all(np.abs(layer.embeddings) <= 0.05)    # Keras's "uniform": U(-0.05, 0.05)
    assert initializers.get("uniform", "x") is initializers.random_uniform


def test_embedding_mask_zero_replaces_the_incoming_mask():
    indices = np.array([[3, 0, 2], [0, 0, 1]])
    layer = Embedding(4, 2, mask_zero=True)
    assert layer.supports_masking
    np.testing.assert_array_equal(layer.compute_mask(indices, np.ones((2, 3), bool)),
                                  indices != 0)
    plain = Embedding(4, 2)
    assert not plain.supports_masking and plain.compute_mask(indices) is None
    with pytest.warns(UserWarning, match="does not support masking"):
        plain(indices, mask=np.ones((2, 3), bool))


@pytest.mark.parametrize("as_list", [True, False])
def test_embedding_frozen_pretrained_vectors(as_list):
    table = normal((5, 2))
    layer = Embedding(5, 2, weights=[table] if as_list else table, trainable=False,
                      dtype="float64")
    np.testing.assert_array_equal(layer.get_weights()[0], table)
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == 1
    assert layer.non_trainable_weights[0] is layer.embeddings
    table[0, 0] = 99.0                                 # ours is a copy
    assert layer.embeddings[0, 0] != 99.0
    with pytest.raises(ValueError, match=says("`weights[embeddings]`", "(5, 2)", "(5, 3)")):
        Embedding(5, 2, weights=[np.zeros((5, 3))])


# --- Flatten, RepeatVector ---------------------------------------------------------------

@settings(max_examples=examples(20))
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=4),
       data_format=st.sampled_from([None, "channels_last", "channels_first"]),
       seed=st.integers(0, 2**16))
def test_flatten_gradients_and_shapes(shape, data_format, seed):
    layer = Flatten(data_format, dtype="float64")
    x = normal(shape, seed)
    y = layer(x)
    assert y.shape == layer.compute_output_shape(tuple(shape))
    moved = np.moveaxis(x, 1, -1) if data_format == "channels_first" and x.ndim > 2 else x
    np.testing.assert_array_equal(y, moved.reshape(len(x), -1))
    check_gradients(lambda: layer, x, seed=seed)


def test_flatten_output_shape_with_unknown_sizes():
    assert Flatten().compute_output_shape((None, 2, None)) == (None, None)
    assert Flatten().compute_output_shape((None, 2, 3)) == (None, 6)
    assert Flatten().compute_output_shape((4,)) == (4, 1)


@settings(max_examples=examples(20))
@given(batch=st.integers(1, 3), features=st.integers(1, 3), n=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_repeat_vector_gradients_and_shapes(batch, features, n, seed):
    layer = RepeatVector(n, dtype="float64")
    x = normal((batch, features), seed)
    y = layer(x)
    assert y.shape == layer.compute_output_shape(x.shape) == (batch, n, features)
    assert all(np.array_equal(y[:, k], x) for k in range(n))
    check_gradients(lambda: layer, x, seed=seed)


@pytest.mark.parametrize("layer, x", [(Flatten(), np.ones((2, 3, 4))),
                                      (RepeatVector(2), np.ones((2, 3)))])
def test_reshaping_layers_drop_masks_as_keras(layer, x):
    with pytest.warns(UserWarning, match="does not support masking"):
        layer(x, mask=np.ones(x.shape[:2], bool))
    assert layer.compute_mask(x, np.ones(x.shape[:2], bool)) is None


# --- TimeDistributed -----------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["tanh", "softmax"])
@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 2, 4)], ids=["3d", "4d"])
def test_time_distributed_dense_gradients(activation, shape):
    td = TimeDistributed(Dense(3, activation, dtype="float64"))
    randomize(td, shape)
    x = normal(shape, 1)
    y = td(x)
    assert y.shape == td.compute_output_shape(shape) == (*shape[:-1], 3)
    np.testing.assert_allclose(y, td.layer(x), rtol=1e-14)  # Dense on any rank: the same
    check_gradients(lambda: td, x)


def test_time_distributed_dropout_and_embedding():
    make = lambda: TimeDistributed(Dropout(0.5, seed=2, dtype="float64"))  # noqa: E731
    check_gradients(make, normal((2, 3, 4)), training=True)
    td = TimeDistributed(embedding())
    indices = np.array([[[1, 2], [0, 5]], [[3, 3], [4, 1]]])
    y = td(indices)
    np.testing.assert_array_equal(y, td.layer.embeddings[indices])
    assert td.backward(np.ones(y.shape)) is None
    assert td.get_gradients()[0][3].tolist() == [2.0, 2.0, 2.0]


def test_time_distributed_delegates_weights_and_passes_the_mask():
    inner = Dense(2, dtype="float64")
    td = TimeDistributed(inner)
    assert td.layer is inner and td.name == "time_distributed" and not td.built
    td.build((None, 5, 3))
    assert td.built and td.weights[0] is inner.kernel and td.count_params() == 8
    td.set_weights([np.ones((3, 2)), np.zeros(2)])
    np.testing.assert_array_equal(inner.kernel, 1)
    assert td.get_weights()[0].shape == (3, 2) and td.dtype == np.float64
    td.trainable = False
    assert not inner.trainable and td.trainable_weights == []
    assert len(td.non_trainable_weights) == 2
    mask = np.array([[True, False], [True, True]])
    td(np.ones((2, 2, 3)), mask=mask)
    td.backward(np.ones((2, 2, 2)))
    assert [g.shape for g in td.get_gradients()] == [(3, 2), (2,)]
    assert td.compute_mask(np.ones((2, 2, 3)), mask) is mask


# --- masks passed on, configuration, dtypes ---------------------------------------------

@pytest.mark.parametrize("layer", [Dense(2), Dropout(0.5), TimeDistributed(Dense(2))],
                         ids=["Dense", "Dropout", "TimeDistributed"])
def test_masks_pass_through_unchanged(layer):
    x, mask = np.ones((2, 3, 4)), np.array([[True, False, True], [False, True, True]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # supports masking: no warning
        layer(x, mask=mask, training=True)
    assert layer.supports_masking and layer.compute_mask(x, mask) is mask


CONFIGURED = [
    Dense(3, "softmax", use_bias=False, kernel_initializer="he_normal", name="d", seed=4,
          dtype="float64", trainable=False),
    Dense(2),
    Dropout(0.25, noise_shape=[None, 1], seed=1),
    Masking(mask_value=-1),
    Embedding(5, 2, embeddings_initializer="zeros", mask_zero=True, seed=3),
    Flatten(data_format="channels_first"),
    RepeatVector(4, name="rep"),
    TimeDistributed(Dense(2, "relu"), name="td"),
]


@pytest.mark.parametrize("layer", CONFIGURED, ids=lambda layer: type(layer).__name__)
def test_config_round_trips(layer):
    config = layer.get_config()
    with mock.patch.dict(layers.CLASSES, OURS):         # until the package exports them
        again = type(layer).from_config(config)
    assert again.get_config() == config
    assert type(again) is type(layer)


def test_configs_hold_keras_names():
    assert Dense(3).get_config()["activation"] == "linear"
    assert Dropout(0.2, noise_shape=[None, 1]).get_config()["noise_shape"] == (None, 1)
    assert Masking(0).get_config()["mask_value"] == 0.0
    assert Flatten().get_config()["data_format"] == "channels_last"
    assert Embedding(2, 2).get_config()["embeddings_initializer"] == "uniform"
    assert TimeDistributed(Dense(1)).get_config()["layer"]["class_name"] == "Dense"
    assert {Dense(1).name, RepeatVector(1).name, Embedding(1, 1).name} == {
        "dense", "repeat_vector", "embedding"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept_end_to_end(dtype):
    x = np.ones((2, 3, 4), np.float16)
    for layer in (Dense(2, "softmax", dtype=dtype), Dropout(0.5, dtype=dtype),
                  Masking(dtype=dtype), Flatten(dtype=dtype),
                  TimeDistributed(Dense(2, dtype=dtype))):
        y = layer(x, training=True)
        assert y.dtype == dtype, type(layer).__name__
        assert layer.backward(np.ones(y.shape)).dtype == dtype, type(layer).__name__
        assert all(g.dtype == dtype for g in layer.get_gradients())
    rep = RepeatVector(2, dtype=dtype)
    assert rep(x[:, 0]).dtype == dtype
    assert Embedding(3, 2, dtype=dtype)(np.array([[1]])).dtype == dtype


# --- bad arguments and inputs ---------------------------------------------------------

@pytest.mark.parametrize("make, error, parts", [
    (lambda: Dense(0), ValueError, ("`units`", "positive integer", "0")),
    (lambda: Dense(2.5), TypeError, ("`units`", "positive integer", "2.5")),
    (lambda: Dense(2, "swish"), ValueError, ("`activation`", "'swish'")),
    (lambda: Dense(2, np.tanh), TypeError, ("`activation`", "activation name")),
    (lambda: Dense(2, kernel_initializer="nope"), ValueError, ("`kernel_initializer`",)),
    (lambda: Dense(2, use_bias="yes"), TypeError, ("`use_bias`", "True or False")),
    (lambda: Dense(2, dtype="float16"), ValueError, ("`dtype`", "float16")),
    (lambda: Dropout(1.0), ValueError, ("`rate`", "[0, 1)", "1.0")),
    (lambda: Dropout(-0.1), ValueError, ("`rate`", "[0, 1)", "-0.1")),
    (lambda: Dropout(0.5, noise_shape="abc"), TypeError, ("`noise_shape`", "'abc'")),
    (lambda: Dropout(0.5, noise_shape=(None, 0)), ValueError, ("`noise_shape[1]`", "0")),
    (lambda: Masking("x"), TypeError, ("`mask_value`", "real number", "'x'")),
    (lambda: Embedding(0, 2), ValueError, ("`input_dim`", "positive integer", "0")),
    (lambda: Embedding(3, -1), ValueError, ("`output_dim`", "positive integer", "-1")),
    (lambda: Embedding(3, 2, mask_zero=1), TypeError, ("`mask_zero`", "True or False")),
    (lambda: Embedding(3, 2, weights=[np.zeros((3, 2)), np.zeros(2)]), ValueError,
     ("`weights`", "[embeddings]", "list of 2 arrays")),
    (lambda: Flatten(data_format="nchw"), ValueError, ("`data_format`", "'nchw'")),
    (lambda: RepeatVector(0), ValueError, ("`n`", "positive integer", "0")),
    (lambda: RepeatVector(True), TypeError, ("`n`", "positive integer", "True")),
    (lambda: TimeDistributed(np.tanh), TypeError, ("`layer`", "Layer", "ufunc")),
])
def test_bad_arguments(make, error, parts):
    with pytest.raises(error, match=says(*parts)):
        make()


@pytest.mark.parametrize("call, error, parts", [
    (lambda: Dense(2)(np.ones(3)), ValueError, ("`inputs`", "at least 2", "(3,)")),
    (lambda: dense()(np.ones((4, 5))), ValueError, ("`inputs`", "3 features", "(4, 5)")),
    (lambda: Dense(2)(np.array(["a"])), TypeError, ("`inputs`", "real numbers")),
    (lambda: Masking()(np.ones(3)), ValueError, ("`inputs`", "at least 2", "(3,)")),
    (lambda: Dropout(0.5, noise_shape=(None, 1))(np.ones((2, 3, 4)), training=True),
     ValueError, ("`noise_shape`", "one entry per axis", "(2, 3, 4)")),
    (lambda: Dropout(0.5, noise_shape=(2, 2))(np.ones((2, 3)), training=True),
     ValueError, ("`noise_shape`", "broadcast", "(2, 3)")),
    (lambda: Embedding(4, 2)(np.array([[1.5]])), TypeError, ("`inputs`", "integer", "1.5")),
    (lambda: Embedding(4, 2)(np.array([True])), TypeError, ("`inputs`", "integer", "bool")),
    (lambda: Embedding(4, 2)(np.array(["1"])), TypeError, ("`inputs`", "integer")),
    (lambda: Embedding(4, 2)(np.array([[0, 4]])), ValueError,
     ("`inputs`", "[0, input_dim=4)", "got 4", "(0, 1)")),
    (lambda: Embedding(4, 2)(np.array([-1])), ValueError, ("`inputs`", "got -1", "(0,)")),
    (lambda: Flatten()(np.float64(1.0)), ValueError, ("`inputs`", "batch axis")),
    (lambda: RepeatVector(2)(np.ones((2, 3, 4))), ValueError,
     ("`inputs`", "2-D", "(2, 3, 4)")),
    (lambda: TimeDistributed(Dense(2))(np.ones((2, 3))), ValueError,
     ("`inputs`", "at least 3", "(2, 3)")),
    (lambda: TimeDistributed(Dense(2))(np.ones((2, 3, 4)), mask=np.ones((3, 2), bool)),
     ValueError, ("`mask`", "(2, 3, ...)", "(3, 2)")),
    (lambda: Dense(2).compute_output_shape((3,)), ValueError, ("`input_shape`", "(3,)")),
    (lambda: RepeatVector(2).compute_output_shape((1, 2, 3)), ValueError,
     ("`input_shape`", "(1, 2, 3)")),
])
def test_bad_inputs(call, error, parts):
    with pytest.raises(error, match=says(*parts)):
        call()


def _called(layer, x):
    layer(x, training=True)
    return layer


@pytest.mark.parametrize("layer, x", [
    (Dense(2), np.ones((2, 3))), (Dropout(0.5), np.ones((2, 3))), (Masking(), np.ones((2, 3))),
    (Embedding(4, 2), np.array([[1, 2]])), (Flatten(), np.ones((2, 3, 2))),
    (RepeatVector(2), np.ones((2, 3))), (TimeDistributed(Dense(2)), np.ones((2, 3, 4))),
], ids=lambda v: type(v).__name__ if not isinstance(v, np.ndarray) else "")
def test_backward_errors(layer, x):
    with pytest.raises(RuntimeError, match="backward\\(\\) needs a forward call first"):
        layer.backward(np.ones(3))
    out_shape = _called(layer, x)(x, training=True).shape
    bad = np.ones((*out_shape[:-1], out_shape[-1] + 1))
    with pytest.raises(ValueError, match=says("`d_out`", "must have shape", str(bad.shape))):
        layer.backward(bad)


def test_dense_backward_logits_errors():
    layer = Dense(2)
    with pytest.raises(RuntimeError, match="forward call first"):
        layer.backward_logits(np.ones((1, 2)))
    layer(np.ones((3, 4)))
    with pytest.raises(ValueError, match=says("`d_logits`", "(3, 2)", "(3, 3)")):
        layer.backward_logits(np.ones((3, 3)))
