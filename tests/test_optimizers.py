"""The optimizers and learning-rate schedules: each update rule against its equations
written out by hand, clipping, schedules' values, in-place updates, state round trips,
the float32 facts of Keras (learning rate, cast hyperparameters) and bad arguments.

The hand-written references run in float64 with hyperparameters that are float32
numbers (0.125, 0.875, ...), so that Keras's float32 learning-rate variable and its
float32 casts change nothing and only the order of roundings differs (rtol 1e-13).
"""

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn import optimizers, schedules
from scratchrnn.optimizers import SGD, Adam, RMSprop

from .cells import examples

SHAPES = ((3, 2), (4,), ())
RTOL = 1e-13


def says(*parts):
    """A regex matching the message parts in order, each taken literally."""
    return ".*".join(re.escape(p) for p in parts)


def random_problem(seed=0, shapes=SHAPES, steps=4, dtype=np.float64):
    """Starting variables and ``steps`` lists of gradients."""
    rng = np.random.default_rng(seed)
    start = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(steps)]
    return start, grads


def run(optimizer, start, grads):
    """Copies of ``start`` after applying every list of ``grads``, one step each."""
    variables = [w.copy() for w in start]
    for step_grads in grads:
        optimizer.apply_gradients(zip(step_grads, variables))
    return variables


# --- the update rules, written out by hand --------------------------------------------------


def reference_sgd(start, grads, lr, momentum=0.0, nesterov=False):
    w = [x.copy() for x in start]
    velocity = [np.zeros_like(x) for x in start]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if momentum == 0:
                w[i] = w[i] - lr * g
                continue
            velocity[i] = momentum * velocity[i] - lr * g
            w[i] = w[i] + (momentum * velocity[i] - lr * g if nesterov else velocity[i])
    return w


def reference_adam(start, grads, lr, beta_1, beta_2, epsilon, amsgrad=False):
    """Kingma & Ba's Algorithm 1 with the bias corrections folded into the step size
    and epsilon added to sqrt(v) ("epsilon hat"), as Keras does."""
    w = [x.copy() for x in start]
    m = [np.zeros_like(x) for x in start]
    v = [np.zeros_like(x) for x in start]
    v_max = [np.zeros_like(x) for x in start]
    for t, step_grads in enumerate(grads, start=1):
        step_size = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        for i, g in enumerate(step_grads):
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            v[i] = beta_2 * v[i] + (1 - beta_2) * g**2
            v_max[i] = np.maximum(v_max[i], v[i])
            second = v_max[i] if amsgrad else v[i]
            w[i] = w[i] - step_size * m[i] / (np.sqrt(second) + epsilon)
    return w


def reference_rmsprop(start, grads, lr, rho, epsilon, momentum=0.0, centered=False):
    w = [x.copy() for x in start]
    ms = [np.zeros_like(x) for x in start]
    mg = [np.zeros_like(x) for x in start]
    mom = [np.zeros_like(x) for x in start]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            ms[i] = rho * ms[i] + (1 - rho) * g**2
            mg[i] = rho * mg[i] + (1 - rho) * g
            variance = ms[i] - mg[i] ** 2 if centered else ms[i]
            increment = lr * g / np.sqrt(variance + epsilon)
            mom[i] = momentum * mom[i] + increment
            w[i] = w[i] - (mom[i] if momentum > 0 else increment)
    return w


def assert_all_close(actual, expected, rtol=RTOL):
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.75, False), (0.75, True),
                                                (1.0, False)])
def test_sgd_matches_its_equations(momentum, nesterov):
    start, grads = random_problem()
    ours = run(SGD(0.125, momentum=momentum, nesterov=nesterov), start, grads)
    assert_all_close(ours, reference_sgd(start, grads, 0.125, momentum, nesterov))


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("epsilon", [1e-7, 0.5])
def test_adam_matches_its_equations(amsgrad, epsilon):
    start, grads = random_problem(steps=6)
    # shrink the gradients at the end so that AMSGrad's running max differs from v
    grads[-2:] = [[0.01 * g for g in gs] for gs in grads[-2:]]
    opt = Adam(0.25, beta_1=0.875, beta_2=0.9921875, epsilon=epsilon, amsgrad=amsgrad)
    ours = run(opt, start, grads)
    expected = reference_adam(start, grads, 0.25, 0.875, 0.9921875, epsilon, amsgrad)
    assert_all_close(ours, expected)


