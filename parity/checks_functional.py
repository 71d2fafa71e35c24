"""Parity of functional models: a Keras ``Model(inputs, outputs)`` and its
``scratchrnn.from_keras`` copy, graph for graph.

For each architecture below, in float64 and float32:

``functional-<arch>``
    one batch through both models: the predictions (group ``out``); the gradient of the
    compiled loss with respect to every weight (``dweights``: Keras's ``tf.GradientTape``
    around ``model(x, training=True)`` and ``compute_loss``; ours the loss's gradient,
    ``model.backward`` and ``get_gradients``); and for ``sum(out * G)`` with a random
    ``G`` per output, the gradients of every float input (``dx``) and weight
    (``dweights_G``).  The weight lists must agree in order and shapes (Keras's
    ``get_weights`` order) and the layer names must be Keras's.
``train-functional-<arch>``
    10 steps of ``train_on_batch`` on consecutive batches (no shuffling, no dropout): the
    loss of every step (group ``loss``, Keras's read from its compiled loss before the
    step: its ``train_on_batch`` reports through a float32 tracker) and every weight after
    the 10th step (``weights``; in float32 only under SGD, see
    :func:`weights_comparable`).  The suite's tolerances hold (float64 1e-10, float32
    1e-5); measured: 2e-14 in float64 (1.1e-12 for ``custom-attention``, in the bias of
    ``V``, whose exact gradient is zero), 2.1e-7 in float32.
``fit-custom-attention``
    the course's ``SimpleAttention`` (tf.keras, autodiff) against its NumPy port with a
    hand-written backward (:mod:`scratchrnn.demos.attention_layer`), inside a functional
    model, trained with ``fit`` (10 batches, ``shuffle=False``) on both sides: every
    step's loss and (float64: Adam, see :func:`weights_comparable`) the weights after
    every step.

Architectures (batch 8, at most 6 steps and 8 units: a check takes 0.1 to 3 s here,
most of it Keras tracing its train function, about 1 s a model):

- ``two-inputs``: a sequence through an LSTM and a vector through a Dense, concatenated,
  a Dense on top; mse; Adam.
- ``shared``: one GRU called on two sequences (a layer shared between branches), their
  ``Subtract`` and ``Multiply`` concatenated; binary crossentropy on a sigmoid Dense
  (from its logits, as Keras 3 does); Adam.
- ``residual``: ``Add([x, LSTM(return_sequences)(x)])`` (a skip connection: ``x`` fans
  out), then an LSTM and a Dense; mse; SGD with momentum.
- ``merges``: two vectors through Dense layers merged by ``Average``, ``Subtract``,
  ``Multiply``, ``Dot`` and ``Concatenate``; mse; Adam.
- ``additive-attention``: Keras's ``AdditiveAttention([query, value])`` between an LSTM's
  sequence and a projected query, pooled; mse; Adam.
- ``seq2seq``: the course's encoder-decoder as the course writes it (float ``Input``
  tokens, ``LSTM(return_state=True)`` -> decoder ``LSTM(initial_state=...)`` whose own
  returned states go unused, softmax ``Dense``); sparse categorical crossentropy; Adam.
- ``two-outputs``: an LSTM feeding a regression head (mse) and a softmax head (sparse
  crossentropy), ``loss_weights=[0.3, 1.0]``; Adam.
- ``rnn-cells``: ``RNN(LSTMCell)`` returning sequences into ``RNN(StackedRNNCells([GRUCell,
  LSTMCell]), return_state=True)``, its output and last ``h`` concatenated; mse; SGD.
- ``rnn-cell-list``: ``RNN([SimpleRNNCell, LSTMCell], go_backwards=True)`` (a list of
  cells, stacked by the layer) on a masked sequence (``Masking``); mse; Adam.
- ``custom-attention``: the course's ``SimpleAttention`` on an encoder LSTM's sequence
  and its final ``h``; the context and ``h`` concatenated into a Dense; mse; Adam.
- ``sequential-twice``: a ``keras.Sequential`` holding the same ``Dense`` twice (its
  weights used by both calls, its gradient their sum); mse; SGD.
"""

