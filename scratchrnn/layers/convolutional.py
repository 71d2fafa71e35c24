"""``Conv1D``: Keras's 1-D (temporal) convolution, with a hand-written backward pass.

Shapes: B samples, L input steps, C input channels, K kernel taps, F filters,
L' output steps; ``s`` the stride, ``d`` the dilation.  Inputs are ``channels_last``,
``(B, L, C)``.  After padding ``x`` to ``xp`` (see :func:`padding_amounts`)::

    z[b, t, f] = Σ_j Σ_c xp[b, t s + j d, c] · kernel[j, c, f]  +  bias[f]
    y = act(z)

Gathering the receptive fields into ``cols[b, t, j, c] = xp[b, t s + j d, c]`` (im2col)
turns the convolution into one matrix product, ``z = cols · kernel`` with ``cols`` seen
as ``(B L', K C)`` and the kernel as ``(K C, F)``.  The chain rule then reads::

    dz      = dy ⊙ act'(z)                       (from the output, ops.activations)
    dkernel = colsᵀ · dz                         (one GEMM over all B L' rows)
    dbias   = Σ_{b,t} dz[b, t]
    dcols   = dz · kernelᵀ
    dxp[b, t s + j d] += dcols[b, t, j]          (col2im: scatter each tap back)
    dx      = dxp without its padding

With ``groups = G`` the C channels and F filters split into G equal groups and group
``g``'s filters see only group ``g``'s channels: the kernel is ``(K, C/G, F)``, and the
products above run once per group on its slices (``cols[..., g]`` and ``kernel[..., g]``),
their results side by side (TensorFlow's grouped convolution).

The window helpers (:func:`padding_amounts`, :func:`output_length`, :func:`windows`,
:func:`scatter_windows`) are shared with :mod:`scratchrnn.layers.pooling`, whose
windows are the same with ``d = 1``.
"""

import numbers

import numpy as np

from .. import _checks, initializers
from ..ops import activations
from . import _arguments
from .layer import Layer

PADDINGS = ("valid", "same", "causal")


# --- arguments shared with the pooling layers --------------------------------------------

