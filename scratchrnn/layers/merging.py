"""Keras's merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``, ``Concatenate`` and ``Dot``.

A merge layer is called on a list of arrays and returns one array; ``backward`` takes the
output's gradient and returns a list of gradients, one per input, in order::

    y = layers.Add()([a, b])
    da, db = layer.backward(dy)

Semantics are Keras 3.15's (``keras/src/layers/merging/``), established by reading it and
checked against it in ``parity/checks_merging.py``:

- Any number of inputs from one (Keras 3 accepts a single input; Keras 2 wanted two),
  except ``Subtract`` and ``Dot``: exactly two.
- The elementwise merges broadcast.  Axis 0 is the batch and must agree; the other axes
  follow NumPy's rule counted from the last (equal sizes, or one of them 1).  Inputs of a
  lower rank get axes of size 1 inserted after the batch axis, so ``(B, F)`` meets
  ``(B, T, F)`` as ``(B, 1, F)``.  ``backward`` sums each gradient back over the axes its
  input was stretched along, so every gradient has its input's shape.
- Masks: ``mask=[m_0, m_1, ...]`` (None for an unmasked input) stands for the masks Keras
  finds attached to its input tensors (``_keras_mask``); masks are ``(batch, ...)``, the
  input's shape without its last axis.  The output's mask (``compute_mask``) is the OR of
  the inputs' masks when every input has one, else None.  ``Add``, ``Subtract`` and
  ``Average`` compute as if there were no masks; ``Multiply`` takes masked entries as 1
  and zeroes the output where every input is masked; ``Maximum``/``Minimum`` replace a
  masked entry by the other operand, so masked entries do not take part.  As in Keras, an
  input whose rank is raised for broadcasting loses its mask inside the computation (its
  mask still counts in ``compute_mask``).
- ``Concatenate``'s mask: an unmasked input counts as all True, the masks are concatenated
  along ``axis`` and reduced with any() over the last axis (so concatenating features of
  a masked and an unmasked sequence gives a mask of all True).  ``Dot`` gives no mask.
"""

import numbers

import numpy as np

from .. import _checks
from .layer import Layer

#: Keras's ``backend.epsilon()``: ``Dot(normalize=True)`` divides by ``max(‖x‖, 1e-7)``.
NORMALIZE_EPSILON = 1e-7


# --- helpers shared by the layers -------------------------------------------------------

def _unbroadcast(g, shape):
    """Sum the gradient ``g`` over the axes that broadcasting added or stretched, back to
    ``shape`` (the reverse of NumPy's broadcasting)."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


def _where_backward(cond, g, shape_a, shape_b):
    """The gradients of ``where(cond, a, b)`` for ``a`` of ``shape_a``, ``b`` of ``shape_b``."""
    zero = g.dtype.type(0)
    return (_unbroadcast(np.where(cond, g, zero), shape_a),
            _unbroadcast(np.where(cond, zero, g), shape_b))


def _bool_mask(mask, argument):
    """``mask`` as booleans (booleans, or numbers where nonzero is True, as Keras's
    ``logical_or`` takes them)."""
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        if m.dtype.kind not in "fiu":
            raise TypeError(f"`{argument}` must hold booleans, got an array of dtype {m.dtype}")
        m = m != 0
    return m


def _check_masks(mask, count):
    """``mask`` (None, or a list with one mask or None per input) -> a list of ``count``
    boolean arrays or Nones."""
    if mask is None:
        return [None] * count
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f"`mask` must be a list with one mask (or None) per input, got "
                         f"{type(mask).__name__}")
    if len(mask) != count:
        raise ValueError(f"`mask` must have one entry (a mask or None) per input: "
                         f"{count} inputs, got {len(mask)} masks")
    return [None if m is None else _bool_mask(m, f"mask[{i}]") for i, m in enumerate(mask)]


def _or_masks(masks):
    """The OR of ``masks`` under broadcasting, as Keras's ``logical_or`` computes it."""
    out = masks[0]
    for i, m in enumerate(masks[1:], 1):
        try:
            out = np.logical_or(out, m)
        except ValueError:
            raise ValueError(f"`mask[{i}]` of shape {m.shape} cannot be combined with the "
                             f"masks before it (shape {out.shape}): the output's mask is "
                             "their OR, which needs shapes that broadcast") from None
    return out