from __future__ import annotations

import contextlib

import numpy as np

import scratchrnn as sr
from scratchrnn.demos.attention_layer import SimpleAttention as OurSimpleAttention

from .checks_models import floatx
from .components import Check, Comparison, dtype_suffix, keras_gradients
from .harness import keras, tf

BATCH = 8
STEPS = 10
L = keras.layers


@contextlib.contextmanager
def precision(dtype):
    """Keras's floatx *and* its global dtype policy set to ``dtype`` while a check runs.
    The layers here take no ``dtype`` (as the course writes them), so they follow the
    global policy; Keras makes that policy from floatx once, the first time a layer asks,
    and keeps it: ``set_floatx`` alone would leave later models in the first dtype."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)
    try:
        with floatx(dtype):
            yield
    finally:
        keras.config.set_dtype_policy(previous)


def in_precision(run):
    """Run a check under :func:`precision` of its dtype (see
    :func:`parity.checks_models.in_floatx` for why the compiled loss needs floatx)."""
    def wrapped(cmp: Comparison):
        with precision(cmp.dtype):
            run(cmp)
    return wrapped


# --- the course's custom layer, as the course writes it (tf.keras) ---------------------------

class SimpleAttention(keras.layers.Layer):
    """The course's layer, verbatim but for the docstring."""

    def __init__(self, units):
        super().__init__()
        self.W1 = keras.layers.Dense(units)
        self.W2 = keras.layers.Dense(units)
        self.V = keras.layers.Dense(1)

    def call(self, encoder_outputs, decoder_hidden):
        decoder_expanded = tf.expand_dims(decoder_hidden, 1)
        score = self.V(tf.nn.tanh(self.W1(encoder_outputs) + self.W2(decoder_expanded)))
        attention_weights = tf.nn.softmax(score, axis=1)
        context = tf.reduce_sum(attention_weights * encoder_outputs, axis=1)
        return context, tf.squeeze(attention_weights, -1)


#: How from_keras makes our port of a Keras SimpleAttention.
CUSTOM_OBJECTS = {"SimpleAttention": lambda layer: OurSimpleAttention(
    layer.W1.units, dtype=keras.config.floatx())}


# --- the architectures: (Keras model, x, y, loss, loss_weights, optimizer) ---------------------

def _normal(rng, shape, dtype):
    return rng.normal(size=shape).astype(dtype)


def two_inputs(dtype, rng):
    seq, vec = keras.Input((5, 3), name="sequence"), keras.Input((4,), name="vector")
    h = L.LSTM(6, name="encoder")(seq)
    v = L.Dense(6, activation="tanh")(vec)
    out = L.Dense(1)(L.Concatenate()([h, v]))
    n = BATCH * STEPS
    x = [_normal(rng, (n, 5, 3), dtype), _normal(rng, (n, 4), dtype)]
    y = (x[0][:, :, 0].mean(axis=1, keepdims=True) + 0.3 * x[1][:, :1]).astype(dtype)
    return keras.Model([seq, vec], out), x, y, "mse", None, ("Adam", {"learning_rate": 0.02})


def shared(dtype, rng):
    a, b = keras.Input((6, 3)), keras.Input((6, 3))
    gru = L.GRU(5, name="shared_gru")
    ha, hb = gru(a), gru(b)
    merged = L.Concatenate()([L.Subtract()([ha, hb]), L.Multiply()([ha, hb])])
    out = L.Dense(1, activation="sigmoid")(merged)
    n = BATCH * STEPS
    x = [_normal(rng, (n, 6, 3), dtype), _normal(rng, (n, 6, 3), dtype)]
    y = (x[0][:, -1, :1] > x[1][:, -1, :1]).astype(dtype)
    return (keras.Model([a, b], out), x, y, "binary_crossentropy", None,
            ("Adam", {"learning_rate": 0.02}))


