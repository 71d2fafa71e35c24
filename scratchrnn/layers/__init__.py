"""Keras-like layers: Keras's arguments, weight names, shapes and gate order.

``serialize(layer)`` gives ``{"class_name", "config"}`` (plain JSON types), and
``deserialize`` builds the layer back; both refuse classes they do not know.
"""

from .attention import AdditiveAttention, BahdanauAttention
from .base import RNN
from .bidirectional import Bidirectional
from .convolutional import Conv1D
from .core import Dense, Dropout, Masking
from .embedding import Embedding
from .gru import GRU
from .layer import Layer
from .lstm import LSTM
from .pooling import AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, MaxPooling1D
from .reshaping import Flatten, RepeatVector
from .simple_rnn import SimpleRNN
from .time_distributed import TimeDistributed

#: Every layer class a model may hold, by its (Keras) class name.
CLASSES = {cls.__name__: cls for cls in (
    SimpleRNN, LSTM, GRU, Bidirectional, Dense, Dropout, Masking, Embedding, Flatten,
    RepeatVector, TimeDistributed, Conv1D, MaxPooling1D, AveragePooling1D,
    GlobalAveragePooling1D, GlobalMaxPooling1D, AdditiveAttention, BahdanauAttention)}


def serialize(layer):
    """``{"class_name": ..., "config": layer.get_config()}`` for a known layer class."""
    name = type(layer).__name__
    if CLASSES.get(name) is not type(layer):
        raise TypeError(f"cannot serialise a {name}: not a scratchrnn layer class "
                        f"(known: {sorted(CLASSES)})")
    return {"class_name": name, "config": layer.get_config()}


def deserialize(spec):
    """The layer described by ``{"class_name": ..., "config": {...}}``."""
    if not isinstance(spec, dict) or set(spec) != {"class_name", "config"}:
        raise ValueError("a layer spec must be a dict with keys 'class_name' and 'config', "
                         f"got {spec!r:.200}")
    name = spec["class_name"]
    if name not in CLASSES:
        raise ValueError(f"unknown layer class {name!r}; known: {sorted(CLASSES)}")
    return CLASSES[name].from_config(spec["config"])


__all__ = ["CLASSES", "AdditiveAttention", "AveragePooling1D", "BahdanauAttention",
           "Bidirectional", "Conv1D", "Dense", "Dropout", "Embedding", "Flatten", "GRU",
           "GlobalAveragePooling1D", "GlobalMaxPooling1D", "LSTM", "Layer", "Masking",
           "MaxPooling1D", "RNN", "RepeatVector", "SimpleRNN", "TimeDistributed",
           "deserialize", "serialize"]
