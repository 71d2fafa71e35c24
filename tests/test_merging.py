"""The merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``, ``Concatenate``, ``Dot``.  Every input's gradient against central finite
differences in float64 (fixed cases and hypothesis-drawn broadcasting shapes), Keras's own
``merging_test.py`` reproduced in NumPy, masks, configuration and bad input."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)

from .cells import examples
from .gradcheck import assert_gradients_match, gradient_errors, weighted_sum

ELEMENTWISE = {"Add": (Add, np.add), "Subtract": (Subtract, np.subtract),
               "Multiply": (Multiply, np.multiply), "Average": (Average, None),
               "Maximum": (Maximum, np.maximum), "Minimum": (Minimum, np.minimum)}
ALL = [Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot]


def says(*parts):
    return ".*".join(re.escape(p) for p in parts)


def normal(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def check_gradients(layer, xs, masks=None, seed=0):
    """Finite differences of ``sum(layer(xs, mask) * G)`` against ``layer.backward(G)``;
    returns the errors."""
    upstream = normal(layer(xs, mask=masks).shape, seed + 100)
    analytic = layer.backward(upstream)
    params = {f"x{i}": x for i, x in enumerate(xs)}
    return assert_gradients_match(
        lambda: weighted_sum([layer(xs, mask=masks)], [upstream]), params,
        {f"x{i}": g for i, g in enumerate(analytic)})


# --- gradients -----------------------------------------------------------------------------

GRADIENT_CASES = [
    # (layer, shapes, mask shapes or None)
    (lambda: Add(dtype="float64"), [(2, 3, 2)] * 3, None),
    (lambda: Subtract(dtype="float64"), [(2, 3, 2), (2, 1, 2)], None),
    (lambda: Average(dtype="float64"), [(2, 3, 2), (2, 2), (2,)], None),
    (lambda: Multiply(dtype="float64"), [(2, 3, 2)] * 3, [(2, 3)] * 3),
    (lambda: Multiply(dtype="float64"), [(2, 3, 2), (2, 1, 2), (2, 2)], [(2, 3), None, None]),
    (lambda: Maximum(dtype="float64"), [(2, 3, 2)] * 3, [(2, 3), None, (2, 3)]),
    (lambda: Minimum(dtype="float64"), [(2, 3, 2), (2, 1, 2), (2, 3, 1)], [(2, 3), (2, 1), None]),
    (lambda: Concatenate(axis=1, dtype="float64"), [(2, 3, 2), (2, 1, 2)], [(2, 3), None]),
    (lambda: Concatenate(axis=0, dtype="float64"), [(2, 3), (1, 3)], None),
    (lambda: Dot(-1, dtype="float64"), [(2, 3), (2, 3)], None),
    (lambda: Dot((1, 2), dtype="float64"), [(2, 3, 2), (2, 2, 3)], None),
    (lambda: Dot((-2, -1), dtype="float64"), [(1, 3, 2), (1, 1, 2, 3)], None),
    (lambda: Dot(1, normalize=True, dtype="float64"), [(2, 3), (2, 3)], None),
    (lambda: Dot((2, 1), normalize=True, dtype="float64"), [(2, 2, 3), (2, 3)], None),
]


@pytest.mark.parametrize("make, shapes, mask_shapes", GRADIENT_CASES,
                         ids=[f"{type(c[0]()).__name__}-{i}"
                              for i, c in enumerate(GRADIENT_CASES)])
def test_backward_matches_finite_differences(make, shapes, mask_shapes):
    rng = np.random.default_rng(1)
    xs = [normal(s, i) for i, s in enumerate(shapes)]
    masks = None if mask_shapes is None else [
        None if s is None else rng.random(s) < 0.6 for s in mask_shapes]
    check_gradients(make(), xs, masks)


def test_the_gradient_check_catches_a_wrong_backward():
    """Negative control: Multiply's gradients handed back in the wrong order fail."""
    class Swapped(Multiply):
        def backward(self, d_out):
            return super().backward(d_out)[::-1]
    xs = [normal((2, 3), 0), normal((2, 3), 1)]
    layer = Swapped(dtype="float64")
    upstream = normal((2, 3), 2)
    layer(xs)
    analytic = layer.backward(upstream)
    errors = gradient_errors(lambda: weighted_sum([layer(xs)], [upstream]),
                             {"x0": xs[0], "x1": xs[1]}, {"x0": analytic[0], "x1": analytic[1]})
    assert min(errors.values()) > 1e-2


