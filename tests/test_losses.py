"""The losses: gradients against central finite differences (float64) for every loss,
form, reduction and weighting, through ``logits=`` too; Keras's shape and reduction
rules on hand-computed values; saturated inputs; dtypes; bad input.

Shapes: B samples, T timesteps, C classes (or features).
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn import losses
from scratchrnn.ops import activations as act

from .cells import examples
from .gradcheck import assert_gradients_match

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none")
#: label -> (class, arguments, form); forms as in parity/checks_losses.py.
FORMS = {
    "mse": (losses.MeanSquaredError, {}, "values"),
    "mae": (losses.MeanAbsoluteError, {}, "values"),
    "huber": (losses.Huber, {"delta": 0.7}, "values"),
    "bce": (losses.BinaryCrossentropy, {}, "probabilities"),
    "bce-smooth": (losses.BinaryCrossentropy, {"label_smoothing": 0.2}, "probabilities"),
    "bce-logits": (losses.BinaryCrossentropy, {"from_logits": True}, "logits"),
    "bce-activation": (losses.BinaryCrossentropy, {}, "activation"),
    "cce": (losses.CategoricalCrossentropy, {}, "probabilities"),
    "cce-smooth": (losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, "probabilities"),
    "cce-logits": (losses.CategoricalCrossentropy, {"from_logits": True}, "logits"),
    "cce-activation": (losses.CategoricalCrossentropy, {}, "activation"),
    "scce": (losses.SparseCategoricalCrossentropy, {}, "probabilities"),
    "scce-logits": (losses.SparseCategoricalCrossentropy, {"from_logits": True}, "logits"),
    "scce-activation": (losses.SparseCategoricalCrossentropy, {}, "activation"),
}
SPARSE = losses.SparseCategoricalCrossentropy


def activation_of(cls):
    return act.SIGMOID if cls is losses.BinaryCrossentropy else act.SOFTMAX


def labels(rng, cls, pred_shape):
    """``y_true`` for ``cls`` and predictions of ``pred_shape``."""
    if cls is losses.BinaryCrossentropy:
        return (rng.random(pred_shape) < 0.5).astype(float)
    if cls is losses.CategoricalCrossentropy:
        return np.eye(pred_shape[-1])[rng.integers(0, pred_shape[-1], pred_shape[:-1])]
    if cls is SPARSE:
        return rng.integers(0, pred_shape[-1], pred_shape[:-1])
    return rng.normal(size=pred_shape)


def predictions(rng, cls, form, shape):
    """The array the gradient is checked against: ``y_pred``, or the logits."""
    if form in ("values", "logits", "activation"):
        return rng.normal(size=shape)
    if cls is losses.CategoricalCrossentropy:  # unnormalised: exercises the renormalisation
        return rng.uniform(0.1, 1.0, shape)
    # Away from the clip bounds, where finite differences would straddle a kink.
    p = rng.uniform(0.05, 0.95, shape)
    return p / p.sum(-1, keepdims=True) if cls is SPARSE else p


class LossProblem:
    """``loss(y_true, f(x), ...)`` as a function of ``x``: ``y_pred`` itself, or the logits
    that an activation turns into ``y_pred`` (form ``"activation"``)."""

    def __init__(self, label, reduction, shape, weighting, seed=0):
        cls, kwargs, self.form = FORMS[label]
        rng = np.random.default_rng(seed)
        self.loss = cls(reduction=reduction, **kwargs)
        self.code = activation_of(cls)
        self.x = predictions(rng, cls, self.form, shape)
        self.y_true = labels(rng, cls, shape)
        per_sample = shape[:-1]
        self.sample_weight = (rng.uniform(0.2, 2.0, per_sample)
                              if "sw" in weighting else None)
        self.mask = None
        if "mask" in weighting:
            self.mask = rng.random(per_sample) < 0.6
            self.mask.flat[0] = True
            self.mask.flat[-1] = False

    def _value_and_gradient(self):
        if self.form == "activation":
            y_pred = act.forward(self.x, self.code)
            return self.loss.value_and_gradient(self.y_true, y_pred, self.sample_weight,
                                                self.mask, logits=self.x)
        return self.loss.value_and_gradient(self.y_true, self.x, self.sample_weight, self.mask)

    def value(self):
        return float(np.sum(self._value_and_gradient()[0]))

    def check(self):
        grad = self._value_and_gradient()[1]
        assert grad.shape == self.x.shape and grad.dtype == self.x.dtype
        return assert_gradients_match(self.value, {"x": self.x}, {"x": grad})


# --- gradients ------------------------------------------------------------------------

@pytest.mark.parametrize("label", FORMS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighting", ["plain", "sw", "mask", "sw+mask"])
def test_gradients_match_finite_differences(label, reduction, weighting):
    LossProblem(label, reduction, (2, 3, 4), weighting).check()


@pytest.mark.parametrize("label", FORMS)
@settings(max_examples=examples(20))
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       reduction=st.sampled_from(REDUCTIONS),
       weighting=st.sampled_from(["plain", "sw", "mask", "sw+mask"]),
       seed=st.integers(0, 2**16))
def test_gradients_match_finite_differences_on_any_shape(label, shape, reduction, weighting,
                                                          seed):
    cls = FORMS[label][0]
    if cls in (losses.CategoricalCrossentropy, SPARSE) and shape[-1] == 1:
        shape = shape[:-1] + (2,)  # one class: a degenerate crossentropy (Keras warns)
    if len(shape) == 1 and weighting != "plain":
        weighting = "plain"  # per-sample values are a scalar: nothing to weight per sample
    LossProblem(label, reduction, shape, weighting, seed).check()


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "none"])
def test_gradient_through_a_squeezed_sigmoid_output(reduction):
    """y_true (B, T) against y_pred (B, T, 1): Keras squeezes y_pred, which loses its
    logits, so the loss is the clipped one of y_pred; the gradient still reaches the
    logits, through the sigmoid."""
    rng = np.random.default_rng(0)
    z, y_true = rng.normal(size=(2, 3, 1)), (rng.random((2, 3)) < 0.5).astype(float)
    loss = losses.BinaryCrossentropy(reduction=reduction)

    def value():
        return float(np.sum(loss(y_true, act.sigmoid(z), logits=z)))

    _, grad = loss.value_and_gradient(y_true, act.sigmoid(z), logits=z)
    assert_gradients_match(value, {"z": z}, {"z": grad})
    np.testing.assert_allclose(value(), np.sum(loss(y_true, act.sigmoid(z))), rtol=1e-15)


def test_logits_with_another_activation_are_read_as_keras_reads_them():
    """A categorical crossentropy on a sigmoid output that carries its logits is the
    softmax crossentropy of those logits (Keras uses ``_keras_logits`` whatever made
    them)."""
    rng = np.random.default_rng(1)
    z, y_true = rng.normal(size=(3, 4)), np.eye(4)[[0, 2, 3]]
    loss = losses.CategoricalCrossentropy()
    value, grad = loss.value_and_gradient(y_true, act.sigmoid(z), logits=z,
                                          activation="sigmoid")
    expected, expected_grad = losses.CategoricalCrossentropy(
        from_logits=True).value_and_gradient(y_true, z)
    np.testing.assert_allclose(value, expected, rtol=1e-15)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-15)


# --- Keras's values ---------------------------------------------------------------------

def test_mean_squared_error_reductions_by_hand():
    y_true = np.array([[0.0, 1.0], [2.0, 2.0]])
    y_pred = np.array([[1.0, 1.0], [0.0, 3.0]])
    per_sample = np.array([0.5, 2.5])
    np.testing.assert_allclose(losses.mean_squared_error(y_true, y_pred), per_sample)
    expected = {"sum_over_batch_size": 1.5, "mean": 1.5, "sum": 3.0,
                "mean_with_sample_weight": 1.5}
    for reduction, value in expected.items():
        assert losses.MeanSquaredError(reduction=reduction)(y_true, y_pred) == value
    np.testing.assert_array_equal(
        losses.MeanSquaredError(reduction="none")(y_true, y_pred), per_sample)
    weighted = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    assert weighted(y_true, y_pred, sample_weight=[1.0, 3.0]) == (0.5 + 7.5) / 4
    assert losses.MeanSquaredError()(y_true, y_pred, sample_weight=[1.0, 3.0]) == 8.0 / 2


def test_a_mask_averages_over_the_valid_entries_only():
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 4, 2))
    mask = rng.random((3, 4)) < 0.5
    mask[0, 0] = True
    per_step = losses.mean_absolute_error(y_true, y_pred)
    for reduction in ("sum_over_batch_size", "mean"):
        value = losses.MeanAbsoluteError(reduction=reduction)(y_true, y_pred, mask=mask)
        np.testing.assert_allclose(value, per_step[mask].mean(), rtol=1e-14)
    np.testing.assert_allclose(losses.MeanAbsoluteError(reduction="sum")(y_true, y_pred,
                                                                         mask=mask),
                               per_step[mask].sum(), rtol=1e-14)
    # Everything masked: 0, not NaN (Keras's divide_no_nan), and a zero gradient.
    value, grad = losses.MeanAbsoluteError().value_and_gradient(
        y_true, y_pred, mask=np.zeros((3, 4), bool))
    assert value == 0 and not np.any(grad)


def test_ranks_are_reconciled_as_keras_does():
    y_true, y_pred = np.array([1.0, 0.0, 1.0]), np.array([[0.5], [0.0], [2.0]])
    # (B,) against (B, 1): y_true gains an axis; per-sample values (B,).
    np.testing.assert_allclose(losses.mean_squared_error(y_true, y_pred), [0.25, 0.0, 1.0])
    _, grad = losses.MeanSquaredError().value_and_gradient(y_true, y_pred)
    assert grad.shape == (3, 1)
    # (B, T) against (B, T, 1): y_pred loses its axis, the mean runs over T.
    np.testing.assert_allclose(losses.mean_squared_error(y_true[None], y_pred[None]),
                               [1.25 / 3])
    # (B,) against (B,): the "per-sample" mean runs over the batch and gives a scalar,
    # which a sample_weight then broadcasts.
    value = losses.MeanSquaredError()(y_true, y_pred[:, 0], sample_weight=[1.0, 2.0, 3.0])
    np.testing.assert_allclose(value, 2 * (1.25 / 3), rtol=1e-15)


def test_huber_is_quadratic_then_linear():
    d = np.array([0.5, -2.0])
    np.testing.assert_allclose(losses.huber(np.zeros((1, 2)), d[None]),
                               [(0.125 + (2.0 - 0.5)) / 2])
    np.testing.assert_allclose(losses.huber(np.zeros((1, 2)), d[None], delta=3.0),
                               [(0.125 + 2.0) / 2])


def test_crossentropies_by_hand():
    eps = 1e-7
    # Clipped probabilities: p = 0 for a positive label costs -log(1e-7).
    np.testing.assert_allclose(losses.binary_crossentropy([[1.0, 0.0]], [[0.0, 0.0]]),
                               [-np.log(eps) / 2])
    # Label smoothing moves the labels to 0.5 (binary) or 1/C (categorical).
    np.testing.assert_allclose(
        losses.binary_crossentropy([[1.0]], [[0.8]], label_smoothing=0.5),
        [-(0.75 * np.log(0.8) + 0.25 * np.log(0.2))])
    np.testing.assert_allclose(
        losses.categorical_crossentropy([[1.0, 0.0]], [[0.8, 0.2]], label_smoothing=0.5),
        [-(0.75 * np.log(0.8) + 0.25 * np.log(0.2))])
    # Categorical probabilities are renormalised: (2, 2) is (0.5, 0.5).
    np.testing.assert_allclose(losses.categorical_crossentropy([[1.0, 0.0]], [[2.0, 2.0]]),
                               [np.log(2)])
    # Sparse probabilities are clipped then renormalised too: log Σq - log q_y.
    q = np.array([0.6, 0.0])
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy([0], q[None]),
                               [np.log(0.6 + eps) - np.log(0.6)])
    z = np.array([[2.0, -1.0, 0.5]])
    lse = np.log(np.exp(z).sum())
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy([[2]], z, from_logits=True), [lse - 0.5])
    np.testing.assert_allclose(
        losses.categorical_crossentropy([[0, 0, 1.0]], z, from_logits=True), [lse - 0.5])
    np.testing.assert_allclose(losses.binary_crossentropy([[1.0]], [[2.0]], from_logits=True),
                               [np.log1p(np.exp(-2.0))])


def test_logits_give_the_unclipped_value():
    """Through ``logits=`` a saturated sigmoid costs its true crossentropy, not the
    clipped -log(1e-7)."""
    loss = losses.BinaryCrossentropy()
    z = np.array([[-50.0]])
    assert loss([[1.0]], act.sigmoid(z)) == pytest.approx(-np.log(1e-7))
    assert loss([[1.0]], act.sigmoid(z), logits=z) == pytest.approx(50.0)


# --- saturation and dtypes --------------------------------------------------------------

@pytest.mark.parametrize("label", [k for k in FORMS if FORMS[k][2] != "values"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_saturated_inputs_give_finite_values_and_gradients(label, dtype):
    cls, kwargs, form = FORMS[label]
    rng = np.random.default_rng(3)
    y_true = labels(rng, cls, (4, 3))
    if form == "probabilities":
        y_pred = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [0.5, 0.5, 0]], dtype)
        extra = {}
    else:
        z = np.array([[1e4, -1e4, 1e4], [-1e4, -1e4, 1e4], [1e4, 1e4, 1e4], [0, -1e4, 1e4]],
                     dtype)
        y_pred = z if form == "logits" else act.forward(z, activation_of(cls)).astype(dtype)
        extra = {} if form == "logits" else {"logits": z}
    # Underflow (exp(-1e4) = 0) is harmless and NumPy ignores it by default.
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        value, grad = cls(**kwargs).value_and_gradient(y_true, y_pred, **extra)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value.dtype == grad.dtype == np.dtype(dtype)


@pytest.mark.parametrize("label", FORMS)
def test_float32_stays_float32_and_agrees_with_float64(label):
    problem = LossProblem(label, "sum_over_batch_size", (3, 4), "sw+mask", seed=4)
    value64, grad64 = problem._value_and_gradient()
    problem.x = problem.x.astype(np.float32)
    problem.sample_weight = problem.sample_weight.astype(np.float32)
    value32, grad32 = problem._value_and_gradient()
    assert value32.dtype == grad32.dtype == np.float32 and value32.shape == ()
    np.testing.assert_allclose(value32, value64, rtol=1e-5)
    np.testing.assert_allclose(grad32, grad64, rtol=1e-4, atol=1e-6 * np.abs(grad64).max())


def test_integer_predictions_become_float32():
    value = losses.MeanSquaredError()([[1, 2]], [[1, 3]])
    assert value.dtype == np.float32 and value == 0.5


# --- lookup and configuration -----------------------------------------------------------

@pytest.mark.parametrize("identifier, cls, name", [
    ("mse", losses.MeanSquaredError, "mse"),
    ("mean_squared_error", losses.MeanSquaredError, "mean_squared_error"),
    ("MeanSquaredError", losses.MeanSquaredError, "mean_squared_error"),
    ("MAE", losses.MeanAbsoluteError, "MAE"),
    ("huber", losses.Huber, "huber"),
    ("Huber", losses.Huber, "huber_loss"),
    ("bce", losses.BinaryCrossentropy, "bce"),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, "categorical_crossentropy"),
    ("SparseCategoricalCrossentropy", SPARSE, "sparse_categorical_crossentropy"),
])
def test_get_resolves_names_as_keras_compile_does(identifier, cls, name):
    loss = losses.get(identifier)
    assert type(loss) is cls and loss.name == name
    assert loss.reduction == "sum_over_batch_size"


def test_get_returns_instances_and_none_unchanged():
    loss = losses.Huber(delta=2.0)
    assert losses.get(loss) is loss
    assert losses.get(None) is None


@pytest.mark.parametrize("loss", [
    losses.MeanSquaredError(reduction="sum", name="l2"), losses.MeanAbsoluteError(),
    losses.Huber(delta=0.3, reduction="none"),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    losses.CategoricalCrossentropy(label_smoothing=0.2), SPARSE(from_logits=True)])
def test_config_round_trips(loss):
    again = type(loss).from_config(loss.get_config())
    assert again.get_config() == loss.get_config()


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: losses.get("cross_entropy"), "unknown loss 'cross_entropy'; valid names: .*mse"),
    (lambda: losses.MeanSquaredError(reduction="avg"), "`reduction` must be one of"),
    (lambda: losses.Huber(delta=0), "`delta` must be a positive number, got 0"),
    (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), "`label_smoothing` must be"),
    (lambda: losses.CategoricalCrossentropy(axis=1), "`axis` must be -1"),
    (lambda: SPARSE(axis=0), "`axis` must be -1"),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, error, match", [
    (lambda: losses.get(len), TypeError, "must be a Loss or a name"),
    (lambda: losses.BinaryCrossentropy(from_logits="yes"), TypeError, "`from_logits`"),
    (lambda: losses.MeanSquaredError(name=3), TypeError, "`name` must be a string"),
])
def test_bad_argument_types_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("call, match", [
    (lambda: losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 2))),
     r"`y_true` and `y_pred` have incompatible shapes \(4, 3\) and \(4, 2\)"),
    (lambda: losses.BinaryCrossentropy()(np.zeros((4, 3)), np.full((4, 1), 0.5)),
     r"y_true.shape=\(4, 3\) and y_pred.shape=\(4, 1\)"),
    (lambda: losses.CategoricalCrossentropy()(np.zeros((4, 3)), np.ones((4, 2))),
     r"y_true.shape=\(4, 3\) and y_pred.shape=\(4, 2\)"),
    (lambda: SPARSE()(np.zeros((4, 2)), np.ones((4, 3))),
     r"y_true.shape=\(4, 2\) and y_pred.shape=\(4, 3\)"),
    (lambda: SPARSE()([0, 3], np.ones((2, 3))), r"class index 3, outside .*\[0, 3\)"),
    (lambda: SPARSE()([0, -1], np.ones((2, 3))), r"class index -1"),
    (lambda: SPARSE()([0.5, 1], np.ones((2, 3))), "integer class indices"),
    (lambda: losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 3)),
                                       sample_weight=np.ones(3)),
     r"`losses` and `sample_weight \(with the mask\)` have incompatible shapes \(4,\) and "
     r"\(3,\)"),
    (lambda: losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 3)), mask=[0, 2, 1, 1]),
     "`mask` must hold booleans"),
    (lambda: losses.MeanSquaredError()(np.zeros(3), np.zeros(3), logits=np.zeros(3)),
     "`logits` are read by the crossentropy losses only"),
    (lambda: losses.BinaryCrossentropy()(np.zeros((2, 1)), np.zeros((2, 1)),
                                         logits=np.zeros(2)),
     r"`logits` must have the shape of `y_pred`, got logits.shape=\(2,\)"),
    (lambda: losses.MeanSquaredError()(0.0, 1.0), "`y_pred` must have at least one axis"),
    (lambda: losses.BinaryCrossentropy()(np.zeros((2, 1)), np.zeros((2, 1)),
                                         logits=np.zeros((2, 1)), activation="tanh"),
     "`activation` must be 'sigmoid' or 'softmax'.*got 'tanh'"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numeric_input_is_named():
    with pytest.raises(TypeError, match="`y_pred` must hold float32 or float64"):
        losses.MeanSquaredError()([1.0], np.array([1.0], np.float16))
    with pytest.raises(TypeError, match="`y_true` must hold real numbers"):
        losses.MeanSquaredError()(["a"], [1.0])


def test_from_logits_with_logits_warns_as_keras_does():
    with pytest.warns(UserWarning, match="from_logits=True, but `logits` were given"):
        losses.BinaryCrossentropy(from_logits=True)([[1.0]], [[0.7]], logits=[[0.8]])
