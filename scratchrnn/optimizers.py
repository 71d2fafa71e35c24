"""Optimizers: SGD (with momentum and Nesterov), Adam (with AMSGrad) and RMSprop
(with momentum, centered), updating the layers' NumPy arrays in place as Keras 3 does.

    opt = optimizers.Adam(learning_rate=1e-3, clipnorm=1.0)
    opt.apply_gradients(zip(layer.get_gradients(), layer.weights))

One call of :meth:`Optimizer.apply` is one step, in Keras's order:

1. the learning rate is read: a float, or ``schedule(iterations)`` with ``iterations``
   the steps applied *before* this one (the first step uses ``schedule(0)``);
2. the gradients are clipped, at most one of: ``clipnorm`` (each gradient by its own
   norm), ``global_clipnorm`` (all together by their joint norm), ``clipvalue``
   (elementwise)::

       clipnorm         g * c / max(||g||, c)
       global_clipnorm  g * c * min(1 / N, 1 / c),   N = sqrt(sum_j ||g_j||^2)
       clipvalue        min(max(g, -c), c)

3. each variable is updated by the optimizer's rule (its class docstring), every
   operation in the variable's dtype and in Keras's order;
4. ``iterations`` grows by one.

Facts of Keras 3.15 (TensorFlow backend) this module reproduces:

- The learning rate of an optimizer is a float32 variable (``floatx``) whatever the
  variables' dtype: ``SGD(0.01)`` steps float64 weights with ``float32(0.01)`` =
  0.009999999776482582, and ``learning_rate`` reads back that value.  Schedules are
  evaluated in float32 too.
- A Python float reaches a variable's dtype in one of two ways in Keras's code.  Where
  it is an operand (``m * (1 - beta_1)``, ``sqrt(v) + epsilon``, ``rho * v``), it is
  rounded once, from the double, to that dtype.  Where Keras calls ``ops.cast`` on it
  (SGD's ``momentum``, Adam's ``beta_1``/``beta_2`` in ``beta ** t``), TensorFlow makes
  it a float32 tensor first: a float64 step then uses ``float64(float32(0.9))``.
  :func:`keras_cast` is that second way.  Powers ``beta ** t`` use the C library's
  ``pow``/``powf``, as TensorFlow does.
- NaN or inf gradients are not refused: they flow into the slots and the variables.
  ``clipnorm`` turns a gradient with a NaN into all NaN (and one with an inf into NaN at
  the inf, 0 elsewhere); ``global_clipnorm`` turns *every* gradient into NaN if any
  holds a NaN or inf.
- An Embedding's gradient reaches Keras's optimizer row by row (TensorFlow's
  ``IndexedSlices``: one row per lookup, a token seen twice gives two rows), and the
  clipping options act on those rows *before* they are summed: ``clipnorm`` and
  ``global_clipnorm`` measure the norm of the unsummed rows, ``clipvalue`` clips each
  row.  Adam's and RMSprop's second moments then add the rows' squares, ``g1² + g2²``,
  not ``(g1 + g2)²``, except after ``global_clipnorm``, which hands the rows on summed.
  With a repeated token all of this differs from the summed gradient's step.  Give such
  a gradient as :class:`IndexedSlices` to get Keras's step.
- A gradient of ``None`` leaves its variable (and its slots) untouched, with a warning;
  all ``None`` is an error; an empty list is no step at all (``iterations`` unchanged).

Where this module is stricter than Keras: gradients must have their variable's shape and
dtype (Keras casts silently); a clip threshold must be positive (Keras ignores ``0`` and
negative ones); betas, ``rho`` and momenta must lie in their ranges (Keras checks only
SGD's momentum); a learning rate must be non-negative (Keras takes negative ones; it
refuses ints, which are taken here).  Keras's ``weight_decay``, EMA, loss scaling and
gradient accumulation are not implemented (``from_config`` accepts them at their
defaults), nor callables as learning rates.
"""

import abc
import math
import numbers
import warnings

