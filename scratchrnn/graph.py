"""The functional API's graph: symbolic tensors, the nodes that made them, and the two
walks over a graph — forward in topological order, backward in reverse.

How a graph is recorded (as Keras records it)::

    x = sr.Input((T, F))          a KerasTensor: a shape, a dtype, and the node made it
    h = sr.layers.LSTM(32)(x)     calling a layer on a KerasTensor computes nothing: it
                                  records a Node(layer, inputs, outputs) and returns the
                                  outputs' KerasTensors (shapes from a trial call)
    model = sr.Model(x, h)        orders the nodes from the inputs to the outputs, once

How it runs (:class:`Graph`): ``forward`` calls each node's layer on the arrays of its
input tensors, handing masks on as Keras does; ``backward`` visits the nodes in reverse
and **adds** the gradient arriving at a tensor from each of its consumers — a tensor read
by two layers (a skip connection), or a layer called twice (shared weights), receives the
sum, which is the whole of the multivariate chain rule here.  A layer called at several
nodes keeps one tape per node (see ``Layer._call_state``) and its weight gradients are
summed over its nodes.
"""

import collections

import numpy as np

from . import _checks

#: The sizes a trial call gives unknown dimensions (two runs: the dimensions of the
#: outputs that differ between them are unknown too).
_TRIAL_SIZES = (13, 17)
_INPUT_DTYPES = ("float32", "float64", "int32", "int64", "bool", "string")


class KerasTensor:
    """A symbolic tensor: the ``shape`` (None for unknown sizes, the batch first) and
    ``dtype`` of a value a graph will compute, and where it comes from (``node`` and
    ``index`` among that node's outputs)."""

    def __init__(self, shape, dtype, node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        source = f", from {self.node.layer.name}" if self.node is not None else ""
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}{source}>"

    def __len__(self):
        raise TypeError("a KerasTensor has no length: it stands for a value computed when "
                        "the model runs")

    def __iter__(self):
        raise TypeError(f"cannot iterate over {self!r}: a layer that returns several "
                        "tensors returns a list of them (e.g. return_state=True)")