def residual(dtype, rng):
    x_in = keras.Input((6, 4))
    skip = L.Add()([x_in, L.LSTM(4, return_sequences=True)(x_in)])
    out = L.Dense(2)(L.LSTM(5)(skip))
    n = BATCH * STEPS
    x = _normal(rng, (n, 6, 4), dtype)
    y = np.stack([x[:, :, 0].sum(axis=1), x[:, -1, 1]], axis=1).astype(dtype) * 0.3
    return (keras.Model(x_in, out), x, y, "mse", None,
            ("SGD", {"learning_rate": 0.05, "momentum": 0.9}))


def merges(dtype, rng):
    a, b = keras.Input((5,)), keras.Input((5,))
    pa, pb = L.Dense(6, activation="tanh")(a), L.Dense(6, activation="tanh")(b)
    parts = [L.Average()([pa, pb]), L.Subtract()([pa, pb]), L.Multiply()([pa, pb]),
             L.Dot(axes=1)([pa, pb])]
    out = L.Dense(1)(L.Concatenate()(parts))
    n = BATCH * STEPS
    x = [_normal(rng, (n, 5), dtype), _normal(rng, (n, 5), dtype)]
    y = (x[0][:, :1] * x[1][:, :1]).astype(dtype)
    return keras.Model([a, b], out), x, y, "mse", None, ("Adam", {"learning_rate": 0.02})


def additive_attention(dtype, rng):
    query, values = keras.Input((4, 3)), keras.Input((6, 3))
    seq = L.LSTM(5, return_sequences=True)(values)
    q = L.Dense(5)(query)
    attended = L.AdditiveAttention()([q, seq])
    out = L.Dense(1)(L.GlobalAveragePooling1D()(attended))
    n = BATCH * STEPS
    x = [_normal(rng, (n, 4, 3), dtype), _normal(rng, (n, 6, 3), dtype)]
    y = (x[1][:, :, 0].mean(axis=1, keepdims=True) - x[0][:, 0, :1]).astype(dtype)
    return (keras.Model([query, values], out), x, y, "mse", None,
            ("Adam", {"learning_rate": 0.02}))


def seq2seq(dtype, rng):
    vocab, steps, embedding_dim, latent_dim = 8, 5, 4, 6
    encoder_inputs = keras.Input(shape=(steps,), name="encoder_input")
    encoder_embedding = L.Embedding(vocab, embedding_dim)(encoder_inputs)
    encoder_lstm = L.LSTM(latent_dim, return_state=True, name="encoder_lstm")
    _, state_h, state_c = encoder_lstm(encoder_embedding)
    decoder_inputs = keras.Input(shape=(steps,), name="decoder_input")
    decoder_embedding = L.Embedding(vocab, embedding_dim)(decoder_inputs)
    decoder_lstm = L.LSTM(latent_dim, return_sequences=True, return_state=True,
                          name="decoder_lstm")
    decoder_outputs, _, _ = decoder_lstm(decoder_embedding, initial_state=[state_h, state_c])
    outputs = L.Dense(vocab, activation="softmax", name="output")(decoder_outputs)
    n = BATCH * STEPS
    source = rng.integers(1, vocab, size=(n, steps))
    target = source[:, ::-1]
    decoder_in = np.concatenate([np.zeros((n, 1), int), target[:, :-1]], axis=1)
    x = [source.astype(dtype), decoder_in.astype(dtype)]       # float tokens, as the course
    return (keras.Model([encoder_inputs, decoder_inputs], outputs), x,
            target.astype("int32"), "sparse_categorical_crossentropy", None,
            ("Adam", {"learning_rate": 0.02}))


def two_outputs(dtype, rng):
    x_in = keras.Input((5, 3))
    h = L.LSTM(6)(x_in)
    value = L.Dense(1, name="value")(h)
    label = L.Dense(3, activation="softmax", name="label")(h)
    n = BATCH * STEPS
    x = _normal(rng, (n, 5, 3), dtype)
    y = [x[:, :, 0].mean(axis=1, keepdims=True).astype(dtype),
         (np.argmax(x[:, -1, :], axis=1)).astype("int32")]
    return (keras.Model(x_in, [value, label]), x, y, ["mse", "sparse_categorical_crossentropy"],
            [0.3, 1.0], ("Adam", {"learning_rate": 0.02}))


