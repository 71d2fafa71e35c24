"""Regularisers (``scratchrnn.regularizers``) and the layers' ``losses`` /
``regularization_gradients()``: Keras 3's formulas and defaults, gradients against finite
differences, serialisation, and (``-m keras``) Keras's own ``layer.losses`` and the
gradients of their sum by ``tf.GradientTape``."""

import json
import re

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import regularizers as R
from scratchrnn.layers import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    Dense,
    Embedding,
    SimpleRNN,
    TimeDistributed,
)

from .gradcheck import assert_gradients_match


def says(*parts):
    return ".*".join(re.escape(p) for p in parts)


def f32(x):
    """Keras casts a factor to float32 before it multiplies."""
    return float(np.float32(x))


W = np.array([[1.0, -2.0, 0.0], [0.5, 3.0, -0.25]])


# --- the formulas ----------------------------------------------------------------------

@pytest.mark.parametrize("reg, expected", [
    (R.L1(0.3), f32(0.3) * 6.75),
    (R.L2(0.3), f32(0.3) * 14.3125),                 # no ½: Keras 3's L2
    (R.L1L2(0.1, 0.2), f32(0.1) * 6.75 + f32(0.2) * 14.3125),
    (R.L1L2(l2=0.2), f32(0.2) * 14.3125),
    (R.L1(), f32(0.01) * 6.75),                       # Keras's defaults
    (R.L2(), f32(0.01) * 14.3125),
    (R.L1L2(), 0.0),
])
def test_penalties_are_keras_formulas(reg, expected):
    assert reg(W) == pytest.approx(expected, rel=1e-15)


def test_keras_docstring_examples():
    """The numbers in Keras's ``Regularizer`` docstring."""
    assert R.L2(2.0)(np.ones((5, 5))) == 50.0
    dense = Dense(5, kernel_initializer="ones", kernel_regularizer=R.L1(0.01))
    dense(np.full((5, 5), 2.0))
    assert dense.losses == [pytest.approx(0.25, rel=1e-7)]


def test_factor_is_rounded_to_float32_as_keras_casts_it():
    w = np.ones(10)
    assert R.L1(0.01)(w) == np.float32(0.01).astype(np.float64) * 10
    assert R.L1(0.01)(w) != 0.1
    assert R.L1(0.01)(w.astype(np.float32)) == np.float32(0.01) * np.float32(10)


def test_lower_case_names_are_keras_3_aliases_of_the_classes():
    assert R.l1 is R.L1 and R.l2 is R.L2 and R.l1_l2 is R.L1L2
    assert R.l1_l2()(W) == 0.0                         # Keras 3: both factors 0
    assert R.l1().l1 == 0.01 and R.l2().l2 == 0.01


@pytest.mark.parametrize("name, cls, config", [
    ("l1", R.L1, {"l1": 0.01}), ("L1", R.L1, {"l1": 0.01}), ("l2", R.L2, {"l2": 0.01}),
    ("L2", R.L2, {"l2": 0.01}), ("l1l2", R.L1L2, {"l1": 0.0, "l2": 0.0}),
    ("L1L2", R.L1L2, {"l1": 0.0, "l2": 0.0}),
])
def test_get_by_name(name, cls, config):
    reg = R.get(name)
    assert type(reg) is cls and reg.get_config() == config


def test_get_refuses_l1_l2_string_as_keras_3_does():
    with pytest.raises(ValueError, match=says("`kernel_regularizer`", "'l1_l2'")):
        R.get("l1_l2", "kernel_regularizer")


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.02), R.L1L2(0.1, 0.2), R.L1L2(l1=0.4)])
def test_serialize_round_trip_is_json(reg):
    spec = R.serialize(reg)
    assert json.loads(json.dumps(spec)) == spec
    assert R.get(spec) == reg and R.deserialize(spec) == reg


def test_get_reads_keras_serialised_dicts():
    spec = {"module": "keras.regularizers", "class_name": "L1",
            "config": {"l1": 0.30000001192092896}, "registered_name": None}
    assert R.get(spec) == R.L1(0.30000001192092896)


def test_get_passes_objects_and_instantiates_classes():
    reg = R.L2(0.5)
    assert R.get(reg) is reg
    assert R.get(R.L1) == R.L1() and R.get(None) is None