def _mask_over_input(m, x_shape, argument):
    """Mask ``m`` broadcast over an input of ``x_shape`` (one entry per element)."""
    try:
        return np.broadcast_to(m[..., None], x_shape)
    except ValueError:
        raise ValueError(f"`{argument}` of shape {m.shape} does not fit its input of shape "
                         f"{tuple(x_shape)}: a mask has the input's shape without the last "
                         "axis (or one that broadcasts to it)") from None


def _shape_list(input_shape):
    """``input_shape`` (a list of shapes, None for unknown sizes) -> a list of tuples."""
    if (not isinstance(input_shape, (list, tuple)) or not input_shape
            or not all(isinstance(s, (list, tuple)) for s in input_shape)):
        raise ValueError(f"`input_shape` must be a list of shapes, one per input (a merge "
                         f"layer merges a list of inputs), got {input_shape!r}")
    shapes = []
    for i, s in enumerate(input_shape):
        for n in s:
            if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral)
                                  or n < 0):
                raise ValueError(f"`input_shape[{i}]` must hold sizes (non-negative "
                                 f"integers or None), got {tuple(s)!r}")
        shapes.append(tuple(None if n is None else int(n) for n in s))
    return shapes


class _Merge(Layer):
    """What every merge layer shares: a list of inputs, checked, with no weights.

    Subclasses set ``n_inputs`` (None: any number from one) and ``min_rank``, and
    implement ``_check_shapes(shapes, argument)`` (raise unless the shapes, None allowed,
    can be merged), ``call``, ``backward`` and ``compute_output_shape``.
    """

    supports_masking = True
    n_inputs = None
    min_rank = 1

    def __init__(self, name=None, dtype="float32", trainable=True, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, **kwargs)
        self.built = True          # no weights: nothing waits for the first call

    def _check_count(self, count, argument):
        kind = type(self).__name__
        if self.n_inputs is None and count < 1:
            raise ValueError(f"`{argument}` must be a list of at least 1 array for {kind}, "
                             f"got {count}")
        if self.n_inputs is not None and count != self.n_inputs:
            raise ValueError(f"`{argument}` must be a list of exactly {self.n_inputs} arrays "
                             f"for {kind}, got {count}")

    def _check_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"`inputs` must be a list of arrays ({type(self).__name__} merges "
                            f"several inputs), got {type(inputs).__name__}")
        self._check_count(len(inputs), "inputs")
        xs = [_checks.real_array(x, f"inputs[{i}]", self.dtype) for i, x in enumerate(inputs)]
        for i, x in enumerate(xs):
            if x.ndim < self.min_rank:
                axes = "a batch axis" if self.min_rank == 1 else "(batch, features) at least"
                raise ValueError(f"`inputs[{i}]` must have at least {self.min_rank} "
                                 f"dimension(s), {axes}, got shape {x.shape}")
        self._check_shapes([x.shape for x in xs], "inputs")
        return xs

    def build(self, input_shape):
        """Validate a list of input shapes (None for unknown sizes), as Keras's ``build``
        does; there are no weights to create."""
        shapes = _shape_list(input_shape)
        self._check_count(len(shapes), "input_shape")
        for i, s in enumerate(shapes):
            if len(s) < self.min_rank:
                raise ValueError(f"`input_shape[{i}]` must have at least {self.min_rank} "
                                 f"entries, got {s}")
        self._check_shapes(shapes, "input_shape")
        self.built = True

    def _check_shapes(self, shapes, argument):
        """Refuse input shapes this merge cannot combine: what each merge defines."""
        raise NotImplementedError(f"{type(self).__name__} must define _check_shapes")


# --- the elementwise merges ---------------------------------------------------------------

def _elementwise_shape(left, right, argument, i):
    """Keras's shape rule for two shapes without their batch axis, counted from the last
    axis: equal sizes, or 1 (stretched), or None (unknown, and so is the result)."""
    if len(left) < len(right):
        longer, shorter = right, left
    else:
        longer, shorter = left, right
    out = list(longer[:len(longer) - len(shorter)])
    for a, b in zip(longer[len(longer) - len(shorter):], shorter):
        if a is None or b is None:
            out.append(None)
        elif a == 1 or b == 1:
            out.append(b if a == 1 else a)
        elif a != b:
            raise ValueError(f"`{argument}[{i}]` cannot be merged elementwise with the inputs "
                             f"before it: after the batch axis its shape is {tuple(right)}, "
                             f"theirs {tuple(left)}; counted from the last axis the sizes "
                             "must be equal or 1")
        else:
            out.append(a)
    return tuple(out)


