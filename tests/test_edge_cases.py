"""Numerical edge cases: saturation without overflow, NaN that stays in its row, very long
sequences with memory linear in T, and dtypes that stay what they were.

"Strict" below means: every warning is an error and NumPy raises on overflow, division by
zero and invalid operations (underflow to 0 is allowed: ``exp(-|a|)`` of a saturated gate
is meant to underflow).
"""

import contextlib
import tracemalloc
import warnings

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import layers, losses

BACKENDS = ("numpy", "numba")
DTYPES = ("float32", "float64")
RECURRENT = (layers.SimpleRNN, layers.LSTM, layers.GRU)


@contextlib.contextmanager
def strict():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            yield


def all_finite(arrays):
    return all(np.isfinite(a).all() for a in arrays)


def signs(rng, shape):
    """Random ±1 of ``shape``."""
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


# --- saturation ----------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", RECURRENT, ids=lambda c: c.__name__)
def test_saturated_recurrent_layer_is_finite(cls, dtype, backend):
    """Inputs of ±1e4 and weights of ±10 put every gate's pre-activation at |z| >= 1e5 - 50
    (5 input terms of ±1e5 never cancel; with states in [-1, 1] the recurrent and bias
    terms are at most 4·10 + 10), so every sigmoid is 0 or 1 and every tanh ±1.  Outputs,
    states, the input, state and weight gradients must be finite, with no overflow on the
    way, forward and backward."""
    rng = np.random.default_rng(0)
    layer = cls(4, return_sequences=True, return_state=True, seed=0, dtype=dtype,
                backend=backend)
    x = 1e4 * signs(rng, (3, 6, 5))
    layer.build(x.shape)
    layer.set_weights([10 * signs(rng, w.shape) for w in layer.get_weights()])
    states = [signs(rng, (3, 4)) for _ in layer.state_names]
    with strict():
        outputs = layer(x, initial_state=states)
        upstream = [rng.normal(size=o.shape) for o in outputs]
        dx, d_states = layer.backward(upstream)
        grads = layer.get_gradients()
    assert all_finite([*outputs, dx, *d_states, *grads])
    assert np.all(np.abs(outputs[0]) <= 1)    # o ⊙ tanh(c), tanh(.), or a blend of such
    assert {a.dtype for a in [*outputs, dx, *d_states, *grads]} == {np.dtype(dtype)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["sigmoid", "softmax"])
def test_saturated_dense_is_finite(activation, dtype):
    """Logits of about ±1e5: sigmoid gives exact 0s and 1s, softmax one-hot rows, and the
    backward (from the output and from the logits) stays finite."""
    rng = np.random.default_rng(1)
    dense = layers.Dense(4, activation=activation, dtype=dtype, seed=0)
    x = 1e4 * signs(rng, (3, 5))
    dense.build(x.shape)
    dense.set_weights([10 * signs(rng, (5, 4)), 10 * signs(rng, (4,))])
    with strict():
        y = dense(x)
        dx = dense.backward(rng.normal(size=y.shape))
        grads = dense.get_gradients()
        dx_logits = dense.backward_logits(rng.normal(size=y.shape))
    assert all_finite([y, dx, *grads, dx_logits])
    if activation == "sigmoid":
        assert np.all((y == 0) | (y == 1))          # saturated, and exactly so
    else:
        np.testing.assert_allclose(y.sum(axis=-1), 1, rtol=1e-6)
    assert y.dtype == dx.dtype == np.dtype(dtype)


