"""Learning-rate schedules: the learning rate as a function of the optimizer's step.

A schedule is given to an optimizer as its ``learning_rate``; before each update the
optimizer evaluates ``schedule(iterations)`` with ``iterations`` the number of updates
already applied, so the k-th update (k = 1, 2, ...) uses ``schedule(k - 1)``: the first
one runs at step 0 with the initial learning rate, as in Keras.

Keras evaluates its schedules in float32 (the dtype of ``initial_learning_rate`` once it
is a tensor), and so do these, to the bit: every operation below rounds to float32
where Keras's does, Python-float constants such as ``1 - alpha`` are formed in double
precision and rounded once (as TensorFlow converts a Python scalar), ``pow`` and ``cos``
are the C library's ``powf`` and ``cosf`` (which TensorFlow's scalar kernels call), and a
denormal value is flushed to zero (TensorFlow runs its kernels flushing denormals).
The value is returned as a Python float holding that float32 number; an optimizer casts
it to each variable's dtype (exactly).  With step ``s``, ``d = decay_steps``::

    ExponentialDecay     lr0 * rate ** (s / d)            (s / d floored if staircase)
    InverseTimeDecay     lr0 / (1 + rate * (s / d))       (s / d floored if staircase)
    PiecewiseConstant    values[i],  i = #{boundaries b : s > b}
    CosineDecay          lr0 * ((1 - alpha) * (1 + cos(pi * min(s, d) / d)) / 2 + alpha)

``CosineDecay`` with a ``warmup_target`` first rises linearly from ``lr0`` to the target
over ``warmup_steps`` and then decays from the target over the next ``decay_steps``.
"""

import abc
import ctypes
import ctypes.util
import math
import numbers

import numpy as np

from . import _checks

# --- float32 arithmetic as TensorFlow's scalar kernels compute it ---------------------------


def _c_math_library():
    """The C math library, whose ``pow``/``powf``/``cosf`` TensorFlow's scalar Pow and Cos
    kernels call; None where it cannot be found (then float64 results rounded to float32
    are used, which differ from ``cosf`` in the last bit for about 1 argument in 100 and
    from ``powf`` for about 1 in 1000)."""
    path = ctypes.util.find_library("m") or ctypes.util.find_library("c")
    if path is None:
        return None
    try:
        library = ctypes.CDLL(path)
        library.powf.argtypes = [ctypes.c_float, ctypes.c_float]
        library.powf.restype = ctypes.c_float
        library.cosf.argtypes = [ctypes.c_float]
        library.cosf.restype = ctypes.c_float
    except (OSError, AttributeError):
        return None
    return library


_LIBM = _c_math_library()


def _flush_denormal(value):
    """TensorFlow runs its kernels with denormals flushed to zero."""
    return value.dtype.type(0) if abs(value) < np.finfo(value.dtype).tiny else value


def _rate(value):
    """A float32 schedule value as the Python float a schedule returns (a denormal
    flushed to zero, as TensorFlow's kernels flush it)."""
    return float(_flush_denormal(np.float32(value)))


def power(base, exponent):
    """``base ** exponent`` in the dtype of the NumPy scalar ``base`` (float32 or float64),
    rounded as TensorFlow's ``Pow`` of two scalars: the C library's ``powf``/``pow``
    (neither is always correctly rounded, so float64-then-round would differ in the last
    bit now and then), with a denormal result flushed to zero."""
    dtype = base.dtype.type
    if dtype is np.float32 and _LIBM is not None:
        result = np.float32(_LIBM.powf(float(base), float(np.float32(exponent))))
    else:  # math.pow is the C library's pow (np.power is NumPy's own, vectorised one)
        try:
            result = dtype(math.pow(float(base), float(exponent)))
        except OverflowError:  # TensorFlow gives inf
            result = dtype(np.inf)
    return _flush_denormal(result)


def _cos32(x):
    """``cos`` of a float32 scalar as TensorFlow computes it: the C library's ``cosf``."""
    if _LIBM is not None:
        return np.float32(_LIBM.cosf(float(x)))
    return np.float32(math.cos(float(x)))


# --- argument checks ----------------------------------------------------------------------


_FLOAT32 = np.finfo(np.float32)


def fits_float32(value, argument):
    """Refuse a (finite) ``value`` that float32, the dtype a learning rate is held and
    computed in, cannot hold: above its largest number it would become inf, and a
    positive one below its smallest normal number would become 0 or a denormal, which
    TensorFlow's kernels flush to 0 (so a rate of 1e-50 would silently be 0)."""
    if abs(value) > float(_FLOAT32.max):
        raise ValueError(f"`{argument}` must be at most {float(_FLOAT32.max):.7g} (float32's "
                         f"largest number), got {value}: it would overflow to inf")
    if value != 0 and abs(value) < float(_FLOAT32.tiny):
        raise ValueError(f"`{argument}` must be 0 or at least {float(_FLOAT32.tiny):.7g} "
                         f"(float32's smallest normal number), got {value}: it would "
                         "underflow to 0")
    return value


def _real(value, argument, minimum=None, above=None, maximum=None, float32=True):
    """``value`` as a float, refusing non-numbers and values outside the given range,
    and (``float32``) values that float32, the schedules' dtype, cannot hold."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{argument}` must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{argument}` must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{argument}` must be >= {minimum}, got {value}")
    if above is not None and value <= above:
        raise ValueError(f"`{argument}` must be > {above}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{argument}` must be <= {maximum}, got {value}")
    return fits_float32(value, argument) if float32 else value


def _step(step):
    """The step a schedule is evaluated at: a non-negative integer (an update count)."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"`step` must be a non-negative integer, got {step!r}")
    if step < 0:
        raise ValueError(f"`step` must be a non-negative integer, got {step}")
    return int(step)


