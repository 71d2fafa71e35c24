"""Attention layers: Keras's ``AdditiveAttention`` and the classic Bahdanau attention.

Both weigh the steps of an encoded sequence (the *values*, ``(B, Tv, ·)``) for each query
step with a softmax over ``j`` of an additive score, and return the weighted sum::

    a[b, i, :] = softmax_j(score[b, i, j]),      out[b, i, :] = Σ_j a[b, i, j] v[b, j, :]

The backward pass of that common part, from ``dout`` (and a gradient ``dA`` of the
returned weights, when the caller uses them)::

    da  = dout vᵀ + dA                 dv = aᵀ dout
    ds  = a ⊙ (da - Σ_j da ⊙ a)        (the softmax Jacobian, row by row)

Masked steps. ``AdditiveAttention`` does exactly what Keras 3.15 does: it *subtracts*
``1e9`` from the scores of masked steps (``where(mask, s, s - 1e9)``), whose exponentials
then underflow to 0.  A row with every step masked is thus shifted as a whole: softmax
ignores the shift, so float64 returns (roughly, ``s - 1e9`` keeps ~7 digits of ``s``) the
unmasked weights, and float32 (whose spacing at 1e9 is 64) uniform weights ``1/Tv``; the
gradient flows through the shifted scores unchanged (``d(s - 1e9)/ds = 1``).
``BahdanauAttention`` gives masked steps exactly zero weight, and a row with every step
masked zero weights throughout (a zero context: there is nothing to attend to).
"""

import numpy as np

from .. import _checks, initializers
from ..ops import activations
from .layer import Layer

#: What Keras subtracts from the scores of masked steps (65504 for float16, not offered).
MASK_PENALTY = 1.0e9


# --- shared pieces ----------------------------------------------------------------------

def _softmax_backward(da, a):
    """``ds = a ⊙ (da - Σ_last da ⊙ a)``: the gradient of the scores behind ``a = softmax(s)``."""
    return a * (da - np.sum(da * a, axis=-1, keepdims=True))


def _bool_mask(mask, argument, shape):
    """``mask`` as booleans of ``shape`` (booleans, or numbers where nonzero is True)."""
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        if m.dtype.kind not in "fiu":
            raise TypeError(f"`{argument}` must hold booleans, got an array of dtype {m.dtype}")
        m = m != 0
    _checks.shape_is(m, shape, argument)
    return m


def _sequence(value, argument, dtype):
    """``value`` as a float array of ``dtype`` and rank 3, ``(batch, steps, features)``."""
    x = _checks.real_array(value, argument, dtype)
    if x.ndim != 3:
        raise ValueError(f"`{argument}` must have 3 dimensions (batch, steps, features), "
                         f"got shape {x.shape}")
    return x


def _shape_list(input_shape, lengths, what):
    """``input_shape`` as a list of shape tuples, checking how many there are."""
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) not in lengths or not all(
            isinstance(s, (list, tuple)) for s in input_shape):
        raise ValueError(f"`input_shape` must be a list of {what} shapes, got {input_shape!r}")
    return [tuple(s) for s in input_shape]


# --- AdditiveAttention ------------------------------------------------------------------