import numpy as np

from . import _checks, schedules
from .ops.indexed_slices import IndexedSlices  # noqa: F401 (optimizers take them)
from .schedules import LearningRateSchedule

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: Keras's arguments that scratchrnn's optimizers do not implement, with the value at
#: which they do nothing: ``from_config`` accepts a Keras config holding these.
_KERAS_ONLY_DEFAULTS = {"weight_decay": None, "use_ema": False, "ema_momentum": 0.99,
                        "ema_overwrite_frequency": None, "loss_scale_factor": None,
                        "gradient_accumulation_steps": None}


# --- argument checks ----------------------------------------------------------------------


def _real(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{argument}` must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{argument}` must be finite, got {value}")
    return value


def _in_range(value, argument, low, high, high_open):
    """``value`` as a float in ``[low, high)`` (``high_open``) or ``[low, high]``."""
    value = _real(value, argument)
    if not (low <= value < high if high_open else low <= value <= high):
        interval = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ValueError(f"`{argument}` must be in {interval}, got {value}")
    return value


def _non_negative(value, argument):
    value = _real(value, argument)
    if value < 0:
        raise ValueError(f"`{argument}` must be >= 0, got {value}")
    return value


def _clip_threshold(value, argument):
    if value is None:
        return None
    value = _real(value, argument)
    if value <= 0:
        raise ValueError(f"`{argument}` must be None or > 0, got {value}")
    # Clipping computes in the gradient's dtype, float32 by default: a threshold that
    # rounds to 0 or inf there turns a gradient into 0 / 0 = NaN.
    return schedules.fits_float32(value, argument)


def _learning_rate(value):
    """A schedule as is, or a non-negative float stored as Keras stores it: float32."""
    if isinstance(value, LearningRateSchedule):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`learning_rate` must be a non-negative float or a "
                        f"LearningRateSchedule, got {value!r}")
    return np.float32(schedules.fits_float32(_non_negative(value, "learning_rate"),
                                             "learning_rate"))


def keras_cast(value, dtype):
    """``ops.cast(value, dtype)`` of a Python float as Keras computes it: TensorFlow
    converts the float to a float32 tensor before casting, so it is rounded to float32
    even when ``dtype`` is float64."""
    return dtype(np.float32(value))


# --- gradient clipping --------------------------------------------------------------------


def clip_by_norm(gradient, clipnorm):
    """``g * c / max(||g||, c)``: ``g`` rescaled to norm ``c`` if longer (TensorFlow's
    ``clip_by_norm``, which Keras uses).  A NaN anywhere makes the norm NaN and with it
    every element, as in TensorFlow (its ``where`` guards only the zero norm).  For
    :class:`IndexedSlices`, the norm is that of the unsummed rows."""
    if isinstance(gradient, IndexedSlices):
        return gradient.with_values(clip_by_norm(gradient.values, clipnorm))
    c = gradient.dtype.type(clipnorm)
    l2sum = np.sum(gradient * gradient)
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    with np.errstate(invalid="ignore"):  # inf / inf: the NaN TensorFlow gives, silently
        return gradient * c / np.maximum(l2norm, c)


