"""Saving and loading models: one ``.npz`` file, no pickle, written atomically.

The file is a zip archive of ``.npy`` members (NumPy's ``.npz``: ``np.load`` reads it)::

    config          the architecture, the compile settings and the state of every random
                    generator (the model's shuffling and each layer's dropout), as JSON
    weight_00000..  the model's get_weights(), in order
    optimizer_...   the optimizer's state (slots and iteration count), once compiled
    sha256          a SHA-256 digest of the raw bytes of every member above

Four promises:

- **Atomic.**  ``save`` writes to a temporary file beside the target (``.NAME.xxxxxxxx.tmp``),
  flushes it to disk and renames it over the target (``os.replace``, atomic on POSIX and
  Windows).  A save killed half-way leaves the previous checkpoint as it was; the next save
  of the same target removes the temporary file it left.  A target that is a symbolic link
  is followed: the file it points to is replaced, the link stays.
- **No code execution.**  ``load_model`` never unpickles and builds layers from a fixed
  list of known classes (plus ``custom_objects``), after checking the config's structure:
  known keys for each class, JSON types, a nesting depth of at most 64.
- **Nothing silently wrong.**  Anything but an intact checkpoint is a ``ValueError`` that
  names the file: the archive's structure and each member's size are checked against the
  file's size before anything is read, the digest is checked before any member is parsed,
  and each member must be exactly the array its header describes.
- **Exact resume.**  The checkpoint holds the optimizer's state and every random
  generator's state, so ``fit`` N epochs, save, load, ``fit`` M more gives the same bits as
  N + M epochs straight (same seed, same backend and thread count).
"""

import hashlib
import inspect
import io
import json
import math
import os
import re
import stat
import tempfile
import time
import zipfile

import numpy as np

FORMAT = "scratchrnn.model/2"
#: Formats this version reads: /1 (a digest over the parsed arrays) and /2 (over raw bytes).
FORMATS = ("scratchrnn.model/1", FORMAT)
_RAW_DIGEST = "raw-sha256:"
_MAX_DEPTH = 64                          # the config's JSON nesting
_MAX_MEMBERS = 1_000_000
_MEMBER_NAME = re.compile(r"[A-Za-z0-9_]{1,200}\.npy")
_WEIGHT_NAME = re.compile(r"weight_\d{5,}")
_TEMP_RANDOM = r"[a-z0-9_]{8}"           # tempfile.mkstemp's random part


# --- digests ---------------------------------------------------------------------------------

def _raw_digest(members):
    """Format 2: SHA-256 over each member's name, length and raw ``.npy`` bytes."""
    h = hashlib.sha256(FORMAT.encode() + b"\0")
    for name in sorted(members):
        _hash_member(h, name, members[name])
    return _RAW_DIGEST + h.hexdigest()


def _hash_member(h, name, data):
    h.update(f"{name}|{len(data)}|".encode())
    h.update(data)


def _digest(config_text, arrays):
    """Format 1 (read only): SHA-256 over the config and every parsed array's name, dtype,
    shape and bytes."""
    h = hashlib.sha256(config_text.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# --- what a checkpoint holds -------------------------------------------------------------------

def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot save a config holding {type(value).__name__} {value!r:.80}: "
                    "only names, numbers and lists can be saved (use initialiser names, "
                    "not callables)")


def _generators(model):
    """``[(path, Generator)]``: the random generator of each layer and sub-layer (cells,
    wrapped layers), depth first in the model's layer order, each layer once."""
    found, seen = [], set()

    def visit(layer, path):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        rng = layer.__dict__.get("_rng")
        if isinstance(rng, np.random.Generator):
            found.append((path, rng))
        subs = getattr(layer, "layers", None)
        for sub in (subs if isinstance(subs, (list, tuple)) else []):
            visit(sub, f"{path}/{getattr(sub, 'name', type(sub).__name__)}")

    for layer in model.layers:
        visit(layer, getattr(layer, "name", type(layer).__name__))
    return found


