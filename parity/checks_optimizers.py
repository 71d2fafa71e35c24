"""Parity checks of the optimizers and learning-rate schedules against Keras 3.

``opt-<optimizer>-<option>-<f64|f32>``: the same four variables (shapes (3, 4), (5,),
(2, 2, 3) and ()) start from the same random values on both sides; five steps apply the
same random gradients, scaled per step by :data:`STEP_SCALES` so that a clip threshold
bites at some steps and not at others.  Keras's side is
``optimizer.apply_gradients(zip(grads, tf_variables))``.  After every step each variable
is compared (group ``step<k>``); after the last, the optimizer's slots in Keras's
``optimizer.variables`` order (group ``slots``); ``iterations``, the learning rate and
the config must be equal, and ``from_config`` must accept Keras's config.  The learning
rates (0.05, 0.01, ...) are not float32 numbers, so the float64 checks also see that the
rate is held in float32 as Keras holds it.

``schedule-<name>-f32``: the schedule's values at steps 0..20 (and a few beyond the
decay), which Keras computes in float32, must be equal to the bit (tolerance 0).
"""

import numpy as np

from parity.components import Check, dtype_suffix
from parity.harness import keras, tf
from scratchrnn import optimizers, schedules

SHAPES = ((3, 4), (5,), (2, 2, 3), ())
STEPS = 5
STEP_SCALES = (1.0, 0.05, 3.0, 0.3, 1.5)
SCHEDULE_STEPS = tuple(range(21)) + (25, 40, 99, 100, 101, 1000)

#: name -> keyword arguments of a schedule (the same on both sides).
SCHEDULES = {
    "exponential": ("ExponentialDecay",
                    dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.96)),
    "exponential-staircase": ("ExponentialDecay",
                              dict(initial_learning_rate=0.05, decay_steps=4,
                                   decay_rate=0.5, staircase=True)),
    "inverse-time": ("InverseTimeDecay",
                     dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.3)),
    "inverse-time-staircase": ("InverseTimeDecay",
                               dict(initial_learning_rate=0.1, decay_steps=2,
                                    decay_rate=0.7, staircase=True)),
    "piecewise": ("PiecewiseConstantDecay",
                  dict(boundaries=[2, 5, 11], values=[0.1, 0.05, 0.01, 0.003])),
    "cosine": ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=13)),
    "cosine-alpha": ("CosineDecay",
                     dict(initial_learning_rate=0.07, decay_steps=100, alpha=0.1)),
    "cosine-warmup": ("CosineDecay",
                      dict(initial_learning_rate=0.01, decay_steps=9, alpha=0.05,
                           warmup_target=0.1, warmup_steps=2)),
}

#: (optimizer, option) -> constructor arguments; ``schedule`` names a SCHEDULES entry
#: used as the learning rate, ``halve_lr_at`` a step after which both sides halve the
#: learning rate as ReduceLROnPlateau does.
OPTIONS = {
    ("SGD", "plain"): dict(learning_rate=0.05),
    ("SGD", "momentum"): dict(learning_rate=0.05, momentum=0.9),
    ("SGD", "nesterov"): dict(learning_rate=0.05, momentum=0.8, nesterov=True),
    ("SGD", "clipnorm"): dict(learning_rate=0.05, momentum=0.5, clipnorm=1.0),
    ("SGD", "clipvalue"): dict(learning_rate=0.05, clipvalue=0.7),
    ("SGD", "global_clipnorm"): dict(learning_rate=0.05, global_clipnorm=2.0),
    ("SGD", "schedule"): dict(momentum=0.9, schedule="exponential"),
    ("SGD", "lr-change"): dict(learning_rate=0.05, momentum=0.9, halve_lr_at=2),
    ("Adam", "plain"): dict(learning_rate=0.01),
    ("Adam", "betas"): dict(learning_rate=0.03, beta_1=0.8, beta_2=0.95, epsilon=1e-3),
    ("Adam", "amsgrad"): dict(learning_rate=0.01, amsgrad=True),
    ("Adam", "clipnorm"): dict(learning_rate=0.01, clipnorm=1.0),
    ("Adam", "clipvalue"): dict(learning_rate=0.01, clipvalue=0.7),
    ("Adam", "global_clipnorm"): dict(learning_rate=0.01, amsgrad=True, global_clipnorm=2.0),
    ("Adam", "schedule"): dict(schedule="cosine-warmup"),
    ("RMSprop", "plain"): dict(learning_rate=0.01),
    ("RMSprop", "momentum"): dict(learning_rate=0.01, rho=0.8, momentum=0.9),
    ("RMSprop", "centered"): dict(learning_rate=0.01, centered=True),
    ("RMSprop", "centered-momentum"): dict(learning_rate=0.01, momentum=0.5, centered=True,
                                           epsilon=1e-4),
    ("RMSprop", "clipnorm"): dict(learning_rate=0.01, clipnorm=1.0),
    ("RMSprop", "clipvalue"): dict(learning_rate=0.01, clipvalue=0.7),
    ("RMSprop", "global_clipnorm"): dict(learning_rate=0.01, centered=True,
                                         global_clipnorm=2.0),
    ("RMSprop", "schedule"): dict(momentum=0.9, schedule="piecewise"),
}