class Node:
    """One call of ``layer``: the call's arguments with ``KerasTensor`` leaves, the flat
    list of those tensors (``inputs``), and the outputs (a structure of KerasTensors,
    ``outputs`` flat)."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.inputs = [t for t in _flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        self.output_structure = outputs
        self.outputs = _flatten(outputs)
        self.index = len(getattr(layer, "_inbound_nodes", []))

    @property
    def is_input(self):
        return isinstance(self.layer, InputLayer)

    def tensor_arguments(self):
        """The call's arguments that hold tensors: Keras hands an input's mask on only
        when exactly one argument does (an LSTM given ``initial_state`` gets no mask)."""
        holding = [a for a in self.args if any_symbolic(a)]
        return holding + [v for k, v in self.kwargs.items() if k != "mask" and any_symbolic(v)]

    @property
    def parents(self):
        return [t.node for t in self.inputs]


class InputLayer:
    """The layer behind an :func:`Input`: it has no weights and computes nothing; a model
    lists it first, as Keras does."""

    def __init__(self, shape, dtype, name):
        self.name = name
        self.dtype = dtype
        self.batch_shape = shape
        self.built = True
        self.trainable = True
        self.weights = self.trainable_weights = self.non_trainable_weights = []
        self.layers = []
        self._inbound_nodes = []

    def __repr__(self):
        return f"InputLayer(name={self.name!r}, shape={self.batch_shape})"

    def count_params(self):
        return 0

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


_INPUT_NAMES = collections.Counter()


def Input(shape: "int | tuple | None" = None, batch_size: int | None = None,
          dtype: str = "float32", name: str | None = None,
          batch_shape: "tuple | None" = None) -> KerasTensor:
    """A symbolic input, as ``keras.Input``: ``shape`` without the batch axis (None for an
    unknown size), or ``batch_shape`` with it (a stateful model's fixed batch size)."""
    if (shape is None) == (batch_shape is None):
        raise ValueError("Input() takes `shape` (without the batch axis) or `batch_shape` "
                         f"(with it), exactly one of them; got shape={shape!r}, "
                         f"batch_shape={batch_shape!r}")
    if batch_shape is not None:
        full = tuple(batch_shape)
        if not full:
            raise ValueError("`batch_shape` must include the batch axis, got ()")
    else:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if batch_size is not None:
            batch_size = _checks.positive_int(batch_size, "batch_size")
        full = (batch_size, *shape)
    for i, size in enumerate(full):
        if size is not None:
            _checks.positive_int(size, f"batch_shape[{i}]" if batch_shape is not None
                                 else "batch_size" if i == 0 else f"shape[{i - 1}]")
    dtype = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if dtype not in _INPUT_DTYPES:
        raise ValueError(f"`dtype` must be one of {', '.join(_INPUT_DTYPES)}, got {dtype!r}")
    if name is None:
        count = _INPUT_NAMES["input_layer"]
        _INPUT_NAMES["input_layer"] += 1
        name = "input_layer" if count == 0 else f"input_layer_{count}"
    layer = InputLayer(full, dtype, name)
    node = Node(layer, (), {}, None)
    tensor = KerasTensor(full, dtype, node, 0, name=name)
    node.output_structure, node.outputs = tensor, [tensor]
    layer._inbound_nodes.append(node)
    return tensor


# --- recording a call ----------------------------------------------------------------------

def any_symbolic(*structures):
    return any(isinstance(t, KerasTensor) for t in _flatten(structures))


def record_call(layer, args, kwargs):
    """``layer(*args, **kwargs)`` on KerasTensors: build the layer, learn the outputs'
    shapes and dtypes by two trial calls, and return KerasTensors made by a new Node."""
    trials = [_trial_call(layer, args, kwargs, size) for size in _TRIAL_SIZES]
    node = Node(layer, args, kwargs, None)

    def spec(a, b):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{layer.name}: a layer in a model must return arrays (or lists "
                            f"or tuples of them), got {type(a).__name__}")
        shape = tuple(None if (i == 0 or sa != sb) else sa
                      for i, (sa, sb) in enumerate(zip(a.shape, b.shape)))
        return shape, a.dtype.name

    specs = _map2(spec, trials[0], trials[1])
    counter = iter(range(10**9))
    outputs = _map(lambda s: KerasTensor(s[0], s[1], node, next(counter)), specs,
                   leaf=lambda v: isinstance(v, tuple) and len(v) == 2
                   and isinstance(v[1], str))
    node.output_structure, node.outputs = outputs, _flatten(outputs)
    if not hasattr(layer, "_inbound_nodes"):
        layer._inbound_nodes = []
    node.index = len(layer._inbound_nodes)
    layer._inbound_nodes.append(node)
    return outputs


def _trial_call(layer, args, kwargs, size):
    """Run ``layer`` eagerly on zeros shaped like the KerasTensors (unknown sizes set to
    ``size``), keeping what a call leaves behind (tapes, carried states) as it was."""
    def zeros(t):
        shape = tuple(size if s is None else s for s in t.shape)
        return np.zeros(shape, dtype=t.dtype if t.dtype != "string" else "float32")

    a, k = _substitute((args, kwargs), zeros)
    every = _with_sublayers(layer)
    saved = [(x, x._save_call_state(), getattr(x, "states", None)) for x in every]
    try:
        return layer(*a, **dict(k, training=False))
    finally:
        for x, call_state, states in saved:
            x._restore_call_state(call_state)
            if states is not None or getattr(x, "stateful", False):
                x.states = states


def _with_sublayers(layer):
    return [layer] + [x for sub in layer.layers for x in _with_sublayers(sub)]


# --- a graph: ordering the nodes -------------------------------------------------------------

class Graph:
    """The nodes between ``inputs`` and ``outputs``, in Keras's order, and the walks."""

    def __init__(self, inputs, outputs):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"a model's inputs and outputs must be KerasTensors (from "
                                f"sr.Input and layer calls on them), got {type(t).__name__}")
        for t in self.inputs:
            if not t.node.is_input:
                raise ValueError(f"{t!r} is not an Input: a model's inputs must come from "
                                 "sr.Input(...)")
        self.nodes, self.layers = _order(self.inputs, self.outputs)
        counts = collections.Counter(id(node.layer) for node in self.nodes)
        self.shared = {lid for lid, n in counts.items() if n > 1}
        self._node_states = {}    # a shared layer's call state per node, kept between runs

    # --- forward ---------------------------------------------------------------------

    def forward(self, inputs, training):
        """Run every node on ``inputs`` (arrays aligned with ``self.inputs``).  Returns
        the :class:`Run`: every tensor's value and mask, and what ``backward`` needs."""
        run = Run()
        for tensor, value in zip(self.inputs, inputs):
            run.values[id(tensor)], run.masks[id(tensor)] = value, None
        for node in self.nodes:                       # topological order
            if not node.is_input:
                self._forward_node(node, run, training)
        run.outputs = [run.values[id(t)] for t in self.outputs]
        run.output_masks = [run.masks[id(t)] for t in self.outputs]
        return run

    def _forward_node(self, node, run, training):
        """Call the node's layer on the values of its input tensors, as Keras hands masks
        on: an explicit ``mask=`` wins; else a call with one tensor argument gets that
        argument's mask; the output's mask is ``compute_mask`` of the first argument's."""
        layer = node.layer
        args, kwargs = _substitute((node.args, node.kwargs), lambda t: run.values[id(t)])
        first_mask = _substitute(node.args[0] if node.args else None,
                                 lambda t: run.masks[id(t)])
        mask = kwargs.get("mask")
        if mask is None and len(node.tensor_arguments()) == 1 and _any_not_none(first_mask):
            mask = first_mask
        kwargs = dict(kwargs, mask=mask if layer.supports_masking else None,
                      training=training)
        if id(layer) in self.shared:                  # one tape (and workspace) per call
            layer._restore_call_state(self._node_states.get(id(node))
                                      or layer._fresh_call_state())
        out = layer(*args, **kwargs)
        if id(layer) in self.shared:
            self._node_states[id(node)] = run.states[id(node)] = layer._save_call_state()
        values = _flatten(out)
        if len(values) != len(node.outputs):
            raise RuntimeError(f"{layer.name} returned {len(values)} arrays; when the model "
                               f"was made it returned {len(node.outputs)}")
        previous = mask if mask is not None else first_mask
        masks = layer.compute_mask(args[0] if args else None, previous) if (
            layer.supports_masking) else None
        for tensor, value, m in zip(node.outputs, values, _flatten_masks(masks, len(values))):
            run.values[id(tensor)], run.masks[id(tensor)] = value, m
        if _reads_logits(layer):
            run.logits[id(node)] = layer.logits

    # --- backward --------------------------------------------------------------------

    def backward(self, run, d_outputs, logits_outputs=()):
        """Backpropagate ``d_outputs`` (aligned with ``self.outputs``; None for an output
        no loss reads) through the nodes in reverse.  ``logits_outputs``: the indices of
        outputs whose gradient is with respect to the Dense layer's logits (Keras's
        crossentropy rule).  Returns the inputs' gradients and, per layer, the sum over
        its nodes of the gradients an optimizer takes (aligned with ``layer.weights``)."""
        grads = {}           # id(tensor) -> the sum of the gradients that reached it so far
        logit_grads = {}     # id(node) -> the gradient of a Dense node's logits
        for i, (tensor, g) in enumerate(zip(self.outputs, d_outputs)):
            if g is not None and i in logits_outputs:
                _accumulate(logit_grads, id(tensor.node), g)
            elif g is not None:
                _accumulate(grads, id(tensor), g)
        weight_grads = {}    # id(layer) -> its gradients, summed over its nodes
        for node in reversed(self.nodes):
            if node.is_input:
                continue
            d_in = self._backward_node(node, run, grads, logit_grads.get(id(node)))
            if d_in is None:
                continue                              # nothing downstream reads this node
            for tensor, g in zip(node.inputs, d_in):
                if g is not None:
                    _accumulate(grads, id(tensor), np.asarray(g))     # fan-out: ADD
            layer = node.layer
            if layer.weights:
                mine = layer.optimizer_gradients()
                summed = weight_grads.get(id(layer))
                weight_grads[id(layer)] = list(mine) if summed is None else [
                    _add(a, b) for a, b in zip(summed, mine)]
        return [grads.get(id(t)) for t in self.inputs], weight_grads

    def _backward_node(self, node, run, grads, d_logits):
        """The node's layer's ``backward`` given the gradients that reached its outputs;
        one gradient per input tensor of the call (None where none flows), or None when
        no gradient reached the node at all."""
        layer = node.layer
        d_out = [grads.get(id(t)) for t in node.outputs]
        if d_logits is None and all(g is None for g in d_out):
            return None
        if id(layer) in self.shared:
            layer._restore_call_state(run.states[id(node)])
        if d_logits is not None:
            d_in = _backward_with_logits(layer, d_logits, d_out[0],
                                         run.values[id(node.outputs[0])])
        else:
            if len(d_out) > 1 and not _accepts_none(layer):   # zeros for unread outputs
                d_out = [np.zeros_like(run.values[id(t)]) if g is None and _floating(
                    run.values[id(t)]) else g for t, g in zip(node.outputs, d_out)]
            d_in = layer.backward(_unflatten(node.output_structure, d_out))
        flat = [d_in] if len(node.inputs) == 1 and not isinstance(d_in, (list, tuple)) \
            else _flatten(d_in)
        if len(flat) != len(node.inputs):
            raise ValueError(f"{layer.name}.backward returned {len(flat)} gradient(s) for "
                             f"{len(node.inputs)} input(s) of the call: backward must return "
                             "one gradient per input, in the order the inputs were given")
        return flat


