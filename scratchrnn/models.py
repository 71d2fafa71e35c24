"""Models: Keras's functional ``Model`` and ``Sequential``, trained as Keras trains them.

A functional model is a graph of layer calls (:mod:`scratchrnn.graph`)::

    enc_in = sr.Input((None,), dtype="int32")
    dec_in = sr.Input((None,), dtype="int32")
    _, h, c = LSTM(64, return_state=True)(Embedding(20, 32)(enc_in))
    seq = LSTM(64, return_sequences=True)(Embedding(20, 32)(dec_in), initial_state=[h, c])
    model = sr.Model([enc_in, dec_in], Dense(20, activation="softmax")(seq))

and ``Sequential`` is the special case of a chain.  One training step
(``train_on_batch``) is the whole algorithm, written out::

    run          = graph.forward(x, training=True)     each node's layer, masks handed on
    loss, g      = Σ_outputs loss.value_and_gradient(y, y_pred, mask)
    graph.backward(run, g)                              the nodes in reverse, gradients added
                                                        where a tensor fans out
    optimizer.apply(gradients, weights)                 in place, in get_weights order

Two details make it Keras's step rather than a similar one:

- **Masks.**  A mask made by ``Embedding(mask_zero=True)`` or ``Masking`` travels through
  every layer that supports masking (recurrent layers hand it on only with
  ``return_sequences``) and reaches the loss and the metrics, which then average over the
  unmasked steps only.
- **Logits.**  When an output comes straight from a ``Dense`` with a sigmoid or softmax
  activation and the loss is a crossentropy, Keras 3 computes the loss from the Dense
  layer's pre-activation, as if ``from_logits=True``: no clipping, and the gradient
  ``p - y`` flows straight into the logits.  So does this model.  (``TimeDistributed(Dense
  (...))`` hides the activation from Keras: there the clipped probabilities are used, here
  too.)

``fit`` adds batching (the last batch may be smaller), shuffling with the model's seeded
generator, ``validation_split`` (the last fraction of the samples, before shuffling, as
Keras takes it), callbacks, a tqdm progress bar and a clean stop on Ctrl-C: the current
batch finishes, callbacks' ``on_train_end`` runs (so ``EarlyStopping`` restores its best
weights), and the History so far is returned with ``history.interrupted = True``.
"""

import signal
import threading

import numpy as np

from . import _checks, losses, optimizers
from . import callbacks as callbacks_module
from . import data as data_module
from . import layers as layers_module
from . import metrics as metrics_module
from .graph import Graph, Input, InputLayer, KerasTensor, _add, _flatten, decode, encode
from .layers.layer import PerThread

__all__ = ["Input", "Model", "Sequential", "load_model"]