def clip_by_global_norm(gradients, clipnorm):
    """``g_j * c * min(1 / N, 1 / c)`` for every ``g_j``, ``N`` the norm of all of them
    together (Keras's ``clip_by_global_norm``); ``+ (N - N)`` makes the scale NaN when
    ``N`` is inf or NaN, so that no step is taken with a finite but meaningless scale.
    The norm is computed in the widest of the gradients' dtypes; an
    :class:`IndexedSlices` counts with its unsummed rows."""
    rows = [g.values if isinstance(g, IndexedSlices) else g for g in gradients]
    dtype = np.result_type(*rows).type
    squared = [dtype(np.sum(g * g)) for g in rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.sqrt(np.sum(np.array(squared, dtype=dtype)))
        scale = dtype(clipnorm) * np.minimum(dtype(1) / norm, dtype(1 / clipnorm))
        scale = scale + (norm - norm)
    # Keras multiplies each gradient by the scale as a dense tensor: rows come back summed.
    return [g.with_values(r * r.dtype.type(scale)).dense() if isinstance(g, IndexedSlices)
            else r * r.dtype.type(scale) for g, r in zip(gradients, rows)]


def clip_by_value(gradient, clipvalue):
    """``min(max(g, -c), c)`` elementwise (row by row for :class:`IndexedSlices`); NaN
    stays NaN."""
    if isinstance(gradient, IndexedSlices):
        return gradient.with_values(clip_by_value(gradient.values, clipvalue))
    c = gradient.dtype.type(clipvalue)
    return np.clip(gradient, -c, c)


# --- the base class -----------------------------------------------------------------------


class Optimizer(abc.ABC):
    """What every optimizer shares: the learning rate, clipping, iterations, the slots.

    Arguments shared by every optimizer (Keras's names):

    - ``learning_rate``: a non-negative float (held in float32, as Keras holds it) or a
      :class:`~scratchrnn.schedules.LearningRateSchedule`;
    - ``clipnorm``, ``clipvalue``, ``global_clipnorm``: at most one, a positive float
      (see the module docstring);
    - ``name``: a string (None: the class name).

    Subclasses implement ``_slot_groups()`` (the names of their per-variable arrays,
    see :meth:`variables`) and ``_update_step(index, gradient, variable, learning_rate)``.
    The slots are created on the first :meth:`apply` (or :meth:`build`): zeros of each
    variable's shape and dtype, kept in lists aligned with the variable list.  Later calls
    must pass variables of the same count, shapes and dtypes, in the same order.
    """

    def __init__(self, learning_rate, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None):
        self._learning_rate = _learning_rate(learning_rate)
        self.clipnorm = _clip_threshold(clipnorm, "clipnorm")
        self.clipvalue = _clip_threshold(clipvalue, "clipvalue")
        self.global_clipnorm = _clip_threshold(global_clipnorm, "global_clipnorm")
        given = [a for a, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"only one of `clipnorm`, `clipvalue` and `global_clipnorm` "
                             f"can be set, got {', '.join(given)}")
        name = type(self).__name__ if name is None else name
        if not isinstance(name, str):
            raise TypeError(f"`name` must be a string, got {name!r}")
        self.name = name
        self._iterations = 0
        self._slots = None  # {slot name: [array per variable]} once built
        self._shapes = None  # [(shape, dtype) per variable] once built

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"

    # --- learning rate and iterations ---------------------------------------------------

    @property
    def iterations(self):
        """The number of steps applied so far."""
        return self._iterations

    @property
    def learning_rate(self):
        """The float learning rate (float32-rounded, as Keras stores it) or the schedule."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate
        return float(self._learning_rate)

    @learning_rate.setter
    def learning_rate(self, value):
        if (isinstance(self._learning_rate, LearningRateSchedule)
                and not isinstance(value, LearningRateSchedule)):
            raise TypeError(
                f"{self.name} was created with a LearningRateSchedule as its "
                f"`learning_rate`, which is therefore not settable to {value!r}; create "
                f"the optimizer with a float `learning_rate` to change it during training")
        self._learning_rate = _learning_rate(value)

    @property
    def current_learning_rate(self):
        """The rate the next step will use: the schedule evaluated at ``iterations``."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return float(self._learning_rate(self._iterations))
        return float(self._learning_rate)

    # --- slots ----------------------------------------------------------------------------

    @abc.abstractmethod
    def _slot_groups(self):
        """Tuples of slot names, in the order Keras creates them: the names of a tuple are
        interleaved per variable (Adam's ``m0, v0, m1, v1``), tuples follow each other."""

    def _slot_names(self):
        return [name for group in self._slot_groups() for name in group]

    @property
    def built(self):
        return self._slots is not None

    def build(self, variables):
        """Create the slots for ``variables`` (zeros of their shapes and dtypes); an
        optimizer already built only checks that it was built for such variables."""
        variables = [_variable(v, i) for i, v in enumerate(variables)]
        if self.built:
            self._check_known(variables)
            return
        self._slots = {name: [np.zeros_like(v) for v in variables]
                       for name in self._slot_names()}
        self._shapes = [(v.shape, v.dtype) for v in variables]

    def _check_known(self, variables):
        if len(variables) != len(self._shapes):
            raise ValueError(f"{self.name} was built for {len(self._shapes)} variables, got "
                             f"{len(variables)}; create a new optimizer for other variables")
        for i, (v, (shape, dtype)) in enumerate(zip(variables, self._shapes)):
            if v.shape != shape or v.dtype != dtype:
                raise ValueError(
                    f"`variables[{i}]` must have shape {shape} and dtype {dtype} as when "
                    f"{self.name} was built, got shape {v.shape} and dtype {v.dtype}")

    def variables(self):
        """Copies of the optimizer's state in Keras's ``optimizer.variables`` order:
        ``iterations`` (int64), the learning rate (float32, absent for a schedule), then
        the slots (see :meth:`_slot_groups`)."""
        out = [np.array(self._iterations, dtype=np.int64)]
        if not isinstance(self._learning_rate, LearningRateSchedule):
            out.append(np.array(self._learning_rate, dtype=np.float32))
        if self.built:
            for group in self._slot_groups():
                for i in range(len(self._shapes)):
                    out += [self._slots[name][i].copy() for name in group]
        return out

    def get_state(self):
        """The state as a dict of arrays (copies), for checkpoints: ``"iterations"``,
        ``"learning_rate"`` (a float rate only) and ``"<slot>_<i>"`` per variable ``i``."""
        state = {"iterations": np.array(self._iterations, dtype=np.int64)}
        if not isinstance(self._learning_rate, LearningRateSchedule):
            state["learning_rate"] = np.array(self._learning_rate, dtype=np.float32)
        for name, arrays in (self._slots or {}).items():
            for i, array in enumerate(arrays):
                state[f"{name}_{i}"] = array.copy()
        return state

    def set_state(self, state):
        """Restore a :meth:`get_state` dict (arrays copied in).  A state without slots
        (taken before the first step) leaves the optimizer unbuilt; one with slots builds
        an unbuilt optimizer from them, or must match the built one's shapes and dtypes."""
        state = dict(state)
        iterations = np.asarray(state.pop("iterations", -1))
        if iterations.ndim != 0 or iterations.dtype.kind not in "iu" or iterations < 0:
            raise ValueError(f"`state['iterations']` must be a non-negative integer, "
                             f"got {iterations!r}")
        learning_rate = state.pop("learning_rate", None)
        if (learning_rate is None) != isinstance(self._learning_rate, LearningRateSchedule):
            raise ValueError("`state['learning_rate']` must be present exactly when the "
                             "learning rate is a float (not a schedule)")
        slots, shapes = self._slots_from_state(state) if state else (None, None)
        if learning_rate is not None:
            self.learning_rate = float(np.asarray(learning_rate))
        self._iterations = int(iterations)
        self._slots, self._shapes = slots, shapes

    def _slots_from_state(self, state):
        """``(slots, [(shape, dtype) per variable])`` from the slot arrays of ``state``,
        checked against the slot names and, when built, the variables."""
        names = self._slot_names()
        if self.built:
            n = len(self._shapes)
        else:  # as many variables as arrays of the first slot
            n = sum(key.startswith(f"{names[0]}_") for key in state) if names else 0
        expected = sorted(f"{name}_{i}" for name in names for i in range(n))
        if sorted(state) != expected:
            raise ValueError(f"`state` must hold the slot arrays {expected}, "
                             f"got {sorted(state)}")
        slots = {name: [np.array(state[f"{name}_{i}"]) for i in range(n)] for name in names}
        shapes = self._shapes if self.built else [(a.shape, a.dtype) for a in slots[names[0]]]
        for name in names:
            for i, (array, (shape, dtype)) in enumerate(zip(slots[name], shapes)):
                if array.shape != shape or array.dtype != dtype:
                    raise ValueError(f"`state['{name}_{i}']` must have shape {shape} and "
                                     f"dtype {dtype}, got {array.shape} and {array.dtype}")
        return slots, shapes

    # --- a step ---------------------------------------------------------------------------

    def apply_gradients(self, grads_and_vars):
        """:meth:`apply` on ``(gradient, variable)`` pairs; returns ``iterations``."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self._iterations

    def apply(self, grads, variables):
        """One step: update every variable of ``variables`` in place from its gradient in
        ``grads`` (aligned lists), then count the step in ``iterations``."""
        grads, variables = list(grads), list(variables)
        if len(grads) != len(variables):
            raise ValueError(f"`grads` and `variables` must have the same length, got "
                             f"{len(grads)} and {len(variables)}")
        if not grads:
            return  # nothing to do, and Keras does not count it as a step
        variables = [_variable(v, i) for i, v in enumerate(variables)]
        if self.built:
            self._check_known(variables)
        grads = [_gradient(g, v, i) for i, (g, v) in enumerate(zip(grads, variables))]
        present = [i for i, g in enumerate(grads) if g is not None]
        if not present:
            raise ValueError("no gradients provided for any variable: every gradient "
                             "is None")
        if len(present) < len(grads):
            missing = [i for i, g in enumerate(grads) if g is None]
            warnings.warn(f"{self.name}: no gradients for variables {missing}; they are "
                          f"left unchanged", stacklevel=2)
        if not self.built:
            self.build(variables)
        learning_rate = self.current_learning_rate
        clipped = self._clip([grads[i] for i in present])
        for i, gradient in zip(present, clipped):
            squared = None
            if isinstance(gradient, IndexedSlices):
                # TensorFlow squares the rows before summing them: a row looked up twice
                # adds g1² + g2² to Adam's and RMSprop's second moment, not (g1 + g2)².
                squared = gradient.with_values(gradient.values * gradient.values).dense()
                gradient = gradient.dense()
            self._update_step(i, gradient, variables[i], learning_rate, squared)
        self._iterations += 1

    def _clip(self, grads):
        if self.clipnorm is not None:
            return [clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue is not None:
            return [clip_by_value(g, self.clipvalue) for g in grads]
        return grads

    @abc.abstractmethod
    def _update_step(self, index, gradient, variable, learning_rate, squared=None):
        """Update ``variable`` from ``gradient``; ``squared`` is the gradient's square
        where it is not ``gradient * gradient`` (a gradient given by rows)."""

    def _slot(self, name, index):
        return self._slots[name][index]

    # --- configuration ----------------------------------------------------------------------

    def get_config(self):
        """The constructor arguments (Keras's names); a schedule is serialized."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            learning_rate = schedules.serialize(self._learning_rate)
        else:
            learning_rate = float(self._learning_rate)
        return {"name": self.name, "learning_rate": learning_rate, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config):
        """An optimizer from :meth:`get_config` (or from Keras's config, whose extra
        arguments must be at the values where they do nothing)."""
        if cls is Optimizer:
            raise TypeError("Optimizer.from_config needs the optimizer's class: call it on "
                            "SGD, Adam or RMSprop, or use optimizers.deserialize")
        config = dict(config)
        for key, default in _KERAS_ONLY_DEFAULTS.items():
            value = config.pop(key, default)
            if value != default:
                raise ValueError(f"`{key}` is not supported by scratchrnn's optimizers "
                                 f"(only {default!r}), got {value!r}")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)


def _variable(value, index):
    """A variable must be a writable float32/float64 NumPy array (updated in place)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"`variables[{index}]` must be a NumPy array (updated in place), "
                        f"got {type(value).__name__}")
    if value.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"`variables[{index}]` must have dtype float32 or float64, "
                        f"got {value.dtype}")
    if not value.flags.writeable:
        raise ValueError(f"`variables[{index}]` must be writable (it is updated in place)")
    return value


def _gradient(value, variable, index):
    """A gradient is None, or an array (or :class:`IndexedSlices`) of its variable's
    shape and dtype."""
    if value is None:
        return None
    if isinstance(value, IndexedSlices):
        if tuple(value.dense_shape) != variable.shape or value.dtype != variable.dtype:
            raise ValueError(f"`grads[{index}]` (IndexedSlices) must describe a gradient of "
                             f"shape {variable.shape} and dtype {variable.dtype}, got "
                             f"{tuple(value.dense_shape)} and {value.dtype}")
        return value
    gradient = np.asarray(value)
    if gradient.shape != variable.shape:
        raise ValueError(f"`grads[{index}]` must have the shape of variables[{index}], "
                         f"{variable.shape}, got {gradient.shape}")
    if gradient.dtype != variable.dtype:
        raise TypeError(f"`grads[{index}]` must have the dtype of variables[{index}], "
                        f"{variable.dtype}, got {gradient.dtype}")
    return gradient


# --- the optimizers -----------------------------------------------------------------------


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    With learning rate ``lr``, momentum ``mu`` and gradient ``g``::

        momentum == 0:   w <- w - g * lr
        momentum > 0:    m <- mu * m - g * lr                 (m starts at 0)
                         w <- w + m                           (nesterov=False)
                         w <- w + mu * m - g * lr             (nesterov=True, new m)

    ``mu`` is rounded to float32 before the variable's dtype (:func:`keras_cast`).
    Slots: ``momentum`` (only when ``momentum > 0``).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name="SGD"):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, name)
        self.momentum = _in_range(momentum, "momentum", 0.0, 1.0, high_open=False)
        self.nesterov = _checks.boolean(nesterov, "nesterov")

    def _slot_groups(self):
        return (("momentum",),) if self.momentum != 0 else ()

    def _update_step(self, index, gradient, variable, learning_rate, squared=None):
        dt = variable.dtype.type
        lr = dt(learning_rate)
        if self.momentum == 0:
            variable -= gradient * lr
            return
        mu = keras_cast(self.momentum, dt)
        m = self._slot("momentum", index)
        m[...] = m * mu - gradient * lr
        if self.nesterov:
            variable += m * mu - gradient * lr
        else:
            variable += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), optionally AMSGrad (Reddi et al., 2018).

    At step ``t`` (1 for the first update), with gradient ``g``::

        m <- m + (g - m) * (1 - beta_1)          (= beta_1 * m + (1 - beta_1) * g)
        v <- v + (g**2 - v) * (1 - beta_2)
        v_hat <- max(v_hat, v)                   (amsgrad; then v_hat replaces v below)
        alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w <- w - (m * alpha) / (sqrt(v) + epsilon)

    The bias corrections are folded into ``alpha``, so ``epsilon`` is the paper's
    "epsilon hat" (added to ``sqrt(v)``, not to ``sqrt(v / (1 - beta_2**t))``).  In
    ``beta**t`` the betas are rounded to float32 first (:func:`keras_cast`); in
    ``1 - beta`` they are not.

    Slots, in Keras's order: ``momentum`` and ``velocity`` interleaved per variable, then
    ``velocity_hat`` (amsgrad only).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="Adam"):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = _in_range(beta_1, "beta_1", 0.0, 1.0, high_open=True)
        self.beta_2 = _in_range(beta_2, "beta_2", 0.0, 1.0, high_open=True)
        self.epsilon = schedules.fits_float32(_non_negative(epsilon, "epsilon"), "epsilon")
        self.amsgrad = _checks.boolean(amsgrad, "amsgrad")

    def _slot_groups(self):
        groups = (("momentum", "velocity"),)
        return groups + ((("velocity_hat",),) if self.amsgrad else ())

    def _update_step(self, index, gradient, variable, learning_rate, squared=None):
        dt = variable.dtype.type
        lr = dt(learning_rate)
        t = dt(self._iterations + 1)
        beta_1_power = schedules.power(keras_cast(self.beta_1, dt), t)
        beta_2_power = schedules.power(keras_cast(self.beta_2, dt), t)
        alpha = lr * np.sqrt(dt(1) - beta_2_power) / (dt(1) - beta_1_power)
        m, v = self._slot("momentum", index), self._slot("velocity", index)
        m += (gradient - m) * dt(1 - self.beta_1)
        g2 = gradient * gradient if squared is None else squared
        v += (g2 - v) * dt(1 - self.beta_2)
        if self.amsgrad:
            v_hat = self._slot("velocity_hat", index)
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        variable -= (m * alpha) / (np.sqrt(v) + dt(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), optionally centered and with (plain) momentum.

    With gradient ``g``::

        v <- rho * v + (1 - rho) * g**2
        a <- rho * a + (1 - rho) * g                       (centered)
        d = v - a**2 + epsilon      (centered)    or    d = v + epsilon
        increment = (lr * g) / sqrt(d)
        p <- momentum * p + increment;   w <- w - p        (momentum > 0)
        w <- w - increment                                 (momentum = 0)

    ``epsilon`` is added inside the square root.  Slots, in Keras's order: ``velocity``,
    then ``momentum`` (momentum > 0), then ``average_gradient`` (centered).
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="RMSprop"):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, name)
        self.rho = _in_range(rho, "rho", 0.0, 1.0, high_open=True)
        self.momentum = _in_range(momentum, "momentum", 0.0, 1.0, high_open=False)
        self.epsilon = schedules.fits_float32(_non_negative(epsilon, "epsilon"), "epsilon")
        self.centered = _checks.boolean(centered, "centered")

    def _slot_groups(self):
        groups = (("velocity",),)
        if self.momentum > 0:
            groups += (("momentum",),)
        if self.centered:
            groups += (("average_gradient",),)
        return groups

    def _update_step(self, index, gradient, variable, learning_rate, squared=None):
        dt = variable.dtype.type
        lr, rho, one_minus_rho = dt(learning_rate), dt(self.rho), dt(1 - self.rho)
        velocity = self._slot("velocity", index)
        g2 = gradient * gradient if squared is None else squared
        velocity[...] = rho * velocity + one_minus_rho * g2
        if self.centered:
            average = self._slot("average_gradient", index)
            average[...] = rho * average + one_minus_rho * gradient
            denominator = velocity - average * average + dt(self.epsilon)
        else:
            denominator = velocity + dt(self.epsilon)
        increment = (lr * gradient) / np.sqrt(denominator)
        if self.momentum > 0:
            p = self._slot("momentum", index)
            p[...] = dt(self.momentum) * p + increment
            variable -= p
        else:
            variable -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


# --- lookup -------------------------------------------------------------------------------

OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def serialize(optimizer):
    """``{"class_name": ..., "config": ...}`` of an optimizer."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"`optimizer` must be an Optimizer, got {optimizer!r}")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """The optimizer a :func:`serialize` dict describes (the class name in any case)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"an optimizer config must be a dict with a `class_name`, "
                         f"got {config!r}")
    return _class(config["class_name"]).from_config(dict(config.get("config", {})))


def _class(name):
    key = name.lower() if isinstance(name, str) else None
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of "
                         f"{sorted(OPTIMIZERS)} (in any case)")
    return OPTIMIZERS[key]


def get(identifier):
    """An optimizer from a name (``"adam"``, ``"SGD"``, ... in any case, with its
    defaults), a :func:`serialize` dict, or an instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return _class(identifier)()
    raise ValueError(f"could not interpret optimizer identifier {identifier!r}: expected "
                     f"one of {sorted(OPTIMIZERS)}, a config dict or an Optimizer")
