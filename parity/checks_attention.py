"""Parity checks of the attention layers.

``attention-*``: ``AdditiveAttention`` against ``keras.layers.AdditiveAttention``.  The
Keras layer's ``scale`` gets uniform(-1, 1) values, copied into ours; both run on the same
random query, value (and key) with the same masks, returning the attention scores too.
Compared: the output, the scores, and the gradients of ``sum(out * G) + sum(scores * G')``
with respect to the query, the value, the key and ``scale``.  At training time (dropout)
our seeded mask is injected into Keras by standing in for its ``backend.random.dropout``
(TensorFlow's is ``where(keep, x * (1/(1-rate)), 0)``, the same arithmetic as ours).

``bahdanau-*``: ``BahdanauAttention`` against the same computation written with Keras
``Dense`` layers (``W1 = Dense(units)`` on the values, ``W2 = Dense(units)`` on the query,
``V = Dense(1)``, uniform(-0.6, 0.6) weights copied into ours) and ``keras.ops``; masked
steps get a score of ``-1e9`` there (assigned), whose weight underflows to 0 as ours is.
Compared: the context, the weights and the gradients of the query, the values and every
weight (``G'`` on the weights too).
"""

import contextlib
import importlib
from unittest import mock

import numpy as np

from scratchrnn.layers.attention import AdditiveAttention, BahdanauAttention

from .components import Check, dtype_suffix, keras_gradients
from .harness import keras, tf

DTYPES = ("float64", "float32")
WEIGHT_SCALE = 0.6
B, TQ, TV, DIM = 3, 4, 5, 3


def _normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _mask(rng, shape, all_masked_row=False):
    """Random booleans with a False in each sample and (unless asked) a True in each."""
    mask = rng.random(shape) < 0.6
    mask[:, 0] = True
    mask[:, -1] = False
    if all_masked_row:
        mask[1] = False
    return mask


# --- AdditiveAttention -------------------------------------------------------------------

def _additive(use_scale=True, key=False, query_mask=False, value_mask=False, causal=False,
              dropout=0.0, all_masked_row=False, value_dim=DIM):
    def run(cmp):
        dtype = cmp.dtype
        rng = np.random.default_rng(0)
        q = _normal(rng, (B, TQ, DIM), dtype)
        v = _normal(rng, (B, TV, value_dim), dtype)
        inputs = [q, v] + ([_normal(rng, (B, TV, DIM), dtype)] if key else [])
        shapes = [x.shape for x in inputs]
        masks = [_mask(rng, (B, TQ)) if query_mask else None,
                 _mask(rng, (B, TV), all_masked_row) if value_mask or all_masked_row
                 else None]
        mask = masks if any(m is not None for m in masks) else None
        kwargs = dict(use_scale=use_scale, dropout=dropout, dtype=dtype, seed=5)
        theirs, ours = keras.layers.AdditiveAttention(**kwargs), AdditiveAttention(**kwargs)
        theirs.build(shapes)
        ours.build(shapes)
        if [w.shape for w in ours.get_weights()] != [tuple(w.shape) for w in theirs.weights]:
            cmp.problem(f"weight shapes: ours {[w.shape for w in ours.get_weights()]}, "
                        f"Keras {[tuple(w.shape) for w in theirs.weights]}")
        theirs.set_weights([rng.uniform(-1, 1, w.shape).astype(dtype)
                            for w in theirs.get_weights()])
        if use_scale:
            ours.set_weights(theirs.get_weights())
        training = dropout > 0
        call = dict(return_attention_scores=True, use_causal_mask=causal, training=training)
        out, scores = ours(inputs, mask=mask, **call)
        upstream = [_normal(rng, out.shape, dtype), _normal(rng, scores.shape, dtype)]
        grads = ours.backward(*upstream)

        tensors = [tf.constant(x) for x in inputs]
        keras_mask = None if mask is None else [None if m is None else tf.constant(m)
                                                for m in mask]

        def keras_call():
            return theirs(tensors, mask=keras_mask, **call)

        sources = tensors + [w.value for w in theirs.weights]
        with _injected_dropout(ours.dropout_mask):
            (k_out, k_scores), k_grads = keras_gradients(tf, keras_call, sources, upstream)
        cmp.add("out", out, k_out)
        cmp.add("scores", scores, k_scores)
        for name, ours_grad, theirs_grad in zip(("dquery", "dvalue", "dkey"), grads, k_grads):
            cmp.add(name, ours_grad, theirs_grad)
        if use_scale:
            cmp.add("dscale", ours.get_gradients(), k_grads[len(inputs):])
    return run


