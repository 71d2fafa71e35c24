"""Pure functions, one module per cell: step and sequence, forward and backward."""

from . import activations
from .gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .simple_rnn import (
    simple_rnn_backward,
    simple_rnn_forward,
    simple_rnn_step_backward,
    simple_rnn_step_forward,
)

__all__ = [
    "activations",
    "gru_backward", "gru_forward", "gru_step_backward", "gru_step_forward",
    "lstm_backward", "lstm_forward", "lstm_step_backward", "lstm_step_forward",
    "simple_rnn_backward", "simple_rnn_forward", "simple_rnn_step_backward",
    "simple_rnn_step_forward",
]
