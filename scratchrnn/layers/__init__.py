"""Keras-like layers: Keras's arguments, weight names, shapes and gate order.

``serialize(layer)`` gives ``{"class_name", "config"}`` (plain JSON types), and
``deserialize`` builds the layer back; both refuse classes they do not know.
"""

from .base import RNN
from .bidirectional import Bidirectional
from .gru import GRU
from .layer import Layer
from .lstm import LSTM
from .simple_rnn import SimpleRNN

#: Every layer class a model may hold, by its (Keras) class name.
CLASSES = {cls.__name__: cls for cls in (SimpleRNN, LSTM, GRU, Bidirectional)}


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


__all__ = ["CLASSES", "Bidirectional", "GRU", "LSTM", "Layer", "RNN", "SimpleRNN",
           "deserialize", "serialize"]
