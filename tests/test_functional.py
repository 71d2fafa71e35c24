"""The functional API: graphs of layer calls, gradients summed where a tensor fans out,
custom layers made of layers, masks on the tensors, saving, and Keras's data path
(datasets, PyDatasets, generators) giving the same training step as arrays.

Gradients are checked with ``sr.testing.check_gradients`` (central differences in
float64); the negative controls are models whose graph would double-count or drop a
branch if the reverse walk did not add what arrives at a shared tensor.
"""

import warnings

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import layers as L

F64 = "float64"


def normal(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def checked(model, x):
    result = sr.testing.check_gradients(model, x, print_fn=None)
    assert result.ok, result.table()
    return result


# --- fan-out: shared layers and skip connections ------------------------------------------

def test_a_layer_twice_in_a_sequential_gets_the_sum_of_both_uses():
    dense = L.Dense(4, activation="tanh", dtype=F64, seed=0)
    model = sr.Sequential([sr.Input((4,), dtype=F64), dense, dense])
    assert model.count_params() == 20 and len(model.get_weights()) == 2
    checked(model, normal((3, 4)))


def test_a_shared_lstm_on_two_inputs_and_a_residual_add():
    a, b = sr.Input((5, 3), dtype=F64), sr.Input((5, 3), dtype=F64)
    shared = L.LSTM(3, return_sequences=True, dtype=F64, seed=1)
    ha, hb = shared(a), shared(b)
    merged = L.Add(dtype=F64)([L.Add(dtype=F64)([ha, hb]), a])     # a reaches the output twice
    out = L.Dense(2, dtype=F64, seed=2)(L.Concatenate(dtype=F64)([merged, hb]))
    model = sr.Model([a, b], out)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "InputLayer", "LSTM", "Add", "Add", "Concatenate", "Dense"]
    assert model.count_params() == shared.count_params() + 2 * 6 + 2
    checked(model, [normal((2, 5, 3), 1), normal((2, 5, 3), 2)])


def test_the_backward_sums_at_fan_out_negative_control():
    """Without the sum, y = x + x would give dx = G, not 2G."""
    x = sr.Input((3,), dtype=F64)
    model = sr.Model(x, L.Add(dtype=F64)([x, x]))
    g = normal((2, 3))
    model(normal((2, 3)))
    np.testing.assert_array_equal(model.backward(g), 2 * g)


def test_numba_shared_layer_keeps_one_tape_per_call():
    a, b = sr.Input((4, 2), dtype=F64), sr.Input((4, 2), dtype=F64)
    shared = L.GRU(3, dtype=F64, seed=3, backend="numba")
    model = sr.Model([a, b], L.Multiply(dtype=F64)([shared(a), shared(b)]))
    checked(model, [normal((2, 4, 2), 3), normal((2, 4, 2), 4)])


# --- a custom layer made of layers ----------------------------------------------------------

