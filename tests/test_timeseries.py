"""``scratchrnn.timeseries``: window counts and contents, Keras's
timeseries_dataset_from_array rules against a loop, the temporal split, the normaliser,
baselines, errors and the synthetic series (the tf.data and Keras pipelines themselves are
compared in ``parity/checks_text.py``)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn import timeseries as ts

from .cells import examples

# --- windows ----------------------------------------------------------------------------------


@settings(max_examples=examples(60))
@given(n=st.integers(1, 40), w=st.integers(1, 8), h=st.integers(1, 4), shift=st.integers(1, 6),
       features=st.sampled_from([None, 1, 3]))
def test_windows_count_and_contents(n, w, h, shift, features):
    series = np.arange(n * (features or 1), dtype=np.float32).reshape(
        (n,) if features is None else (n, features))
    x, y = ts.windows(series, w, horizon=h, shift=shift)
    count = (n - w - h) // shift + 1 if n >= w + h else 0
    assert len(x) == len(y) == count == ts.window_count(n, w, h, shift)
    assert x.shape == (count, w) + series.shape[1:] and y.shape == (count, h) + series.shape[1:]
    assert x.dtype == y.dtype == np.float32
    for k in range(count):
        np.testing.assert_array_equal(x[k], series[k * shift:k * shift + w])
        np.testing.assert_array_equal(y[k], series[k * shift + w:k * shift + w + h])


def test_target_columns():
    series = np.arange(30.0).reshape(10, 3)
    x, y = ts.windows(series, 4, horizon=2, target_columns=1)
    assert x.shape == (5, 4, 3) and y.shape == (5, 2)
    np.testing.assert_array_equal(y[0], series[4:6, 1])
    _, y2 = ts.windows(series, 4, horizon=2, target_columns=[2, 0])
    np.testing.assert_array_equal(y2[1], series[5:7][:, [2, 0]])


@pytest.mark.parametrize("kwargs, argument", [
    (dict(window_size=0), "window_size"),
    (dict(horizon=0), "horizon"),
    (dict(shift=1.5), "shift"),
    (dict(target_columns=0), "target_columns"),
    (dict(series=np.zeros((5, 2)), target_columns=2), "target_columns"),
    (dict(series=np.array(3.0)), "series"),
    (dict(series=["a", "b"]), "series"),
])
def test_windows_errors(kwargs, argument):
    kwargs = {"series": np.arange(10.0), "window_size": 3, **kwargs}
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        ts.windows(**kwargs)


# --- timeseries_dataset -------------------------------------------------------------------


def loop_dataset(data, targets, length, stride, rate, start, end):
    """Keras's rule as a loop: windows start every ``stride`` steps from ``start`` and
    must end before ``end``; the target of a window is the one at its first step."""
    start = start or 0
    end = len(data) if end is None else end
    xs, ys = [], []
    s = start
    limit = len(targets) if targets is not None else np.inf
    while s + (length - 1) * rate < end and s - start < limit:
        xs.append(data[s:s + (length - 1) * rate + 1:rate])
        if targets is not None:
            ys.append(targets[s])
        s += stride
    return xs, ys


@settings(max_examples=examples(60))
@given(n=st.integers(2, 30), length=st.integers(1, 6), stride=st.integers(1, 4),
       rate=st.integers(1, 3), start=st.integers(0, 10), end=st.integers(0, 30),
       with_targets=st.booleans())
def test_timeseries_dataset_against_a_loop(n, length, stride, rate, start, end,
                                           with_targets):
    start = min(start, n - 1)
    end = None if not end or end >= n or end <= start else end
    stride, rate = min(stride, n - 1), min(rate, n - 1)
    data = np.arange(2.0 * n).reshape(n, 2)
    targets = np.arange(100, 100 + n) if with_targets else None
    out = ts.timeseries_dataset(data, targets, length, stride, rate, start, end)
    xs, ys = loop_dataset(data, targets, length, stride, rate, start, end)
    x = out[0] if with_targets else out
    assert x.shape == (len(xs), length, 2)
    np.testing.assert_array_equal(x, np.array(xs).reshape(x.shape))
    if with_targets:
        np.testing.assert_array_equal(out[1], ys)


def test_timeseries_dataset_next_step_recipe():
    data = np.arange(20.0)
    x, y = ts.timeseries_dataset(data[:-5], data[5:], sequence_length=5)
    np.testing.assert_array_equal(x[0], data[:5])
    assert y[0] == data[5] and len(x) == 11
    # Keras's recipe stops 4 windows early (its inputs end 5 steps before the data)
    np.testing.assert_array_equal(ts.windows(data, 5)[1][:11, 0], y)


@pytest.mark.parametrize("kwargs, argument", [
    (dict(start_index=-1), "start_index"),
    (dict(start_index=10), "start_index"),
    (dict(start_index=5, end_index=5), "end_index"),
    (dict(end_index=10), "end_index"),
    (dict(end_index=-2), "end_index"),
    (dict(sampling_rate=0), "sampling_rate"),
    (dict(sampling_rate=10), "sampling_rate"),
    (dict(sequence_stride=12), "sequence_stride"),
    (dict(sequence_length=0), "sequence_length"),
    (dict(targets=np.arange(2.0), start_index=1), "targets"),
])
def test_timeseries_dataset_errors(kwargs, argument):
    kwargs = {"data": np.arange(10.0), "targets": None, "sequence_length": 3, **kwargs}
    with pytest.raises(ValueError, match=f"`{argument}`"):
        ts.timeseries_dataset(**kwargs)


# --- split, normaliser ----------------------------------------------------------------------


def test_split_is_temporal_and_complete():
    series = np.arange(101)
    train, val, test = ts.train_val_test_split(series)
    assert (len(train), len(val), len(test)) == (70, 15, 16)
    np.testing.assert_array_equal(np.concatenate([train, val, test]), series)
    assert len(ts.train_val_test_split(series, 0.5, 0.0)[1]) == 0


@pytest.mark.parametrize("train, val", [(0.0, 0.1), (0.9, 0.2), (1.2, 0.0), (0.5, -0.1)])
def test_split_errors(train, val):
    with pytest.raises(ValueError, match="`train`|`val`"):
        ts.train_val_test_split(np.arange(10), train, val)


def test_normalizer_uses_the_training_statistics():
    rng = np.random.default_rng(0)
    series = np.c_[rng.normal(5, 2, 200), np.full(200, 7.0)]
    train, val, _ = ts.train_val_test_split(series)
    norm = ts.Normalizer().fit(train)
    z = norm.transform(train)
    np.testing.assert_allclose(z[:, 0].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(z[:, 0].std(), 1)
    np.testing.assert_array_equal(z[:, 1], 0)  # constant: centred only
    np.testing.assert_allclose(norm.transform(val), (val - train.mean(0)) / [train[:, 0].std(), 1])
    np.testing.assert_allclose(norm.inverse_transform(norm.transform(val)), val)
    np.testing.assert_allclose(ts.Normalizer().fit_transform(train), z)


def test_normalizer_errors():
    with pytest.raises(RuntimeError, match="fit"):
        ts.Normalizer().transform(np.zeros(3))
    with pytest.raises(ValueError, match="`values`"):
        ts.Normalizer().fit(np.zeros((4, 2))).transform(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="`train`"):
        ts.Normalizer().fit(np.zeros((0, 2)))


# --- baselines and errors ----------------------------------------------------------------------


def test_naive_and_seasonal_naive():
    series = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9])
    x, y = ts.windows(series, 4, horizon=3)
    np.testing.assert_array_equal(ts.naive_forecast(x, 3), np.repeat(x[:, -1:], 3, axis=1))
    # season 2: one season back, the pattern repeated beyond one season
    np.testing.assert_array_equal(ts.seasonal_naive_forecast(x, 2, 3)[0], [3, 4, 3])
    periodic = np.tile([0.0, 5.0, 1.0], 6)
    px, py = ts.windows(periodic, 6, horizon=4)
    np.testing.assert_array_equal(ts.seasonal_naive_forecast(px, 3, 4), py)
    multi = np.stack([series, -series], axis=1)
    mx, my = ts.windows(multi, 3, horizon=2)
    assert ts.naive_forecast(mx, 2).shape == my.shape


def test_mae_mse():
    assert ts.mae([1, 2, 3], [2, 2, 5]) == 1.0
    assert ts.mse([1, 2, 3], [2, 2, 5]) == 5 / 3
    with pytest.raises(ValueError, match="`y_pred`"):
        ts.mae(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="`y_true`"):
        ts.mse([], [])


@pytest.mark.parametrize("call, argument", [
    (lambda: ts.naive_forecast(np.zeros(4)), "x"),
    (lambda: ts.naive_forecast(np.zeros((2, 3)), horizon=0), "horizon"),
    (lambda: ts.seasonal_naive_forecast(np.zeros((2, 3)), season=4), "x"),
    (lambda: ts.seasonal_naive_forecast(np.zeros((2, 3)), season=0), "season"),
])
def test_baseline_errors(call, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        call()


# --- synthetic series --------------------------------------------------------------------------


def course_series():
    """The TensorFlow course's code, verbatim in substance (float32 time)."""
    time = np.arange(4 * 365 + 1, dtype="float32")
    season_time = (time % 365) / 365
    pattern = np.where(season_time < 0.4, np.cos(season_time * 2 * np.pi),
                       1 / np.exp(3 * season_time))
    series = 10 + 0.05 * time + 40 * pattern
    return series + np.random.RandomState(42).randn(len(time)) * 5


def test_synthetic_series_is_the_courses():
    ours = ts.synthetic_series()
    assert ours.shape == (1461,) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, course_series(), rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(ours, ts.synthetic_series(seed=42))
    assert not np.array_equal(ours, ts.synthetic_series(seed=1))


def test_synthetic_series_without_noise_is_the_formula():
    s = ts.synthetic_series(10, trend=1.0, season_period=5, amplitude=2.0, noise=0.0,
                            baseline=0.0)
    t = np.arange(10.0)
    np.testing.assert_allclose(s, t + 2 * ts.seasonal_pattern((t % 5) / 5))
    with pytest.raises(ValueError, match="`noise`"):
        ts.synthetic_series(10, noise=-1.0)
    with pytest.raises(ValueError, match="`season_period`"):
        ts.synthetic_series(10, season_period=0)