@st.composite
def broadcastable(draw):
    """2 or 3 shapes that Keras merges elementwise: one batch size; trailing axes equal,
    1, or missing (a lower rank, lifted after the batch axis)."""
    batch = draw(st.integers(1, 2))
    full = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    shapes = []
    for _ in range(draw(st.integers(2, 3))):
        dims = [n if draw(st.booleans()) else 1 for n in full]
        drop = draw(st.integers(0, len(dims)))
        shapes.append((batch, *dims[drop:]))
    return shapes


@settings(max_examples=examples(30))
@given(shapes=broadcastable(), name=st.sampled_from(sorted(ELEMENTWISE)),
       seed=st.integers(0, 2**16))
def test_broadcasting_values_shapes_and_gradients(shapes, name, seed):
    cls, op = ELEMENTWISE[name]
    if cls is Subtract:
        shapes = shapes[:2]
    xs = [normal(s, seed + i) for i, s in enumerate(shapes)]
    layer = cls(dtype="float64")
    y = layer(xs)
    rank = max(len(s) for s in shapes)
    lifted = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]
    expected = sum(lifted) / len(xs) if op is None else lifted[0]
    for x in lifted[1:] if op is not None else []:
        expected = op(expected, x)
    np.testing.assert_allclose(y, expected, rtol=1e-13)
    assert y.shape == layer.compute_output_shape(shapes)
    check_gradients(layer, xs, seed=seed)


# --- Keras's merging_test.py, in NumPy ----------------------------------------------------

def np_dot(a, b, axes):
    """Keras's reference: ``tensordot`` sample by sample."""
    axes = (axes, axes) if isinstance(axes, int) else axes
    axes = [a_ if a_ < 0 else a_ - 1 for a_ in axes]
    res = np.stack([np.tensordot(a[i], b[i], axes) for i in range(a.shape[0])])
    return res[:, None] if res.ndim == 1 else res


KERAS_CASES = [
    (Add, {}, np.add, (2, 4, 5), (2, 4, 5)),
    (Subtract, {}, np.subtract, (2, 4, 5), (2, 4, 5)),
    (Minimum, {}, np.minimum, (2, 4, 5), (2, 4, 5)),
    (Maximum, {}, np.maximum, (2, 4, 5), (2, 4, 5)),
    (Multiply, {}, np.multiply, (2, 4, 5), (2, 4, 5)),
    (Average, {}, lambda a, b: (a + b) * 0.5, (2, 4, 5), (2, 4, 5)),
    (Concatenate, {"axis": -1}, lambda a, b, axis: np.concatenate((a, b), axis=axis),
     (2, 4, 5), (2, 4, 10)),
    (Dot, {"axes": -1}, np_dot, (2, 4), (2, 1)),
    (Dot, {"axes": -1}, np_dot, (2, 4, 5), (2, 4, 4)),
]


@pytest.mark.parametrize("cls, kwargs, np_op, input_shape, output_shape", KERAS_CASES,
                         ids=[f"{c[0].__name__}-{len(c[3])}d" for c in KERAS_CASES])
