"""``scratchrnn demo forecast``: recurrent forecasters against the naive baselines, on a
synthetic series and a real one.

The series:

- **synthetic**: :func:`scratchrnn.timeseries.synthetic_series`, the courses' trend +
  seasonality + noise, here with a season of 50 steps (so that a window sees a whole one)
  and 1,500 steps;
- **GOOG**: the daily adjusted close of Google's stock, 2004-08-19 to 2008-10-14
  (1,047 trading days), from the sample data matplotlib ships
  (``matplotlib.cbook.get_sample_data("goog.npz")``).  Its "season" is a trading week,
  5 days.

The recipe, for each: a temporal split (70 % train, 15 % validation, 15 % test, in time
order); a :class:`~scratchrnn.timeseries.Normalizer` fitted on the training part only;
sliding windows whose *targets* lie inside their split (the inputs of the first test
windows come from the end of the validation part: the past is known when forecasting).

The networks read each window *relative to its last value*, ``x_{t-k} - x_t``, and
predict the *change* from it, ``y_{t+j} - x_t``, added back afterwards: the trend carries
the test part above anything seen in training, and a network given levels would have to
extrapolate (its tanh units saturate); given shapes, it never does.  This also makes "no
change", the naive forecast, its natural starting point.

Models (Adam, MSE, early stopping on the validation loss with the best weights
restored)::

    LSTM              (W, 1) -> LSTM(32) -> Dense(1)
    Conv1D + LSTM     (W, 1) -> Conv1D(32, 5, causal, relu) -> LSTM(32) -> Dense(1)
    multi-step LSTM   (W, 1) -> LSTM(32) -> Dense(H)            H steps at once

Baselines: naive (the last value, for every step ahead) and seasonal naive (the value one
season earlier).  The table gives the test MAE in the series' units.
"""

import numpy as np

from .. import callbacks, layers, optimizers, timeseries
from ..models import Input, Sequential
from . import _common

UNITS = 32


def load_series(quick):
    """The series as dicts (``name``, ``values``, ``time``, ``window``, ``season``,
    ``horizon``, ``unit``, ``title``): the synthetic one, and GOOG when available.
    ``quick``: 400 steps of each."""
    n = 400 if quick else 1500
    synthetic = {"name": "synthetic", "values": timeseries.synthetic_series(
                     n=n, season_period=50, amplitude=40.0, noise=5.0, seed=42),
                 "time": np.arange(n), "window": 64, "season": 50, "horizon": 10,
                 "unit": "", "title": "trend + seasonality (50 steps) + noise",
                 # The noise is N(0, 5^2): even the noise-free curve misses by E|N| on average.
                 "floor": 5.0 * np.sqrt(2 / np.pi)}
    series = [synthetic]
    goog = load_goog()
    if goog is not None:
        if quick:  # the last 400 days
            goog = {**goog, "values": goog["values"][-400:], "time": goog["time"][-400:]}
        series.append(goog)
    return series


def load_goog():
    """GOOG's daily adjusted close from matplotlib's sample data, or None (with a note)
    when matplotlib or the file is missing."""
    try:
        from matplotlib import cbook
        with cbook.get_sample_data("goog.npz") as data:
            prices = data["price_data"]
    except (ImportError, OSError, KeyError) as error:
        print(f"(GOOG skipped: matplotlib's sample data goog.npz is not available: {error})")
        return None
    return {"name": "GOOG", "values": prices["adj_close"].astype(np.float64),
            "time": prices["date"], "window": 30, "season": 5, "horizon": 5, "unit": " $",
            "title": "GOOG daily adjusted close (matplotlib sample data)"}


def split_windows(values, window, horizon):
    """``{split: (x, y)}`` in the series' units: windows whose targets lie in the split,
    inputs reaching back into the previous split."""
    train, val, test = timeseries.train_val_test_split(values, 0.7, 0.15)
    parts = {"train": train,
             "val": np.concatenate([train[-window:], val]),
             "test": np.concatenate([val[-window:], test])}
    return {name: timeseries.windows(part, window, horizon) for name, part in parts.items()}


def build_model(kind, window, horizon, seed):
    """``"lstm"``, ``"conv_lstm"`` or ``"multi"`` (an LSTM with ``horizon`` outputs)."""
    lstm = layers.LSTM(UNITS, backend="numba", seed=seed + 1)
    stack = [Input((window, 1))]
    if kind == "conv_lstm":
        stack.append(layers.Conv1D(UNITS, 5, padding="causal", activation="relu",
                                   seed=seed))
    stack += [lstm, layers.Dense(horizon, seed=seed + 2)]
    return Sequential(stack, name=kind, seed=seed)


class ChangeForecaster:
    """A model that reads a window relative to its last value and predicts the change
    from it, on the normaliser's scale; :meth:`predict` answers in the series' units.

    Relative inputs ``z - z_last`` and targets ``y - z_last`` make the network blind to
    the level: a window shifted up by the trend is the same input, so the test part,
    higher than anything in training, asks for no extrapolation."""

    def __init__(self, model, normalizer):
        self.model = model
        self.normalizer = normalizer

    def _inputs(self, x):
        z = self.normalizer.transform(x.ravel()).reshape(x.shape)
        last = z[:, -1:]
        return (z - last)[..., None].astype(np.float32), last

    def _targets(self, x, y):
        z, last = self._inputs(x)
        return z, self.normalizer.transform(y.ravel()).reshape(y.shape) - last

    def fit(self, data, epochs, patience):
        x, y = self._targets(*data["train"])
        stop = callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
        self.model.compile(optimizer=optimizers.Adam(learning_rate=0.003), loss="mse")
        history = self.model.fit(x, y.astype(np.float32), batch_size=32, epochs=epochs,
                                 verbose=0, callbacks=[stop],
                                 validation_data=self._targets(*data["val"]))
        return history

    def predict(self, x):
        z, last = self._inputs(x)
        change = self.model.predict(z, batch_size=256).astype(np.float64)
        forecast = change + last
        return self.normalizer.inverse_transform(forecast.ravel()).reshape(forecast.shape)


