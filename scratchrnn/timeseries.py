"""Time series for recurrent models: sliding windows (the ``tf.data`` recipe of the courses
and ``keras.utils.timeseries_dataset_from_array``, as plain arrays), a temporal split, a
normaliser fitted on the training part, naive baselines and error measures, and the
courses' synthetic series.

Time is axis 0 everywhere.  A series is ``(n,)`` (univariate) or ``(n, F)`` (F features);
windows are ``(N, window, ...)``.  Nothing is ever shuffled: the order is time's.
"""

import numbers

import numpy as np

from . import _checks


def _count(value, argument, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{argument}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _series(values, argument):
    _checks.refuse_masked(values, argument, "fill the masked steps (values.filled(...)) "
                          "or pass plain arrays")
    try:
        arr = np.asarray(values)
    except ValueError as err:        # nested lists of unequal lengths
        raise ValueError(f"`{argument}` must be a rectangular array: every step must have "
                         f"the same number of features, and nested sequences of unequal "
                         f"lengths cannot be one ({err})") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"`{argument}` must hold numbers, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"`{argument}` must have a time axis (rank >= 1), got a scalar")
    return arr


def window_count(n, window_size, horizon=1, shift=1):
    """How many full windows of ``window_size + horizon`` steps start every ``shift``
    steps in ``n``: ``floor((n - window_size - horizon) / shift) + 1``, or 0."""
    span = window_size + horizon
    return 0 if n < span else (n - span) // shift + 1


def windows(series, window_size, horizon=1, shift=1, target_columns=None):
    """``(X, Y)``: inputs of ``window_size`` steps and the ``horizon`` steps that follow.

    Equal to the courses' pipeline::

        ds = tf.data.Dataset.from_tensor_slices(series)
        ds = ds.window(window_size + horizon, shift=shift, drop_remainder=True)
        ds = ds.flat_map(lambda w: w.batch(window_size + horizon))
        ds = ds.map(lambda w: (w[:-horizon], w[-horizon:]))

    stacked: window ``k`` starts at step ``k * shift``.  For ``series`` ``(n,)``: ``X`` is
    ``(N, window_size)``, ``Y`` ``(N, horizon)`` (the courses' scalar target of
    ``w[-1]`` is ``Y[:, 0]``; a recurrent layer wants ``X[..., None]``).  For ``(n, F)``:
    ``X`` is ``(N, window_size, F)`` and the targets are every column,
    ``(N, horizon, F)``, as in the pipeline, unless ``target_columns`` picks some: an
    integer gives ``(N, horizon)``, a list ``(N, horizon, len(list))``.  The dtype is
    the series'.
    """
    series = _series(series, "series")
    window_size = _count(window_size, "window_size")
    horizon = _count(horizon, "horizon")
    shift = _count(shift, "shift")
    count = window_count(len(series), window_size, horizon, shift)
    steps = np.arange(count)[:, None] * shift + np.arange(window_size + horizon)
    framed = series[steps] if count else np.empty(
        (0, window_size + horizon) + series.shape[1:], series.dtype)
    x, y = framed[:, :window_size], framed[:, window_size:]
    if target_columns is not None:
        if series.ndim != 2:
            raise ValueError(f"`target_columns` needs a series of shape (n, features), "
                             f"got shape {series.shape}")
        columns = np.asarray(target_columns)
        if columns.dtype.kind not in "iu" or columns.ndim > 1 or np.any(
                (columns < -series.shape[1]) | (columns >= series.shape[1])):
            raise ValueError(f"`target_columns` must be a column index or a list of them "
                             f"for {series.shape[1]} features, got {target_columns!r}")
        y = y[..., columns]
    return x, y


def timeseries_dataset(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                       start_index=None, end_index=None):
    """``keras.utils.timeseries_dataset_from_array`` unbatched and unshuffled, as arrays.

    Sample ``i`` starts at step ``s_i = start_index + i * sequence_stride`` and takes
    ``data[s_i + j * sampling_rate]`` for ``j < sequence_length``, all before
    ``end_index``; its target is ``targets[s_i]`` (Keras's convention: the target of the
    window *starting* at ``s_i``: Keras's docstring predicts the next step with
    ``data[:-sequence_length]`` and ``targets = data[sequence_length:]``, which drops the
    last ``sequence_length - 1`` windows that :func:`windows` keeps).  Returns ``X``
    ``(N, sequence_length) + data.shape[1:]``, or ``(X, Y)`` when ``targets`` is given.
    The checks and their order are Keras's (``start_index=0`` and ``end_index=0`` are
    treated as Keras treats them: unset, and an empty range).  Batched and shuffled:
    :func:`scratchrnn.utils.timeseries_dataset_from_array`.
    """
    plan = window_plan(data, targets, sequence_length, sequence_stride, sampling_rate,
                       start_index, end_index)
    x = plan.inputs(np.arange(len(plan.starts)))
    return x if plan.targets is None else (x, plan.outputs(np.arange(len(plan.starts))))


class WindowPlan:
    """Where the windows of ``timeseries_dataset`` start, and how to gather any of them:
    ``inputs(rows)`` / ``outputs(rows)`` for row numbers ``rows`` (in start order)."""

    def __init__(self, data, targets, starts, steps):
        self.data, self.targets = data, targets    # already cut to [start_index, end_index)
        self.starts, self.steps = starts, steps    # (N,) window starts; (L,) offsets

    def inputs(self, rows):
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.empty((0, len(self.steps)) + self.data.shape[1:], self.data.dtype)
        return self.data[self.starts[rows][:, None] + self.steps]

    def outputs(self, rows):
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.empty((0,) + self.targets.shape[1:], self.targets.dtype)
        return self.targets[self.starts[rows]]


def window_plan(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                start_index=None, end_index=None):
    """The checks of ``timeseries_dataset_from_array`` (Keras's, in Keras's order) and
    the :class:`WindowPlan` of its windows, nothing gathered yet."""
    data = _series(data, "data")
    sequence_length = _count(sequence_length, "sequence_length")
    n = len(data)
    if start_index:
        if start_index < 0 or start_index >= n:
            raise ValueError(f"`start_index` must be in [0, {n}) for data of length {n}, "
                             f"got {start_index}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be greater than `start_index`="
                             f"{start_index}, got {end_index}")
        if end_index >= n or end_index <= 0:
            raise ValueError(f"`end_index` must be in (0, {n}) for data of length {n}, "
                             f"got {end_index}")
    for argument, value in (("sampling_rate", sampling_rate),
                            ("sequence_stride", sequence_stride)):
        if _count(value, argument) >= n:
            raise ValueError(f"`{argument}` must be lower than the length of the data "
                             f"({n}), got {value}")
    start = 0 if start_index is None else int(start_index)
    end = n if end_index is None else int(end_index)
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = _series(targets, "targets")
        count = min(count, len(targets))
    starts = np.arange(0, max(count, 0), sequence_stride)
    available = None
    if targets is not None:
        available = targets[start:end]
        if len(starts) and starts[-1] >= len(available):
            raise ValueError(f"`targets` has {len(available)} steps in [start_index, "
                             f"end_index), too few for the window starting at {starts[-1]}")
    steps = np.arange(sequence_length) * sampling_rate
    return WindowPlan(data[start:end], available, starts, steps)


def train_val_test_split(series, train=0.7, val=0.15):
    """``(train, val, test)``: the first ``floor(n * train)`` steps, the next
    ``floor(n * val)``, and the rest, in time order (views of ``series``)."""
    series = _series(series, "series")
    for argument, value in (("train", train), ("val", val)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not 0.0 <= value <= 1.0:
            raise ValueError(f"`{argument}` must be a fraction in [0, 1], got {value!r}")
    if train <= 0 or train + val > 1.0:
        raise ValueError(f"`train` must be > 0 and `train` + `val` <= 1, got train={train}, "
                         f"val={val}")
    n = len(series)
    n_train, n_val = int(n * train), int(n * val)
    return series[:n_train], series[n_train:n_train + n_val], series[n_train + n_val:]


class Normalizer:
    """``(x - mean) / std`` per feature, the statistics taken from the training split only
    (statistics of later data would leak the future into the inputs).  A constant
    feature (every value equal) is only centred: its mean is that value and its std is
    taken as 1, so it transforms to exact zeros (the computed std of a constant float
    feature can be a rounding residue such as 1e-17, not 0)."""

    def __init__(self):
        self.mean = None
        self.std = None

    def fit(self, train):
        """Learn mean and std over axis 0 (time) of ``train``; returns ``self``."""
        train = _series(train, "train")
        if len(train) == 0:
            raise ValueError("`train` must hold at least one step")
        constant = np.all(train == train[0], axis=0)
        self.mean = np.where(constant, train[0], train.mean(axis=0))
        std = train.std(axis=0)
        self.std = np.where(constant | (std == 0), 1.0, std)
        return self

    def _checked(self, values, argument):
        if self.mean is None:
            raise RuntimeError("Normalizer is not fitted: call fit(train) first")
        values = _series(values, argument)
        if values.shape[1:] != np.shape(self.mean):
            raise ValueError(f"`{argument}` must have features of shape "
                             f"{np.shape(self.mean)}, got {values.shape[1:]}")
        return values

    def transform(self, values):
        return (self._checked(values, "values") - self.mean) / self.std

    def inverse_transform(self, values):
        return self._checked(values, "values") * self.std + self.mean

    def fit_transform(self, train):
        return self.fit(train).transform(train)


# --- baselines and errors -------------------------------------------------------------------

def naive_forecast(x, horizon=1):
    """The last input step repeated ``horizon`` times: ``Y_hat[:, j] = x[:, -1]``.
    ``x`` is a batch of windows ``(N, window, ...)``; the result ``(N, horizon, ...)``
    lines up with :func:`windows`' ``Y``."""
    x = _series(x, "x")
    horizon = _count(horizon, "horizon")
    if x.ndim < 2 or x.shape[1] == 0:
        raise ValueError(f"`x` must be windows (N, window, ...) with window >= 1, "
                         f"got shape {x.shape}")
    return np.repeat(x[:, -1:], horizon, axis=1)


def seasonal_naive_forecast(x, season, horizon=1):
    """The value one season earlier: ``Y_hat[:, j] = x[:, window - season + j % season]``
    (beyond one season ahead the pattern repeats).  Needs ``season <= window``."""
    x = _series(x, "x")
    season = _count(season, "season")
    horizon = _count(horizon, "horizon")
    if x.ndim < 2 or season > x.shape[1]:
        raise ValueError(f"`x` must be windows (N, window, ...) with window >= `season`="
                         f"{season}, got shape {x.shape}")
    steps = x.shape[1] - season + np.arange(horizon) % season
    return x[:, steps]


def _pair(y_true, y_pred):
    y_true, y_pred = _series(y_true, "y_true"), _series(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"`y_pred` must have the shape of `y_true` {y_true.shape}, "
                         f"got {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("`y_true` must not be empty")
    return y_true.astype(np.float64), y_pred.astype(np.float64)


def mae(y_true, y_pred):
    """Mean absolute error over every element, a Python float."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def mse(y_true, y_pred):
    """Mean squared error over every element, a Python float."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean((y_true - y_pred) ** 2))


# --- the courses' synthetic series --------------------------------------------------------

def seasonal_pattern(season_time):
    """One season of the courses' pattern: a cosine arch, then an exponential decay."""
    return np.where(season_time < 0.4, np.cos(season_time * 2 * np.pi),
                    1 / np.exp(3 * season_time))


def synthetic_series(n=4 * 365 + 1, trend=0.05, season_period=365, amplitude=40.0,
                     noise=5.0, seed=42, baseline=10.0, phase=0):
    """``baseline + trend * t + amplitude * pattern(((t + phase) % period) / period)
    + noise * N(0, 1)`` for ``t = 0 .. n - 1``, float64, ``(n,)``.

    The defaults and the noise (``np.random.RandomState(seed).randn(n)``, the legacy
    generator the course uses) give the TensorFlow course's series; the course computes
    trend and season on float32 time, so its values differ from these by float32
    rounding (about 1e-6 relative).
    """
    n = _count(n, "n")
    season_period = _count(season_period, "season_period")
    for argument, value in (("trend", trend), ("amplitude", amplitude), ("noise", noise),
                            ("baseline", baseline)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not np.isfinite(value):
            raise ValueError(f"`{argument}` must be a finite number, got {value!r}")
    if noise < 0:
        raise ValueError(f"`noise` must be >= 0, got {noise}")
    time = np.arange(n, dtype=np.float64)
    season_time = ((time + phase) % season_period) / season_period
    series = baseline + trend * time + amplitude * seasonal_pattern(season_time)
    return series + np.random.RandomState(seed).randn(n) * noise