def test_keras_correctness(cls, kwargs, np_op, input_shape, output_shape):
    x1, x2 = np.random.default_rng(0).random((2, *input_shape))
    layer = cls(dtype="float64", **kwargs)
    out = layer([x1, x2])
    assert out.shape == output_shape
    assert layer.compute_output_shape([input_shape, input_shape]) == output_shape
    assert layer.compute_output_shape([(None, *input_shape[1:])] * 2) == (None,
                                                                          *output_shape[1:])
    np.testing.assert_allclose(out, np_op(x1, x2, **kwargs), atol=1e-12)
    assert layer.compute_mask([x1, x2], [None, None]) is None
    if cls is not Dot:
        ones = np.ones(input_shape[:-1], bool)
        assert layer.compute_mask([x1, x2], [ones, ones]).all()
        # Keras's dynamic test passes the (float) inputs themselves as masks
        assert layer.compute_mask([x1, x2], [x1[..., 0], x2[..., 0]]).all()
        with pytest.raises(ValueError, match="`mask` must be a list"):
            layer.compute_mask([x1, x2], x1)
        with pytest.raises(TypeError, match="`inputs` must be a list"):
            layer.compute_mask(x1, [None, None])
        with pytest.raises(ValueError, match="one entry .* per input"):
            layer.compute_mask([x1, x2], [None])


def test_keras_dot_higher_dim():
    a, b = normal((1, 3, 2)), normal((1, 1, 2, 3))
    layer = Dot(axes=(-2, -1), dtype="float64")
    assert layer.compute_output_shape([(1, 3, 2), (1, 1, 2, 3)]) == (1, 2, 1, 2)
    out = layer([a, b])
    np.testing.assert_allclose(out, np_dot(a, b, (-2, -1)), atol=1e-12)


def test_keras_subtract_needs_exactly_two():
    x = np.ones((2, 4, 5))
    for inputs in ([x, x, x], [x]):
        with pytest.raises(ValueError, match="exactly 2 arrays for Subtract"):
            Subtract()(inputs)


# Keras's *_with_mask tests: x1 through Masking() (mask = any(x != 0, -1)), x2 unmasked,
# then masked too.
X1 = np.array([[[0, 0], [1, 2], [0, 0], [3, 4]]], float)
X2 = np.array([[[0, 0], [0, 0], [1, 2], [3, 4]]], float)
M1, M2 = (X1 != 0).any(-1), (X2 != 0).any(-1)
SIGN = {Maximum: -1}                 # Keras's Maximum test uses the negated inputs
WITH_MASK = [
    (Add, [[0, 0], [1, 2], [1, 2], [6, 8]], [[0, 0], [1, 2], [1, 2], [6, 8]]),
    (Subtract, [[0, 0], [1, 2], [-1, -2], [0, 0]], [[0, 0], [1, 2], [-1, -2], [0, 0]]),
    (Average, [[0, 0], [0.5, 1], [0.5, 1], [3, 4]], [[0, 0], [0.5, 1], [0.5, 1], [3, 4]]),
    (Multiply, [[0, 0], [0, 0], [1, 2], [9, 16]], [[0, 0], [1, 2], [1, 2], [9, 16]]),
    (Maximum, [[0, 0], [0, 0], [-1, -2], [-3, -4]], [[0, 0], [-1, -2], [-1, -2], [-3, -4]]),
    (Minimum, [[0, 0], [0, 0], [1, 2], [3, 4]], [[0, 0], [1, 2], [1, 2], [3, 4]]),
]


@pytest.mark.parametrize("cls, one_masked, both_masked", WITH_MASK,
                         ids=[c[0].__name__ for c in WITH_MASK])
def test_keras_with_mask(cls, one_masked, both_masked):
    s = SIGN.get(cls, 1)
    layer = cls(dtype="float64")
    x1, x2 = s * X1, s * X2
    np.testing.assert_allclose(layer([x1, x2], mask=[M1, None]), [one_masked])
    assert layer.compute_mask([x1, x2], [M1, None]) is None
    np.testing.assert_allclose(layer([x1, x2], mask=[M1, M2]), [both_masked])
    np.testing.assert_array_equal(layer.compute_mask([x1, x2], [M1, M2]), [[0, 1, 1, 1]])


