"""Parity checks of the cells (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``,
``StackedRNNCells``) and of the time loop ``rnn_cell_forward/backward``.

``cells-*-step-*``: one call of a cell against Keras's cell (``keras.layers.LSTMCell``
etc.) on the same weights (uniform(-0.6, 0.6), copied with ``set_weights`` after the
freshly built biases were compared), input and states; compared: the output, the new
states (and whether they come back as a list or a bare array), and the gradients of
``sum(out * G) + Σ sum(state * G_state)`` with respect to the input, the states and
every weight (Keras's by ``tf.GradientTape``; ours by ``backward`` and
``get_gradients``).

``cells-*-seq-*``: ``rnn_cell_forward/backward`` against ``keras.layers.RNN(cell,
return_sequences=True, return_state=True)`` with masks, initial states, ``go_backwards``
and ``zero_output_for_mask``; ``cells-stacked-*`` the same with ``StackedRNNCells`` (and
Keras's nested state structures).

With ``training=True`` and dropout, our cell draws its masks and they are given to the
Keras cell (``_dropout_mask`` / ``_recurrent_dropout_mask``, as Keras's
``DropoutRNNCell`` caches them), so training-time dropout is compared exactly.
"""

import numpy as np

from scratchrnn.layers.cells import (
    GRUCell,
    LSTMCell,
    SimpleRNNCell,
    StackedRNNCells,
    rnn_cell_backward,
    rnn_cell_forward,
)

from .components import Check, dtype_suffix, keras_gradients
from .harness import keras, tf

