"""Parity checks of the losses and metrics.

Losses (``loss-<form>-<reduction>-<dtype>``): every loss and form (probabilities,
``from_logits=True``, and a sigmoid/softmax output carrying Keras's ``_keras_logits``)
under every reduction.  One check runs several batches, each compared as its own group:

- ``seq``: ``(B, T, C)`` predictions, plain; ``seq+sw``: with a ``(B, T)``
  ``sample_weight``; ``seq+mask``: with a ``(B, T)`` mask on ``y_pred``, set where Keras's
  loss reads it (``backend.set_keras_mask``, i.e. ``y_pred._keras_mask``);
  ``seq+sw+mask``: both;
- ``flat+sw``: ``(B, C)`` predictions with a ``(B,)`` weight;
- ``ranks``: ``y_true (B,)`` against ``y_pred (B, 1)`` (sparse: labels ``(B, 1)``).

Compared: the value of ``keras.losses.X(...)(y_true, y_pred, sample_weight)`` and its
gradient by ``tf.GradientTape`` with respect to ``y_pred``, or to the logits for the
``keras-logits`` form (ours: ``value_and_gradient(..., logits=z)``).  For ``"none"`` the
gradient is that of the sum of the values on both sides.

Further loss checks: ``loss-bce-squeezed-*`` (``y_true (B, T)`` against a sigmoid output
``(B, T, 1)``: Keras squeezes ``y_pred``, which drops its logits, and clips),
``loss-*-saturated-*`` (probabilities exactly 0 and 1, logits of ±1e4).  Categorical
labels are one-hot (Keras's logits gradient is that of the value only for labels that
sum to 1, see ``scratchrnn.losses``).

Metrics (``metric-<name>-<dtype>``): three ``update_state`` calls on ``(B, T, C)``
batches, then three more with a ``sample_weight`` and a mask, then ``reset_state`` and
one call; ``result()`` is compared after every call.  ``metric-accuracy-*`` resolve
``"accuracy"`` on the three kinds of shapes through Keras's compile
(``compile_utils.get_metric``); ``metric-mean-*`` is the loss tracker
(``Mean.update_state(loss, sample_weight=batch_size)``).
"""

import warnings

import numpy as np
from keras.src import backend as keras_backend
from keras.src.trainers import compile_utils

from scratchrnn import losses, metrics

from .components import Check, dtype_suffix, keras_gradients
from .harness import keras, tf

DTYPES = ("float64", "float32")
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none")
B, T, C = 3, 4, 5

#: label -> (class name, constructor arguments, form); form "keras-logits": y_pred is the
#: output of Keras's sigmoid/softmax and ours gets the pre-activation as ``logits=``.
LOSSES = {
    "mse": ("MeanSquaredError", {}, "values"),
    "mae": ("MeanAbsoluteError", {}, "values"),
    "huber": ("Huber", {}, "values"),
    "huber-delta0.5": ("Huber", {"delta": 0.5}, "values"),
    "bce": ("BinaryCrossentropy", {}, "probabilities"),
    "bce-smooth": ("BinaryCrossentropy", {"label_smoothing": 0.2}, "probabilities"),
    "bce-logits": ("BinaryCrossentropy", {"from_logits": True}, "logits"),
    "bce-logits-smooth": ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2},
                          "logits"),
    "bce-keras-logits": ("BinaryCrossentropy", {}, "keras-logits"),
    "cce": ("CategoricalCrossentropy", {}, "probabilities"),
    "cce-smooth": ("CategoricalCrossentropy", {"label_smoothing": 0.2}, "probabilities"),
    "cce-logits": ("CategoricalCrossentropy", {"from_logits": True}, "logits"),
    "cce-keras-logits": ("CategoricalCrossentropy", {}, "keras-logits"),
    "scce": ("SparseCategoricalCrossentropy", {}, "probabilities"),
    "scce-logits": ("SparseCategoricalCrossentropy", {"from_logits": True}, "logits"),
    "scce-keras-logits": ("SparseCategoricalCrossentropy", {}, "keras-logits"),
}
ACTIVATION = {"BinaryCrossentropy": "sigmoid", "CategoricalCrossentropy": "softmax",
              "SparseCategoricalCrossentropy": "softmax"}


# --- data -------------------------------------------------------------------------------

