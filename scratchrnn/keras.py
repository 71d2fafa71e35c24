"""``from_keras`` and ``to_keras``: the weight-for-weight bridge to tf.keras.

Every scratchrnn layer takes Keras's constructor arguments and Keras's weight layout, so
the bridge is two steps: translate the layer's config (Keras's serialised initialisers
and dtype policies become names), then ``set_weights(other.get_weights())``.

Nothing is dropped silently.  A Keras argument scratchrnn does not implement (an
activity regulariser, a constraint, ...) is an error naming it, unless it has the value
that means "off".  Arguments that only choose *how* Keras computes (``implementation``,
``use_cudnn``, ``unroll``) are ignored: the results are the same.

TensorFlow is imported only when these functions run.
"""

import functools
import inspect

from . import initializers
from . import layers as layers_module
from .layers.layer import snake_case

#: Keras arguments that choose an implementation, not a result.
_IGNORED = {"implementation", "use_cudnn", "build_config", "input_length"}

#: Keras arguments scratchrnn does not implement, with the value that means "off".
_OFF = {"kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "embeddings_regularizer": None,
        "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None,
        "embeddings_constraint": None, "unroll": False, "time_major": False,
        "lora_rank": None, "lora_alpha": None, "quantization_config": None, "sparse": False,
        "noise_shape": None, "groups": 1, "data_format": "channels_last", "autocast": True}


def keras_module():
    from ._tensorflow import import_tensorflow
    return import_tensorflow()[1]


# --------------------------------------------------------------------------- from Keras


def _initializer_name(value, key):
    """Keras's serialised initialiser -> scratchrnn's name for the same distribution."""
    if value is None or isinstance(value, str):
        return value
    class_name = value.get("class_name", "")
    params = {k: v for k, v in (value.get("config") or {}).items()
              if k != "seed" and v is not None}
    name = snake_case(class_name)
    defaults = {"random_uniform": {"minval": -0.05, "maxval": 0.05},
                "random_normal": {"mean": 0.0, "stddev": 0.05},
                "orthogonal": {"gain": 1.0}}
    if name in defaults and params == defaults[name]:
        params = {}
    if name not in initializers.INITIALIZERS or params:
        raise ValueError(f"`{key}`: Keras initialiser {class_name}({params}) has no "
                         f"scratchrnn equivalent (known: {sorted(initializers.INITIALIZERS)})")
    return name


def dtype_name(value):
    if isinstance(value, dict):          # Keras 3 serialises a DTypePolicy
        value = value.get("config", {}).get("name", value)
    return value


def _accepted(cls):
    """The constructor arguments of ``cls``, following ``**kwargs`` up to the bases."""
    names = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names - {"self"}


def _translate_config(cls, config, what):
    """Keras's ``get_config()`` -> scratchrnn constructor arguments for ``cls``."""
    accepted = _accepted(cls)
    out = {}
    for key, value in config.items():
        if key in _IGNORED:
            continue
        if key == "dtype":
            out["dtype"] = dtype_name(value)
        elif key.endswith("_initializer"):
            out[key] = _initializer_name(value, key)
        elif key in accepted:
            out[key] = list(value) if isinstance(value, tuple) else value
        elif key in _OFF and value == _OFF[key]:
            continue
        else:
            raise ValueError(f"{what}: Keras argument {key}={value!r} is not supported by "
                             f"scratchrnn's {cls.__name__}")
    for key in ("kernel_size", "strides", "pool_size", "dilation_rate"):
        if isinstance(out.get(key), list) and len(out[key]) == 1:
            out[key] = out[key][0]
    return out


