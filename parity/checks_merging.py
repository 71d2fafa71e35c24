"""Parity checks of the merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``,
``Maximum``, ``Minimum``, ``Concatenate`` and ``Dot``.

Each check calls the Keras layer and ours on the same list of random inputs, in float64
and float32.  A mask of ours (``mask=[m_0, m_1, ...]``) is attached to the Keras input
tensor as its ``_keras_mask``, which is how masks reach a Keras merge layer (its ``call``
takes no ``mask`` argument).  Compared: the output, every input's gradient of
``sum(out * G)`` for a random ``G`` (Keras's by ``tf.GradientTape``), and the output mask
(Keras's ``_keras_mask`` on the output against our ``compute_mask``).

The cases cover three or more inputs, broadcasting (size-1 axes and inputs of a lower
rank, which Keras lifts with ``expand_dims(x, 1)``), masks on every input, on some, and on
a lifted input (Keras drops that one inside the computation but ORs it into the output's
mask), ties in ``Maximum``/``Minimum`` (the gradient goes to the earliest input),
``Concatenate`` on the last, a middle and the batch axis, and ``Dot`` on 2-D, 3-D and 4-D
inputs with int, pair and negative ``axes``, with and without ``normalize``.
"""

import numpy as np

from scratchrnn.layers import merging

from .checks_layers import _compare_masks
from .components import Check, dtype_suffix, keras_gradients
from .harness import keras, tf

DTYPES = ("float64", "float32")


