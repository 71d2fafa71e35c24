"""Conv1D and the 1-D pooling layers: gradients against central finite differences
(float64), the convolution against a direct triple loop, TensorFlow's padding, tie and
mask rules on hand-checked examples, shapes, configs and bad input.

Shapes: B samples, L steps, C channels, K kernel taps, F filters.
"""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scratchrnn.layers.convolutional import Conv1D, padding_amounts
from scratchrnn.layers.pooling import (
    AveragePooling1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    MaxPooling1D,
)
from scratchrnn.ops import activations as act

from .cells import examples, min_kink_distance
from .gradcheck import assert_gradients_match, weighted_sum

ACTIVATIONS = sorted(act.ACTIVATIONS) + ["softmax", None]
#: (strides, dilation_rate) pairs; Keras refuses both > 1.
STRIDES_DILATIONS = [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)]


def reference_conv1d(x, kernel, bias, strides, padding, dilation):
    """The definition, one multiply-add at a time: ``z[b, t, f] = Σ_j Σ_c x[b, i, c]
    kernel[j, c, f] + bias[f]`` with ``i = t s + j d - left``, zero outside ``[0, L)``.
    The padding is worked out here from TensorFlow's documented rules, not the layer's."""
    B, L, C = x.shape
    K, _, F = kernel.shape
    span = dilation * (K - 1) + 1
    if padding == "valid":
        out, left = (L - span) // strides + 1, 0
    elif padding == "causal":
        out, left = (L - 1) // strides + 1, span - 1
    else:
        out = -(-L // strides)
        left = max((out - 1) * strides + span - L, 0) // 2
    z = np.zeros((B, out, F))
    for b, t, f in itertools.product(range(B), range(out), range(F)):
        total = 0.0 if bias is None else bias[f]
        for j, c in itertools.product(range(K), range(C)):
            i = t * strides + j * dilation - left
            if 0 <= i < L:
                total += x[b, i, c] * kernel[j, c, f]
        z[b, t, f] = total
    return z


def randomize(layer, input_shape, seed=0, scale=0.6):
    """Build ``layer`` and give it uniform(-scale, scale) weights, bias included."""
    rng = np.random.default_rng(seed)
    layer.build(input_shape)
    layer.set_weights([rng.uniform(-scale, scale, w.shape) for w in layer.get_weights()])
    return layer


def check_gradients(layer, x, mask=None, seed=0):
    """Finite differences of ``sum(layer(x) * G)`` with respect to ``x`` and every weight
    (installed with ``set_weights`` at each evaluation) against ``layer.backward(G)``."""
    params = {"x": x, **{f"w{i}": w for i, w in enumerate(layer.get_weights())}}
    n_weights = len(params) - 1

    def call():
        if n_weights:
            layer.set_weights([params[f"w{i}"] for i in range(n_weights)])
        return layer(params["x"], mask=mask)

    upstream = np.random.default_rng(seed).normal(size=call().shape)
    call()
    analytic = {"x": layer.backward(upstream),
                **{f"w{i}": g for i, g in enumerate(layer.get_gradients())}}
    assert min_kink_distance(call) > 1e-4, "a pre-activation sits on a kink"
    return assert_gradients_match(lambda: weighted_sum([call()], [upstream]), params,
                                  analytic)


def conv_kink_free(layer, x):
    return min_kink_distance(lambda: layer(x)) > 1e-4


# --- Conv1D: the forward pass --------------------------------------------------------------

@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("strides, dilation", STRIDES_DILATIONS)
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv_matches_the_direct_loop(padding, strides, dilation, use_bias):
    rng = np.random.default_rng(strides * 10 + dilation)
    for L, K in [(7, 3), (8, 2), (5, 1), (9, 4)]:
        if padding == "valid" and dilation * (K - 1) + 1 > L:
            continue
        x = rng.normal(size=(2, L, 3))
        layer = randomize(Conv1D(2, K, strides=strides, padding=padding,
                                 dilation_rate=dilation, use_bias=use_bias,
                                 dtype="float64"), x.shape, seed=L)
        bias = layer.bias if use_bias else None
        expected = reference_conv1d(x, layer.kernel, bias, strides, padding, dilation)
        np.testing.assert_allclose(layer(x), expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("length, size, strides, dilation, expected", [
    (5, 4, 1, 1, (1, 2)),    # total 3: the odd step goes right
    (5, 3, 2, 1, (1, 1)),    # ⌈5/2⌉ = 3 windows: (3-1)·2 + 3 - 5 = 2
    (6, 3, 2, 1, (0, 1)),    # (3-1)·2 + 3 - 6 = 1
    (6, 1, 3, 1, (0, 0)),
    (4, 3, 1, 2, (2, 2)),    # span 5: total 4
    (7, 2, 4, 1, (0, 0)),    # (2-1)·4 + 2 - 7 < 0: none
])
def test_same_padding_is_tensorflows_split(length, size, strides, dilation, expected):
    assert padding_amounts(length, size, strides, dilation, "same") == expected


def test_causal_output_ignores_the_future():
    rng = np.random.default_rng(0)
    layer = randomize(Conv1D(2, 3, padding="causal", dilation_rate=2, dtype="float64"),
                      (1, 9, 2))
    x = rng.normal(size=(1, 9, 2))
    y = layer(x)
    for t in range(9):
        changed = x.copy()
        changed[:, t + 1:] = rng.normal(size=changed[:, t + 1:].shape)
        np.testing.assert_array_equal(layer(changed)[:, :t + 1], y[:, :t + 1])


def test_conv_keeps_float32_and_casts_inputs():
    layer = Conv1D(3, 2, activation="tanh", seed=1)
    x64 = np.random.default_rng(0).normal(size=(2, 5, 4))
    y = layer(x64)
    assert y.dtype == np.float32 and layer.kernel.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and all(g.dtype == np.float32
                                          for g in layer.get_gradients())
    assert layer(x64.astype(int)).dtype == np.float32


# --- Conv1D: gradients ---------------------------------------------------------------------

@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("strides, dilation", STRIDES_DILATIONS)
@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "softmax"])
def test_conv_gradients_grid(padding, strides, dilation, activation):
    """Every padding × (strides, dilation) pair, for linear, kinked, saturating and
    non-elementwise activations; L = 8 with K = 3 leaves an uneven remainder for strides
    2 and 3, so that the last steps are read by no window (their gradient is zero)."""
    x = np.random.default_rng(1).normal(size=(2, 8, 2))
    layer = randomize(Conv1D(3, 3, strides=strides, padding=padding, dilation_rate=dilation,
                             activation=activation, dtype="float64"), x.shape, seed=2)
    check_gradients(layer, x, seed=3)


