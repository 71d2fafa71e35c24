"""NaN and overflow policy, and numbers that must not change quietly (issue 16, classes 4
and 5): padding never reaches a result on either backend, a NaN is never an improvement,
a NaN weight or an unrepresentable rate is refused, values that a dtype cannot hold are
refused, and a few inputs that used to give unclear errors (class 6) say what is wrong.
"""

import math
import types

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import callbacks, layers, losses, optimizers, sampling, schedules
from scratchrnn import text as text_utils
from scratchrnn import timeseries as ts

BACKENDS = ["numpy", "numba"]


# --- 4. padding never reaches a result --------------------------------------------------------

def _padded_batch(dtype, pad):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 4)).astype(dtype)
    mask = np.ones((3, 5), bool)
    mask[0, 3:] = False                     # right padding
    mask[1, :2] = False                     # left padding
    mask[2, 2] = False                      # a hole
    padded = x.copy()
    padded[~mask] = pad
    clean = x.copy()
    clean[~mask] = 0
    return padded, clean, mask


def _run(make, x, mask):
    layer = make()
    out = layer(x, mask=mask)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=o.shape).astype(o.dtype) for o in outs]
    dx = layer.backward(grads if len(outs) > 1 else grads[0])
    dx = dx[0] if isinstance(dx, tuple) else dx
    return outs, dx, layer.get_gradients()


LAYERS = {
    "SimpleRNN": lambda be, dt: layers.SimpleRNN(6, return_sequences=True, backend=be,
                                                 dtype=dt, seed=0),
    "LSTM": lambda be, dt: layers.LSTM(6, return_sequences=True, return_state=True,
                                       backend=be, dtype=dt, seed=0),
    "LSTM-backwards": lambda be, dt: layers.LSTM(6, go_backwards=True, backend=be, dtype=dt,
                                                 seed=0),
    "GRU": lambda be, dt: layers.GRU(6, return_sequences=True, backend=be, dtype=dt, seed=0),
    "GRU-before": lambda be, dt: layers.GRU(6, reset_after=False, return_state=True,
                                            backend=be, dtype=dt, seed=0),
    "Bidirectional": lambda be, dt: layers.Bidirectional(
        layers.LSTM(6, return_sequences=True, backend=be, dtype=dt, seed=0), dtype=dt),
}


PADDING_CASES = [(name, dtype, pad) for name in sorted(LAYERS)
                 for dtype in ("float64", "float32") for pad in (np.nan, np.inf, -np.inf)
                 if dtype == "float64" or pad == np.inf or name in ("LSTM", "GRU")]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, dtype, pad", PADDING_CASES,
                         ids=[f"{n}-{d}-{p}" for n, d, p in PADDING_CASES])
def test_padding_never_reaches_a_result(name, backend, dtype, pad):
    """NaN or inf in masked steps gives exactly the outputs, input gradients and weight
    gradients of zeros there (they were NaN in the weight gradients on both backends,
    and in dx on numpy)."""
    padded, clean, mask = _padded_batch(dtype, pad)
    make = LAYERS[name]
    with np.errstate(all="raise"):
        outs, dx, grads = _run(lambda: make(backend, dtype), padded, mask)
    ref_outs, ref_dx, ref_grads = _run(lambda: make(backend, dtype), clean, mask)
    for got, want in zip(outs + [dx] + grads, ref_outs + [ref_dx] + ref_grads):
        assert np.all(np.isfinite(got))
        np.testing.assert_array_equal(got, want)
    assert np.all(dx[~mask] == 0)


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_ops_and_kernels_ignore_padding_alike(cell):
    """The readable ops and the compiled kernels agree with NaN padding, and each
    backend's backward takes the other's forward."""
    from scratchrnn import kernels, ops
    rng = np.random.default_rng(2)
    B, T, I, H = 3, 5, 4, 6
    g = {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell]
    padded, _, mask = _padded_batch("float64", np.nan)
    k = rng.normal(size=(I, g * H)) * 0.3
    rk = rng.normal(size=(H, g * H)) * 0.3
    bias = rng.normal(size=(2, g * H) if cell == "gru" else (g * H,)) * 0.1
    states = [np.zeros((B, H))] * (2 if cell == "lstm" else 1)
    dout = rng.normal(size=(B, T, H))
    dstates = [rng.normal(size=(B, H)) for _ in states]
    results = []
    for fwd_mod, bwd_mod in [(ops, ops), (kernels, kernels), (ops, kernels), (kernels, ops)]:
        fwd = getattr(getattr(fwd_mod, cell), f"{cell}_forward")
        bwd = getattr(getattr(bwd_mod, cell), f"{cell}_backward")
        out, cache = fwd(padded, *states, k, rk, bias, mask=mask)
        grads = bwd(dout, *dstates, cache, k, rk)
        flat = list(out) + [a for a in grads if a is not None]
        assert all(np.all(np.isfinite(a)) for a in flat)
        results.append(flat)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# --- 4. a NaN is never an improvement ---------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: callbacks.EarlyStopping(),
    lambda: callbacks.ReduceLROnPlateau(),
    lambda: callbacks.ModelCheckpoint("never_written.npz", save_best_only=True),
    lambda: callbacks.EarlyStopping(mode="max", monitor="val_accuracy"),
], ids=["early-stopping", "reduce-lr", "model-checkpoint", "max-mode"])
def test_nan_is_never_an_improvement(make):
    cb = make()
    assert cb.is_improvement(math.nan, None) is False
    assert cb.is_improvement(np.float32("nan"), 1.0) is False
    assert cb.is_improvement(1.0, math.nan) is True        # a NaN reference is none


