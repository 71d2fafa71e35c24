"""Keras-like layers: Keras's arguments, weight names, shapes and gate order.

``serialize(layer)`` gives ``{"class_name", "config"}`` (plain JSON types), and
``deserialize`` builds the layer back; both refuse classes they do not know.
"""

from ..graph import Input, InputLayer
from ..text import TextVectorization
from .attention import AdditiveAttention, BahdanauAttention
from .bidirectional import Bidirectional
from .cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .convolutional import Conv1D
from .core import Dense, Dropout, Masking
from .embedding import Embedding
from .gru import GRU
from .layer import Layer
from .lstm import LSTM
from .merging import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract
from .pooling import AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, MaxPooling1D
from .reshaping import Flatten, RepeatVector
from .rnn import RNN
from .simple_rnn import SimpleRNN
from .time_distributed import TimeDistributed

#: Every layer class a model may hold, by its (Keras) class name.
CLASSES = {cls.__name__: cls for cls in (
    SimpleRNN, LSTM, GRU, Bidirectional, Dense, Dropout, Masking, Embedding, Flatten,
    RepeatVector, TimeDistributed, Conv1D, MaxPooling1D, AveragePooling1D,
    GlobalAveragePooling1D, GlobalMaxPooling1D, AdditiveAttention, BahdanauAttention,
    RNN, SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells, Add, Subtract, Multiply,
    Average, Maximum, Minimum, Concatenate, Dot)}


def serialize(layer):
    """``{"class_name": ..., "config": layer.get_config()}``: a scratchrnn layer, or a
    user's ``Layer`` subclass (loading it again takes ``custom_objects``)."""
    name = type(layer).__name__
    if CLASSES.get(name) is not type(layer) and not isinstance(layer, Layer):
        raise TypeError(f"cannot serialise a {name}: not a scratchrnn layer class "
                        f"(known: {sorted(CLASSES)})")
    return {"class_name": name, "config": layer.get_config()}


def deserialize(spec, custom_objects=None):
    """The layer described by ``{"class_name": ..., "config": {...}}``; ``custom_objects``
    maps the class names of a user's own layers to their classes, as in Keras."""
    if not isinstance(spec, dict) or not {"class_name", "config"} <= set(spec):
        raise ValueError("a layer spec must be a dict with keys 'class_name' and 'config', "
                         f"got {spec!r:.200}")
    name = spec["class_name"]
    classes = {**CLASSES, **(custom_objects or {})}
    if name not in classes:
        raise ValueError(f"unknown layer class {name!r}; known: {sorted(CLASSES)} (a layer "
                         "of your own: pass custom_objects={name: cls})")
    try:
        return classes[name].from_config(spec["config"])
    except TypeError as err:
        raise ValueError(f"could not make a {name} from its config ({err}); a layer with "
                         "constructor arguments of its own must return them from "
                         "get_config(), as in Keras") from err


__all__ = ["Add", "AdditiveAttention", "Average", "AveragePooling1D", "BahdanauAttention",
           "Bidirectional", "CLASSES", "Concatenate", "Conv1D", "Dense", "deserialize", "Dot",
           "Dropout", "Embedding", "Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
           "GRU", "GRUCell", "Input", "InputLayer", "Layer", "LSTM", "LSTMCell", "Masking",
           "Maximum", "MaxPooling1D", "Minimum", "Multiply", "RepeatVector", "RNN", "serialize",
           "SimpleRNN", "SimpleRNNCell", "StackedRNNCells", "Subtract", "TextVectorization",
           "TimeDistributed"]