class Run:
    """What one forward pass leaves for its backward."""

    def __init__(self):
        self.values, self.masks, self.states, self.logits = {}, {}, {}, {}
        self.outputs = self.output_masks = None


def _order(inputs, outputs):
    """The nodes from the inputs to the outputs and the layers, in Keras's order: by
    depth from the outputs (deepest first), ties by when the depth-first walk from the
    outputs first met the layer (Keras's ``map_graph``)."""
    finished, in_progress, ordered, layer_index = set(), set(), [], {}
    input_ids = {id(t) for t in inputs}

    def visit(tensor):
        node = tensor.node
        if node is None:
            raise ValueError(f"{tensor!r} was not made by a layer call on an Input")
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f"the graph has a cycle at {node.layer.name}")
        layer_index.setdefault(id(node.layer), (len(layer_index), node.layer))
        in_progress.add(id(node))
        for t in node.inputs:
            visit(t)
        in_progress.discard(id(node))
        finished.add(id(node))
        ordered.append(node)

    for t in outputs:
        visit(t)
    depth, layer_depth = {}, {}
    for node in reversed(ordered):
        d = depth.setdefault(id(node), 0)
        d = max(d, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = d
        depth[id(node)] = d
        for parent in node.parents:
            depth[id(parent)] = max(d + 1, depth.get(id(parent), 0))
    for t in inputs:                            # an input no output depends on
        if id(t.node) not in depth:
            depth[id(t.node)] = 0
            layer_index.setdefault(id(t.node.layer), (-1, t.node.layer))
            layer_depth[id(t.node.layer)] = 0
            ordered.append(t.node)
    known = set(input_ids)
    nodes = sorted(ordered, key=lambda n: -depth[id(n)])   # stable: DFS order within a depth
    for node in nodes:
        if node.is_input and id(node.outputs[0]) not in input_ids:
            raise ValueError(f"Graph disconnected: the outputs need the Input "
                             f"{node.layer.name!r}, which is not among the model's inputs; "
                             "give it to Model(inputs=...)")
        for t in node.inputs:
            if id(t) not in known:
                raise ValueError(f"Graph disconnected: {node.layer.name} needs {t!r}, which "
                                 "the model's inputs do not lead to; give its Input to "
                                 "Model(inputs=...)")
        known.update(id(t) for t in node.outputs)
    layers = sorted((v for v in layer_index.values()),
                    key=lambda v: (-layer_depth[id(v[1])], v[0]))
    return nodes, [layer for _, layer in layers]


# --- helpers --------------------------------------------------------------------------------

def _flatten(structure):
    if isinstance(structure, dict):
        return [x for key in structure for x in _flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [x for item in structure for x in _flatten(item)]
    return [structure]


def _map(fn, structure, leaf=lambda v: False):
    if leaf(structure):
        return fn(structure)
    if isinstance(structure, dict):
        return {k: _map(fn, v, leaf) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map(fn, v, leaf) for v in structure)
    return fn(structure)


def _map2(fn, a, b):
    if isinstance(a, dict):
        return {k: _map2(fn, a[k], b[k]) for k in a}
    if isinstance(a, (list, tuple)):
        return type(a)(_map2(fn, x, y) for x, y in zip(a, b))
    return fn(a, b)


def _substitute(structure, fn):
    """``structure`` with each KerasTensor ``t`` replaced by ``fn(t)``."""
    if isinstance(structure, KerasTensor):
        return fn(structure)
    if isinstance(structure, dict):
        return {k: _substitute(v, fn) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_substitute(v, fn) for v in structure)
    return structure


def _unflatten(structure, flat):
    items = iter(flat)

    def take(s):
        if isinstance(s, (list, tuple)):
            return type(s)(take(v) for v in s)
        if isinstance(s, dict):
            return {k: take(v) for k, v in s.items()}
        return next(items)

    out = take(structure)
    return list(out) if isinstance(out, tuple) and not hasattr(out, "_fields") else out


def _any_not_none(structure):
    return any(m is not None for m in _flatten(structure))


def _flatten_masks(masks, n):
    if masks is None:
        return [None] * n
    flat = _flatten(masks) if isinstance(masks, (list, tuple)) else [masks]
    return (flat + [None] * n)[:n]


def _accumulate(grads, key, g):
    grads[key] = g if key not in grads else grads[key] + g


def _add(a, b):
    """Two gradients of one weight: arrays add; an Embedding's rows (IndexedSlices)
    concatenate, which is how TensorFlow adds them."""
    if hasattr(a, "indices") and not hasattr(b, "indices"):
        return a.dense() + b             # rows and a dense gradient: TensorFlow densifies
    if hasattr(a, "indices"):
        return type(a)(np.concatenate([a.indices, b.indices]),
                       np.concatenate([a.values, b.values]), a.dense_shape)
    return a + b


def _floating(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _accepts_none(layer):
    """The recurrent layers take None for a state's gradient (zeros, without the array)."""
    return hasattr(layer, "state_names")


def _reads_logits(layer):
    return hasattr(layer, "backward_logits") and getattr(layer, "activation", None) in (
        "sigmoid", "softmax")


def _backward_with_logits(layer, d_logits, d_output, output):
    """A Dense layer whose logits feed a crossentropy (and, perhaps, whose output also
    feeds other layers): the logits' gradient is the loss's plus what the activation
    passes back of the other consumers' gradient."""
    if d_output is not None:
        from .ops import activations
        d_logits = d_logits + activations.backward(d_output, output, layer._activation)
    return layer.backward_logits(d_logits)


# --- a call's arguments as JSON (saving a model) -------------------------------------

def encode(structure):
    """A call's arguments as JSON: KerasTensors as ``[layer name, node, index]``."""
    if isinstance(structure, KerasTensor):
        return {"__tensor__": [structure.node.layer.name, structure.node.index,
                               structure.index]}
    if isinstance(structure, dict):
        return {"__dict__": {k: encode(v) for k, v in structure.items()}}
    if isinstance(structure, (list, tuple)):
        return {"__list__": [encode(v) for v in structure],
                "tuple": isinstance(structure, tuple)}
    if isinstance(structure, np.ndarray):
        raise TypeError("cannot save a model whose layer calls take arrays as arguments")
    return structure


def decode(structure, tensors):
    if isinstance(structure, dict):
        if "__tensor__" in structure:
            name, node, index = structure["__tensor__"]
            return tensors[(name, node, index)]
        if "__dict__" in structure:
            return {k: decode(v, tensors) for k, v in structure["__dict__"].items()}
        if "__list__" in structure:
            items = [decode(v, tensors) for v in structure["__list__"]]
            return tuple(items) if structure.get("tuple") else items
    return structure