DTYPES = ("float64", "float32")
WEIGHT_SCALE = 0.6
OURS = {"simple_rnn": SimpleRNNCell, "lstm": LSTMCell, "gru": GRUCell}
THEIRS = {"simple_rnn": "SimpleRNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}
B, T, I, H = 3, 5, 4, 3


def _flat(structure):
    if isinstance(structure, (list, tuple)):
        return [a for item in structure for a in _flat(item)]
    return [structure]


def _structure(states):
    """The nesting of a state structure, arrays replaced by ``"array"``."""
    if isinstance(states, (list, tuple)):
        return [_structure(s) for s in states]
    return "array"


def _normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _cell_pair(cmp, kind, rng, input_dim, units=H, **kwargs):
    """Keras's cell and ours, built on ``input_dim`` features, with the same random
    weights (the fresh biases compared first)."""
    theirs = getattr(keras.layers, THEIRS[kind])(units, dtype=cmp.dtype, **kwargs)
    ours = OURS[kind](units, dtype=cmp.dtype, **kwargs)
    theirs.build((None, input_dim))
    ours.build((None, input_dim))
    if ours.use_bias:
        cmp.add("fresh-bias", ours.bias, np.asarray(theirs.bias))
    theirs.set_weights([rng.uniform(-WEIGHT_SCALE, WEIGHT_SCALE, w.shape).astype(cmp.dtype)
                        for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _keras_mask(mask):
    """Our ``(G, B, F)`` dropout mask as Keras's cell caches it: one tensor, or G."""
    if mask is None:
        return None
    return tf.constant(mask[0]) if mask.shape[0] == 1 else [tf.constant(m) for m in mask]


def _inject_dropout_masks(theirs, ours):
    """Give each Keras cell our cell's masks (recursing into stacks)."""
    if isinstance(ours, StackedRNNCells):
        for k, o in zip(theirs.cells, ours.cells, strict=True):
            _inject_dropout_masks(k, o)
        return
    theirs._dropout_mask = _keras_mask(ours.dropout_mask)
    theirs._recurrent_dropout_mask = _keras_mask(ours.recurrent_dropout_mask)


def _keras_weights(layer):
    return [v.value for v in layer.weights]


# --- one step -------------------------------------------------------------------------------

def _step(kind, training=False, bare=False, **kwargs):
    def run(cmp):
        rng = np.random.default_rng(0)
        theirs, ours = _cell_pair(cmp, kind, rng, I, **kwargs)
        n_states = 2 if kind == "lstm" else 1
        x = _normal(rng, (B, I), cmp.dtype)
        states = [_normal(rng, (B, H), cmp.dtype) for _ in range(n_states)]
        upstream = [_normal(rng, (B, H), cmp.dtype) for _ in range(1 + n_states)]
        out, new = ours(x, states[0] if bare else states, training=training)
        dx, d_prev = ours.backward(upstream[0], upstream[1] if bare else upstream[1:])
        if training:
            _inject_dropout_masks(theirs, ours)

        x_tf, s_tf = tf.constant(x), [tf.constant(s) for s in states]
        keras_new = []

        def fn():
            o, ns = theirs(x_tf, s_tf[0] if bare else s_tf, training=training)
            keras_new.append(ns)
            return [o, *_flat(ns)]
        outputs, grads = keras_gradients(tf, fn, [x_tf, *s_tf, *_keras_weights(theirs)],
                                         upstream)
        if _structure(new) != _structure(keras_new[0]):
            cmp.problem(f"new states: ours {_structure(new)}, Keras "
                        f"{_structure(keras_new[0])}")
        cmp.add("out", out, outputs[0])
        cmp.add("states", _flat(new), outputs[1:])
        cmp.add("dx", dx, grads[0])
        cmp.add("dstates", _flat(d_prev), grads[1:1 + n_states])
        cmp.add("dweights", ours.get_gradients(), grads[1 + n_states:])
    return run


# --- sequences ------------------------------------------------------------------------------

def _compare_sequences(cmp, theirs_cell, ours, x, states, mask, training, loop, rng):
    """``rnn_cell_forward/backward`` against ``keras.layers.RNN(theirs_cell)``.
    ``states`` None: both start from their cell's ``get_initial_state``."""
    out, final, tape = rnn_cell_forward(ours, x, states, mask, training=training, **loop)
    upstream = [_normal(rng, out.shape, cmp.dtype)] + [
        _normal(rng, s.shape, cmp.dtype) for s in _flat(final)]
    dx, d_initial, grads = rnn_cell_backward(ours, upstream[0], upstream[1:], tape)
    if training:
        _inject_dropout_masks(theirs_cell, ours)

    rnn = keras.layers.RNN(theirs_cell, return_sequences=True, return_state=True,
                           dtype=cmp.dtype, **loop)
    x_tf = tf.constant(x)
    s_tf = None if states is None else [tf.constant(s) for s in _flat(states)]
    kwargs = dict(mask=None if mask is None else tf.constant(mask), training=training)
    if states is not None:
        flat_iter = iter(s_tf)
        kwargs["initial_state"] = [[next(flat_iter) for _ in s] if isinstance(s, list)
                                   else next(flat_iter) for s in states]
    keras_final = []

    def fn():
        result = rnn(x_tf, **kwargs)
        keras_final.append(list(result[1:]))
        return [result[0], *_flat(list(result[1:]))]
    sources = [x_tf] + (s_tf or []) + _keras_weights(theirs_cell)
    outputs, kgrads = keras_gradients(tf, fn, sources, upstream)
    if _structure(final) != _structure(keras_final[0]):
        cmp.problem(f"final states: ours {_structure(final)}, Keras "
                    f"{_structure(keras_final[0])}")
    cmp.add("out", out, outputs[0])
    cmp.add("states", _flat(final), outputs[1:])
    cmp.add("dx", dx, kgrads[0])
    n = 0 if states is None else len(s_tf)
    if n:
        cmp.add("dstates", _flat(d_initial), kgrads[1:1 + n])
    cmp.add("dweights", grads, kgrads[1 + n:])


def _mask(rng):
    mask = rng.random((B, T)) < 0.7
    mask[0, 0] = False       # a sample masked before any valid step
    mask[-1, -1] = False
    return mask


def _sequence(kind, go_backwards=False, zero_output_for_mask=False, training=False,
              masked=True, **kwargs):
    def run(cmp):
        rng = np.random.default_rng(1)
        theirs, ours = _cell_pair(cmp, kind, rng, I, **kwargs)
        x = _normal(rng, (B, T, I), cmp.dtype)
        states = [_normal(rng, (B, H), cmp.dtype) for _ in range(2 if kind == "lstm" else 1)]
        loop = dict(go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask)
        _compare_sequences(cmp, theirs, ours, x, states, _mask(rng) if masked else None,
                           training, loop, rng)
    return run


def _stacked(kinds, given_states=True, go_backwards=False, training=False, **kwargs):
    """A stack of ``kinds`` (features I -> H -> H ...), Keras's StackedRNNCells."""
    def run(cmp):
        rng = np.random.default_rng(2)
        pairs = [_cell_pair(cmp, kind, rng, I if i == 0 else H, **kwargs)
                 for i, kind in enumerate(kinds)]
        theirs = keras.layers.StackedRNNCells([p[0] for p in pairs], dtype=cmp.dtype)
        ours = StackedRNNCells([p[1] for p in pairs])
        theirs.build((None, I))
        if ours.state_size != theirs.state_size:
            cmp.problem(f"state_size: ours {ours.state_size}, Keras {theirs.state_size}")
        x = _normal(rng, (B, T, I), cmp.dtype)
        states = None
        if given_states:     # LSTM: [h, c]; the others: a bare h
            states = [[_normal(rng, (B, H), cmp.dtype) for _ in range(2)] if kind == "lstm"
                      else _normal(rng, (B, H), cmp.dtype) for kind in kinds]
        _compare_sequences(cmp, theirs, ours, x, states, _mask(rng), training,
                           dict(go_backwards=go_backwards), rng)
    return run


DROPOUT = dict(dropout=0.3, recurrent_dropout=0.4, seed=5)

CONFIGS = [
    # (name, runner, options shown in the report)
    ("cells-simple-rnn-step-defaults", _step("simple_rnn"), "step"),
    ("cells-simple-rnn-step-relu-nobias-bare", _step("simple_rnn", bare=True, activation="relu",
                                                    use_bias=False), "step bare state"),
    ("cells-simple-rnn-step-dropout", _step("simple_rnn", training=True, **DROPOUT),
     "step training dropout"),
    ("cells-lstm-step-defaults", _step("lstm"), "step"),
    ("cells-lstm-step-dropout", _step("lstm", training=True, **DROPOUT),
     "step training, a mask per gate"),
    ("cells-lstm-step-input-dropout", _step("lstm", training=True, dropout=0.3, seed=2),
     "step training, one shared mask"),
    ("cells-lstm-step-hard-sigmoid", _step("lstm", recurrent_activation="hard_sigmoid",
                                          unit_forget_bias=False), "step"),
    ("cells-gru-step-defaults", _step("gru"), "step"),
    ("cells-gru-step-bare", _step("gru", bare=True), "step bare state"),
    ("cells-gru-step-reset-before", _step("gru", reset_after=False), "step"),
    ("cells-gru-step-dropout", _step("gru", training=True, **DROPOUT), "step training"),
    ("cells-gru-step-reset-before-dropout", _step("gru", training=True, reset_after=False,
                                                 **DROPOUT), "step training"),
    ("cells-simple-rnn-seq-mask", _sequence("simple_rnn"), "mask initial_state"),
    ("cells-simple-rnn-seq-backwards-dropout", _sequence("simple_rnn", go_backwards=True,
                                                        training=True, **DROPOUT),
     "go_backwards training dropout"),
    ("cells-lstm-seq-mask", _sequence("lstm"), "mask initial_state"),
    ("cells-lstm-seq-backwards-zeros", _sequence("lstm", go_backwards=True,
                                                zero_output_for_mask=True),
     "go_backwards zero_output_for_mask"),
    ("cells-lstm-seq-dropout", _sequence("lstm", training=True, **DROPOUT), "training dropout"),
    ("cells-gru-seq-mask", _sequence("gru"), "mask initial_state"),
    ("cells-gru-seq-backwards-reset-before", _sequence("gru", go_backwards=True,
                                                      reset_after=False),
     "go_backwards reset_after=False"),
    ("cells-gru-seq-dropout-zeros", _sequence("gru", zero_output_for_mask=True, training=True,
                                             **DROPOUT), "zero_output_for_mask training"),
    ("cells-stacked-lstm-gru", _stacked(["lstm", "gru"], go_backwards=True),
     "mask go_backwards nested initial_state"),
    ("cells-stacked-gru-simple-default-states", _stacked(["gru", "simple_rnn"],
                                                        given_states=False),
     "mask get_initial_state ([[h1], [h2]])"),
    ("cells-stacked-lstm-lstm-dropout", _stacked(["lstm", "lstm"], training=True, **DROPOUT),
     "mask training dropout"),
    ("cells-stacked-single-gru", _stacked(["gru"]), "one cell, bare state"),
]

CHECKS = [Check(f"{name}-{dtype_suffix(dtype)}", "layer", dtype, run, options)
          for name, run, options in CONFIGS for dtype in DTYPES]