def _injected_dropout(mask):
    """Make Keras's attention dropout multiply by our ``mask`` (nothing when None)."""
    if mask is None:
        return contextlib.nullcontext()
    backend_random = importlib.import_module("keras.src.backend").random

    def dropout(inputs, rate, noise_shape=None, seed=None):
        return inputs * tf.constant(mask)
    return mock.patch.object(backend_random, "dropout", dropout)


# --- BahdanauAttention -------------------------------------------------------------------

def _keras_bahdanau(w1, w2, v, query, values, mask):
    """``(context, weights)`` by Keras layers and ops, as the course code writes it."""
    one_step = len(query.shape) == 2
    q = keras.ops.expand_dims(query, 1) if one_step else query
    u = keras.ops.tanh(keras.ops.expand_dims(w1(values), 1) + keras.ops.expand_dims(w2(q), 2))
    score = keras.ops.squeeze(v(u), -1)                               # (B, Tq, Tv)
    if mask is not None:
        score = keras.ops.where(keras.ops.expand_dims(mask, 1), score, -1e9)
    weights = keras.ops.softmax(score, axis=-1)
    context = keras.ops.matmul(weights, values)
    if one_step:
        return keras.ops.squeeze(context, 1), keras.ops.squeeze(weights, 1)
    return context, weights


def _bahdanau(query_steps=None, masked=False, use_bias=True, units=4):
    def run(cmp):
        dtype = cmp.dtype
        rng = np.random.default_rng(1)
        dec, enc = 3, 2
        query_shape = (B, dec) if query_steps is None else (B, query_steps, dec)
        query = _normal(rng, query_shape, dtype)
        values = _normal(rng, (B, TV, enc), dtype)
        mask = _mask(rng, (B, TV)) if masked else None
        dense = [keras.layers.Dense(n, use_bias=use_bias, dtype=dtype) for n in (units, units, 1)]
        for layer, rows in zip(dense, (enc, dec, units)):
            layer.build((None, rows))
            layer.set_weights([rng.uniform(-WEIGHT_SCALE, WEIGHT_SCALE, w.shape).astype(dtype)
                               for w in layer.get_weights()])
        ours = BahdanauAttention(units, use_bias=use_bias, dtype=dtype)
        ours.build([query_shape, values.shape])
        ours.set_weights([w for layer in dense for w in layer.get_weights()])
        context, weights = ours(query, values, mask=mask)
        upstream = [_normal(rng, context.shape, dtype), _normal(rng, weights.shape, dtype)]
        dq, dv = ours.backward(*upstream)

        q_tf, v_tf = tf.constant(query), tf.constant(values)
        m_tf = None if mask is None else tf.constant(mask)
        sources = [q_tf, v_tf] + [w.value for layer in dense for w in layer.weights]
        (k_context, k_weights), grads = keras_gradients(
            tf, lambda: _keras_bahdanau(*dense, q_tf, v_tf, m_tf), sources, upstream)
        cmp.add("context", context, k_context)
        cmp.add("weights", weights, k_weights)
        cmp.add("dquery", dq, grads[0])
        cmp.add("dvalues", dv, grads[1])
        cmp.add("dweights", ours.get_gradients(), grads[2:])
    return run


def _checks():
    specs = [
        ("attention-plain", _additive(), "use_scale=True"),
        ("attention-no-scale", _additive(use_scale=False), "use_scale=False"),
        ("attention-value-mask", _additive(value_mask=True), "value mask"),
        ("attention-query-mask", _additive(query_mask=True), "query mask"),
        ("attention-causal", _additive(causal=True), "use_causal_mask=True"),
        ("attention-key", _additive(key=True, value_dim=2), "key given, value dim 2"),
        ("attention-key-masks-causal",
         _additive(key=True, query_mask=True, value_mask=True, causal=True, use_scale=False),
         "key, both masks, causal, use_scale=False"),
        ("attention-all-masked-row", _additive(all_masked_row=True),
         "a sample with every value step masked"),
        ("attention-dropout", _additive(dropout=0.3, value_mask=True),
         "dropout=0.3 training=True, our mask injected"),
        ("bahdanau-one-step", _bahdanau(), "query (B, dec)"),
        ("bahdanau-one-step-mask", _bahdanau(masked=True), "query (B, dec), values mask"),
        ("bahdanau-all-steps", _bahdanau(query_steps=4), "query (B, Tq, dec)"),
        ("bahdanau-all-steps-mask", _bahdanau(query_steps=4, masked=True),
         "query (B, Tq, dec), values mask"),
        ("bahdanau-no-bias", _bahdanau(query_steps=2, masked=True, use_bias=False, units=3),
         "use_bias=False"),
    ]
    return [Check(f"{name}-{dtype_suffix(dtype)}", "layer", dtype, run, options)
            for name, run, options in specs for dtype in DTYPES]


CHECKS = _checks()
