"""``from_keras`` / ``to_keras`` on functional models and on the cell, RNN and merge
layers: round trips keep the graph, the layer names, the weights and the predictions."""

import numpy as np
import pytest

import scratchrnn as sr
from parity.checks_functional import CUSTOM_OBJECTS, SimpleAttention, precision
from parity.harness import keras
from scratchrnn.demos.attention_layer import SimpleAttention as OurSimpleAttention

pytestmark = pytest.mark.keras
L = keras.layers


def normal(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def randomised(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    return model


def flat(value):
    if isinstance(value, dict):
        return [np.asarray(v) for v in value.values()]
    return [np.asarray(v) for v in value] if isinstance(value, (list, tuple)) \
        else [np.asarray(value)]


def assert_close(ours, theirs, rtol=1e-5, atol=1e-6):
    ours, theirs = flat(ours), flat(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert [w.shape for w in wa] == [w.shape for w in wb]
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def seq2seq_model():
    enc_in = keras.Input((5,), dtype="int32", name="encoder_input")
    dec_in = keras.Input((4,), dtype="int32", name="decoder_input")
    _, h, c = L.LSTM(6, return_state=True, name="encoder_lstm")(L.Embedding(9, 4)(enc_in))
    seq, _, _ = L.LSTM(6, return_sequences=True, return_state=True, name="decoder_lstm")(
        L.Embedding(9, 4, mask_zero=True)(dec_in), initial_state=[h, c])
    out = L.Dense(9, activation="softmax", name="output")(seq)
    return keras.Model([enc_in, dec_in], out, name="course_seq2seq")


def seq2seq_data():
    rng = np.random.default_rng(1)
    return [rng.integers(0, 9, (3, 5)).astype("int32"),
            rng.integers(0, 9, (3, 4)).astype("int32")]


def shared_multi_output_model():
    a, b = keras.Input((6, 3), name="a"), keras.Input((6, 3), name="b")
    gru = L.GRU(4, return_sequences=True, name="shared")
    ha, hb = gru(a), gru(b)
    merged = L.Add()([L.Concatenate()([ha, hb]), L.Concatenate()([hb, ha])])
    attended = L.AdditiveAttention()([L.Dense(8)(ha), merged])
    pooled = L.GlobalAveragePooling1D()(attended)
    cells = L.RNN([L.LSTMCell(3), L.GRUCell(2)], return_state=True)(merged)
    last = L.Dot(axes=1)([L.Dense(4)(pooled), L.Dense(4)(cells[0])])
    outputs = [L.Dense(1, name="value")(L.Multiply()([pooled, L.Subtract()([pooled, pooled])])),
               L.Dense(2, activation="softmax", name="label")(
                   L.Average()([L.Dense(3)(cells[1][0]), L.Dense(3)(cells[2])])),
               last]
    return keras.Model([a, b], outputs)


MODELS = {
    "seq2seq": (seq2seq_model, seq2seq_data),
    "shared-multi-output": (shared_multi_output_model,
                            lambda: [normal((3, 6, 3), 1), normal((3, 6, 3), 2)]),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_keras_functional_round_trip(name):
    make, data = MODELS[name]
    keras_model = randomised(make())
    ours = sr.from_keras(keras_model)
    assert isinstance(ours, sr.Model) and not isinstance(ours, sr.Sequential)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in keras_model.layers]
    assert [type(layer).__name__ for layer in ours.layers] == \
        [type(layer).__name__ for layer in keras_model.layers]
    assert ours.count_params() == keras_model.count_params()
    assert_same_weights(ours, keras_model)
    x = data()
    theirs = keras_model.predict(x, verbose=0)
    assert_close(ours.predict(x), theirs)

    again = sr.to_keras(ours)
    assert [layer.name for layer in again.layers] == [layer.name for layer in keras_model.layers]
    assert [type(layer).__name__ for layer in again.layers] == \
        [type(layer).__name__ for layer in keras_model.layers]
    assert_same_weights(again, keras_model)
    assert_close(again.predict(x, verbose=0), theirs, rtol=0, atol=0)


def test_ours_to_keras_and_back():
    a, b = sr.Input((5, 3), name="a"), sr.Input((4,), name="b")
    lstm = sr.layers.LSTM(4, return_sequences=True, seed=0)
    seq = lstm(a)
    skip = sr.layers.Add()([seq, lstm(a)])
    h = sr.layers.RNN(sr.layers.StackedRNNCells([sr.layers.GRUCell(3, seed=1),
                                                 sr.layers.SimpleRNNCell(4, seed=2)]))(skip)
    out = sr.layers.Dense(2, seed=3)(sr.layers.Concatenate()([h, b]))
    ours = sr.Model({"a": a, "b": b}, [out, h], name="mine")
    x = {"a": normal((2, 5, 3), 0), "b": normal((2, 4), 1)}
    keras_model = sr.to_keras(ours)
    assert keras_model.name == "mine"
    assert [layer.name for layer in keras_model.layers] == [layer.name for layer in ours.layers]
    assert_same_weights(keras_model, ours)
    assert_close(keras_model.predict(x, verbose=0), ours.predict(x))
    back = sr.from_keras(keras_model)
    assert_same_weights(back, ours)
    assert_close(back.predict(x), ours.predict(x), rtol=0, atol=0)


def test_the_same_layer_twice_in_a_sequential_stays_one_layer():
    dense = L.Dense(3, activation="tanh")
    keras_model = randomised(keras.Sequential([keras.Input((3,)), dense, dense]))
    ours = sr.from_keras(keras_model)
    assert ours.layers[0] is ours.layers[1]
    assert ours.count_params() == keras_model.count_params() == 12
    x = normal((4, 3))
    assert_close(ours.predict(x), keras_model.predict(x, verbose=0))
    again = sr.to_keras(ours)
    assert again.layers[0] is again.layers[1]
    assert_close(again.predict(x, verbose=0), keras_model.predict(x, verbose=0), 0, 0)


def test_a_custom_layer_with_custom_objects():
    with precision("float64"):
        enc_in = keras.Input((5, 3))
        seq, h, _ = L.LSTM(4, return_sequences=True, return_state=True)(enc_in)
        context, weights = SimpleAttention(3)(seq, h)
        keras_model = randomised(keras.Model(enc_in, [context, weights]))
        with pytest.raises(ValueError, match="custom_objects"):
            sr.from_keras(keras_model)
        ours = sr.from_keras(keras_model, custom_objects=CUSTOM_OBJECTS)
        assert isinstance(ours.layers[-1], OurSimpleAttention)
        x = normal((2, 5, 3)).astype("float64")
        assert_close(ours.predict(x), keras_model.predict(x, verbose=0), rtol=1e-12,
                     atol=1e-13)
        again = sr.to_keras(ours, custom_objects={
            "SimpleAttention": lambda layer: SimpleAttention(layer.units)})
        assert_close(again.predict(x, verbose=0), keras_model.predict(x, verbose=0), 0, 0)


@pytest.mark.parametrize("make, shape", [
    (lambda: L.LSTMCell(4, unit_forget_bias=False), (None, 3)),
    (lambda: L.GRUCell(4, reset_after=False), (None, 3)),
    (lambda: L.SimpleRNNCell(4, activation="relu"), (None, 3)),
    (lambda: L.StackedRNNCells([L.LSTMCell(4), L.GRUCell(2)]), (None, 3)),
    (lambda: L.RNN(L.LSTMCell(4), return_sequences=True, go_backwards=True), (None, 5, 3)),
    (lambda: L.RNN([L.GRUCell(4), L.SimpleRNNCell(2)], return_state=True), (None, 5, 3)),
], ids=["lstm-cell", "gru-cell", "simple-rnn-cell", "stacked-cells", "rnn-cell",
        "rnn-cell-list"])
def test_cell_and_rnn_layers_round_trip(make, shape):
    keras_layer = make()
    keras_layer.build(shape)
    randomised(keras_layer)
    ours = sr.from_keras(keras_layer)
    assert type(ours).__name__ == type(keras_layer).__name__
    assert ours.name == keras_layer.name
    assert_same_weights(ours, keras_layer)
    again = sr.to_keras(ours)
    assert type(again).__name__ == type(keras_layer).__name__
    assert_same_weights(again, keras_layer)
    if len(shape) == 3:
        x = normal((2, 5, 3))
        assert_close(ours(x), [np.asarray(t) for t in flat(keras_layer(x))])
        assert_close(again(x), keras_layer(x), 0, 0)


@pytest.mark.parametrize("name, kwargs", [
    ("Add", {}), ("Subtract", {}), ("Multiply", {}), ("Average", {}), ("Maximum", {}),
    ("Minimum", {}), ("Concatenate", {"axis": 1}), ("Dot", {"axes": 1, "normalize": True}),
])
def test_merge_layers_round_trip(name, kwargs):
    keras_layer = getattr(L, name)(**kwargs)
    ours = sr.from_keras(keras_layer)
    assert type(ours).__name__ == name and ours.get_config()["name"] == keras_layer.name
    again = sr.to_keras(ours)
    assert type(again).__name__ == name
    xs = [normal((2, 4), 0), normal((2, 4), 1)]
    assert_close(ours(xs), keras_layer(xs))
    assert_close(again(xs), keras_layer(xs), 0, 0)


def test_what_the_bridge_refuses():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(TypeError, match="subclassed"):
        sr.from_keras(Subclassed())

    inner_in = keras.Input((3,))
    inner = keras.Model(inner_in, L.Dense(2)(inner_in), name="inner")
    outer_in = keras.Input((3,))
    outer = keras.Model(outer_in, L.Dense(1)(inner(outer_in)))
    with pytest.raises(ValueError, match="model inside a model"):
        sr.from_keras(outer)

    x_in = keras.Input((3,))
    with pytest.raises(ValueError, match="not by a layer"):
        sr.from_keras(keras.Model(x_in, L.Dense(1)(keras.ops.exp(x_in))))

    a = sr.Input((4,))
    ours = sr.Model(a, OurSimpleAttention(2)(sr.layers.RepeatVector(3)(a), a)[0])
    with pytest.raises(ValueError, match="custom_objects"):
        sr.to_keras(ours)