def rng_state(model):
    """The state of every random generator of ``model`` (JSON types): the model's own
    (``fit``'s shuffling, Seq2Seq's scheduled sampling) and each layer's (dropout)."""
    own = getattr(model, "_rng", None)
    return {"model": own.bit_generator.state if isinstance(own, np.random.Generator) else None,
            "layers": [[path, rng.bit_generator.state] for path, rng in _generators(model)]}


def set_rng_state(model, state):
    """Restore what :func:`rng_state` returned (a ValueError when it does not fit)."""
    generators = _generators(model)
    saved = state.get("layers", [])
    if [p for p, _ in generators] != [entry[0] for entry in saved]:
        raise ValueError("its random generator states are for the layers "
                         f"{[entry[0] for entry in saved]}, but the model it describes has "
                         f"generators in {[p for p, _ in generators]}")
    pairs = [(rng, s) for (_, rng), (_, s) in zip(generators, saved)]
    if state.get("model") is not None:
        pairs.append((model._rng, state["model"]))
    for rng, s in pairs:
        try:
            rng.bit_generator.state = s
        except (TypeError, ValueError, KeyError, OverflowError) as err:
            raise ValueError(f"a random generator state that numpy refuses ({err})") from err


def model_state(model):
    """``(config text, {name: array})``: everything ``save`` writes but the digest."""
    config = {"format": FORMAT, "class_name": type(model).__name__,
              "config": model.get_config(), "compile": None, "rng": rng_state(model)}
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


# --- saving ------------------------------------------------------------------------------------

def _npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _write_archive(f, config_text, arrays):
    """The zip (stored members, fixed timestamps: the same model gives the same bytes),
    one member at a time, the digest last."""
    h = hashlib.sha256(FORMAT.encode() + b"\0")
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
        members = {"config.npy": lambda: np.array(config_text)}
        members.update({f"{name}.npy": (lambda a=a: a) for name, a in arrays.items()})
        for name in sorted(members):
            data = _npy_bytes(members[name]())
            _hash_member(h, name[:-4], data)            # as read back: no ".npy"
            _write_member(archive, name, data)
        _write_member(archive, "sha256.npy", _npy_bytes(np.array(_RAW_DIGEST + h.hexdigest())))


def _write_member(archive, name, data):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def save_model(model, path):
    """Write ``model`` to ``path`` (see the module docstring); the file appears complete
    or not at all.  Errors name ``path``, never the temporary file."""
    path = _path(path)
    target = os.path.realpath(path)          # through symbolic links: the link stays
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):    # else the error would name the temporary file
        shown = os.path.dirname(os.path.abspath(path))
        where = shown if target == os.path.abspath(path) else f"{directory} (via the link)"
        raise FileNotFoundError(f"cannot save to {path}: the directory {where} does "
                                "not exist")
    config_text, arrays = model_state(model)
    started = time.time()
    _remove_stale_temporaries(target, started)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                                   dir=directory)
        with os.fdopen(fd, "wb") as f:
            _lock(f)                         # tells other saves' cleanup: in use
            _write_archive(f, config_text, arrays)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, target)
            tmp = None
    except OSError as err:
        _discard(tmp)
        raise _naming(err, path) from err
    except BaseException:
        _discard(tmp)
        raise
    _fsync_directory(directory)


def _discard(tmp):
    if tmp is not None:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _naming(err, path):
    """``err`` again, naming the destination ``path`` rather than a temporary file."""
    if err.errno is not None:
        return type(err)(err.errno, f"{err.strerror} (saving to {path})", path)
    return type(err)(f"cannot save to {path}: {err}")


def _lock(f):
    try:
        import fcntl
    except ImportError:                      # Windows: an open file cannot be removed anyway
        return
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
    except OSError:
        pass


