"""Parity of whole models: a Keras ``Sequential`` and its ``scratchrnn.from_keras`` copy.

For each architecture of a course on RNNs (below), in float64 and float32:

``model-<arch>``
    one batch through both models: the predictions, the loss, and the gradient of the
    loss with respect to every weight (Keras: ``tf.GradientTape`` around
    ``model(x, training=True)`` and the compiled loss; scratchrnn: ``forward``, the
    loss's gradient, ``backward``), plus ``summary()``'s parameter count against Keras's
    ``count_params()`` (group ``params``: 0 when equal, inf otherwise);
``train-<arch>``
    20 steps of ``train_on_batch`` on the same batches (no shuffling, no dropout), the
    same optimizer with gradient clipping: the loss of every step (group ``loss``), and
    in float64 every weight after the 20th step (group ``weights``).  Tolerances are the
    issue's: 1e-9 relative in float64, 1e-5 in float32 (measured: 2e-15 and 4e-7).
    Weights are compared in float64 only: in float32 Adam divides each
    near-zero gradient by its own near-zero root mean square, so one rounding of a
    vanishing gradient can move a weight by a full step while the loss does not notice.

Architectures:

- ``sentiment``: int tokens (0 = padding, pre-padded) → Embedding(mask_zero) →
  Bidirectional(LSTM) → Dense(1, sigmoid); binary crossentropy (from the logits, as
  Keras 3 does); Adam with ``clipnorm``.
- ``stacked``: LSTM(return_sequences) → LSTM → Dense(1); mse; SGD with Nesterov
  momentum and ``global_clipnorm``.
- ``forecaster``: Conv1D(causal, relu) → MaxPooling1D → LSTM → Dense(1); Huber; RMSprop
  with ``clipvalue``.
- ``tagger``: Embedding(mask_zero) → GRU(return_sequences) → TimeDistributed(Dense(softmax));
  sparse categorical crossentropy averaged over the unmasked steps only; Adam with
  ``global_clipnorm``.
- ``frozen``: a frozen pretrained Embedding → SimpleRNN → Dense(3, softmax), one-hot
  targets, categorical crossentropy; SGD (the embedding must not move).
"""

from __future__ import annotations

import contextlib

import numpy as np

import scratchrnn as sr

from .components import Check, Comparison, dtype_suffix, keras_gradients
from .harness import keras, tf

STEPS = 20
BATCH = 8
TRAINING_TOLERANCE = {"float64": 1e-9, "float32": 1e-5}
VOCAB, STEPS_T = 30, 9


@contextlib.contextmanager
def floatx(dtype):
    """Keras's default float type while a model is built: its optimizer keeps the
    learning rate and its scalars in it."""
    previous = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(previous)


def _tokens(rng, n):
    """Pre-padded token sequences of random lengths 2..T (0 is the padding index)."""
    x = rng.integers(1, VOCAB, size=(n, STEPS_T))
    for row, length in zip(x, rng.integers(2, STEPS_T + 1, size=n)):
        row[: STEPS_T - length] = 0
    return x.astype("int32")


def sentiment(dtype, rng):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((STEPS_T,), dtype="int32"),
        L.Embedding(VOCAB, 6, mask_zero=True, dtype=dtype),
        L.Bidirectional(L.LSTM(5, dtype=dtype), dtype=dtype),
        L.Dense(1, activation="sigmoid", dtype=dtype),
    ])
    x = _tokens(rng, BATCH * STEPS)
    y = (x[:, -1] > VOCAB // 2).astype(dtype)[:, None]      # learnable: the last token decides
    return model, "binary_crossentropy", ("Adam", {"learning_rate": 0.02, "clipnorm": 0.5}), x, y


def stacked(dtype, rng):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((7, 3), dtype=dtype),
        L.LSTM(6, return_sequences=True, dtype=dtype),
        L.LSTM(4, dtype=dtype),
        L.Dense(1, dtype=dtype),
    ])
    x = rng.normal(size=(BATCH * STEPS, 7, 3)).astype(dtype)
    y = (x[:, :, 0].sum(axis=1, keepdims=True) * 0.3).astype(dtype)
    opt = ("SGD", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True,
                   "global_clipnorm": 1.0})
    return model, "mse", opt, x, y