def _labels(rng, class_name, pred_shape, true_shape, dtype):
    """``y_true`` of ``true_shape`` for predictions of ``pred_shape``."""
    if class_name == "BinaryCrossentropy":
        return (rng.random(true_shape) < 0.5).astype(dtype)
    if class_name == "CategoricalCrossentropy":
        return np.eye(pred_shape[-1], dtype=dtype)[rng.integers(0, pred_shape[-1],
                                                                true_shape[:-1])]
    if class_name == "SparseCategoricalCrossentropy":
        return rng.integers(0, pred_shape[-1], true_shape).astype(dtype)
    return rng.standard_normal(true_shape).astype(dtype)


def _predictions(rng, class_name, form, shape, dtype):
    """``(y_pred, logits)``; logits are None unless the form feeds them to the loss."""
    if form in ("values", "logits"):
        return rng.standard_normal(shape).astype(dtype), None
    if form == "probabilities" and class_name == "CategoricalCrossentropy":
        # Unnormalised, so that the renormalisation is exercised.
        return rng.uniform(0.05, 1.0, shape).astype(dtype), None
    z = (2 * rng.standard_normal(shape)).astype(dtype)
    activation = getattr(keras.activations, ACTIVATION[class_name])
    p = np.asarray(activation(tf.constant(z)))
    return p, (z if form == "keras-logits" else None)


def _batches(rng, class_name, dtype):
    """The named batches of the module docstring: ``(name, pred_shape, true_shape,
    sample_weight, mask)``."""
    sparse = class_name == "SparseCategoricalCrossentropy"
    seq_true = (B, T) if sparse else (B, T, C)
    mask = rng.random((B, T)) < 0.6
    mask[0, 0], mask[-1, -1] = True, False
    weight = rng.uniform(0.1, 2.0, (B, T)).astype(dtype)
    batches = [("seq", (B, T, C), seq_true, None, None),
               ("seq+sw", (B, T, C), seq_true, weight, None),
               ("seq+mask", (B, T, C), seq_true, None, mask),
               ("seq+sw+mask", (B, T, C), seq_true, weight, mask),
               ("flat+sw", (B, C), (B,) if sparse else (B, C),
                rng.uniform(0.1, 2.0, (B,)).astype(dtype), None)]
    if sparse:
        batches.append(("ranks", (B, C), (B, 1), None, None))
    elif class_name != "CategoricalCrossentropy":
        batches.append(("ranks", (B, 1), (B,), None, None))
    return batches


# --- running both sides -----------------------------------------------------------------

def _keras_side(keras_loss, y_true, source, activation, sample_weight, mask):
    """Keras's value and its gradient with respect to ``source`` (``y_pred``, or the
    logits when ``activation`` is given), with ``mask`` on ``y_pred`` as Keras's models
    leave it."""
    source = tf.constant(source)

    def value():
        y_pred = tf.identity(source) if activation is None else activation(source)
        if mask is not None:
            keras_backend.set_keras_mask(y_pred, tf.constant(mask))
        return keras_loss(y_true, y_pred, sample_weight=sample_weight)

    shape = tuple(value().shape)
    (out,), (grad,) = keras_gradients(tf, value, [source], [np.ones(shape)])
    return out, grad


def compare_loss(cmp, class_name, kwargs, form, reduction, batches, rng):
    """Run every batch through Keras's loss and ours; compare values and gradients."""
    dtype = cmp.dtype
    keras_loss = getattr(keras.losses, class_name)(reduction=reduction, dtype=dtype, **kwargs)
    ours = getattr(losses, class_name)(reduction=reduction, **kwargs)
    for name, pred_shape, true_shape, weight, mask in batches:
        y_pred, logits = _predictions(rng, class_name, form, pred_shape, dtype)
        y_true = _labels(rng, class_name, pred_shape, true_shape, dtype)
        activation = None
        if logits is not None:
            activation = getattr(keras.activations, ACTIVATION[class_name])
        source = y_pred if logits is None else logits
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            theirs = _keras_side(keras_loss, y_true, source, activation, weight, mask)
            value, grad = ours.value_and_gradient(y_true, y_pred, weight, mask, logits)
        cmp.add(f"value:{name}", value, theirs[0])
        cmp.add(f"grad:{name}", grad, theirs[1])


def _loss_check(label, reduction, dtype):
    class_name, kwargs, form = LOSSES[label]

    def run(cmp):
        rng = np.random.default_rng(0)
        compare_loss(cmp, class_name, kwargs, form, reduction,
                     _batches(rng, class_name, dtype), rng)

    options = " ".join([class_name, *(f"{k}={v}" for k, v in kwargs.items()), form, reduction])
    return Check(f"loss-{label}-{reduction}-{dtype_suffix(dtype)}", "loss", dtype, run, options)