class Model:
    """Keras's ``Model``: ``Model(inputs, outputs)`` over a graph of layer calls.

    ``inputs`` / ``outputs``: a KerasTensor, a list of them, or a dict of them by name;
    calls, predictions and gradients come back in the same structure.  ``seed`` drives
    the shuffling of ``fit`` (layers keep their own seeds).

    Besides Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict`` /
    ``train_on_batch``, a model has the layer protocol's manual step, for study::

        y = model(x)                    forward (a list of arrays for several inputs)
        dx = model.backward(dy)         the gradients of the inputs (None for integer ones)
        model.get_gradients()           the weights' gradients, aligned with get_weights()

    Subclasses that bring their own layers and steps (``Seq2Seq``) call
    ``Model.__init__(self, name=..., seed=...)`` without a graph.
    """

    def __init__(self, inputs: "KerasTensor | list | dict | None" = None,
                 outputs: "KerasTensor | list | dict | None" = None,
                 name: str | None = None, seed: int | None = None):
        name = name or _default_name(self)
        if not isinstance(name, str):
            raise TypeError(f"`name` must be a string, got {name!r}")
        self.name = name
        self.seed = _checks.seed(seed)
        self._rng = np.random.default_rng(seed)
        self.optimizer = self.loss = None
        self.metrics = []
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._graph = None
        self._run = None
        self._weight_grads = None
        if (inputs is None) != (outputs is None):
            raise ValueError("Model(inputs, outputs) needs both: the Input tensors and the "
                             "tensors computed from them")
        if inputs is not None:
            self._input_structure = inputs
            self._output_structure = outputs
            self._set_graph(Graph(_flat_tensors(inputs, "inputs"),
                                  _flat_tensors(outputs, "outputs")))

    #: Whether ``summary`` shows what each layer reads (not for a chain).
    _connected_column = True

    # The last call and its weight gradients are the calling thread's own, as a layer's
    # tape is: threads may share a model, each calling and backpropagating its own batch.
    _run = PerThread()
    _weight_grads = PerThread()

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"

    def _set_graph(self, graph):
        _unique_names(graph.layers)
        self._graph = graph
        self._run = None

    # --- structure --------------------------------------------------------------------

    @property
    def layers(self):
        """The layers in Keras's order: the inputs' layers first, then by depth."""
        return list(self._require_graph("layers").layers)

    @property
    def inputs(self):
        return list(self._require_graph("inputs").inputs)

    @property
    def outputs(self):
        return list(self._require_graph("outputs").outputs)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_names(self):
        return [t.node.layer.name for t in self.outputs]

    def get_layer(self, name=None, index=None):
        """The layer called ``name`` (or at ``index`` of ``layers``)."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in {self.name}; its layers: "
                         f"{[layer.name for layer in self.layers]}")

    @property
    def built(self):
        if self._graph is None and type(self).layers is not Model.layers:
            return all(layer.built for layer in self.layers)   # a model with its own layers
        return self._graph is not None

    def _require_graph(self, what):
        if self._graph is None:
            raise RuntimeError(f"{self.name}: {what} needs the model built: start it with an "
                               "Input, call build(input_shape), or call it on data first")
        return self._graph

    # --- weights ----------------------------------------------------------------------

    @property
    def weights(self):
        """The weight arrays themselves (optimizers update them in place)."""
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Set every layer's weights from one flat list, in ``get_weights`` order."""
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"`weights` must be a list of {expected} arrays (the model's "
                             f"get_weights()), got {len(weights)}")
        start = 0
        for layer in self.layers:
            n = len(layer.weights)
            if n:
                layer.set_weights(weights[start:start + n])
            start += n

    def count_params(self):
        return int(sum(layer.count_params() for layer in self.layers))

    def _gradients_and_variables(self):
        """The trainable weights' gradients (as the optimizer takes them) and weights:
        the graph's sums, or (a model without a graph) each layer's own."""
        if self._graph is None:
            grads, variables = [], []
            for layer in self.layers:
                if layer.trainable and layer.weights:
                    grads += layer.optimizer_gradients()
                    variables += layer.weights
            return grads, variables
        return _gradients_for(self, self.layers)

    def get_gradients(self) -> list[np.ndarray]:
        """The gradients of the last ``backward``, aligned with ``get_weights`` (summed
        over the calls of a layer used more than once)."""
        return _dense_gradients(self, self.layers)

    # --- forward and backward -------------------------------------------------------------

    def __call__(self, inputs, training=False):
        """The outputs for ``inputs`` (arrays in the structure of the model's inputs)."""
        outputs, _ = self._forward(inputs, training)
        return outputs

    def _forward(self, inputs, training):
        """``(outputs, masks)`` in the structure of the model's outputs; keeps the run for
        ``backward``."""
        if any(isinstance(t, KerasTensor) for t in _flatten(inputs)):
            raise TypeError(f"{self.name}: calling a model on KerasTensors (a model inside "
                            "a model) is not supported; call its layers instead")
        flat = self._flat_inputs(inputs)
        graph = self._require_graph("a call")
        self._run = graph.forward(flat, training)
        return (self._structure(self._run.outputs), self._structure(self._run.output_masks))

    def _flat_inputs(self, inputs):
        graph = self._graph if self._graph is not None else self._build_for(inputs)
        flat = data_module.flatten_like(inputs, self._input_structure, "inputs")
        for tensor, value, i in zip(graph.inputs, flat, range(len(flat))):
            flat[i] = _check_input_value(value, tensor)
        return flat

    def _build_for(self, inputs):
        raise RuntimeError(f"{self.name} has no graph: give Model(inputs, outputs)")

    def _structure(self, flat):
        """``flat`` (aligned with the graph's outputs) in the structure of the outputs."""
        s = self._output_structure
        if isinstance(s, dict):
            return dict(zip(s, flat))
        if isinstance(s, (list, tuple)):
            return list(flat)
        return flat[0]

    def backward(self, d_outputs, logits_outputs=()) -> "np.ndarray | list | dict":
        """Backpropagate through the last call: ``d_outputs`` in the structure of the
        outputs (None for an output that does not reach the loss) -> the inputs'
        gradients, in the structure of the inputs (None for integer inputs).  The weights'
        gradients: :meth:`get_gradients`."""
        if self._run is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward call first")
        flat = data_module.flatten_like(d_outputs, self._output_structure, "d_outputs")
        d_inputs, self._weight_grads = self._graph.backward(self._run, flat, logits_outputs)
        s = self._input_structure
        if isinstance(s, dict):
            return dict(zip(s, d_inputs))
        return list(d_inputs) if isinstance(s, (list, tuple)) else d_inputs[0]

    # --- compile ----------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None,
                loss_weights=None) -> None:
        """Choose the optimizer, the loss(es) and the metrics (names or objects, as
        Keras).  Several outputs: ``loss`` is one loss for all, or a list / dict by
        output name, ``loss_weights`` likewise, ``metrics`` a list of lists or a dict."""
        if loss is None:
            raise ValueError("`loss` is required: a loss name (e.g. 'mse', "
                             "'binary_crossentropy') or a scratchrnn.losses.Loss")
        self.optimizer = optimizers.get(optimizer)
        names = self.output_names if self._graph is not None else ["output"]
        self._losses = _per_output(loss, names, "loss", losses.get)
        self.loss = self._losses[0] if len(self._losses) == 1 else self._losses
        weights = _per_output(1.0 if loss_weights is None else loss_weights, names,
                              "loss_weights", lambda w: float(w))
        self._loss_weights = weights
        if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
            raise TypeError(f"`metrics` must be a list of metric names or objects, got "
                            f"{metrics!r}")
        self._output_metrics = self._metrics_per_output(metrics or [], names)
        self.metrics = [m for ms in self._output_metrics for m in ms]
        self.compiled = True

    def _metrics_per_output(self, metrics, names):
        if len(names) == 1:
            if isinstance(metrics, dict):
                metrics = metrics.get(names[0], [])
            return [[metrics_module.get(m, loss=self._losses[0]) for m in metrics]]
        if isinstance(metrics, dict):
            unknown = set(metrics) - set(names)
            if unknown:
                raise ValueError(f"`metrics` names outputs {sorted(unknown)} that the model "
                                 f"does not have; its outputs: {names}")
            metrics = [metrics.get(n, []) for n in names]
        if metrics and len(metrics) != len(names):
            raise ValueError(f"`metrics` for a model with {len(names)} outputs must be a "
                             f"list of {len(names)} lists or a dict by output name, got "
                             f"{metrics!r}")
        out = []
        for name, loss, ms in zip(names, self._losses, metrics or [[]] * len(names)):
            ms = [ms] if isinstance(ms, str) else list(ms)
            built = [metrics_module.get(m, loss=loss) for m in ms]
            for m in built:
                m.base_name, m.name = m.name, f"{name}_{m.name}"
            out.append(built)
        return out

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"{self.name}: {what}() needs compile(optimizer, loss) first")

    def _logs(self, tracker):
        logs = {"loss": tracker.result()}
        for name, t in getattr(tracker, "parts", {}).items():
            logs[f"{name}_loss"] = t.result()
        return {**logs, **{m.name: float(m.result()) for m in self.metrics}}

    def _update_metrics(self, y, y_pred, mask, sample_weight=None):
        if len(getattr(self, "_output_metrics", [self.metrics])) <= 1:
            for metric in self.metrics:
                metric.update_state(y, y_pred, sample_weight=sample_weight, mask=mask)
            return
        for ms, yi, pi, mi in zip(self._output_metrics, self._flat_outputs(y),
                                  self._flat_outputs(y_pred), self._flat_outputs(mask)):
            for metric in ms:
                metric.update_state(yi, pi, sample_weight=sample_weight, mask=mi)

    def _flat_outputs(self, value):
        if value is None:
            return [None] * len(self._graph.outputs)
        return data_module.flatten_like(value, self._output_structure, "y")

    def _batch_result(self, loss, y, y_pred, mask, sample_weight=None):
        """What ``train_on_batch`` returns: the loss, or ``[loss, *metrics]`` (as Keras)."""
        if not self.metrics:
            return loss
        for metric in self.metrics:
            metric.reset_state()
        self._update_metrics(y, y_pred, mask, sample_weight)
        return [loss, *[float(m.result()) for m in self.metrics]]

    # --- one step ---------------------------------------------------------------------

    @property
    def losses(self):
        """The layers' regularisation penalties (Keras's ``model.losses``): the loss a
        model trains on is the compiled loss plus their sum."""
        return [v for layer in _unique(self.layers) for v in getattr(layer, "losses", [])]

    def _add_regularization(self):
        """Add each regularised weight's penalty gradient to the gradient of the last
        backward; returns the penalties' sum (0.0 when none)."""
        penalty = 0.0
        for layer in _unique(self.layers):
            values = getattr(layer, "losses", [])
            if not values:
                continue
            penalty += sum(values)
            mine = self._weight_grads.get(id(layer)) or [np.zeros_like(w) for w in
                                                         layer.weights]
            self._weight_grads[id(layer)] = [
                g if r is None else _add(g, r)
                for g, r in zip(mine, layer.regularization_gradients())]
        return penalty

    def _losses_and_gradients(self, y, run, sample_weight, with_gradients):
        """The weighted total loss, each output's loss, and the gradients that start the
        backward (with the outputs whose gradient is with respect to logits)."""
        ys = self._flat_outputs(y)
        total, parts, grads, logits_outputs = None, {}, [], set()
        for i, (loss, weight, yi) in enumerate(zip(self._losses, self._loss_weights, ys)):
            pred, mask = run.outputs[i], run.output_masks[i]
            node = self._graph.outputs[i].node
            kwargs = {}
            if getattr(loss, "accepts_logits", False) and id(node) in run.logits:
                kwargs = {"logits": run.logits[id(node)], "activation": node.layer.activation}
                logits_outputs.add(i)
            if with_gradients:
                value, g = loss.value_and_gradient(yi, pred, sample_weight=sample_weight,
                                                   mask=mask, **kwargs)
                grads.append(g if weight == 1.0 else g * np.asarray(weight, g.dtype))
            else:
                value = loss(yi, pred, sample_weight=sample_weight, mask=mask, **kwargs)
            value = np.asarray(value)
            term = value if weight == 1.0 else value * value.dtype.type(weight)
            total = term if i == 0 else total + term          # in the loss's dtype
            parts[self.output_names[i]] = float(value)
        return total, parts, grads, logits_outputs

    def train_on_batch(self, x, y, sample_weight=None) -> "float | list[float]":
        """One optimisation step on one batch; returns the batch's loss (before the
        update), or ``[loss, *metrics]`` when the model has metrics (as Keras)."""
        self._require_compiled("train_on_batch")
        data_module.refuse_masked(sample_weight, "sample_weight")
        x, y = self._check_data(x, y)
        loss, y_pred, mask = self._train_step(x, y, sample_weight)
        return self._batch_result(loss, y, y_pred, mask, sample_weight)

    def _train_step(self, x, y, sample_weight=None):
        y_pred, mask = self._forward(x, training=True)
        total, parts, grads, logits_outputs = self._losses_and_gradients(
            y, self._run, sample_weight, with_gradients=True)
        self.backward(self._structure(grads), logits_outputs)
        total = total + self._add_regularization()
        self.optimizer.apply(*self._gradients_and_variables())
        self._last_parts = parts
        return float(total), y_pred, mask

    def _test_step(self, x, y, sample_weight=None):
        y_pred, mask = self._forward(x, training=False)
        total, parts, _, _ = self._losses_and_gradients(y, self._run, sample_weight,
                                                        with_gradients=False)
        total = total + sum(self.losses)
        self._last_parts = parts
        return float(total), y_pred, mask

    def test_on_batch(self, x, y, sample_weight=None):
        """The loss on one batch, without training (``training=False``)."""
        self._require_compiled("test_on_batch")
        data_module.refuse_masked(sample_weight, "sample_weight")
        x, y = self._check_data(x, y)
        return self._test_step(x, y, sample_weight)[0]

    def predict_on_batch(self, x):
        return self._forward(x, training=False)[0]

    def predict(self, x, batch_size: int | None = None, verbose: int = 0,
                steps: int | None = None):
        """The outputs for ``x`` (arrays, or batches from a dataset, PyDataset or
        generator: see :mod:`scratchrnn.data`), ``batch_size`` samples at a time
        (``training=False``: no dropout)."""
        batch_size = data_module.batch_size_argument(batch_size)
        source = self._source(x, None, batch_size, False, steps, "x")
        bar = _progress(source_length(source), verbose, "predict")
        outs = []
        for batch in source.epoch():
            outs.append(self._forward(batch[0], training=False)[0])
            bar.update(1)
        bar.close()
        if not outs:
            raise ValueError("`x` gave no batches to predict")
        return data_module.concatenate(outs)

    def evaluate(self, x, y=None, batch_size: int | None = None, verbose: int = 0,
                 return_dict: bool = False, steps: int | None = None, sample_weight=None):
        """The loss (and metrics) over ``x, y`` (or the batches of a dataset, PyDataset
        or generator ``x``): each batch's loss weighted by its size, as Keras's loss
        tracker does; metrics accumulated over every sample.  ``sample_weight``: one
        weight per sample (or per sample and step), with arrays only."""
        self._require_compiled("evaluate")
        source = self._source(x, y, data_module.batch_size_argument(batch_size), False, steps,
                              "x", sample_weight)
        logs = self._evaluate(source, None, verbose)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def fit(self, x, y=None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: list | None = None,
            validation_split: float = 0.0, validation_data=None, shuffle: bool = True,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None,
            sample_weight=None) -> "callbacks_module.History":
        """Train for ``epochs`` passes over the data; returns the :class:`History`.

        The data: arrays ``x, y`` (lists or dicts of arrays for several inputs or
        outputs), or ``x`` alone as a tf.data.Dataset, a PyDataset-like object or any
        iterable of ``(x, y)`` / ``(x, y, sample_weight)`` batches (see
        :mod:`scratchrnn.data`); ``validation_data`` likewise, or a tuple of arrays.
        ``verbose``: 0 silent, 1 (or "auto") a progress bar per epoch showing the running
        loss and metrics, 2 one line per epoch.  ``validation_split``: the fraction of the
        samples (arrays only), taken from the end before shuffling, held out for ``val_*``
        logs.  ``steps_per_epoch`` / ``validation_steps``: batches per epoch.
        ``sample_weight``: one weight per sample (or per sample and step) of arrays ``x,
        y``, cut into batches with them and split by ``validation_split`` as Keras does;
        a dataset or generator carries its weights in its batches instead.
        """
        self._require_compiled("fit")
        batch_size = data_module.batch_size_argument(batch_size)
        if data_module.is_stream(x):
            if validation_split:
                raise ValueError("`validation_split` needs arrays: with a dataset or "
                                 "generator, give `validation_data`")
            train = self._source(x, y, batch_size, shuffle, steps_per_epoch, "x",
                                 sample_weight)
        else:
            x, y = self._check_data(x, y)
            w = data_module.sample_weights(sample_weight, data_module.num_samples(x, "x"))
            x, y, split = data_module.split_validation(x, y, validation_split, None)
            if split is not None and w is not None:        # the weights split with the data
                n_train = data_module.num_samples(x, "x")
                w, split = w[:n_train], (*split, w[n_train:])
            validation_data = split if split is not None else validation_data
            train = self._source(x, y, batch_size, shuffle, steps_per_epoch, "x", w)
        val = None
        if validation_data is not None:
            if data_module.is_stream(validation_data):
                val = self._source(validation_data, None, batch_size, False,
                                   validation_steps, "validation_data")
            else:
                if not isinstance(validation_data, (tuple, list)) or len(
                        validation_data) not in (2, 3):
                    raise ValueError("`validation_data` must be a tuple (x_val, y_val) or "
                                     "(x_val, y_val, sample_weight), or a dataset")
                vx, vy = self._check_data(*validation_data[:2], argument="validation_data")
                vw = validation_data[2] if len(validation_data) == 3 else None
                val = self._source(vx, vy, batch_size, False, validation_steps,
                                   "validation_data", vw)
        return self._fit(train, batch_size, epochs, verbose, callbacks, val, shuffle,
                         initial_epoch)

    def _source(self, x, y, batch_size, shuffle, steps, argument, sample_weight=None):
        """The batches of ``x, y`` (and ``sample_weight``): arrays cut by
        :class:`~scratchrnn.data.ArrayBatches`, anything else read by
        :class:`~scratchrnn.data.BatchStream`."""
        if data_module.is_stream(x):
            if y is not None:
                raise ValueError(f"`y` must be None when `{argument}` is a dataset or "
                                 "generator: its batches hold the targets")
            if sample_weight is not None:
                raise ValueError(f"`sample_weight` must be None when `{argument}` is a "
                                 "dataset or generator: give (x, y, sample_weight) batches")
            return data_module.BatchStream(x, steps, argument)
        data_module.refuse_masked(x, argument)
        data_module.refuse_masked(y, "y")
        if y is None:
            n = data_module.num_samples(x, argument)
            return data_module.ArrayBatches((data_module.as_arrays(x), None), batch_size, False,
                                            steps=steps) if n else None
        if sample_weight is None:
            return data_module.ArrayBatches((x, y), batch_size, shuffle, self._rng, steps)
        w = data_module.sample_weights(sample_weight, data_module.num_samples(x, argument))
        return data_module.ArrayBatches((x, y, w), batch_size, shuffle, self._rng, steps)

    def _check_data(self, x, y, argument=None):
        data_module.refuse_masked(x, "x" if argument is None else argument,
                                  "" if argument is None else "[0]")
        data_module.refuse_masked(y, "y" if argument is None else argument,
                                  "" if argument is None else "[1]")
        n = data_module.num_samples(x, "x" if argument is None else f"{argument}[0]")
        if y is None:
            raise ValueError("`y` is required: the targets for `x`")
        m = data_module.num_samples(y, "y" if argument is None else f"{argument}[1]")
        if m != n:
            raise ValueError(f"`x` and `y` must hold the same number of samples, got "
                             f"{n} and {m}")
        return data_module.as_arrays(x), data_module.as_arrays(y)

    # --- the training loop ----------------------------------------------------------------

    def _target_and_weight(self, batch):
        """The target and sample weights of a batch ``(x, y[, sample_weight])``."""
        return batch[1], (batch[2] if len(batch) > 2 else None)

    def _evaluate(self, source, batch_size, verbose=0):
        """Loss and metrics over ``source`` (a batch source, or aligned arrays cut into
        ``batch_size`` batches): each batch's loss weighted by its size, as Keras's loss
        tracker does; metrics accumulated over every sample."""
        if not hasattr(source, "epoch"):
            source = data_module.ArrayBatches(source, batch_size)
        tracker = _WeightedMean()
        for metric in self.metrics:
            metric.reset_state()
        bar = _progress(source_length(source), verbose, "evaluate")
        for batch in source.epoch():
            y, weight = self._target_and_weight(batch)
            if y is None:
                raise ValueError("evaluating needs targets: batches of (x, y)")
            loss, y_pred, mask = self._test_step(*batch)
            tracker.update(loss, data_module.batch_size_of(batch[0]), self._loss_parts())
            self._update_metrics(y, y_pred, mask, weight)
            bar.update(1)
        bar.close()
        return self._logs(tracker)

    def _loss_parts(self):
        parts = getattr(self, "_last_parts", None)
        return parts if parts is not None and len(parts) > 1 else None

    def _fit(self, source, batch_size, epochs, verbose, callbacks, validation, shuffle,
             initial_epoch=0):
        """Keras's ``fit`` loop over ``source`` (a batch source, or aligned arrays with the
        target last, cut into ``batch_size`` batches); returns the
        :class:`~scratchrnn.callbacks.History`."""
        epochs = _checks.non_negative_int(epochs, "epochs")
        # Keras: epochs initial_epoch .. epochs - 1 run (none when initial_epoch >= epochs);
        # a negative or fractional initial_epoch is refused (Keras runs -3 .. epochs - 1).
        initial_epoch = _checks.non_negative_int(initial_epoch, "initial_epoch")
        self._initial_epoch = initial_epoch
        shuffle = _checks.boolean(shuffle, "shuffle")
        if not hasattr(source, "epoch"):
            source = data_module.ArrayBatches(source, batch_size, shuffle, self._rng)
        if validation is not None and not hasattr(validation, "epoch"):
            validation = data_module.ArrayBatches(validation, batch_size)
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto', got {verbose!r}")
        history = callbacks_module.History()
        history.interrupted = False
        hooks = list(callbacks or []) + [history]
        for cb in hooks:
            if not isinstance(cb, callbacks_module.Callback):
                raise TypeError(f"`callbacks` must hold scratchrnn.callbacks.Callback "
                                f"objects, got {type(cb).__name__}")
            cb.set_model(self)
        self.history, self.stop_training = history, False
        with _StopOnInterrupt() as interrupt:
            for cb in hooks:
                cb.on_train_begin()
            for epoch in range(initial_epoch, epochs):
                for cb in hooks:
                    cb.on_epoch_begin(epoch)
                logs = self._fit_epoch(source, hooks, epoch, epochs, verbose, interrupt)
                if interrupt.requested:
                    history.interrupted = True
                    if verbose:
                        print(f"Interrupted during epoch {epoch + 1}: stopped after the "
                              "current batch; the History holds the completed epochs")
                    break
                if logs is None:          # a one-shot generator ran dry
                    break
                if validation is not None:
                    val = self._evaluate(validation, batch_size)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                for cb in hooks:
                    cb.on_epoch_end(epoch, logs)
                if verbose == 2:
                    print(f"Epoch {epoch + 1}/{epochs} - " + _format_logs(logs))
                if self.stop_training:
                    break
            for cb in hooks:
                cb.on_train_end()
        return history

    def _fit_epoch(self, source, hooks, epoch, epochs, verbose, interrupt):
        tracker = _WeightedMean()
        for metric in self.metrics:
            metric.reset_state()
        bar = _progress(source_length(source), verbose == 1, f"Epoch {epoch + 1}/{epochs}")
        batches = 0
        for batch_index, batch in enumerate(source.epoch()):
            y, weight = self._target_and_weight(batch)
            if y is None:
                raise ValueError("training needs targets: batches of (x, y) or "
                                 "(x, y, sample_weight)")
            for cb in hooks:
                cb.on_train_batch_begin(batch_index)
            loss, y_pred, mask = self._train_step(*batch)
            tracker.update(loss, data_module.batch_size_of(batch[0]), self._loss_parts())
            self._update_metrics(y, y_pred, mask, weight)
            logs = self._logs(tracker)
            for cb in hooks:
                cb.on_train_batch_end(batch_index, logs)
            bar.set_postfix_str(_format_logs(logs), refresh=False)
            bar.update(1)
            batches += 1
            if interrupt.requested or self.stop_training:  # Keras checks after every batch
                break
        bar.close()
        if batches == 0:
            if getattr(source, "exhausted", False) or epoch > getattr(
                    self, "_initial_epoch", 0):
                import warnings
                warnings.warn("the data ran out: training stops (a generator is read once; "
                              "give steps_per_epoch, or a re-iterable source)", stacklevel=3)
                return None
            raise ValueError("the training data gave no batches")
        return self._logs(tracker)

    # --- summary ----------------------------------------------------------------------

    def summary(self, print_fn=print):
        """Print each layer's name, type, output shape, parameter count and, for a
        functional model, the tensors it reads ("Connected to"), then the totals (the
        counts Keras's ``summary`` prints)."""
        graph = self._require_graph("summary()")
        rows = []
        connected = self._connected_column
        for layer in self.layers:
            nodes = [n for n in graph.nodes if n.layer is layer]
            shapes = [_shape_of(n.output_structure) for n in nodes]
            shape = _format_shape(shapes[0] if len(shapes) == 1 else shapes)
            if shape.startswith("(") and shape.count("(") > 1:
                shape = f"[{shape}]"           # several outputs, as Keras lists them
            row = [f"{layer.name} ({type(layer).__name__})", shape, f"{layer.count_params():,}"]
            if connected:
                sources = [f"{t.node.layer.name}[{t.node.index}][{t.index}]"
                           for n in nodes for t in n.inputs]
                row.append(", ".join(sources) or "-")
            rows.append(row)
        header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if
                                                                 connected else [])
        self._print_table(header, rows, print_fn)

    def _print_table(self, header, rows, print_fn, counts=None):
        widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(len(header))]
        line = "".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()
        if counts is None:
            trainable = sum(w.size for w in self.trainable_weights)
            total = self.count_params()
        else:
            total, trainable = counts
        lines = [f'Model: "{self.name}"', "_" * len(line), line, "=" * len(line)]
        lines += ["".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines += ["=" * len(line), f"Total params: {total:,}",
                  f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}"]
        for text in lines:
            print_fn(text)

    # --- saving ---------------------------------------------------------------------------

    def get_config(self):
        """The graph as plain JSON types: each layer's config and, per call, what it read
        (what ``save`` writes beside the weights)."""
        graph = self._require_graph("get_config()")
        layers = []
        for layer in graph.layers:
            if isinstance(layer, InputLayer):
                layers.append({"class_name": "InputLayer", "config": layer.get_config(),
                               "nodes": []})
                continue
            spec = layers_module.serialize(layer)
            spec["nodes"] = [{"args": encode(n.args), "kwargs": encode(n.kwargs)}
                             for n in graph.nodes if n.layer is layer]
            layers.append(spec)
        return {"name": self.name, "seed": self.seed, "layers": layers,
                "inputs": encode(self._input_structure),
                "outputs": encode(self._output_structure)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model described by ``get_config()``: the layers made again, then called
        again in the order the graph was run."""
        made, tensors = {}, {}
        for spec in config["layers"]:
            if spec["class_name"] == "InputLayer":
                c = spec["config"]
                tensors[(c["name"], 0, 0)] = Input(batch_shape=c["batch_shape"],
                                                   dtype=c["dtype"], name=c["name"])
            else:
                made[spec["config"]["name"]] = (
                    layers_module.deserialize({"class_name": spec["class_name"],
                                               "config": spec["config"]}, custom_objects),
                    spec["nodes"])
        pending = [(name, i, node) for name, (_, nodes) in made.items()
                   for i, node in enumerate(nodes)]
        while pending:
            progress = False
            for item in list(pending):
                name, i, node = item
                try:
                    args = decode(node["args"], tensors)
                    kwargs = decode(node["kwargs"], tensors)
                except KeyError:
                    continue                 # an input of this call is not made yet
                out = made[name][0](*args, **kwargs)
                for j, t in enumerate(_flatten(out)):
                    tensors[(name, i, j)] = t
                pending.remove(item)
                progress = True
            if not progress:
                raise ValueError("the model's config describes calls whose inputs no call "
                                 "makes: " + ", ".join(n for n, _, _ in pending))
        return cls(decode(config["inputs"], tensors), decode(config["outputs"], tensors),
                   name=config["name"], seed=config.get("seed"))

    def save(self, path):
        """Write the architecture, the weights (and the optimizer's state, once compiled)
        to ``path`` as one ``.npz`` file, atomically: see :mod:`scratchrnn.saving`."""
        from .saving import save_model
        save_model(self, path)


def _gradients_for(model, layers):
    grads, variables = [], []
    for layer in layers:
        if not layer.weights:
            continue
        mine = model._weight_grads.get(id(layer)) if model._weight_grads is not None else None
        if mine is None:
            mine = [np.zeros_like(w) for w in layer.weights]
        for g, w, trainable in zip(mine, layer.weights, layer._trainable_flags()):
            if trainable:
                grads.append(g)
                variables.append(w)
    return grads, variables


def _dense_gradients(model, layers):
    if model._weight_grads is None:
        raise RuntimeError(f"{model.name}: get_gradients() needs a backward() first")
    out = []
    for layer in layers:
        mine = model._weight_grads.get(id(layer))
        if mine is None:
            mine = [np.zeros_like(w) for w in layer.weights]
        out += [g.dense() if hasattr(g, "dense") else np.array(g) for g in mine]
    return out


def _unique(layers):
    seen, out = set(), []
    for layer in layers:
        if id(layer) not in seen:
            seen.add(id(layer))
            out.append(layer)
    return out


def _default_name(model):
    from .layers.layer import snake_case
    return "functional" if type(model) is Model else snake_case(type(model).__name__)


def _unique_names(layers):
    """Give each layer of a model a name of its own (``lstm``, ``lstm_1``, ...), as Keras's
    global name counter does."""
    taken = set()
    for layer in layers:
        base, k = layer.name, 0
        while layer.name in taken:
            k += 1
            layer.name = f"{base}_{k}"
        taken.add(layer.name)


def _flat_tensors(structure, argument):
    flat = _flatten(structure)
    if not flat:
        raise ValueError(f"`{argument}` must hold at least one KerasTensor, got {structure!r}")
    for t in flat:
        if not isinstance(t, KerasTensor):
            raise TypeError(f"`{argument}` must hold KerasTensors (from sr.Input and layer "
                            f"calls on them), got {type(t).__name__}")
    return flat


def _check_input_value(value, tensor):
    """An input array checked against its Input's shape (known sizes only)."""
    if value is None:
        raise ValueError(f"no value given for the model input {tensor.name!r}")
    arr = np.asarray(data_module.refuse_masked(value, "inputs"))
    expected = tensor.shape
    if arr.ndim != len(expected) or any(e is not None and e != a
                                        for e, a in zip(expected, arr.shape)):
        last = "" if expected[-1] is None else f", {expected[-1]} features on the last axis"
        raise ValueError(f"`inputs` must have shape {_format_shape(expected)} (a "
                         f"{len(expected)}-D array{last}: the model input {tensor.name!r}), "
                         f"got shape {arr.shape}")
    return arr


def _per_output(value, names, argument, make):
    """One entry per output: ``value`` for all, or a list / dict by output name."""
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"`{argument}` names outputs {sorted(unknown)} that the model "
                             f"does not have; its outputs: {names}")
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"`{argument}` lacks the outputs {missing}")
        return [make(value[n]) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"`{argument}` must hold one entry per output ({len(names)}: "
                             f"{names}), got {len(value)}")
        return [make(v) for v in value]
    return [make(value)] * len(names) if argument != "loss" else [
        make(value) for _ in names]


def _shape_of(structure):
    if isinstance(structure, (list, tuple)):
        return [_shape_of(s) for s in structure]
    return structure.shape


class _WeightedMean:
    """Keras's loss tracker: the mean of batch values weighted by batch size."""

    def __init__(self):
        self.total = 0.0
        self.count = 0
        self.parts = {}

    def update(self, value, weight, parts=None):
        self.total += value * weight
        self.count += weight
        for name, v in (parts or {}).items():      # several outputs: each loss tracked too
            self.parts.setdefault(name, _WeightedMean()).update(v, weight)

    def result(self):
        return self.total / self.count if self.count else 0.0


class _StopOnInterrupt:
    """While active, Ctrl-C (SIGINT) sets ``requested`` instead of raising, so that
    ``fit`` can finish the current batch and stop cleanly; a second Ctrl-C raises
    KeyboardInterrupt as usual.  Outside the main thread, signals cannot be caught:
    it does nothing there."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def source_length(source):
    """The number of batches of ``source`` (None when unknown: the bar counts)."""
    length = getattr(source, "length", None)
    return length() if length is not None else len(source)


def _format_shape(shape):
    if isinstance(shape, list):
        return ", ".join(_format_shape(s) for s in shape)
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _format_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


def _progress(total, enabled, desc):
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="batch", disable=not enabled, leave=True,
                dynamic_ncols=True)


def load_model(path, compile=True, custom_objects=None):
    """The model saved at ``path`` by ``save`` (see :mod:`scratchrnn.saving`);
    ``custom_objects``: ``{class name: class}`` for layers of your own."""
    from .saving import load_model as load
    return load(path, compile=compile, custom_objects=custom_objects)


from .sequential import Sequential  # noqa: E402  (a Model: imported once Model exists)