@pytest.mark.parametrize("make, error, parts", [
    (lambda: R.L1(-1), ValueError, ("`l1`", "non-negative", "-1")),
    (lambda: R.L2(float("nan")), ValueError, ("`l2`", "nan")),
    (lambda: R.L1L2(l2="a"), ValueError, ("`l2`", "'a'")),
    (lambda: R.get("l3", "bias_regularizer"), ValueError, ("`bias_regularizer`", "'l3'")),
    (lambda: R.get({"class_name": "OrthogonalRegularizer", "config": {}}), ValueError,
     ("OrthogonalRegularizer", "not supported")),
    (lambda: R.get(lambda w: 0.0, "kernel_regularizer"), TypeError,
     ("`kernel_regularizer`", "gradient(w)")),
    (lambda: R.get(3), ValueError, ("`regularizer`", "3")),
    (lambda: R.serialize(object()), TypeError, ("cannot serialize",)),
    (lambda: Dense(2, activity_regularizer="l2"), ValueError,
     ("`activity_regularizer`", "not supported")),
    (lambda: LSTM(2, recurrent_regularizer="l3"), ValueError, ("`recurrent_regularizer`",)),
])
def test_bad_regularizers(make, error, parts):
    with pytest.raises(error, match=says(*parts)):
        make()


def test_none_factor_means_the_default_as_in_keras():
    assert R.L1(None).l1 == 0.01 and R.L2(None).l2 == 0.01
    assert R.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


# --- gradients -----------------------------------------------------------------------------

@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.2), R.L1L2(0.1, 0.7)])
def test_gradient_matches_finite_differences(reg):
    w = np.random.default_rng(0).uniform(-1, 1, (4, 3))   # no entry near the kink at 0
    assert_gradients_match(lambda: reg(w), {"w": w}, {"w": reg.gradient(w)})


def test_gradient_check_catches_a_wrong_gradient():
    """Negative control: half of L2's gradient (the ½ of Keras 2) fails the check."""
    reg = R.L2(0.2)
    w = np.random.default_rng(1).uniform(-1, 1, (3, 3))
    with pytest.raises(AssertionError):
        assert_gradients_match(lambda: reg(w), {"w": w}, {"w": reg.gradient(w) / 2})