def test_early_stopping_forgets_a_nan_first_epoch():
    cb = callbacks.EarlyStopping(patience=2)
    cb.model = types.SimpleNamespace(stop_training=False)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_loss": math.nan})
    cb.on_epoch_end(1, {"val_loss": 1.0})
    cb.on_epoch_end(2, {"val_loss": 0.5})
    assert cb.best == 0.5 and cb.best_epoch == 2 and not cb.model.stop_training


def test_model_checkpoint_does_not_keep_a_nan_best(tmp_path):
    model = sr.Sequential([sr.Input((4, 3)), layers.LSTM(2)], seed=0)
    model.compile("sgd", "mse")
    cb = callbacks.ModelCheckpoint(str(tmp_path / "best.npz"), save_best_only=True)
    cb.set_model(model) if hasattr(cb, "set_model") else setattr(cb, "model", model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_loss": math.nan})
    assert not (tmp_path / "best.npz").exists()
    cb.on_epoch_end(1, {"val_loss": 2.0})
    assert (tmp_path / "best.npz").exists() and cb.best == 2.0


# --- 4. weights and rates ---------------------------------------------------------------------

@pytest.mark.parametrize("weight", [math.nan, math.inf])
def test_non_finite_sample_weight_is_refused(weight):
    y = np.zeros((2, 3), np.float32)
    p = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="`sample_weight` must hold finite numbers"):
        losses.MeanSquaredError()(y, p, sample_weight=[weight, 1.0])


def test_training_refuses_a_nan_sample_weight():
    model = sr.Sequential([sr.Input((4, 3)), layers.LSTM(2)], seed=0)
    model.compile("sgd", "mse")
    w = np.array([1, np.nan, 1, 1])
    with pytest.raises(ValueError, match="sample_weight"):
        model.train_on_batch(np.ones((4, 4, 3)), np.zeros((4, 2)), sample_weight=w)
    batches = iter([(np.ones((4, 4, 3)), np.zeros((4, 2)), w)])
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(batches, verbose=0, epochs=1)
    assert all(np.all(np.isfinite(v)) for v in model.get_weights())


@pytest.mark.parametrize("loss", [losses.MeanSquaredError(), losses.MeanAbsoluteError(),
                                  losses.BinaryCrossentropy(), losses.CategoricalCrossentropy(),
                                  losses.CategoricalCrossentropy(from_logits=True),
                                  losses.Huber()],
                         ids=["mse", "mae", "bce", "cce", "cce-logits", "huber"])
def test_nan_targets_in_masked_steps_never_reach_the_loss(loss):
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.1, 0.9, size=(2, 4, 3))
    pred /= pred.sum(-1, keepdims=True)
    true = rng.uniform(0, 1, size=(2, 4, 3))
    mask = np.array([[1, 1, 0, 0], [0, 1, 1, 1]], bool)
    nan_true = true.copy()
    nan_true[~mask] = np.nan
    clean = true.copy()
    clean[~mask] = 0
    value, grad = loss.value_and_gradient(nan_true, pred, mask=mask)
    ref_value, ref_grad = loss.value_and_gradient(clean, pred, mask=mask)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == ref_value
    np.testing.assert_array_equal(grad, ref_grad)
    assert np.all(grad[~mask] == 0)