@settings(max_examples=examples(150))
@given(batch=st.integers(1, 3), length=st.integers(1, 9), channels=st.integers(1, 3),
       filters=st.integers(1, 3), kernel_size=st.integers(1, 4),
       pair=st.sampled_from(STRIDES_DILATIONS),
       padding=st.sampled_from(["valid", "same", "causal"]),
       activation=st.sampled_from(ACTIVATIONS), use_bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_conv_gradients_match_finite_differences(batch, length, channels, filters,
                                                 kernel_size, pair, padding, activation,
                                                 use_bias, seed):
    strides, dilation = pair
    assume(padding != "valid" or dilation * (kernel_size - 1) + 1 <= length)
    x = np.random.default_rng(seed).normal(size=(batch, length, channels))
    scale = 0.3 if activation == "exponential" else 0.6
    layer = randomize(Conv1D(filters, kernel_size, strides=strides, padding=padding,
                             dilation_rate=dilation, activation=activation,
                             use_bias=use_bias, dtype="float64"), x.shape, seed, scale)
    assume(conv_kink_free(layer, x))
    check_gradients(layer, x, seed=seed + 1)


@settings(max_examples=examples(40))
@given(batch=st.integers(1, 3), length=st.integers(1, 9), channels=st.integers(1, 3),
       kernel_size=st.integers(1, 4), pair=st.sampled_from(STRIDES_DILATIONS),
       padding=st.sampled_from(["valid", "same", "causal"]))
def test_conv_output_shape(batch, length, channels, kernel_size, pair, padding):
    strides, dilation = pair
    layer = Conv1D(2, kernel_size, strides=strides, padding=padding, dilation_rate=dilation)
    shape = (batch, length, channels)
    if padding == "valid" and dilation * (kernel_size - 1) + 1 > length:
        with pytest.raises(ValueError, match="at least"):
            layer.compute_output_shape(shape)
        return
    assert layer(np.zeros(shape)).shape == layer.compute_output_shape(shape)
    assert layer.compute_output_shape((None, None, channels)) == (None, None, 2)


# --- pooling ---------------------------------------------------------------------------------

@settings(max_examples=examples(100))
@given(cls=st.sampled_from([MaxPooling1D, AveragePooling1D]), batch=st.integers(1, 3),
       length=st.integers(1, 9), channels=st.integers(1, 3), pool_size=st.integers(1, 4),
       strides=st.sampled_from([None, 1, 2, 3]), padding=st.sampled_from(["valid", "same"]),
       seed=st.integers(0, 2**16))
def test_pooling_gradients_and_shapes(cls, batch, length, channels, pool_size, strides,
                                      padding, seed):
    """Continuous random inputs have no ties, so max pooling is differentiable there."""
    assume(padding == "same" or pool_size <= length)
    layer = cls(pool_size, strides=strides, padding=padding, dtype="float64")
    x = np.random.default_rng(seed).normal(size=(batch, length, channels))
    assert layer(x).shape == layer.compute_output_shape(x.shape)
    assert layer.compute_output_shape((None, None, channels)) == (None, None, channels)
    check_gradients(layer, x, seed=seed + 1)
    assert layer.get_gradients() == []


def test_max_pooling_ties_go_to_the_first_maximum_and_overlaps_accumulate():
    """TensorFlow's MaxPoolGrad (measured with tf.GradientTape on these inputs)."""
    x = np.array([1.0, 3, 3, 2, 3, 0]).reshape(1, 6, 1)
    for pool_size, strides, padding, dx in [(2, 2, "valid", [0, 1, 1, 0, 1, 0]),
                                            (3, 1, "valid", [0, 2, 1, 0, 1, 0]),
                                            (3, 2, "same", [0, 1, 1, 0, 1, 0]),
                                            (2, 1, "same", [0, 2, 1, 0, 2, 1])]:
        layer = MaxPooling1D(pool_size, strides, padding, dtype="float64")
        y = layer(x)
        np.testing.assert_array_equal(layer.backward(np.ones_like(y)).ravel(), dx)


def test_same_max_pooling_pads_with_minus_infinity():
    x = -np.arange(1.0, 6.0).reshape(1, 5, 1)
    np.testing.assert_array_equal(MaxPooling1D(2, 2, "same")(x).ravel(), [-1, -3, -5])


def test_same_average_pooling_divides_by_the_real_steps():
    """TensorFlow's SAME average ignores the padding (values measured in Keras)."""
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)
    for pool_size, strides, expected in [(2, 2, [1.5, 3.5, 5.0]),
                                         (3, 1, [1.5, 2.0, 3.0, 4.0, 4.5]),
                                         (4, 3, [2.0, 4.0])]:
        layer = AveragePooling1D(pool_size, strides, "same", dtype="float64")
        np.testing.assert_allclose(layer(x).ravel(), expected, rtol=1e-15)
    layer = AveragePooling1D(3, 2, "same", dtype="float64")
    layer(x[:, :4])
    np.testing.assert_allclose(layer.backward(np.ones((1, 2, 1))).ravel(),
                               [1 / 3, 1 / 3, 1 / 3 + 1 / 2, 1 / 2], rtol=1e-15)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_global_average_pooling_gradients(keepdims, masked):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 5, 2))
    mask = (rng.random((3, 5)) < 0.6) | (np.arange(5) == 2) if masked else None
    layer = GlobalAveragePooling1D(keepdims=keepdims, dtype="float64")
    y = layer(x, mask=mask)
    assert y.shape == layer.compute_output_shape(x.shape)
    weights = np.ones((3, 5)) if mask is None else mask
    expected = (x * weights[:, :, None]).sum(1) / weights.sum(1, keepdims=True)
    np.testing.assert_allclose(y.reshape(3, 2), expected, rtol=1e-14)
    check_gradients(layer, x, mask=mask, seed=5)


