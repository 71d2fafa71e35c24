"""Parity of the encoder–decoder: a Keras functional seq2seq model and its
``scratchrnn.seq2seq.from_keras`` copy.

The Keras model is the courses' (no attention)::

    e = Embedding(SRC, E, mask_zero=True)(encoder_tokens)
    _, h, c = LSTM(U, return_state=True)(e)
    d = Embedding(TGT, E, mask_zero=True)(decoder_tokens)
    s, _, _ = LSTM(U, return_sequences=True, return_state=True)(d, initial_state=[h, c])
    p = Dense(TGT, activation="softmax")(s)

with uniform(-0.5, 0.5) weights, compiled with sparse categorical crossentropy.  Sources
have random lengths, half of them pre-padded and half post-padded (the encoder is masked);
decoder inputs are ``[start, y_1, ...]`` and targets ``[y_1, ..., end]``, post-padded.

``seq2seq-model-*``
    one batch, teacher forced, ``training=True``: the probabilities, the loss
    (``model.compute_loss``, averaged over the unpadded target steps) and the gradient of
    the loss with respect to every weight (``tf.GradientTape``), paired by layer role;
    plus the parameter count (group ``params``: 0 when equal, inf otherwise).
``seq2seq-zeros-inside-*``
    the same with zeros scattered inside the decoder inputs: Keras 3 does not mask an
    LSTM called with ``initial_state`` (it fills ``mask`` only for a layer called on one
    tensor), so the decoder reads those zeros as tokens while the loss skips them; ours
    must do the same.
``seq2seq-train-*``
    10 steps of ``train_on_batch`` on consecutive batches with Adam and ``clipnorm``:
    each step's loss (group ``loss``; Keras's read by ``compute_loss`` before its step, as
    in :mod:`parity.checks_models`), and in float64 every weight after the last step.
    Tolerances: the training ones of :mod:`parity.checks_models` (1e-9 and 1e-5).
``seq2seq-bridge-*``
    the same architecture written decoder first, with names sorting the other way: the
    copy's outputs (layers are found by their role in the graph); and ``from_keras``
    must refuse a relu output, an encoder returning sequences or going backwards, the
    states passed as ``[c, h]`` and a layer outside the encoder–decoder.

Keras's floatx is set to the check's dtype while it runs (:func:`in_floatx`).
"""

from __future__ import annotations

import numpy as np

from scratchrnn import optimizers as sr_optimizers
from scratchrnn.seq2seq import from_keras

from .checks_models import TRAINING_TOLERANCE, floatx, in_floatx
from .components import Check, Comparison, dtype_suffix, keras_gradients
from .harness import keras, tf

SRC, TGT, EMBED, UNITS = 11, 9, 4, 5
T_IN, T_OUT = 6, 5
START, END = 1, 2
BATCH, STEPS = 6, 10
ROLES = ("encoder_embedding", "encoder", "decoder_embedding", "decoder", "output")


def keras_seq2seq(dtype):
    """The Keras model and its layers by role (in scratchrnn's ``get_weights`` order)."""
    L = keras.layers
    encoder_tokens = keras.Input((None,), dtype="int32", name="encoder_tokens")
    decoder_tokens = keras.Input((None,), dtype="int32", name="decoder_tokens")
    layers = dict(zip(ROLES, (
        L.Embedding(SRC, EMBED, mask_zero=True, dtype=dtype),
        L.LSTM(UNITS, return_state=True, dtype=dtype),
        L.Embedding(TGT, EMBED, mask_zero=True, dtype=dtype),
        L.LSTM(UNITS, return_sequences=True, return_state=True, dtype=dtype),
        L.Dense(TGT, activation="softmax", dtype=dtype))))
    _, h, c = layers["encoder"](layers["encoder_embedding"](encoder_tokens))
    s, _, _ = layers["decoder"](layers["decoder_embedding"](decoder_tokens),
                                initial_state=[h, c])
    model = keras.Model([encoder_tokens, decoder_tokens], layers["output"](s))
    return model, layers


