"""The course's ``SimpleAttention`` ported with a hand-written backward
(:mod:`scratchrnn.demos.attention_layer`): finite differences agree with its backward,
alone and inside a functional model trained with ``fit``; a wrong backward is caught."""

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import layers as L
from scratchrnn.demos.attention_layer import SimpleAttention

F64 = "float64"


def normal(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


def test_backward_agrees_with_finite_differences():
    layer = SimpleAttention(4, dtype=F64)
    result = sr.testing.check_gradients(layer, (normal((3, 5, 6), 0), normal((3, 7), 1)),
                                        print_fn=None)
    assert result.ok, result.table()
    names = [row.name for row in result.rows]
    assert names[:2] == ["inputs[0]", "inputs[1]"]
    assert len(names) == 2 + 6           # W1, W2, V: kernel and bias each


def test_outputs_shapes_and_weights():
    layer = SimpleAttention(4, dtype=F64)
    context, weights = layer(normal((2, 5, 6), 0), normal((2, 3), 1))
    assert context.shape == (2, 6) and weights.shape == (2, 5)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert [w.shape for w in layer.get_weights()] == [(6, 4), (4,), (3, 4), (4,), (4, 1), (1,)]
    assert layer.count_params() == 24 + 4 + 12 + 4 + 4 + 1


def test_unused_weights_output_takes_none():
    layer = SimpleAttention(3, dtype=F64)
    context, _ = layer(normal((2, 4, 3), 0), normal((2, 5), 1))
    d_enc, d_dec = layer.backward([np.ones_like(context), None])
    assert d_enc.shape == (2, 4, 3) and d_dec.shape == (2, 5)


class _WrongAttention(SimpleAttention):
    """A negative control: forgets the direct path of ``context`` to the encoder."""

    def backward(self, d_outputs):
        d_enc, d_dec = super().backward(d_outputs)
        enc, _, a = self._tape
        return d_enc - a * d_outputs[0][:, None, :], d_dec


def test_check_gradients_catches_a_wrong_backward():
    result = sr.testing.check_gradients(_WrongAttention(4, dtype=F64),
                                        (normal((3, 5, 6), 0), normal((3, 7), 1)),
                                        print_fn=None)
    assert not result.ok


def _model():
    enc_in, dec_in = sr.Input((5, 3), dtype=F64), sr.Input((4,), dtype=F64)
    seq = L.LSTM(4, return_sequences=True, dtype=F64, seed=0)(enc_in)
    context, weights = SimpleAttention(3, dtype=F64)(seq, dec_in)
    out = L.Dense(2, dtype=F64, seed=1)(L.Concatenate(dtype=F64)([context, dec_in]))
    return sr.Model([enc_in, dec_in], [out, weights])


def test_inside_a_functional_model_the_gradients_are_right():
    model = _model()
    assert len(model.get_weights()) == 3 + 6 + 2
    result = sr.testing.check_gradients(model, [normal((2, 5, 3), 2), normal((2, 4), 3)],
                                        print_fn=None)
    assert result.ok, result.table()


def test_inside_a_functional_model_fit_lowers_the_loss():
    model = _model()
    model.compile("adam", loss=["mse", "mse"],
                  loss_weights=[1.0, 0.0])
    x = [normal((16, 5, 3), 4), normal((16, 4), 5)]
    y = [normal((16, 2), 6) * 0.1, np.full((16, 5), 0.2)]
    before = model.evaluate(x, y)
    model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    after = model.evaluate(x, y)
    first = before[0] if isinstance(before, list) else before
    last = after[0] if isinstance(after, list) else after
    assert last < first


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept(dtype):
    layer = SimpleAttention(2, dtype=dtype)
    context, weights = layer(normal((2, 3, 4), 0), normal((2, 5), 1))
    assert context.dtype == dtype and weights.dtype == dtype