def test_adam_epsilon_is_added_to_the_uncorrected_root():
    """A large epsilon tells the two placements apart: ``eps`` added to ``sqrt(v)``
    (Keras) and not to ``sqrt(v / (1 - beta_2**t))`` (the paper's Algorithm 1)."""
    start, grads = [np.zeros(1)], [[np.array([1.0])]]
    lr, b1, b2, eps = 0.5, 0.875, 0.9921875, 1.0
    ours = run(Adam(lr, beta_1=b1, beta_2=b2, epsilon=eps), start, grads)[0]
    m, v = (1 - b1) * 1.0, (1 - b2) * 1.0
    keras_step = lr * math.sqrt(1 - b2) / (1 - b1) * m / (math.sqrt(v) + eps)
    paper_step = lr * (m / (1 - b1)) / (math.sqrt(v / (1 - b2)) + eps)
    np.testing.assert_allclose(ours, [-keras_step], rtol=RTOL)
    assert abs(keras_step - paper_step) > 0.1


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.75])
def test_rmsprop_matches_its_equations(centered, momentum):
    start, grads = random_problem(steps=5)
    opt = RMSprop(0.125, rho=0.875, momentum=momentum, epsilon=1e-3, centered=centered)
    ours = run(opt, start, grads)
    expected = reference_rmsprop(start, grads, 0.125, 0.875, 1e-3, momentum, centered)
    assert_all_close(ours, expected)


def test_sgd_first_steps_by_hand():
    """Three steps of SGD with momentum on one number, worked out on paper."""
    w = np.array([1.0])
    opt = SGD(0.5, momentum=0.5)
    for g, expected in [(2.0, 0.0), (2.0, -1.5), (0.0, -2.25)]:
        # m: -1 -> -1.5 -> -0.75;  w: 1 - 1 = 0 -> 0 - 1.5 -> -1.5 - 0.75
        opt.apply([np.array([g])], [w])
        assert w[0] == expected


# --- float32 facts of Keras -------------------------------------------------------------


def test_learning_rate_is_held_in_float32_like_keras():
    """Keras's learning rate is a float32 variable: float64 weights step with
    float32(0.01), and that is what the optimizer reports."""
    w = np.ones(3)
    g = np.array([1.0, 2.0, -3.0])
    opt = SGD(0.01)
    opt.apply([g], [w])
    np.testing.assert_array_equal(w, 1.0 - g * np.float64(np.float32(0.01)))
    assert opt.learning_rate == 0.009999999776482582
    assert opt.get_config()["learning_rate"] == 0.009999999776482582


def test_sgd_momentum_is_cast_through_float32():
    """Keras's ``ops.cast(0.9, "float64")`` goes through a float32 tensor."""
    w, m = np.zeros(1), np.zeros(1)
    opt = SGD(0.5, momentum=0.9)
    for g in (1.0, 1.0):
        m = m * np.float64(np.float32(0.9)) - 0.5 * g
        opt.apply([np.array([g])], [w])
    np.testing.assert_array_equal(w, -0.5 + m)
    assert optimizers.keras_cast(0.9, np.float64) == 0.8999999761581421


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9, nesterov=True),
                                  lambda: Adam(0.01, amsgrad=True),
                                  lambda: RMSprop(0.01, momentum=0.5, centered=True)])
def test_float32_variables_stay_float32_and_agree_with_float64(make):
    start, grads = random_problem(dtype=np.float32)
    ours32 = run(make(), start, grads)
    ours64 = run(make(), [w.astype(np.float64) for w in start],
                 [[g.astype(np.float64) for g in gs] for gs in grads])
    for a, b in zip(ours32, ours64):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    opt = make()
    run(opt, start, grads)
    assert all(s.dtype == np.float32 for s in opt.variables()[2:])


# --- clipping -------------------------------------------------------------------------------