def _remove_stale_temporaries(target, started):
    """Remove the temporary files that earlier saves of ``target`` left when they were
    killed: our name pattern only, regular files only, last written before this save
    started and (POSIX) not locked by a save still writing."""
    directory, base = os.path.split(target)
    pattern = re.compile(re.escape(f".{base}.") + _TEMP_RANDOM + re.escape(".tmp"))
    try:
        names = [n for n in os.listdir(directory) if pattern.fullmatch(n)]
    except OSError:
        return
    for name in names:
        candidate = os.path.join(directory, name)
        try:
            info = os.lstat(candidate)
            if not stat.S_ISREG(info.st_mode) or info.st_mtime >= started:
                continue
            _remove_if_unlocked(candidate, info)
        except OSError:
            continue


def _remove_if_unlocked(candidate, info):
    try:
        import fcntl
    except ImportError:
        os.unlink(candidate)
        return
    fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return                           # a save is writing it
        same = os.fstat(fd)
        if (same.st_ino, same.st_dev) == (info.st_ino, info.st_dev):
            os.unlink(candidate)
    finally:
        os.close(fd)


def _path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a string or os.PathLike, got {path!r} of type "
                        f"{type(path).__name__}")
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return path


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


# --- reading ---------------------------------------------------------------------------------

class _Damaged(Exception):
    """The file is not an intact checkpoint (the reason is the message)."""


class _BoundedFile:
    """A read-only file that never reads past ``size``: zipfile asks for lengths it read
    from the file itself, and a damaged length must not become a huge allocation."""

    def __init__(self, f, size):
        self._f = f
        self._size = size
        self.name = getattr(f, "name", None)

    def read(self, n=-1):
        remaining = max(0, self._size - self._f.tell())
        n = remaining if n is None or n < 0 else min(n, remaining)
        return self._f.read(n)

    def seek(self, offset, whence=0):
        return self._f.seek(offset, whence)

    def tell(self):
        return self._f.tell()

    def seekable(self):
        return True


def _read_members(f, size):
    """``{member name: raw bytes}``, every size checked against the file's before any
    read; any fault of the archive is a :class:`_Damaged`."""
    if not zipfile.is_zipfile(f):
        raise _Damaged("it is not a zip archive")
    f.seek(0)
    try:
        with zipfile.ZipFile(_BoundedFile(f, size)) as archive:
            infos = archive.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise _Damaged(f"it lists {len(infos)} members")
            names = [info.filename for info in infos]
            if len(set(names)) != len(names):
                raise _Damaged("a member name appears twice")
            total = 0
            for info in infos:
                name = info.filename
                if not _MEMBER_NAME.fullmatch(name):
                    raise _Damaged(f"unexpected member name {name!r}")
                if info.flag_bits & 0x41:
                    raise _Damaged(f"member {name!r} is marked as encrypted")
                if info.compress_type != zipfile.ZIP_STORED:
                    raise _Damaged(f"member {name!r} uses compression method "
                                   f"{info.compress_type}; checkpoints store members "
                                   "uncompressed")
                if (info.file_size != info.compress_size or info.file_size > size
                        or info.header_offset + info.compress_size > size):
                    raise _Damaged(f"member {name!r} claims {info.file_size} bytes in a "
                                   f"file of {size}")
                total += info.file_size
            if total > size:
                raise _Damaged(f"its members claim {total} bytes in a file of {size}")
            members = {}
            for info in infos:
                with archive.open(info) as member:
                    data = member.read(info.file_size + 1)
                if len(data) != info.file_size:
                    raise _Damaged(f"member {info.filename!r} holds {len(data)} bytes, "
                                   f"its entry says {info.file_size}")
                members[info.filename[:-4]] = data
            return members
    except _Damaged:
        raise
    except zipfile.BadZipFile as err:
        raise _Damaged(str(err)) from err
    except Exception as err:       # zlib, struct, unicode, NotImplementedError, ...: damage
        raise _Damaged(f"{type(err).__name__}: {err}") from err


