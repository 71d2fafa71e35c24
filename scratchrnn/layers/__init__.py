"""Keras-like layers: Keras's arguments, weight names, shapes and gate order."""

from .base import RNN
from .bidirectional import Bidirectional
from .gru import GRU
from .lstm import LSTM
from .simple_rnn import SimpleRNN

__all__ = ["RNN", "Bidirectional", "GRU", "LSTM", "SimpleRNN"]