def _squeezed_check(dtype):
    """``y_true (B, T)`` against a sigmoid's ``(B, T, 1)``: Keras squeezes ``y_pred`` and
    loses its logits; ours computes from ``y_pred`` and carries the gradient back
    through the sigmoid to the logits."""

    def run(cmp):
        rng = np.random.default_rng(1)
        mask = rng.random((B, T)) < 0.6
        mask[0, 0] = True
        batches = [("seq", (B, T, 1), (B, T), None, None),
                   ("seq+sw", (B, T, 1), (B, T), rng.uniform(0.1, 2, (B, 1)).astype(dtype),
                    None)]
        compare_loss(cmp, "BinaryCrossentropy", {}, "keras-logits", "sum_over_batch_size",
                     batches, rng)

    return Check(f"loss-bce-squeezed-{dtype_suffix(dtype)}", "loss", dtype, run,
                 "BinaryCrossentropy y_true (B,T) y_pred sigmoid (B,T,1)")


def _saturated_check(label, dtype):
    """Probabilities of exactly 0 and 1 (clipped: gradient 0 outside the clip) and
    logits of ±1e4, on both sides."""
    class_name, kwargs, form = LOSSES[label]

    def run(cmp):
        rng = np.random.default_rng(2)
        keras_loss = getattr(keras.losses, class_name)(dtype=dtype, **kwargs)
        ours = getattr(losses, class_name)(**kwargs)
        sparse = class_name == "SparseCategoricalCrossentropy"
        y_true = _labels(rng, class_name, (B, C), (B,) if sparse else (B, C), dtype)
        logits, activation = None, None
        if form == "probabilities":
            y_pred = np.zeros((B, C), dtype)
            y_pred[:, 0] = 1.0
            y_pred[1] = rng.uniform(0, 1, C)
            y_pred[2, :2] = 0.5  # two classes of 0.5 each, the others exactly 0
            y_pred[2, 2:] = 0.0
        elif form == "logits":
            y_pred = (1e4 * np.sign(rng.standard_normal((B, C)))).astype(dtype)
        else:
            logits = (1e4 * np.sign(rng.standard_normal((B, C)))).astype(dtype)
            activation = getattr(keras.activations, ACTIVATION[class_name])
            y_pred = np.asarray(activation(tf.constant(logits)))
        source = y_pred if logits is None else logits
        theirs = _keras_side(keras_loss, y_true, source, activation, None, None)
        value, grad = ours.value_and_gradient(y_true, y_pred, logits=logits)
        cmp.add("value", value, theirs[0])
        cmp.add("grad", grad, theirs[1])

    return Check(f"loss-{label}-saturated-{dtype_suffix(dtype)}", "loss", dtype, run,
                 f"{class_name} {form} saturated")


# --- metrics ----------------------------------------------------------------------------

METRICS = {
    "accuracy-exact": "Accuracy",
    "binary_accuracy": "BinaryAccuracy",
    "categorical_accuracy": "CategoricalAccuracy",
    "sparse_categorical_accuracy": "SparseCategoricalAccuracy",
    "mae": "MeanAbsoluteError",
    "mse": "MeanSquaredError",
}


def _metric_batch(rng, class_name, dtype, shape=(B, T, C)):
    if class_name == "Accuracy":
        return (rng.integers(0, 2, shape).astype(dtype), rng.integers(0, 2, shape).astype(dtype))
    if class_name == "BinaryAccuracy":
        return (rng.random(shape) < 0.5).astype(dtype), rng.random(shape).astype(dtype)
    y_pred = rng.standard_normal(shape).astype(dtype)
    if class_name == "CategoricalAccuracy":
        return np.eye(shape[-1], dtype=dtype)[rng.integers(0, shape[-1], shape[:-1])], y_pred
    if class_name == "SparseCategoricalAccuracy":
        return rng.integers(0, shape[-1], shape[:-1]).astype(dtype), y_pred
    return rng.standard_normal(shape).astype(dtype), y_pred


def _update_both(keras_metric, ours, y_true, y_pred, weight=None, mask=None):
    keras_pred = tf.constant(y_pred)
    if mask is not None:
        keras_backend.set_keras_mask(keras_pred, tf.constant(mask))
    keras_metric.update_state(y_true, keras_pred, sample_weight=weight)
    ours.update_state(y_true, y_pred, sample_weight=weight, mask=mask)