def forecaster(dtype, rng):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((12, 1), dtype=dtype),
        L.Conv1D(6, 3, padding="causal", activation="relu", dtype=dtype),
        L.MaxPooling1D(2, dtype=dtype),
        L.LSTM(5, dtype=dtype),
        L.Dense(1, dtype=dtype),
    ])
    t = np.arange(BATCH * STEPS + 13)
    series = np.sin(t / 3.0) + 0.1 * rng.normal(size=t.shape)
    x = np.stack([series[i:i + 12] for i in range(BATCH * STEPS)])[:, :, None].astype(dtype)
    y = series[12:12 + BATCH * STEPS, None].astype(dtype)
    return model, "huber", ("RMSprop", {"learning_rate": 0.01, "clipvalue": 0.1}), x, y


def tagger(dtype, rng):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((STEPS_T,), dtype="int32"),
        L.Embedding(VOCAB, 6, mask_zero=True, dtype=dtype),
        L.GRU(7, return_sequences=True, dtype=dtype),
        L.TimeDistributed(L.Dense(4, activation="softmax", dtype=dtype), dtype=dtype),
    ])
    x = _tokens(rng, BATCH * STEPS)
    y = (x % 4).astype("int32")
    opt = ("Adam", {"learning_rate": 0.02, "global_clipnorm": 1.0})
    return model, "sparse_categorical_crossentropy", opt, x, y


def frozen(dtype, rng):
    L = keras.layers
    pretrained = rng.normal(size=(VOCAB, 5)).astype(dtype)
    embedding = L.Embedding(VOCAB, 5, trainable=False, dtype=dtype)
    model = keras.Sequential([
        keras.Input((STEPS_T,), dtype="int32"),
        embedding,
        L.SimpleRNN(6, dtype=dtype),
        L.Dense(3, activation="softmax", dtype=dtype),
    ])
    embedding.set_weights([pretrained])
    x = rng.integers(0, VOCAB, size=(BATCH * STEPS, STEPS_T)).astype("int32")
    y = np.eye(3, dtype=dtype)[x[:, -1] % 3]
    return model, "categorical_crossentropy", ("SGD", {"learning_rate": 0.1}), x, y


ARCHITECTURES = {f.__name__: f for f in (sentiment, stacked, forecaster, tagger, frozen)}


def _randomise(model, rng, dtype):
    """Non-trivial weights (the default initialisers leave biases at zero)."""
    model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(dtype)
                       for w in model.get_weights()])


def build_pair(arch, dtype, seed=0):
    """The Keras model (compiled), its scratchrnn copy (compiled alike), and the data.
    Call it with Keras's floatx set to ``dtype`` (:func:`floatx`)."""
    rng = np.random.default_rng(seed)
    model, loss, (opt_name, opt_args), x, y = ARCHITECTURES[arch](dtype, rng)
    if arch != "frozen":
        _randomise(model, rng, dtype)
    with floatx("float32"):   # the optimizer's variables as every Keras user has them
        optimizer = getattr(keras.optimizers, opt_name)(**opt_args)
        optimizer.build(model.trainable_variables)
    model.compile(optimizer=optimizer, loss=loss)
    ours = sr.from_keras(model)
    ours.compile(optimizer=getattr(sr.optimizers, opt_name)(**opt_args), loss=loss)
    return model, ours, x, y


def in_floatx(run):
    """Run a check with Keras's floatx set to the check's dtype.  Keras's compiled loss
    computes in floatx at call time: with the default floatx a float64 model's loss (and
    so every gradient) is rounded to float32.  The optimizer is still made under the
    default floatx (float32), so that its learning rate is the float32 variable every
    Keras user has (see :mod:`scratchrnn.optimizers`)."""
    def wrapped(cmp: Comparison):
        with floatx(cmp.dtype):
            run(cmp)
    return wrapped


