"""scratchrnn: recurrent networks from scratch in NumPy, checked against Keras.

    import scratchrnn as sr
    layer = sr.layers.LSTM(64, return_sequences=True)
    y = layer(x)                    # forward, Keras's semantics
    dx = layer.backward(dy)         # hand-written backpropagation through time
    layer.get_gradients()           # aligned with layer.get_weights()

    model = sr.Sequential([sr.Input((T, F)), sr.layers.LSTM(32), sr.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=10)      # Keras's training step, step for step
"""

from . import (
    callbacks,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    sampling,
    schedules,
    seq2seq,
    testing,
    text,
    timeseries,
    utils,
)
from .backend import get_backend, set_backend
from .graph import Input, KerasTensor
from .keras import from_keras, to_keras
from .models import Model, Sequential, load_model
from .seq2seq import Seq2Seq

__version__ = "0.1.0"
__all__ = ["callbacks", "from_keras", "get_backend", "initializers", "Input", "KerasTensor",
           "layers", "load_model", "losses", "metrics", "Model", "models", "ops", "optimizers",
           "sampling", "schedules", "Seq2Seq", "seq2seq", "Sequential", "set_backend", "testing",
           "text", "timeseries", "to_keras", "utils", "__version__"]