class AdditiveAttention(Layer):
    """Keras's additive (Bahdanau-style) attention, ``layer([query, value(, key)])``.

    Shapes: ``query (B, Tq, D)``, ``value (B, Tv, Dv)``, ``key (B, Tv, D)`` (the value
    when not given, then ``Dv = D``).  With ``t = tanh(q[b,i,:] + k[b,j,:])``::

        s[b,i,j] = Σ_d scale_d t[b,i,j,d]          (scale = 1 without use_scale)
        s'       = s - 1e9 where the step is masked (value mask, causal: j > i), else s
        a        = softmax_j(s'),   w = a ⊙ m       (m: dropout mask, training only)
        out      = w v,  zeroed on the rows of masked query steps

    ``scale (D,)`` is Keras's ``glorot_uniform`` (``U(±√(3/D))``).  Backward (``dw`` and
    ``ds`` by the module's formulas, ``da = dw ⊙ m``)::

        dscale_d = Σ_{b,i,j} ds t_d,    du = ds scale ⊙ (1 - t²)
        dq = Σ_j du,   dk = Σ_i du     (added to dv when the key is the value)

    ``dropout`` drops attention weights at ``training=True``: the mask, 0 or
    ``1/(1 - dropout)``, is drawn from the layer's seeded generator and kept as
    ``dropout_mask``.  As in Keras the weights returned (``return_attention_scores``) and
    kept (``attention_scores``) are those after dropout.  ``compute_mask`` gives the
    query mask, as Keras's does.
    """

    supports_masking = True

    def __init__(self, use_scale=True, dropout=0.0, name=None, dtype="float32", trainable=True,
                 seed=None, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, seed=seed, **kwargs)
        self.use_scale = _checks.boolean(use_scale, "use_scale")
        self.dropout = _checks.rate(dropout, "dropout")
        self.dropout_mask = None
        self.attention_scores = None

    def __repr__(self):
        return f"AdditiveAttention(use_scale={self.use_scale}, name={self.name!r})"

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "dropout": self.dropout,
                "seed": self.seed}

    def build(self, input_shape):
        """Create ``scale (D,)`` for ``input_shape = [query_shape, value_shape(, key_shape)]``."""
        shapes = _shape_list(input_shape, (2, 3), "2 or 3 (query, value, key)")
        if self.use_scale:
            dim = _checks.positive_int(shapes[0][-1], "input_shape[0][-1]")
            self._add_weight("scale", (dim,), initializers.glorot_uniform)
        self.built = True

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(input_shape, (2, 3), "2 or 3 (query, value, key)")
        return (*shapes[0][:-1], shapes[1][-1])

    def compute_mask(self, inputs, mask=None):
        """The query mask (the output has the query's steps), or None."""
        if mask is None or mask[0] is None:
            return None
        return np.asarray(mask[0]).astype(bool)

    # --- forward ------------------------------------------------------------------------

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        """``out (B, Tq, Dv)``, and the attention weights ``(B, Tq, Tv)`` too when
        ``return_attention_scores``.  ``mask``: ``[query_mask (B, Tq), value_mask (B, Tv)]``,
        either None (a third entry, as Keras accepts, is ignored as Keras ignores it)."""
        checked = self._check_inputs(inputs)
        q, v, k = checked[0], checked[1], checked[2] if len(checked) == 3 else None
        query_mask, value_mask = self._check_mask(mask, q.shape, v.shape)
        if not self.built:
            self.build([q.shape, v.shape] + ([] if k is None else [k.shape]))
        if self.use_scale and q.shape[-1] != self.scale.shape[0]:
            raise ValueError(f"`query` must have {self.scale.shape[0]} features on the last "
                             f"axis ({self.name} was built for them), got shape {q.shape}")
        out = self._attend(q, v, k, query_mask, value_mask, bool(training),
                           _checks.boolean(use_causal_mask, "use_causal_mask"))
        return (out, self.attention_scores) if return_attention_scores else out

    def _check_inputs(self, inputs):
        """``[query, value(, key)]`` -> ``[q, v(, k)]``, checked against each other."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            got = (f"a {type(inputs).__name__} of length {len(inputs)}"
                   if isinstance(inputs, (list, tuple)) else type(inputs).__name__)
            raise ValueError("`inputs` must be a list [query, value] or [query, value, key], "
                             f"got {got}")
        q = _sequence(inputs[0], "query", self.dtype)
        v = _sequence(inputs[1], "value", self.dtype)
        k = _sequence(inputs[2], "key", self.dtype) if len(inputs) == 3 else None
        if v.shape[0] != q.shape[0]:
            raise ValueError(f"`value` must have the query's batch size {q.shape[0]}, got "
                             f"shape {v.shape} (query {q.shape})")
        keys, name = (v, "value") if k is None else (k, "key")
        if k is not None and k.shape[:2] != v.shape[:2]:
            raise ValueError(f"`key` must have the value's batch and steps {v.shape[:2]}, got "
                             f"shape {k.shape} (value {v.shape})")
        if keys.shape[-1] != q.shape[-1]:
            raise ValueError(f"`{name}` must have the query's {q.shape[-1]} features on the "
                             f"last axis (query + {name} is added feature by feature), got "
                             f"shape {keys.shape} (query {q.shape})")
        return [q, v] if k is None else [q, v, k]

    def _check_mask(self, mask, query_shape, value_shape):
        """``[query_mask, value_mask]`` (either None) -> two boolean arrays or Nones."""
        if mask is None:
            return None, None
        if not isinstance(mask, (list, tuple)) or len(mask) not in (2, 3):
            raise ValueError("`mask` must be a list [query_mask, value_mask] (either may be "
                             f"None), got {mask!r:.200}")
        masks = [None if m is None else _bool_mask(m, argument, shape)
                 for m, argument, shape in ((mask[0], "query_mask", query_shape[:2]),
                                            (mask[1], "value_mask", value_shape[:2]))]
        return tuple(masks)

    def _attend(self, q, v, k, query_mask, value_mask, training, use_causal_mask):
        key_given = k is not None
        k = v if k is None else k
        t = np.tanh(q[:, :, None, :] + k[:, None, :, :])          # (B, Tq, Tv, D)
        s = np.sum(self.scale * t if self.use_scale else t, axis=-1)
        keep = self._score_mask(value_mask, s.shape, use_causal_mask)
        if keep is not None:
            s = np.where(keep, s, s - self.dtype.type(MASK_PENALTY))
        a = activations.softmax(s)
        self.dropout_mask = None
        if training and self.dropout > 0:
            kept = self._rng.random(a.shape) >= self.dropout
            # 1/(1 - rate) rounded once into the dtype, as TensorFlow's scale is.
            self.dropout_mask = kept.astype(self.dtype) * self.dtype.type(1 / (1 - self.dropout))
        w = a if self.dropout_mask is None else a * self.dropout_mask
        out = w @ v
        if query_mask is not None:
            out = np.where(query_mask[..., None], out, self.dtype.type(0))
        self.attention_scores = w
        self._tape = (q, v, k, key_given, t, a, w, query_mask, out.shape)
        return out

    @staticmethod
    def _score_mask(value_mask, score_shape, use_causal_mask):
        """Which scores count, ``(B or 1, Tq or 1, Tv)``: the value mask and, with
        ``use_causal_mask``, ``j <= i`` (Keras compares 1-based cumulative counts)."""
        keep = None if value_mask is None else value_mask[:, None, :]
        if use_causal_mask:
            _, tq, tv = score_shape
            causal = (np.arange(tq)[:, None] >= np.arange(tv)[None, :])[None]
            keep = causal if keep is None else keep & causal
        return keep

    # --- backward -----------------------------------------------------------------------

    def backward(self, d_out, d_scores=None):
        """``d_out (B, Tq, Dv)`` (and ``d_scores (B, Tq, Tv)``, the gradient of the returned
        attention weights, if used) -> ``[d_query, d_value]`` (``+ [d_key]`` when a key was
        given); the ``scale`` gradient goes to ``get_gradients``."""
        q, v, k, key_given, t, a, w, query_mask, out_shape = self._require_tape()
        dout = self._check_grad(d_out, out_shape)
        if query_mask is not None:
            dout = np.where(query_mask[..., None], dout, self.dtype.type(0))
        dw = dout @ np.swapaxes(v, -1, -2)
        if d_scores is not None:
            dw = dw + self._check_grad(d_scores, w.shape, "d_scores")
        dv = np.swapaxes(w, -1, -2) @ dout
        da = dw if self.dropout_mask is None else dw * self.dropout_mask
        ds = _softmax_backward(da, a)[..., None]                    # (B, Tq, Tv, 1)
        if self.use_scale:
            self._gradients = [np.sum(ds * t, axis=(0, 1, 2))]
            dt = ds * self.scale
        else:
            self._gradients = []
            dt = ds
        du = dt * (1 - t * t)
        dq, dk = du.sum(axis=2), du.sum(axis=1)
        return [dq, dv, dk] if key_given else [dq, dv + dk]


# --- BahdanauAttention ------------------------------------------------------------------

class BahdanauAttention(Layer):
    """The attention of Bahdanau et al. (2015) as courses write it with Keras layers::

        W1 = Dense(units); W2 = Dense(units); V = Dense(1)       (in this order)
        score(s_i, h_j) = V(tanh(W1(h_j) + W2(s_i)))
        a_i = softmax_j(score),   c_i = Σ_j a_ij h_j

    ``layer(query, values, mask=values_mask)`` with ``query (B, dec)`` (one decoder step)
    or ``(B, Tq, dec)`` (every step at once, for teacher forcing), ``values (B, Tv, enc)``
    and ``mask (B, Tv)``; returns ``(context, weights)``: ``(B, enc)`` and ``(B, Tv)``, or
    ``(B, Tq, enc)`` and ``(B, Tq, Tv)``.  Masked steps get weight 0 (see the module).

    Weights, in ``get_weights`` order (the Keras construction's)::

        w1_kernel (enc, units), w1_bias (units,), w2_kernel (dec, units), w2_bias (units,),
        v_kernel (units, 1), v_bias (1,)

    (no biases with ``use_bias=False``).  ``v_bias`` shifts every score of a row alike, which
    softmax ignores: its gradient is 0.  With ``z = W1 h_j + W2 s_i``, ``u = tanh(z)`` and
    ``ds`` from the module's formulas::

        dv_kernel = Σ u ds,  dv_bias = Σ ds,   dz = ds v_kernelᵀ ⊙ (1 - u²)
        dW2 = sᵀ Σ_j dz,  dW1 = hᵀ Σ_i dz,   ds_i = Σ_j dz W2ᵀ,   dh_j += Σ_i dz W1ᵀ
    """

    supports_masking = True

    def __init__(self, units, use_bias=True, name=None, dtype="float32", trainable=True,
                 seed=None, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, seed=seed, **kwargs)
        self.units = _checks.positive_int(units, "units")
        self.use_bias = _checks.boolean(use_bias, "use_bias")
        self.attention_weights = None

    def __repr__(self):
        return f"BahdanauAttention(units={self.units}, name={self.name!r})"

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
                "seed": self.seed}

    def build(self, input_shape):
        """Create the weights for ``input_shape = [query_shape, values_shape]``."""
        query_shape, values_shape = _shape_list(input_shape, (2,), "2 (query, values)")
        dec = _checks.positive_int(query_shape[-1], "input_shape[0][-1]")
        enc = _checks.positive_int(values_shape[-1], "input_shape[1][-1]")
        for prefix, rows, cols in (("w1", enc, self.units), ("w2", dec, self.units),
                                   ("v", self.units, 1)):
            self._add_weight(f"{prefix}_kernel", (rows, cols), initializers.glorot_uniform)
            if self.use_bias:
                self._add_weight(f"{prefix}_bias", (cols,), initializers.zeros)
        self.built = True

    def compute_output_shape(self, input_shape):
        """``(context_shape, weights_shape)``."""
        query_shape, values_shape = _shape_list(input_shape, (2,), "2 (query, values)")
        return (*query_shape[:-1], values_shape[-1]), (*query_shape[:-1], values_shape[1])

    def compute_mask(self, inputs, mask=None):
        """None: the mask covers the values' steps, which the context no longer has."""
        return None

    # --- forward ------------------------------------------------------------------------

    def call(self, query, values, mask=None, training=False):
        """``(context, attention_weights)``; ``training`` changes nothing (no dropout)."""
        q, h = self._check_inputs([query, values])
        keep = None if mask is None else _bool_mask(mask, "mask", h.shape[:2])
        if not self.built:
            self.build([q.shape, h.shape])
        for argument, x, weight in (("query", q, self.w2_kernel), ("values", h, self.w1_kernel)):
            if x.shape[-1] != weight.shape[0]:
                raise ValueError(f"`{argument}` must have {weight.shape[0]} features on the "
                                 f"last axis ({self.name} was built for them), got shape "
                                 f"{x.shape}")
        return self._attend(q, h, keep)

    def _check_inputs(self, inputs):
        query, values = inputs
        q = _checks.real_array(query, "query", self.dtype)
        h = _sequence(values, "values", self.dtype)
        if q.ndim not in (2, 3):
            raise ValueError("`query` must have 2 dimensions (batch, features) or 3 (batch, "
                             f"steps, features), got shape {q.shape}")
        if q.shape[0] != h.shape[0]:
            raise ValueError(f"`values` must have the query's batch size {q.shape[0]}, got "
                             f"shape {h.shape} (query {q.shape})")
        return q, h

    def _dense(self, x, prefix):
        y = x @ getattr(self, f"{prefix}_kernel")
        return y + getattr(self, f"{prefix}_bias") if self.use_bias else y

    def _attend(self, q, h, keep):
        one_step = q.ndim == 2
        s = q[:, None, :] if one_step else q                      # (B, Tq, dec)
        u = np.tanh(self._dense(s, "w2")[:, :, None, :]
                    + self._dense(h, "w1")[:, None, :, :])       # (B, Tq, Tv, units)
        score = self._dense(u, "v")[..., 0]                       # (B, Tq, Tv)
        a = activations.softmax(score) if keep is None else _masked_softmax(score, keep)
        context = a @ h
        self._tape = (s, h, u, a, one_step)
        if one_step:
            context, a = context[:, 0], a[:, 0]
        self.attention_weights = a
        return context, a

    # --- backward -----------------------------------------------------------------------

    def backward(self, d_context, d_weights=None):
        """``d_context`` (the context's shape), and ``d_weights`` (the weights' shape) when
        the weights feed the loss, -> ``(d_query, d_values)``; the weight gradients go to
        ``get_gradients`` in ``get_weights`` order."""
        s, h, u, a, one_step = self._require_tape()
        # One decoder step ran as Tq = 1: the gradients get that axis back, then lose it.
        squeeze = (lambda x: x[:, 0]) if one_step else (lambda x: x)
        b, tq, tv = a.shape
        shapes = ((b, h.shape[-1]), (b, tv)) if one_step else ((b, tq, h.shape[-1]), (b, tq, tv))
        dc = self._check_grad(d_context, shapes[0], "d_context").reshape(b, tq, -1)
        da = dc @ np.swapaxes(h, -1, -2)
        if d_weights is not None:
            da = da + self._check_grad(d_weights, shapes[1], "d_weights").reshape(b, tq, tv)
        dh = np.swapaxes(a, -1, -2) @ dc
        ds = _softmax_backward(da, a)                             # (B, Tq, Tv)
        dz = ds[..., None] * self.v_kernel[:, 0] * (1 - u * u)
        d_w2_out, d_w1_out = dz.sum(axis=2), dz.sum(axis=1)       # (B, Tq, units), (B, Tv, ·)
        grads = {"v": (np.tensordot(u, ds, axes=([0, 1, 2], [0, 1, 2]))[:, None],
                       ds.sum(axis=(0, 1, 2))[None]),
                 "w1": _dense_weight_grads(h, d_w1_out),
                 "w2": _dense_weight_grads(s, d_w2_out)}
        self._gradients = [g for prefix in ("w1", "w2", "v")
                           for g in grads[prefix][:1 + self.use_bias]]
        dq = d_w2_out @ self.w2_kernel.T
        dh = dh + d_w1_out @ self.w1_kernel.T
        return squeeze(dq), dh


def _dense_weight_grads(x, dy):
    """``(dkernel, dbias)`` of ``y = x W + b`` over every leading axis of ``x``."""
    rows_x, rows_dy = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])
    return rows_x.T @ rows_dy, rows_dy.sum(axis=0)


def _masked_softmax(score, keep):
    """``softmax_j`` over the steps ``keep[b, j]`` only: 0 elsewhere, and 0 on rows with
    no step kept (rather than 0/0).  The maximum subtracted is that of the kept scores."""
    keep = keep[:, None, :]
    kept = np.where(keep, score, -np.inf)
    top = np.max(kept, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, score.dtype.type(0))
    e = np.where(keep, np.exp(kept - top), score.dtype.type(0))
    total = np.sum(e, axis=-1, keepdims=True)
    return e / np.where(total > 0, total, score.dtype.type(1))