def clipped(opt_kwargs, grads):
    """The gradients as clipped by an SGD step (lr 1, variables at 0: w = -g exactly)."""
    variables = [np.zeros_like(g) for g in grads]
    SGD(1.0, **opt_kwargs).apply([g.copy() for g in grads], variables)
    return [-w for w in variables]


def test_clipnorm_clips_each_gradient_by_its_own_norm():
    long, short = np.array([3.0, 4.0]), np.array([0.3, -0.4, 0.0])  # norms 5 and 0.5
    out_long, out_short = clipped({"clipnorm": 2.0}, [long, short])
    np.testing.assert_allclose(out_long, long * 2.0 / 5.0, rtol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(out_long), 2.0, rtol=1e-15)
    np.testing.assert_allclose(out_short, short, rtol=1e-15)  # g * c / c


def test_global_clipnorm_clips_all_gradients_by_their_joint_norm():
    a, b = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])  # joint norm 5
    out_a, out_b = clipped({"global_clipnorm": 1.0}, [a, b])
    np.testing.assert_allclose(out_a, a / 5.0, rtol=1e-15)
    np.testing.assert_allclose(out_b, b / 5.0, rtol=1e-15)
    joint = math.sqrt(np.sum(out_a**2) + np.sum(out_b**2))
    np.testing.assert_allclose(joint, 1.0, rtol=1e-15)
    small = clipped({"global_clipnorm": 10.0}, [a, b])  # under the threshold: unchanged
    np.testing.assert_allclose(small[0], a, rtol=1e-15)
    np.testing.assert_allclose(small[1], b, rtol=1e-15)


def test_clipvalue_clips_elementwise():
    g = np.array([-3.0, -0.25, 0.0, 0.5, 7.0])
    np.testing.assert_array_equal(clipped({"clipvalue": 0.5}, [g])[0],
                                  [-0.5, -0.25, 0.0, 0.5, 0.5])


@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
       scale=st.floats(1e-3, 1e3), clipnorm=st.floats(0.1, 10.0), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=examples(30))
def test_clip_by_norm_property(shape, scale, clipnorm, seed):
    g = np.random.default_rng(seed).normal(size=shape) * scale
    out = optimizers.clip_by_norm(g, clipnorm)
    norm = np.linalg.norm(g)
    assert np.linalg.norm(out) <= max(min(norm, clipnorm) * (1 + 1e-12), 1e-300)
    np.testing.assert_allclose(out, g * min(1.0, clipnorm / norm) if norm else g, rtol=1e-12)


def test_nan_and_inf_gradients_flow_through_as_in_keras():
    """No refusal: NaN flows into the variables; ``clipnorm`` spreads a NaN over its
    whole gradient (and an inf gives NaN there, 0 elsewhere); ``global_clipnorm``
    spreads it over every gradient.  (Checked against Keras 3.15.)"""
    nan_g, inf_g, fine_g = (np.array([1.0, np.nan]), np.array([np.inf, 2.0]),
                            np.array([1.0, 2.0]))
    plain = clipped({}, [nan_g, inf_g, fine_g])
    np.testing.assert_array_equal(plain[0], nan_g)
    np.testing.assert_array_equal(plain[1], inf_g)
    by_norm = clipped({"clipnorm": 1.0}, [nan_g, inf_g, fine_g])
    assert np.isnan(by_norm[0]).all()
    np.testing.assert_array_equal(by_norm[1], [np.nan, 0.0])
    np.testing.assert_allclose(by_norm[2], fine_g / math.sqrt(5))
    by_global = clipped({"global_clipnorm": 1.0}, [fine_g, inf_g])
    assert all(np.isnan(g).all() for g in by_global)
    by_value = clipped({"clipvalue": 1.0}, [nan_g, inf_g])
    np.testing.assert_array_equal(by_value[0], [1.0, np.nan])
    np.testing.assert_array_equal(by_value[1], [1.0, 1.0])
    w = np.zeros(2)
    Adam().apply([nan_g], [w])
    assert w[0] != 0 and np.isnan(w[1])


