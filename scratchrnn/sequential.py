"""``Sequential``: a stack of layers, the special case of a functional model.

``Sequential([Input((T, F)), LSTM(32), Dense(1)])`` calls each layer on the previous one's
output, as :class:`~scratchrnn.models.Model`'s graph records it; everything else (the
training loop, saving, the manual ``backward``) is the Model's.
"""

import numpy as np

from . import data as data_module
from . import layers as layers_module
from .graph import Graph, Input, KerasTensor
from .layers.layer import Layer
from .models import Model, _dense_gradients, _format_shape, _gradients_for, _unique


class Sequential(Model):
    """A linear stack of layers.  ``Sequential([Input((T, F)), LSTM(32), Dense(1)])``.

    It is a functional model whose graph is a chain: each layer is called on the
    previous one's output.  Without an ``Input`` the graph is made on the first call,
    from the data's shape.  The same layer may appear twice (its weights are shared, and
    its gradient is the sum over both calls).
    """

    def __init__(self, layers=None, name="sequential", seed=None):
        super().__init__(name=name, seed=seed)
        self._layers = []
        self._input = None
        self._output = None
        for layer in layers or []:
            self.add(layer)

    def __repr__(self):
        return f"Sequential(name={self.name!r}, layers={[layer.name for layer in self.layers]})"

    @property
    def layers(self):
        return list(self._layers)

    @property
    def input(self):
        return self._input

    # --- structure --------------------------------------------------------------------

    def add(self, layer):
        """Append ``layer`` (or set the input, for an :func:`Input`)."""
        if isinstance(layer, KerasTensor):
            if self._layers or self._input is not None:
                raise ValueError("an Input must come first, before any layer")
            if not layer.node.is_input:
                raise ValueError(f"{layer!r} is not an Input: a Sequential model starts with "
                                 "sr.Input(...)")
            self._input = self._output = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"`layer` must be a scratchrnn layer or Input, got "
                            f"{type(layer).__name__}")
        if getattr(layer, "return_state", False):
            raise ValueError(f"{layer.name}: a Sequential model passes one tensor from layer "
                             "to layer; return_state=True layers need a functional model")
        if getattr(layer, "merge_mode", "concat") is None:
            raise ValueError(f"{layer.name}: merge_mode=None gives two outputs; a Sequential "
                             "model passes one")
        if all(layer is not existing for existing in self._layers):
            taken = {existing.name for existing in self._layers}
            base, k = layer.name, 0
            while layer.name in taken:
                k += 1
                layer.name = f"{base}_{k}"
        shape = getattr(layer, "_input_shape_arg", None)
        if self._output is None and not self._layers and shape is not None:
            self._input = self._output = Input(shape)   # Keras 3: a first layer's input_shape
        self._layers.append(layer)
        if self._output is not None:
            self._output = layer(self._output)
            self._graph = None

    @property
    def built(self):
        return bool(self._layers) and self._output is not None and all(
            layer.built for layer in self._layers)

    def build(self, input_shape=None):
        """Make the graph for inputs of ``input_shape`` (batch axis included, may be
        None), or from the model's :func:`Input`."""
        if input_shape is None:
            if self._input is None:
                raise RuntimeError("build() needs an input shape: give one, or start the "
                                   "model with an Input")
        else:
            self._start(Input(batch_shape=tuple(input_shape)))
        self._require_graph("build()")

    def _start(self, tensor):
        self._input = self._output = tensor
        for layer in self._layers:
            self._output = layer(self._output)
        self._graph = None

    def _require_graph(self, what):
        if self._graph is None:
            if self._output is None or not self._layers:
                if not self._layers and self._input is not None:
                    raise RuntimeError(f"{self.name} has no layers")
                raise RuntimeError(f"{self.name}: {what} needs the model built: start it "
                                   "with an Input, call build(input_shape), or call it on "
                                   "data first")
            self._input_structure, self._output_structure = self._input, self._output
            self._graph = Graph([self._input], [self._output])
            self._run = None
        return self._graph

    def _build_for(self, inputs):
        if not self._layers:
            raise RuntimeError(f"{self.name} has no layers")
        x = np.asarray(inputs)
        self._start(Input(batch_shape=(None, *x.shape[1:]), dtype=data_module.dtype_name(x)))
        return self._require_graph("a call")

    def _flat_inputs(self, inputs):
        if self._graph is None:
            if self._output is None or not self._layers:
                self._build_for(inputs)
            else:
                self._require_graph("a call")
        return super()._flat_inputs(inputs)

    def output_shapes(self):
        """Each layer's output shape, from the input's (None for the batch)."""
        graph = self._require_graph("output_shapes()")
        return [n.outputs[0].shape for n in graph.nodes if not n.is_input]

    def set_weights(self, weights):
        self._require_graph("set_weights()")
        unique = _unique(self._layers)
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in unique)
        if len(weights) != expected:
            raise ValueError(f"`weights` must be a list of {expected} arrays (the model's "
                             f"get_weights()), got {len(weights)}")
        start = 0
        for layer in unique:
            n = len(layer.weights)
            if n:
                layer.set_weights(weights[start:start + n])
            start += n

    @property
    def _unique_layers(self):
        return _unique(self._layers)

    @property
    def weights(self):
        return [w for layer in self._unique_layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self._unique_layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self._unique_layers for w in layer.non_trainable_weights]

    def count_params(self):
        if self._output is None:            # Keras's ValueError, and its words
            raise ValueError(f"You tried to call `count_params` on layer {self.name!r}, but "
                             "the layer isn't built. You can build it manually via: "
                             "`layer.build(input_shape)`, start the model with an Input, or "
                             "call it on data first")
        self._require_graph("count_params()")
        return int(sum(layer.count_params() for layer in self._unique_layers))

    def _gradients_and_variables(self):
        return _gradients_for(self, self._unique_layers)

    def get_gradients(self):
        return _dense_gradients(self, self._unique_layers)

    def summary(self, print_fn=print):
        """Print each layer's name, type, output shape and parameter count, and the totals
        (the same counts as Keras's ``summary``)."""
        header = ["Layer (type)", "Output Shape", "Param #"]
        if self._output is None:        # not built yet: Keras prints "?" and "0 (unbuilt)"
            rows = [[f"{layer.name} ({type(layer).__name__})", "?",
                     f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"]
                    for layer in self._layers]
            built = [layer for layer in self._unique_layers if layer.built]
            total = sum(layer.count_params() for layer in built)
            trainable = sum(w.size for layer in built for w in layer.trainable_weights)
            self._print_table(header, rows, print_fn, counts=(total, trainable))
            return
        self._require_graph("summary()")
        rows = [[f"{layer.name} ({type(layer).__name__})", _format_shape(shape),
                 f"{layer.count_params():,}"]
                for layer, shape in zip(self._layers, self.output_shapes())]
        self._print_table(header, rows, print_fn)

    def _logits_activation(self):
        """``"sigmoid"`` or ``"softmax"`` when the loss reads the last Dense layer's
        logits, as Keras 3's crossentropies do for such an output; else None."""
        last = self._layers[-1]
        if (getattr(self.loss, "accepts_logits", False) and hasattr(last, "backward_logits")
                and last.activation in ("sigmoid", "softmax")):
            return last.activation
        return None

    # --- saving ---------------------------------------------------------------------------

    def get_config(self):
        """The architecture as plain JSON types (what ``save`` writes beside the weights)."""
        return {"name": self.name, "seed": self.seed,
                "input": None if self._input is None else self._input.node.layer.get_config(),
                "layers": [layers_module.serialize(layer) for layer in self._layers]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config["name"], seed=config.get("seed"))
        spec = config.get("input")
        if spec is not None:
            if "batch_shape" in spec:
                model.add(Input(batch_shape=spec["batch_shape"], dtype=spec["dtype"],
                                name=spec.get("name")))
            else:                        # checkpoints written before the functional API
                model.add(Input(spec["shape"], dtype=spec["dtype"], name=spec.get("name")))
        made = {}
        for layer_spec in config["layers"]:
            name = layer_spec["config"].get("name")
            if name in made:             # the same layer twice
                model.add(made[name])
                continue
            made[name] = layers_module.deserialize(layer_spec, custom_objects)
            model.add(made[name])
        return model