# --- schedules ----------------------------------------------------------------------------


class LearningRateSchedule(abc.ABC):
    """Base class: ``schedule(step) -> float`` and ``get_config()``; ``from_config``
    rebuilds a schedule from its config."""

    @abc.abstractmethod
    def __call__(self, step):
        """The learning rate for the update after ``step`` updates, a float."""

    @abc.abstractmethod
    def get_config(self):
        """The constructor arguments."""

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class _StepDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: ``p = step / decay_steps`` in
    float32, floored when ``staircase``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate",
                                           minimum=0.0)
        self.decay_steps = _real(decay_steps, "decay_steps", above=0.0)
        self.decay_rate = _real(decay_rate, "decay_rate", minimum=0.0)
        self.staircase = _checks.boolean(staircase, "staircase")
        self.name = name

    def _progress(self, step):
        p = np.float32(_step(step)) / np.float32(self.decay_steps)
        return np.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    """``lr(s) = initial_learning_rate * decay_rate ** (s / decay_steps)``, the exponent
    floored to an integer when ``staircase`` (the rate then drops every ``decay_steps``).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        p = self._progress(step)
        decayed = power(np.float32(self.decay_rate), p)
        return _rate(np.float32(self.initial_learning_rate) * decayed)


class InverseTimeDecay(_StepDecay):
    """``lr(s) = initial_learning_rate / (1 + decay_rate * s / decay_steps)``, with
    ``s / decay_steps`` floored when ``staircase``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        p = self._progress(step)
        denominator = np.float32(1) + np.float32(self.decay_rate) * p
        return _rate(np.float32(self.initial_learning_rate) / denominator)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Keras casts the boundaries to the step's integer dtype, so a fractional boundary acts
    as its integer part (toward zero); the values are float32.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"`boundaries` must have one element less than `values`, got "
                f"{len(boundaries)} boundaries and {len(values)} values")
        for i, b in enumerate(boundaries):
            _real(b, f"boundaries[{i}]", float32=False)
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"`boundaries` must be strictly increasing, got {boundaries}")
        for i, v in enumerate(values):
            _real(v, f"values[{i}]", minimum=0.0)
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = _step(step)
        index = sum(step > math.trunc(b) for b in self.boundaries)
        return _rate(self.values[index])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter, SGDR), with an optional linear warmup.

    Without warmup (``warmup_target=None``), with ``d = decay_steps`` and
    ``s' = min(s, d)``::

        decayed(s') = (1 - alpha) * 0.5 * (1 + cos(pi * s' / d)) + alpha
        lr(s)       = initial_learning_rate * decayed(s')

    With ``warmup_target``, ``w = warmup_steps`` and ``s' = min(s, w + d)``::

        lr(s) = initial_learning_rate + (warmup_target - initial_learning_rate) * s' / w
                                                                   if s' < w
        lr(s) = warmup_target * decayed(s' - w)                    otherwise
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate",
                                           minimum=0.0)
        self.decay_steps = _real(decay_steps, "decay_steps", above=0.0)
        self.alpha = _real(alpha, "alpha", minimum=0.0, maximum=1.0)
        self.name = name
        if warmup_target is not None:
            warmup_target = _real(warmup_target, "warmup_target", minimum=0.0)
        self.warmup_target = warmup_target
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Integral) \
                or warmup_steps < 0:
            raise ValueError(f"`warmup_steps` must be a non-negative integer, "
                             f"got {warmup_steps!r}")
        self.warmup_steps = int(warmup_steps)

    def _decayed(self, step, decay_steps, decay_from):
        """``decay_from * decayed(step)``, in float32 as Keras's ``_decay_function``."""
        completed_fraction = step / decay_steps
        cosine_decayed = np.float32(0.5) * (
            np.float32(1) + _cos32(np.float32(math.pi) * completed_fraction))
        decayed = np.float32(1 - self.alpha) * cosine_decayed + np.float32(self.alpha)
        return decay_from * decayed

    def __call__(self, step):
        s = np.float32(_step(step))
        initial = np.float32(self.initial_learning_rate)
        decay_steps = np.float32(self.decay_steps)
        if self.warmup_target is None:
            return _rate(self._decayed(min(s, decay_steps), decay_steps, initial))
        target = np.float32(self.warmup_target)
        warmup_steps = np.float32(self.warmup_steps)
        s = min(s, decay_steps + warmup_steps)
        if s < warmup_steps:
            return _rate((target - initial) * (s / warmup_steps) + initial)
        return _rate(self._decayed(s - warmup_steps, decay_steps, target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


SCHEDULES = {cls.__name__: cls for cls in
             (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, CosineDecay)}


def serialize(schedule):
    """``{"class_name": ..., "config": ...}`` of a schedule (Keras's layout, less its
    ``module`` and ``registered_name``)."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"`schedule` must be a LearningRateSchedule, got {schedule!r}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    """The schedule a :func:`serialize` dict (or Keras's, extra keys ignored) describes."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"a schedule config must be a dict with a `class_name`, "
                         f"got {config!r}")
    name = config["class_name"]
    if name not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {name!r}; "
                         f"expected one of {sorted(SCHEDULES)}")
    return SCHEDULES[name].from_config(dict(config.get("config", {})))