def check_model(arch, dtype):
    @in_floatx
    def run(cmp: Comparison):
        model, ours, x, y = build_pair(arch, dtype)
        xb, yb = x[:BATCH], y[:BATCH]
        variables = [v.value for v in model.trainable_variables]   # the tf.Variables
        [keras_loss], keras_grads = keras_gradients(
            tf, lambda: model.compute_loss(x=xb, y=yb, y_pred=model(xb, training=True)),
            variables, [1.0])
        cmp.add("out", ours.predict(xb), np.asarray(model.predict(xb, verbose=0)))
        ours._forward(xb, training=True)
        loss, _, grads, logits_outputs = ours._losses_and_gradients(yb, ours._run, None, True)
        ours.backward(ours._structure(grads), logits_outputs)
        cmp.add("loss", np.asarray(loss), keras_loss)
        dense = [g.dense() if isinstance(g, sr.optimizers.IndexedSlices) else g
                 for g in ours._gradients_and_variables()[0]]
        cmp.add("dweights", dense, keras_grads)
        if ours.count_params() != model.count_params():
            cmp.problem(f"count_params: scratchrnn {ours.count_params()}, "
                        f"Keras {model.count_params()}")
        cmp.errors["params"] = 0.0 if ours.count_params() == model.count_params() else np.inf
    return run


def check_training(arch, dtype):
    @in_floatx
    def run(cmp: Comparison):
        model, ours, x, y = build_pair(arch, dtype)
        theirs, mine = [], []
        before = float(model.evaluate(x, y, batch_size=len(x), verbose=0))
        for step in range(STEPS):
            xb, yb = x[step * BATCH:(step + 1) * BATCH], y[step * BATCH:(step + 1) * BATCH]
            # train_on_batch reports the loss through a float32 tracker: read the float64
            # value from the same computation first (the step's loss, before its update).
            loss = float(model.compute_loss(x=xb, y=yb, y_pred=model(xb, training=True)))
            reported = float(model.train_on_batch(xb, yb))
            if abs(reported - loss) > 1e-6 * abs(loss):
                cmp.problem(f"step {step}: Keras's train_on_batch reported {reported}, its "
                            f"loss before the step was {loss}")
            theirs.append(loss)
            mine.append(ours.train_on_batch(xb, yb))
        cmp.errors["loss"] = float(np.max(np.abs(np.subtract(mine, theirs))
                                          / np.abs(theirs)))
        if not np.all(np.isfinite(mine)):
            cmp.problem(f"non-finite losses: {mine}")
        after = float(model.evaluate(x, y, batch_size=len(x), verbose=0))
        if not after < before:
            cmp.problem(f"training did not lower the loss over all the data ({before:.4g} -> "
                        f"{after:.4g}): the check would compare nothing worth comparing")
        if dtype == "float64":
            cmp.add("weights", ours.get_weights(), model.get_weights())
    return run


CHECKS = [
    Check(f"{kind}-{arch}-{dtype_suffix(dtype)}", "model" if kind == "model" else "training",
          dtype, (check_model if kind == "model" else check_training)(arch, dtype),
          options=arch if kind == "model" else f"{arch}, {STEPS} steps",
          tolerance=None if kind == "model" else TRAINING_TOLERANCE[dtype])
    for kind in ("model", "train")
    for arch in ARCHITECTURES
    for dtype in ("float64", "float32")
]


def check_bridge(arch, dtype):
    """``to_keras(from_keras(model))``: the same layers, weights and predictions as the
    original Keras model, and the scratchrnn copy's config survives save and load."""
    @in_floatx
    def run(cmp: Comparison):
        model, ours, x, _ = build_pair(arch, dtype)
        again = sr.to_keras(ours)
        names = [type(layer).__name__ for layer in again.layers]
        expected = [type(layer).__name__ for layer in model.layers]
        if names != expected:
            cmp.problem(f"to_keras gave layers {names}, expected {expected}")
        cmp.add("weights", [np.asarray(w) for w in again.get_weights()], model.get_weights())
        xb = x[:BATCH]
        cmp.add("out", np.asarray(again.predict(xb, verbose=0)),
                np.asarray(model.predict(xb, verbose=0)))
        if again.count_params() != model.count_params():
            cmp.problem(f"count_params {again.count_params()} != {model.count_params()}")
    return run


CHECKS += [
    Check(f"bridge-{arch}-{dtype_suffix(dtype)}", "model", dtype, check_bridge(arch, dtype),
          options=f"{arch}: to_keras(from_keras(keras_model))")
    for arch in ARCHITECTURES
    for dtype in ("float64", "float32")
]