class _ElementwiseMerge(_Merge):
    """An elementwise merge with Keras's broadcasting (see the module docstring).

    Subclasses implement ``_merge(xs, masks) -> (y, tape)`` on inputs already brought to
    one rank (``masks``: each broadcast over its input, or None) and
    ``_merge_backward(dy, tape) -> [dx_i]`` with each ``dx_i`` of its input's shape.
    ``masks_in_forward``: whether the masks change the values (and then the output mask
    is the merge's own, as Keras sets it inside ``Multiply``/``Maximum``/``Minimum``).
    """

    masks_in_forward = False

    def _check_shapes(self, shapes, argument):
        batch = {s[0] for s in shapes if s[0] is not None}
        if len(batch) > 1:
            raise ValueError(f"`{argument}` must share one batch size (axis 0), got shapes "
                             f"{', '.join(str(s) for s in shapes)}")
        out = shapes[0][1:]
        for i, s in enumerate(shapes[1:], 1):
            out = _elementwise_shape(out, s[1:], argument, i)
        return (batch.pop() if batch else None, *out)

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(input_shape)
        self._check_count(len(shapes), "input_shape")
        return self._check_shapes(shapes, "input_shape")

    def _same_rank(self, xs):
        return len({x.ndim for x in xs}) == 1

    def compute_mask(self, inputs, mask=None):
        """The OR of the inputs' masks when every input has one, else None."""
        if mask is None:
            return None
        xs = self._check_inputs(inputs)
        masks = _check_masks(mask, len(xs))
        if any(m is None for m in masks):
            return None
        if self.masks_in_forward and self._same_rank(xs):
            # Keras sets this one inside the merge: any() over the last axis of the masks
            # broadcast over their inputs (the plain OR, but of the output's leading shape).
            spread = [_mask_over_input(m, x.shape, f"mask[{i}]")
                      for i, (m, x) in enumerate(zip(masks, xs))]
            return _or_masks(spread).any(axis=-1)
        return _or_masks(masks)

    def call(self, inputs, mask=None, training=False):
        xs = self._check_inputs(inputs)
        masks = _check_masks(mask, len(xs))
        shapes = [x.shape for x in xs]
        rank = max(x.ndim for x in xs)
        # (B, d...) -> (B, 1, ..., 1, d...): Keras's expand_dims(x, 1) up to the top rank;
        # a raised input is a new tensor in Keras, without its mask.
        lifted = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]
        spread = [None if m is None or x.ndim < rank or not self.masks_in_forward
                  else _mask_over_input(m, x.shape, f"mask[{i}]")
                  for i, (m, x) in enumerate(zip(masks, xs))]
        y, tape = self._merge(lifted, spread)
        if np.may_share_memory(y, xs[0]):        # one input: hand out a copy, not theirs
            y = y.copy()
        self._tape = (shapes, [x.shape for x in lifted], y.shape, tape)
        return y

    def backward(self, d_out):
        """``dy`` (the output's shape) -> ``[dx_0, dx_1, ...]``, each of its input's shape."""
        shapes, lifted, out_shape, tape = self._require_tape()
        dy = self._check_grad(d_out, out_shape)
        grads = self._merge_backward(dy, tape)
        self._gradients = []
        return [np.ascontiguousarray(_unbroadcast(g, lift).reshape(shape), dtype=self.dtype)
                for g, lift, shape in zip(grads, lifted, shapes)]

    def _merge(self, xs, masks):
        """``(output, tape)`` of the merge: what each elementwise merge defines."""
        raise NotImplementedError(f"{type(self).__name__} must define _merge")

    def _merge_backward(self, dy, tape):
        """The gradient of each input from ``dy`` and the tape of :meth:`_merge`."""
        raise NotImplementedError(f"{type(self).__name__} must define _merge_backward")


def _sum(xs):
    """``x_0 + x_1 + ... + x_{n-1}``, added in order as Keras adds them."""
    y = xs[0]
    for x in xs[1:]:
        y = y + x
    return y