def test_global_average_pooling_ignores_masked_values():
    """Masked steps are selected away (Keras's ``where``): an inf there changes nothing;
    a sample with every step masked averages nothing, NaN, with a zero gradient."""
    x = np.array([[[1.0], [np.inf], [3.0]], [[4.0], [5.0], [6.0]]])
    mask = np.array([[True, False, True], [False, False, False]])
    layer = GlobalAveragePooling1D(dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # no division warning: NaN silently, as Keras
        y = layer(x, mask=mask)
    assert y[0, 0] == 2.0 and np.isnan(y[1, 0])
    np.testing.assert_array_equal(layer.backward(np.ones((2, 1)))[..., 0],
                                  [[0.5, 0, 0.5], [0, 0, 0]])
    assert layer.compute_mask(x, mask) is None


def test_global_max_pooling_shares_ties_and_keeps_dims():
    """TensorFlow's reduce_max gradient splits among equal maxima (measured)."""
    x = np.array([[[3.0, 1], [3, 2], [1, 2], [3, 0]]])
    layer = GlobalMaxPooling1D(keepdims=True, dtype="float64")
    y = layer(x)
    np.testing.assert_array_equal(y, [[[3, 2]]])
    assert y.shape == layer.compute_output_shape((1, 4, 2)) == (1, 1, 2)
    assert layer.compute_output_shape((None, None, 2)) == (None, 1, 2)
    np.testing.assert_allclose(layer.backward(np.ones((1, 1, 2)))[0],
                               [[1 / 3, 0], [1 / 3, 0.5], [0, 0.5], [1 / 3, 0]], rtol=1e-15)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_max_pooling_gradients(keepdims):
    x = np.random.default_rng(6).normal(size=(3, 4, 2))
    check_gradients(GlobalMaxPooling1D(keepdims=keepdims, dtype="float64"), x, seed=7)


@pytest.mark.parametrize("layer", [Conv1D(2, 2), MaxPooling1D(), AveragePooling1D(2),
                                   GlobalMaxPooling1D()], ids=lambda layer: type(layer).__name__)
def test_layers_without_masking_warn_and_drop_the_mask(layer):
    """As Keras 3.15: a mask reaching a layer that does not support masking is destroyed
    with a warning; the output is the unmasked one (GlobalMaxPooling1D's maximum counts
    the masked steps) and no mask is passed on."""
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    x[0, 1] = 100.0
    mask = np.array([[True, False, True, True], [True, True, True, False]])
    expected = layer(x)
    with pytest.warns(UserWarning, match="does not support masking"):
        y = layer(x, mask=mask)
    np.testing.assert_array_equal(y, expected)
    assert layer.compute_mask(x, mask) is None


# --- configuration -----------------------------------------------------------------------

@pytest.mark.parametrize("layer", [
    Conv1D(4, (3,), strides=[2], padding="SAME", activation="relu", use_bias=False,
           kernel_initializer="he_normal", seed=3, name="c", dtype="float64"),
    Conv1D(2, 5, padding="causal", dilation_rate=(2,), data_format=None),
    MaxPooling1D((3,), strides=None, padding="Same"),
    AveragePooling1D(2, strides=(1,)),
    GlobalAveragePooling1D(keepdims=True),
    GlobalMaxPooling1D(data_format="channels_last"),
], ids=lambda layer: type(layer).__name__)
def test_config_round_trips_with_plain_ints(layer):
    config = layer.get_config()
    for key in ("kernel_size", "strides", "dilation_rate", "pool_size"):
        if key in config:
            assert type(config[key]) is int, key
    assert config.get("padding", "valid") in ("valid", "same", "causal")
    assert config["data_format"] == "channels_last"
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_pooling_strides_default_to_pool_size():
    assert MaxPooling1D(3).get_config()["strides"] == 3
    assert MaxPooling1D().pool_size == 2


def test_conv_weights_have_keras_layout():
    layer = Conv1D(5, 3, seed=0)
    layer.build((None, 7, 4))
    assert layer.weight_names == ["kernel", "bias"]
    assert [w.shape for w in layer.get_weights()] == [(3, 4, 5), (5,)]
    assert not layer.bias.any()
    # glorot_uniform: fan_in = K C, fan_out = K F
    assert np.abs(layer.kernel).max() <= np.sqrt(6 / (3 * 4 + 3 * 5))
    no_bias = Conv1D(5, 3, use_bias=False)
    no_bias.build((None, None, 4))
    assert no_bias.weight_names == ["kernel"] and no_bias.count_params() == 60


# --- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs, error, argument", [
    (Conv1D, dict(filters=0, kernel_size=2), ValueError, "filters"),
    (Conv1D, dict(filters=2.5, kernel_size=2), TypeError, "filters"),
    (Conv1D, dict(filters=2, kernel_size=0), ValueError, "kernel_size"),
    (Conv1D, dict(filters=2, kernel_size=(2, 2)), ValueError, "kernel_size"),
    (Conv1D, dict(filters=2, kernel_size=2, strides=-1), ValueError, "strides"),
    (Conv1D, dict(filters=2, kernel_size=2, dilation_rate=0), ValueError, "dilation_rate"),
    (Conv1D, dict(filters=2, kernel_size=2, strides=2, dilation_rate=2), ValueError,
     "dilation_rate"),
    (Conv1D, dict(filters=2, kernel_size=2, padding="full"), ValueError, "padding"),
    (Conv1D, dict(filters=2, kernel_size=2, data_format="channels_first"), ValueError,
     "data_format"),
    (Conv1D, dict(filters=2, kernel_size=2, activation="swish"), ValueError, "activation"),
    (Conv1D, dict(filters=2, kernel_size=2, kernel_initializer="nope"), ValueError,
     "kernel_initializer"),
    (Conv1D, dict(filters=2, kernel_size=2, use_bias=1), TypeError, "use_bias"),
    (MaxPooling1D, dict(pool_size=0), ValueError, "pool_size"),
    (MaxPooling1D, dict(strides=0), ValueError, "strides"),
    (MaxPooling1D, dict(padding="causal"), ValueError, "padding"),
    (AveragePooling1D, dict(pool_size=2, data_format="channels_first"), ValueError,
     "data_format"),
    (GlobalAveragePooling1D, dict(keepdims="yes"), TypeError, "keepdims"),
    (GlobalMaxPooling1D, dict(data_format="NWC"), ValueError, "data_format"),
])
def test_bad_arguments_name_the_argument(cls, kwargs, error, argument):
    with pytest.raises(error, match=f"`{argument}`"):
        cls(**kwargs)


