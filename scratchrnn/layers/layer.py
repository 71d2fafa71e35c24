"""``Layer``: what every scratchrnn layer is, built-in or written by a user.

The protocol, all of it
=======================

A subclass writes at most five methods; the base gives it the rest::

    build(input_shape)          create the weights with self._add_weight(name, shape, init)
    call(*inputs, mask=None, training=False, **options)
                                the forward pass; keeps on self._tape what backward needs
    backward(d_outputs)         gradients shaped like the call's outputs -> one gradient per
                                input, in the order the inputs were given (None for an input
                                with no gradient, e.g. integer indices); sets self._gradients,
                                aligned with weight_names
    compute_mask(inputs, mask)  the output's mask (only for supports_masking = True)
    compute_output_shape(shape) optional: a model otherwise learns it by a trial call

Calling a layer is Keras's call::

    y = layer(x)                      one input
    y = layer(query, values)          several inputs, positional
    y = layer([q, v])                 or one list of inputs, as Keras's merge layers take
    y = layer(x, mask=m, training=True, initial_state=[h0, c0])

``mask`` and ``training`` are keyword-only and reach ``call`` only when its signature
names them.  A layer that does not ``supports_masking`` drops a mask it is given, with a
warning, as Keras does.  Called on symbolic tensors (``sr.Input``), a layer does not
compute: it records a node of a graph that ``sr.Model(inputs, outputs)`` runs later (see
:mod:`scratchrnn.graph`).

Weights are plain attributes listed by ``weight_names``; attributes that hold layers (or
lists of layers) are tracked, so a layer made of layers — ``self.W1 = Dense(units)`` —
has ``weights``, ``get_weights``/``set_weights``, ``get_gradients``, ``count_params``
and a trainable flag that cover its sub-layers: its own weights first, then each
sub-layer's in the order they were assigned (Keras's order).  ``weights`` are the arrays
themselves (optimizers update them in place); ``get_weights``/``set_weights`` copy.

Threads
=======

A layer may be called from several Python threads at once (a server that predicts from
threads), on either backend, and every call gives the result it gives alone:

- **What a call leaves behind is per thread.**  The attributes a call sets and its
  ``backward`` reads — ``_tape``, ``_workspace``, the dropout masks, the weight gradients
  ``_gradients`` and the others named in ``_call_state`` and ``_per_thread`` — are
  :class:`PerThread` attributes: each Python thread sees its own.  So ``backward`` follows
  the latest call *of the thread that runs it*, and ``get_gradients()`` gives that
  thread's latest ``backward``: two threads may each call and backpropagate, and neither
  sees the other's tape.  A thread that never called the layer has no tape.
- **Building happens once.**  An unbuilt layer called from two threads at once is built
  by the first; the other waits for it and uses the same weights (:meth:`Layer._build_once`).
- **What is shared stays shared**: the weights (an optimizer step in one thread is seen by
  the next call of every thread: update weights while no other thread calls, or accept a
  call that reads half-updated weights), the random generator of the dropout masks (each
  draw is whole, but which thread draws first is the scheduler's choice), and a stateful
  layer's carried ``states`` (one stream of batches: feed it from one thread).

A layer of your own gets all of this by keeping what ``backward`` needs on ``self._tape``
(or naming its other per-call attributes in ``_per_thread``).
"""

import abc
import contextlib
import copy
import inspect
import re
import threading
import warnings

import numpy as np

from .. import _checks