def layer_from_keras(keras_layer, custom_objects=None):
    """An unbuilt scratchrnn layer configured like ``keras_layer``.  ``custom_objects``:
    ``{Keras class name: factory}``, each factory a function of the Keras layer that
    returns the scratchrnn layer (a user's own layers)."""
    name = type(keras_layer).__name__
    if custom_objects and name in custom_objects:
        layer = custom_objects[name](keras_layer)
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"custom_objects[{name!r}] must return a scratchrnn Layer for "
                            f"{keras_layer.name!r}, got {type(layer).__name__}")
        layer.name = keras_layer.name
        return layer
    cls = layers_module.CLASSES.get(name)
    if cls is None or name in ("Layer", "InputLayer"):
        raise ValueError(f"Keras layer {keras_layer.name!r} is a {name}, which scratchrnn "
                         f"does not implement (supported: {sorted(layers_module.CLASSES)}; a "
                         "layer of your own: from_keras(..., custom_objects={"
                         f"{name!r}: lambda keras_layer: YourLayer(...)}})")
    sub = functools.partial(layer_from_keras, custom_objects=custom_objects)
    if name == "Bidirectional":
        return cls(sub(keras_layer.forward_layer), merge_mode=keras_layer.merge_mode,
                   backward_layer=sub(keras_layer.backward_layer),
                   name=keras_layer.name, trainable=keras_layer.trainable)
    if name == "TimeDistributed":
        return cls(sub(keras_layer.layer), name=keras_layer.name)
    if name == "StackedRNNCells":
        config = keras_layer.get_config()
        return cls([sub(cell) for cell in keras_layer.cells], name=keras_layer.name,
                   dtype=dtype_name(config["dtype"]), trainable=keras_layer.trainable)
    config = dict(keras_layer.get_config())
    if name == "RNN":
        config.pop("cell")
        config = _translate_config(cls, config, keras_layer.name)
        return cls(sub(keras_layer.cell), **config)
    config = _translate_config(cls, config, keras_layer.name)
    if name in ("SimpleRNN", "LSTM", "GRU"):
        config.pop("seed", None)
    return cls(**config)


def from_keras(obj, custom_objects=None):
    """A scratchrnn copy of a Keras model or layer: the same architecture (graph, layer
    names), the same weights (copied), the same dtype.

    ``obj``: a ``keras.Sequential``, a functional ``keras.Model(inputs, outputs)`` (any
    number of inputs and outputs, shared layers, merge layers, ``initial_state`` and
    other keyword arguments, ``RNN(cell)``), or a single Keras layer.  A model must be
    built (have an input shape), so that every weight exists.  ``custom_objects`` maps
    the class names of a user's own Keras layers to functions that make their scratchrnn
    counterparts from the Keras layer (see :func:`layer_from_keras`); their weights are
    copied in ``get_weights()`` order, which must be the same on both sides.
    """
    keras = keras_module()
    if isinstance(obj, keras.Sequential):
        return _model_from_keras(obj, custom_objects)
    if isinstance(obj, keras.Model):
        if not _is_functional(obj):
            raise TypeError(f"from_keras() reads Sequential and functional Keras models; "
                            f"{obj.name!r} is a subclassed keras.Model ({type(obj).__name__}), "
                            "whose call() is Python code with no graph to read")
        return _functional_from_keras(obj, keras, custom_objects)
    if isinstance(obj, keras.layers.Layer):
        layer = layer_from_keras(obj, custom_objects)
        if obj.weights:
            _copy_into(layer, obj.get_weights(), _built_shape(obj))
        return layer
    raise TypeError(f"from_keras() takes a keras.Sequential or a Keras layer, got "
                    f"{type(obj).__name__}")


def _is_functional(keras_model):
    """Whether a ``keras.Model`` is a graph of layer calls (``Model(inputs, outputs)``)."""
    try:
        from keras.src.models.functional import Functional
    except ImportError:                   # a future layout: fall back on the attributes
        return hasattr(keras_model, "_nodes_by_depth")
    return isinstance(keras_model, Functional)


def _built_shape(keras_layer):
    shape = getattr(keras_layer, "_build_shapes_dict", None) or {}
    shape = next(iter(shape.values()), None)
    if shape is None:
        raise ValueError(f"Keras layer {keras_layer.name!r} is not built: build it (call it "
                         "or give its model an Input) before copying it")
    return tuple(shape)