def run_series(spec, epochs, seed):
    """Train the three forecasters on one series; returns the table rows and the test
    forecasts (for the plot)."""
    values, window, season, horizon = (spec[k] for k in ("values", "window", "season",
                                                         "horizon"))
    train_part = timeseries.train_val_test_split(values, 0.7, 0.15)[0]
    normalizer = timeseries.Normalizer().fit(train_part)
    one = split_windows(values, window, 1)
    many = split_windows(values, window, horizon)
    x1, y1 = one["test"]
    xh, yh = many["test"]
    forecasts = {"naive": timeseries.naive_forecast(x1),
                 f"seasonal naive ({season} back)": timeseries.seasonal_naive_forecast(
                     x1, season)}
    multi = {"naive": timeseries.naive_forecast(xh, horizon),
             f"seasonal naive ({season} back)": timeseries.seasonal_naive_forecast(
                 xh, season, horizon)}
    epochs_run = {}
    for kind, name, data, target in (("lstm", "LSTM", one, forecasts),
                                     ("conv_lstm", "Conv1D + LSTM", one, forecasts),
                                     ("multi", f"LSTM, {horizon} steps at once", many, multi)):
        model = build_model(kind, window, 1 if kind != "multi" else horizon, seed)
        forecaster = ChangeForecaster(model, normalizer)
        with _common.Stopwatch() as watch:
            history = forecaster.fit(data, epochs, patience=max(2, epochs // 10))
        epochs_run[name] = (len(history.history["loss"]), watch.seconds, model.count_params())
        target[name] = forecaster.predict(data["test"][0])
    rows = []
    for h, truth, table in ((1, y1, forecasts), (horizon, yh, multi)):
        for name, forecast in table.items():
            trained = epochs_run.get(name)
            rows.append([name, h, f"{timeseries.mae(truth, forecast):.3f}",
                         f"{trained[2]:,}" if trained else "-",
                         f"{trained[0]} ({trained[1]:.1f} s)" if trained else "-"])
    return rows, {"one": (y1, forecasts), "many": (yh, multi)}


def run(args):
    epochs = args.epochs or (2 if args.quick else 300)
    quick = args.quick
    _common.quick_note(args, epochs)
    results = {}
    for spec in load_series(args.quick):
        train, val, test = timeseries.train_val_test_split(spec["values"], 0.7, 0.15)
        print(f"\n== {spec['title']}: {len(spec['values'])} steps, split {len(train)} / "
              f"{len(val)} / {len(test)}; windows of {spec['window']}, horizon "
              f"{spec['horizon']}, season {spec['season']}")
        rows, forecasts = run_series(spec, epochs, args.seed)
        print(_common.table(["forecast", "horizon", f"test MAE{spec['unit']}", "params",
                             "epochs (time)"], rows))
        best = _winners(rows)
        for horizon, (name, value) in best.items():
            print(f"best at horizon {horizon}: {name} (MAE {value:.3f})")
        if "floor" in spec:
            print(f"(the noise alone puts the best possible MAE at 5 sqrt(2/pi) = "
                  f"{spec['floor']:.2f}: the forecast of the noise-free curve)")
        # The random-walk lesson reads the networks' failure to beat the naive forecast:
        # it means something only when they were trained to convergence (not in quick mode).
        if all(name == "naive" for name, _ in best.values()) and not quick:
            print("No network beats the naive forecast here: the last value is the best "
                  "guess the windows\nsupport, as for a random walk.")
        _plot(spec, forecasts, args.out)
        results[spec["name"]] = rows
    return results


def _winners(rows):
    """``{horizon: (name, mae)}``: the lowest test MAE at each horizon."""
    best = {}
    for name, horizon, value, *_ in rows:
        if horizon not in best or float(value) < best[horizon][1]:
            best[horizon] = (name, float(value))
    return best


def _plot(spec, forecasts, out):
    plt = _common.pyplot()
    if plt is None:
        return None
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    test_time = spec["time"][-len(forecasts["one"][0]):]
    truth, table = forecasts["one"]
    top.plot(test_time, truth[:, 0], color="black", lw=1.2, label="truth")
    for name, forecast in table.items():
        top.plot(test_time, forecast[:, 0], lw=0.9, label=name)
    top.set_title(f"{spec['title']}: one step ahead, test split")
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    truth, table = forecasts["many"]
    horizon = truth.shape[1]
    # Every horizon-th window: forecasts that tile the test split without overlapping.
    picked = np.arange(0, len(truth), horizon)
    # Step j of window k forecasts test step k + j.
    time = test_time[np.concatenate([np.arange(k, k + horizon) for k in picked])]
    bottom.plot(time, truth[picked].ravel(), color="black", lw=1.2, label="truth")
    for name, forecast in table.items():
        bottom.plot(time, forecast[picked].ravel(), lw=0.9, label=name)
    bottom.set_title(f"{horizon} steps ahead from every {horizon}th test window")
    bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.autofmt_xdate()
    return _common.save(figure, out, f"forecast-{spec['name'].lower()}.png")


def main(argv=None):
    p = _common.parser("forecast", "LSTM, Conv1D + LSTM and multi-step forecasts against "
                                   "naive baselines")
    p.add_argument("--epochs", type=int, default=None,
                   help="at most this many epochs per model, early stopping on the "
                        "validation loss, patience a tenth of it (default: 300, 2 with --quick)")
    run(p.parse_args(argv))
    return 0