def make_schedule(module, key):
    class_name, kwargs = SCHEDULES[key]
    return getattr(module, class_name)(**kwargs)


def run_optimizer(cmp, optimizer, option, dtype, seed):
    kwargs = dict(OPTIONS[optimizer, option])
    halve_lr_at = kwargs.pop("halve_lr_at", None)
    schedule = kwargs.pop("schedule", None)
    ours_kwargs, keras_kwargs = dict(kwargs), dict(kwargs)
    if schedule:
        ours_kwargs["learning_rate"] = make_schedule(schedules, schedule)
        keras_kwargs["learning_rate"] = make_schedule(keras.optimizers.schedules, schedule)
    ours = getattr(optimizers, optimizer)(**ours_kwargs)
    theirs = getattr(keras.optimizers, optimizer)(**keras_kwargs)

    rng = np.random.default_rng(seed)
    start = [rng.normal(size=shape).astype(dtype) for shape in SHAPES]
    our_vars = [w.copy() for w in start]
    keras_vars = [tf.Variable(w) for w in start]
    for step in range(STEPS):
        grads = [(rng.normal(size=shape) * STEP_SCALES[step]).astype(dtype)
                 for shape in SHAPES]
        ours.apply_gradients(zip(grads, our_vars))
        theirs.apply_gradients(zip([tf.constant(g) for g in grads], keras_vars))
        cmp.add(f"step{step + 1}", our_vars, [v.numpy() for v in keras_vars])
        if step + 1 == halve_lr_at:
            ours.learning_rate = ours.learning_rate * 0.5
            theirs.learning_rate = float(theirs.learning_rate.numpy()) * 0.5

    keras_state = [np.asarray(v.numpy()) for v in theirs.variables]
    our_state = ours.variables()
    if int(keras_state[0]) != ours.iterations:
        cmp.problem(f"iterations {ours.iterations}, Keras {int(keras_state[0])}")
    n_scalars = 1 if schedule else 2
    if not schedule and float(keras_state[1]) != ours.learning_rate:
        cmp.problem(f"learning_rate {ours.learning_rate!r}, Keras {float(keras_state[1])!r}")
    cmp.add("slots", our_state[n_scalars:], keras_state[n_scalars:])
    compare_configs(cmp, ours, theirs)


def compare_configs(cmp, ours, theirs):
    """Our config must hold Keras's values (names aside), and ``from_config`` must accept
    Keras's config and rebuild the same optimizer."""
    keras_config = theirs.get_config()
    for key, value in ours.get_config().items():
        expected = keras_config[key]
        if key == "learning_rate" and isinstance(value, dict):
            value, expected = value["config"], expected["config"]
        if key != "name" and value != expected:
            cmp.problem(f"config[{key!r}] = {value!r}, Keras {expected!r}")
    rebuilt = type(ours).from_config(keras_config).get_config()
    if {**rebuilt, "name": ours.name} != ours.get_config():
        cmp.problem(f"from_config(Keras's config) gave {rebuilt}, not {ours.get_config()}")