def test_two_clip_options_are_refused():
    with pytest.raises(ValueError, match=says("only one of", "clipnorm, global_clipnorm")):
        SGD(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match=says("clipnorm, clipvalue")):
        Adam(clipnorm=1.0, clipvalue=0.5)


# --- schedules --------------------------------------------------------------------------


def f32(x):
    return float(np.float32(x))


def test_exponential_decay_values():
    s = schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    for step in (0, 1, 4, 6, 20):
        assert s(step) == pytest.approx(0.1 * 0.5 ** (step / 4), rel=1e-6)
    stairs = schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=True)
    assert [stairs(k) for k in (0, 3, 4, 7, 8)] == [f32(0.1), f32(0.1), f32(0.05), f32(0.05),
                                                    f32(0.025)]


def test_inverse_time_decay_values():
    s = schedules.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5)
    for step in (0, 1, 2, 9):
        assert s(step) == pytest.approx(0.1 / (1 + 0.5 * step / 2), rel=1e-6)
    stairs = schedules.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)
    assert stairs(3) == stairs(2) == f32(0.1 / 1.5)


def test_piecewise_constant_decay_values():
    """A step equal to a boundary still gets the value before it (``step <= b``)."""
    s = schedules.PiecewiseConstantDecay([2, 5], [0.5, 0.25, 0.125])
    assert [s(k) for k in range(8)] == [0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125]


def test_cosine_decay_values():
    s = schedules.CosineDecay(0.1, decay_steps=10, alpha=0.2)
    for step in (0, 3, 5, 10):
        expected = 0.1 * (0.8 * 0.5 * (1 + math.cos(math.pi * step / 10)) + 0.2)
        assert s(step) == pytest.approx(expected, rel=1e-6)
    assert s(10) == s(50) == pytest.approx(0.1 * 0.2, rel=1e-6)  # held after decay_steps


def test_cosine_decay_warmup_values():
    s = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=0.1, warmup_steps=4)
    assert [s(k) for k in range(5)] == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1],
                                                     rel=1e-6)
    assert s(9) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 5 / 10)), rel=1e-6)
    assert s(14) == s(100) == pytest.approx(0.0, abs=1e-9)


def test_schedules_compute_in_float32():
    s = schedules.InverseTimeDecay(0.1, decay_steps=3, decay_rate=0.7)
    p = np.float32(5) / np.float32(3)
    assert s(5) == float(np.float32(0.1) / (np.float32(1) + np.float32(0.7) * p))


def test_a_denormal_rate_is_flushed_to_zero_as_in_tensorflow():
    s = schedules.ExponentialDecay(1e-30, decay_steps=1, decay_rate=1e-5)
    assert s(1) == f32(f32(1e-30) * f32(1e-5)) > 0
    assert s(2) == 0.0  # 1e-40 is a float32 denormal


def test_the_kth_update_uses_the_schedule_at_step_k_minus_1():
    """Keras evaluates the schedule at ``iterations`` before counting the step."""
    opt = SGD(schedules.PiecewiseConstantDecay([0, 1], [1.0, 0.5, 0.25]))
    w = np.zeros(1)
    assert opt.current_learning_rate == 1.0
    for expected in (-1.0, -1.5, -1.75):
        opt.apply([np.ones(1)], [w])
        assert w[0] == expected
    assert opt.iterations == 3 and opt.current_learning_rate == 0.25


def test_schedule_config_round_trip():
    for s in (schedules.ExponentialDecay(0.1, 3, 0.9, staircase=True),
              schedules.InverseTimeDecay(0.1, 3, 0.9),
              schedules.PiecewiseConstantDecay([3, 8], [0.1, 0.01, 0.001]),
              schedules.CosineDecay(0.1, 30, alpha=0.1, warmup_target=0.2, warmup_steps=5)):
        again = schedules.deserialize(schedules.serialize(s))
        assert type(again) is type(s) and again.get_config() == s.get_config()
        assert [again(k) for k in range(40)] == [s(k) for k in range(40)]