def test_keras_concatenate_with_mask():
    layer = Concatenate(axis=1, dtype="float64")
    np.testing.assert_array_equal(layer([X1, X2], mask=[M1, None]),
                                  [[[0, 0], [1, 2], [0, 0], [3, 4], [0, 0], [0, 0], [1, 2],
                                    [3, 4]]])
    np.testing.assert_array_equal(layer.compute_mask([X1, X2], [M1, None]),
                                  [[0, 1, 0, 1, 1, 1, 1, 1]])
    layer = Concatenate(axis=2, dtype="float64")
    np.testing.assert_array_equal(layer([X1, X2], mask=[M1, None]),
                                  [[[0, 0, 0, 0], [1, 2, 0, 0], [0, 0, 1, 2], [3, 4, 3, 4]]])
    np.testing.assert_array_equal(layer.compute_mask([X1, X2], [M1, None]), [[1, 1, 1, 1]])


def test_keras_concatenate_errors():
    out = Concatenate(axis=-1)([np.ones((1, 1, 1, 1, 5)), np.ones((1, 1, 1, 1, 4))])
    assert out.shape == (1, 1, 1, 1, 9)
    for axis, a, b in ((-1, (1, 2, 1, 1, 5), (1, 1, 1, 1, 4)),
                       (1, (1, 2, 1, 2, 1), (1, 1, 1, 3, 1))):
        with pytest.raises(ValueError, match="matching shapes except on the concatenation"):
            Concatenate(axis=axis)([np.ones(a), np.ones(b)])


# --- masks ---------------------------------------------------------------------------------

def test_masked_entries_take_no_part_in_maximum_and_get_no_gradient():
    x0 = np.array([[[5.0], [1.0]]])
    x1 = np.array([[[2.0], [3.0]]])
    layer = Maximum(dtype="float64")
    y = layer([x0, x1], mask=[np.array([[False, True]]), np.array([[True, True]])])
    np.testing.assert_array_equal(y, [[[2.0], [3.0]]])      # the masked 5 is ignored
    d0, d1 = layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(d0, [[[0.0], [0.0]]])
    np.testing.assert_array_equal(d1, [[[1.0], [1.0]]])


def test_multiply_zeroes_where_every_input_is_masked():
    layer = Multiply(dtype="float64")
    m = np.array([[True, False]])
    y = layer([np.full((1, 2, 1), 2.0), np.full((1, 2, 1), 3.0)], mask=[m, m])
    np.testing.assert_array_equal(y, [[[6.0], [0.0]]])
    np.testing.assert_array_equal(layer.backward(np.ones_like(y))[0], [[[3.0], [0.0]]])


def test_dot_drops_masks():
    x = normal((2, 3))
    assert Dot(1).compute_mask([x, x], [np.ones(2, bool), None]) is None


# --- protocol, configuration -----------------------------------------------------------

@pytest.mark.parametrize("cls", ALL)
def test_config_round_trip_and_no_weights(cls):
    kwargs = {"axes": (1, 2), "normalize": True} if cls is Dot else {}
    layer = cls(name="m", dtype="float64", **kwargs)
    assert layer.built and layer.supports_masking and layer.get_weights() == []
    config = layer.get_config()
    assert cls.from_config(config).get_config() == config
    if cls is Concatenate:
        assert config["axis"] == -1
    if cls is Dot:
        assert (config["axes"], config["normalize"]) == ((1, 2), True)


def test_a_single_input_is_accepted_as_in_keras_3():
    x = normal((2, 3))
    for cls in (Add, Average, Maximum, Multiply, Concatenate):
        layer = cls(dtype="float64")
        y = layer([x])
        np.testing.assert_array_equal(y, x)
        assert not np.shares_memory(y, x)
        np.testing.assert_array_equal(layer.backward(np.ones_like(x))[0], np.ones_like(x))