def _normal(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _mask(shape, seed):
    """Random booleans with at least one False and one True."""
    mask = np.random.default_rng(seed).random(shape) < 0.6
    mask.flat[0] = False
    mask.flat[-1] = True
    return mask


def _run(cmp, name, kwargs, shapes, mask_shapes=None, ties=False, seed=0):
    """Run ``name`` (a class of ``merging`` and of ``keras.layers``) on inputs of
    ``shapes``, with masks of ``mask_shapes`` (None entries: unmasked)."""
    xs = [_normal(s, cmp.dtype, seed + i) for i, s in enumerate(shapes)]
    if ties:                  # every other entry of x_1 (and x_2) equal to x_0's
        for x in xs[1:]:
            x.reshape(-1)[::2] = xs[0].reshape(-1)[::2]
    masks = None
    if mask_shapes is not None:
        masks = [None if s is None else _mask(s, seed + 10 + i)
                 for i, s in enumerate(mask_shapes)]
    ours = getattr(merging, name)(dtype=cmp.dtype, **kwargs)
    theirs = getattr(keras.layers, name)(dtype=cmp.dtype, **kwargs)
    y = ours(xs, mask=masks)
    upstream = np.random.default_rng(seed + 100).standard_normal(y.shape).astype(cmp.dtype)
    grads = ours.backward(upstream)

    inputs_tf = [tf.constant(x) for x in xs]
    for t, m in zip(inputs_tf, masks or [None] * len(xs)):
        if m is not None:
            t._keras_mask = tf.constant(m)
    keras_out = []

    def forward():
        keras_out.append(theirs(inputs_tf))
        return keras_out[-1]

    (out,), keras_grads = keras_gradients(tf, forward, inputs_tf, [upstream])
    cmp.add("out", y, out)
    cmp.add("dx", grads, keras_grads)
    _compare_masks(cmp, ours.compute_mask(xs, masks),
                   getattr(keras_out[-1], "_keras_mask", None))


def _case(name, kwargs=None, **options):
    def run(cmp):
        _run(cmp, name, kwargs or {}, **options)
    return run


ELEMENTWISE = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
SAME = (2, 3, 4)


def _checks():
    specs = []
    for name in ELEMENTWISE:
        n = 2 if name == "Subtract" else 3
        low = name.lower()
        specs += [
            (f"merging-{low}", _case(name, shapes=[SAME] * n), f"{n} x (2, 3, 4)"),
            (f"merging-{low}-masked", _case(name, shapes=[SAME] * n,
                                            mask_shapes=[SAME[:2]] * n),
             "every input masked"),
            (f"merging-{low}-some-masked", _case(name, shapes=[SAME] * n,
                                                 mask_shapes=[SAME[:2]] + [None] * (n - 1)),
             "first input masked"),
            (f"merging-{low}-broadcast",
             _case(name, shapes=[(2, 3, 4), (2, 1, 4), (2, 4)][:n],
                   mask_shapes=[(2, 3), (2, 1), None][:n]),
             "(2, 3, 4) (2, 1, 4) (2, 4), masks on the first two"),
            (f"merging-{low}-lifted-mask",
             _case(name, shapes=[(3, 4), (3, 3, 4)], mask_shapes=[(3,), (3, 3)]),
             "(3, 4) masked, lifted to (3, 1, 4), with (3, 3, 4) masked"),
        ]
        if name in ("Maximum", "Minimum"):
            specs.append((f"merging-{low}-ties", _case(name, shapes=[SAME] * 3, ties=True),
                          "equal entries: the earliest input takes the gradient"))
            specs.append((f"merging-{low}-ties-masked",
                          _case(name, shapes=[SAME] * 3, ties=True,
                                mask_shapes=[SAME[:2], None, SAME[:2]]),
                          "equal entries, masks on inputs 0 and 2"))
    specs += [
        ("merging-concatenate", _case("Concatenate", shapes=[(2, 3, 4), (2, 3, 2), (2, 3, 1)],
                                      mask_shapes=[(2, 3), None, (2, 3)]),
         "axis=-1, masks on inputs 0 and 2"),
        ("merging-concatenate-time", _case("Concatenate", {"axis": 1},
                                           shapes=[(2, 3, 4), (2, 2, 4)],
                                           mask_shapes=[(2, 3), None]),
         "axis=1, first input masked"),
        ("merging-concatenate-masked", _case("Concatenate", {"axis": -2},
                                             shapes=[(2, 3, 4), (2, 2, 4)],
                                             mask_shapes=[(2, 3), (2, 2)]),
         "axis=-2, both masked"),
        ("merging-concatenate-batch", _case("Concatenate", {"axis": 0},
                                            shapes=[(2, 3), (1, 3)]), "axis=0"),
        ("merging-dot-2d", _case("Dot", {"axes": -1}, shapes=[(3, 4), (3, 4)],
                                 mask_shapes=[(3,), None]), "axes=-1 -> (3, 1), a mask dropped"),
        ("merging-dot-3d", _case("Dot", {"axes": -1}, shapes=[(2, 4, 5), (2, 3, 5)]),
         "axes=-1 -> (2, 4, 3)"),
        ("merging-dot-pair", _case("Dot", {"axes": (1, 2)}, shapes=[(2, 3, 5), (2, 4, 3)]),
         "axes=(1, 2) -> (2, 5, 4)"),
        ("merging-dot-3d-2d", _case("Dot", {"axes": (2, 1)}, shapes=[(2, 4, 3), (2, 3)]),
         "axes=(2, 1) -> (2, 4)"),
        ("merging-dot-2d-3d", _case("Dot", {"axes": (1, 1)}, shapes=[(2, 3), (2, 3, 4)]),
         "axes=(1, 1) -> (2, 4)"),
        ("merging-dot-4d", _case("Dot", {"axes": (-2, -1)}, shapes=[(2, 3, 2), (2, 1, 2, 3)]),
         "axes=(-2, -1) -> (2, 2, 1, 2)"),
        ("merging-dot-normalize", _case("Dot", {"axes": 1, "normalize": True},
                                        shapes=[(3, 4), (3, 4)]), "cosine, 2-D"),
        ("merging-dot-normalize-3d", _case("Dot", {"axes": (1, 2), "normalize": True},
                                           shapes=[(2, 3, 5), (2, 4, 3)]), "cosine, 3-D"),
    ]
    return [Check(f"{name}-{dtype_suffix(dtype)}", "layer", dtype, run, options)
            for name, run, options in specs for dtype in DTYPES]


CHECKS = _checks()