@pytest.mark.parametrize("make", [lambda: Conv1D(2, 3), lambda: MaxPooling1D(3),
                                  lambda: AveragePooling1D(3), GlobalAveragePooling1D,
                                  GlobalMaxPooling1D])
def test_bad_inputs_and_gradients(make):
    layer = make()
    with pytest.raises(RuntimeError, match="forward call"):
        layer.backward(np.zeros((1, 1, 1)))
    with pytest.raises(ValueError, match="`inputs` must be a 3-D"):
        layer(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="`inputs` must have at least one"):
        layer(np.zeros((2, 0, 3)))
    with pytest.raises(TypeError, match="`inputs` must hold real numbers"):
        layer(np.full((1, 4, 3), "a"))
    y = layer(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="`d_out` must have shape"):
        layer.backward(np.zeros(y.shape[:-1] + (y.shape[-1] + 1,)))


def test_too_short_sequences_and_wrong_channels_are_refused():
    with pytest.raises(ValueError, match=r"at least 5 steps .*'valid'.*got 4"):
        Conv1D(2, 3, dilation_rate=2)(np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match="pool_size=3 steps"):
        MaxPooling1D(3)(np.zeros((1, 2, 2)))
    assert AveragePooling1D(3, padding="same")(np.zeros((1, 2, 2))).shape == (1, 1, 2)
    layer = Conv1D(2, 3)
    layer(np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match="`inputs` must have 2 channels"):
        layer(np.zeros((1, 4, 3)))
    with pytest.raises(ValueError, match="`input_shape`"):
        layer.compute_output_shape((4, 2))
    with pytest.raises(ValueError, match="`mask` must have shape"):
        GlobalAveragePooling1D()(np.zeros((2, 4, 1)), mask=np.ones((2, 3), bool))
