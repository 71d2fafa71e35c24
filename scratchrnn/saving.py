"""Saving and loading models: one ``.npz`` file, no pickle, written atomically.

The file is a NumPy ``.npz`` archive holding::

    config          the architecture and compile settings, as a JSON string
    weight_00000..  the model's get_weights(), in order
    optimizer_...   the optimizer's state (slots and iteration count), once compiled
    sha256          a digest of everything above

Three promises:

- **Atomic.**  ``save`` writes to a temporary file beside the target, flushes it to disk
  and renames it over the target (``os.replace``, atomic on POSIX and Windows).  A save
  killed half-way leaves the previous checkpoint as it was.
- **No code execution.**  ``load_model`` reads with ``allow_pickle=False``, so a file can
  only hold arrays, and builds layers from a fixed list of known classes.
- **Nothing silently wrong.**  A truncated file, a changed byte (the digest), an unknown
  layer class or a weight of the wrong shape is a ``ValueError`` that says which.
"""

import hashlib
import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT = "scratchrnn.model/1"


def _digest(config_text, arrays):
    """SHA-256 over the config and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256(config_text.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot save a config holding {type(value).__name__} {value!r:.80}: "
                    "only names, numbers and lists can be saved (use initialiser names, "
                    "not callables)")


def model_state(model):
    """``(config text, {name: array})``: everything ``save`` writes but the digest."""
    config = {"format": FORMAT, "class_name": type(model).__name__,
              "config": model.get_config(), "compile": None}
    arrays = {f"weight_{i:05d}": w for i, w in enumerate(model.get_weights())}
    if model.compiled:
        from . import losses, optimizers
        several = isinstance(model.loss, list)
        per_output = getattr(model, "_output_metrics", None)
        config["compile"] = {
            "optimizer": optimizers.serialize(model.optimizer),
            "loss": ([losses.serialize(loss) for loss in model.loss] if several
                     else losses.serialize(model.loss)),
            "metrics": ([[m.base_name for m in ms] for ms in per_output] if several
                        else [m.name for m in model.metrics])}
        if several:
            config["compile"]["loss_weights"] = list(model._loss_weights)
        state = model.optimizer.get_state()
        config["compile"]["optimizer_state"] = sorted(state)
        arrays.update({f"optimizer_{key}": np.asarray(v) for key, v in state.items()})
    return json.dumps(config, default=_json_default, sort_keys=True), arrays


def save_model(model, path):
    """Write ``model`` to ``path`` (see the module docstring); the file appears complete
    or not at all."""
    path = _path(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):    # else the error would name the temporary file
        raise FileNotFoundError(f"cannot save to {path}: the directory {directory} does "
                                "not exist")
    config_text, arrays = model_state(model)
    payload = {**arrays, "config": np.array(config_text),
               "sha256": np.array(_digest(config_text, arrays))}
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a string or os.PathLike, got {path!r} of type "
                        f"{type(path).__name__}")
    return os.fspath(path)


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_checkpoint(path):
    """``(config dict, {name: array})`` from ``path``, verified; a clear ValueError for
    anything that is not an intact scratchrnn checkpoint."""
    path = _path(path)
    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        # np.load would try its other formats and report pickled data, which misleads.
        raise ValueError(f"{path} is not an intact scratchrnn checkpoint (damaged, truncated "
                         "or not an .npz file): it is not a zip archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except ValueError as err:           # an object array would need pickle
        raise ValueError(f"{path}: refused to load: {err}") from err
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"{path} is not an intact scratchrnn checkpoint (damaged, truncated "
                         f"or not an .npz file): {err}") from err
    if "config" not in contents or "sha256" not in contents:
        raise ValueError(f"{path} is not a scratchrnn checkpoint: it lacks 'config' and "
                         "'sha256' (found: " + ", ".join(sorted(contents)[:8]) + ")")
    config_text = str(contents.pop("config"))
    digest = str(contents.pop("sha256"))
    if _digest(config_text, contents) != digest:
        raise ValueError(f"{path} has been altered or damaged: its contents do not match "
                         "the SHA-256 digest written with them")
    config = json.loads(config_text)
    if config.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown checkpoint format {config.get('format')!r}, "
                         f"expected {FORMAT!r}")
    return config, contents


def _model_classes():
    from .models import Model, Sequential
    from .seq2seq import Seq2Seq
    return {cls.__name__: cls for cls in (Model, Sequential, Seq2Seq)}


def load_model(path, compile=True, custom_objects=None):
    """The model saved at ``path``: same architecture, same weights, and (``compile``)
    the same optimizer, loss, metrics and optimizer state, so training resumes exactly.
    ``custom_objects``: ``{class name: class}`` for layers of your own, as in Keras."""
    config, arrays = read_checkpoint(path)
    classes = _model_classes()
    if config["class_name"] not in classes:
        raise ValueError(f"{path}: unknown model class {config['class_name']!r}; known: "
                         f"{sorted(classes)}")
    cls = classes[config["class_name"]]
    if cls.__name__ == "Seq2Seq":
        model = cls.from_config(config["config"])
    else:
        try:
            model = cls.from_config(config["config"], custom_objects=custom_objects)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
    if not getattr(model, "built", True):
        model.build()
    weights = [arrays[k] for k in sorted(k for k in arrays if k.startswith("weight_"))]
    model.set_weights(weights)
    spec = config.get("compile")
    if compile and spec is not None:
        from . import losses, optimizers
        loss = spec["loss"]
        loss = ([losses.deserialize(x) for x in loss] if isinstance(loss, list)
                else losses.deserialize(loss))
        extra = {"loss_weights": spec["loss_weights"]} if "loss_weights" in spec else {}
        model.compile(optimizer=optimizers.deserialize(spec["optimizer"]), loss=loss,
                      metrics=spec["metrics"], **extra)
        state = {key: arrays[f"optimizer_{key}"] for key in spec["optimizer_state"]}
        if state:
            model.optimizer.set_state(state)
    return model
