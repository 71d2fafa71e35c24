"""``from_keras`` and ``to_keras``: the weight-for-weight bridge to tf.keras.

Every scratchrnn layer takes Keras's constructor arguments and Keras's weight layout, so
the bridge is two steps: translate the layer's config (Keras's serialised initialisers
and dtype policies become names), then ``set_weights(other.get_weights())``.

Nothing is dropped silently.  A Keras argument scratchrnn does not implement (a
regulariser, a constraint, ``unroll=True``, ...) is an error naming it, unless it has the
value that means "off".  Arguments that only choose *how* Keras computes
(``implementation``, ``use_cudnn``) are ignored: the results are the same.

TensorFlow is imported only when these functions run.
"""

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


def _keras():
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


def _dtype_name(value):
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
            out["dtype"] = _dtype_name(value)
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


def _layer_from_keras(keras_layer):
    """An unbuilt scratchrnn layer configured like ``keras_layer``."""
    name = type(keras_layer).__name__
    cls = layers_module.CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Keras layer {keras_layer.name!r} is a {name}, which scratchrnn "
                         f"does not implement (supported: {sorted(layers_module.CLASSES)})")
    if name == "Bidirectional":
        return cls(_layer_from_keras(keras_layer.forward_layer),
                   merge_mode=keras_layer.merge_mode,
                   backward_layer=_layer_from_keras(keras_layer.backward_layer),
                   name=keras_layer.name, trainable=keras_layer.trainable)
    if name == "TimeDistributed":
        return cls(_layer_from_keras(keras_layer.layer), name=keras_layer.name)
    config = _translate_config(cls, keras_layer.get_config(), keras_layer.name)
    if name in ("SimpleRNN", "LSTM", "GRU"):
        config.pop("seed", None)
    return cls(**config)


def from_keras(obj):
    """A scratchrnn copy of a Keras ``Sequential`` model or layer: the same architecture,
    the same weights (copied), the same dtype.  The model must be built (have an input
    shape), so that every weight exists."""
    keras = _keras()
    if isinstance(obj, keras.Sequential):
        return _model_from_keras(obj)
    if isinstance(obj, keras.layers.Layer):
        layer = _layer_from_keras(obj)
        if obj.weights:
            _copy_into(layer, obj.get_weights(), _built_shape(obj))
        return layer
    raise TypeError(f"from_keras() takes a keras.Sequential or a Keras layer, got "
                    f"{type(obj).__name__}")


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


def _model_from_keras(keras_model):
    from .models import Input, Sequential
    if not keras_model.built or not keras_model.inputs:
        raise ValueError("from_keras() needs a built model: give the Keras Sequential an "
                         "keras.Input(shape=...) first")
    keras_input = keras_model.inputs[0]
    model = Sequential(name=keras_model.name)
    model.add(Input(tuple(keras_input.shape)[1:], dtype=str(keras_input.dtype)))
    for keras_layer in keras_model.layers:
        model.add(_layer_from_keras(keras_layer))
    for layer, keras_layer in zip(model.layers, keras_model.layers):
        if layer.weights:
            layer.set_weights(keras_layer.get_weights())
        layer.trainable = keras_layer.trainable
    return model


# --------------------------------------------------------------------------- to Keras


def _layer_to_keras(layer, keras):
    name = type(layer).__name__
    cls = getattr(keras.layers, name)
    if name == "Bidirectional":
        return cls(_layer_to_keras(_unprefixed(layer.forward_layer, "forward_"), keras),
                   merge_mode=layer.merge_mode,
                   backward_layer=_layer_to_keras(layer.backward_layer, keras),
                   name=layer.name, dtype=layer.dtype.name)
    if name == "TimeDistributed":   # wrappers too: else they compute in Keras's floatx
        return cls(_layer_to_keras(layer.layer, keras), name=layer.name,
                   dtype=layer.dtype.name)
    accepted = _accepted(cls)
    takes_kwargs = any(p.kind is p.VAR_KEYWORD
                       for p in inspect.signature(cls.__init__).parameters.values())
    config = {}
    for key, value in layer.get_config().items():
        if key in ("backend", "weights"):
            continue                        # scratchrnn's own; the weights are copied below
        if key in accepted or (takes_kwargs and key in ("name", "dtype", "trainable")):
            config[key] = value
        elif key == "seed":
            continue                        # Keras layers without dropout take no seed
        else:
            raise ValueError(f"{layer.name}: argument {key}={value!r} has no Keras "
                             f"equivalent in keras.layers.{name}")
    return cls(**config)


def _unprefixed(layer, prefix):
    clone = type(layer).from_config(layer.get_config())
    clone.name = layer.name.removeprefix(prefix)
    return clone


def to_keras(obj, input_shape=None):
    """A tf.keras copy of a scratchrnn ``Sequential`` model or layer, weights included.

    The model must know its input shape.  A layer is built for ``input_shape`` (batch
    axis included; a recurrent layer knows its own) and given its weights; without a
    shape it comes back unbuilt, its configuration only."""
    keras = _keras()
    from .models import Sequential
    if isinstance(obj, Sequential):
        obj._require_built("to_keras")
        model = keras.Sequential(
            [keras.Input(obj.input.shape[1:], dtype=obj.input.dtype)]
            + [_layer_to_keras(layer, keras) for layer in obj.layers], name=obj.name)
        for keras_layer, layer in zip(model.layers, obj.layers):
            keras_layer.set_weights(layer.get_weights())
            keras_layer.trainable = layer.trainable
        return model
    if isinstance(obj, layers_module.Layer):
        keras_layer = _layer_to_keras(obj, keras)
        if input_shape is None and isinstance(obj, layers_module.RNN) and obj.built:
            input_shape = (None, None, obj.input_dim)
        if input_shape is not None and obj.built:
            keras_layer.build(tuple(input_shape))
            keras_layer.set_weights(obj.get_weights())
        return keras_layer
    raise TypeError(f"to_keras() takes a scratchrnn Sequential or layer, got "
                    f"{type(obj).__name__}")