def run_schedule(cmp, key):
    ours = make_schedule(schedules, key)
    theirs = make_schedule(keras.optimizers.schedules, key)
    our_values = np.array([ours(s) for s in SCHEDULE_STEPS], dtype=np.float32)
    keras_values = np.array([theirs(tf.constant(s, tf.int64)).numpy()
                             for s in SCHEDULE_STEPS], dtype=np.float32)
    cmp.add("values", our_values, keras_values)
    if ours.get_config() != theirs.get_config():
        cmp.problem(f"config {ours.get_config()}, Keras {theirs.get_config()}")


def _optimizer_check(optimizer, option, dtype, seed):
    name = f"opt-{optimizer.lower()}-{option}-{dtype_suffix(dtype)}"
    described = ", ".join(f"{k}={v}" for k, v in OPTIONS[optimizer, option].items())
    return Check(name, "optimizer", dtype,
                 lambda cmp: run_optimizer(cmp, optimizer, option, dtype, seed),
                 options=f"{optimizer}({described}) {STEPS} steps")


def _schedule_check(key):
    class_name, kwargs = SCHEDULES[key]
    described = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return Check(f"schedule-{key}-f32", "optimizer", "float32",
                 lambda cmp: run_schedule(cmp, key),
                 options=f"{class_name}({described}) exact: both compute in float32",
                 tolerance=0.0)


CHECKS = [
    _optimizer_check(optimizer, option, dtype, seed)
    for seed, (optimizer, option) in enumerate(OPTIONS)
    for dtype in ("float64", "float32")
] + [_schedule_check(key) for key in SCHEDULES]


# --- gradients given by rows (an Embedding's IndexedSlices) --------------------------------

ROW_STEPS = ((1, 1, 3, 0), (2, 2, 2, 4), (1, 0, 3, 1))
ROW_CLIPS = {"noclip": {}, "clipnorm": {"clipnorm": 0.5},
             "global_clipnorm": {"global_clipnorm": 0.5}, "clipvalue": {"clipvalue": 0.3}}
ROW_OPTIMIZERS = {"sgd": ("SGD", {"momentum": 0.9}), "adam": ("Adam", {}),
                  "rmsprop": ("RMSprop", {"centered": True, "momentum": 0.5})}


def run_rows(cmp, optimizer, clip, dtype, seed):
    """Three steps whose gradients are rows with repeated indices: every clip option and
    the second moments must treat the rows as TensorFlow's IndexedSlices do."""
    rng = np.random.default_rng(seed)
    class_name, extra = ROW_OPTIMIZERS[optimizer]
    start = rng.normal(size=(5, 2)).astype(dtype)
    theirs = keras.Variable(start.copy(), dtype=dtype)
    ours = start.copy()
    keras_opt = getattr(keras.optimizers, class_name)(learning_rate=0.1, **extra,
                                                      **ROW_CLIPS[clip])
    our_opt = getattr(optimizers, class_name)(learning_rate=0.1, **extra, **ROW_CLIPS[clip])
    for indices in ROW_STEPS:
        indices = np.array(indices)
        values = rng.normal(size=(len(indices), 2)).astype(dtype)
        keras_opt.apply_gradients([(tf.IndexedSlices(tf.constant(values), tf.constant(indices),
                                                     tf.constant([5, 2])), theirs)])
        our_opt.apply([optimizers.IndexedSlices(indices, values, (5, 2))], [ours])
        cmp.add("variables", ours, theirs.numpy())


CHECKS += [
    Check(f"opt-rows-{optimizer}-{clip}-{dtype_suffix(dtype)}", "optimizer", dtype,
          lambda cmp, o=optimizer, c=clip, d=dtype, s=seed: run_rows(cmp, o, c, d, s),
          options=f"{ROW_OPTIMIZERS[optimizer][0]} {clip}, repeated rows (IndexedSlices)")
    for seed, (optimizer, clip) in enumerate(
        (o, c) for o in ROW_OPTIMIZERS for c in ROW_CLIPS)
    for dtype in ("float64", "float32")
]
