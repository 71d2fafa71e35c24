"""``Sequential``: a stack of layers, trained the way Keras trains it, step for step.

One training step (``train_on_batch``) is the whole algorithm, written out::

    y_pred, mask = forward(x, training=True)     each layer's __call__, masks handed on
    loss, g      = loss.value_and_gradient(y, y_pred, mask)
    backward(g)                                   each layer's backward, last to first
    optimizer.apply(gradients, weights)           in place, in get_weights order

Two details make it Keras's step rather than a similar one:

- **Masks.**  A mask made by ``Embedding(mask_zero=True)`` or ``Masking`` travels through
  every layer that supports masking (recurrent layers hand it on only with
  ``return_sequences``) and reaches the loss and the metrics, which then average over the
  unmasked steps only.
- **Logits.**  When the last layer is a ``Dense`` with a sigmoid or softmax activation and
  the loss is a crossentropy, Keras 3 computes the loss from the Dense layer's
  pre-activation, as if ``from_logits=True``: no clipping, and the gradient ``p - y``
  flows straight into the logits.  So does this model.  (``TimeDistributed(Dense(...))``
  hides the activation from Keras: there the clipped probabilities are used, here too.)

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
from . import layers as layers_module
from . import metrics as metrics_module
from .layers.core import Dense
from .layers.layer import Layer


class Input:
    """The shape (without the batch axis) and dtype of a model's input, as
    ``keras.Input(shape=..., dtype=...)``; it lets a model build before seeing data."""

    def __init__(self, shape, dtype="float32", name=None):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        for i, size in enumerate(shape):
            if size is not None:
                _checks.positive_int(size, f"shape[{i}]")
        self.shape = (None, *shape)
        if dtype not in ("float32", "float64", "int32", "int64"):
            raise ValueError("`dtype` must be one of float32, float64, int32, int64, "
                             f"got {dtype!r}")
        self.dtype = dtype
        self.name = name or "input"

    def __repr__(self):
        return f"Input(shape={self.shape[1:]}, dtype={self.dtype!r})"

    def get_config(self):
        return {"shape": list(self.shape[1:]), "dtype": self.dtype, "name": self.name}

class Model:
    """What every scratchrnn model shares: its weights, gathered over ``layers``;
    ``compile``; and Keras's training loop (``fit``'s epochs and batches, the loss
    tracker, metrics, validation, callbacks, the progress bar, a clean Ctrl-C).

    A subclass provides ``layers`` and two steps on one batch of aligned arrays whose
    last array is the target, each returning ``(loss, y_pred, mask)``:
    ``_train_step(*batch)`` (forward, loss, backward, optimizer update) and
    ``_test_step(*batch)`` (forward and loss only).
    """

    def __init__(self, name, seed=None):
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
        """The trainable layers' gradients (as the optimizer takes them) and weights."""
        grads, variables = [], []
        for layer in self.layers:
            if layer.trainable and layer.weights:
                grads += layer.optimizer_gradients()
                variables += layer.weights
        return grads, variables

    # --- compile ----------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, the loss and the metrics (names or objects, as Keras)."""
        if loss is None:
            raise ValueError("`loss` is required: a loss name (e.g. 'mse', "
                             "'binary_crossentropy') or a scratchrnn.losses.Loss")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"`metrics` must be a list of metric names or objects, got "
                            f"{metrics!r}")
        self.metrics = [metrics_module.get(m, loss=self.loss) for m in metrics or []]
        self.compiled = True

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"{self.name}: {what}() needs compile(optimizer, loss) first")

    def _logs(self, tracker):
        return {"loss": tracker.result(), **{m.name: float(m.result()) for m in self.metrics}}

    def _batch_result(self, loss, y, y_pred, mask, sample_weight=None):
        """What ``train_on_batch`` returns: the loss, or ``[loss, *metrics]`` (as Keras)."""
        if not self.metrics:
            return loss
        values = []
        for metric in self.metrics:
            metric.reset_state()
            metric.update_state(y, y_pred, sample_weight=sample_weight, mask=mask)
            values.append(float(metric.result()))
        return [loss, *values]

    # --- the training loop ----------------------------------------------------------------

    def _evaluate(self, data, batch_size, verbose=0):
        """Loss and metrics over ``data``: each batch's loss weighted by its size, as
        Keras's loss tracker does; metrics accumulated over every sample."""
        tracker = _WeightedMean()
        for metric in self.metrics:
            metric.reset_state()
        n = len(data[0])
        bar = _progress(-(-n // batch_size), verbose, "evaluate")
        for start in range(0, n, batch_size):
            batch = [a[start:start + batch_size] for a in data]
            loss, y_pred, mask = self._test_step(*batch)
            tracker.update(loss, len(batch[0]))
            for metric in self.metrics:
                metric.update_state(batch[-1], y_pred, mask=mask)
            bar.update(1)
        bar.close()
        return self._logs(tracker)

    def _fit(self, data, batch_size, epochs, verbose, callbacks, validation_data, shuffle,
             initial_epoch=0):
        """Keras's ``fit`` loop over ``data`` (aligned arrays, the target last); returns
        the :class:`~scratchrnn.callbacks.History`."""
        epochs = _checks.non_negative_int(epochs, "epochs")
        shuffle = _checks.boolean(shuffle, "shuffle")
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
                logs = self._fit_epoch(data, batch_size, shuffle, hooks, epoch, epochs,
                                       verbose, interrupt)
                if interrupt.requested:
                    history.interrupted = True
                    if verbose:
                        print(f"Interrupted during epoch {epoch + 1}: stopped after the "
                              "current batch; the History holds the completed epochs")
                    break
                if validation_data is not None:
                    val = self._evaluate(validation_data, batch_size)
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

    def _fit_epoch(self, data, batch_size, shuffle, hooks, epoch, epochs, verbose, interrupt):
        n = len(data[0])
        order = self._rng.permutation(n) if shuffle else np.arange(n)
        tracker = _WeightedMean()
        for metric in self.metrics:
            metric.reset_state()
        bar = _progress(-(-n // batch_size), verbose == 1, f"Epoch {epoch + 1}/{epochs}")
        for batch_index, start in enumerate(range(0, n, batch_size)):
            index = order[start:start + batch_size]
            batch = [a[index] for a in data]
            for cb in hooks:
                cb.on_train_batch_begin(batch_index)
            loss, y_pred, mask = self._train_step(*batch)
            tracker.update(loss, len(index))
            for metric in self.metrics:
                metric.update_state(batch[-1], y_pred, mask=mask)
            logs = self._logs(tracker)
            for cb in hooks:
                cb.on_train_batch_end(batch_index, logs)
            bar.set_postfix_str(_format_logs(logs), refresh=False)
            bar.update(1)
            if interrupt.requested or self.stop_training:  # Keras checks after every batch
                break
        bar.close()
        return self._logs(tracker)


class Sequential(Model):
    """A linear stack of layers.  ``Sequential([Input((T, F)), LSTM(32), Dense(1)])``.

    ``seed`` drives the shuffling of ``fit`` (layers keep their own seeds).
    """

    def __init__(self, layers=None, name="sequential", seed=None):
        super().__init__(name, seed)
        self.input = None
        self.layers = []
        for layer in layers or []:
            self.add(layer)

    def __repr__(self):
        return f"Sequential(name={self.name!r}, layers={[layer.name for layer in self.layers]})"

    # --- structure --------------------------------------------------------------------

    def add(self, layer):
        """Append ``layer`` (or set the input, for an :class:`Input`)."""
        if isinstance(layer, Input):
            if self.layers or self.input is not None:
                raise ValueError("an Input must come first, before any layer")
            self.input = layer
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
        taken = {existing.name for existing in self.layers}
        base, k = layer.name, 0
        while layer.name in taken:
            k += 1
            layer.name = f"{base}_{k}"
        self.layers.append(layer)
        if self.input is not None:
            self.build()

    @property
    def built(self):
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def build(self, input_shape=None):
        """Build every layer for inputs of ``input_shape`` (batch axis included, may be
        None), or for the model's :class:`Input`."""
        if input_shape is None:
            if self.input is None:
                raise RuntimeError("build() needs an input shape: give one, or start the "
                                   "model with an Input")
            input_shape = self.input.shape
        shape = tuple(input_shape)
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
        if self.input is None:
            self.input = Input(tuple(input_shape)[1:])

    def output_shapes(self):
        """Each layer's output shape, from the input's (None for the batch)."""
        self._require_built("output_shapes")
        shapes, shape = [], self.input.shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
            shapes.append(shape)
        return shapes

    def _require_built(self, what):
        if not self.built or self.input is None:
            raise RuntimeError(f"{self.name}: {what}() needs the model built: start it with an "
                               "Input, call build(input_shape), or call it on data first")

    # --- weights ----------------------------------------------------------------------

    def set_weights(self, weights):
        if not self.built:      # else an unbuilt model would expect "a list of 0 arrays"
            self._require_built("set_weights")
        super().set_weights(weights)

    def count_params(self):
        self._require_built("count_params")
        return super().count_params()

    def summary(self, print_fn=print):
        """Print each layer's name, type, output shape and parameter count, and the totals
        (the same counts as Keras's ``summary``)."""
        self._require_built("summary")
        rows = [(f"{layer.name} ({type(layer).__name__})", _format_shape(shape),
                 f"{layer.count_params():,}")
                for layer, shape in zip(self.layers, self.output_shapes())]
        header = ("Layer (type)", "Output Shape", "Param #")
        widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(3)]
        line = "".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()
        trainable = sum(w.size for w in self.trainable_weights)
        total = self.count_params()
        lines = [f'Model: "{self.name}"', "_" * len(line), line, "=" * len(line)]
        lines += ["".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines += ["=" * len(line), f"Total params: {total:,}",
                  f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}"]
        for text in lines:
            print_fn(text)

    # --- forward and backward -------------------------------------------------------------

    def __call__(self, x, training=False):
        return self._forward(x, training)[0]

    def _forward(self, x, training):
        if not self.layers:
            raise RuntimeError(f"{self.name} has no layers")
        if self.input is None:
            self.input = Input(np.shape(x)[1:], dtype=_dtype_name(x))
        mask = None
        for layer in self.layers:
            y = layer(x, mask=mask, training=training)
            mask = layer.compute_mask(x, mask)
            x = y
        return x, mask

    def _logits_activation(self):
        """``"sigmoid"`` or ``"softmax"`` when the loss reads the last Dense layer's logits,
        as Keras 3's crossentropies do for such an output (whatever ``from_logits`` says);
        else None."""
        last = self.layers[-1]
        if (getattr(self.loss, "accepts_logits", False) and isinstance(last, Dense)
                and last.activation in ("sigmoid", "softmax")):
            return last.activation
        return None

    def _backward(self, grad, from_logits):
        layers = self.layers
        if from_logits:
            grad = layers[-1].backward_logits(grad)
            layers = layers[:-1]
        for layer in reversed(layers):
            if grad is None:          # an Embedding's integer input has no gradient
                break
            grad = layer.backward(grad)

    # --- train ------------------------------------------------------------------------------

    def _logits_kwargs(self):
        """What the loss reads besides ``y_pred``: the last Dense layer's logits, when
        Keras's rule says so (see :meth:`_logits_activation`)."""
        activation = self._logits_activation()
        if activation is None:
            return {}
        return {"logits": self.layers[-1].logits, "activation": activation}

    def _loss_and_gradient(self, y, y_pred, mask, sample_weight=None):
        """``(loss, gradient, from_logits)``: the gradient is with respect to the last
        layer's logits when ``from_logits``, else with respect to ``y_pred``."""
        logits = self._logits_kwargs()
        value, grad = self.loss.value_and_gradient(y, y_pred, sample_weight=sample_weight,
                                                   mask=mask, **logits)
        return value, grad, bool(logits)

    def train_on_batch(self, x, y, sample_weight=None):
        """One optimisation step on one batch; returns the batch's loss (before the
        update), or ``[loss, *metrics]`` when the model has metrics (as Keras)."""
        self._require_compiled("train_on_batch")
        x, y = self._check_data(x, y)
        loss, y_pred, mask = self._train_step(x, y, sample_weight)
        return self._batch_result(loss, y, y_pred, mask, sample_weight)

    def _train_step(self, x, y, sample_weight=None):
        y_pred, mask = self._forward(x, training=True)
        loss, grad, from_logits = self._loss_and_gradient(y, y_pred, mask, sample_weight)
        self._backward(grad, from_logits)
        self.optimizer.apply(*self._gradients_and_variables())
        return float(loss), y_pred, mask

    def _test_step(self, x, y, sample_weight=None):
        y_pred, mask = self._forward(x, training=False)
        loss = self.loss(y, y_pred, sample_weight=sample_weight, mask=mask,
                         **self._logits_kwargs())
        return float(loss), y_pred, mask

    def test_on_batch(self, x, y, sample_weight=None):
        """The loss on one batch, without training (``training=False``)."""
        self._require_compiled("test_on_batch")
        x, y = self._check_data(x, y)
        return self._test_step(x, y, sample_weight)[0]

    def predict_on_batch(self, x):
        return self._forward(x, training=False)[0]

    def predict(self, x, batch_size=None, verbose=0):
        """The outputs for ``x``, computed ``batch_size`` samples at a time
        (``training=False``: no dropout)."""
        batch_size = _batch_size(batch_size)
        n = _num_samples(x, "x")
        bar = _progress(-(-n // batch_size), verbose, "predict")
        outs = []
        for start in range(0, n, batch_size):
            outs.append(self._forward(x[start:start + batch_size], training=False)[0])
            bar.update(1)
        bar.close()
        return np.concatenate(outs, axis=0)

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=False):
        """The loss (and metrics) over ``x, y``: each batch's loss weighted by its size,
        as Keras's loss tracker does; metrics accumulated over every sample."""
        self._require_compiled("evaluate")
        x, y = self._check_data(x, y)
        logs = self._evaluate((x, y), _batch_size(batch_size), verbose)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def fit(self, x, y, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0):
        """Train for ``epochs`` passes over ``x, y``; returns the :class:`History`.

        ``verbose``: 0 silent, 1 (or "auto") a progress bar per epoch showing the running
        loss and metrics, 2 one line per epoch.  ``validation_split``: the fraction of the
        samples, taken from the end before shuffling, held out for ``val_*`` logs.
        """
        self._require_compiled("fit")
        x, y = self._check_data(x, y)
        x, y, validation_data = _split_validation(x, y, validation_split, validation_data)
        return self._fit((x, y), _batch_size(batch_size), epochs, verbose, callbacks,
                         validation_data, shuffle, initial_epoch)

    def _check_data(self, x, y):
        n = _num_samples(x, "x")
        if y is None:
            raise ValueError("`y` is required: the targets for `x`")
        if _num_samples(y, "y") != n:
            raise ValueError(f"`x` and `y` must hold the same number of samples, got "
                             f"{n} and {len(y)}")
        return np.asarray(x), np.asarray(y)

    # --- saving ---------------------------------------------------------------------------

    def get_config(self):
        """The architecture as plain JSON types (what ``save`` writes beside the weights)."""
        return {"name": self.name, "seed": self.seed,
                "input": None if self.input is None else self.input.get_config(),
                "layers": [layers_module.serialize(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config):
        model = cls(name=config["name"], seed=config.get("seed"))
        if config.get("input") is not None:
            model.add(Input(**config["input"]))
        for spec in config["layers"]:
            model.add(layers_module.deserialize(spec))
        return model

    def save(self, path):
        """Write the architecture, the weights (and the optimizer's state, once compiled)
        to ``path`` as one ``.npz`` file, atomically: see :mod:`scratchrnn.saving`."""
        from .saving import save_model
        save_model(self, path)


class _WeightedMean:
    """Keras's loss tracker: the mean of batch values weighted by batch size."""

    def __init__(self):
        self.total = 0.0
        self.count = 0

    def update(self, value, weight):
        self.total += value * weight
        self.count += weight

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


def _split_validation(x, y, validation_split, validation_data):
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("`validation_data` must be a tuple (x_val, y_val)")
        vx, vy = validation_data
        if _num_samples(vx, "validation_data[0]") != _num_samples(vy, "validation_data[1]"):
            raise ValueError("`validation_data` x and y must hold the same number of samples")
        return x, y, (np.asarray(vx), np.asarray(vy))
    if not validation_split:
        return x, y, None
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"`validation_split` must be in [0, 1), got {validation_split}")
    split = int(np.floor(len(x) * (1.0 - validation_split)))
    if split in (0, len(x)):
        raise ValueError(f"`validation_split={validation_split}` leaves no samples on one "
                         f"side of {len(x)}")
    return x[:split], y[:split], (x[split:], y[split:])


def _batch_size(value):
    """``batch_size``: None is Keras's 32."""
    return 32 if value is None else _checks.positive_int(value, "batch_size")


def _num_samples(a, argument):
    if isinstance(a, (list, tuple)) or not hasattr(a, "__len__"):
        a = np.asarray(a)
    if np.ndim(a) == 0:
        raise ValueError(f"`{argument}` must be an array with a batch axis, got a scalar")
    if len(a) == 0:
        raise ValueError(f"`{argument}` must hold at least one sample, got none")
    return len(a)


def _dtype_name(x):
    kind = np.asarray(x).dtype
    return kind.name if kind.name in ("float32", "float64", "int32", "int64") else "float32"


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


def load_model(path):
    """The model saved at ``path`` by :meth:`Sequential.save` (see :mod:`scratchrnn.saving`)."""
    from .saving import load_model as load
    return load(path)
