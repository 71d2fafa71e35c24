"""Losses, as Keras 3 computes them, each with its hand-written gradient.

A loss is computed in three steps, as in Keras's ``Loss.__call__``:

1. **Shapes** (``squeeze_or_expand_to_same_rank``): when the ranks of ``y_true`` and
   ``y_pred`` differ by one and the longer one ends in a dimension of 1, that dimension
   is dropped, or (when the shorter one has rank 1) a dimension of 1 is added to the
   shorter one: ``y_true (B,)`` against ``y_pred (B, 1)`` compares ``(B, 1)`` with
   ``(B, 1)``, ``y_true (B, T)`` against ``y_pred (B, T, 1)`` compares ``(B, T)`` with
   ``(B, T)``.
2. **Per-sample values** ``v`` (what the plain functions ``mean_squared_error(y_true,
   y_pred)``, ... return): a loss per element ``e``, averaged over the last axis, or a
   crossentropy over the class axis.  With ``d = y_pred - y_true``, ``n`` the size of the
   last axis and ``ε = 1e-7`` (Keras's ``backend.epsilon()``)::

       mean_squared_error     v = Σ d² / n                      ∂v/∂p = 2 d / n
       mean_absolute_error    v = Σ |d| / n                     ∂v/∂p = sign(d) / n
       huber (δ)              e = d²/2 if |d| <= δ,             ∂e/∂p = d, or δ sign(d)
                                  δ |d| - δ²/2 otherwise
       binary_crossentropy    q = clip(p, ε, 1 - ε)             ∂e/∂p = [ε <= p <= 1-ε] ·
                              e = -t log q - (1-t) log(1-q)              ((1-t)/(1-q) - t/q)
           from logits x      e = max(x,0) - x t + log(1 + exp(-|x|))
                                                                ∂e/∂x = σ(x) - t
       categorical            r = p / Σp,  q = clip(r, ε, 1-ε)  ∂v/∂r = -[ε <= r <= 1-ε] t/q
                              v = -Σ t log q                    ∂v/∂p_j = (∂v/∂r_j
                                                                  - Σ_k ∂v/∂r_k r_k) / Σp
           from logits x      v = Σ t (logsumexp(x) - x)        ∂v/∂x = softmax(x) Σt - t
       sparse_categorical     ℓ = log clip(p, ε, 1-ε), or ℓ = x from logits
           (label y)          v = logsumexp(ℓ) - ℓ_y            ∂v/∂ℓ = softmax(ℓ) - onehot(y)

   (Keras's sparse probability form takes ``log clip(p)`` as logits, so it is
   ``-log q_y + log Σq``: the clipped probabilities are renormalised too.)
3. **Weighting and reduction** (``reduce_weighted_values``): the ``sample_weight`` and
   the mask of ``y_pred`` become one weight ``w`` (``apply_mask``: for the mean
   reductions a valid entry weighs ``size / valid`` and a masked one 0, so that the mean
   over the batch is the mean over the valid entries), and::

       "sum_over_batch_size", "mean"   L = Σ v w / size(v w)    ∂L/∂v = w / size
       "sum"                           L = Σ v w                ∂L/∂v = w
       "mean_with_sample_weight"       L = Σ v w / Σ w          ∂L/∂v = w / Σ w
       "none", None                    L = v w                  (gradient of Σ L)

   with ``x / 0`` read as 0 (Keras's ``divide_no_nan``).

``loss.value_and_gradient(y_true, y_pred, ...)`` returns ``L`` and ``∂L/∂y_pred`` by the
chain rule through these steps in reverse (a reshape undoes step 1).

Logits.  Keras computes a crossentropy from the pre-activation ``x`` whenever ``y_pred``
came out of a ``sigmoid`` or ``softmax`` activation (the output tensor carries
``_keras_logits``), *even with* ``from_logits=False``: no clipping then.  Here the caller
passes that pre-activation as ``logits=`` and gets the gradient with respect to it.  The
one case where Keras drops the logits is step 1 squeezing ``y_pred`` (its squeezed tensor
no longer carries them): the loss is then computed from ``y_pred`` and its gradient is
carried back through the activation.  Only the crossentropies read logits; the other
losses refuse them, because Keras ignores them there and a caller expecting a gradient
with respect to logits would silently get one with respect to ``y_pred``.

Dtypes: everything runs in ``y_pred``'s dtype (float32 or float64; integer predictions
become float32, Keras's ``floatx``), and ``y_true`` is cast to it, as Keras casts both
to the loss's dtype.
"""

