"""The metrics: Keras's accumulation (weighted by sample count, ``sample_weight`` and the
mask of ``y_pred``) on hand-computed values and against a direct weighted mean; the
resolution of ``"accuracy"``; names; dtypes; bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn import metrics

from .cells import examples


def test_accuracy_functions_by_hand():
    np.testing.assert_array_equal(metrics.accuracy([[1, 2], [3, 4]], [[1, 0], [3, 4]]),
                                  [[1, 0], [1, 1]])
    np.testing.assert_array_equal(
        metrics.binary_accuracy([[1], [0], [1]], [[0.7], [0.5], [0.5]]), [[1], [1], [0]])
    np.testing.assert_array_equal(
        metrics.binary_accuracy([1, 0], [[0.2], [0.2]], threshold=0.1), [[1], [0]])
    y_pred = np.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0]])  # a tie: the first index wins
    np.testing.assert_array_equal(metrics.categorical_accuracy(np.eye(3)[[1, 1]], y_pred),
                                  [1, 0])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy([1, 0], y_pred), [1, 1])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy([[2], [0]], y_pred),
                                  [0, 1])


def test_mean_accumulates_over_batches():
    m = metrics.MeanSquaredError()
    m.update_state([[0.0, 0.0]], [[1.0, 3.0]])            # one sample: 5
    m.update_state([[0.0], [0.0]], [[1.0], [2.0]])        # two samples: 1 and 4
    assert m.result() == pytest.approx(10 / 3)
    m.update_state([[0.0], [0.0]], [[2.0], [2.0]], sample_weight=[0.0, 3.0])
    assert m.result() == pytest.approx((10 + 12) / 6)
    m.reset_state()
    assert m.result() == 0.0
    m.update_state([[0.0]], [[2.0]])
    assert m.result() == 4.0


def test_a_mask_counts_the_valid_timesteps_only():
    m = metrics.SparseCategoricalAccuracy()
    y_true = np.array([[0, 1, 1], [2, 2, 0]])
    y_pred = np.eye(3)[[[0, 0, 1], [2, 1, 1]]]                 # hits [[1,0,1],[1,0,0]]
    mask = np.array([[True, True, True], [True, False, False]])
    m.update_state(y_true, y_pred, mask=mask)
    assert m.result() == pytest.approx(3 / 4)
    m.update_state(y_true, y_pred, sample_weight=[[1.0], [3.0]], mask=mask)
    # Each sample adds mean_t(w m v) to the total and mean_t(w m) to the count: the
    # first call 2/3 + 1/3 and 1 + 1/3, the second 2/3 + 3 * 1/3 and 1 + 3 * 1/3.
    assert m.result() == pytest.approx((1 + 2 / 3 + 1) / (4 / 3 + 2))


def test_a_per_sample_weight_meets_a_sequence_as_in_keras():
    """Without a mask, (B, T) values are averaged over T to meet a (B,) weight; with a
    (B, T) mask Keras multiplies (B, T) by (B,) and fails, and so does this."""
    y_true, y_pred = np.zeros((2, 3, 1)), np.ones((2, 3, 1))
    m = metrics.MeanSquaredError()
    m.update_state(y_true, y_pred, sample_weight=[1.0, 3.0])
    assert m.result() == 1.0
    with pytest.raises(ValueError, match=r"`mask` and `sample_weight` have incompatible "
                                         r"shapes \(2, 3\) and \(2,\)"):
        m.update_state(y_true, y_pred, sample_weight=[1.0, 3.0], mask=np.ones((2, 3), bool))


def test_loss_tracker_mean():
    """A model's loss tracker: ``Mean.update_state(loss, sample_weight=batch_size)``."""
    m = metrics.Mean(name="loss")
    m.update_state(2.0, sample_weight=32)
    m.update_state(5.0, sample_weight=8)
    assert m.result() == pytest.approx((64 + 40) / 40)
    m2 = metrics.Mean()
    m2.update_state([1.0, 2.0, 6.0])
    m2.update_state(3.0)
    assert m2.result() == 3.0 and m2.name == "mean"


@settings(max_examples=examples(30))
@given(batches=st.lists(st.tuples(st.integers(1, 3), st.integers(1, 4)), min_size=1,
                        max_size=3),
       weighted=st.booleans(), masked=st.booleans(), seed=st.integers(0, 2**16))