def _metric_check(label, dtype):
    class_name = METRICS[label]

    def run(cmp):
        rng = np.random.default_rng(3)
        keras_metric = getattr(keras.metrics, class_name)(dtype=dtype)
        ours = getattr(metrics, class_name)(dtype=dtype)
        if ours.name != keras_metric.name:
            cmp.problem(f"name {ours.name!r}, Keras {keras_metric.name!r}")
        calls = 3 * ["plain"] + 3 * ["sw+mask"] + ["reset"]
        for i, call in enumerate(calls):
            if call == "reset":
                keras_metric.reset_state()
                ours.reset_state()
            mask = rng.random((B, T)) < 0.6 if call == "sw+mask" else None
            weight = rng.uniform(0, 2, (B, T)).astype(dtype) if call == "sw+mask" else None
            _update_both(keras_metric, ours, *_metric_batch(rng, class_name, dtype),
                         weight, mask)
            cmp.add(f"result:{i}:{call}", np.asarray(ours.result(), dtype),
                    np.asarray(keras_metric.result()))

    return Check(f"metric-{label}-{dtype_suffix(dtype)}", "metric", dtype, run, class_name)


def _accuracy_check(kind, dtype):
    """``"accuracy"`` through Keras's compile against ``metrics.get("accuracy")``."""
    shapes = {"binary": ((B, T, 1), (B, T, 1)), "sparse": ((B, T), (B, T, C)),
              "categorical": ((B, T, C), (B, T, C))}
    true_shape, pred_shape = shapes[kind]
    expected = {"binary": "BinaryAccuracy", "sparse": "SparseCategoricalAccuracy",
                "categorical": "CategoricalAccuracy"}[kind]

    def run(cmp):
        rng = np.random.default_rng(4)
        batch = _metric_batch(rng, expected, dtype, pred_shape)
        y_true = batch[0].reshape(true_shape)
        keras_metric = compile_utils.get_metric("acc", tf.constant(y_true),
                                                tf.constant(batch[1]))
        ours = metrics.get("acc", dtype="float32")
        for i in range(3):
            if i:
                y_true, y_pred = _metric_batch(rng, expected, dtype, pred_shape)
                y_true = y_true.reshape(true_shape)
            else:
                y_pred = batch[1]
            mask = rng.random((B, T)) < 0.6
            _update_both(keras_metric, ours, y_true, y_pred, mask=mask)
            cmp.add(f"result:{i}", np.asarray(ours.result(), "float32"),
                    np.asarray(keras_metric.result()))
        found = type(ours.resolved).__name__
        if found != type(keras_metric).__name__ or (ours.name, keras_metric.name) != ("acc",) * 2:
            cmp.problem(f"resolved {found} named {ours.name!r}, Keras "
                        f"{type(keras_metric).__name__} named {keras_metric.name!r}")

    # Keras's compiled metrics keep float32 (floatx) whatever the data: so do ours.
    return Check(f"metric-accuracy-{kind}-{dtype_suffix(dtype)}", "metric", "float32", run,
                 f"compile 'acc' {kind} data {dtype}")


def _mean_check(dtype):
    def run(cmp):
        rng = np.random.default_rng(5)
        keras_metric = keras.metrics.Mean(name="loss", dtype=dtype)
        ours = metrics.Mean(name="loss", dtype=dtype)
        for i, batch in enumerate((32, 32, 7)):
            value = np.asarray(rng.uniform(0, 3), dtype)
            keras_metric.update_state(value, sample_weight=batch)
            ours.update_state(value, sample_weight=batch)
            cmp.add(f"result:{i}", np.asarray(ours.result(), dtype),
                    np.asarray(keras_metric.result()))

    return Check(f"metric-mean-{dtype_suffix(dtype)}", "metric", dtype, run,
                 "Mean(loss, sample_weight=batch_size)")


CHECKS = (
    [_loss_check(label, reduction, dtype)
     for label in LOSSES for reduction in REDUCTIONS for dtype in DTYPES]
    + [_squeezed_check(dtype) for dtype in DTYPES]
    + [_saturated_check(label, dtype)
       for label in ("bce", "bce-logits", "bce-keras-logits", "cce", "cce-logits",
                     "cce-keras-logits", "scce", "scce-logits", "scce-keras-logits")
       for dtype in DTYPES]
    + [_metric_check(label, dtype) for label in METRICS for dtype in DTYPES]
    + [_accuracy_check(kind, dtype) for kind in ("binary", "sparse", "categorical")
       for dtype in DTYPES]
    + [_mean_check(dtype) for dtype in DTYPES]
)
