"""Parity checks of the feed-forward layers: ``Dense``, ``Dropout``, ``Masking``,
``Embedding``, ``Flatten``, ``RepeatVector`` and ``TimeDistributed``.

Each check builds the Keras layer, gives it uniform(-0.6, 0.6) weights, copies them into
ours with ``set_weights`` and runs both on the same random input.  Compared: the output,
``dx`` and every weight gradient of ``sum(out * G)`` for a random ``G`` (Keras's by
``tf.GradientTape``), and the output mask where the layer makes or passes one.  Keras
gives the gradient of an ``Embedding`` as ``IndexedSlices``; ``keras_gradients`` turns
it into the dense table ours sets.

Regularisers (``regularizer-*``): a Dense, an LSTM, a GRU, a Conv1D and an Embedding
with L1/L2/L1L2 on their weights; ``layer.losses`` against Keras's, and
``regularization_gradients()`` against ``tf.GradientTape`` of ``sum(layer.losses)``.
``conv1d-groups-*``: a grouped ``Conv1D`` (``groups > 1``), output and every gradient.

``Dropout`` at training draws from different generators on the two sides, so it is
compared by structure (``dropout-structure-*``): both masks hold only ``{0, 1/(1-rate)}``
and drop a fraction of entries within 5 binomial standard deviations of ``rate``; with
``noise_shape`` both share one draw along the axes of size 1.
"""

import numpy as np

from scratchrnn import layers as sr_layers
from scratchrnn import regularizers as sr_regularizers
from scratchrnn.layers.convolutional import Conv1D
from scratchrnn.layers.core import Dense, Dropout, Masking
from scratchrnn.layers.embedding import Embedding
from scratchrnn.layers.reshaping import Flatten, RepeatVector
from scratchrnn.layers.time_distributed import TimeDistributed

from .components import Check, Comparison, dtype_suffix, keras_gradients
from .harness import keras, tf

DTYPES = ("float64", "float32")
WEIGHT_SCALE = 0.6
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax", "hard_sigmoid", "softsign",
               "exponential", "elu")
STRUCTURE_SHAPE = (400, 50)        # 20000 draws: 5 sigmas of the rate are about 0.016
RATE_SIGMAS = 5.0


# --- running both sides ----------------------------------------------------------------

def _copy_random_weights(keras_layer, ours, rng, dtype):
    """Give the (built) Keras layer random weights and copy them into ours."""
    weights = keras_layer.get_weights()
    keras_layer.set_weights([rng.uniform(-WEIGHT_SCALE, WEIGHT_SCALE, w.shape).astype(dtype)
                             for w in weights])
    if weights:
        ours.set_weights(keras_layer.get_weights())


def _run_pair(cmp, keras_layer, ours, x, mask=None, seed=0, float_input=True):
    """Compare the output, ``dx`` (for float inputs), the weight gradients and the
    output mask of both layers on ``x``.  Returns ``(our output, Keras's output)``."""
    rng = np.random.default_rng(seed)
    if not keras_layer.built:
        keras_layer.build(x.shape)
    if not ours.built:
        ours.build(x.shape)
    _copy_random_weights(keras_layer, ours, rng, cmp.dtype)
    y = ours(x, mask=mask)
    upstream = rng.standard_normal(y.shape).astype(cmp.dtype)
    dx = ours.backward(upstream)
    x_tf = tf.constant(x)
    sources = ([x_tf] if float_input else []) + [v.value for v in keras_layer.weights]
    outputs, grads = keras_gradients(tf, lambda: keras_layer(x_tf), sources, [upstream])
    cmp.add("out", y, outputs[0])
    if float_input:
        cmp.add("dx", dx, grads.pop(0))
    elif dx is not None:
        cmp.problem(f"backward() of an integer input gave {type(dx).__name__}, not None")
    if grads:
        cmp.add("dweights", ours.get_gradients(), grads)
    mask_tf = None if mask is None else tf.constant(mask)
    _compare_masks(cmp, ours.compute_mask(x, mask), keras_layer.compute_mask(x_tf, mask_tf))
    return y, outputs[0]


def _compare_masks(cmp, ours, theirs):
    if ours is None and theirs is None:
        return
    if ours is None or theirs is None:
        cmp.problem(f"mask: scratchrnn gave {type(ours).__name__}, Keras "
                    f"{type(theirs).__name__}")
        return
    theirs = np.asarray(theirs)
    if ours.dtype != np.bool_ or ours.shape != theirs.shape or not np.array_equal(ours,
                                                                                   theirs):
        cmp.problem(f"mask: scratchrnn {ours!r}, Keras {theirs!r}")
    cmp.add("mask", ours.astype(cmp.dtype), theirs.astype(cmp.dtype))