@pytest.mark.parametrize("make, message", [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), ("`decay_steps`", "> 0", "got 0")),
    (lambda: schedules.InverseTimeDecay(-0.1, 2, 0.5),
     ("`initial_learning_rate`", ">= 0", "-0.1")),
    (lambda: schedules.ExponentialDecay(0.1, 2, "fast"), ("`decay_rate`", "real", "'fast'")),
    (lambda: schedules.ExponentialDecay(0.1, 2, 0.5, staircase=1), ("`staircase`", "True")),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2]),
     ("`boundaries`", "one element less", "2 boundaries and 2 values")),
    (lambda: schedules.PiecewiseConstantDecay([5, 2], [0.1, 0.2, 0.3]),
     ("`boundaries`", "strictly increasing", "[5, 2]")),
    (lambda: schedules.CosineDecay(0.1, 10, alpha=1.5), ("`alpha`", "<= 1.0", "1.5")),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_steps=-1), ("`warmup_steps`", "-1")),
    (lambda: schedules.CosineDecay(0.1, 10)(-1), ("`step`", "non-negative integer", "-1")),
    (lambda: schedules.CosineDecay(0.1, 10)(1.5), ("`step`", "non-negative integer", "1.5")),
    (lambda: schedules.deserialize({"class_name": "Nope"}), ("unknown", "'Nope'", "CosineDecay")),
])
def test_bad_schedule_arguments(make, message):
    with pytest.raises((TypeError, ValueError), match=says(*message)):
        make()


# --- in place, iterations, state ------------------------------------------------------------


def test_variables_are_updated_in_place():
    start, grads = random_problem(steps=1)
    variables = [w.copy() for w in start]
    ids = [id(w) for w in variables]
    assert Adam().apply_gradients(zip(grads[0], variables)) == 1
    assert [id(w) for w in variables] == ids
    assert all(not np.array_equal(a, b) for a, b in zip(variables, start))
    view = np.zeros((4, 4))[:, 1]  # a non-contiguous view of a layer's array
    SGD(0.5).apply([np.ones(4)], [view])
    np.testing.assert_array_equal(view, -0.5)


def make_all():
    return [SGD(0.05, momentum=0.9, nesterov=True, clipnorm=1.0),
            Adam(0.01, amsgrad=True, global_clipnorm=1.0),
            RMSprop(schedules.ExponentialDecay(0.01, 2, 0.9), momentum=0.5, centered=True,
                    clipvalue=0.5)]


@pytest.mark.parametrize("index", range(3))
def test_state_round_trip_continues_identically(index, tmp_path):
    start, grads = random_problem(steps=6)
    opt = make_all()[index]
    variables = run(opt, start, grads[:3])
    np.savez(tmp_path / "state.npz", **opt.get_state())
    restored = make_all()[index]
    with np.load(tmp_path / "state.npz") as saved:
        restored.set_state(dict(saved))
    assert restored.iterations == 3
    continued = run(opt, variables, grads[3:])
    again = run(restored, variables, grads[3:])
    for a, b in zip(continued, again):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(opt.variables(), restored.variables()):
        np.testing.assert_array_equal(a, b)


def test_state_restores_a_changed_learning_rate_and_checks_shapes():
    opt = SGD(0.1, momentum=0.5)
    run(opt, *random_problem(steps=1))
    opt.learning_rate = 0.05
    other = SGD(0.1, momentum=0.5)
    other.set_state(opt.get_state())
    assert other.learning_rate == f32(0.05)
    bad = opt.get_state()
    bad["momentum_0"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=says("`state['momentum_0']`", "shape (3, 2)",
                                              "got (2, 2)")):
        opt.set_state(bad)
    del bad["momentum_0"]
    with pytest.raises(ValueError, match=says("`state`", "momentum_0")):
        opt.set_state(bad)


def test_variables_are_in_keras_order():
    opt = Adam(amsgrad=True)
    run(opt, [np.zeros(2), np.zeros(3)], [[np.ones(2), np.full(3, 2.0)]])
    iterations, lr, m0, v0, m1, v1, vh0, vh1 = opt.variables()
    assert iterations == 1 and lr.dtype == np.float32
    assert m0.shape == v0.shape == vh0.shape == (2,) and m1.shape == v1.shape == (3,)
    np.testing.assert_allclose(v1, 0.001 * 4.0)
    np.testing.assert_array_equal(vh1, v1)
    rms = RMSprop(momentum=0.5, centered=True)
    rms.build([np.zeros(2)])
    assert len(rms.variables()) == 2 + 3