def _data(rng, n, zeros_inside=False):
    """``(source, decoder_input, decoder_target)``, int32."""
    source = np.zeros((n, T_IN), np.int32)
    for i, length in enumerate(rng.integers(2, T_IN + 1, size=n)):
        tokens = rng.integers(1, SRC, size=length)
        if i % 2:
            source[i, :length] = tokens
        else:
            source[i, T_IN - length:] = tokens
    decoder_input = np.zeros((n, T_OUT), np.int32)
    decoder_target = np.zeros((n, T_OUT), np.int32)
    for i, length in enumerate(rng.integers(1, T_OUT + 1, size=n)):
        words = rng.integers(3, TGT, size=length - 1)
        decoder_input[i, :length] = np.concatenate([[START], words])
        decoder_target[i, :length] = np.concatenate([words, [END]])
    if zeros_inside:
        decoder_input = rng.integers(1, TGT, size=(n, T_OUT)).astype(np.int32)
        decoder_input[rng.random((n, T_OUT)) < 0.3] = 0
        decoder_input[:, 0] = START
        decoder_target = rng.integers(1, TGT, size=(n, T_OUT)).astype(np.int32)
    return source, decoder_input, decoder_target


def build_pair(dtype, n, zeros_inside=False, seed=0):
    """The Keras model (compiled), its copy, the Keras layers by role and the data.
    Call it with Keras's floatx set to ``dtype``."""
    rng = np.random.default_rng(seed)
    model, layers = keras_seq2seq(dtype)
    model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(dtype)
                       for w in model.get_weights()])
    options = {"learning_rate": 0.02, "clipnorm": 1.0}
    with floatx("float32"):   # the optimizer's variables as every Keras user has them
        optimizer = keras.optimizers.Adam(**options)
        optimizer.build(model.trainable_variables)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    ours = from_keras(model)
    ours.compile(optimizer=sr_optimizers.Adam(**options))
    return model, ours, layers, _data(rng, n, zeros_inside)


def check_model(dtype, zeros_inside=False):
    @in_floatx
    def run(cmp: Comparison):
        model, ours, layers, (src, dec_in, dec_out) = build_pair(dtype, BATCH, zeros_inside)
        variables = [v.value for role in ROLES for v in layers[role].trainable_variables]
        outputs = []

        def keras_loss():
            y_pred = model([src, dec_in], training=True)
            outputs.append(y_pred)
            return model.compute_loss(x=[src, dec_in], y=dec_out, y_pred=y_pred)

        [loss], grads = keras_gradients(tf, keras_loss, variables, [1.0])
        cmp.add("out", ours(src, dec_in, training=True), np.asarray(outputs[0]))
        our_loss, our_grads = ours.compute_gradients(src, dec_in, dec_out)
        cmp.add("loss", np.asarray(our_loss, dtype), loss)
        cmp.add("dweights", our_grads, grads)
        same = ours.count_params() == model.count_params()
        if not same:
            cmp.problem(f"count_params: scratchrnn {ours.count_params()}, "
                        f"Keras {model.count_params()}")
        cmp.errors["params"] = 0.0 if same else np.inf
    return run