import abc
import numbers
import warnings

import numpy as np

from ._checks import DTYPES
from .ops import activations as act

#: Keras's ``backend.epsilon()``: how far from 0 and 1 probabilities are clipped.
EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# --- shapes -----------------------------------------------------------------------------

def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rank reconciliation: if the ranks differ by one and the longer array ends
    in a dimension of 1, drop it, or, when the shorter array has rank 1 (and
    ``expand_rank_1``), add a dimension of 1 to the shorter one instead."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _broadcast_shape(a, b, names):
    """The broadcast shape of arrays ``a`` and ``b``, or an error naming both."""
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"`{names[0]}` and `{names[1]}` have incompatible shapes "
                         f"{a.shape} and {b.shape}") from None


def _unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added to an array of ``shape``: the
    gradient of ``broadcast_to(a, grad.shape)`` with respect to ``a``."""
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def _same_shape(y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ValueError("`y_true` and `y_pred` must have the same shape, got "
                         f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}")


def _at_least_rank_1(y_pred):
    if y_pred.ndim < 1:
        raise ValueError(f"`y_pred` must have at least one axis, got shape {y_pred.shape}")


# --- conversions ------------------------------------------------------------------------

def _prediction(y_pred, argument="y_pred"):
    """``y_pred`` as a float32/float64 array (integers become float32, Keras's floatx)."""
    arr = np.asarray(y_pred)
    if arr.dtype.kind in "iub":
        return arr.astype(np.float32)
    if arr.dtype.name not in DTYPES:
        raise TypeError(f"`{argument}` must hold float32 or float64 numbers, got an array "
                        f"of dtype {arr.dtype}")
    return arr


def _real(value, argument, dtype):
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"`{argument}` must hold real numbers, got an array of dtype "
                        f"{arr.dtype}")
    return arr.astype(dtype, copy=False)


def _boolean_mask(mask):
    """A mask as booleans; numbers must be 0 or 1 (Keras counts the valid entries by
    summing the mask, so any other number would count wrongly)."""
    arr = np.asarray(mask)
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind not in "fiu" or not np.all((arr == 0) | (arr == 1)):
        raise ValueError("`mask` must hold booleans (or 0 and 1), got an array of dtype "
                         f"{arr.dtype}" + ("" if arr.dtype.kind not in "fiu"
                                           else f" with values {np.unique(arr)[:5]}"))
    return arr.astype(bool)


def _class_indices(y_true, num_classes):
    """Integer labels from ``y_true`` (which Keras holds as floats): whole numbers in
    ``[0, num_classes)``."""
    whole = np.isfinite(y_true) & (y_true == np.trunc(y_true))
    if not np.all(whole):
        raise ValueError("`y_true` must hold integer class indices for a sparse "
                         f"crossentropy, got values such as {y_true[~whole][:3]}")
    labels = y_true.astype(np.int64)
    bad = (labels < 0) | (labels >= num_classes)
    if np.any(bad):
        raise ValueError(f"`y_true` holds class index {labels[bad].flat[0]}, outside the "
                         f"valid range [0, {num_classes}) of y_pred's last axis")
    return labels


# --- weighting and reduction ------------------------------------------------------------

