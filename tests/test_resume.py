"""Resuming is exact: fit N epochs, save, load, fit M more gives the same bits as N + M
epochs straight, with shuffling and dropout on, on both backends, for Sequential, a
functional Model and Seq2Seq; and ``initial_epoch`` follows Keras (epochs
``initial_epoch .. epochs - 1`` run), refusing a negative or fractional one.

The guarantee is for the same seeds, the same backend and the same thread count (the
numba kernels and BLAS may round differently with another thread count)."""

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import callbacks, saving
from scratchrnn import layers as L

BACKENDS = ("numpy", "numba")


def sequential(backend):
    model = sr.Sequential([
        sr.Input((5, 3)),
        L.LSTM(4, dropout=0.2, recurrent_dropout=0.3, return_sequences=True, seed=1,
               backend=backend),
        L.Dropout(0.3, seed=2),
        L.GRU(3, dropout=0.1, recurrent_dropout=0.2, seed=3, backend=backend),
        L.Dense(1, seed=4)], seed=5)
    model.compile("adam", "mse")
    return model


def functional(backend):
    a, b = sr.Input((5, 3)), sr.Input((5, 3))
    h = L.LSTM(4, dropout=0.2, recurrent_dropout=0.3, seed=1, backend=backend)(a)
    g = L.Bidirectional(L.SimpleRNN(3, dropout=0.2, recurrent_dropout=0.1, seed=2,
                                    backend=backend))(b)
    z = L.Dropout(0.4, seed=3)(L.Concatenate()([h, g]))
    model = sr.Model([a, b], L.Dense(1, seed=4)(z), seed=9)
    model.compile("rmsprop", "mse")
    return model


def seq2seq(backend):
    model = sr.Seq2Seq(7, 8, 3, 4, attention=True, scheduled_sampling=0.3, seed=0,
                       backend=backend)
    model.compile("adam")
    return model


def data(kind):
    rng = np.random.default_rng(0)
    if kind == "seq2seq":
        target = rng.integers(1, 8, (10, 6))
        return (rng.integers(1, 7, (10, 5)), target, target)
    y = rng.normal(size=(18, 1))
    if kind == "functional":
        return ([rng.normal(size=(18, 5, 3)), rng.normal(size=(18, 5, 3))], y)
    return (rng.normal(size=(18, 5, 3)), y)


MAKERS = {"sequential": sequential, "functional": functional, "seq2seq": seq2seq}


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_fit_save_load_fit_equals_fitting_straight(kind, backend, tmp_path):
    make, args = MAKERS[kind], data(kind)
    straight = make(backend)
    straight.fit(*args, epochs=3, batch_size=4, verbose=0)

    first = make(backend)
    first.fit(*args, epochs=1, batch_size=4, verbose=0)
    first.save(tmp_path / "m.npz")

    resumed = sr.load_model(tmp_path / "m.npz")          # plain epochs=M
    resumed.fit(*args, epochs=2, batch_size=4, verbose=0)
    assert same(resumed.get_weights(), straight.get_weights())
    assert same(resumed.optimizer.get_state().values(), straight.optimizer.get_state().values())

    again = sr.load_model(tmp_path / "m.npz")              # Keras's initial_epoch style
    history = again.fit(*args, initial_epoch=1, epochs=3, batch_size=4, verbose=0)
    assert history.epoch == [1, 2]
    assert same(again.get_weights(), straight.get_weights())

    # The test can see a difference: without the saved generator states the bits change.
    fresh = sr.load_model(tmp_path / "m.npz")
    fresh._rng = np.random.default_rng(5)
    fresh.fit(*args, epochs=2, batch_size=4, verbose=0)
    assert not same(fresh.get_weights(), straight.get_weights())


def test_the_checkpoint_holds_every_generator_state(tmp_path):
    model = functional("numpy")
    model.fit(*data("functional"), epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = sr.load_model(tmp_path / "m.npz")
    paths = [p for p, _ in saving._generators(model)]
    # cells and the two halves of the Bidirectional included
    assert any("/" in p for p in paths) and len(paths) >= 6
    assert saving.rng_state(loaded) == saving.rng_state(model)


@pytest.mark.parametrize("backend", BACKENDS)
def test_resume_from_a_model_checkpoint_file(backend, tmp_path):
    """ModelCheckpoint's file of epoch k, loaded and fitted with initial_epoch=k, ends
    where the run that wrote it ended."""
    args = data("sequential")
    straight = sequential(backend)
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch}.npz"))
    straight.fit(*args, epochs=3, batch_size=4, verbose=0, callbacks=[checkpoint])
    resumed = sr.load_model(tmp_path / "ck-1.npz")
    resumed.fit(*args, initial_epoch=1, epochs=3, batch_size=4, verbose=0)
    assert same(resumed.get_weights(), straight.get_weights())


# --- initial_epoch -----------------------------------------------------------------------

def tiny():
    model = sr.Sequential([sr.Input((2,)), L.Dense(1, seed=0)], seed=0)
    model.compile("sgd", "mse")
    return model, np.ones((4, 2)), np.ones((4, 1))


@pytest.mark.parametrize("value, error", [(-3, ValueError), (-1, ValueError),
                                          (1.5, TypeError), (1.0, TypeError),
                                          ("1", TypeError), (None, TypeError),
                                          (True, TypeError)])
def test_initial_epoch_must_be_a_non_negative_integer(value, error):
    model, x, y = tiny()
    translator = seq2seq("numpy")
    for fit in (lambda: model.fit(x, y, epochs=3, initial_epoch=value, verbose=0),
                lambda: translator.fit(*data("seq2seq"), epochs=3, initial_epoch=value,
                                       verbose=0)):
        before = model.get_weights() + translator.get_weights()
        with pytest.raises(error, match="`initial_epoch`") as info:
            fit()
        assert repr(value) in str(info.value) or str(value) in str(info.value)
        after = model.get_weights() + translator.get_weights()
        assert same(after, before)                           # refused before any step


@pytest.mark.parametrize("initial, epochs, expected", [(0, 2, [0, 1]), (2, 5, [2, 3, 4]),
                                                       (3, 3, []), (5, 3, []),
                                                       (np.int64(1), 3, [1, 2])])
def test_initial_epoch_runs_the_epochs_keras_runs(initial, epochs, expected):
    model, x, y = tiny()
    before = model.get_weights()
    seen = []

    class Record(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(epoch)

    history = model.fit(x, y, epochs=epochs, initial_epoch=initial, verbose=0,
                        callbacks=[Record()])
    assert history.epoch == expected == seen
    assert same(model.get_weights(), before) == (not expected)