def test_results_are_the_weighted_mean_over_valid_samples(batches, weighted, masked, seed):
    """Keras's accumulation: each sample adds mean_t(w m v) to the total and mean_t(w m)
    to the count (1 when neither weight nor mask is given)."""
    rng = np.random.default_rng(seed)
    m = metrics.MeanAbsoluteError(dtype="float64")
    num = den = 0.0
    for batch, steps in batches:
        y_true, y_pred = rng.normal(size=(2, batch, steps, 2))
        w = rng.uniform(0.1, 2, batch) if weighted else np.ones(batch)
        mask = rng.random((batch, steps)) < 0.7 if masked else np.ones((batch, steps), bool)
        m.update_state(y_true, y_pred, sample_weight=w[:, None] if weighted else None,
                       mask=mask if masked else None)
        values = np.abs(y_true - y_pred).mean(-1)
        num += np.sum(np.mean(w[:, None] * mask * values, axis=1))
        den += np.sum(np.mean(w[:, None] * mask, axis=1))
    assert m.result() == pytest.approx(num / den if den else 0.0, rel=1e-12)


def test_sums_are_kept_in_the_metric_dtype():
    m32, m64 = metrics.Mean(), metrics.Mean(dtype="float64")
    for m in (m32, m64):
        m.update_state(np.full(3, 0.1))
        m.update_state(1e8)
    assert m32.total.dtype == np.float32 and m64.total.dtype == np.float64
    assert m32.result() == float(np.float32(np.float32(0.3) + np.float32(1e8)) / np.float32(4))
    assert m64.result() == pytest.approx((0.3 + 1e8) / 4, rel=1e-15)


@pytest.mark.parametrize("true_shape, pred_shape, expected", [
    ((4, 1), (4, 1), metrics.BinaryAccuracy),
    ((4,), (4, 1), metrics.BinaryAccuracy),
    ((4, 3, 1), (4, 3, 1), metrics.BinaryAccuracy),
    ((4,), (4, 5), metrics.SparseCategoricalAccuracy),
    ((4, 1), (4, 5), metrics.SparseCategoricalAccuracy),
    ((4, 3), (4, 3, 5), metrics.SparseCategoricalAccuracy),
    ((4, 5), (4, 5), metrics.CategoricalAccuracy),
])
@pytest.mark.parametrize("identifier", ["accuracy", "acc", "Accuracy"])
def test_accuracy_is_resolved_from_the_shapes(identifier, true_shape, pred_shape, expected):
    m = metrics.get(identifier, loss="binary_crossentropy")  # the loss plays no part
    assert m.name == identifier and m.result() == 0.0
    m.update_state(np.zeros(true_shape), np.zeros(pred_shape))
    assert type(m.resolved) is expected and m.resolved.name == identifier
    m.reset_state()
    assert m.result() == 0.0


@pytest.mark.parametrize("identifier, cls", [
    ("mae", metrics.MeanAbsoluteError), ("MAE", metrics.MeanAbsoluteError),
    ("mean_absolute_error", metrics.MeanAbsoluteError),
    ("MeanAbsoluteError", metrics.MeanAbsoluteError), ("mse", metrics.MeanSquaredError),
    ("binary_accuracy", metrics.BinaryAccuracy), ("Accuracy", metrics.AutoAccuracy),
    ("CategoricalAccuracy", metrics.CategoricalAccuracy),
    ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
])
def test_get_names_the_metric_by_the_string_given(identifier, cls):
    m = metrics.get(identifier)
    assert type(m) is cls and m.name == identifier


def test_get_returns_metrics_unchanged_and_passes_the_dtype():
    m = metrics.BinaryAccuracy(threshold=0.3)
    assert metrics.get(m) is m
    assert metrics.get("mae", dtype="float64").dtype == np.float64
    assert metrics.get("mae").dtype == np.float32


def test_config_round_trips():
    for m in (metrics.BinaryAccuracy(name="b", threshold=0.2, dtype="float64"),
              metrics.MeanSquaredError(), metrics.Mean(name="loss")):
        assert type(m).from_config(m.get_config()).get_config() == m.get_config()


@pytest.mark.parametrize("call, error, match", [
    (lambda: metrics.get("f1"), ValueError, "unknown metric 'f1'; valid names: .*'acc'"),
    (lambda: metrics.get(len), TypeError, "must be a Metric or a name"),
    (lambda: metrics.Mean(dtype="float16"), ValueError, "`dtype` must be one of"),
    (lambda: metrics.BinaryAccuracy(threshold="high"), TypeError, "`threshold`"),
    (lambda: metrics.MeanAbsoluteError().update_state(np.zeros((4, 3)), np.zeros((4, 2))),
     ValueError, r"incompatible shapes \(4, 3\) and \(4, 2\)"),
    (lambda: metrics.MeanAbsoluteError().update_state(np.zeros((4, 3)), np.zeros((4, 3)),
                                                      sample_weight=np.ones(3)),
     ValueError, "incompatible shapes"),
    (lambda: metrics.Accuracy().update_state([1], [1], mask=[2]), ValueError,
     "`mask` must hold booleans"),
    (lambda: metrics.get("acc").update_state(1.0, 1.0), ValueError,
     "at least one axis"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