def crossentropy_cases(dtype):
    """``(id, loss, y_true, y_pred)``: probabilities of exactly 0 and 1 (the clipping's
    work), and logits of ±1e4 (from_logits)."""
    rng = np.random.default_rng(2)
    one_hot = np.eye(3, dtype=dtype)[[0, 2, 1, 0]]
    wrong = np.eye(3, dtype=dtype)[[1, 0, 2, 2]]            # all mass on the wrong class
    labels = np.array([0, 2, 1, 0])
    bits = (rng.random((4, 3)) < 0.5).astype(dtype)
    logits = (1e4 * signs(rng, (4, 3))).astype(dtype)
    return [
        ("binary-probabilities", losses.BinaryCrossentropy(), bits, 1 - bits),
        ("binary-logits", losses.BinaryCrossentropy(from_logits=True), bits, logits),
        ("binary-logits-smoothed",
         losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), bits, logits),
        ("categorical-probabilities", losses.CategoricalCrossentropy(), one_hot, wrong),
        ("categorical-logits", losses.CategoricalCrossentropy(from_logits=True), one_hot,
         logits),
        ("sparse-probabilities", losses.SparseCategoricalCrossentropy(), labels, wrong),
        ("sparse-logits", losses.SparseCategoricalCrossentropy(from_logits=True), labels,
         logits),
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", range(7), ids=[c[0] for c in crossentropy_cases("float64")])
def test_crossentropy_at_the_extremes_is_finite(index, dtype):
    _, loss, y_true, y_pred = crossentropy_cases(dtype)[index]
    with strict():
        value, grad = loss.value_and_gradient(y_true, y_pred)
    assert all_finite([value, grad])
    assert value > 1                               # confidently wrong somewhere: a big loss
    assert value.dtype == grad.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_crossentropy_read_from_saturated_logits_in_a_model(dtype):
    """A model ending in a saturated softmax Dense trains one step without overflow: the
    loss reads the logits (Keras 3's path), not log(0)."""
    rng = np.random.default_rng(3)
    model = sr.Sequential([sr.Input((5,), dtype=dtype),
                           layers.Dense(3, activation="softmax", dtype=dtype, seed=0)], seed=0)
    model.layers[0].set_weights([10 * signs(rng, (5, 3)), np.zeros(3)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = 1e4 * signs(rng, (4, 5))
    with strict():
        y = model.predict(x)
        wrong = np.argmin(y, axis=-1)                # the class the model is sure it is not
        loss = model.train_on_batch(x, wrong)
    assert np.isfinite(loss) and loss > 1e3
    assert all_finite(model.get_weights())


# --- NaN stays in its row ------------------------------------------------------------------

def nan_model(dtype="float64"):
    """Every kind of layer that works along time or features, none across the batch."""
    kw = dict(dtype=dtype, seed=0)
    return sr.Sequential([
        sr.Input((6, 3), dtype=dtype),
        layers.Conv1D(4, 2, padding="causal", activation="relu", **kw),
        layers.LSTM(5, return_sequences=True, **kw),
        layers.Bidirectional(layers.GRU(3, return_sequences=True, **kw)),
        layers.Dropout(0.2, **kw),
        layers.TimeDistributed(layers.Dense(4, activation="tanh", **kw)),
        layers.MaxPooling1D(2, dtype=dtype),
        layers.SimpleRNN(4, **kw),
        layers.Dense(3, activation="softmax", **kw),
    ], seed=0)


def forward_and_backward(model, x, y):
    """Outputs and the gradient of the loss with respect to ``x`` (layer by layer)."""
    out = model(x)
    _, grad = model.loss.value_and_gradient(y, out)
    for layer in reversed(model.layers):
        grad = layer.backward(grad)
    return out, grad


def test_nan_in_one_row_stays_in_that_row():
    """A NaN in sample 0 makes sample 0's output and input gradient NaN; the other
    samples get exactly what they get without sample 0 in the batch."""
    model = nan_model()
    model.compile("sgd", "categorical_crossentropy")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 6, 3))
    y = np.eye(3)[[0, 1, 2, 1]]
    x[0, 2, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # NaN comparisons in pooling
        out, dx = forward_and_backward(model, x, y)
    clean_out, clean_dx = forward_and_backward(model, x[1:], y[1:])
    assert np.isnan(out[0]).all()
    assert np.isnan(dx[0]).any()
    np.testing.assert_allclose(out[1:], clean_out, rtol=1e-12, atol=1e-15)
    # The batch mean of the loss divides by 4 rather than 3: the gradients scale by 3/4.
    np.testing.assert_allclose(dx[1:], clean_dx * 3 / 4, rtol=1e-10, atol=1e-15)


# --- long sequences ------------------------------------------------------------------------

def traced_peak(layer, x):
    """Peak bytes NumPy allocates during one forward and backward pass."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        y = layer(x)
        dx = layer.backward(np.ones_like(y))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(dx).all() and dx.shape == x.shape
    return peak


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU], ids=lambda c: c.__name__)
def test_a_2000_step_sequence_runs_with_memory_linear_in_t(cls, backend):
    """T = 2000 runs forward and backward, and the peak memory of T = 2000 is about four
    times that of T = 500: the cache holds a few (T, B, H) arrays, nothing quadratic."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 2000, 3)).astype(np.float32)

    def fresh():
        return cls(8, return_sequences=True, seed=0, backend=backend)

    traced_peak(fresh(), x[:, :500])        # warm-up: first-call allocations are not the cache
    short = traced_peak(fresh(), x[:, :500])
    long = traced_peak(fresh(), x)
    assert 3 < long / short < 5, (short, long)


# --- dtypes stay -------------------------------------------------------------------------------

def dtype_models(dtype):
    """A float model and an Embedding model, every layer in ``dtype``."""
    kw = dict(dtype=dtype, seed=0)
    floats = sr.Sequential([
        sr.Input((5, 3), dtype=dtype), layers.Conv1D(4, 2, **kw),
        layers.LSTM(4, return_sequences=True, dropout=0.1, **kw),
        layers.GRU(3, recurrent_dropout=0.1, **kw), layers.Dense(2, **kw)], seed=0)
    floats.compile("adam", "mse", metrics=["mae"])
    tokens = sr.Sequential([
        sr.Input((5,), dtype="int32"), layers.Embedding(7, 3, mask_zero=True, **kw),
        layers.SimpleRNN(4, **kw), layers.Dense(3, activation="softmax", **kw)], seed=0)
    tokens.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return floats, tokens


@pytest.mark.parametrize("data_dtype", DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_model_dtype_is_kept_end_to_end(dtype, data_dtype):
    """Weights, predictions, gradients, optimizer slots and the weights after ``fit`` keep
    the model's dtype, whatever float dtype the data comes in (cast on entry, as Keras
    casts inputs to the layer's dtype): no silent upcast, no silent downcast."""
    rng = np.random.default_rng(6)
    floats, tokens = dtype_models(dtype)
    data = [(floats, rng.normal(size=(6, 5, 3)).astype(data_dtype),
             rng.normal(size=(6, 2)).astype(data_dtype)),
            (tokens, rng.integers(0, 7, size=(6, 5)), rng.integers(0, 3, size=6))]
    want = np.dtype(dtype)
    for model, x, y in data:
        assert {w.dtype for w in model.get_weights()} == {want}
        assert model.predict(x).dtype == want
        history = model.fit(x, y, batch_size=3, epochs=1, verbose=0)
        assert all(np.isfinite(v[0]) for v in history.history.values())
        assert {w.dtype for w in model.get_weights()} == {want}
        for layer in model.layers:
            if layer.weights:
                assert {g.dtype for g in layer.get_gradients()} == {want}, layer.name
        slots = {k: s for k, s in model.optimizer.get_state().items()
                 if k not in ("iterations", "learning_rate")}   # Keras's int and float32
        assert slots and {s.dtype for s in slots.values()} == {want}
        assert model.predict(x).dtype == want
        assert np.asarray(model.test_on_batch(x, y)).dtype.kind == "f"