def snake_case(name):
    """``GlobalMaxPooling1D`` -> ``global_max_pooling1d``, ``SimpleRNN`` -> ``simple_rnn``
    (Keras's rule for default layer names)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _is_property(obj, name):
    return isinstance(getattr(type(obj), name, None), property)


class PerThread:
    """A data descriptor: an attribute whose value is the calling Python thread's own.

    Values live in a ``threading.local`` on the instance.  A thread that has not set the
    attribute starts from its *initial value*: the first value any thread set when that
    was None or an empty list or dict (a fresh copy per thread: a cell's stack of tapes
    starts empty in every thread), else None.  ``PerThread()`` in a class body takes the
    attribute's name; :class:`Layer` installs one for each name of ``_call_state`` and
    ``_per_thread`` (a model keeps its last run the same way).
    """

    def __init__(self, name=None):
        self.name = name

    def __set_name__(self, owner, name):
        if self.name is None:
            self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        values = _thread_values(obj)
        try:
            return values[self.name]
        except KeyError:
            value = values[self.name] = copy.copy(
                obj.__dict__.get("_per_thread_initial", {}).get(self.name))
            return value

    def __set__(self, obj, value):
        initial = obj.__dict__.setdefault("_per_thread_initial", {})
        if self.name not in initial:
            initial[self.name] = value if value is None or (
                type(value) in (list, dict) and not value) else None
        _thread_values(obj)[self.name] = value

    def __delete__(self, obj):
        _thread_values(obj).pop(self.name, None)

    def is_set(self, obj):
        """Whether this thread, or the constructor, ever gave ``obj`` the attribute."""
        return (self.name in _thread_values(obj)
                or self.name in obj.__dict__.get("_per_thread_initial", {}))


_LOCAL_LOCK = threading.Lock()

_budget = threading.local()     # the weight entries a checkpoint being loaded still allows


@contextlib.contextmanager
def weight_budget(entries):
    """While the block runs in this thread, layers may create at most ``entries`` weight
    entries in all, or :meth:`Layer._add_weight` raises ``ValueError`` before allocating.
    ``load_model`` sets it to what the checkpoint stores: a genuine checkpoint's config
    builds exactly those weights, and a forged one (its digest recomputed) cannot make a
    layer allocate gigabytes — or initialise them for an hour — before the mismatch is
    found."""
    previous = getattr(_budget, "left", None)
    _budget.left = int(entries)
    try:
        yield
    finally:
        _budget.left = previous


def _spend_budget(layer, name, shape):
    left = getattr(_budget, "left", None)
    if left is None:
        return
    entries = int(np.prod(shape, dtype=object))       # Python ints: no overflow
    if entries > left:
        raise ValueError(f"its config asks {layer.name!r} for a weight {name!r} of shape "
                         f"{tuple(shape)} ({entries:,} entries), more than the "
                         f"{left:,} weight entries the file still has for it")
    _budget.left = left - entries


def _thread_values(obj):
    """The calling thread's dict of ``obj``'s :class:`PerThread` values."""
    local = obj.__dict__.get("_per_thread_values")
    if local is None:
        with _LOCAL_LOCK:
            local = obj.__dict__.setdefault("_per_thread_values", threading.local())
    return local.__dict__


def _install_per_thread(cls, names):
    """A :class:`PerThread` on ``cls`` for each of ``names`` that is not already one, nor
    a property a class defines (Embedding computes ``_gradients`` from its rows)."""
    for name in names:
        if not isinstance(inspect.getattr_static(cls, name, None), (PerThread, property)):
            setattr(cls, name, PerThread(name))


class Layer(abc.ABC):
    """Base of every layer.  See the module docstring for the protocol, and its
    "Threads" section for calls from several Python threads: the attributes of
    ``_call_state`` and ``_per_thread`` (a call's tape, workspace, masks, gradients) are
    per thread, and a layer is built once, under a lock, by the first call."""

    #: Whether the layer passes a mask on (Keras's ``supports_masking``).
    supports_masking = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _install_per_thread(cls, tuple(cls._call_state) + tuple(cls._per_thread))

    def __init__(self, name=None, dtype="float32", trainable=True, seed=None, **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                             f"{kwargs}")
        if input_shape is not None or input_dim is not None:
            warnings.warn("Do not pass an `input_shape`/`input_dim` argument to a layer. When "
                          "using Sequential models, prefer using an `Input(shape)` object as "
                          "the first layer in the model instead.", stacklevel=3)
            shape = (input_dim,) if input_shape is None else input_shape
            self._input_shape_arg = (shape,) if isinstance(shape, int) else tuple(shape)
        name = name or snake_case(type(self).__name__)
        if not isinstance(name, str):
            raise TypeError(f"`name` must be a string, got {name!r}")
        self.name = name
        self.dtype = _checks.dtype(dtype)
        self.seed = _checks.seed(seed)
        self._rng = np.random.default_rng(seed)
        # Some layers compute these from other state (properties): leave those alone.
        for attr, value in (("built", False), ("weight_names", []), ("_tape", None),
                            ("_gradients", None)):
            if not _is_property(self, attr):
                setattr(self, attr, value)
        self.trainable = _checks.boolean(trainable, "trainable")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"

    # --- sub-layers -----------------------------------------------------------------

    def __setattr__(self, name, value):
        """Track attributes that hold a layer or a list/tuple of layers (Keras's tracking)."""
        if not name.startswith("_"):
            tracked = self.__dict__.setdefault("_sublayer_attrs", {})
            if _holds_layers(value):
                tracked[name] = None
            else:
                tracked.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self.__dict__.get("_sublayer_attrs", {}).pop(name, None)
        object.__delattr__(self, name)

    @property
    def layers(self):
        """The tracked sub-layers, in the order their attributes were first assigned."""
        found, seen = [], set()
        for attr in self.__dict__.get("_sublayer_attrs", {}):
            value = self.__dict__.get(attr)
            for layer in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(layer, Layer) and id(layer) not in seen:
                    seen.add(id(layer))
                    found.append(layer)
        return found

    # --- configuration --------------------------------------------------------------

    def get_config(self):
        """The constructor arguments (Keras's names)."""
        return {"name": self.name, "dtype": self.dtype.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- weights ----------------------------------------------------------------------

    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (a layer without weights of
        its own needs nothing: its sub-layers build on their first call)."""
        self.built = True

    def _own_weights(self):
        return [getattr(self, name) for name in self.weight_names]

    @property
    def weights(self):
        """The weight arrays themselves, in ``get_weights`` order (not copies): the
        layer's own, then each sub-layer's."""
        return self._own_weights() + [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self._own_weights() + [w for layer in self.layers
                                      for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def _trainable_flags(self):
        """One flag per entry of ``weights``: whether an optimizer updates it."""
        own = [self.trainable] * len(self.weight_names)
        return own + [self.trainable and flag for layer in self.layers
                      for flag in layer._trainable_flags()]

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Replace the weights by copies of ``weights`` (``get_weights`` order and shapes)."""
        if not self.built:
            raise RuntimeError(f"{self.name}: set_weights() needs the layer built; call it "
                               "on inputs or call build(input_shape) first")
        weights = list(weights)
        names = self._weight_labels()
        if len(weights) != len(names):
            raise ValueError(f"`weights` must be a list of {len(names)} arrays "
                             f"({', '.join(names) or 'none'}) for {self.name}, "
                             f"got {len(weights)}")
        own = len(self.weight_names)
        arrays = []
        for name, current, w in zip(self.weight_names, self._own_weights(), weights):
            w = _checks.real_array(w, f"weights[{name}]", self.dtype, copy=True)
            _checks.shape_is(w, current.shape, f"weights[{name}]")
            arrays.append(w)
        start = own
        for layer in self.layers:         # each checks its own part before anything is set
            n = len(layer.weights)
            layer.set_weights(weights[start:start + n])
            start += n
        for name, w in zip(self.weight_names, arrays):
            setattr(self, name, w)

    def _weight_labels(self):
        """``weight_names`` of the layer and its sub-layers (``W1/kernel``, ...)."""
        return list(self.weight_names) + [f"{layer.name}/{label}" for layer in self.layers
                                          for label in layer._weight_labels()]

    def count_params(self) -> int:
        if not self.built:
            raise RuntimeError(f"{self.name}: count_params() needs the layer built")
        return int(sum(w.size for w in self.weights))

    def get_gradients(self) -> list[np.ndarray]:
        """The weight gradients of the last ``backward``, aligned with ``get_weights``."""
        return [g.dense() if hasattr(g, "dense") else g.copy()
                for g in self.optimizer_gradients()]

    def optimizer_gradients(self):
        """The gradients an optimizer receives, aligned with ``weights``: the layer's own
        (``_gradients``), then each sub-layer's (an Embedding gives its rows unsummed, as
        TensorFlow does)."""
        own = self._gradients
        if own is None:
            if self.weight_names:
                raise RuntimeError(f"{self.name}: no gradients: call backward() first")
            own = []
        return list(own) + [g for layer in self.layers for g in layer.optimizer_gradients()]

    # --- regularisation penalties ----------------------------------------------------------

    def _weight_regularizers(self):
        """One regulariser (or None) per entry of ``weights``: an own weight ``name``
        takes the attribute ``<name>_regularizer`` (``recurrent_kernel`` takes
        ``recurrent_regularizer``: Keras's argument names), then each sub-layer's.  A
        weight an optimizer does not update has none, as Keras counts only
        ``trainable_weights``."""
        from .. import regularizers
        own = []
        for name in self.weight_names[:len(self._own_weights())]:
            attr = ("recurrent_regularizer" if name == "recurrent_kernel"
                    else f"{name}_regularizer")
            own.append(regularizers.get(getattr(self, attr, None), attr))
        found = own + [r for layer in self.layers for r in layer._weight_regularizers()]
        return found if self.trainable else [None] * len(found)

    @property
    def losses(self):
        """The regularisation penalties (floats) of the layer's trainable weights and its
        sub-layers', in ``weights`` order, one per regularised weight: Keras's
        ``layer.losses``.  A model adds their sum to the loss."""
        return [reg(w) for w, reg in zip(self.weights, self._weight_regularizers())
                if reg is not None]

    def regularization_gradients(self):
        """The gradient of ``sum(losses)`` for each entry of ``weights`` (None where no
        regulariser applies): a model adds them to the weights' gradients."""
        return [None if reg is None else reg.gradient(w)
                for w, reg in zip(self.weights, self._weight_regularizers())]

    def _add_weight(self, name, shape, initializer):
        """Create weight ``name`` of ``shape`` from an initialiser ``f(shape, rng)``."""
        _spend_budget(self, name, shape)
        setattr(self, name, np.ascontiguousarray(initializer(shape, self._rng),
                                                 dtype=self.dtype))
        self.weight_names.append(name)

    # --- forward and backward -------------------------------------------------------------

    def __call__(self, *args, mask=None, training=False, **kwargs):
        from .. import graph
        if graph.any_symbolic(args, kwargs, mask):
            return graph.record_call(self, args, dict(kwargs, mask=mask, training=training))
        if not args:
            raise TypeError(f"{self.name}: a layer is called on at least one input")
        inputs = self._check_inputs(args[0] if len(args) == 1 else args)
        if mask is not None and not self.supports_masking:
            warnings.warn(f"Layer {self.name!r} ({type(self).__name__}) was given a mask but "
                          "does not support masking: the mask is dropped, as Keras does",
                          stacklevel=2)
            mask = None
        if not self.built:
            self._build_once(self._build_for, inputs, several=len(args) > 1)
        accepts = _call_parameters(type(self))
        if "mask" in accepts:
            kwargs["mask"] = mask
        if "training" in accepts:
            kwargs["training"] = training
        call_args = tuple(inputs) if len(args) > 1 else (inputs,)
        return self.call(*call_args, **kwargs)

    def _build_once(self, build, *args, **kwargs):
        """``build(*args, **kwargs)`` unless the layer is built, under the layer's lock:
        of two threads that call an unbuilt layer at once, one builds it and the other
        then finds it built (one set of weights, drawn once)."""
        with self._lock():
            if not self.built:
                build(*args, **kwargs)

    def _lock(self):
        """The layer's own (reentrant) lock, made on first use."""
        lock = self.__dict__.get("_build_lock")
        if lock is None:
            with _LOCAL_LOCK:
                lock = self.__dict__.setdefault("_build_lock", threading.RLock())
        return lock

    def __getstate__(self):
        """Copies and pickles take the attributes, not the locks nor the per-thread call
        state (a copy starts as a layer never called)."""
        return {k: v for k, v in self.__dict__.items()
                if k not in ("_build_lock", "_per_thread_values")}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def _build_for(self, inputs, several):
        shapes = _shapes(inputs)
        if several and len(_parameters(type(self).build)) > 1:
            self.build(*shapes)
        else:
            self.build(shapes)
        if not _is_property(self, "built"):
            self.built = True

    @abc.abstractmethod
    def call(self, *inputs, **options):
        """The forward pass on checked inputs (keeps what ``backward`` needs)."""

    @abc.abstractmethod
    def backward(self, d_out):
        """``d_out`` (the output's gradient) -> the inputs' gradients; sets the weight
        gradients."""

    def compute_mask(self, inputs, mask=None):
        """The mask of the output, given the input's (Keras's ``compute_mask``)."""
        return mask if self.supports_masking else None

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (None for unknown sizes).  Layers that
        keep their input's shape say so; a model learns the others' by a trial call."""
        raise NotImplementedError(f"{type(self).__name__} does not compute its output shape")

    def _check_inputs(self, inputs):
        """The inputs as arrays of the layer's dtype: one array, or a list/tuple of them
        (several inputs); anything that is not an array or a list is passed unchanged."""
        if isinstance(inputs, (list, tuple)) and inputs and all(
                _is_array_like(item) for item in inputs):
            return type(inputs)(self._check_inputs(item) for item in inputs)
        if isinstance(inputs, (np.ndarray, list, tuple, np.generic, int, float)):
            return _checks.real_array(inputs, "inputs", self.dtype)
        return inputs

    def _require_tape(self):
        if self._tape is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward call first")
        return self._tape

    def _check_grad(self, d_out, shape, argument="d_out"):
        """``d_out`` as an array of the layer's dtype and of the output's ``shape``."""
        g = _checks.real_array(d_out, argument, self.dtype)
        _checks.shape_is(g, tuple(shape), argument, " (the shape of the call's output)")
        return g

    # --- what one call leaves behind ---------------------------------------------------

    #: The attributes one call sets and its backward reads.  A layer called several
    #: times in a model (a shared layer) gets them saved after each call and put back
    #: before that call's backward: one tape per call.  Each is a :class:`PerThread`
    #: attribute, so the saving and restoring is the calling thread's.
    _call_state = ("_tape", "_workspace", "dropout_mask", "recurrent_dropout_mask")
    #: Further attributes a call or a backward sets that are per thread too (not saved
    #: per call): the weight gradients, a cell's stack of step tapes, an Embedding's
    #: gradient rows, a generic RNN's cell gradients.
    _per_thread = ("_gradients", "_tapes", "_rows", "_cell_gradients")

    def _own_call_state(self):
        """The names of ``_call_state`` this layer has (set by its constructor or a call
        in this thread)."""
        cls = type(self)
        return [a for a in self._call_state
                if isinstance(d := inspect.getattr_static(cls, a, None), PerThread)
                and d.is_set(self)]

    def _save_call_state(self):
        own = {a: getattr(self, a) for a in self._own_call_state()}
        return own, [layer._save_call_state() for layer in self.layers]

    def _fresh_call_state(self):
        """The call state of a layer never called: no tape, no workspace yet."""
        own = {a: None for a in self._own_call_state()}
        return own, [layer._fresh_call_state() for layer in self.layers]

    def _restore_call_state(self, saved):
        own, subs = saved
        for attr, value in own.items():
            object.__setattr__(self, attr, value)
        for layer, state in zip(self.layers, subs):
            layer._restore_call_state(state)


_install_per_thread(Layer, Layer._call_state + Layer._per_thread)


def _is_array_like(value):
    return isinstance(value, np.ndarray) or hasattr(value, "__array__") and not isinstance(
        value, (list, tuple))


def _holds_layers(value):
    if isinstance(value, Layer):
        return True
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(v, Layer) for v in value))


def _shapes(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_shapes(item) for item in inputs]
    return tuple(np.shape(inputs)) if hasattr(inputs, "shape") else None


_PARAMETERS = {}


def _parameters(function):
    """The parameter names of ``function`` after ``self`` (cached)."""
    if function not in _PARAMETERS:
        params = list(inspect.signature(function).parameters.values())[1:]
        _PARAMETERS[function] = tuple(p.name for p in params if p.kind not in (
            p.VAR_POSITIONAL, p.VAR_KEYWORD))
    return _PARAMETERS[function]


def _call_parameters(cls):
    return _parameters(cls.call)