def rnn_cells(dtype, rng):
    x_in = keras.Input((6, 3))
    seq = L.RNN(L.LSTMCell(5), return_sequences=True)(x_in)
    out, gru_h, (lstm_h, _) = L.RNN(L.StackedRNNCells([L.GRUCell(4), L.LSTMCell(3)]),
                                    return_state=True)(seq)
    y_out = L.Dense(1)(L.Concatenate()([out, gru_h, lstm_h]))
    n = BATCH * STEPS
    x = _normal(rng, (n, 6, 3), dtype)
    y = x[:, :, 1].mean(axis=1, keepdims=True).astype(dtype)
    return (keras.Model(x_in, y_out), x, y, "mse", None,
            ("SGD", {"learning_rate": 0.05, "momentum": 0.5}))


def rnn_cell_list(dtype, rng):
    x_in = keras.Input((6, 3))
    masked = L.Masking()(x_in)
    h = L.RNN([L.SimpleRNNCell(4), L.LSTMCell(5)], go_backwards=True)(masked)
    out = L.Dense(1)(h)
    n = BATCH * STEPS
    x = _normal(rng, (n, 6, 3), dtype)
    for row, length in zip(x, rng.integers(2, 7, size=n)):
        row[length:] = 0.0                                   # post-padded, masked
    y = x[:, 0, :1].astype(dtype)
    return keras.Model(x_in, out), x, y, "mse", None, ("Adam", {"learning_rate": 0.02})


def custom_attention(dtype, rng):
    enc_in = keras.Input((6, 3))
    seq, h, _ = L.LSTM(5, return_sequences=True, return_state=True)(enc_in)
    context, _ = SimpleAttention(4)(seq, h)
    out = L.Dense(2)(L.Concatenate()([context, h]))
    n = BATCH * STEPS
    x = _normal(rng, (n, 6, 3), dtype)
    y = np.stack([x[:, :, 0].max(axis=1), x[:, 2, 1]], axis=1).astype(dtype)
    return keras.Model(enc_in, out), x, y, "mse", None, ("Adam", {"learning_rate": 0.02})


def sequential_twice(dtype, rng):
    dense = L.Dense(4, activation="tanh")
    model = keras.Sequential([keras.Input((4,)), dense, dense, L.Dense(1)])
    n = BATCH * STEPS
    x = _normal(rng, (n, 4), dtype)
    y = (x[:, :1] - x[:, 1:2]).astype(dtype) * 0.5
    return model, x, y, "mse", None, ("SGD", {"learning_rate": 0.05})


ARCHITECTURES = {f.__name__.replace("_", "-"): f for f in (
    two_inputs, shared, residual, merges, additive_attention, seq2seq, two_outputs,
    rnn_cells, rnn_cell_list, custom_attention, sequential_twice)}


# --- the pair: Keras's model, compiled, and its from_keras copy --------------------------------

def build_pair(arch, dtype, seed=0):
    """Keras's model (random weights, compiled, eager), ours (``from_keras``, compiled
    alike), ``x``, ``y``.  Call it with Keras's floatx set to ``dtype``."""
    rng = np.random.default_rng(seed)
    model, x, y, loss, loss_weights, (opt_name, opt_args) = ARCHITECTURES[arch](dtype, rng)
    model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(dtype)
                       for w in model.get_weights()])
    with floatx("float32"):   # the optimizer's variables as every Keras user has them
        optimizer = getattr(keras.optimizers, opt_name)(**opt_args)
        optimizer.build(model.trainable_variables)
    model.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights)
    ours = sr.from_keras(model, custom_objects=CUSTOM_OBJECTS)
    ours.compile(optimizer=getattr(sr.optimizers, opt_name)(**opt_args), loss=loss,
                 loss_weights=loss_weights)
    return model, ours, x, y