def _copy_into(layer, weights, input_shape):
    if not layer.built:
        layer.build(input_shape)
    layer.set_weights(weights)


def _model_from_keras(keras_model, custom_objects=None):
    from .models import Input, Sequential
    if not keras_model.built or not keras_model.inputs:
        raise ValueError("from_keras() needs a built model: give the Keras Sequential an "
                         "keras.Input(shape=...) first")
    keras_input = keras_model.inputs[0]
    model = Sequential(name=keras_model.name)
    model.add(Input(tuple(keras_input.shape)[1:], dtype=str(keras_input.dtype)))
    made = {}                                 # the same Keras layer twice: one layer
    for keras_layer in keras_model.layers:
        if id(keras_layer) not in made:
            made[id(keras_layer)] = layer_from_keras(keras_layer, custom_objects)
        model.add(made[id(keras_layer)])
    _copy_weights(made, keras_model.layers)
    return model


def _copy_weights(made, keras_layers):
    """Each Keras layer's weights and trainable flag into its copy (``made[id]``)."""
    for keras_layer in keras_layers:
        layer = made.get(id(keras_layer))
        if layer is None:
            continue
        if keras_layer.weights:
            layer.set_weights(keras_layer.get_weights())
        layer.trainable = keras_layer.trainable


# --------------------------------------------------------------------------- functional


def _history(keras_tensor):
    """``(layer, node index, tensor index)``: the call that made a Keras tensor."""
    history = getattr(keras_tensor, "_keras_history", None)
    if history is None:
        raise ValueError(f"{keras_tensor!r} was not made by a Keras layer call")
    return history[0], history[1], history[2]


def _keras_map(structure, fn, is_tensor):
    """``structure`` (lists, tuples, dicts) with each tensor ``t`` replaced by ``fn(t)``."""
    if is_tensor(structure):
        return fn(structure)
    if isinstance(structure, dict):
        return {k: _keras_map(v, fn, is_tensor) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_keras_map(v, fn, is_tensor) for v in structure)
    return structure


def _keras_flat(structure, is_tensor):
    found = []
    _keras_map(structure, lambda t: found.append(t), is_tensor)
    return found


def _call_kwargs(args, kwargs, is_tensor):
    """A recorded call's keyword arguments without what the graph decides when it runs:
    ``training``, and a ``mask`` that is None or the mask Keras attached to an input
    (``_keras_mask``: Keras records it, then lets it travel on the tensors, as ours do)."""
    attached = {id(getattr(t, "_keras_mask", None)) for t in _keras_flat(args, is_tensor)}
    return {k: v for k, v in kwargs.items()
            if k != "training" and not (k == "mask" and (v is None or id(v) in attached))}


def _call_arguments(node, is_tensor):
    """``(args, kwargs)`` of a Keras node as they matter to the graph."""
    args = tuple(node.arguments.args)
    if node.arguments.kwargs.get("training") is True:
        raise ValueError(f"{node.operation.name}: called with training=True fixed in the "
                         "graph, which scratchrnn's Model does not support (its training "
                         "flag is the model's, per call)")
    return args, _call_kwargs(args, node.arguments.kwargs, is_tensor)


