"""``from_keras`` and ``to_keras`` refuse what they cannot copy faithfully, naming it."""

import numpy as np
import pytest

import scratchrnn as sr
from parity.harness import keras

pytestmark = pytest.mark.keras
L = keras.layers


def model(*layers, shape=(5, 3)):
    return keras.Sequential([keras.Input(shape), *layers])


@pytest.mark.parametrize("make, message", [
    (lambda: model(L.LayerNormalization()), "LayerNormalization, which scratchrnn does not"),
    (lambda: model(L.LSTM(4, activity_regularizer="l2")), "activity_regularizer"),
    (lambda: model(L.Dense(2, kernel_constraint="non_neg")), "kernel_constraint"),
    (lambda: model(L.LSTM(4, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0))),
     "kernel_initializer"),
    (lambda: keras.Sequential([L.Dense(2)]), "built model"),
    (lambda: "not a model", "keras.Sequential or a Keras layer"),
], ids=["unknown-layer", "activity-regularizer", "constraint", "initializer", "unbuilt",
        "wrong-type"])
def test_from_keras_refuses_what_it_cannot_copy(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        sr.from_keras(make())


def test_implementation_choices_are_ignored_and_weights_copied():
    """``implementation``, ``use_cudnn`` and ``unroll`` choose how Keras computes, not
    what; regularizers are copied."""
    keras_model = model(L.LSTM(4, implementation=1, use_cudnn=False, unroll=True,
                               kernel_regularizer="l2"), L.Dense(1))
    ours = sr.from_keras(keras_model)
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x), keras_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.losses, [float(v) for v in keras_model.losses], rtol=1e-6)


def test_to_keras_needs_a_model_that_knows_its_input():
    unbuilt = sr.Sequential([sr.layers.Dense(2)])
    with pytest.raises(RuntimeError, match="needs the model built"):
        sr.to_keras(unbuilt)
    with pytest.raises(TypeError, match="scratchrnn Sequential or layer"):
        sr.to_keras(object())