def _normal(shape, dtype, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _mask(shape, seed=2):
    """Random booleans with at least one False."""
    mask = np.random.default_rng(seed).random(shape) < 0.7
    mask.flat[0] = False
    return mask


# --- the checks ---------------------------------------------------------------------------

def _dense(activation, shape, use_bias=True, masked=False):
    def run(cmp):
        kwargs = dict(activation=activation, use_bias=use_bias, dtype=cmp.dtype)
        x = _normal(shape, cmp.dtype)
        mask = _mask(shape[:-1]) if masked else None
        _run_pair(cmp, keras.layers.Dense(4, **kwargs), Dense(4, **kwargs), x, mask)
    return run


def _dense_logits(activation):
    """``logits`` against Keras's ``_keras_logits``; ``backward_logits`` against the
    gradient of ``sum(logits * G)``."""
    def run(cmp):
        rng = np.random.default_rng(0)
        x = _normal((5, 3), cmp.dtype)
        theirs = keras.layers.Dense(4, activation=activation, dtype=cmp.dtype)
        ours = Dense(4, activation=activation, dtype=cmp.dtype)
        theirs.build(x.shape)
        ours.build(x.shape)
        _copy_random_weights(theirs, ours, rng, cmp.dtype)
        ours(x)
        upstream = rng.standard_normal((5, 4)).astype(cmp.dtype)
        dx = ours.backward_logits(upstream)
        x_tf = tf.constant(x)
        sources = [x_tf] + [v.value for v in theirs.weights]
        (logits,), grads = keras_gradients(tf, lambda: theirs(x_tf)._keras_logits, sources,
                                           [upstream])
        cmp.add("logits", ours.logits, logits)
        cmp.add("dx", dx, grads[0])
        cmp.add("dweights", ours.get_gradients(), grads[1:])
    return run


def _dropout_identity(cmp):
    """``training=False``: the identity, on both sides; the mask passes through."""
    x = _normal((3, 4, 5), cmp.dtype)
    kwargs = dict(rate=0.4, dtype=cmp.dtype)
    _run_pair(cmp, keras.layers.Dropout(**kwargs), Dropout(**kwargs), x, _mask((3, 4)))


def _dropout_structure(rate, noise_shape=None):
    def run(cmp):
        shape = STRUCTURE_SHAPE if noise_shape is None else (STRUCTURE_SHAPE[0], 3, 50)
        x = np.ones(shape, cmp.dtype)
        theirs = keras.layers.Dropout(rate, noise_shape=noise_shape, seed=3, dtype=cmp.dtype)
        ours = Dropout(rate, noise_shape=noise_shape, seed=3, dtype=cmp.dtype)
        keras_mask = np.asarray(theirs(tf.constant(x), training=True))   # x is ones
        ours(x, training=True)
        our_mask = ours.dropout_mask
        if noise_shape is not None:
            if our_mask.shape != (shape[0], 1, shape[2]):
                cmp.problem(f"dropout_mask shape {our_mask.shape} for noise_shape "
                            f"{noise_shape}, expected {(shape[0], 1, shape[2])}")
            if not (keras_mask == keras_mask[:, :1]).all():
                cmp.problem("Keras's mask is not shared along the axis of noise_shape 1")
            keras_mask = keras_mask[:, :1]
        scale = np.asarray(1.0 / (1.0 - rate), cmp.dtype)
        for side, mask in (("scratchrnn", our_mask), ("Keras", keras_mask)):
            values = np.unique(mask)
            if not set(values.tolist()) <= {0.0, float(scale)}:
                cmp.problem(f"{side} mask values {values[:5]}, expected 0 and {scale}")
            dropped = float(np.mean(mask == 0))
            sigma = np.sqrt(rate * (1 - rate) / mask.size)
            if abs(dropped - rate) > RATE_SIGMAS * sigma:
                cmp.problem(f"{side} dropped {dropped:.4f} of {mask.size}, rate {rate} "
                            f"(5 sigmas: {RATE_SIGMAS * sigma:.4f})")
        cmp.add("values", np.unique(our_mask), np.unique(keras_mask))
    return run


def _masking(mask_value, incoming):
    """Steps equal to ``mask_value`` in every feature, some equal in only a few; an
    incoming mask (when given) is replaced on both sides."""
    def run(cmp):
        x = _normal((3, 5, 4), cmp.dtype)
        x[0, 1] = mask_value
        x[2, [0, 4]] = mask_value
        x[1, 2, :2] = mask_value           # partly equal: a real step
        mask = _mask((3, 5)) if incoming else None
        kwargs = dict(mask_value=mask_value, dtype=cmp.dtype)
        _run_pair(cmp, keras.layers.Masking(**kwargs), Masking(**kwargs), x, mask)
    return run


def _embedding(mask_zero, shape=(3, 5), float_indices=False, frozen=False):
    def run(cmp):
        rng = np.random.default_rng(4)
        indices = rng.integers(0, 7, size=shape)
        indices.flat[:3] = [0, 3, 3]                 # padding and a repeated row
        if float_indices:
            indices = indices.astype(cmp.dtype)
        kwargs = dict(mask_zero=mask_zero, dtype=cmp.dtype)
        if frozen:
            table = rng.uniform(-1, 1, (7, 2)).astype(cmp.dtype)
            kwargs.update(weights=[table], trainable=False)
        theirs = keras.layers.Embedding(7, 2, **kwargs)
        ours = Embedding(7, 2, **kwargs)
        if frozen:
            if len(theirs.trainable_weights) or len(ours.trainable_weights):
                cmp.problem("frozen embeddings are trainable")
            if len(ours.non_trainable_weights) != len(theirs.non_trainable_weights):
                cmp.problem("non_trainable_weights differ in length")
            cmp.add("weights", ours.get_weights(), theirs.get_weights())
        incoming = _mask(shape) if mask_zero else None   # replaced by inputs != 0
        _run_pair(cmp, theirs, ours, indices, incoming, float_input=False)
    return run


def _flatten(data_format, shape):
    def run(cmp):
        kwargs = dict(data_format=data_format, dtype=cmp.dtype)
        _run_pair(cmp, keras.layers.Flatten(**kwargs), Flatten(**kwargs),
                  _normal(shape, cmp.dtype))
    return run


def _repeat_vector(cmp):
    _run_pair(cmp, keras.layers.RepeatVector(3, dtype=cmp.dtype),
              RepeatVector(3, dtype=cmp.dtype), _normal((4, 5), cmp.dtype))


def _time_distributed(shape, activation="tanh", masked=False):
    def run(cmp):
        kwargs = dict(activation=activation, dtype=cmp.dtype)
        theirs = keras.layers.TimeDistributed(keras.layers.Dense(3, **kwargs),
                                              dtype=cmp.dtype)
        ours = TimeDistributed(Dense(3, **kwargs))
        mask = _mask(shape[:2]) if masked else None
        _run_pair(cmp, theirs, ours, _normal(shape, cmp.dtype), mask)
    return run


#: (layer, constructor arguments, input shape, {argument: (regularizer, *factors)}).
REGULARIZED = {
    "dense-l1-l2": ("Dense", (4,), (5, 3), {"kernel_regularizer": ("L1", 0.03),
                                            "bias_regularizer": ("L2", 0.02)}),
    "dense-l1l2": ("Dense", (4,), (5, 3), {"kernel_regularizer": ("L1L2", 0.01, 0.05),
                                           "bias_regularizer": ("L1L2", 0.2, 0.0)}),
    "lstm": ("LSTM", (3,), (2, 5, 4), {"kernel_regularizer": ("L1", 0.03),
                                       "recurrent_regularizer": ("L2", 0.02),
                                       "bias_regularizer": ("L1L2", 0.01, 0.05)}),
    "gru": ("GRU", (3,), (2, 5, 4), {"recurrent_regularizer": ("L1L2", 0.3, 0.7)}),
    "conv1d": ("Conv1D", (2, 3), (2, 6, 4), {"kernel_regularizer": ("L2", 0.04)}),
    "embedding": ("Embedding", (7, 3), (2, 5), {"embeddings_regularizer": ("L1", 0.02)}),
}


def _regularized(layer_name, args, shape, regs):
    """``layer.losses`` and the gradients of their sum, both sides, same weights."""
    def make(module, spec):
        name, *factors = spec
        return getattr(module, name)(*factors)

    def run(cmp):
        theirs = getattr(keras.layers, layer_name)(*args, dtype=cmp.dtype, **{
            k: make(keras.regularizers, v) for k, v in regs.items()})
        ours = getattr(sr_layers, layer_name)(*args, dtype=cmp.dtype, **{
            k: make(sr_regularizers, v) for k, v in regs.items()})
        theirs.build(shape)
        if not ours.built:
            ours.build(shape)
        _copy_random_weights(theirs, ours, np.random.default_rng(5), cmp.dtype)
        with tf.GradientTape() as tape:
            keras_losses = theirs.losses
            total = tf.add_n(keras_losses)
        grads = tape.gradient(total, [v.value for v in theirs.weights])
        if len(ours.losses) != len(keras_losses):
            cmp.problem(f"{len(ours.losses)} losses, Keras has {len(keras_losses)}")
            return
        cmp.add("losses", np.array(ours.losses, cmp.dtype),
                np.array([float(v) for v in keras_losses], cmp.dtype))
        for name, g_ours, g_theirs in zip(ours.weight_names,
                                          ours.regularization_gradients(), grads):
            if (g_ours is None) != (g_theirs is None):
                cmp.problem(f"{name}: scratchrnn's penalty gradient is "
                            f"{'None' if g_ours is None else 'set'}, Keras's "
                            f"{'None' if g_theirs is None else 'set'}")
            elif g_ours is not None:
                cmp.add(f"d{name}", g_ours, np.asarray(tf.convert_to_tensor(g_theirs)))
    return run


def _conv_groups(groups, padding, strides, dilation):
    def run(cmp):
        kwargs = dict(groups=groups, padding=padding, strides=strides,
                      dilation_rate=dilation, activation="tanh", dtype=cmp.dtype)
        _run_pair(cmp, keras.layers.Conv1D(6, 3, **kwargs), Conv1D(6, 3, **kwargs),
                  _normal((2, 9, 6), cmp.dtype))
    return run


def run_conv_groups_pair(groups, padding, strides, dilation, dtype):
    """The grouped-Conv1D check on its own (for the tests): ``{group: error}``."""
    cmp = Comparison(dtype)
    _conv_groups(groups, padding, strides, dilation)(cmp)
    assert not cmp.problems, cmp.problems
    return dict(cmp.errors)


def _checks():
    specs = []
    for activation in ACTIVATIONS:
        specs.append((f"dense-{activation}", _dense(activation, (5, 3)),
                      f"activation={activation} 2-D"))
    specs += [
        ("dense-none-3d", _dense(None, (2, 4, 3)), "activation=None 3-D"),
        ("dense-softmax-3d", _dense("softmax", (2, 4, 3)), "activation=softmax 3-D"),
        ("dense-relu-4d-masked", _dense("relu", (2, 3, 2, 3), masked=True),
         "4-D, mask passed on"),
        ("dense-nobias", _dense("sigmoid", (2, 4, 3), use_bias=False), "use_bias=False"),
        ("dense-logits-sigmoid", _dense_logits("sigmoid"), "logits, backward_logits"),
        ("dense-logits-softmax", _dense_logits("softmax"), "logits, backward_logits"),
        ("dropout-inference", _dropout_identity, "training=False, mask passed on"),
        ("dropout-structure", _dropout_structure(0.3), "training=True rate=0.3"),
        ("dropout-structure-noise-shape", _dropout_structure(0.5, (None, 1, None)),
         "training=True rate=0.5 noise_shape=(None, 1, None)"),
        ("masking", _masking(0.0, incoming=False), "mask_value=0"),
        ("masking-value-incoming-mask", _masking(0.5, incoming=True),
         "mask_value=0.5, incoming mask replaced"),
        ("embedding", _embedding(False), "2-D indices"),
        ("embedding-mask-zero", _embedding(True), "mask_zero=True"),
        ("embedding-3d-float-indices", _embedding(False, (2, 3, 4), float_indices=True),
         "3-D float indices holding integers"),
        ("embedding-frozen-weights", _embedding(False, frozen=True),
         "weights=[matrix] trainable=False"),
        ("flatten", _flatten("channels_last", (3, 2, 4, 5)), "4-D channels_last"),
        ("flatten-channels-first", _flatten("channels_first", (3, 2, 4, 5)),
         "4-D channels_first"),
        ("flatten-1d", _flatten(None, (4,)), "(B,) -> (B, 1)"),
        ("repeat-vector", _repeat_vector, "n=3"),
        ("time-distributed-dense", _time_distributed((2, 4, 3), masked=True),
         "Dense tanh, mask passed on"),
        ("time-distributed-dense-4d", _time_distributed((2, 3, 2, 3), "softmax"),
         "Dense softmax on (B, T, 2, F)"),
    ]
    for name, (layer_name, args, shape, regs) in REGULARIZED.items():
        options = ", ".join(f"{k}={v[0]}({', '.join(map(str, v[1:]))})"
                            for k, v in regs.items())
        specs.append((f"regularizer-{name}", _regularized(layer_name, args, shape, regs),
                      f"{layer_name}: losses and their gradients; {options}"))
    for groups, padding, strides, dilation in [(2, "valid", 1, 1), (3, "same", 2, 1),
                                               (2, "causal", 1, 2), (6, "same", 1, 1)]:
        specs.append((f"conv1d-groups-{groups}-{padding}-s{strides}-d{dilation}",
                      _conv_groups(groups, padding, strides, dilation),
                      f"groups={groups} padding={padding} strides={strides} "
                      f"dilation_rate={dilation}"))
    return [Check(f"{name}-{dtype_suffix(dtype)}", "layer", dtype, run, options)
            for name, run, options in specs for dtype in DTYPES]


CHECKS = _checks()