@pytest.mark.parametrize("make", [
    lambda: optimizers.SGD(clipnorm=1e-50),
    lambda: optimizers.SGD(global_clipnorm=1e-45),
    lambda: optimizers.Adam(clipvalue=1e39),
    lambda: optimizers.SGD(learning_rate=1e40),
    lambda: optimizers.Adam(learning_rate=1e-50),
    lambda: optimizers.Adam(epsilon=1e-50),
    lambda: optimizers.RMSprop(epsilon=1e39),
    lambda: schedules.ExponentialDecay(1e40, 10, 0.9),
    lambda: schedules.InverseTimeDecay(1e-50, 10, 0.5),
    lambda: schedules.CosineDecay(0.1, 1e-50),
    lambda: schedules.CosineDecay(0.1, 10, warmup_target=1e39, warmup_steps=2),
    lambda: schedules.PiecewiseConstantDecay([10], [0.1, 1e-60]),
], ids=["clipnorm-tiny", "global-clipnorm-tiny", "clipvalue-huge", "lr-huge", "lr-tiny",
        "epsilon-tiny", "epsilon-huge", "exp-decay-huge", "inverse-time-tiny",
        "cosine-decay-steps-tiny", "warmup-target-huge", "piecewise-tiny"])
def test_rates_float32_cannot_hold_are_refused(make):
    with pytest.raises(ValueError, match="float32"):
        make()


def test_learning_rate_setter_refuses_overflow():
    opt = optimizers.SGD(0.1)
    with pytest.raises(ValueError, match="overflow"):
        opt.learning_rate = 1e39
    assert opt.learning_rate == pytest.approx(0.1)
    # the smallest threshold float32 holds keeps a zero gradient zero (1e-50 made it NaN)
    opt = optimizers.SGD(0.1, clipnorm=float(np.finfo(np.float32).tiny))
    w = np.ones(3, np.float32)
    opt.apply([np.zeros(3, np.float32)], [w])
    np.testing.assert_array_equal(w, np.ones(3, np.float32))
    # zero learning rate stays allowed
    assert optimizers.SGD(0.0).learning_rate == 0.0


# --- 5. numbers that quietly change -----------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    dict(sequences=[[2 ** 40, 5]]),
    dict(sequences=[np.array([2 ** 40, 5])]),
    dict(sequences=[[2 ** 70]]),
    dict(sequences=[[1.0, np.nan]]),
    dict(sequences=[[300]], dtype="uint8"),
    dict(sequences=[[-1]], dtype="uint8"),
    dict(sequences=[[1e300]], dtype="float32"),
    dict(sequences=[[1, 2]], maxlen=3, value=2 ** 40),
    dict(sequences=[[1, 2]], maxlen=3, value=np.nan),
], ids=["int", "int64-array", "huge", "nan", "uint8-high", "uint8-negative", "float32",
        "value", "value-nan"])
def test_pad_sequences_refuses_what_the_dtype_cannot_hold(kwargs):
    with pytest.raises(ValueError, match="cannot hold|largest"):
        text_utils.pad_sequences(**kwargs)


def test_pad_sequences_casts_what_fits_and_no_more():
    np.testing.assert_array_equal(text_utils.pad_sequences([[2.7, -2.7], [2 ** 31 - 1]]),
                                  [[2, -2], [0, 2 ** 31 - 1]])
    out = text_utils.pad_sequences([[1.5, np.nan]], dtype="float32")
    assert out.dtype == np.float32 and np.isnan(out[0, 1])
    assert text_utils.pad_sequences([[2 ** 40]], dtype="int64")[0, 0] == 2 ** 40
    with pytest.raises(ValueError, match=r"`sequences`\[1\] holds 1099511627776"):
        text_utils.pad_sequences([[1], np.array([2 ** 40, 5])])      # was [[0, 0], [0, 5]]


@pytest.mark.parametrize("value", [0.1, 0.7, 3.3])
def test_normalizer_constant_feature_gives_exact_zeros(value):
    train = np.stack([np.full(7, value), np.arange(7.0)], axis=1)
    norm = ts.Normalizer().fit(train)
    assert norm.std[0] == 1.0 and norm.mean[0] == value
    out = norm.transform(train)
    np.testing.assert_array_equal(out[:, 0], 0.0)
    np.testing.assert_array_equal(norm.inverse_transform(out)[:, 0], value)
    flat = ts.Normalizer().fit(np.full(3, value))
    assert flat.std == 1.0 and np.all(flat.transform(np.full(3, value)) == 0)


