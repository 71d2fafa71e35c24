"""Callbacks: hooks that ``fit`` calls around epochs and batches, as Keras's do.

``fit`` calls, in order: ``on_train_begin``; per epoch ``on_epoch_begin(epoch)``, per batch
``on_train_batch_begin(batch)`` / ``on_train_batch_end(batch, logs)``, then
``on_epoch_end(epoch, logs)`` with the epoch's means (``loss``, metrics, and ``val_*``
when there is validation data); finally ``on_train_end``.  Setting
``model.stop_training = True`` ends training after the current epoch.

The monitored-quantity callbacks follow Keras 3's rules: an improvement is
``current - min_delta < best`` (mode ``"min"``) or ``current + min_delta > best``
(``"max"``); ``"auto"`` minimises losses and errors and maximises accuracies.
"""

import math
import numbers
import os
import warnings

import numpy as np

from . import _checks

MODES = ("auto", "min", "max")


class Callback:
    """Base class: every hook does nothing."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"][k]`` is epoch k's mean loss;
    ``history.epoch`` lists the epochs run.  ``fit`` returns it."""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


def _maximised(monitor):
    """Whether ``"auto"`` mode maximises ``monitor`` (accuracies), as Keras's metric
    directions say; losses and errors are minimised."""
    name = monitor.removeprefix("val_")
    return "acc" in name


class MonitorCallback(Callback):
    """What EarlyStopping and ReduceLROnPlateau share: a monitored log entry, a mode and
    the improvement test."""

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0.0, baseline=None,
                 baseline_argument="baseline"):
        if not isinstance(monitor, str):
            raise TypeError(f"`monitor` must be the name of a logged quantity, got {monitor!r}")
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}, got {mode!r}")
        if not isinstance(min_delta, numbers.Real) or isinstance(min_delta, bool):
            raise TypeError(f"`min_delta` must be a number, got {min_delta!r}")
        if baseline is not None and (isinstance(baseline, bool)
                                     or not isinstance(baseline, numbers.Real)):
            raise TypeError(f"`{baseline_argument}` must be None or a number, "
                            f"got {baseline!r}")
        if baseline is not None and math.isnan(baseline):
            # NaN loses every comparison: as a reference it would mean "no reference"
            # in some checks and "never beaten" in others; None says what is meant.
            raise ValueError(f"`{baseline_argument}` must not be NaN: give None for no "
                             "threshold, or a number")
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.baseline = baseline
        self.best = baseline

    @property
    def maximise(self):
        return self.mode == "max" or (self.mode == "auto" and _maximised(self.monitor))

    def is_improvement(self, current, reference):
        """Whether ``current`` beats ``reference`` (None: nothing yet).  A NaN is never an
        improvement, not even the first value (Keras starts from ±inf, where NaN loses
        every comparison): it never becomes the "best" that later values must beat, and
        a NaN reference is no reference (a NaN ``baseline`` is refused at construction)."""
        if math.isnan(current):
            return False
        if reference is None or math.isnan(reference):
            return True
        if self.maximise:
            return current - self.min_delta > reference
        return current + self.min_delta < reference

    def monitored(self, logs):
        """The monitored value, or None (with a warning naming what is there)."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__} monitors {self.monitor!r}, which is not "
                          f"in the logs (available: {', '.join(logs or {}) or 'none'})",
                          stacklevel=3)
        return value


class EarlyStopping(MonitorCallback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Keras 3's rules).

    ``restore_best_weights``: at the end of training, set the weights of the best epoch
    (those of the first epoch when nothing ever improved).  ``start_from_epoch``: epochs
    before it are not monitored.  ``baseline``: the wait restarts only on an improvement
    that also beats it.  Interrupted training restores them too (see ``fit``).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta, baseline)
        self.patience = _checks.non_negative_int(patience, "patience")
        self.verbose = verbose
        self.restore_best_weights = _checks.boolean(restore_best_weights,
                                                    "restore_best_weights")
        self.start_from_epoch = _checks.non_negative_int(start_from_epoch, "start_from_epoch")

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self.monitored(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self.is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the optimizer's learning rate by ``factor`` (not below ``min_lr``) when
    ``monitor`` has not improved for ``patience`` epochs; then wait ``cooldown`` epochs
    before counting again.  Logs ``learning_rate`` at each epoch end, as Keras does."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__(monitor, mode, min_delta)
        if not isinstance(factor, numbers.Real) or not 0.0 < factor < 1.0:
            raise ValueError(f"`factor` must be in (0, 1), got {factor!r}")
        self.factor = float(factor)
        self.patience = _checks.non_negative_int(patience, "patience")
        self.cooldown = _checks.non_negative_int(cooldown, "cooldown")
        if not isinstance(min_lr, numbers.Real) or min_lr < 0:
            raise ValueError(f"`min_lr` must be a non-negative number, got {min_lr!r}")
        self.min_lr = float(min_lr)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = self.monitored(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and self._reduce(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, optimizer, epoch):
        old = float(optimizer.learning_rate)
        # Keras compares against min_lr in float32, the dtype it keeps the rate in.
        if not old > float(np.float32(self.min_lr)):
            return False
        new = max(old * self.factor, self.min_lr)
        optimizer.learning_rate = new
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        return True


class ModelCheckpoint(MonitorCallback):
    """Save the model at the end of each epoch (``model.save``, atomic), or with
    ``save_best_only`` only when ``monitor`` improved.  ``filepath`` may hold Keras's
    placeholders, ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"`` (epochs counted from 1)."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 mode="auto", initial_value_threshold=None):
        super().__init__(monitor, mode, 0.0, initial_value_threshold,
                         baseline_argument="initial_value_threshold")
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"`filepath` must be a string or os.PathLike, got {filepath!r}")
        self.filepath = filepath
        self.verbose = verbose
        self.save_best_only = _checks.boolean(save_best_only, "save_best_only")
        self.saved = []

    def on_train_begin(self, logs=None):
        self.best = self.baseline

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = str(self.filepath).format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = self.monitored(logs)
            if current is None or not self.is_improvement(current, self.best):
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                      f"{current}, saving model to {path}")
            self.best = current
        self.model.save(path)
        self.saved.append(path)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss, terminating training")
            self.model.stop_training = True
