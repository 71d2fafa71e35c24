"""Metrics, accumulated over batches as Keras 3's are.

Every metric here is a :class:`Mean` of per-sample values: ``update_state`` adds
``Σ_i w_i v_i`` to ``total`` and ``Σ_i w_i`` to ``count`` (or the number of samples when
unweighted), and ``result()`` is ``total / count`` (0 while ``count`` is 0).  Both sums are
kept in the metric's ``dtype`` (float32 by default, Keras's ``floatx``), as Keras keeps
them in variables of that dtype.

How values and weights are brought to one per sample (Keras's
``reduce_to_samplewise_values``): the weights (``sample_weight``, times the mask of
``y_pred`` as 0/1) and the values are aligned in rank
(:func:`~scratchrnn.losses.squeeze_or_expand_to_same_rank`); values with more axes than
the weights are averaged over the extra axes; then ``v w`` and ``w`` are each averaged over
every axis but the first.  For a sequence ``(B, T)`` with a mask that gives
``Σ_bt m v / Σ_bt m``: the mean over the valid timesteps.

The wrapped functions (Keras's names; per-sample, without reduction)::

    accuracy                     y_true == y_pred
    binary_accuracy              y_true == (y_pred > threshold)
    categorical_accuracy         argmax(y_true) == argmax(y_pred)
    sparse_categorical_accuracy  y_true == argmax(y_pred)
    mean_absolute_error          mean(|y_true - y_pred|, axis=-1)
    mean_squared_error           mean((y_true - y_pred)², axis=-1)

A compiled model hands its metrics ``y_pred`` with its mask (``_keras_mask``) but no
``sample_weight`` (only ``weighted_metrics`` get that); here the mask is the ``mask``
argument.
"""

import abc

import numpy as np

from . import _checks
from . import losses as _losses
from .layers.layer import snake_case