@pytest.mark.parametrize("logits", [np.zeros(100_000, np.float16),
                                    np.full((2, 100_000), -3.0, np.float16)],
                         ids=["uniform", "uniform-batch"])
def test_sampling_float16_logits_over_a_large_vocabulary(logits):
    probs = sampling.distribution(logits)
    assert probs.dtype == np.float64 and np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs, 1e-5)
    draws = np.array([sampling.sample(logits, rng=i) for i in range(20)]).ravel()
    assert np.all(draws != 99_999) and len(set(draws.tolist())) > 10


def test_masking_refuses_a_nan_mask_value():
    """Keras 3.15 accepts ``Masking(mask_value=nan)`` and masks nothing (``not_equal``
    is True for NaN); here it is refused."""
    with pytest.raises(ValueError, match="`mask_value` must not be NaN"):
        layers.Masking(mask_value=np.nan)
    layers.Masking(mask_value=np.inf)        # inf equals itself: allowed


@pytest.mark.parametrize("make", [lambda: layers.LSTM(3), lambda: layers.Dense(3),
                                  lambda: layers.Masking()], ids=["lstm", "dense", "masking"])
def test_masked_arrays_are_refused(make):
    x = np.ma.array(np.ones((2, 4, 3), np.float32), mask=np.zeros((2, 4, 3), bool))
    with pytest.raises(TypeError, match="masked array.*`mask=`"):
        make()(x)


def _masked(shape):
    mask = np.zeros(shape, bool)
    mask.flat[0] = True
    return np.ma.array(np.ones(shape, np.float32), mask=mask)


@pytest.mark.parametrize("call, named", [
    (lambda m: m.fit(_masked((4, 3)), np.ones((4, 1)), verbose=0), "`x`"),
    (lambda m: m.fit(np.ones((4, 3)), _masked((4, 1)), verbose=0), "`y`"),
    (lambda m: m.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0,
                     validation_data=(np.ones((4, 3)), _masked((4, 1)))),
     r"`validation_data`\[1\]"),
    (lambda m: m.fit(iter([(_masked((4, 3)), np.ones((4, 1)))]), verbose=0), r"`x` batch\[0\]"),
    (lambda m: m.evaluate(np.ones((4, 3)), _masked((4, 1)), verbose=0), "`y`"),
    (lambda m: m.predict(_masked((4, 3)), verbose=0), "`x`"),
    (lambda m: m.predict([_masked((4, 3))], verbose=0), r"`x`\[0\]"),
    (lambda m: m.train_on_batch(np.ones((4, 3)), np.ones((4, 1)),
                                sample_weight=np.ma.array(np.ones(4))), "`sample_weight`"),
    (lambda m: m(_masked((4, 3))), "`inputs`"),
], ids=["fit-x", "fit-y", "validation", "generator", "evaluate", "predict", "predict-list",
        "sample-weight", "call"])
def test_models_refuse_masked_arrays_naming_the_argument(call, named):
    """A masked array's mask would be dropped by ``np.asarray``: its masked entries would
    train and score as data.  Refused wherever data enters a model."""
    model = sr.Sequential([layers.Input((3,)), layers.Dense(1, seed=0)])
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(TypeError, match=named + " is a NumPy masked array"):
        call(model)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)          # refused before any step


# --- 6. clear errors --------------------------------------------------------------------------

@pytest.mark.parametrize("split", ["0.2", True, [0.2]])
def test_validation_split_must_be_a_number(split):
    model = sr.Sequential([sr.Input((4, 3)), layers.LSTM(2)], seed=0)
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match="`validation_split` must be a float"):
        model.fit(np.ones((10, 4, 3)), np.zeros((10, 2)), validation_split=split, verbose=0)


def test_windows_of_a_ragged_series():
    with pytest.raises(ValueError, match="`series` must be a rectangular array"):
        ts.windows([[1.0, 2.0], [3.0]], 1)
    with pytest.raises(ValueError, match="`train` must be a rectangular array"):
        ts.Normalizer().fit([[1.0, 2.0], [3.0]])


def test_text_vectorization_adapt_invalid_utf8():
    tv = text_utils.TextVectorization()
    with pytest.raises(ValueError, match="`data` must hold text or UTF-8.*not valid UTF-8"):
        tv.adapt([b"fine", b"\xff\xfe broken"])
