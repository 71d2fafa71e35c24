"""Sequential models without TensorFlow: whole-model gradients against finite differences,
training behaviour, callbacks, the progress bar, Ctrl-C, summary and saving."""

import os
import signal

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import callbacks, losses, models, optimizers
from scratchrnn import layers as L
from tests.gradcheck import assert_gradients_match

F64 = "float64"


def sentiment_model(dtype=F64, seed=0):
    return models.Sequential([
        models.Input((6,), dtype="int32"),
        L.Embedding(20, 4, mask_zero=True, dtype=dtype, seed=seed),
        L.Bidirectional(L.LSTM(3, dtype=dtype, seed=seed + 1)),
        L.Dense(1, activation="sigmoid", dtype=dtype, seed=seed + 2),
    ], seed=seed)


def forecaster_model(dtype=F64, seed=0):
    return models.Sequential([
        models.Input((8, 2)),
        L.Conv1D(3, 3, padding="causal", activation="tanh", dtype=dtype, seed=seed),
        L.MaxPooling1D(2, dtype=dtype),
        L.GRU(4, dtype=dtype, seed=seed + 1),
        L.Dense(1, dtype=dtype, seed=seed + 2),
    ], seed=seed)


def tagger_model(dtype=F64, seed=0):
    return models.Sequential([
        models.Input((5, 3)),
        L.Masking(0.0, dtype=dtype),
        L.SimpleRNN(4, return_sequences=True, dtype=dtype, seed=seed),
        L.TimeDistributed(L.Dense(3, activation="softmax", dtype=dtype, seed=seed + 1)),
    ], seed=seed)


def token_data(rng, n=10, steps=6, vocab=20):
    x = rng.integers(1, vocab, size=(n, steps))
    for row, length in zip(x, rng.integers(2, steps + 1, size=n)):
        row[: steps - length] = 0
    return x, (rng.random((n, 1)) < 0.5).astype(float)


def forecaster_data(rng, n=6):
    x = rng.normal(size=(n, 8, 2))
    return x, x[:, :, :1].sum(axis=1)


def tagger_data(rng, n=4):
    x = rng.normal(size=(n, 5, 3))
    x[0, 3:] = 0.0                     # masked steps: excluded from the loss
    x[1, :2] = 0.0
    return x, rng.integers(0, 3, size=(n, 5))


CASES = {
    "sentiment": (sentiment_model, token_data, "binary_crossentropy"),
    "forecaster": (forecaster_model, forecaster_data, "huber"),
    "tagger": (tagger_model, tagger_data, "sparse_categorical_crossentropy"),
}


def randomise(model, rng):
    model.set_weights([rng.uniform(-0.7, 0.7, size=w.shape) for w in model.get_weights()])


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_model_gradient_matches_finite_differences(name):
    """The loss's gradient with respect to every weight, through every layer, masks and the
    fused logits path included, against central differences in float64."""
    build, data, loss = CASES[name]
    rng = np.random.default_rng(1)
    model = build()
    model.compile(optimizer="sgd", loss=loss)
    randomise(model, rng)
    x, y = data(rng)

    def total():
        y_pred, mask = model._forward(x, training=False)
        return float(model.loss(y, y_pred, mask=mask))

    model._forward(x, training=False)
    value, _, grads, logits_outputs = model._losses_and_gradients(y, model._run, None, True)
    assert value == pytest.approx(total(), rel=1e-12)
    model.backward(model._structure(grads), logits_outputs)
    grads, variables = model._gradients_and_variables()
    grads = [g.dense() if isinstance(g, optimizers.IndexedSlices) else g for g in grads]
    params = {f"w{i}": w for i, w in enumerate(variables)}
    assert_gradients_match(total, params, {f"w{i}": g for i, g in enumerate(grads)})


def test_the_sentiment_loss_is_computed_from_the_logits():
    """Keras 3 reads a sigmoid Dense's pre-activation for binary crossentropy: no clipping,
    so a saturated wrong prediction still has a large loss and gradient."""
    model = sentiment_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    assert model._logits_activation() == "sigmoid"
    model.compile(optimizer="sgd", loss="mse")
    assert model._logits_activation() is None
    tagger = tagger_model()
    tagger.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert tagger._logits_activation() is None               # TimeDistributed hides it


def test_train_on_batch_returns_the_loss_before_the_update():
    rng = np.random.default_rng(0)
    model = forecaster_model()
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    x, y = forecaster_data(rng)
    before = model.evaluate(x, y, batch_size=len(x))
    assert model.train_on_batch(x, y) == pytest.approx(before, rel=1e-12)
    assert model.evaluate(x, y, batch_size=len(x)) < before


def test_fit_learns_and_logs_like_keras():
    rng = np.random.default_rng(0)
    x, _ = token_data(rng, n=64)
    y = (x[:, -1:] > 10).astype(float)          # the last token decides the label
    model = sentiment_model()
    model.compile(optimizer=optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == list(range(15))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] >= 0.9
    # The logged epoch loss is the batch losses' mean weighted by batch size, and the
    # validation logs are evaluate() on the held-out tail.
    loss, acc = model.evaluate(x[48:], y[48:])
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(acc, rel=1e-12)


def test_shuffling_follows_the_model_seed():
    rng = np.random.default_rng(0)
    x, y = forecaster_data(rng, n=20)
    runs = []
    for seed in (3, 3, 4):
        model = forecaster_model(seed=0)
        model._rng = np.random.default_rng(seed)
        model.compile(optimizer="adam", loss="mse")
        runs.append(model.fit(x, y, epochs=2, batch_size=4, verbose=0).history["loss"])
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_the_progress_bar_shows_loss_and_metrics_and_is_silent_at_verbose_0(capsys):
    rng = np.random.default_rng(0)
    x, y = token_data(rng, n=16)
    model = sentiment_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=4, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/1" in err and "loss:" in err and "accuracy:" in err and "4/4" in err
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    model.fit(x, y, epochs=2, batch_size=4, verbose=2)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 2 and "loss:" in out


