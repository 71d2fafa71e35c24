"""The course's ``SimpleAttention``, a custom layer, ported to scratchrnn with its backward.

The course writes it for tf.keras, where autodiff gives the gradients::

    class SimpleAttention(tf.keras.layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.W1 = tf.keras.layers.Dense(units)
            self.W2 = tf.keras.layers.Dense(units)
            self.V = tf.keras.layers.Dense(1)

        def call(self, encoder_outputs, decoder_hidden):
            decoder_expanded = tf.expand_dims(decoder_hidden, 1)
            score = self.V(tf.nn.tanh(self.W1(encoder_outputs) + self.W2(decoder_expanded)))
            attention_weights = tf.nn.softmax(score, axis=1)
            context = tf.reduce_sum(attention_weights * encoder_outputs, axis=1)
            return context, tf.squeeze(attention_weights, -1)

Here the same layer is a :class:`scratchrnn.layers.Layer` subclass: the same sub-layers
(tracked because they are attributes, so ``weights``, ``get_weights``, the optimizer and
``summary`` see them, in Keras's order W1, W2, V), ``call`` in NumPy, which keeps on
``self._tape`` what the backward needs, and ``backward``, the chain rule written out
step by step in reverse.  With ``E`` the encoder's features, ``H`` the decoder's and
``U = units``::

    forward                                         backward (d_context, d_weights given)
    e = W1(enc)              (B, T, U)              d_a   = Σ_E d_context·enc + d_weights
    d = W2(dec[:, None])     (B, 1, U)              d_enc = a · d_context
    t = tanh(e + d)          (B, T, U)              d_s   = a (d_a - Σ_T a·d_a)   softmax
    s = V(t)                 (B, T, 1)              d_t   = V.backward(d_s)
    a = softmax_T(s)         (B, T, 1)              d_z   = d_t (1 - t²)          tanh
    context = Σ_T a · enc    (B, E)                 d_enc += W1.backward(d_z)
    weights = a[..., 0]      (B, T)                 d_dec = W2.backward(Σ_T d_z)

It is checked against finite differences in ``tests/test_attention_layer.py``
(``sr.testing.check_gradients``) and against the tf.keras layer inside a functional
model, trained with ``fit``, in ``parity/checks_functional.py``.
"""

import numpy as np

from ..layers import Dense, Layer


class SimpleAttention(Layer):
    """Additive (Bahdanau) attention of a decoder state over the encoder's outputs:
    ``context, weights = attention(encoder_outputs, decoder_hidden)`` with
    ``encoder_outputs (B, T, E)``, ``decoder_hidden (B, H)`` -> ``context (B, E)``,
    ``weights (B, T)`` (they sum to 1 over T)."""

    def __init__(self, units, name=None, dtype="float32", trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.units = units
        self.W1 = Dense(units, dtype=dtype)
        self.W2 = Dense(units, dtype=dtype)
        self.V = Dense(1, dtype=dtype)

    def get_config(self):
        return {**super().get_config(), "units": self.units}

    def call(self, encoder_outputs, decoder_hidden):
        enc, dec = encoder_outputs, decoder_hidden                   # (B, T, E), (B, H)
        t = np.tanh(self.W1(enc) + self.W2(dec[:, None, :]))         # (B, T, U)
        score = self.V(t)                                            # (B, T, 1)
        shifted = np.exp(score - score.max(axis=1, keepdims=True))   # a stable softmax
        a = shifted / shifted.sum(axis=1, keepdims=True)             # (B, T, 1) over T
        context = (a * enc).sum(axis=1)                              # (B, E)
        self._tape = (enc, t, a)
        return context, a[..., 0]

    def backward(self, d_outputs):
        """``[d_context (B, E), d_weights (B, T) or None]`` -> ``(d_encoder_outputs,
        d_decoder_hidden)``; the Dense layers' backward set their weight gradients."""
        enc, t, a = self._require_tape()
        d_context, d_weights = d_outputs
        d_a = (d_context[:, None, :] * enc).sum(axis=-1, keepdims=True)   # (B, T, 1)
        if d_weights is not None:
            d_a = d_a + d_weights[..., None]
        d_enc = a * d_context[:, None, :]                    # context = Σ_T a · enc
        d_score = a * (d_a - (a * d_a).sum(axis=1, keepdims=True))        # softmax over T
        d_t = self.V.backward(d_score)                                    # (B, T, U)
        d_z = d_t * (1.0 - t * t)                                         # tanh
        d_enc = d_enc + self.W1.backward(d_z)                             # (B, T, E)
        d_dec = self.W2.backward(d_z.sum(axis=1, keepdims=True))[:, 0, :]  # (B, H)
        return d_enc, d_dec
