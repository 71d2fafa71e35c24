"""scratchrnn: recurrent networks from scratch in NumPy, checked against Keras.

    import scratchrnn as sr
    layer = sr.layers.LSTM(64, return_sequences=True)
    y = layer(x)                    # forward, Keras's semantics
    dx = layer.backward(dy)         # hand-written backpropagation through time
    layer.get_gradients()           # aligned with layer.get_weights()
"""

from . import initializers, layers, ops
from .backend import get_backend, set_backend

__version__ = "0.1.0"
__all__ = ["get_backend", "initializers", "layers", "ops", "set_backend", "__version__"]