def weights_comparable(ours, dtype):
    """Whether the weights after training are compared: always in float64; in float32
    only under SGD.  Adam divides each gradient element by its own root mean square, so
    an element whose gradient is near zero (rounding noise in float32, in Keras as here)
    moves by up to a full step of either sign: the weights then differ by ~lr where the
    losses agree to 1e-7 (measured: additive-attention 1.2e-5, custom-attention 2.6e-4,
    the latter in the bias of ``V``, whose gradient is exactly zero in exact arithmetic
    because a softmax ignores a shift of all its scores)."""
    return dtype == "float64" or not isinstance(ours.optimizer, sr.optimizers.Adam)


def _batch(data, step):
    part = slice(step * BATCH, (step + 1) * BATCH)
    return [d[part] for d in data] if isinstance(data, list) else data[part]


def _flat(value):
    if isinstance(value, dict):
        return [np.asarray(v) for v in value.values()]
    if isinstance(value, (list, tuple)):
        return [np.asarray(v) for v in value]
    return [np.asarray(value)]


def _same_structure(cmp, model, ours):
    """Layer names and the weight list (order, shapes) must be Keras's."""
    theirs = [layer.name for layer in model.layers]
    mine = [layer.name for layer in ours.layers]
    if theirs != mine:
        cmp.problem(f"layers: scratchrnn {mine}, Keras {theirs}")
    shapes = [tuple(w.shape) for w in ours.get_weights()]
    expected = [tuple(w.shape) for w in model.get_weights()]
    if shapes != expected:
        cmp.problem(f"weight shapes: scratchrnn {shapes}, Keras {expected}")
    if ours.count_params() != model.count_params():
        cmp.problem(f"count_params: scratchrnn {ours.count_params()}, Keras "
                    f"{model.count_params()}")


def keras_loss_function(model):
    """Keras's compiled loss of ``model`` on a batch, at ``training=True``, traced once
    (eagerly, a recurrent model's loss takes ~0.1 s a call)."""
    return tf.function(lambda x, y: model.compute_loss(x=x, y=y,
                                                       y_pred=model(x, training=True)))


def _our_loss_gradients(ours, x, y):
    """Our compiled loss on one batch and its gradient with respect to every weight
    (``get_weights`` order): forward, the loss's gradient, ``backward``."""
    ours(x, training=True)
    total, _, grads, logits_outputs = ours._losses_and_gradients(y, ours._run, None, True)
    ours.backward(ours._structure(grads), logits_outputs)
    return total, ours.get_gradients()


def check_model(arch, dtype):
    @in_precision
    def run(cmp: Comparison):
        model, ours, x, y = build_pair(arch, dtype)
        _same_structure(cmp, model, ours)
        xb, yb = _batch(x, 0), _batch(y, 0)
        cmp.add("out", _flat(ours.predict(xb)), _flat(model(xb, training=False)))

        variables = [v.value for v in model.trainable_variables]
        [keras_loss], keras_grads = keras_gradients(
            tf, lambda: model.compute_loss(x=xb, y=yb, y_pred=model(xb, training=True)),
            variables, [1.0])
        loss, grads = _our_loss_gradients(ours, xb, yb)
        cmp.add("loss", np.asarray(loss), keras_loss)
        cmp.add("dweights", grads, keras_grads)

        # sum(out * G): every float input's gradient, and the weights' again
        xs = xb if isinstance(xb, list) else [xb]
        tensors = [tf.constant(a) for a in xs]
        floats = [t for t, a in zip(tensors, xs) if a.dtype.kind == "f"
                  and not arch == "seq2seq"]            # tokens: no gradient to compare
        outs = _flat(ours(xb, training=True))
        rng = np.random.default_rng(1)
        upstream = [rng.normal(size=o.shape).astype(dtype) for o in outs]
        d_inputs = ours.backward(upstream if len(outs) > 1 else upstream[0])
        mine = ours.get_gradients()
        call_x = tensors if isinstance(xb, list) else tensors[0]
        _, theirs = keras_gradients(tf, lambda: model(call_x, training=True),
                                    variables + floats, upstream)
        d_inputs = d_inputs if isinstance(d_inputs, list) else [d_inputs]
        if floats:
            cmp.add("dx", [d for d, a in zip(d_inputs, xs) if a.dtype.kind == "f"],
                    theirs[len(variables):])
        cmp.add("dweights_G", mine, theirs[:len(variables)])
    return run