class Add(_ElementwiseMerge):
    """The sum of the inputs, elementwise, with broadcasting::

        y = x_0 + x_1 + ... + x_{n-1}
        dx_i = unbroadcast_i(dy)        (dy summed over the axes x_i was stretched along)

    Masks only make the output's mask (their OR).
    """

    def _merge(self, xs, masks):
        return _sum(xs), [x.shape for x in xs]

    def _merge_backward(self, dy, shapes):
        return [_unbroadcast(dy, s) for s in shapes]


class Subtract(_ElementwiseMerge):
    """The difference of exactly two inputs, elementwise, with broadcasting::

        y = x_0 - x_1
        dx_0 = unbroadcast_0(dy),   dx_1 = -unbroadcast_1(dy)

    Masks only make the output's mask (their OR).
    """

    n_inputs = 2

    def _merge(self, xs, masks):
        return xs[0] - xs[1], [x.shape for x in xs]

    def _merge_backward(self, dy, shapes):
        return [_unbroadcast(dy, shapes[0]), -_unbroadcast(dy, shapes[1])]


class Average(_ElementwiseMerge):
    """The mean of the inputs, elementwise, with broadcasting::

        y = (x_0 + x_1 + ... + x_{n-1}) / n
        dx_i = unbroadcast_i(dy / n)

    Masks only make the output's mask (their OR).
    """

    def _merge(self, xs, masks):
        return _sum(xs) / len(xs), [x.shape for x in xs]

    def _merge_backward(self, dy, shapes):
        return [_unbroadcast(dy / len(shapes), s) for s in shapes]


class Multiply(_ElementwiseMerge):
    """The product of the inputs, elementwise, with broadcasting, taken in order::

        x'_i = x_i where m_i else 1                 (m_i: x_i's mask over its elements)
        p_0 = x'_0,   p_i = p_{i-1} ⊙ x'_i,   y = p_{n-1}
        y = y where (m_0 ∨ ... ∨ m_{n-1}) else 0    (only when every input has a mask)

    Backward, from ``dp_{n-1} = dy`` (zeroed where the output was)::

        dx'_i = unbroadcast_i(dp_i ⊙ p_{i-1}),   dp_{i-1} = unbroadcast(dp_i ⊙ x'_i)
        dx_i  = dx'_i where m_i else 0

    The products, not quotients, carry the gradient, so zeros in the inputs are fine.
    """

    masks_in_forward = True

    def _merge(self, xs, masks):
        one = self.dtype.type(1)
        every_masked = all(m is not None for m in masks)
        chosen, partials, out_mask = [], [], None
        p = None
        for x, m in zip(xs, masks):
            if m is not None:
                x = np.where(m, x, one)                            # masked entries: 1
                if every_masked:
                    out_mask = m if out_mask is None else out_mask | m
            partials.append(p)                                     # p_{i-1} (None for i=0)
            chosen.append(x)
            p = x if p is None else p * x
        if out_mask is not None:
            p = np.where(out_mask, p, self.dtype.type(0))
        return p, (chosen, partials, masks, out_mask)

    def _merge_backward(self, dy, tape):
        chosen, partials, masks, out_mask = tape
        dp = dy
        if out_mask is not None:
            dp = np.where(out_mask, dp, self.dtype.type(0))
        grads = [None] * len(chosen)
        for i in reversed(range(len(chosen))):
            x, prev, m = chosen[i], partials[i], masks[i]
            if prev is None:
                dx = _unbroadcast(dp, x.shape)
            else:
                dx = _unbroadcast(dp * prev, x.shape)
                dp = _unbroadcast(dp * x, prev.shape)
            grads[i] = dx if m is None else np.where(m, dx, self.dtype.type(0))
        return grads


