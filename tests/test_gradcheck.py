"""The gradient checker itself: it passes true gradients and fails wrong ones.

The negative controls matter: a checker that passes everything would make every
gradient test in this suite pass too.
"""

from unittest import mock

import numpy as np
import pytest

from scratchrnn.ops import activations as act

from .cells import Options, Problem
from .gradcheck import (
    TOLERANCE,
    assert_gradients_match,
    gradient_errors,
    numerical_gradient,
    relative_error,
    weighted_sum,
)


def sine_problem(seed=0):
    """loss = sum(sin(a) * b * G): a smooth function with a known gradient."""
    rng = np.random.default_rng(seed)
    params = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=(3, 4))}
    upstream = [rng.normal(size=(3, 4))]

    def loss():
        return weighted_sum([np.sin(params["a"]) * params["b"]], upstream)

    analytic = {"a": np.cos(params["a"]) * params["b"] * upstream[0],
                "b": np.sin(params["a"]) * upstream[0]}
    return loss, params, analytic


def test_true_gradient_of_a_known_function_passes_by_a_wide_margin():
    loss, params, analytic = sine_problem()
    errors = assert_gradients_match(loss, params, analytic)
    assert max(errors.values()) < 1e-9


def test_numerical_gradient_restores_the_array():
    loss, params, _ = sine_problem()
    before = params["a"].copy()
    numerical_gradient(loss, params["a"])
    np.testing.assert_array_equal(params["a"], before)


def test_numerical_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, np.float32))


def test_relative_error_is_absolute_below_one_and_relative_above():
    assert relative_error(np.array([0.5, 0.0]), np.array([0.5, 1e-3])) == pytest.approx(1e-3)
    assert relative_error(np.array([100.0, 0.0]), np.array([100.0, 1.0])) == pytest.approx(1e-2)


def test_missing_or_misshapen_gradient_counts_as_failure():
    assert relative_error(np.zeros(3), None) == np.inf
    assert relative_error(np.zeros(3), np.zeros(4)) == np.inf
    loss, params, analytic = sine_problem()
    del analytic["b"]
    assert gradient_errors(loss, params, analytic)["b"] == np.inf


def test_negative_control_one_perturbed_element_fails():
    """A gradient off by 1e-5 in a single element of one array must fail the check."""
    loss, params, analytic = sine_problem()
    analytic["b"][1, 2] += 1e-5
    with pytest.raises(AssertionError, match="b: "):
        assert_gradients_match(loss, params, analytic)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_negative_control_swapped_sigmoid_derivative_fails(cell):
    """The LSTM/GRU backward with σ'(a) = 1 - σ² (tanh's formula) in place of σ (1 - σ)
    must fail on every weight, while the true backward passes."""
    problem = Problem(Options(cell, timesteps=3))
    assert_gradients_match(problem.loss, problem.params, problem.analytic())

    original = act.backward

    def wrong_backward(dy, y, code):
        if code == act.SIGMOID:
            return dy * (1 - y * y)
        return original(dy, y, code)

    with mock.patch.object(act, "backward", wrong_backward):
        wrong = problem.analytic()
    errors = gradient_errors(problem.loss, problem.params, wrong)
    assert min(errors[name] for name in ("kernel", "recurrent_kernel", "bias")) > 1e3 * TOLERANCE


def test_negative_control_gradient_of_another_input_fails():
    """Swapping dh0 for a gradient computed with a different upstream must fail."""
    problem = Problem(Options("simple_rnn", batch=2, timesteps=2))
    good = problem.analytic()
    problem.upstream[1] = problem.upstream[1] * 1.001
    with pytest.raises(AssertionError, match="h0"):
        assert_gradients_match(problem.loss, problem.params, {**problem.analytic(),
                                                              "h0": good["h0"]})