def check_training(arch, dtype):
    @in_precision
    def run(cmp: Comparison):
        model, ours, x, y = build_pair(arch, dtype)
        theirs, mine = [], []
        keras_loss = keras_loss_function(model)
        for step in range(STEPS):
            xb, yb = _batch(x, step), _batch(y, step)
            theirs.append(float(keras_loss(xb, yb)))
            model.train_on_batch(xb, yb)
            mine.append(float(ours.train_on_batch(xb, yb)))
        cmp.errors["loss"] = float(np.max(np.abs(np.subtract(mine, theirs))
                                          / np.abs(theirs)))
        if not np.all(np.isfinite(mine)):
            cmp.problem(f"non-finite losses: {mine}")
        if weights_comparable(ours, dtype):
            cmp.add("weights", ours.get_weights(), model.get_weights())
    return run


class _Recorder:
    """Per step of ``fit``: the loss of the batch about to be trained on (from the
    model's own loss, before the step) and all the weights after it."""

    def __init__(self, loss_of, x, y):
        self.loss_of, self.x, self.y = loss_of, x, y
        self.losses, self.weights = [], []

    def begin(self, batch):
        self.losses.append(float(self.loss_of(_batch(self.x, batch), _batch(self.y, batch))))

    def end(self, weights):
        self.weights.append([np.asarray(w) for w in weights])


def check_fit_custom_attention(dtype):
    @in_precision
    def run(cmp: Comparison):
        model, ours, x, y = build_pair("custom-attention", dtype)
        keras_rec = _Recorder(keras_loss_function(model), x, y)
        our_rec = _Recorder(lambda xb, yb: ours.test_on_batch(xb, yb), x, y)

        class KerasHook(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                keras_rec.begin(batch)

            def on_train_batch_end(self, batch, logs=None):
                keras_rec.end(model.get_weights())

        class OurHook(sr.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                our_rec.begin(batch)

            def on_train_batch_end(self, batch, logs=None):
                our_rec.end(ours.get_weights())

        model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
                  callbacks=[KerasHook()])
        ours.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
                 callbacks=[OurHook()])
        if len(our_rec.losses) != STEPS or len(keras_rec.losses) != STEPS:
            cmp.problem(f"steps: scratchrnn {len(our_rec.losses)}, Keras "
                        f"{len(keras_rec.losses)}, expected {STEPS}")
        cmp.errors["loss"] = float(np.max(np.abs(np.subtract(our_rec.losses, keras_rec.losses))
                                          / np.abs(keras_rec.losses)))
        if weights_comparable(ours, dtype):
            for mine, theirs in zip(our_rec.weights, keras_rec.weights):
                cmp.add("weights", mine, theirs)
        if not our_rec.losses[-1] < our_rec.losses[0]:
            cmp.problem(f"the loss did not fall over the steps: {our_rec.losses}")
    return run


DTYPES = ("float64", "float32")

CHECKS = [
    Check(f"functional-{arch}-{dtype_suffix(dtype)}", "model", dtype,
          check_model(arch, dtype), options=arch)
    for arch in ARCHITECTURES for dtype in DTYPES
] + [
    Check(f"train-functional-{arch}-{dtype_suffix(dtype)}", "training", dtype,
          check_training(arch, dtype), options=f"{arch}, {STEPS} train_on_batch steps")
    for arch in ARCHITECTURES for dtype in DTYPES
] + [
    Check(f"fit-custom-attention-{dtype_suffix(dtype)}", "training", dtype,
          check_fit_custom_attention(dtype),
          options=f"SimpleAttention (hand-written backward) in a model, fit, {STEPS} steps")
    for dtype in DTYPES
]
