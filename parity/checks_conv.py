"""Parity checks of ``Conv1D`` and the 1-D pooling layers (``MaxPooling1D``,
``AveragePooling1D``, ``GlobalAveragePooling1D``, ``GlobalMaxPooling1D``).

Each check builds the Keras layer, gives it uniform(-0.6, 0.6) weights, copies them into
ours with ``set_weights`` and runs both on the same random input.  Compared: the output,
``dx`` and every weight gradient of ``sum(out * G)`` for a random ``G`` (Keras's by
``tf.GradientTape``), and the output mask (none, for all of these layers).

Masks reach a Keras layer as Keras sends them: ``GlobalAveragePooling1D`` takes
``mask=``; the layers without masking support refuse that argument, so the mask is
attached to the input tensor (as a ``Masking`` layer upstream would attach it) and Keras
warns and drops it; ours is given ``mask=`` and must warn and drop it likewise.
Inputs rounded to halves make ties inside pooling windows, where TensorFlow's
gradient rules (first maximum for MaxPool, shared for reduce_max) are compared.
"""

import warnings

import numpy as np

from scratchrnn.layers.convolutional import Conv1D
from scratchrnn.layers.pooling import (
    AveragePooling1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    MaxPooling1D,
)

from .components import Check, dtype_suffix, keras_gradients
from .harness import keras, tf

DTYPES = ("float64", "float32")
WEIGHT_SCALE = 0.6
SHAPE = (3, 9, 4)                  # (B, L, C): 9 steps leave remainders for strides 2 and 4
DROPPED = "does not support masking"


def _inputs(dtype, shape=SHAPE, seed=1, ties=False):
    x = np.random.default_rng(seed).standard_normal(shape)
    return (np.round(2 * x) / 2 if ties else x).astype(dtype)