def _functional_from_keras(keras_model, keras, custom_objects):
    """Read a Keras functional model node by node: each Keras call ``layer(*args,
    **kwargs)`` (``layer._inbound_nodes[i].arguments``) is made again on scratchrnn's
    symbolic tensors by the scratchrnn copy of the layer, which records the same graph."""
    from .graph import Input, KerasTensor
    from .models import Model
    is_keras_tensor = lambda t: isinstance(t, keras.KerasTensor)   # noqa: E731
    if not keras_model.inputs:
        raise ValueError("from_keras() needs a built model: give the Keras model "
                         "keras.Input(...) tensors")

    # 1. the calls the outputs depend on, back to the model's inputs
    inputs = {id(t): t for t in keras_model.inputs}
    needed, order = {}, []           # (id(layer), node index) -> node

    def visit(tensor):
        if id(tensor) in inputs:
            return
        layer, index, _ = _history(tensor)
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(f"{tensor!r} is made by the operation {layer.name!r}, not by a "
                             "layer: scratchrnn's graph holds layer calls only (wrap the "
                             "operation in a layer of your own)")
        if isinstance(layer, keras.layers.InputLayer):
            raise ValueError(f"Graph disconnected: the Keras model reads the Input "
                             f"{layer.name!r}, which is not among its inputs")
        key = (id(layer), index)
        if key in needed:
            return
        node = layer._inbound_nodes[index]
        needed[key] = node
        for t in _keras_flat(_call_arguments(node, is_keras_tensor), is_keras_tensor):
            visit(t)
        order.append((layer, index, node))

    for t in keras_model.outputs:
        visit(t)

    # 2. the layers: one scratchrnn layer per Keras layer, in the model's order
    made = {}
    for keras_layer in keras_model.layers:
        if isinstance(keras_layer, keras.layers.InputLayer):
            continue
        if isinstance(keras_layer, keras.Model):
            raise ValueError(f"{keras_layer.name!r} is a model used as a layer (a model "
                             "inside a model), which scratchrnn's Model does not support: "
                             "build the outer model from the inner model's layers")
        if any(key[0] == id(keras_layer) for key in needed):
            made[id(keras_layer)] = layer_from_keras(keras_layer, custom_objects)

    # 3. the inputs, then the calls: a node as soon as its inputs exist, a shared
    #    layer's calls in Keras's order
    tensors = {}
    for t in keras_model.inputs:
        layer = _history(t)[0]
        tensors[id(t)] = Input(batch_shape=tuple(t.shape), dtype=_tensor_dtype(t),
                               name=layer.name)
    rank = {id(layer): i for i, layer in enumerate(keras_model.layers)}
    pending = sorted(order, key=lambda item: (rank.get(id(item[0]), len(rank)), item[1]))
    while pending:
        for item in pending:
            layer, index, node = item
            call_args, call_kwargs = _call_arguments(node, is_keras_tensor)
            if all(id(t) in tensors for t in _keras_flat((call_args, call_kwargs),
                                                         is_keras_tensor)):
                break
        else:                              # cannot happen for a graph Keras accepted
            raise ValueError("the Keras model's graph has calls whose inputs no call makes")
        pending.remove(item)
        ours = made[id(layer)]
        convert = lambda t: tensors[id(t)]   # noqa: E731
        args = _keras_map(call_args, convert, is_keras_tensor)
        kwargs = _keras_map(call_kwargs, convert, is_keras_tensor)
        try:
            out = ours(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{layer.name}: the Keras call's arguments "
                            f"{sorted(kwargs)} do not fit scratchrnn's "
                            f"{type(ours).__name__}: {error}") from error
        flat_ours = [t for t in _keras_flat(out, lambda v: isinstance(v, KerasTensor))]
        flat_theirs = node.output_tensors
        if len(flat_ours) != len(flat_theirs):
            raise ValueError(f"{layer.name}: the Keras call returns {len(flat_theirs)} "
                             f"tensors, scratchrnn's {type(ours).__name__} "
                             f"{len(flat_ours)}")
        for theirs, mine in zip(flat_theirs, flat_ours):
            if len(theirs.shape) != len(mine.shape) or any(
                    a is not None and b is not None and a != b
                    for a, b in zip(tuple(theirs.shape)[1:], mine.shape[1:])):
                raise ValueError(f"{layer.name}: Keras's output has shape "
                                 f"{tuple(theirs.shape)}, scratchrnn's {mine.shape}")
            tensors[id(theirs)] = mine

    convert = lambda t: tensors[id(t)]   # noqa: E731
    model = Model(_keras_map(_structure(keras_model.input), convert, is_keras_tensor),
                  _keras_map(_structure(keras_model.output), convert, is_keras_tensor),
                  name=keras_model.name)
    _copy_weights(made, keras_model.layers)
    theirs = [layer.name for layer in keras_model.layers]
    mine = [layer.name for layer in model.layers]
    if sorted(theirs) != sorted(mine):
        raise ValueError(f"from_keras: the copy has layers {mine}, the Keras model {theirs}")
    return model