class _Extremum(_ElementwiseMerge):
    """``Maximum`` and ``Minimum``: one pairwise ``op`` folded over the inputs in order,
    with Keras's masking of each pair (its ``_apply_merge_op_and_or_mask``)::

        y_0 = x_0,  M_0 = m_0
        x'_i = x_i where m_i else y_{i-1}            (a masked entry copies the other side)
        y'   = y_{i-1} where M_{i-1} else x'_i
        y_i  = op(y', x'_i),   M_i = M_{i-1} ∨ m_i    (None once an input has no mask)

    Backward: ``op`` sends ``dy_i`` to ``y'`` where it won, ties included (TensorFlow's
    rule: ``y' >= x'`` for the maximum, ``<=`` for the minimum), else to ``x'``; each
    ``where`` sends its gradient to the side it took, summed back over broadcast axes.
    """

    masks_in_forward = True

    @staticmethod
    def _op(a, b):
        raise NotImplementedError

    @staticmethod
    def _first_wins(a, b):
        raise NotImplementedError

    def _merge(self, xs, masks):
        y, y_mask = xs[0], masks[0]
        steps = []
        for x, m in zip(xs[1:], masks[1:]):
            x_sel = x if m is None else np.where(m, x, y)
            y_sel = y if y_mask is None else np.where(y_mask, y, x_sel)
            steps.append((y.shape, x.shape, m, y_mask, y_sel.shape, x_sel.shape,
                          self._first_wins(y_sel, x_sel)))
            y = self._op(y_sel, x_sel)
            y_mask = None if m is None or y_mask is None else y_mask | m
        return y, (xs[0].shape, steps)

    def _merge_backward(self, dy, tape):
        first_shape, steps = tape
        grads = [None] * (len(steps) + 1)
        dy_prev = dy
        for i in reversed(range(len(steps))):
            y_shape, x_shape, m, y_mask, y_sel_shape, x_sel_shape, first = steps[i]
            d_ysel, d_xsel = _where_backward(first, dy_prev, y_sel_shape, x_sel_shape)
            if y_mask is None:
                d_y = d_ysel
            else:
                d_y, extra = _where_backward(y_mask, d_ysel, y_shape, x_sel_shape)
                d_xsel = d_xsel + extra
            if m is None:
                d_x = d_xsel
            else:
                d_x, extra = _where_backward(m, d_xsel, x_shape, y_shape)
                d_y = d_y + extra
            grads[i + 1] = d_x
            dy_prev = d_y
        grads[0] = _unbroadcast(dy_prev, first_shape)
        return grads


class Maximum(_Extremum):
    """The elementwise maximum of the inputs, with broadcasting and Keras's masking::

        y = max(...max(max(x_0, x_1), x_2)..., x_{n-1})
        dx_i = dy where x_i gave the maximum (the earliest input on ties) else 0

    The full rule with masks, and its backward, is :class:`_Extremum`'s.
    """

    _op = staticmethod(np.maximum)
    _first_wins = staticmethod(np.greater_equal)


class Minimum(_Extremum):
    """The elementwise minimum of the inputs, with broadcasting and Keras's masking::

        y = min(...min(min(x_0, x_1), x_2)..., x_{n-1})
        dx_i = dy where x_i gave the minimum (the earliest input on ties) else 0

    The full rule with masks, and its backward, is :class:`_Extremum`'s.
    """

    _op = staticmethod(np.minimum)
    _first_wins = staticmethod(np.less_equal)


# --- Concatenate -------------------------------------------------------------------------