def test_gradients_of_none_leave_their_variable_untouched():
    a, b = np.ones(2), np.ones(3)
    opt = Adam()
    with pytest.warns(UserWarning, match=says("no gradients for variables [1]")):
        opt.apply([np.ones(2), None], [a, b])
    np.testing.assert_array_equal(b, 1.0)
    assert opt.iterations == 1 and not np.array_equal(a, 1.0)
    with pytest.raises(ValueError, match="no gradients provided for any variable"):
        opt.apply([None, None], [a, b])


def test_an_empty_step_is_not_counted():
    opt = SGD()
    opt.apply([], [])
    assert opt.iterations == 0 and not opt.built


# --- hypothesis: any shapes, every optimizer ------------------------------------------------


@st.composite
def optimizer_problems(draw):
    shapes = draw(st.lists(st.lists(st.integers(1, 4), max_size=3).map(tuple),
                           min_size=1, max_size=3))
    kind = draw(st.sampled_from(["sgd", "adam", "rmsprop"]))
    flag = draw(st.booleans())
    momentum = draw(st.sampled_from([0.0, 0.5, 0.875]))
    return shapes, kind, flag, momentum, draw(st.integers(0, 2**32 - 1))


@given(optimizer_problems())
@settings(max_examples=examples(25))
def test_every_optimizer_matches_its_equations_on_any_shapes(problem):
    shapes, kind, flag, momentum, seed = problem
    start, grads = random_problem(seed, shapes, steps=3)
    if kind == "sgd":
        opt = SGD(0.25, momentum=momentum, nesterov=flag)
        expected = reference_sgd(start, grads, 0.25, momentum, flag)
    elif kind == "adam":
        opt = Adam(0.25, beta_1=0.875, beta_2=0.9921875, amsgrad=flag)
        expected = reference_adam(start, grads, 0.25, 0.875, 0.9921875, 1e-7, flag)
    else:
        opt = RMSprop(0.25, rho=0.875, momentum=momentum, centered=flag, epsilon=1e-3)
        expected = reference_rmsprop(start, grads, 0.25, 0.875, 1e-3, momentum, flag)
    assert_all_close(run(opt, start, grads), expected, rtol=1e-12)


# --- configuration and lookup -----------------------------------------------------------


@pytest.mark.parametrize("opt", make_all() + [SGD(), Adam(), RMSprop()])
def test_config_round_trip(opt):
    config = opt.get_config()
    again = type(opt).from_config(config)
    assert again.get_config() == config
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == config


def test_from_config_accepts_keras_only_arguments_at_their_defaults():
    config = {**SGD(0.1).get_config(), "weight_decay": None, "use_ema": False,
              "ema_momentum": 0.99}
    assert SGD.from_config(config).learning_rate == f32(0.1)
    with pytest.raises(ValueError, match=says("`use_ema`", "not supported", "True")):
        SGD.from_config({**config, "use_ema": True})
    with pytest.raises(TypeError, match="optimizer's class"):
        optimizers.Optimizer.from_config(config)


def test_get():
    assert isinstance(optimizers.get("ADAM"), Adam)
    assert isinstance(optimizers.get("rmsprop"), RMSprop)
    assert isinstance(optimizers.get("Sgd"), SGD)
    opt = SGD()
    assert optimizers.get(opt) is opt
    assert isinstance(optimizers.get({"class_name": "adam", "config": {"amsgrad": True}}),
                      Adam)
    with pytest.raises(ValueError, match=says("unknown optimizer 'adamw'",
                                              "['adam', 'rmsprop', 'sgd']")):
        optimizers.get("adamw")
    with pytest.raises(ValueError, match=says("could not interpret", "3")):
        optimizers.get(3)