def _structure(value):
    """A model's ``input``/``output`` as Keras keeps it; a tuple becomes a list."""
    return list(value) if isinstance(value, tuple) else value


def _tensor_dtype(keras_tensor):
    dtype = keras_tensor.dtype
    return dtype if isinstance(dtype, str) else getattr(dtype, "name", str(dtype))


# --------------------------------------------------------------------------- to Keras


def _layer_to_keras(layer, keras, custom_objects=None):
    """An unbuilt Keras layer configured like ``layer``.  ``custom_objects``: ``{class
    name: factory}``, each factory a function of the scratchrnn layer that returns the
    Keras layer (a user's own layers)."""
    name = type(layer).__name__
    if custom_objects and name in custom_objects:
        return custom_objects[name](layer)
    cls = getattr(keras.layers, name, None)
    if cls is None or layers_module.CLASSES.get(name) is not type(layer):
        raise ValueError(f"{layer.name}: {name} is not a Keras layer class; to write a layer "
                         "of your own to Keras, pass to_keras(..., custom_objects={"
                         f"{name!r}: lambda layer: YourKerasLayer(...)}})")
    sub = functools.partial(_layer_to_keras, keras=keras, custom_objects=custom_objects)
    if name == "Bidirectional":
        return cls(sub(_unprefixed(layer.forward_layer, "forward_")),
                   merge_mode=layer.merge_mode,
                   backward_layer=sub(layer.backward_layer),
                   name=layer.name, dtype=layer.dtype.name)
    if name == "TimeDistributed":   # wrappers too: else they compute in Keras's floatx
        return cls(sub(layer.layer), name=layer.name, dtype=layer.dtype.name)
    if name == "StackedRNNCells":
        return cls([sub(cell) for cell in layer.cells], name=layer.name,
                   dtype=layer.dtype.name, trainable=layer.trainable)
    config = layer.get_config()
    extra = {}
    if name == "RNN":
        config = {k: v for k, v in config.items() if k != "cell"}
        extra["cell"] = sub(layer.cell)
    accepted = _accepted(cls)
    takes_kwargs = any(p.kind is p.VAR_KEYWORD
                       for p in inspect.signature(cls.__init__).parameters.values())
    for key, value in config.items():
        if key in ("backend", "weights"):
            continue                        # scratchrnn's own; the weights are copied below
        if key in accepted or (takes_kwargs and key in ("name", "dtype", "trainable")):
            extra[key] = value
        elif key == "seed":
            continue                        # Keras layers without dropout take no seed
        else:
            raise ValueError(f"{layer.name}: argument {key}={value!r} has no Keras "
                             f"equivalent in keras.layers.{name}")
    return cls(**extra)


def _unprefixed(layer, prefix):
    clone = type(layer).from_config(layer.get_config())
    clone.name = layer.name.removeprefix(prefix)
    return clone