def test_l1_gradient_at_zero_is_zero_as_tensorflow_differentiates_abs():
    assert R.L1(0.5).gradient(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_keeps_the_weight_dtype(dtype):
    w = W.astype(dtype)
    for reg in (R.L1(0.3), R.L2(0.3), R.L1L2(0.1, 0.2)):
        assert reg.gradient(w).dtype == dtype and reg.gradient(w).shape == w.shape


# --- on layers -----------------------------------------------------------------------------

def built(layer, shape):
    layer.build(shape)
    return layer


def test_losses_follow_weights_order_and_skip_unregularised():
    dense = built(Dense(3, kernel_regularizer=R.L1(0.1), bias_regularizer=R.L2(0.2),
                        bias_initializer="ones"), (2, 4))
    k, b = dense.weights
    assert dense.losses == [R.L1(0.1)(k), R.L2(0.2)(b)]
    grads = dense.regularization_gradients()
    np.testing.assert_array_equal(grads[0], R.L1(0.1).gradient(k))
    np.testing.assert_array_equal(grads[1], R.L2(0.2).gradient(b))
    plain = built(Dense(3, bias_regularizer="l2"), (2, 4))
    assert len(plain.losses) == 1 and plain.regularization_gradients()[0] is None


def test_recurrent_layers_take_three_regularizers():
    for cls in (SimpleRNN, GRU, LSTM):
        layer = built(cls(3, kernel_regularizer="l1", recurrent_regularizer="l2",
                          bias_regularizer=R.L1L2(0.1, 0.1)), (2, 5, 4))
        k, rk, b = layer.weights
        assert layer.losses == [R.L1()(k), R.L2()(rk), R.L1L2(0.1, 0.1)(b)], cls.__name__
        assert [g.shape for g in layer.regularization_gradients()] == [k.shape, rk.shape,
                                                                       b.shape]


def test_unbuilt_layer_has_no_losses():
    assert LSTM(3, kernel_regularizer="l2").losses == []
    assert Dense(3, kernel_regularizer="l2").regularization_gradients() == []


def test_frozen_layer_has_no_losses_as_keras_counts_trainable_weights_only():
    emb = Embedding(5, 2, embeddings_regularizer="l2", trainable=False)
    assert emb.losses == [] and emb.regularization_gradients() == [None]
    emb.trainable = True
    assert emb.losses == [R.L2()(emb.embeddings)]


def test_embedding_penalises_the_whole_table():
    emb = Embedding(6, 3, embeddings_regularizer=R.L1(0.5))
    (grad,) = emb.regularization_gradients()
    np.testing.assert_array_equal(grad, R.L1(0.5).gradient(emb.embeddings))


def test_sub_layers_losses_are_collected_recursively():
    bi = Bidirectional(LSTM(2, kernel_regularizer="l2", bias_regularizer="l1"))
    bi(np.ones((2, 3, 4)))
    weights = bi.weights
    regs = [R.L2(), None, R.L1()] * 2
    assert bi.losses == [r(w) for r, w in zip(regs, weights) if r is not None]
    grads = bi.regularization_gradients()
    assert [g is None for g in grads] == [r is None for r in regs]
    td = TimeDistributed(Dense(2, kernel_regularizer="l1"))
    td(np.ones((2, 3, 4)))
    assert td.losses == [R.L1()(td.layer.kernel)]


def test_layer_gradient_through_a_loss_matches_finite_differences():
    """``sum(losses)`` of a Conv1D, differentiated through its weights."""
    conv = built(Conv1D(2, 3, kernel_regularizer=R.L1L2(0.3, 0.2), bias_regularizer="l2",
                        bias_initializer="ones", dtype="float64"), (1, 6, 2))
    params = dict(zip(conv.weight_names, conv.weights))
    analytic = dict(zip(conv.weight_names, conv.regularization_gradients()))
    assert_gradients_match(lambda: sum(conv.losses), params, analytic)


@pytest.mark.parametrize("make", [
    lambda: Dense(2, kernel_regularizer=R.L1(0.3), bias_regularizer="l2"),
    lambda: LSTM(2, kernel_regularizer=R.L1L2(0.1, 0.2), recurrent_regularizer="l1"),
    lambda: Conv1D(2, 3, kernel_regularizer=R.L2(0.5)),
    lambda: Embedding(4, 2, embeddings_regularizer=R.L1(0.2)),
])
def test_get_config_serialises_regularizers(make):
    layer = make()
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    again = type(layer).from_config(config)
    for key in ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                "embeddings_regularizer"):
        assert getattr(again, key, None) == getattr(layer, key, None), key


def test_bidirectional_copies_regularizers_to_both_halves():
    bi = Bidirectional(GRU(2, recurrent_regularizer=R.L2(0.3)))
    assert bi.forward_layer.recurrent_regularizer == R.L2(0.3)
    assert bi.backward_layer.recurrent_regularizer == R.L2(0.3)


def test_save_and_load_keep_regularizers(tmp_path):
    model = sr.Sequential([sr.Input((5, 3)), LSTM(4, kernel_regularizer=R.L1(0.2)),
                           Dense(1, bias_regularizer="l2")])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = sr.load_model(path)
    assert loaded.layers[0].kernel_regularizer == R.L1(0.2)
    assert loaded.layers[1].bias_regularizer == R.L2()
    for a, b in zip(loaded.layers, model.layers):
        assert a.losses == b.losses


# --- against Keras -------------------------------------------------------------------------

KERAS_CASES = [
    ("Dense", dict(kernel_regularizer=("L1", 0.03), bias_regularizer=("L2", 0.02)), (4, 3)),
    ("Dense", dict(kernel_regularizer=("L1L2", 0.01, 0.05)), (4, 3)),
    ("LSTM", dict(kernel_regularizer=("L1", 0.03), recurrent_regularizer=("L2", 0.02),
                  bias_regularizer=("L1L2", 0.01, 0.05)), (2, 5, 3)),
    ("GRU", dict(kernel_regularizer=("L2", 0.1), recurrent_regularizer=("L1L2", 0.0, 0.3)),
     (2, 5, 3)),
    ("SimpleRNN", dict(recurrent_regularizer=("L1", 0.2)), (2, 5, 3)),
    ("Conv1D", dict(kernel_regularizer=("L2", 0.04), bias_regularizer=("L1", 0.5)),
     (2, 6, 3)),
    ("Embedding", dict(embeddings_regularizer=("L1L2", 0.02, 0.03)), (2, 5)),
]