def _mask(shape=SHAPE[:2], seed=2, all_masked_row=False):
    """Random (B, L) booleans with a False at the start of the first row and a True in
    every row (or, with ``all_masked_row``, a last row all False)."""
    mask = np.random.default_rng(seed).random(shape) < 0.6
    mask[:, shape[1] // 2] = True
    mask[0, 0] = False
    if all_masked_row:
        mask[-1] = False
    return mask


def _keras_call(keras_layer, x_tf, mask, mask_argument):
    """Call the Keras layer with ``mask=`` (``mask_argument``) or with the mask attached
    to the input, as an upstream ``Masking`` layer attaches it."""
    if mask is None:
        return keras_layer(x_tf)
    mask_tf = tf.constant(mask)
    if mask_argument:
        return keras_layer(x_tf, mask=mask_tf)
    x_tf = tf.identity(x_tf)        # a fresh tensor that still carries the tape's watch
    keras.src.backend.set_keras_mask(x_tf, mask_tf)
    return keras_layer(x_tf)


def _warned(caught):
    return any(DROPPED in str(w.message) for w in caught)


def _run_pair(cmp, keras_layer, ours, x, mask=None, mask_argument=False, seed=0):
    """Compare outputs, ``dx``, weight gradients and output masks of both layers on ``x``;
    with a mask that a side does not support, both must warn that they dropped it."""
    rng = np.random.default_rng(seed)
    keras_layer.build(x.shape)
    ours.build(x.shape)
    weights = keras_layer.get_weights()
    if weights:
        keras_layer.set_weights([rng.uniform(-WEIGHT_SCALE, WEIGHT_SCALE, w.shape)
                                 .astype(cmp.dtype) for w in weights])
        ours.set_weights(keras_layer.get_weights())
    with warnings.catch_warnings(record=True) as ours_caught:
        warnings.simplefilter("always")
        y = ours(x, mask=mask)
    upstream = rng.standard_normal(y.shape).astype(cmp.dtype)
    dx = ours.backward(upstream)
    x_tf = tf.constant(x)
    sources = [x_tf] + [v.value for v in keras_layer.weights]
    with warnings.catch_warnings(record=True) as keras_caught:
        warnings.simplefilter("always")
        outputs, grads = keras_gradients(
            tf, lambda: _keras_call(keras_layer, x_tf, mask, mask_argument), sources,
            [upstream])
    if mask is not None and not mask_argument and not (_warned(ours_caught)
                                                       and _warned(keras_caught)):
        cmp.problem(f"a dropped mask must warn on both sides: scratchrnn "
                    f"{_warned(ours_caught)}, Keras {_warned(keras_caught)}")
    _compare_nan_aware(cmp, "out", y, outputs[0])
    cmp.add("dx", dx, grads[0])
    if grads[1:]:
        cmp.add("dweights", ours.get_gradients(), grads[1:])
    elif ours.get_gradients():
        cmp.problem(f"{len(ours.get_gradients())} weight gradients, Keras none")
    if ours.compute_mask(x, mask) is not None:
        cmp.problem("scratchrnn passes a mask on; Keras's layer does not")


def _compare_nan_aware(cmp, group, ours, theirs):
    """Compare, NaN where Keras has NaN (a sample whose steps are all masked) and the
    numbers elsewhere."""
    nan = np.isnan(theirs)
    if not np.array_equal(np.isnan(ours), nan):
        cmp.problem(f"{group}: NaN at {np.argwhere(np.isnan(ours)).tolist()}, Keras at "
                    f"{np.argwhere(nan).tolist()}")
        return
    if nan.any():
        cmp.add(f"{group}-finite", ours[~nan.any(axis=-1)], theirs[~nan.any(axis=-1)])
        if np.shape(ours) != np.shape(theirs) or ours.dtype != np.dtype(cmp.dtype):
            cmp.problem(f"{group}: shape {np.shape(ours)} {ours.dtype}, Keras "
                        f"{np.shape(theirs)} {cmp.dtype}")
    else:
        cmp.add(group, ours, theirs)


# --- the checks ---------------------------------------------------------------------------

def _conv(kernel_size=3, masked=False, **kwargs):
    def run(cmp):
        args = dict(kernel_size=kernel_size, dtype=cmp.dtype, **kwargs)
        mask = _mask() if masked else None
        _run_pair(cmp, keras.layers.Conv1D(5, **args), Conv1D(5, **args),
                  _inputs(cmp.dtype), mask)
    return run


def _pool(ours_class, keras_class, ties=False, masked=False, **kwargs):
    def run(cmp):
        args = dict(dtype=cmp.dtype, **kwargs)
        mask = _mask() if masked else None
        _run_pair(cmp, keras_class(**args), ours_class(**args),
                  _inputs(cmp.dtype, ties=ties), mask)
    return run


def _global_average(keepdims=False, masked=False, all_masked_row=False):
    def run(cmp):
        args = dict(keepdims=keepdims, dtype=cmp.dtype)
        mask = _mask(all_masked_row=all_masked_row) if masked else None
        _run_pair(cmp, keras.layers.GlobalAveragePooling1D(**args),
                  GlobalAveragePooling1D(**args), _inputs(cmp.dtype), mask,
                  mask_argument=True)
    return run


def _checks():
    max_pool, avg_pool = keras.layers.MaxPooling1D, keras.layers.AveragePooling1D
    global_max = keras.layers.GlobalMaxPooling1D
    specs = [
        ("conv1d-valid", _conv(), "kernel_size=3 padding=valid"),
        ("conv1d-same", _conv(4, padding="same"), "kernel_size=4 same (uneven split)"),
        ("conv1d-causal", _conv(padding="causal"), "kernel_size=3 padding=causal"),
        ("conv1d-strides2", _conv(strides=2), "strides=2 valid"),
        ("conv1d-same-strides2", _conv(4, strides=2, padding="same"), "strides=2 same"),
        ("conv1d-same-strides4", _conv(3, strides=4, padding="same"),
         "strides=4 > kernel_size same"),
        ("conv1d-dilation2", _conv(dilation_rate=2), "dilation_rate=2 valid"),
        ("conv1d-same-dilation2", _conv(dilation_rate=2, padding="same"),
         "dilation_rate=2 same"),
        ("conv1d-causal-dilation2", _conv(2, dilation_rate=2, padding="causal"),
         "dilation_rate=2 causal"),
        ("conv1d-relu", _conv(activation="relu", padding="same"), "activation=relu"),
        ("conv1d-softmax", _conv(activation="softmax"), "activation=softmax"),
        ("conv1d-tanh-nobias", _conv(activation="tanh", use_bias=False),
         "activation=tanh use_bias=False"),
        ("conv1d-mask-dropped", _conv(masked=True), "mask: warned and dropped"),
        ("max-pooling1d", _pool(MaxPooling1D, max_pool), "pool_size=2 valid"),
        ("max-pooling1d-same", _pool(MaxPooling1D, max_pool, pool_size=4, strides=2,
                                     padding="same"), "pool_size=4 strides=2 same"),
        ("max-pooling1d-overlap-ties", _pool(MaxPooling1D, max_pool, ties=True, pool_size=3,
                                             strides=1, padding="same"),
         "pool_size=3 strides=1 same, tied inputs"),
        ("max-pooling1d-mask-dropped", _pool(MaxPooling1D, max_pool, masked=True),
         "mask: warned and dropped"),
        ("average-pooling1d", _pool(AveragePooling1D, avg_pool, pool_size=3),
         "pool_size=3 valid"),
        ("average-pooling1d-same", _pool(AveragePooling1D, avg_pool, pool_size=4, strides=3,
                                         padding="same"), "pool_size=4 strides=3 same"),
        ("average-pooling1d-overlap", _pool(AveragePooling1D, avg_pool, pool_size=3,
                                            strides=1, padding="same"),
         "pool_size=3 strides=1 same"),
        ("global-average-pooling1d", _global_average(), "no mask"),
        ("global-average-pooling1d-keepdims", _global_average(keepdims=True),
         "keepdims=True"),
        ("global-average-pooling1d-masked", _global_average(masked=True), "mask"),
        ("global-average-pooling1d-all-masked",
         _global_average(keepdims=True, masked=True, all_masked_row=True),
         "a sample with every step masked: NaN, zero dx"),
        ("global-max-pooling1d", _pool(GlobalMaxPooling1D, global_max), "no mask"),
        ("global-max-pooling1d-keepdims-ties", _pool(GlobalMaxPooling1D, global_max,
                                                     ties=True, keepdims=True),
         "keepdims=True, tied inputs"),
        ("global-max-pooling1d-mask-dropped", _pool(GlobalMaxPooling1D, global_max,
                                                    masked=True),
         "mask: warned and dropped, max over every step"),
    ]
    return [Check(f"{name}-{dtype_suffix(dtype)}", "layer", dtype, run, options)
            for name, run, options in specs for dtype in DTYPES]


CHECKS = _checks()