def to_keras(obj, input_shape=None, custom_objects=None):
    """A tf.keras copy of a scratchrnn model or layer, weights included.

    ``obj``: a ``Sequential``, a functional ``Model(inputs, outputs)`` (written as a
    Keras functional model with the same graph, layer names and weights), or a layer.
    The model must know its input shape.  A layer is built for ``input_shape`` (batch
    axis included; a recurrent layer or cell knows its own) and given its weights;
    without a shape it comes back unbuilt, its configuration only.  ``custom_objects``
    maps the class names of a user's own layers to functions that make their Keras
    counterparts from the scratchrnn layer; weights are copied in ``get_weights()``
    order."""
    keras = keras_module()
    from .models import Model, Sequential
    if isinstance(obj, Sequential):
        obj._require_graph("to_keras()")
        made = {}
        for layer in obj.layers:
            if id(layer) not in made:
                made[id(layer)] = _layer_to_keras(layer, keras, custom_objects)
        model = keras.Sequential(
            [keras.Input(obj.input.shape[1:], dtype=obj.input.dtype)]
            + [made[id(layer)] for layer in obj.layers], name=obj.name)
        _copy_weights_to_keras(made, obj.layers)
        return model
    if isinstance(obj, Model):
        if obj._graph is None:
            raise TypeError(f"to_keras() writes Sequential and functional models; "
                            f"{obj.name!r} ({type(obj).__name__}) has no graph of layer "
                            "calls to write")
        return _functional_to_keras(obj, keras, custom_objects)
    if isinstance(obj, layers_module.Layer):
        keras_layer = _layer_to_keras(obj, keras, custom_objects)
        if input_shape is None and obj.built:
            input_shape = _own_input_shape(obj)
        if input_shape is not None and obj.built:
            keras_layer.build(tuple(input_shape))
            keras_layer.set_weights(obj.get_weights())
        return keras_layer
    raise TypeError(f"to_keras() takes a scratchrnn Sequential or layer, or a functional "
                    f"Model, got {type(obj).__name__}")


def _own_input_shape(layer):
    """The input shape a built recurrent layer or cell knows from its weights."""
    from .layers.cells import StackedRNNCells
    cell = layer.cell if isinstance(layer, layers_module.RNN) and not hasattr(
        layer, "n_gates") else layer
    first = cell.cells[0] if isinstance(cell, StackedRNNCells) else cell
    input_dim = getattr(first, "input_dim", None)
    if input_dim is None:
        return None
    if isinstance(layer, layers_module.RNN):
        return (None, None, input_dim)
    return (None, input_dim)


def _copy_weights_to_keras(made, layers):
    for layer in layers:
        keras_layer = made[id(layer)]
        if layer.weights:
            keras_layer.set_weights(layer.get_weights())
        keras_layer.trainable = layer.trainable


def _functional_to_keras(model, keras, custom_objects):
    """Call Keras layers made like ours on ``keras.Input`` tensors, node by node in the
    order our graph runs them: the same graph, as a ``keras.Model``."""
    from .graph import KerasTensor, _substitute
    graph = model._graph
    made, tensors = {}, {}
    for t in graph.inputs:
        layer = t.node.layer
        tensors[id(t)] = keras.Input(batch_shape=t.shape, dtype=t.dtype, name=layer.name)
    for node in graph.nodes:
        if node.is_input:
            continue
        layer = node.layer
        if id(layer) not in made:
            made[id(layer)] = _layer_to_keras(layer, keras, custom_objects)
        args, kwargs = _substitute((node.args, node.kwargs), lambda t: tensors[id(t)])
        kwargs = {k: v for k, v in kwargs.items()
                  if k != "training" and not (k == "mask" and v is None)}
        out = made[id(layer)](*args, **kwargs)
        flat = _keras_flat(out, lambda v: isinstance(v, keras.KerasTensor))
        if len(flat) != len(node.outputs):
            raise ValueError(f"{layer.name}: Keras's {type(made[id(layer)]).__name__} "
                             f"returns {len(flat)} tensors, scratchrnn's {len(node.outputs)}")
        for mine, theirs in zip(node.outputs, flat):
            tensors[id(mine)] = theirs
    convert = lambda t: tensors[id(t)]   # noqa: E731
    is_ours = lambda t: isinstance(t, KerasTensor)   # noqa: E731
    keras_model = keras.Model(_keras_map(model._input_structure, convert, is_ours),
                              _keras_map(model._output_structure, convert, is_ours),
                              name=model.name)
    _copy_weights_to_keras(made, [layer for layer in graph.layers if id(layer) in made])
    return keras_model