def size_argument(value, argument):
    """A positive int, given as Keras takes it: an int or a tuple/list of one int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"`{argument}` must be an int or a tuple of 1 int (the layer "
                             f"is 1-D), got {value!r}")
        value = value[0]
    return _arguments.positive_int(value, argument)


def padding_argument(value, allowed):
    """``value`` lower-cased (Keras accepts any case), if it is one of ``allowed``."""
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"`padding` must be one of {allowed}, got {value!r}")
    return value.lower()


def data_format_argument(value):
    """Only ``"channels_last"`` (Keras's default; None means it too)."""
    if value is None or value == "channels_last":
        return "channels_last"
    if value == "channels_first":
        raise ValueError("`data_format` must be 'channels_last': scratchrnn layers take "
                         "(batch, steps, channels); 'channels_first' is not supported "
                         "(transpose the inputs to (batch, steps, channels) instead)")
    raise ValueError(f"`data_format` must be 'channels_last', got {value!r}")


def check_sequences(inputs, dtype, channels=None):
    """``inputs`` as a (batch, steps, channels) array of ``dtype``, with ``channels``
    channels when given (the number the layer was built for)."""
    x = _checks.real_array(inputs, "inputs", dtype)
    if x.ndim != 3:
        raise ValueError("`inputs` must be a 3-D array (batch, steps, channels), "
                         f"got shape {x.shape}")
    if 0 in x.shape:
        raise ValueError("`inputs` must have at least one sample, step and channel, "
                         f"got shape {x.shape}")
    if channels is not None and x.shape[2] != channels:
        raise ValueError(f"`inputs` must have {channels} channels (the layer was built "
                         f"for them), got shape {x.shape}")
    return x


def check_input_shape(input_shape):
    """``input_shape`` as a 3-tuple (batch, steps, channels); None marks unknown sizes."""
    if isinstance(input_shape, numbers.Integral) or len(input_shape) != 3:
        raise ValueError(f"`input_shape` must be (batch, steps, channels), got {input_shape!r}")
    return tuple(input_shape)


# --- windows ---------------------------------------------------------------------------

def span(size, dilation):
    """How many steps one window covers: ``d (K - 1) + 1``."""
    return dilation * (size - 1) + 1


def output_length(length, size, stride, dilation, padding):
    """L', as TensorFlow counts it::

        valid:          ⌊(L - span) / s⌋ + 1   (≤ 0 when the sequence is too short)
        same, causal:   ⌈L / s⌉ = ⌊(L - 1) / s⌋ + 1
    """
    if padding == "valid":
        return (length - span(size, dilation)) // stride + 1
    return (length - 1) // stride + 1


def padding_amounts(length, size, stride, dilation, padding):
    """The ``(left, right)`` zeros added to a sequence of ``length`` steps.

    ``same`` is TensorFlow's SAME: the total is what makes ``⌈L / s⌉`` windows fit,
    ``max((L' - 1) s + span - L, 0)``, and the odd step goes to the right.  ``causal``
    puts all ``span - 1`` on the left, so that ``y[t]`` sees no input after ``t``.
    """
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span(size, dilation) - 1, 0
    out = output_length(length, size, stride, dilation, padding)
    total = max((out - 1) * stride + span(size, dilation) - length, 0)
    return total // 2, total - total // 2


def windows(xp, size, stride, dilation, count):
    """The ``count`` windows of ``xp (B, Lp, C)`` as a ``(B, count, size, C)`` view:
    ``out[b, t, j] = xp[b, t s + j d]``."""
    full = np.lib.stride_tricks.sliding_window_view(xp, span(size, dilation), axis=1)
    # full: (B, Lp - span + 1, C, span), every start; keep every s-th start, every d-th tap
    return full[:, ::stride][:, :count, :, ::dilation].transpose(0, 1, 3, 2)


def scatter_windows(d_windows, padded_length, stride, dilation):
    """The adjoint of :func:`windows`: ``dxp[b, t s + j d] += d_windows[b, t, j]``.

    One strided slice per tap ``j``: within a tap the L' positions are distinct, so the
    in-place sum is exact; windows that overlap meet across taps and accumulate.
    """
    batch, count, size, channels = d_windows.shape
    dxp = np.zeros((batch, padded_length, channels), dtype=d_windows.dtype)
    for j in range(size):
        start = j * dilation
        dxp[:, start:start + stride * (count - 1) + 1:stride] += d_windows[:, :, j]
    return dxp


# --- the layer ---------------------------------------------------------------------------

class Conv1D(Layer):
    """1-D convolution over steps, Keras's ``Conv1D`` (``channels_last``).

    Weights: ``kernel (kernel_size, in_channels / groups, filters)``, ``bias (filters,)``.
    ``groups`` must divide ``filters`` (checked here) and the input channels (checked when
    the layer is built), as in Keras.
    ``padding``: ``"valid"`` (none), ``"same"`` (TensorFlow's split, L' = ⌈L / s⌉) or
    ``"causal"`` (``dilation_rate (kernel_size - 1)`` zeros on the left, then valid).
    Keras refuses ``strides > 1`` together with ``dilation_rate > 1``, and so does this.
    Masks are not supported (as in Keras): a mask given to the call warns and is dropped.
    ``kernel_regularizer`` and ``bias_regularizer`` add their penalties to ``losses``;
    ``activity_regularizer`` must stay None.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format="channels_last", dilation_rate=1, groups=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, name=None, dtype="float32", trainable=True,
                 seed=None, **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, seed=seed, **kwargs)
        self.filters = _arguments.positive_int(filters, "filters")
        self.groups = _arguments.positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(f"`filters` must be divisible by `groups` (as in Keras), got "
                             f"filters={self.filters} and groups={self.groups}")
        self.kernel_size = size_argument(kernel_size, "kernel_size")
        self.strides = size_argument(strides, "strides")
        self.dilation_rate = size_argument(dilation_rate, "dilation_rate")
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError("`strides` > 1 is not supported together with "
                             f"`dilation_rate` > 1 (as in Keras), got strides={self.strides} "
                             f"and dilation_rate={self.dilation_rate}")
        self.padding = padding_argument(padding, PADDINGS)
        self.data_format = data_format_argument(data_format)
        self.activation = activation
        self._activation = activations.get(activation, "activation", softmax=True)
        self.use_bias = _checks.boolean(use_bias, "use_bias")
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self._kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self._bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = _arguments.regularizer(kernel_regularizer,
                                                         "kernel_regularizer")
        self.bias_regularizer = _arguments.regularizer(bias_regularizer, "bias_regularizer")
        self.activity_regularizer = _arguments.no_activity_regularizer(activity_regularizer)

    def get_config(self):
        s = _arguments.serialized
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": s(self.kernel_initializer),
                "bias_initializer": s(self.bias_initializer),
                "kernel_regularizer": s(self.kernel_regularizer),
                "bias_regularizer": s(self.bias_regularizer),
                "activity_regularizer": None, "seed": self.seed}

    def __repr__(self):
        return (f"Conv1D(filters={self.filters}, kernel_size={self.kernel_size}, "
                f"name={self.name!r})")

    def build(self, input_shape):
        """Create ``kernel`` (and ``bias``) for inputs ``(batch, steps, channels)``."""
        channels = _checks.positive_int(check_input_shape(input_shape)[2], "input_shape[-1]")
        if channels % self.groups:
            raise ValueError(f"the input channels must be divisible by `groups` (as in "
                             f"Keras), got {channels} channels and groups={self.groups}")
        self._add_weight("kernel", (self.kernel_size, channels // self.groups, self.filters),
                         self._kernel_initializer)
        if self.use_bias:
            self._add_weight("bias", (self.filters,), self._bias_initializer)
        self.built = True

    def compute_output_shape(self, input_shape):
        """``(batch, L', filters)``; L' is None when the steps are."""
        batch, length, _ = check_input_shape(input_shape)
        if length is None:
            return (batch, None, self.filters)
        return (batch, self._output_length(length), self.filters)

    def _output_length(self, length):
        out = output_length(length, self.kernel_size, self.strides, self.dilation_rate,
                            self.padding)
        if out <= 0:
            raise ValueError(
                f"`inputs` must have at least {span(self.kernel_size, self.dilation_rate)} "
                f"steps for a {self.padding!r} convolution with kernel_size="
                f"{self.kernel_size} and dilation_rate={self.dilation_rate}, got {length}")
        return out

    def _check_inputs(self, inputs):
        x = check_sequences(inputs, self.dtype,
                            self.kernel.shape[1] * self.groups if self.built else None)
        self._output_length(x.shape[1])
        return x

    def call(self, x, mask=None, training=False):
        """``y = act(cols · kernel + bias)``; keeps ``cols`` and ``y`` for backward."""
        length = x.shape[1]
        count = self._output_length(length)
        left, right = padding_amounts(length, self.kernel_size, self.strides,
                                      self.dilation_rate, self.padding)
        xp = np.pad(x, ((0, 0), (left, right), (0, 0)))
        cols = np.ascontiguousarray(
            windows(xp, self.kernel_size, self.strides, self.dilation_rate, count))
        if self.groups == 1:
            z = np.tensordot(cols, self.kernel, axes=2)           # (B, L', F)
        else:                                                     # one product per group
            z = np.concatenate([np.tensordot(c, k, axes=2)
                                for c, k in zip(*self._group_slices(cols))], axis=-1)
        if self.use_bias:
            z += self.bias
        y = activations.forward(z, self._activation)
        self._tape = (cols, y, xp.shape[1], left, length)
        return y

    def backward(self, d_out):
        """``dx`` for ``d_out = dL/dy``; sets ``[dkernel, dbias]`` (module docstring)."""
        cols, y, padded_length, left, length = self._require_tape()
        dy = self._check_grad(d_out, y.shape)
        dz = activations.backward(dy, y, self._activation)
        if self.groups == 1:
            d_kernel, d_cols = self._backward_group(cols, dz, self.kernel)
        else:                        # each group's products on its slices, side by side
            col_groups, kernel_groups = self._group_slices(cols)
            dz_groups = np.split(dz, self.groups, axis=-1)
            parts = [self._backward_group(c, d, k)
                     for c, d, k in zip(col_groups, dz_groups, kernel_groups)]
            d_kernel = np.concatenate([dk for dk, _ in parts], axis=-1)
            d_cols = np.concatenate([dc for _, dc in parts], axis=-1)
        dz_rows = dz.reshape(-1, self.filters)
        self._gradients = [d_kernel] + ([dz_rows.sum(axis=0)] if self.use_bias else [])
        dxp = scatter_windows(d_cols, padded_length, self.strides, self.dilation_rate)
        return np.ascontiguousarray(dxp[:, left:left + length])

    def _group_slices(self, cols):
        """``cols (B, L', K, C)`` and the kernel ``(K, C/G, F)`` cut into the G groups:
        channels ``[g C/G, (g+1) C/G)`` of ``cols``, filters ``[g F/G, (g+1) F/G)``."""
        return (np.split(cols, self.groups, axis=-1),
                np.split(self.kernel, self.groups, axis=-1))

    @staticmethod
    def _backward_group(cols, dz, kernel):
        """One group's ``dkernel = colsᵀ · dz`` and ``dcols = dz · kernelᵀ``."""
        batch, count, size, channels = cols.shape
        rows = cols.reshape(batch * count, size * channels)
        dz_rows = dz.reshape(batch * count, -1)
        d_kernel = (rows.T @ dz_rows).reshape(kernel.shape)
        d_cols = np.tensordot(dz, kernel, axes=([2], [2]))       # (B, L', K, C/G)
        return d_kernel, d_cols