def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"`reduction` must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merge a boolean ``mask`` into ``sample_weight`` (Keras's ``apply_mask``).

    For ``"sum_over_batch_size"`` and ``"mean"`` a valid entry weighs
    ``size(mask) / valid`` and a masked one 0, so that dividing by the size afterwards
    divides by the number of valid entries; for the other reductions the mask is 0/1.
    """
    if mask is None:
        return sample_weight
    mask = _boolean_mask(mask)
    if reduction in ("mean", "sum_over_batch_size"):
        total, valid = dtype.type(mask.size), dtype.type(np.count_nonzero(mask))
        weight = total / valid if valid else dtype.type(0)
        float_mask = np.where(mask, weight, dtype.type(0))
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    _broadcast_shape(float_mask, sample_weight, ("mask", "sample_weight"))
    return sample_weight * float_mask


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size"):
    """Weight the per-sample ``values`` and reduce them (Keras's function of that name).

    Returns ``(loss, dloss_dvalues)``; for ``"none"`` the gradient is that of the sum of
    the returned values.
    """
    reduction = standardize_reduction(reduction)
    dtype = values.dtype
    if sample_weight is not None:
        sample_weight = _real(sample_weight, "sample_weight", dtype)
        if not np.all(np.isfinite(sample_weight)):
            bad = sample_weight[~np.isfinite(sample_weight)]
            raise ValueError(f"`sample_weight` must hold finite numbers, got {bad.size} "
                             f"non-finite value(s) such as {bad.flat[0]} (a NaN or inf "
                             "weight would make every weight NaN after one step)")
    weights = apply_mask(sample_weight, mask, dtype, reduction)
    shaped = values
    if weights is not None:
        shaped, weights = squeeze_or_expand_to_same_rank(values, weights)
        given = "mask" if sample_weight is None else "sample_weight (with the mask)"
        _broadcast_shape(shaped, weights, ("losses", given))
        # An entry of weight 0 (masked, or sample_weight 0) contributes exactly 0, even
        # where its value is NaN or inf (padded targets): padding never reaches the loss.
        with np.errstate(invalid="ignore"):
            weighted = np.where(weights == 0, dtype.type(0), shaped * weights)
    else:
        weighted = shaped
    if reduction in (None, "none") or weighted.shape in ((), (0,)):
        loss, dweighted = weighted, np.ones_like(weighted)
    else:
        if reduction == "sum":
            divisor = dtype.type(1)
        elif reduction == "mean_with_sample_weight" and weights is not None:
            divisor = np.sum(weights, dtype=dtype)
        else:
            divisor = dtype.type(weighted.size)
        scale = dtype.type(1) / divisor if divisor != 0 else dtype.type(0)
        loss = np.sum(weighted) / divisor if divisor != 0 else dtype.type(0)
        dweighted = np.full(weighted.shape, scale, dtype)
    dshaped = dweighted if weights is None else _unbroadcast(dweighted * weights, shaped.shape)
    return np.asarray(loss, dtype), dshaped.reshape(values.shape)


# --- per-sample losses: each returns (values, vjp), vjp(dvalues) = dloss/dy_pred ---------

def _scaled(dv, grad):
    """``dv * grad``, exactly 0 where ``dv`` is 0: an entry that does not reach the loss
    (masked, or of sample_weight 0) passes no gradient back, even where its own
    derivative is NaN or inf (a NaN target in a padded step)."""
    with np.errstate(invalid="ignore"):
        return np.where(dv != 0, dv * grad, grad.dtype.type(0))


def _mean_over_last_axis(elementwise, grad_elementwise, pred_shape):
    """``v = mean(e, axis=-1)`` and its vector-Jacobian product ``dv -> dv ∂e/∂p / n``
    (summed back to ``pred_shape`` where ``e`` was broadcast)."""
    n = elementwise.shape[-1]

    def vjp(dvalues):
        return _unbroadcast(_scaled(np.expand_dims(dvalues, -1), grad_elementwise) / n,
                            pred_shape)

    return np.mean(elementwise, axis=-1), vjp


def _regression(y_true, y_pred, errors):
    """Keras's regression losses: align ranks, ``e, ∂e/∂d = errors(d)`` with
    ``d = y_pred - y_true``, mean over the last axis."""
    y_true, pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _at_least_rank_1(pred)
    _broadcast_shape(y_true, pred, ("y_true", "y_pred"))
    e, de = errors(pred - y_true)
    values, vjp = _mean_over_last_axis(e, de, pred.shape)
    return values, lambda dvalues: vjp(dvalues).reshape(y_pred.shape)


def _squared(d):
    return np.square(d), 2 * d


def _absolute(d):
    return np.abs(d), np.sign(d)


def _huber(delta):
    def errors(d):
        delta_ = d.dtype.type(delta)
        half = d.dtype.type(0.5)
        small = np.abs(d) <= delta_
        e = np.where(small, half * np.square(d), delta_ * np.abs(d) - half * np.square(delta_))
        return e, np.where(small, d, delta_ * np.sign(d))
    return errors


def _clip_bounds(dtype):
    """``ε`` and ``1 - ε`` in ``dtype``, as TensorFlow converts Keras's Python floats."""
    return dtype.type(EPSILON), dtype.type(1.0 - EPSILON)


def _sigmoid_crossentropy_with_logits(t, x):
    """TensorFlow's stable form ``max(x,0) - x t + log1p(exp(-|x|))`` and its derivative
    ``σ(x) - t``, written as ``(1 - t) - s`` for ``x >= 0`` and ``s - t`` otherwise, with
    ``s = exp(-|x|) / (1 + exp(-|x|))``, so that neither form subtracts nearly equal
    numbers when the label agrees with a saturated logit."""
    e = np.exp(-np.abs(x))
    positive = x >= 0
    value = np.where(positive, x, 0) - x * t + np.log1p(e)
    s = e / (1 + e)
    return value, np.where(positive, (1 - t) - s, s - t)


def _binary_probabilities(t, p):
    eps, high = _clip_bounds(p.dtype)
    q = np.clip(p, eps, high)
    value = -(t * np.log(q) + (1 - t) * np.log(1 - q))
    inside = (p >= eps) & (p <= high)  # the clip passes the gradient at its bounds
    return value, np.where(inside, (1 - t) / (1 - q) - t / q, 0)


def _binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    _same_shape(y_true, y_pred)
    _at_least_rank_1(y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    form = _sigmoid_crossentropy_with_logits if from_logits else _binary_probabilities
    e, de = form(y_true, y_pred)
    return _mean_over_last_axis(e, de, y_pred.shape)


def _log_softmax(x):
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    _at_least_rank_1(y_pred)
    _same_shape(y_true, y_pred)
    if y_pred.shape[-1] == 1:
        warnings.warn("categorical_crossentropy expects y_pred of shape (batch_size, "
                      f"num_classes) with num_classes > 1, got y_pred.shape={y_pred.shape}; "
                      "consider binary_crossentropy for two classes", SyntaxWarning,
                      stacklevel=4)
    if label_smoothing:
        num_classes = y_pred.dtype.type(y_true.shape[-1])
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    t = y_true
    if from_logits:
        log_p = _log_softmax(y_pred)
        values = -np.sum(t * log_p, axis=-1)
        # The gradient of the value, Σt softmax - t; TensorFlow's kernel returns
        # softmax - t, the same for labels that sum to 1.
        return values, lambda dv: _scaled(dv[..., None],
                                          np.exp(log_p) * t.sum(-1, keepdims=True) - t)
    total = np.sum(y_pred, axis=-1, keepdims=True)
    r = y_pred / total
    eps, high = _clip_bounds(y_pred.dtype)
    q = np.clip(r, eps, high)
    values = -np.sum(t * np.log(q), axis=-1)

    def vjp(dv):
        dr = _scaled(dv[..., None], np.where((r >= eps) & (r <= high), -t / q, 0))
        return (dr - np.sum(dr * r, axis=-1, keepdims=True)) / total

    return values, vjp


def _sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    _at_least_rank_1(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError("`y_true` must have the shape of `y_pred` without its last (class) "
                         f"axis, got y_true.shape={y_true.shape} and "
                         f"y_pred.shape={y_pred.shape}")
    labels = _class_indices(y_true, y_pred.shape[-1])
    onehot = np.arange(y_pred.shape[-1]) == labels[..., None]
    eps, high = _clip_bounds(y_pred.dtype)
    if from_logits:
        logits = y_pred
    else:
        q = np.clip(y_pred, eps, high)
        logits = np.log(q)
    log_p = _log_softmax(logits)
    values = -np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]

    def vjp(dv):
        dlogits = _scaled(dv[..., None], np.exp(log_p) - onehot)
        if from_logits:
            return dlogits
        return np.where((y_pred >= eps) & (y_pred <= high), dlogits / q, 0)

    return values, vjp


# --- the plain functions, as Keras exports them -----------------------------------------

def _inputs(y_true, y_pred):
    y_pred = _prediction(y_pred)
    return _real(y_true, "y_true", y_pred.dtype), y_pred


def mean_squared_error(y_true, y_pred):
    """Per-sample ``mean((y_true - y_pred)², axis=-1)`` (after aligning ranks)."""
    return _regression(*_inputs(y_true, y_pred), _squared)[0]


def mean_absolute_error(y_true, y_pred):
    """Per-sample ``mean(|y_true - y_pred|, axis=-1)`` (after aligning ranks)."""
    return _regression(*_inputs(y_true, y_pred), _absolute)[0]


def huber(y_true, y_pred, delta=1.0):
    """Per-sample mean Huber loss: quadratic up to ``|d| = delta``, linear beyond."""
    return _regression(*_inputs(y_true, y_pred), _huber(_positive(delta, "delta")))[0]


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary crossentropy, averaged over the last axis."""
    _axis_is_last(axis)
    return _binary_crossentropy(*_inputs(y_true, y_pred), from_logits,
                                _smoothing(label_smoothing))[0]


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample categorical crossentropy over the last (class) axis."""
    _axis_is_last(axis)
    return _categorical_crossentropy(*_inputs(y_true, y_pred), from_logits,
                                     _smoothing(label_smoothing))[0]


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Per-sample crossentropy of integer labels against the last (class) axis."""
    _axis_is_last(axis)
    return _sparse_categorical_crossentropy(*_inputs(y_true, y_pred), from_logits)[0]


# --- argument checks --------------------------------------------------------------------

def _positive(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"`{argument}` must be a positive number, got {value!r}")
    return float(value)


def _smoothing(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"`label_smoothing` must be a number in [0, 1], got {value!r}")
    return float(value)


def _axis_is_last(axis):
    if isinstance(axis, bool) or axis != -1:
        raise ValueError(f"`axis` must be -1 (the classes on the last axis), got {axis!r}")
    return -1


def _from_logits(value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`from_logits` must be True or False, got {value!r}")
    return bool(value)


# --- the loss classes -------------------------------------------------------------------

class Loss(abc.ABC):
    """Base class: ``loss(y_true, y_pred)`` is the reduced loss, ``value_and_gradient``
    adds its gradient with respect to ``y_pred`` (or to ``logits``).

    Subclasses implement ``_values(y_true, y_pred, from_logits)`` returning the
    per-sample values and their vector-Jacobian product (``dvalues -> dy_pred``).
    """

    #: Whether the loss reads ``logits=`` (the crossentropies, as Keras reads
    #: ``_keras_logits``).
    accepts_logits = False
    #: The activation whose logits the loss expects (crossentropies).
    activation = None
    from_logits = False
    default_name = "loss"

    def __init__(self, reduction="sum_over_batch_size", name=None):
        self.reduction = standardize_reduction(reduction)
        self.name = name or self.default_name
        if not isinstance(self.name, str):
            raise TypeError(f"`name` must be a string, got {name!r}")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, reduction={self.reduction!r})"

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def call(self, y_true, y_pred):
        """The per-sample values (Keras's ``Loss.call``), before weighting and reduction."""
        y_true, y_pred = self._convert(y_true, y_pred)
        true, pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self._values(true, pred, self.from_logits)[0]

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None, logits=None, *,
                 activation=None):
        """The loss: a 0-d array of ``y_pred``'s dtype (an array for ``"none"``).  The
        arguments are those of :meth:`value_and_gradient`."""
        return self._forward(y_true, y_pred, sample_weight, mask, logits, activation)[0]

    def value_and_gradient(self, y_true, y_pred, sample_weight=None, mask=None, logits=None,
                           *, activation=None):
        """``(loss, gradient)``, the gradient of the loss with respect to ``y_pred``, or
        to ``logits`` when they are given (same shape and dtype as ``y_pred``).

        ``mask``: the mask of ``y_pred`` (Keras's ``_keras_mask``), e.g. ``(B, T)`` for a
        sequence of predictions.  ``logits``: the pre-activation that a ``"sigmoid"`` or
        ``"softmax"`` ``activation`` turned into ``y_pred`` (crossentropies only;
        ``activation`` defaults to the loss's own, ``"sigmoid"`` for binary and
        ``"softmax"`` for the categorical ones, and matters only where Keras drops the
        logits).  For ``"none"`` the gradient is that of the sum of the values.
        """
        loss, backward = self._forward(y_true, y_pred, sample_weight, mask, logits, activation)
        return loss, backward()

    def _forward(self, y_true, y_pred, sample_weight, mask, logits, activation):
        """The loss, and a function computing its gradient (see the module docstring)."""
        y_true, y_pred = self._convert(y_true, y_pred)
        true, pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        from_logits = self.from_logits
        chain = None  # the activation to carry the gradient back through, if any
        if logits is not None:
            logits, code = self._check_logits(logits, y_pred, activation)
            if pred.shape == y_pred.shape:
                pred, from_logits = logits, True
            else:  # Keras's squeezed y_pred has lost its logits
                chain = code
        values, vjp = self._values(true, pred, from_logits)
        loss, dvalues = reduce_weighted_values(values, sample_weight, mask, self.reduction)

        def backward():
            grad = vjp(dvalues).reshape(y_pred.shape).astype(y_pred.dtype, copy=False)
            return grad if chain is None else act.backward(grad, y_pred, chain)

        return loss, backward

    def _convert(self, y_true, y_pred):
        return _inputs(y_true, y_pred)

    def _check_logits(self, logits, y_pred, activation):
        """``logits`` as an array of y_pred's dtype and shape, and the activation code."""
        if not self.accepts_logits:
            raise ValueError(f"`logits` are read by the crossentropy losses only (as Keras "
                             f"reads `_keras_logits`), not by {type(self).__name__}; pass "
                             "y_pred and carry its gradient back through the activation")
        logits = _real(logits, "logits", y_pred.dtype)
        if logits.shape != y_pred.shape:
            raise ValueError("`logits` must have the shape of `y_pred`, got "
                             f"logits.shape={logits.shape} and y_pred.shape={y_pred.shape}")
        if self.from_logits:
            warnings.warn(f"{self.name}: from_logits=True, but `logits` were given, so "
                          "y_pred was produced by an activation and is not logits; the "
                          "logits are used (as Keras does). Was this intended?",
                          stacklevel=5)
        activation = activation or self.activation
        if activation not in ("sigmoid", "softmax"):
            raise ValueError("`activation` must be 'sigmoid' or 'softmax' (the activations "
                             f"whose outputs carry Keras's logits), got {activation!r}")
        return logits, act.get(activation, softmax=True)

    @abc.abstractmethod
    def _values(self, y_true, y_pred, from_logits):
        """``(per-sample values, vjp)``: ``vjp(dvalues) -> dy_pred`` (see the class
        docstring)."""


class MeanSquaredError(Loss):
    """``mean((y_true - y_pred)², axis=-1)``, then reduced."""

    default_name = "mean_squared_error"

    def _values(self, y_true, y_pred, from_logits):
        return _regression(y_true, y_pred, _squared)


class MeanAbsoluteError(Loss):
    """``mean(|y_true - y_pred|, axis=-1)``, then reduced (gradient 0 where they agree,
    as TensorFlow's ``sign(0) = 0``)."""

    default_name = "mean_absolute_error"

    def _values(self, y_true, y_pred, from_logits):
        return _regression(y_true, y_pred, _absolute)


class Huber(Loss):
    """Mean Huber loss: ``d²/2`` for ``|d| <= delta``, ``delta |d| - delta²/2`` beyond.

    ``get_config`` includes ``delta`` (Keras 3.15's drops it, so that its
    ``from_config`` forgets a non-default delta).
    """

    default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.delta = _positive(delta, "delta")

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}

    def _values(self, y_true, y_pred, from_logits):
        return _regression(y_true, y_pred, _huber(self.delta))


class _Crossentropy(Loss):
    accepts_logits = True

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.from_logits = _from_logits(from_logits)
        self.label_smoothing = _smoothing(label_smoothing)
        self.axis = _axis_is_last(axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_Crossentropy):
    """Binary crossentropy, averaged over the last axis; probabilities are clipped to
    ``[1e-7, 1 - 1e-7]``, logits use the stable form.  ``label_smoothing`` moves the
    labels towards 0.5: ``t (1 - s) + s / 2``."""

    default_name = "binary_crossentropy"
    activation = "sigmoid"

    def _values(self, y_true, y_pred, from_logits):
        return _binary_crossentropy(y_true, y_pred, from_logits, self.label_smoothing)


class CategoricalCrossentropy(_Crossentropy):
    """Crossentropy of one-hot (or probability) labels over the last axis; probabilities
    are renormalised to sum to 1, then clipped.  ``label_smoothing``:
    ``t (1 - s) + s / num_classes``."""

    default_name = "categorical_crossentropy"
    activation = "softmax"

    def _values(self, y_true, y_pred, from_logits):
        return _categorical_crossentropy(y_true, y_pred, from_logits, self.label_smoothing)


class SparseCategoricalCrossentropy(Loss):
    """Crossentropy of integer labels ``(...,)`` (or ``(..., 1)``) against predictions
    ``(..., num_classes)``.  (Keras's ``ignore_class`` is not offered.)"""

    default_name = "sparse_categorical_crossentropy"
    accepts_logits = True
    activation = "softmax"

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", axis=-1, name=None):
        super().__init__(reduction, name)
        self.from_logits = _from_logits(from_logits)
        self.axis = _axis_is_last(axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}

    def _values(self, y_true, y_pred, from_logits):
        return _sparse_categorical_crossentropy(y_true, y_pred, from_logits)


# --- lookup -----------------------------------------------------------------------------

CLASSES = (MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy,
           CategoricalCrossentropy, SparseCategoricalCrossentropy)
#: Function names and Keras's aliases.  ``compile(loss="mse")`` names the loss "mse".
FUNCTION_NAMES = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError, "huber": Huber,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier):
    """A :class:`Loss` from ``identifier``, as ``compile(loss=identifier)`` resolves it.

    A :class:`Loss` is returned as it is; a class name (``"MeanSquaredError"``) gives the
    class with its default name (``"mean_squared_error"``); a function name or alias
    (``"mse"``, ``"binary_crossentropy"``) gives that loss with default arguments,
    named by the string, as Keras's compile wraps the function.  ``None`` gives None.
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    classes = {cls.__name__: cls for cls in CLASSES}
    if isinstance(identifier, str):
        if identifier in classes:
            return classes[identifier]()
        if identifier in FUNCTION_NAMES:
            return FUNCTION_NAMES[identifier](name=identifier)
        raise ValueError(f"unknown loss {identifier!r}; valid names: "
                         f"{sorted(FUNCTION_NAMES) + sorted(classes)}")
    raise TypeError(f"a loss identifier must be a Loss or a name, got {identifier!r} of "
                    f"type {type(identifier).__name__} (functions are not accepted: the "
                    "backward pass needs the gradient)")


def serialize(loss):
    """``{"class_name": ..., "config": ...}`` of a :class:`Loss` (what checkpoints store)."""
    if not isinstance(loss, Loss) or type(loss) not in CLASSES:
        raise TypeError(f"cannot serialise {loss!r}: not one of scratchrnn's losses")
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(spec):
    """The :class:`Loss` described by :func:`serialize`'s dict."""
    classes = {cls.__name__: cls for cls in CLASSES}
    if not isinstance(spec, dict) or spec.get("class_name") not in classes:
        raise ValueError(f"unknown loss spec {spec!r:.200}; known classes: {sorted(classes)}")
    return classes[spec["class_name"]].from_config(spec["config"])
