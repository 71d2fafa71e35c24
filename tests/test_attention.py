"""The attention layers: gradients of every input and weight against finite differences
(float64), the attention weights (sums, masked steps, fully masked rows), dropout,
configuration, weights and bad input.

Shapes: B samples, Tq query steps, Tv value steps, D features (Dv of the values).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrnn.layers.attention import AdditiveAttention, BahdanauAttention

from .cells import examples
from .gradcheck import assert_gradients_match, weighted_sum


def random_mask(rng, shape):
    """Random booleans of ``shape`` with one False and every row keeping a True."""
    mask = rng.random(shape) < 0.6
    mask[..., 0] = True
    mask.flat[-1] = False
    return mask


# --- AdditiveAttention: gradients -----------------------------------------------------

class AdditiveProblem:
    """``Σ sum(out_i * G_i)`` of an ``AdditiveAttention`` call as a function of ``query``,
    ``value``, ``key`` (when given) and ``scale`` (with ``use_scale``)."""

    def __init__(self, B=2, Tq=3, Tv=4, D=3, Dv=None, use_scale=True, key=False,
                 query_mask=False, value_mask=False, causal=False, scores=False,
                 dropout=0.0, seed=0):
        rng = np.random.default_rng(seed)
        Dv = D if Dv is None or not key else Dv
        self.layer = AdditiveAttention(use_scale=use_scale, dropout=dropout, dtype="float64",
                                       seed=seed)
        self.params = {"query": rng.normal(size=(B, Tq, D)),
                       "value": rng.normal(size=(B, Tv, Dv))}
        if key:
            self.params["key"] = rng.normal(size=(B, Tv, D))
        self.layer.build([(B, Tq, D), (B, Tv, Dv)])
        if use_scale:
            self.params["scale"] = rng.uniform(-1.5, 1.5, size=D)
        masks = [random_mask(rng, (B, Tq)) if query_mask else None,
                 random_mask(rng, (B, Tv)) if value_mask else None]
        self.mask = masks if query_mask or value_mask else None
        self.causal, self.scores, self.seed = causal, scores, seed
        self.training = dropout > 0
        self.upstream = [rng.normal(size=(B, Tq, Dv))] + ([rng.normal(size=(B, Tq, Tv))]
                                                          if scores else [])

    def call(self):
        p = self.params
        if "scale" in p:
            self.layer.set_weights([p["scale"]])
        self.layer._rng = np.random.default_rng(self.seed)   # the same dropout mask each time
        inputs = [p["query"], p["value"]] + ([p["key"]] if "key" in p else [])
        out = self.layer(inputs, mask=self.mask, training=self.training,
                         return_attention_scores=self.scores, use_causal_mask=self.causal)
        return list(out) if self.scores else [out]

    def loss(self):
        return weighted_sum(self.call(), self.upstream)

    def analytic(self):
        self.call()
        grads = self.layer.backward(*self.upstream)
        names = ["query", "value"] + (["key"] if "key" in self.params else [])
        assert len(grads) == len(names)
        result = dict(zip(names, grads))
        if "scale" in self.params:
            (result["scale"],) = self.layer.get_gradients()
        else:
            assert self.layer.get_gradients() == []
        return result

    def check(self):
        return assert_gradients_match(self.loss, self.params, self.analytic())


ADDITIVE_CASES = {
    "plain": {},
    "no-scale": dict(use_scale=False),
    "key": dict(key=True, Dv=2),
    "value-mask": dict(value_mask=True),
    "query-mask": dict(query_mask=True),
    "both-masks": dict(query_mask=True, value_mask=True),
    "causal": dict(causal=True, Tq=4),
    "causal-value-mask-key": dict(causal=True, value_mask=True, key=True, Dv=4, Tq=5),
    "scores": dict(scores=True, value_mask=True),
    "dropout": dict(dropout=0.4, scores=True),
}


@pytest.mark.parametrize("case", ADDITIVE_CASES)
def test_additive_gradients_match_finite_differences(case):
    AdditiveProblem(**ADDITIVE_CASES[case]).check()


@settings(max_examples=examples(30))
@given(B=st.integers(1, 3), Tq=st.integers(1, 4), Tv=st.integers(1, 4), D=st.integers(1, 3),
       Dv=st.integers(1, 3), flags=st.lists(st.booleans(), min_size=6, max_size=6),
       seed=st.integers(0, 2**16))
def test_additive_gradients_over_shapes(B, Tq, Tv, D, Dv, flags, seed):
    use_scale, key, query_mask, value_mask, causal, scores = flags
    AdditiveProblem(B, Tq, Tv, D, Dv, use_scale, key, query_mask, value_mask, causal, scores,
                    seed=seed).check()


# --- AdditiveAttention: forward --------------------------------------------------------

def _additive_inputs(dtype="float64", B=2, Tq=3, Tv=4, D=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, Tq, D)).astype(dtype), rng.normal(size=(B, Tv, D)).astype(dtype)


def test_additive_matches_the_equations():
    q, v = _additive_inputs()
    layer = AdditiveAttention(dtype="float64")
    out, a = layer([q, v], return_attention_scores=True)
    s = np.einsum("d,bijd->bij", layer.scale, np.tanh(q[:, :, None] + v[:, None]))
    expected = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
    np.testing.assert_allclose(a, expected, rtol=1e-13)
    np.testing.assert_allclose(out, expected @ v, rtol=1e-13)
    assert layer.attention_scores is a


def test_additive_masked_weights_sum_to_one_and_vanish():
    q, v = _additive_inputs(Tq=5, Tv=5)
    value_mask = np.array([[True, False, True, True, False], [True, False, False, True, True]])
    query_mask = np.array([[True] * 5, [True, False, True, True, False]])
    out, a = AdditiveAttention(dtype="float64")(
        [q, v], mask=[query_mask, value_mask], return_attention_scores=True,
        use_causal_mask=True)
    keep = value_mask[:, None, :] & np.tril(np.ones((5, 5), bool))
    assert np.all(a[~keep] == 0) and np.all(a[keep] > 0)
    np.testing.assert_allclose(a.sum(-1), 1, rtol=1e-14)
    assert np.all(out[~query_mask] == 0) and np.all(out[query_mask] != 0)


def test_additive_fully_masked_row_is_shifted_as_keras_does():
    """Keras subtracts 1e9 from masked scores: a row with no step left keeps its (rounded)
    scores; in float32 (spacing 64 at 1e9) they all round alike, giving uniform weights."""
    q, v = _additive_inputs("float32")
    value_mask = np.array([[False] * 4, [True] * 4])
    layer = AdditiveAttention()
    _, a = layer([q, v], mask=[None, value_mask], return_attention_scores=True)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a[0], np.full((3, 4), 0.25, np.float32))
    q64, v64 = q.astype(np.float64), v.astype(np.float64)
    layer64 = AdditiveAttention(dtype="float64")
    layer64.build([q.shape, v.shape])
    layer64.set_weights(layer.get_weights())
    _, masked = layer64([q64, v64], mask=[None, value_mask], return_attention_scores=True)
    _, unmasked = layer64([q64, v64], return_attention_scores=True)
    np.testing.assert_allclose(masked[0], unmasked[0], atol=1e-6)


def test_additive_key_defaults_to_value():
    q, v = _additive_inputs()
    layer = AdditiveAttention(dtype="float64")
    g = np.random.default_rng(1).normal(size=(2, 3, 3))
    out = layer([q, v])
    dq, dv = layer.backward(g)
    out_key = layer([q, v, v])
    dq_key, dv_key, dk_key = layer.backward(g)
    np.testing.assert_array_equal(out, out_key)
    np.testing.assert_allclose(dq, dq_key, rtol=1e-15)
    np.testing.assert_allclose(dv, dv_key + dk_key, rtol=1e-14)


def test_additive_dropout_mask_is_seeded_and_exposed():
    q, v = _additive_inputs(B=20, Tq=10, Tv=10)
    layer = AdditiveAttention(dropout=0.4, seed=3)
    out, a = layer([q, v], return_attention_scores=True, training=True)
    mask = layer.dropout_mask
    assert mask.shape == (20, 10, 10) and mask.dtype == np.float32
    assert set(np.unique(mask)) == {0.0, np.float32(1 / 0.6)}
    assert 0.3 < np.mean(mask == 0) < 0.5
    inference = AdditiveAttention(dropout=0.4, seed=3)
    inference.build([q.shape, v.shape])
    inference.set_weights(layer.get_weights())
    out_inf, a_inf = inference([q, v], return_attention_scores=True)
    assert inference.dropout_mask is None
    np.testing.assert_array_equal(a, a_inf * mask)
    again = AdditiveAttention(dropout=0.4, seed=3)
    again([q, v], training=True)
    np.testing.assert_array_equal(again.dropout_mask, mask)
    layer([q, v], training=True)
    assert not np.array_equal(layer.dropout_mask, mask)


def test_additive_keeps_float32_and_weights():
    q, v = _additive_inputs("float32", D=5)
    layer = AdditiveAttention()
    out = layer([q, v])
    assert out.dtype == np.float32 and out.shape == (2, 3, 5)
    assert layer.weight_names == ["scale"] and layer.count_params() == 5
    limit = np.sqrt(6 / 10)                        # glorot_uniform of shape (5,)
    assert np.all(np.abs(layer.scale) <= limit)
    grads = layer.backward(np.ones_like(out))
    assert all(g.dtype == np.float32 for g in grads + layer.get_gradients())
    assert AdditiveAttention(use_scale=False)([q, v]).dtype == np.float32


def test_additive_config_shapes_and_mask():
    layer = AdditiveAttention(use_scale=False, dropout=0.25, seed=7, name="att",
                              dtype="float64")
    config = layer.get_config()
    assert config == {"name": "att", "dtype": "float64", "trainable": True, "use_scale": False,
                      "dropout": 0.25, "seed": 7}
    assert AdditiveAttention.from_config(config).get_config() == config
    assert layer.compute_output_shape([(None, 3, 4), (None, 5, 4), (None, 5, 4)]) == (None, 3, 4)
    assert layer.compute_output_shape([(2, 3, 4), (2, 5, 6), (2, 5, 4)]) == (2, 3, 6)
    q_mask = np.array([[1, 0, 1]])
    np.testing.assert_array_equal(layer.compute_mask(None, [q_mask, None]), [[True, False, True]])
    assert layer.compute_mask(None, [None, q_mask]) is None
    assert layer.compute_mask(None, None) is None


# --- BahdanauAttention: gradients -----------------------------------------------------

class BahdanauProblem:
    """``Σ sum(out_i * G_i)`` of a ``BahdanauAttention`` call as a function of ``query``,
    ``values`` and the weights ``w0..``; ``weights=True`` also sends a gradient through the
    returned attention weights."""

    def __init__(self, B=2, Tq=None, Tv=4, dec=3, enc=2, units=3, use_bias=True, mask=False,
                 weights=False, seed=0):
        rng = np.random.default_rng(seed)
        query_shape = (B, dec) if Tq is None else (B, Tq, dec)
        self.layer = BahdanauAttention(units, use_bias=use_bias, dtype="float64")
        self.layer.build([query_shape, (B, Tv, enc)])
        self.params = {"query": rng.normal(size=query_shape),
                       "values": rng.normal(size=(B, Tv, enc))}
        self.n_weights = len(self.layer.weight_names)
        for i, w in enumerate(self.layer.get_weights()):
            self.params[f"w{i}"] = rng.uniform(-1, 1, size=w.shape)
        self.mask = random_mask(rng, (B, Tv)) if mask else None
        context_shape = query_shape[:-1] + (enc,)
        self.upstream = [rng.normal(size=context_shape)]
        self.upstream.append(rng.normal(size=query_shape[:-1] + (Tv,)) if weights
                             else np.zeros(query_shape[:-1] + (Tv,)))
        self.weights = weights

    def call(self):
        p = self.params
        self.layer.set_weights([p[f"w{i}"] for i in range(self.n_weights)])
        return list(self.layer(p["query"], p["values"], mask=self.mask))

    def loss(self):
        return weighted_sum(self.call(), self.upstream)

    def analytic(self):
        self.call()
        d_weights = self.upstream[1] if self.weights else None
        dq, dv = self.layer.backward(self.upstream[0], d_weights)
        grads = {"query": dq, "values": dv}
        grads.update({f"w{i}": g for i, g in enumerate(self.layer.get_gradients())})
        return grads

    def check(self):
        return assert_gradients_match(self.loss, self.params, self.analytic())


BAHDANAU_CASES = {
    "one-step": {},
    "one-step-mask": dict(mask=True),
    "all-steps": dict(Tq=3),
    "all-steps-mask-weights": dict(Tq=3, mask=True, weights=True),
    "no-bias": dict(use_bias=False, Tq=2, mask=True),
    "one-step-weights": dict(weights=True, units=1),
}


@pytest.mark.parametrize("case", BAHDANAU_CASES)
def test_bahdanau_gradients_match_finite_differences(case):
    BahdanauProblem(**BAHDANAU_CASES[case]).check()


@settings(max_examples=examples(30))
@given(B=st.integers(1, 3), Tq=st.sampled_from([None, 1, 3]), Tv=st.integers(1, 4),
       dec=st.integers(1, 3), enc=st.integers(1, 3), units=st.integers(1, 3),
       use_bias=st.booleans(), mask=st.booleans(), weights=st.booleans(),
       seed=st.integers(0, 2**16))
def test_bahdanau_gradients_over_shapes(B, Tq, Tv, dec, enc, units, use_bias, mask, weights,
                                        seed):
    BahdanauProblem(B, Tq, Tv, dec, enc, units, use_bias, mask, weights, seed).check()


# --- BahdanauAttention: forward --------------------------------------------------------

def _bahdanau(seed=0, **kwargs):
    """A float64 layer built for query (2, ·, 3) and values (2, 5, 2), random weights."""
    rng = np.random.default_rng(seed)
    layer = BahdanauAttention(4, dtype="float64", **kwargs)
    layer.build([(2, 3), (2, 5, 2)])
    layer.set_weights([rng.uniform(-1, 1, w.shape) for w in layer.get_weights()])
    return layer, rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 5, 2))


def test_bahdanau_matches_the_equations():
    layer, q, h = _bahdanau()
    w1, b1, w2, b2, v, bv = layer.get_weights()
    context, a = layer(q, h)
    score = (np.tanh((q @ w2 + b2)[:, :, None] + (h @ w1 + b1)[:, None]) @ v)[..., 0] + bv
    expected = np.exp(score) / np.exp(score).sum(-1, keepdims=True)
    np.testing.assert_allclose(a, expected, rtol=1e-13)
    np.testing.assert_allclose(context, expected @ h, rtol=1e-13)
    assert layer.attention_weights is a


def test_bahdanau_one_step_is_a_sequence_of_one():
    layer, q, h = _bahdanau()
    g = np.random.default_rng(5).normal(size=(2, 2))
    context, a = layer(q[:, 1], h)
    assert context.shape == (2, 2) and a.shape == (2, 5)
    dq, dh = layer.backward(g)
    grads = layer.get_gradients()
    context3, a3 = layer(q[:, 1:2], h)
    dq3, dh3 = layer.backward(g[:, None])
    np.testing.assert_array_equal(context, context3[:, 0])
    np.testing.assert_array_equal(a, a3[:, 0])
    np.testing.assert_array_equal(dq, dq3[:, 0])
    np.testing.assert_array_equal(dh, dh3)
    for x, y in zip(grads, layer.get_gradients()):
        np.testing.assert_array_equal(x, y)


def test_bahdanau_masked_steps_get_zero_weight():
    layer, q, h = _bahdanau()
    mask = np.array([[True, False, True, True, False], [False] * 5])
    context, a = layer(q, h, mask=mask)
    assert np.all(a[0][:, ~mask[0]] == 0)
    np.testing.assert_allclose(a[0].sum(-1), 1, rtol=1e-14)
    # No step left: zero weights and a zero context, and zero gradients through them.
    assert np.all(a[1] == 0) and np.all(context[1] == 0)
    dq, dh = layer.backward(np.ones_like(context), np.ones_like(a))
    assert np.all(dq[1] == 0) and np.all(dh[1] == 0)
    # The masked steps' values change nothing.
    h2 = h.copy()
    h2[0, ~mask[0]] = 100.0
    np.testing.assert_allclose(layer(q, h2, mask=mask)[0][0], context[0], rtol=1e-14)


def test_bahdanau_v_bias_gradient_vanishes():
    """The bias of ``V`` shifts a whole row of scores, which softmax ignores."""
    layer, q, h = _bahdanau()
    layer(q, h)
    layer.backward(np.random.default_rng(2).normal(size=(2, 3, 2)))
    assert abs(layer.get_gradients()[-1][0]) < 1e-14


def test_bahdanau_weights_config_and_dtype():
    layer = BahdanauAttention(4, seed=1, name="bahdanau")
    context, a = layer(np.ones((2, 3), np.float32), np.ones((2, 5, 6), np.float32))
    assert context.dtype == a.dtype == np.float32
    assert layer.weight_names == ["w1_kernel", "w1_bias", "w2_kernel", "w2_bias", "v_kernel",
                                  "v_bias"]
    assert [w.shape for w in layer.weights] == [(6, 4), (4,), (3, 4), (4,), (4, 1), (1,)]
    assert layer.count_params() == 24 + 4 + 12 + 4 + 4 + 1
    assert all(np.all(w == 0) for w in layer.weights[1::2])
    layer.backward(np.ones_like(context))
    assert all(g.dtype == np.float32 for g in layer.get_gradients())
    no_bias = BahdanauAttention(4, use_bias=False)
    no_bias.build([(None, 3), (None, 5, 6)])
    assert no_bias.weight_names == ["w1_kernel", "w2_kernel", "v_kernel"]
    config = layer.get_config()
    assert config == {"name": "bahdanau", "dtype": "float32", "trainable": True, "units": 4,
                      "use_bias": True, "seed": 1}
    assert BahdanauAttention.from_config(config).get_config() == config
    assert layer.compute_output_shape([(None, 3), (None, 5, 6)]) == ((None, 6), (None, 5))
    assert layer.compute_output_shape([(2, 7, 3), (2, 5, 6)]) == ((2, 7, 6), (2, 7, 5))
    assert layer.compute_mask(None, np.ones((2, 5), bool)) is None


# --- bad input ----------------------------------------------------------------------------

Q, V = np.zeros((2, 3, 4)), np.zeros((2, 5, 4))


@pytest.mark.parametrize("inputs, match", [
    (Q, "`inputs` must be a list"),
    ([Q], "`inputs` must be a list .* length 1"),
    ([Q[0], V], "`query` must have 3 dimensions"),
    ([Q, V[..., 0]], "`value` must have 3 dimensions"),
    ([Q, np.zeros((3, 5, 4))], r"`value` must have the query's batch size 2, got shape \(3"),
    ([Q, np.zeros((2, 5, 3))], r"`value` must have the query's 4 features .* \(2, 5, 3\)"),
    ([Q, np.zeros((2, 5, 3)), np.zeros((2, 4, 4))], "`key` must have the value's batch and"),
    ([Q, V, np.zeros((2, 5, 2))], "`key` must have the query's 4 features"),
    ([Q, np.array([["a"]])], "`value` must hold real numbers"),
])
def test_additive_rejects_bad_inputs(inputs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        AdditiveAttention()(inputs)


@pytest.mark.parametrize("mask, match", [
    (np.ones((2, 3), bool), "`mask` must be a list"),
    ([np.ones((2, 4), bool), None], r"`query_mask` must have shape \(2, 3\), got \(2, 4\)"),
    ([None, np.ones((2, 3), bool)], r"`value_mask` must have shape \(2, 5\), got \(2, 3\)"),
    ([None, np.full((2, 5), "x")], "`value_mask` must hold booleans"),
])
def test_additive_rejects_bad_masks(mask, match):
    with pytest.raises((ValueError, TypeError), match=match):
        AdditiveAttention()([Q, V], mask=mask)


def test_additive_rejects_bad_arguments_and_calls():
    with pytest.raises(ValueError, match="`dropout` must be in"):
        AdditiveAttention(dropout=1.0)
    with pytest.raises(TypeError, match="`use_scale` must be True or False"):
        AdditiveAttention(use_scale="yes")
    layer = AdditiveAttention()
    with pytest.raises(RuntimeError, match="backward\\(\\) needs a forward call"):
        layer.backward(np.zeros((2, 3, 4)))
    layer([Q, V])
    with pytest.raises(ValueError, match="`query` must have 4 features .* built for them"):
        layer([np.zeros((2, 3, 2)), np.zeros((2, 5, 2))])
    with pytest.raises(ValueError, match=r"`d_out` must have shape \(2, 3, 4\)"):
        layer.backward(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"`d_scores` must have shape \(2, 3, 5\)"):
        layer.backward(np.zeros((2, 3, 4)), np.zeros((2, 3)))


def test_bahdanau_rejects_bad_input():
    for units in (0, -2):
        with pytest.raises(ValueError, match="`units` must be a positive integer"):
            BahdanauAttention(units)
    with pytest.raises(TypeError, match="`units` must be a positive integer"):
        BahdanauAttention(2.5)
    layer = BahdanauAttention(3)
    q, h = np.zeros((2, 4)), np.zeros((2, 5, 6))
    with pytest.raises(ValueError, match="`query` must have 2 dimensions .* got shape"):
        layer(np.zeros(4), h)
    with pytest.raises(ValueError, match="`values` must have 3 dimensions"):
        layer(q, h[0])
    with pytest.raises(ValueError, match="`values` must have the query's batch size 2"):
        layer(q, np.zeros((3, 5, 6)))
    with pytest.raises(ValueError, match=r"`mask` must have shape \(2, 5\), got \(2, 4\)"):
        layer(q, h, mask=np.ones((2, 4), bool))
    layer(q, h)
    with pytest.raises(ValueError, match="`query` must have 4 features .* built for them"):
        layer(np.zeros((2, 3)), h)
    with pytest.raises(ValueError, match="`values` must have 6 features"):
        layer(q, np.zeros((2, 5, 2)))
    with pytest.raises(ValueError, match=r"`d_context` must have shape \(2, 6\)"):
        layer.backward(np.zeros((2, 1, 6)))
    with pytest.raises(ValueError, match=r"`d_weights` must have shape \(2, 5\)"):
        layer.backward(np.zeros((2, 6)), np.zeros((2, 1, 5)))