def test_build_validates_a_list_of_shapes():
    Add().build([(None, 3), (2, 1)])
    with pytest.raises(ValueError, match="list of shapes"):
        Add().build((2, 3))
    with pytest.raises(ValueError, match="one batch size"):
        Add().build([(2, 3), (4, 3)])
    with pytest.raises(ValueError, match="exactly 2"):
        Dot(1).build([(2, 3)])
    assert Add().compute_output_shape([(None, 3), (None, 1)]) == (None, 3)
    assert Concatenate(axis=1).compute_output_shape([(2, None), (2, 3)]) == (2, None)
    assert Dot(1).compute_output_shape([(None, 3), (None, 3)]) == (None, 1)


def test_float32_by_default_and_ints_cast():
    y = Add()([np.arange(6).reshape(2, 3), np.ones((2, 3), np.float64)])
    assert y.dtype == np.float32


# --- bad input -----------------------------------------------------------------------------

BAD = [
    (Add(), np.ones((2, 3)), TypeError, says("`inputs` must be a list of arrays", "ndarray")),
    (Add(), [], ValueError, says("`inputs` must be a list of at least 1 array", "got 0")),
    (Dot(1), [np.ones((2, 3))], ValueError, says("exactly 2 arrays for Dot", "got 1")),
    (Add(), [np.ones((2, 3)), ["a", "b"]], TypeError, says("`inputs[1]` must hold real")),
    (Add(), [np.ones((2, 3)), np.ones((1, 3))], ValueError,
     says("one batch size", "(2, 3)", "(1, 3)")),
    (Add(), [np.ones((2, 3)), np.ones((2, 4))], ValueError,
     says("`inputs[1]`", "(4,)", "(3,)", "equal or 1")),
    (Add(), [np.ones(()), np.ones(())], ValueError, says("`inputs[0]`", "at least 1")),
    (Concatenate(), [np.ones((2, 3)), np.ones((2, 3, 1))], ValueError, says("same rank")),
    (Concatenate(axis=2), [np.ones((2, 3)), np.ones((2, 3))], ValueError,
     says("`axis` 2 is out of range", "rank 2")),
    (Dot(0), [np.ones((2, 3)), np.ones((2, 3))], ValueError, says("batch axis")),
    (Dot(2), [np.ones((2, 3)), np.ones((2, 3))], ValueError, says("out of range")),
    (Dot(1), [np.ones((2, 3)), np.ones((2, 4))], ValueError,
     says("equal sizes", "has 3", "has 4")),
    (Dot(1), [np.ones((2,)), np.ones((2,))], ValueError, says("`inputs[0]`", "at least 2")),
]


@pytest.mark.parametrize("layer, inputs, error, message", BAD,
                         ids=[f"{type(b[0]).__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_inputs_are_named(layer, inputs, error, message):
    with pytest.raises(error, match=message):
        layer(inputs)


def test_bad_masks_and_gradients_are_named():
    x = np.ones((2, 3, 2))
    with pytest.raises(ValueError, match="2 inputs, got 1 masks"):
        Multiply()([x, x], mask=[None])
    with pytest.raises(TypeError, match=says("`mask[1]` must hold booleans")):
        Maximum()([x, x], mask=[None, np.array(["a"])])
    with pytest.raises(ValueError, match=says("`mask[0]` of shape (5,)", "(2, 3, 2)")):
        Minimum()([x, x], mask=[np.ones(5, bool), None])
    layer = Add()
    with pytest.raises(RuntimeError, match="forward call first"):
        layer.backward(x)
    layer([x, x])
    with pytest.raises(ValueError, match=says("`d_out` must have shape (2, 3, 2)")):
        layer.backward(np.ones((2, 3)))


def test_bad_constructor_arguments():
    with pytest.raises(TypeError, match="`axes` must be an integer or a pair"):
        Dot("1")
    with pytest.raises(ValueError, match="pair of integers"):
        Dot((1, 2, 3))
    with pytest.raises(TypeError, match="`axis` must be an integer"):
        Concatenate(axis=1.5)
    with pytest.raises(TypeError, match="`normalize` must be True or False"):
        Dot(1, normalize="yes")