class Gate(L.Layer):
    """y = sigmoid(x Wg) * (x Wv): a layer whose weights are its sub-layers'."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.gate = L.Dense(units, activation="sigmoid", dtype=self.dtype, seed=5)
        self.value = L.Dense(units, dtype=self.dtype, seed=6)

    def get_config(self):
        return {**super().get_config(), "units": self.units}

    def call(self, x):
        g, v = self.gate(x), self.value(x)
        self._tape = (g, v)
        return g * v

    def backward(self, dy):
        g, v = self._tape
        return self.gate.backward(dy * v) + self.value.backward(dy * g)


def test_a_custom_layer_tracks_its_sub_layers():
    layer = Gate(3, dtype=F64)
    y = layer(normal((2, 4)))
    assert y.shape == (2, 3) and layer.layers == [layer.gate, layer.value]
    assert layer.count_params() == 2 * (4 * 3 + 3) and len(layer.weights) == 4
    assert layer.weights[0] is layer.gate.kernel
    layer.set_weights([np.ones_like(w) for w in layer.get_weights()])
    assert np.all(layer.value.bias == 1)
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    checked(Gate(3, dtype=F64), normal((2, 4)))


def test_a_custom_layer_in_a_model_trains_and_saves(tmp_path):
    x = sr.Input((4,), dtype=F64)
    model = sr.Model(x, L.Dense(1, dtype=F64, seed=7)(Gate(3, dtype=F64)(x)))
    model.compile("adam", "mse")
    data = normal((16, 4)), normal((16, 1), 1)
    before = model.evaluate(*data)
    model.fit(*data, epochs=5, batch_size=4, verbose=0)
    assert model.evaluate(*data) < before
    model.save(tmp_path / "gate.npz")
    with pytest.raises(ValueError, match="custom_objects"):
        sr.load_model(tmp_path / "gate.npz")
    again = sr.load_model(tmp_path / "gate.npz", custom_objects={"Gate": Gate})
    np.testing.assert_array_equal(again.predict(data[0]), model.predict(data[0]))


# --- several inputs and outputs, masks -------------------------------------------------------

def test_two_outputs_two_losses_and_the_logs():
    x = sr.Input((3,), dtype=F64)
    h = L.Dense(4, activation="relu", dtype=F64, seed=1)(x)
    reg = L.Dense(1, dtype=F64, seed=2, name="reg")(h)
    cls = L.Dense(1, activation="sigmoid", dtype=F64, seed=3, name="cls")(h)
    model = sr.Model(x, [reg, cls])
    model.compile("sgd", loss=["mse", "binary_crossentropy"], loss_weights=[1.0, 0.5],
                  metrics=[[], ["accuracy"]])
    xs = normal((8, 3))
    ys = [normal((8, 1), 1), (normal((8, 1), 2) > 0).astype(float)]
    mse = sr.losses.get("mse")(ys[0], model.predict(xs)[0])
    bce = sr.losses.get("binary_crossentropy")(ys[1], model.predict(xs)[1])
    logs = model.evaluate(xs, ys, return_dict=True)
    assert logs["loss"] == pytest.approx(mse + 0.5 * bce, rel=1e-12)
    assert logs["reg_loss"] == pytest.approx(mse) and "cls_accuracy" in logs
    history = model.fit(xs, ys, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}


def test_masks_travel_on_the_tensors_as_in_a_sequential():
    ids = np.array([[3, 4, 0, 0], [5, 0, 0, 0]])
    y = normal((2, 4, 1))
    emb, lstm, dense = (L.Embedding(6, 3, mask_zero=True, dtype=F64, seed=1),
                        L.LSTM(2, return_sequences=True, dtype=F64, seed=2),
                        L.Dense(1, dtype=F64, seed=3))
    x = sr.Input((4,), dtype="int64")
    functional = sr.Model(x, dense(lstm(emb(x))))
    sequential = sr.Sequential([emb, lstm, dense])
    for model in (functional, sequential):
        model.compile("sgd", "mse")
    _, mask = functional._forward(ids, training=False)
    np.testing.assert_array_equal(mask, ids != 0)
    assert functional.test_on_batch(ids, y) == sequential.test_on_batch(ids, y)


def test_an_lstm_given_initial_state_gets_no_mask_as_in_keras():
    """Keras hands a mask on only to a call with one tensor argument: with initial_state
    the LSTM runs over the padding too, while its output still carries the first input's
    mask (Keras's fallback for the output mask)."""
    tokens = sr.Input((3,), dtype="int64")
    state = sr.Input((2,), dtype=F64)
    emb = L.Embedding(5, 2, mask_zero=True, dtype=F64, seed=1)
    lstm = L.LSTM(2, return_sequences=True, dtype=F64, seed=2)
    model = sr.Model([tokens, state], lstm(emb(tokens), initial_state=[state, state]))
    ids, h0 = np.array([[1, 0, 0]]), np.full((1, 2), 0.3)
    out, mask = model._forward([ids, h0], training=False)
    np.testing.assert_array_equal(out, lstm(emb(ids), initial_state=[h0, h0]))
    assert not np.allclose(out, lstm(emb(ids), mask=ids != 0, initial_state=[h0, h0]))
    np.testing.assert_array_equal(mask, ids != 0)


# --- the graph's structure and errors -------------------------------------------------------

def test_summary_shows_what_each_layer_reads():
    a = sr.Input((2,), name="a")
    b = sr.Input((2,), name="b")
    model = sr.Model([a, b], L.Concatenate(name="both")([a, b]))
    lines = []
    model.summary(print_fn=lines.append)
    row = next(line for line in lines if line.startswith("both"))
    assert "a[0][0], b[0][0]" in row and "(None, 4)" in row
    assert model.input_shape == [(None, 2), (None, 2)] and model.output_shape == (None, 4)


def test_a_disconnected_graph_is_refused():
    a, b = sr.Input((2,)), sr.Input((2,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        sr.Model(a, L.Add()([a, b]))


def test_a_backward_with_the_wrong_number_of_gradients_is_named():
    class Two(L.Layer):
        def call(self, x, y):
            self._tape = None
            return x + y

        def backward(self, d):
            return d                    # one gradient for two inputs

    a, b = sr.Input((2,)), sr.Input((2,))
    model = sr.Model([a, b], Two(name="two")(a, b))
    model([np.ones((1, 2)), np.ones((1, 2))])
    with pytest.raises(ValueError, match="two.backward returned 1 gradient"):
        model.backward(np.ones((1, 2)))


def test_the_model_config_round_trips():
    x = sr.Input((3, 2), dtype=F64)
    _, h, c = L.LSTM(2, return_state=True, dtype=F64, seed=1)(x)
    model = sr.Model(x, L.Concatenate(dtype=F64)([h, c]))
    again = sr.Model.from_config(model.get_config())
    again.set_weights(model.get_weights())
    data = normal((2, 3, 2))
    np.testing.assert_array_equal(again.predict(data), model.predict(data))


# --- the data path ----------------------------------------------------------------------------

def small_model():
    model = sr.Sequential([sr.Input((3,), dtype=F64), L.Dense(2, dtype=F64, seed=0)], seed=0)
    model.compile("adam", "mse")
    return model


DATA = normal((10, 3)), normal((10, 2), 1)


def batches():
    x, y = DATA
    return [(x[i:i + 4], y[i:i + 4]) for i in range(0, 10, 4)]


class Reiterable:
    """Any iterable of batches that can start again (a fresh pass each epoch)."""

    def __iter__(self):
        return iter(batches())


class Indexed:
    """Keras's PyDataset: __len__ and __getitem__."""

    def __len__(self):
        return 3

    def __getitem__(self, i):
        return batches()[i]


@pytest.mark.parametrize("source", ["generator", "iterable", "pydataset"])
def test_the_same_batches_train_to_the_same_bits_whatever_their_form(source):
    reference = small_model()
    reference.fit(*DATA, batch_size=4, epochs=2, shuffle=False, verbose=0)
    model = small_model()
    if source == "generator":
        def gen():
            while True:
                yield from batches()
        model.fit(gen(), steps_per_epoch=3, epochs=2, verbose=0)
    else:
        model.fit(Reiterable() if source == "iterable" else Indexed(), epochs=2, verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_validation_data_and_evaluate_predict_on_streams():
    model = small_model()
    history = model.fit(Reiterable(), validation_data=Indexed(), epochs=1, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(*DATA), rel=1e-12)
    assert model.evaluate(iter(batches())) == pytest.approx(model.evaluate(*DATA), rel=1e-12)
    np.testing.assert_array_equal(model.predict(x for x, _ in batches()), model.predict(DATA[0]))


def test_a_one_shot_generator_runs_dry_with_a_warning():
    model = small_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(iter(batches()), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1
    assert any("ran out" in str(w.message) for w in caught)


def test_stream_errors_name_the_argument():
    model = small_model()
    with pytest.raises(ValueError, match="`y` must be None"):
        model.fit(Reiterable(), DATA[1])
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(Reiterable(), validation_split=0.2)


@pytest.mark.keras
def test_fit_on_a_tf_data_dataset_equals_arrays():
    import tensorflow as tf
    reference = small_model()
    reference.fit(*DATA, batch_size=4, epochs=2, shuffle=False, verbose=0)
    model = small_model()
    dataset = tf.data.Dataset.from_tensor_slices(DATA).batch(4)
    model.fit(dataset, validation_data=dataset, epochs=2, verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


# --- sample_weight in fit and evaluate (Keras's arguments) ------------------------------------

def _weighted():
    rng = np.random.default_rng(3)
    return (rng.normal(size=(12, 5, 3)).astype("float32"),
            rng.normal(size=(12, 1)).astype("float32"), rng.uniform(0.1, 2.0, 12))


def _weighted_model(seed=0):
    model = sr.Sequential([sr.Input((5, 3)), L.LSTM(4, seed=seed), L.Dense(1, seed=seed + 1)],
                          seed=seed)
    model.compile("adam", "mse")
    return model


def test_fit_with_sample_weight_equals_weighted_train_on_batch():
    x, y, w = _weighted()
    fitted = _weighted_model()
    fitted.fit(x, y, sample_weight=w, batch_size=4, shuffle=False, verbose=0)
    stepped = _weighted_model()
    for i in range(0, 12, 4):
        stepped.train_on_batch(x[i:i + 4], y[i:i + 4], sample_weight=w[i:i + 4])
    for a, b in zip(fitted.get_weights(), stepped.get_weights()):
        np.testing.assert_array_equal(a, b)
    unweighted = _weighted_model()
    unweighted.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    assert not np.array_equal(unweighted.get_weights()[0], fitted.get_weights()[0])


def test_validation_weights_are_used_not_dropped():
    x, y, w = _weighted()
    model = _weighted_model()
    zero = model.fit(x, y, validation_data=(x, y, np.zeros(12)), verbose=0).history
    assert zero["val_loss"] == [0.0]
    model = _weighted_model()
    logs = model.fit(x, y, validation_data=(x, y, w), verbose=0).history
    assert logs["val_loss"][0] == pytest.approx(model.evaluate(x, y, sample_weight=w),
                                                rel=1e-6)


def test_sample_weight_errors_name_the_argument():
    x, y, w = _weighted()
    model = _weighted_model()
    with pytest.raises(ValueError, match=r"`sample_weight` must hold one weight per sample, "
                                         r"shape \(12,\)"):
        model.fit(x, y, sample_weight=w[:5], verbose=0)
    with pytest.raises(ValueError, match="give \\(x, y, sample_weight\\) batches"):
        model.fit(Reiterable(), sample_weight=w, verbose=0)


@pytest.mark.keras
def test_fit_with_sample_weight_and_validation_split_matches_keras():
    """Keras splits the weights with the data and weighs both losses with them."""
    from scratchrnn.keras import to_keras
    x, y, w = _weighted()
    ours = _weighted_model()
    theirs = to_keras(ours)
    import keras
    theirs.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    kwargs = dict(sample_weight=w, validation_split=0.25, batch_size=4, epochs=2,
                  shuffle=False, verbose=0)
    h_ours = ours.fit(x, y, **kwargs).history
    h_theirs = theirs.fit(x, y, **kwargs).history
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