def test_learning_rate_setter():
    opt = SGD(0.1)
    opt.learning_rate = 0.2
    assert opt.learning_rate == f32(0.2) == opt.current_learning_rate
    with pytest.raises(ValueError, match=says("`learning_rate`", ">= 0", "-1.0")):
        opt.learning_rate = -1.0
    scheduled = SGD(schedules.ExponentialDecay(0.1, 2, 0.5))
    with pytest.raises(TypeError, match=says("LearningRateSchedule", "not settable", "0.2")):
        scheduled.learning_rate = 0.2
    assert isinstance(scheduled.learning_rate, schedules.ExponentialDecay)
    opt.learning_rate = schedules.ExponentialDecay(0.1, 2, 0.5)  # as Keras: a schedule may
    assert opt.current_learning_rate == f32(0.1)                 # replace a float rate


# --- bad arguments and inputs -------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: SGD(-0.1), ("`learning_rate`", ">= 0", "-0.1")),
    (lambda: SGD("fast"), ("`learning_rate`", "LearningRateSchedule", "'fast'")),
    (lambda: SGD(momentum=1.5), ("`momentum`", "[0.0, 1.0]", "1.5")),
    (lambda: SGD(nesterov="yes"), ("`nesterov`", "True or False", "'yes'")),
    (lambda: Adam(beta_1=1.0), ("`beta_1`", "[0.0, 1.0)", "1.0")),
    (lambda: Adam(beta_2=-0.1), ("`beta_2`", "[0.0, 1.0)", "-0.1")),
    (lambda: Adam(epsilon=-1e-7), ("`epsilon`", ">= 0", "-1e-07")),
    (lambda: Adam(amsgrad=None), ("`amsgrad`", "True or False", "None")),
    (lambda: RMSprop(rho=1.0), ("`rho`", "[0.0, 1.0)", "1.0")),
    (lambda: RMSprop(momentum=-0.5), ("`momentum`", "[0.0, 1.0]", "-0.5")),
    (lambda: RMSprop(clipnorm=0.0), ("`clipnorm`", "None or > 0", "0.0")),
    (lambda: SGD(clipvalue=-1), ("`clipvalue`", "None or > 0", "-1")),
    (lambda: SGD(global_clipnorm=float("nan")), ("`global_clipnorm`", "finite", "nan")),
    (lambda: SGD(name=3), ("`name`", "string", "3")),
])
def test_bad_arguments(make, message):
    with pytest.raises((TypeError, ValueError), match=says(*message)):
        make()


def test_bad_gradients_and_variables():
    w = [np.zeros((3, 2)), np.zeros(4)]
    opt = Adam()
    with pytest.raises(ValueError, match=says("`grads[1]`", "shape of variables[1]", "(4,)",
                                              "got (5,)")):
        opt.apply([np.zeros((3, 2)), np.zeros(5)], w)
    with pytest.raises(TypeError, match=says("`grads[0]`", "dtype of variables[0]", "float64",
                                             "got float32")):
        opt.apply([np.zeros((3, 2), np.float32), np.zeros(4)], w)
    with pytest.raises(ValueError, match=says("same length", "got 1 and 2")):
        opt.apply([np.zeros((3, 2))], w)
    with pytest.raises(TypeError, match=says("`variables[0]`", "NumPy array", "list")):
        opt.apply([np.zeros(2)], [[0.0, 0.0]])
    with pytest.raises(TypeError, match=says("`variables[0]`", "float32 or float64", "int64")):
        opt.apply([np.zeros(2, np.int64)], [np.zeros(2, np.int64)])
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=says("`variables[0]`", "writable")):
        opt.apply([np.zeros(2)], [frozen])
    assert not opt.built and opt.iterations == 0  # nothing happened
    opt.apply([np.zeros((3, 2)), np.zeros(4)], w)
    with pytest.raises(ValueError, match=says("built for 2 variables", "got 1")):
        opt.apply([np.zeros((3, 2))], w[:1])
    with pytest.raises(ValueError, match=says("`variables[1]`", "shape (4,)", "got shape (5,)")):
        opt.apply([np.zeros((3, 2)), np.zeros(5)], [w[0], np.zeros(5)])


def test_no_warnings_on_an_ordinary_step():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(Adam(global_clipnorm=1.0), *random_problem(steps=2))