def _parse_npy(name, data):
    """The array in one member's raw ``.npy`` bytes: a plain dtype (numbers, booleans or
    text), and exactly the bytes its header promises (checked before any allocation)."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, 10000)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, 10000)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as err:
        raise _Damaged(f"member {name!r}: not a valid .npy header ({err})") from err
    if (dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None
            or dtype.kind not in "biufcU"):
        raise _Damaged(f"member {name!r}: refused dtype {dtype} (checkpoints hold numbers "
                       "and text only; nothing that needs pickle)")
    if not all(type(n) is int and n >= 0 for n in shape):
        raise _Damaged(f"member {name!r}: invalid shape {shape!r}")
    count = math.prod(shape)
    offset = f.tell()
    if count * dtype.itemsize != len(data) - offset:
        raise _Damaged(f"member {name!r}: its header promises shape {shape} of {dtype} "
                       f"({count * dtype.itemsize} bytes), it holds {len(data) - offset}")
    array = np.frombuffer(data, dtype, count, offset)
    array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
    return array.astype(dtype.newbyteorder("="), order="C", copy=True)


def _text(name, array):
    if array.dtype.kind != "U" or array.shape != ():
        raise _Damaged(f"member {name!r} must be one string, got an array of {array.dtype} "
                       f"and shape {array.shape}")
    return str(array)


def read_checkpoint(path):
    """``(config dict, {name: array})`` from ``path``, verified; a ValueError naming the
    file for anything that is not an intact scratchrnn checkpoint."""
    path = _path(path)
    if not stat.S_ISREG(os.stat(path).st_mode):     # FileNotFoundError as it is
        # (and a FIFO would block the open below)
        raise ValueError(f"{path} is not a scratchrnn checkpoint: it is not a regular file")
    with open(path, "rb") as f:          # PermissionError as it is
        try:
            size = os.fstat(f.fileno()).st_size
            members = _read_members(f, size)
        except _Damaged as err:
            raise ValueError(f"{path} is not an intact scratchrnn checkpoint (damaged, "
                             f"truncated or not an .npz file): {err}") from None
        except OSError as err:
            raise ValueError(f"{path} could not be read: {err}") from err
    try:
        return _verified(path, members)
    except _Damaged as err:
        raise ValueError(f"{path} is not an intact scratchrnn checkpoint (damaged, truncated "
                         f"or not an .npz file): {err}") from None


def _verified(path, members):
    if "config" not in members or "sha256" not in members:
        raise ValueError(f"{path} is not a scratchrnn checkpoint: it lacks 'config' and "
                         "'sha256' (found: " + ", ".join(sorted(members)[:8]) + ")")
    digest_bytes = members.pop("sha256")
    if len(digest_bytes) > 4096:
        raise _Damaged(f"member 'sha256' holds {len(digest_bytes)} bytes")
    digest = _text("sha256", _parse_npy("sha256", digest_bytes))
    altered = ValueError(f"{path} has been altered or damaged: its contents do not match "
                         "the SHA-256 digest written with them")
    raw = digest.startswith(_RAW_DIGEST)
    if raw and _raw_digest(members) != digest:       # before parsing anything
        raise altered
    arrays = {name: _parse_npy(name, data) for name, data in members.items()}
    config_text = _text("config", arrays.pop("config"))
    if not raw and _digest(config_text, arrays) != digest:
        raise altered
    try:
        config = _parse_config(config_text)
    except _Invalid as err:
        raise ValueError(f"{path}: its config is not one scratchrnn writes: {err}") from None
    expected = FORMAT if raw else FORMATS[0]
    if config.get("format") != expected:
        raise ValueError(f"{path}: unknown checkpoint format {config.get('format')!r}, "
                         f"expected {expected!r}")
    return config, arrays


# --- the config's structure ------------------------------------------------------------------

class _Invalid(Exception):
    """The config is not one scratchrnn writes (the reason is the message)."""


def _json_depth(text):
    """The deepest nesting of ``[`` / ``{`` in JSON ``text`` (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _unique_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Invalid("a key appears twice in one object")
    return dict(pairs)


def _parse_config(text):
    if _json_depth(text) > _MAX_DEPTH:
        raise _Invalid(f"it nests deeper than {_MAX_DEPTH} levels")
    try:
        config = json.loads(text, object_pairs_hook=_unique_keys)
    except _Invalid:
        raise
    except (ValueError, RecursionError) as err:
        raise _Invalid(f"not valid JSON ({err})") from None
    if not isinstance(config, dict):
        raise _Invalid(f"it is a JSON {type(config).__name__}, not an object")
    return config


def _keys(value, allowed, where, required=()):
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be an object, got {_kind(value)}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise _Invalid(f"{where} has unknown keys {unknown}; allowed: {sorted(allowed)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise _Invalid(f"{where} lacks {missing}")


def _kind(value):
    return "null" if value is None else type(value).__name__


def _is(value, types, where):
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in (
            types if isinstance(types, tuple) else (types,))):
        raise _Invalid(f"{where} has the wrong type: {_kind(value)}")


def _parameters(cls):
    """The keyword arguments ``cls`` and its bases accept (what a config may name)."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            signature = inspect.signature(init)
        except (TypeError, ValueError):
            continue
        names |= {p.name for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    from .layers.layer import Layer
    if issubclass(cls, Layer):
        names |= {"input_shape", "input_dim"}
    return names - {"self"}


def _registry(custom_objects):
    from . import initializers, losses, optimizers, regularizers, schedules
    from . import layers as layers_module
    from .layers.cells import _CELL_CLASSES
    nested = {**initializers.CLASSES, **regularizers.CLASSES, **schedules.SCHEDULES,
              **_CELL_CLASSES, **layers_module.CLASSES, **(custom_objects or {})}
    return {"layer": {**layers_module.CLASSES, **(custom_objects or {})},
            "nested": nested,
            "optimizer": {name.lower(): cls for name, cls in optimizers.OPTIMIZERS.items()},
            "loss": {cls.__name__: cls for cls in losses.CLASSES}}


def _spec(spec, classes, where, registry, extra=(), what="class"):
    """A ``{"class_name", "config"}`` object: a known class and only its arguments."""
    _keys(spec, {"class_name", "config", *extra}, where, ("class_name",))
    name = spec["class_name"]
    _is(name, str, f"{where}.class_name")
    key = name.lower() if what == "optimizer" else name
    if key not in classes:
        if what == "layer":
            raise _Invalid(f"unknown layer class {name!r}; known: "
                           f"{sorted(registry['layer'])} (a layer of your own: pass "
                           f"custom_objects={{{name!r}: cls}})")
        raise _Invalid(f"{where}: unknown {what} {name!r}")
    config = spec.get("config", {})
    _keys(config, _parameters(classes[key]), f"{where}.config ({name})")
    for k, v in config.items():
        _values(v, f"{where}.config.{k}", registry)


def _values(value, where, registry, depth=0):
    """Plain JSON values; an object with a ``class_name`` is a nested spec."""
    if depth > _MAX_DEPTH:
        raise _Invalid(f"{where} nests deeper than {_MAX_DEPTH} levels")
    if isinstance(value, dict):
        if "class_name" in value:
            _spec(value, registry["nested"], where, registry)
            return
        for k, v in value.items():
            _values(v, f"{where}.{k}", registry, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _values(v, f"{where}[{i}]", registry, depth + 1)
    elif not isinstance(value, (str, int, float, bool, type(None))):
        raise _Invalid(f"{where} has the wrong type: {_kind(value)}")


def _input_spec(value, where):
    _keys(value, {"batch_shape", "shape", "dtype", "name"}, where, ("dtype",))
    shape = value.get("batch_shape", value.get("shape"))
    _is(shape, list, f"{where}.batch_shape")
    if len(shape) > 16 or not all(s is None or type(s) is int for s in shape):
        raise _Invalid(f"{where}.batch_shape must be a short list of integers or nulls")
    _is(value["dtype"], str, f"{where}.dtype")
    if "name" in value:
        _is(value["name"], str, f"{where}.name")


def check_config(config, custom_objects=None):
    """Refuse (with :class:`_Invalid`) any config ``load_model`` would not get from
    ``save``: unknown keys, classes or constructor arguments, wrong JSON types."""
    registry = _registry(custom_objects)
    _keys(config, {"format", "class_name", "config", "compile", "rng"}, "the config",
          ("format", "class_name", "config"))
    name = config["class_name"]
    _is(name, str, "class_name")
    model = config["config"]
    if name == "Sequential":
        _keys(model, {"name", "seed", "input", "layers"}, "config", ("layers",))
        if model.get("input") is not None:
            _input_spec(model["input"], "config.input")
        _is(model["layers"], list, "config.layers")
        for i, layer in enumerate(model["layers"]):
            _spec(layer, registry["layer"], f"config.layers[{i}]", registry, what="layer")
    elif name == "Model":
        _keys(model, {"name", "seed", "layers", "inputs", "outputs"}, "config",
              ("layers", "inputs", "outputs"))
        _is(model["layers"], list, "config.layers")
        for i, layer in enumerate(model["layers"]):
            where = f"config.layers[{i}]"
            if isinstance(layer, dict) and layer.get("class_name") == "InputLayer":
                _keys(layer, {"class_name", "config", "nodes"}, where, ("config",))
                _input_spec(layer["config"], f"{where}.config")
                _keys(layer["config"], {"batch_shape", "dtype", "name"}, f"{where}.config",
                      ("batch_shape", "name"))
                continue
            _spec(layer, registry["layer"], where, registry, extra=("nodes",), what="layer")
            _is(layer.get("nodes", []), list, f"{where}.nodes")
            for j, node in enumerate(layer.get("nodes", [])):
                _keys(node, {"args", "kwargs"}, f"{where}.nodes[{j}]", ("args", "kwargs"))
                _values(node, f"{where}.nodes[{j}]", registry)
        _values(model["inputs"], "config.inputs", registry)
        _values(model["outputs"], "config.outputs", registry)
    elif name == "Seq2Seq":
        from .seq2seq import Seq2Seq
        _keys(model, _parameters(Seq2Seq), "config")
        _values(model, "config", registry)
    else:
        raise _Invalid(f"unknown model class {name!r}; known: ['Model', 'Seq2Seq', "
                       "'Sequential']")
    if model.get("name") is not None:
        _is(model["name"], str, "config.name")
    if model.get("seed") is not None:
        _is(model["seed"], int, "config.seed")
    spec = config.get("compile")
    if spec is not None:
        _keys(spec, {"optimizer", "loss", "metrics", "optimizer_state", "loss_weights"},
              "compile", ("optimizer", "loss", "optimizer_state"))
        _spec(spec["optimizer"], registry["optimizer"], "compile.optimizer", registry,
              what="optimizer")
        losses_ = spec["loss"] if isinstance(spec["loss"], list) else [spec["loss"]]
        for i, loss in enumerate(losses_):
            _spec(loss, registry["loss"], f"compile.loss[{i}]", registry, what="loss")
        metrics = spec.get("metrics", [])
        _is(metrics, list, "compile.metrics")
        for m in metrics:
            for item in (m if isinstance(m, list) else [m]):
                _is(item, str, "compile.metrics[]")
        _is(spec["optimizer_state"], list, "compile.optimizer_state")
        for key in spec["optimizer_state"]:
            _is(key, str, "compile.optimizer_state[]")
        if "loss_weights" in spec:
            _is(spec["loss_weights"], list, "compile.loss_weights")
            for w in spec["loss_weights"]:
                _is(w, (int, float), "compile.loss_weights[]")
    rng = config.get("rng")
    if rng is not None:
        _keys(rng, {"model", "layers"}, "rng", ("layers",))
        if rng.get("model") is not None:
            _rng_spec(rng["model"], "rng.model")
        _is(rng["layers"], list, "rng.layers")
        for i, entry in enumerate(rng["layers"]):
            if not (isinstance(entry, list) and len(entry) == 2
                    and isinstance(entry[0], str)):
                raise _Invalid(f"rng.layers[{i}] must be [layer path, state]")
            _rng_spec(entry[1], f"rng.layers[{i}]")


def _rng_spec(state, where):
    _keys(state, {"bit_generator", "state", "has_uint32", "uinteger"}, where,
          ("bit_generator", "state"))
    _is(state["bit_generator"], str, f"{where}.bit_generator")
    _is(state["state"], dict, f"{where}.state")
    for k, v in state["state"].items():
        _is(v, int, f"{where}.state.{k}")


# --- loading ---------------------------------------------------------------------------------

def _model_classes():
    from .models import Model, Sequential
    from .seq2seq import Seq2Seq
    return {cls.__name__: cls for cls in (Model, Sequential, Seq2Seq)}


def load_model(path, compile=True, custom_objects=None):
    """The model saved at ``path``: same architecture, same weights, and (``compile``)
    the same optimizer, loss, metrics and optimizer state, and every random generator in
    the state it was saved in, so that training resumes exactly (bit for bit).
    ``custom_objects``: ``{class name: class}`` for layers of your own, as in Keras.
    Anything but an intact checkpoint is a ValueError naming ``path``."""
    if custom_objects is not None and not (
            isinstance(custom_objects, dict)
            and all(isinstance(k, str) and isinstance(v, type)
                    for k, v in custom_objects.items())):
        raise TypeError(f"`custom_objects` must be None or a dict {{class name: class}}, "
                        f"got {custom_objects!r:.200}")
    config, arrays = read_checkpoint(path)
    try:
        check_config(config, custom_objects)
    except _Invalid as err:
        raise ValueError(f"{path}: its config is not one scratchrnn writes: {err}") from None
    try:
        return _make(config, arrays, compile, custom_objects)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    except Exception as err:       # a forged config that the checks let through
        raise ValueError(f"{path}: could not make the model its config describes "
                         f"({type(err).__name__}: {err})") from err


def _make(config, arrays, compile, custom_objects):
    cls = _model_classes()[config["class_name"]]
    names = [k for k in arrays if k.startswith("weight_")]
    from .layers.layer import weight_budget
    # The layers may build no more weight entries than the file stores (see weight_budget).
    with weight_budget(sum(arrays[k].size for k in names)):
        if cls.__name__ == "Seq2Seq":
            model = cls.from_config(config["config"])
        else:
            model = cls.from_config(config["config"], custom_objects=custom_objects)
        if not getattr(model, "built", True):
            model.build()
    if any(not _WEIGHT_NAME.fullmatch(k) for k in names):
        raise ValueError(f"unexpected weight names {sorted(names)[:8]}")
    names.sort(key=lambda k: int(k[7:]))
    if names != [f"weight_{i:05d}" for i in range(len(names))]:
        raise ValueError(f"its weights are not numbered 0 to {len(names) - 1}")
    model.set_weights([arrays[k] for k in names])
    spec = config.get("compile")
    known = set(names) | {f"optimizer_{k}" for k in (spec or {}).get("optimizer_state", [])}
    if set(arrays) - known:
        raise ValueError(f"it holds unexpected members {sorted(set(arrays) - known)[:8]}")
    if compile and spec is not None:
        from . import losses, optimizers
        loss = spec["loss"]
        loss = ([losses.deserialize(x) for x in loss] if isinstance(loss, list)
                else losses.deserialize(loss))
        extra = {"loss_weights": spec["loss_weights"]} if "loss_weights" in spec else {}
        model.compile(optimizer=optimizers.deserialize(spec["optimizer"]), loss=loss,
                      metrics=spec["metrics"], **extra)
        missing = [k for k in spec["optimizer_state"] if f"optimizer_{k}" not in arrays]
        if missing:
            raise ValueError(f"it lacks the optimizer state {missing}")
        state = {key: arrays[f"optimizer_{key}"] for key in spec["optimizer_state"]}
        if state:
            model.optimizer.set_state(state)
    if config.get("rng") is not None:      # last: building draws from the generators
        set_rng_state(model, config["rng"])
    return model