def check_training(dtype):
    @in_floatx
    def run(cmp: Comparison):
        model, ours, layers, data = build_pair(dtype, BATCH * STEPS)
        before = float(model.evaluate(list(data[:2]), data[2], batch_size=len(data[0]),
                                      verbose=0))
        theirs, mine = [], []
        for step in range(STEPS):
            src, dec_in, dec_out = (a[step * BATCH:(step + 1) * BATCH] for a in data)
            # train_on_batch reports through a float32 tracker: read the step's loss
            # (before its update) from the same computation first.
            loss = float(model.compute_loss(x=[src, dec_in], y=dec_out,
                                            y_pred=model([src, dec_in], training=True)))
            reported = float(model.train_on_batch([src, dec_in], dec_out))
            if abs(reported - loss) > 1e-6 * abs(loss):
                cmp.problem(f"step {step}: Keras's train_on_batch reported {reported}, its "
                            f"loss before the step was {loss}")
            theirs.append(loss)
            mine.append(ours.train_on_batch(src, dec_in, dec_out))
        cmp.errors["loss"] = float(np.max(np.abs(np.subtract(mine, theirs))
                                          / np.abs(theirs)))
        if not np.all(np.isfinite(mine)):
            cmp.problem(f"non-finite losses: {mine}")
        after = float(model.evaluate(list(data[:2]), data[2], batch_size=len(data[0]),
                                     verbose=0))
        if not after < before:
            cmp.problem(f"training did not lower the loss ({before:.4g} -> {after:.4g}): "
                        "the check would compare nothing worth comparing")
        if dtype == "float64":
            cmp.add("weights", ours.get_weights(),
                    [w for role in ROLES for w in layers[role].get_weights()])
    return run


def _shuffled_keras_seq2seq(dtype, variant=None):
    """The same architecture written decoder first, with names that sort the other way,
    or (``variant``) one of the shapes ``from_keras`` must refuse."""
    L = keras.layers
    encoder_tokens = keras.Input((None,), dtype="int32")
    decoder_tokens = keras.Input((None,), dtype="int32")
    dec_embedding = L.Embedding(TGT, EMBED, mask_zero=True, name="a", dtype=dtype)
    output = L.Dense(TGT, activation="relu" if variant == "relu" else "softmax", name="b",
                     dtype=dtype)
    decoder = L.LSTM(UNITS, return_sequences=True, return_state=True, name="c", dtype=dtype)
    encoder = L.LSTM(UNITS, return_state=True, return_sequences=variant == "sequences",
                     go_backwards=variant == "go_backwards", name="d", dtype=dtype)
    enc_embedding = L.Embedding(SRC, EMBED, mask_zero=True, name="e", dtype=dtype)
    d = dec_embedding(decoder_tokens)
    _, h, c = encoder(enc_embedding(encoder_tokens))
    s, _, _ = decoder(d, initial_state=[c, h] if variant == "swapped_states" else [h, c])
    if variant == "dropout":
        s = L.Dropout(0.1)(s)
    return keras.Model([encoder_tokens, decoder_tokens], output(s))


REFUSED = ("relu", "sequences", "go_backwards", "swapped_states", "dropout")


def check_bridge(dtype):
    @in_floatx
    def run(cmp: Comparison):
        rng = np.random.default_rng(1)
        model = _shuffled_keras_seq2seq(dtype)
        model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(dtype)
                           for w in model.get_weights()])
        src, dec_in, _ = _data(rng, BATCH)
        cmp.add("out", from_keras(model)(src, dec_in), np.asarray(model([src, dec_in])))
        for variant in REFUSED:
            try:
                from_keras(_shuffled_keras_seq2seq(dtype, variant))
            except ValueError:
                continue
            cmp.problem(f"from_keras accepted a model with {variant}")
    return run


DTYPES = ("float64", "float32")
CHECKS = (
    [Check(f"seq2seq-model-{dtype_suffix(d)}", "model", d, check_model(d),
           options="encoder-decoder, teacher forcing, masks") for d in DTYPES]
    + [Check(f"seq2seq-zeros-inside-{dtype_suffix(d)}", "model", d,
             check_model(d, zeros_inside=True),
             options="zeros inside the decoder inputs (the decoder is not masked)")
       for d in DTYPES]
    + [Check(f"seq2seq-train-{dtype_suffix(d)}", "model", d, check_training(d),
             options=f"Adam clipnorm, {STEPS} train_on_batch steps",
             tolerance=TRAINING_TOLERANCE[d]) for d in DTYPES]
    + [Check(f"seq2seq-bridge-{dtype_suffix(d)}", "model", d, check_bridge(d),
             options="layers found by role, not order or name; refusals") for d in DTYPES]
)