def _make(module, spec):
    name, *factors = spec
    return getattr(module, name)(*factors)


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cls, regs, shape", KERAS_CASES,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(KERAS_CASES)])
def test_losses_and_gradients_equal_keras(cls, regs, shape, dtype):
    from scratchrnn._tensorflow import import_tensorflow
    tf, keras = import_tensorflow()
    args = {"Conv1D": (2, 3), "Embedding": (7, 4)}.get(cls, (3,))
    theirs = getattr(keras.layers, cls)(*args, dtype=dtype, **{
        k: _make(keras.regularizers, v) for k, v in regs.items()})
    ours = getattr(sr.layers, cls)(*args, dtype=dtype, **{
        k: _make(R, v) for k, v in regs.items()})
    theirs.build(shape)
    if not ours.built:
        ours.build(shape)
    rng = np.random.default_rng(0)
    theirs.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(dtype)
                        for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    tol = 1e-12 if dtype == "float64" else 1e-6
    keras_losses = [float(v) for v in theirs.losses]
    np.testing.assert_allclose(ours.losses, keras_losses, rtol=tol)
    with tf.GradientTape() as tape:
        total = tf.add_n(theirs.losses)
    keras_grads = tape.gradient(total, [v.value for v in theirs.weights])
    for ours_g, keras_g in zip(ours.regularization_gradients(), keras_grads):
        if keras_g is None:
            assert ours_g is None
        else:
            np.testing.assert_allclose(ours_g, np.asarray(tf.convert_to_tensor(keras_g)),
                                       rtol=tol, atol=tol)


@pytest.mark.keras
def test_keras_factors_and_defaults_equal_ours():
    from scratchrnn._tensorflow import import_tensorflow
    _, keras = import_tensorflow()
    KR = keras.regularizers
    pairs = [(KR.L1(), R.L1()), (KR.L2(), R.L2()), (KR.L1L2(), R.L1L2()),
             (KR.get("l1l2"), R.get("l1l2")), (KR.L1L2(0.3, 0.7), R.L1L2(0.3, 0.7))]
    w = np.random.default_rng(2).uniform(-1, 1, (3, 4))
    for theirs, ours in pairs:
        assert float(theirs(w)) == pytest.approx(ours(w), rel=1e-15), ours
        assert float(theirs(w.astype("float32"))) == pytest.approx(
            ours(w.astype("float32")), rel=1e-6), ours


@pytest.mark.keras
def test_training_with_regularizers_takes_keras_steps():
    """5 SGD steps of a model with L1, L2 and L1L2 penalties: the losses (penalties
    included) and the weights equal Keras's in float64."""
    import keras
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 5, 3)), rng.normal(size=(8, 1))
    optimizer = keras.optimizers.SGD(0.1)          # a float32 rate, as every Keras user's
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        theirs = keras.Sequential([
            keras.Input((5, 3), dtype="float64"),
            keras.layers.LSTM(4, kernel_regularizer=keras.regularizers.L2(0.01),
                              recurrent_regularizer=keras.regularizers.L1(0.01),
                              dtype="float64"),
            keras.layers.Dense(1, bias_regularizer=keras.regularizers.L1L2(0.01, 0.02),
                               kernel_regularizer="l2", dtype="float64")])
        theirs.compile(optimizer, "mse")
        ours = sr.Sequential([
            sr.Input((5, 3), dtype="float64"),
            sr.layers.LSTM(4, kernel_regularizer=sr.regularizers.L2(0.01),
                           recurrent_regularizer=sr.regularizers.L1(0.01), dtype="float64"),
            sr.layers.Dense(1, bias_regularizer=sr.regularizers.L1L2(0.01, 0.02),
                            kernel_regularizer="l2", dtype="float64")])
        ours.set_weights(theirs.get_weights())
        ours.compile(sr.optimizers.SGD(0.1), "mse")
        for _ in range(5):
            assert ours.train_on_batch(x, y) == pytest.approx(
                float(theirs.train_on_batch(x, y)), rel=1e-13)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    finally:
        keras.config.set_floatx(previous)