def test_ctrl_c_stops_after_the_current_batch_and_keeps_the_history():
    rng = np.random.default_rng(0)
    x, y = forecaster_data(rng, n=32)

    class CtrlCAt(callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            if self.batches == 10:                   # epoch 3 (8 batches per epoch), batch 2
                os.kill(os.getpid(), signal.SIGINT)

    stopper = callbacks.EarlyStopping(monitor="loss", patience=50, restore_best_weights=True)
    counter = CtrlCAt()
    model = forecaster_model()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=5, batch_size=4, callbacks=[counter, stopper], verbose=0)
    assert history.interrupted
    assert counter.batches == 10
    assert history.epoch == [0] and len(history.history["loss"]) == 1
    # restore_best_weights ran: the weights are those of the best completed epoch.
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), stopper.best_weights))
    assert np.isfinite(model.predict(x)).all()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class FakeModel:
    """What the monitored callbacks touch: weights, stop_training, an optimizer."""

    def __init__(self):
        self.stop_training = False
        self.w = [np.zeros(2)]
        self.optimizer = optimizers.SGD(1.0)

    def get_weights(self):
        return [w.copy() for w in self.w]

    def set_weights(self, weights):
        self.w = [w.copy() for w in weights]


def drive(callback, values, monitor="val_loss"):
    """Feed ``values`` as epoch logs; return the epochs at which training stopped."""
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        model.w = [np.full(2, float(epoch))]
        callback.on_epoch_end(epoch, {monitor: value})
        epochs += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return model, epochs


def test_early_stopping_waits_patience_epochs_and_restores_the_best_weights():
    stopper = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model, epochs = drive(stopper, [1.0, 0.5, 0.6, 0.7, 0.4])
    assert epochs == 4 and stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    assert np.array_equal(model.w[0], [1.0, 1.0])
    # min_delta: an improvement smaller than it does not count; mode max for accuracy.
    _, epochs = drive(callbacks.EarlyStopping(patience=1, min_delta=0.1), [1.0, 0.95, 0.9])
    assert epochs == 2
    _, epochs = drive(callbacks.EarlyStopping(monitor="val_accuracy", patience=1),
                      [0.5, 0.6, 0.55], monitor="val_accuracy")
    assert epochs == 3


def test_reduce_lr_on_plateau_multiplies_the_rate_then_cools_down():
    reducer = callbacks.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    model, _ = drive(reducer, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # epochs 1 (wait 1 -> 0.5), 2 cooldown, 3 (wait 1 -> 0.25), 4 cooldown, 5 (-> 0.2 floor)
    assert model.optimizer.learning_rate == pytest.approx(0.2)


def test_summary_counts_parameters_like_keras(capsys):
    model = sentiment_model()
    model.summary()
    out = capsys.readouterr().out
    lstm = 4 * 3 * (4 + 3 + 1)
    expected = 20 * 4 + 2 * lstm + (6 + 1)
    assert model.count_params() == expected
    assert f"Total params: {expected:,}" in out and "(None, 6, 4)" in out
    assert "Non-trainable params: 0" in out


def test_save_and_load_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    x, y = token_data(rng, n=24)
    model = sentiment_model(dtype="float32")
    model.compile(optimizer=optimizers.Adam(0.01, clipnorm=1.0), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = sr.load_model(path)
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert [m.name for m in loaded.metrics] == ["accuracy"]
    # The optimizer state came too: one more step gives the same weights on both.
    model.train_on_batch(x[:8], y[:8])
    loaded.train_on_batch(x[:8], y[:8])
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_refuses_damaged_files(tmp_path):
    model = forecaster_model()
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "m.npz"
    model.save(path)
    data = path.read_bytes()
    (tmp_path / "short.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        sr.load_model(tmp_path / "short.npz")
    contents = dict(np.load(path))
    contents["weight_00000"] = contents["weight_00000"] + 1.0
    np.savez(tmp_path / "tampered.npz", **contents)
    with pytest.raises(ValueError, match="altered"):
        sr.load_model(tmp_path / "tampered.npz")
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        sr.load_model(tmp_path / "pickled.npy")


def test_loss_must_be_given_and_fit_needs_compile():
    model = forecaster_model()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((2, 8, 2)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="loss"):
        model.compile(optimizer="sgd")
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(np.zeros((3, 8, 2)), np.zeros((2, 1)), verbose=0)
    assert isinstance(model.loss, losses.Loss)


def test_the_numba_backend_trains_the_same_model_the_same_way():
    """A model whose recurrent layers run compiled takes the same steps (float64)."""
    rng = np.random.default_rng(0)
    x, y = forecaster_data(rng, n=12)
    runs = []
    for backend in ("numpy", "numba"):
        model = forecaster_model(seed=3)
        model.layers[2].backend = backend
        model.compile(optimizer=optimizers.Adam(0.01, global_clipnorm=1.0), loss="mse")
        runs.append([model.train_on_batch(x[i:i + 4], y[i:i + 4]) for i in range(0, 12, 4)]
                    + [model.predict(x)])
    np.testing.assert_allclose(runs[0][:3], runs[1][:3], rtol=1e-12)
    np.testing.assert_allclose(runs[0][3], runs[1][3], rtol=1e-11, atol=1e-13)