def _samplewise(values, sample_weight, dtype):
    """Keras's ``reduce_to_samplewise_values`` with ``mean``: ``(values (B,), weights (B,)
    or None)``, or a 0-d value when ``values`` is 0-d."""
    values = values.astype(dtype, copy=False)
    if sample_weight is not None:
        values, sample_weight = _losses.squeeze_or_expand_to_same_rank(values, sample_weight)
        extra = tuple(range(sample_weight.ndim, values.ndim))
        if extra:
            values = np.mean(values, axis=extra)
        shape = _losses._broadcast_shape(values, sample_weight, ("values", "sample_weight"))
        if shape != values.shape:
            raise ValueError(f"`sample_weight` of shape {sample_weight.shape} does not "
                             f"broadcast to the values' shape {values.shape}")
        sample_weight = np.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if sample_weight.ndim > 1:
            sample_weight = np.mean(sample_weight, axis=tuple(range(1, sample_weight.ndim)))
    if values.ndim > 1:
        values = np.mean(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Metric(abc.ABC):
    """Base class: ``update_state(...)``, ``result() -> float``, ``reset_state()``."""

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        if not isinstance(self.name, str):
            raise TypeError(f"`name` must be a string, got {name!r}")
        self.dtype = _checks.dtype("float32" if dtype is None else dtype)
        self.reset_state()

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @abc.abstractmethod
    def update_state(self, *args, **kwargs):
        """Accumulate one batch."""

    @abc.abstractmethod
    def reset_state(self):
        """Forget everything accumulated."""

    @abc.abstractmethod
    def result(self):
        """The value over everything accumulated, a float."""


class Mean(Metric):
    """The weighted mean of all values given: ``update_state(values, sample_weight)``
    (Keras's signature; a model's loss tracker calls it with the batch's loss and
    ``sample_weight=batch_size``)."""

    def reset_state(self):
        self.total = self.dtype.type(0)
        self.count = self.dtype.type(0)

    def update_state(self, values, sample_weight=None):
        values = _losses._real(values, "values", self.dtype)
        if sample_weight is not None:
            sample_weight = _losses._real(sample_weight, "sample_weight", self.dtype)
        self._accumulate(values, sample_weight)

    def _accumulate(self, values, sample_weight):
        values, sample_weight = _samplewise(values, sample_weight, self.dtype)
        if sample_weight is not None:
            count = np.sum(sample_weight, dtype=self.dtype)
        else:
            count = self.dtype.type(values.shape[0] if values.ndim else 1)
        self.total = self.dtype.type(self.total + np.sum(values, dtype=self.dtype))
        self.count = self.dtype.type(self.count + count)

    def result(self):
        return float(self.total / self.count) if self.count != 0 else 0.0


class MeanMetricWrapper(Mean):
    """The :class:`Mean` of ``fn(y_true, y_pred, **kwargs)``, the per-sample values of
    a batch, weighted by ``sample_weight`` and by the mask of ``y_pred``."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if sample_weight is not None:
            sample_weight = _losses._real(sample_weight, "sample_weight", self.dtype)
        sample_weight = _losses.apply_mask(sample_weight, mask, self.dtype, reduction="sum")
        self._accumulate(values, sample_weight)


# --- the per-sample functions -----------------------------------------------------------

def _equal(a, b):
    """``a == b`` as float32 (Keras casts matches to ``floatx``)."""
    return np.equal(a, b).astype(np.float32)


def accuracy(y_true, y_pred):
    """``y_true == y_pred``, elementwise (after aligning ranks)."""
    y_true, y_pred = _losses._inputs(y_true, y_pred)
    return _equal(*_losses.squeeze_or_expand_to_same_rank(y_true, y_pred))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """``y_true == (y_pred > threshold)``, elementwise (after aligning ranks).  The
    threshold is a float32, as Keras converts it, whatever ``y_pred``'s dtype."""
    y_pred = _losses._prediction(y_pred)
    y_true = _losses._real(y_true, "y_true", np.asarray(y_true).dtype)
    y_true, y_pred = _losses.squeeze_or_expand_to_same_rank(y_true, y_pred)
    above = y_pred > np.float32(threshold).astype(y_pred.dtype)
    return _equal(y_true, above.astype(y_true.dtype))


def categorical_accuracy(y_true, y_pred):
    """``argmax(y_true) == argmax(y_pred)`` over the last axis (ties: the first)."""
    y_pred = _losses._prediction(y_pred)
    labels = np.argmax(_losses._real(y_true, "y_true", y_pred.dtype), axis=-1)
    if labels.ndim == y_pred.ndim:  # Keras squeezes y_true's last axis in this case
        if labels.shape[-1] != 1:
            raise ValueError("`y_true` must have one more axis than `y_pred` for "
                             f"categorical accuracy, got y_true.shape={np.shape(y_true)} "
                             f"and y_pred.shape={y_pred.shape}")
        labels = labels[..., 0]
    return _equal(labels, np.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    """``y_true == argmax(y_pred)``, for labels ``(...,)`` or ``(..., 1)``."""
    y_true, y_pred = _losses._inputs(y_true, y_pred)
    squeeze = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    labels, predicted = y_true[..., 0] if squeeze else y_true, np.argmax(y_pred, axis=-1)
    _losses._broadcast_shape(labels, predicted, ("y_true", "argmax(y_pred, axis=-1)"))
    matches = _equal(labels, predicted)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches[..., 0]
    return matches


# --- the metric classes -----------------------------------------------------------------

class Accuracy(MeanMetricWrapper):
    """How often ``y_pred`` equals ``y_true`` exactly."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the binary ``y_true``."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise TypeError(f"`threshold` must be a number, got {threshold!r}")
        self.threshold = threshold
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the largest prediction is at the one-hot label."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the largest prediction is at the integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of the per-sample ``mean(|y_true - y_pred|, axis=-1)``."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(_losses.mean_absolute_error, name=name, dtype=dtype)


class MeanSquaredError(MeanMetricWrapper):
    """The mean of the per-sample ``mean((y_true - y_pred)², axis=-1)``."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(_losses.mean_squared_error, name=name, dtype=dtype)


class AutoAccuracy(Metric):
    """``compile(metrics=["accuracy"])``: the accuracy that fits the data, chosen at the
    first ``update_state`` from the shapes, as Keras 3's compile does (not from the
    loss, as Keras 2 did):

    - ``y_pred`` ends in 1: :class:`BinaryAccuracy`;
    - else ``y_true`` has lower rank than ``y_pred``, or ends in 1:
      :class:`SparseCategoricalAccuracy`;
    - else :class:`CategoricalAccuracy`.

    ``resolved`` is the chosen metric (None before the first update).
    """

    def __init__(self, name="accuracy", dtype=None):
        self.resolved = None
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None):
        if self.resolved is None:
            self.resolved = self._choose(np.shape(y_true), np.shape(y_pred))(
                name=self.name, dtype=self.dtype)
        self.resolved.update_state(y_true, y_pred, sample_weight, mask)

    @staticmethod
    def _choose(true_shape, pred_shape):
        if not true_shape or not pred_shape:
            raise ValueError("`accuracy` needs y_true and y_pred with at least one axis, got "
                             f"shapes {true_shape} and {pred_shape}")
        if pred_shape[-1] == 1:
            return BinaryAccuracy
        if len(true_shape) < len(pred_shape) or true_shape[-1] == 1:
            return SparseCategoricalAccuracy
        return CategoricalAccuracy

    def reset_state(self):
        if self.resolved is not None:
            self.resolved.reset_state()

    def result(self):
        return 0.0 if self.resolved is None else self.resolved.result()


#: Names ``get`` accepts, with Keras's aliases (``"accuracy"``/``"acc"`` aside).
METRICS = {
    "Accuracy": Accuracy,
    "BinaryAccuracy": BinaryAccuracy, "binary_accuracy": BinaryAccuracy,
    "CategoricalAccuracy": CategoricalAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "SparseCategoricalAccuracy": SparseCategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "MeanAbsoluteError": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "MeanSquaredError": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
}


def get(identifier, loss=None, dtype=None):
    """A metric from ``identifier``, as ``compile(metrics=[identifier])`` resolves it.

    A string gives a metric *named by that string* (Keras logs ``"mae"``, ``"acc"``,
    ``"MeanAbsoluteError"`` as given); ``"accuracy"``/``"acc"`` (any case) give an
    :class:`AutoAccuracy`, resolved from the data's shapes at the first update.  A
    :class:`Metric` is returned as it is.  ``loss`` is accepted and not used: Keras 3
    does not look at the loss to resolve ``"accuracy"`` (a binary crossentropy on a
    3-class softmax gets categorical accuracy).  ``dtype``: of the new metric's sums
    (None: float32, Keras's floatx).
    """
    del loss  # see the docstring: Keras 3 resolves "accuracy" from shapes only
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"a metric identifier must be a Metric or a name, got "
                        f"{identifier!r} of type {type(identifier).__name__}")
    if identifier.lower() in ("accuracy", "acc"):
        return AutoAccuracy(name=identifier, dtype=dtype)
    if identifier not in METRICS:
        raise ValueError(f"unknown metric {identifier!r}; valid names: "
                         f"{sorted(['accuracy', 'acc', *METRICS])}")
    return METRICS[identifier](name=identifier, dtype=dtype)