def _integer(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{argument}` must be an integer, got {value!r} of type "
                        f"{type(value).__name__}")
    return int(value)


class Concatenate(_Merge):
    """The inputs joined along ``axis`` (negative counts from the last; 0, the batch, is
    allowed as in Keras).  All inputs have one rank and equal sizes on every other axis::

        y = [x_0 | x_1 | ... | x_{n-1}]             along ``axis``
        dx_i = dy[..., o_i : o_i + s_i, ...]        o_i = s_0 + ... + s_{i-1}

    The output's mask (``compute_mask``): each input's mask broadcast over its input (all
    True when it has none), concatenated along ``axis``, then any() over the last axis.
    """

    def __init__(self, axis=-1, name=None, dtype="float32", trainable=True, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, **kwargs)
        self.axis = _integer(axis, "axis")

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

    def _resolve_axis(self, rank):
        if not -rank <= self.axis < rank:
            raise ValueError(f"`axis` {self.axis} is out of range for inputs of rank {rank} "
                             f"(it must lie in [{-rank}, {rank - 1}])")
        return self.axis % rank

    def _check_shapes(self, shapes, argument):
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            raise ValueError(f"`{argument}` must all have the same rank to be concatenated, "
                             f"got shapes {', '.join(str(s) for s in shapes)}")
        axis = self._resolve_axis(ranks.pop())
        for d in range(len(shapes[0])):
            sizes = {s[d] for s in shapes if s[d] is not None}
            if d != axis and len(sizes) > 1:
                raise ValueError(f"`{argument}` must have matching shapes except on the "
                                 f"concatenation axis {self.axis}, got shapes "
                                 f"{', '.join(str(s) for s in shapes)} (axis {d} differs)")
        return axis

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(input_shape)
        self._check_count(len(shapes), "input_shape")
        axis = self._check_shapes(shapes, "input_shape")
        sizes = [s[axis] for s in shapes]
        out = list(shapes[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        """Keras's rule (see the class docstring); None when no input has a mask."""
        if mask is None:
            return None
        xs = self._check_inputs(inputs)
        masks = _check_masks(mask, len(xs))
        if all(m is None for m in masks):
            return None
        full = []
        for i, (x, m) in enumerate(zip(xs, masks)):
            if m is None:
                full.append(np.ones(x.shape, bool))
            elif m.ndim < x.ndim:
                full.append(_mask_over_input(m, x.shape, f"mask[{i}]"))
            else:
                full.append(m)
        try:
            joined = np.concatenate(full, axis=self.axis)
        except ValueError:
            raise ValueError(f"`mask` cannot be concatenated along axis {self.axis}: masks "
                             f"spread over their inputs have shapes "
                             f"{', '.join(str(f.shape) for f in full)}") from None
        return joined.any(axis=-1)

    def call(self, inputs, mask=None, training=False):
        xs = self._check_inputs(inputs)
        _check_masks(mask, len(xs))
        axis = self._resolve_axis(xs[0].ndim)
        y = np.concatenate(xs, axis=axis)
        self._tape = (axis, [x.shape[axis] for x in xs], y.shape)
        return y

    def backward(self, d_out):
        """``dy`` (the output's shape) -> ``[dx_0, dx_1, ...]``: its slices along ``axis``."""
        axis, sizes, out_shape = self._require_tape()
        dy = self._check_grad(d_out, out_shape)
        self._gradients = []
        return [np.ascontiguousarray(g)
                for g in np.split(dy, np.cumsum(sizes)[:-1], axis=axis)]


# --- Dot ------------------------------------------------------------------------------

def _l2_normalize(x, axis, dtype):
    """Keras's ``normalize(x, axis)``: ``x̂ = x · min(1/√Σx², 1/ε)``; returns ``x̂`` and
    what the backward needs."""
    square_sum = np.sum(x * x, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        inv = 1.0 / np.sqrt(square_sum)               # inf for a zero vector
    cap = dtype.type(1.0 / NORMALIZE_EPSILON)
    through = inv <= cap              # TensorFlow's minimum: ties go to the first argument
    inv = np.minimum(inv, cap)
    return x * inv, (x, inv, through, axis)


def _l2_normalize_backward(dxn, cache):
    """``dx = r dx̂ - r³ x Σ(x ⊙ dx̂)`` where ``r = 1/‖x‖``; where the cap ``1/ε`` is in
    force (a norm below ε) ``r`` is a constant and only ``r dx̂`` is left."""
    x, inv, through, axis = cache
    projection = np.sum(x * dxn, axis=axis, keepdims=True)
    zero = x.dtype.type(0)
    return inv * dxn - np.where(through, inv ** 3 * projection, zero) * x


class Dot(_Merge):
    """The dot product of two inputs along one axis each, sample by sample::

        y[b, i..., j...] = Σ_k x_0[b, i..., k, ...] · x_1[b, j..., k, ...]

    ``axes`` is an int (the same axis of both) or a pair, negative counting from the last;
    never 0, the batch.  The output's axes are ``x_0``'s remaining ones then ``x_1``'s
    (batch first, once), and ``(batch, 1)`` when nothing remains (two ``(batch, d)``).
    Moving the contracted axis last and flattening the others, ``X (B, P, d)`` and
    ``Y (B, Q, d)``::

        y = X Yᵀ   (B, P, Q),      dX = dy Y,      dY = dyᵀ X

    ``normalize=True`` first divides each input by its L2 norm along its axis (the output
    is then the cosine similarity), as Keras does::

        x̂ = x r,  r = min(1/√Σx², 1/ε),  ε = 1e-7
        dx = r dx̂ - r³ x Σ(x ⊙ dx̂)        (only r dx̂ where the cap holds: ‖x‖ ≤ ε)

    Masks are accepted and dropped: ``compute_mask`` gives None.
    """

    n_inputs = 2
    min_rank = 2

    def __init__(self, axes, normalize=False, name=None, dtype="float32", trainable=True, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, **kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"`axes` must be an integer or a pair of integers (one axis "
                                 f"of each input), got {axes!r}")
            self._axes = (_integer(axes[0], "axes[0]"), _integer(axes[1], "axes[1]"))
        elif isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
            self._axes = (int(axes), int(axes))
        else:
            raise TypeError(f"`axes` must be an integer or a pair of integers, got {axes!r} "
                            f"of type {type(axes).__name__}")
        self.axes = axes if isinstance(axes, (list, tuple)) else int(axes)   # as configured
        self.normalize = _checks.boolean(normalize, "normalize")

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}

    def _resolve_axes(self, rank_0, rank_1):
        resolved = []
        for i, (axis, rank) in enumerate(zip(self._axes, (rank_0, rank_1))):
            if not -rank <= axis < rank:
                raise ValueError(f"`axes` {self.axes!r}: axis {axis} is out of range for "
                                 f"input {i} of rank {rank}")
            axis %= rank
            if axis == 0:
                raise ValueError(f"`axes` {self.axes!r} takes the batch axis (0) of input "
                                 f"{i}: the dot product is taken sample by sample")
            resolved.append(axis)
        return tuple(resolved)

    def _check_shapes(self, shapes, argument):
        s0, s1 = shapes
        if s0[0] is not None and s1[0] is not None and s0[0] != s1[0]:
            raise ValueError(f"`{argument}` must share one batch size (axis 0), got shapes "
                             f"{s0} and {s1}")
        a0, a1 = self._resolve_axes(len(s0), len(s1))
        if s0[a0] is not None and s1[a1] is not None and s0[a0] != s1[a1]:
            raise ValueError(f"`{argument}` must have equal sizes on the axes of the dot "
                             f"product: axis {a0} of {s0} has {s0[a0]}, axis {a1} of {s1} "
                             f"has {s1[a1]}")
        return a0, a1

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(input_shape)
        self._check_count(len(shapes), "input_shape")
        a0, a1 = self._check_shapes(shapes, "input_shape")
        s0, s1 = shapes
        batch = s0[0] if s0[0] is not None else s1[0]
        rest = [n for d, n in enumerate(s0) if d not in (0, a0)]
        rest += [n for d, n in enumerate(s1) if d not in (0, a1)]
        return (batch, *rest) if rest else (batch, 1)

    def compute_mask(self, inputs, mask=None):
        return None

    def call(self, inputs, mask=None, training=False):
        x0, x1 = self._check_inputs(inputs)
        _check_masks(mask, 2)
        a0, a1 = self._resolve_axes(x0.ndim, x1.ndim)
        norms = (None, None)
        if self.normalize:
            (x0, n0), (x1, n1) = (_l2_normalize(x0, a0, self.dtype),
                                  _l2_normalize(x1, a1, self.dtype))
            norms = (n0, n1)
        X = np.moveaxis(x0, a0, -1)                      # (B, i..., d)
        Y = np.moveaxis(x1, a1, -1)                      # (B, j..., d)
        B, d = X.shape[0], X.shape[-1]
        X2 = X.reshape(B, -1, d)                         # (B, P, d)
        Y2 = Y.reshape(B, -1, d)                         # (B, Q, d)
        y = X2 @ Y2.transpose(0, 2, 1)                   # (B, P, Q)
        out_shape = (B, *X.shape[1:-1], *Y.shape[1:-1])
        y = y.reshape(out_shape if len(out_shape) > 1 else (B, 1))
        self._tape = (X2, Y2, X.shape, Y.shape, (a0, a1), norms, y.shape)
        return y

    def backward(self, d_out):
        """``dy`` (the output's shape) -> ``[dx_0, dx_1]``."""
        X2, Y2, x_shape, y_shape, (a0, a1), norms, out_shape = self._require_tape()
        dy = self._check_grad(d_out, out_shape)
        g = dy.reshape(X2.shape[0], X2.shape[1], Y2.shape[1])    # (B, P, Q)
        dX = np.moveaxis((g @ Y2).reshape(x_shape), -1, a0)          # dy Y
        dY = np.moveaxis((g.transpose(0, 2, 1) @ X2).reshape(y_shape), -1, a1)   # dyᵀ X
        if self.normalize:
            dX = _l2_normalize_backward(dX, norms[0])
            dY = _l2_normalize_backward(dY, norms[1])
        self._gradients = []
        return [np.ascontiguousarray(dX), np.ascontiguousarray(dY)]
