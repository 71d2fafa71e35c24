"""Checkpoints lose nothing: a save killed half-way leaves the previous file intact, and
ModelCheckpoint keeps the best epoch."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import scratchrnn as sr
from scratchrnn import callbacks, models, saving
from scratchrnn import layers as L

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from scratchrnn import layers as L, models
    # Big enough that one save takes a noticeable time, so that the kill lands inside one.
    model = models.Sequential([models.Input((16,)), L.Dense(1500, dtype="float64"),
                               L.Dense(1500, dtype="float64")])
    model.compile(optimizer="adam", loss="mse")
    version = 0
    while True:
        model.set_weights([np.full(w.shape, float(version)) for w in model.get_weights()])
        model.save(sys.argv[1])
        print(version, flush=True)
        version += 1
""")


def test_a_save_killed_half_way_leaves_the_previous_checkpoint_intact(tmp_path):
    path = tmp_path / "ckpt.npz"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True, cwd=os.getcwd())
    try:
        versions = [int(child.stdout.readline())]       # at least one complete save
        versions.append(int(child.stdout.readline()))
        time.sleep(0.05)                                   # somewhere inside a later save
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    model = sr.load_model(path)                           # intact: it loads and verifies
    value = model.get_weights()[0].flat[0]
    assert value >= versions[-1] and all((w == value).all() for w in model.get_weights())
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "ckpt.npz"]
    assert all(name.endswith(".tmp") for name in leftovers)   # only an abandoned temp file


def test_a_failing_save_keeps_the_old_file_and_removes_its_temporary(tmp_path, monkeypatch):
    model = models.Sequential([models.Input((3,)), L.Dense(2, dtype="float64", seed=0)])
    path = tmp_path / "m.npz"
    model.save(path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(saving, "_npy_bytes", broken)
    model.set_weights([w + 1 for w in model.get_weights()])
    with pytest.raises(OSError, match="No space left") as info:
        model.save(path)
    assert info.value.filename == str(path) and ".tmp" not in str(info.value)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_load_refuses_unknown_layer_classes(tmp_path):
    model = models.Sequential([models.Input((3,)), L.Dense(2, dtype="float64", seed=0)])
    config, arrays = saving.model_state(model)
    config = config.replace('"Dense"', '"Evil"')
    with open(tmp_path / "evil.npz", "wb") as f:
        saving._write_archive(f, config, arrays)          # a valid digest
    with pytest.raises(ValueError, match="unknown layer class 'Evil'"):
        sr.load_model(tmp_path / "evil.npz")


def test_model_checkpoint_saves_the_best_epoch_only(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4))
    y = x @ rng.normal(size=(4, 1))
    model = models.Sequential([models.Input((4,)), L.Dense(1, dtype="float64", seed=0)], seed=0)
    model.compile(optimizer=sr.optimizers.SGD(0.05), loss="mse")
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "best-{epoch:02d}.npz"),
                                           monitor="loss", save_best_only=True)
    snapshots = []

    class Snapshot(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    # Noisy batches (shuffled, lr large) so that not every epoch improves.
    history = model.fit(x, y + rng.normal(size=y.shape), epochs=6, batch_size=4,
                        callbacks=[checkpoint, Snapshot()], verbose=0)
    losses = history.history["loss"]
    improved = [e for e in range(6) if losses[e] < min(losses[:e], default=np.inf)]
    assert checkpoint.saved == [str(tmp_path / f"best-{e + 1:02d}.npz") for e in improved]
    for e in improved:
        saved = sr.load_model(tmp_path / f"best-{e + 1:02d}.npz").get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(saved, snapshots[e]))


def test_load_model_reads_a_seq2seq_and_it_predicts_the_same(tmp_path):
    model = sr.Seq2Seq(9, 9, 4, 6, attention=True, dtype="float64", seed=0)
    model.compile(optimizer="adam")
    source = np.random.default_rng(0).integers(1, 9, size=(3, 5))
    model.save(tmp_path / "s2s.npz")
    loaded = sr.load_model(tmp_path / "s2s.npz")
    assert isinstance(loaded, sr.Seq2Seq)
    np.testing.assert_array_equal(loaded(source, source), model(source, source))
    with pytest.raises(ValueError, match="not a Sequential|holds a"):
        model_path = tmp_path / "seq.npz"
        models.Sequential([models.Input((3,)), L.Dense(2, dtype="float64")]).save(model_path)
        sr.Seq2Seq.load(model_path)


# --- every corruption is a ValueError naming the file ----------------------------------------

def tiny_model():
    model = models.Sequential([models.Input((2,)), L.Dense(1, seed=0)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    return model


def comparable(model):
    """Everything a checkpoint holds (config, arrays, generator states), less the Input's
    automatic name, which a fresh Input in this process takes anew."""
    import json
    text, arrays = saving.model_state(model)
    config = json.loads(text)
    config["config"]["input"].pop("name", None)
    return config, {k: (v.dtype.str, v.shape, v.tobytes()) for k, v in arrays.items()}


def regions(data):
    """``(bits to flip all of, bytes to flip one bit of)``: every bit of the zip's own
    structures (local headers, central directory, end record), of every member's .npy
    header, of the digest member and of the small array members; the config member's
    data (JSON as UTF-32, most of the file) one bit per byte, the bit rotating with the
    offset.  (A CRC-32 catches every single-bit error in a member's data, so that stride
    loses nothing the full sweep would find; it keeps the test under ten seconds.)"""
    import io
    import zipfile
    every, stride = set(range(len(data))), set()
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        for info in archive.infolist():
            extra = int.from_bytes(data[info.header_offset + 28:info.header_offset + 30],
                                   "little")
            start = info.header_offset + 30 + len(info.filename.encode()) + extra
            member = bytes(data[start:start + info.file_size])
            header = 10 + int.from_bytes(member[8:10], "little")
            if info.filename == "config.npy":
                body = set(range(start + header, start + info.file_size))
                every -= body
                stride |= body
    bits = [8 * i + b for i in sorted(every) for b in range(8)]
    bits += [8 * i + i % 8 for i in sorted(stride)]
    return bits


def test_every_one_bit_corruption_is_a_value_error_naming_the_file_or_harmless(tmp_path):
    """Flip bits of a small checkpoint one at a time (which bits: see ``regions``): each
    load ends in a ValueError naming the file, or gives back the intact model (a flip in
    a timestamp or a field nobody reads)."""
    model = tiny_model()
    path = tmp_path / "m.npz"
    model.save(path)
    data = bytearray(path.read_bytes())
    expected = comparable(model)
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(data)
    outcomes = {"ValueError": 0, "intact": 0}
    with open(damaged, "r+b") as f:
        for bit in regions(data):
            index, mask = bit // 8, 1 << (bit % 8)
            f.seek(index)
            f.write(bytes([data[index] ^ mask]))
            f.flush()
            try:
                loaded = sr.load_model(damaged)
            except ValueError as err:
                assert str(damaged) in str(err), (bit, err)
                outcomes["ValueError"] += 1
            else:
                assert comparable(loaded) == expected, bit
                outcomes["intact"] += 1
            finally:
                f.seek(index)
                f.write(bytes([data[index]]))
    assert outcomes["ValueError"] > 5 * outcomes["intact"] > 0


def forge(path, config=None, arrays=None, edit=None):
    """A checkpoint with a valid digest over whatever we put in it."""
    import json
    text, saved = saving.model_state(tiny_model())
    if config is None:
        config = json.loads(text)
    if edit is not None:
        edit(config)
    arrays = saved if arrays is None else arrays
    text = config if isinstance(config, str) else json.dumps(config)
    with open(path, "wb") as f:
        saving._write_archive(f, text, arrays)
    return path


def test_a_forged_npy_header_asking_for_terabytes_is_refused_without_allocating(tmp_path):
    import io
    import tracemalloc
    import zipfile
    path = tmp_path / "huge.npz"
    tiny_model().save(path)
    members = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            members[name[:-4]] = archive.read(name)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2 ** 40,)})
    members["weight_00000"] = header.getvalue() + b"\0" * 8      # 7 TiB promised, 8 B held
    del members["sha256"]
    digest = saving._raw_digest(members)                         # a valid digest
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
        archive.writestr("sha256.npy", saving._npy_bytes(np.array(digest)))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="promises shape") as info:
            sr.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value) and peak < 50 * 2 ** 20


def test_a_zip_entry_claiming_more_bytes_than_the_file_is_refused(tmp_path):
    import struct
    import zipfile
    path = tmp_path / "m.npz"
    tiny_model().save(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("weight_00000.npy")
    # the central directory entry of weight_00000: its sizes at offsets 20 and 24
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46:entry + 46 + 16] != b"weight_00000.npy":
        entry = data.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<II", data, entry + 20, 2 ** 32 - 2, 2 ** 32 - 2)   # ~4 GiB each
    path.write_bytes(data)
    with pytest.raises(ValueError, match="claims") as info_:
        sr.load_model(path)
    assert str(path) in str(info_.value) and info.file_size < 1000


@pytest.mark.parametrize("edit, words", [
    (lambda c: c["config"]["layers"][0]["config"].update(evil=1),
     ["unknown keys ['evil']", "Dense"]),
    (lambda c: c.update(extra=1), ["unknown keys ['extra']"]),
    (lambda c: c["compile"]["optimizer"]["config"].update(exec="x"), ["unknown keys ['exec']"]),
    (lambda c: c["config"].update(layers={"a": 1}), ["config.layers", "wrong type"]),
    (lambda c: c["config"]["layers"][0].update(class_name="Evil"),
     ["unknown layer class 'Evil'", "custom_objects"]),
    (lambda c: c["compile"]["loss"].update(class_name="os.system"), ["unknown loss"]),
    (lambda c: c["rng"]["model"].update(bit_generator="MT19937"), ["random generator"]),
    (lambda c: c["rng"]["layers"].append(["x", c["rng"]["model"]]), ["random generator"]),
    (lambda c: c["config"]["layers"][0]["config"].update(units=-2), ["units"]),
    (lambda c: c["config"]["layers"][0]["config"].update(units="2"), ["units"]),
    (lambda c: c["config"]["layers"][0]["config"].update(
        kernel_regularizer={"class_name": "L2", "config": {"l2": 0.1, "shell": 1}}),
     ["unknown keys ['shell']"]),
])
def test_a_forged_config_with_a_valid_digest_is_a_value_error(tmp_path, edit, words):
    path = forge(tmp_path / "forged.npz", edit=edit)
    with pytest.raises(ValueError) as info:
        sr.load_model(path)
    message = str(info.value)
    assert str(path) in message and all(w in message for w in words), message


def test_a_deeply_nested_forged_config_is_refused_before_parsing_it(tmp_path):
    import json
    text, _ = saving.model_state(tiny_model())
    layer = json.dumps(json.loads(text)["config"]["layers"][0])
    depth = 100_000                         # Bidirectional(Bidirectional(... Dense ...))
    nested = '{"class_name": "Bidirectional", "config": {"layer": ' * depth + layer + "}}" * depth
    text = text.replace(layer, nested, 1)
    assert nested in text
    path = forge(tmp_path / "deep.npz", config=text)
    with pytest.raises(ValueError, match="nests deeper than 64") as info:
        sr.load_model(path)
    assert str(path) in str(info.value)


def test_a_forged_array_of_objects_is_refused(tmp_path):
    import zipfile
    path = tmp_path / "m.npz"
    tiny_model().save(path)
    members = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            members[name[:-4]] = archive.read(name)
    import io
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    members["weight_00000"] = buffer.getvalue()
    del members["sha256"]
    digest = saving._raw_digest(members)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
        archive.writestr("sha256.npy", saving._npy_bytes(np.array(digest)))
    with pytest.raises(ValueError, match="refused dtype object") as info:
        sr.load_model(path)
    assert str(path) in str(info.value)


def test_a_checkpoint_of_the_first_format_still_loads(tmp_path):
    """Format 1 (the digest over parsed arrays, written by np.savez) reads as before."""
    model = tiny_model()
    text, arrays = saving.model_state(model)
    text = text.replace("scratchrnn.model/2", "scratchrnn.model/1")
    np.savez(tmp_path / "old.npz", **arrays, config=np.array(text),
             sha256=np.array(saving._digest(text, arrays)))
    loaded = sr.load_model(tmp_path / "old.npz")
    assert comparable(loaded) == comparable(model)


def test_the_same_model_saves_to_the_same_bytes(tmp_path):
    model = tiny_model()
    model.save(tmp_path / "a.npz")
    model.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz") as archive:        # still an .npz NumPy reads
        assert set(archive.files) >= {"config", "sha256", "weight_00000"}


# --- where a save writes ------------------------------------------------------------------

def test_saving_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    model = tiny_model()
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    model.save(target)
    link = tmp_path / "latest.npz"
    link.symlink_to(os.path.join("real", "model.npz"))      # relative, as `ln -s` makes
    model.set_weights([w + 1 for w in model.get_weights()])
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "model.npz")
    loaded = sr.load_model(target)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.npz", "real"]
    assert [p.name for p in (tmp_path / "real").iterdir()] == ["model.npz"]


def test_a_save_removes_the_stale_temporary_files_of_its_target_only(tmp_path):
    import fcntl
    model = tiny_model()
    path = tmp_path / "m.npz"
    old = time.time() - 3600
    stale = tmp_path / ".m.npz.abcd_123.tmp"           # what a killed save leaves
    locked = tmp_path / ".m.npz.zzzz9999.tmp"          # a save still writing it
    newer = tmp_path / ".m.npz.new12345.tmp"           # written after this save began
    others = [tmp_path / ".other.npz.abcd1234.tmp",    # another target's
              tmp_path / ".m.npz.notours.tmp",          # not our pattern
              tmp_path / "m.npz.abcd1234.tmp"]          # not hidden: not ours
    for p in [stale, locked, newer, *others]:
        p.write_bytes(b"partial")
        os.utime(p, (old, old))
    future = time.time() + 3600
    os.utime(newer, (future, future))
    with open(locked, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        model.save(path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert stale.name not in left
    assert left == sorted(["m.npz", locked.name, newer.name, *(p.name for p in others)])
    sr.load_model(path)


def test_save_errors_name_the_destination_not_the_temporary_file(tmp_path, monkeypatch):
    model = tiny_model()
    path = tmp_path / "m.npz"

    def refused(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied",
                              os.path.join(dir, prefix + "x1y2z3w4" + suffix))
    monkeypatch.setattr(saving.tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError) as info:
        model.save(path)
    assert info.value.filename == str(path) and ".tmp" not in str(info.value)
    monkeypatch.undo()
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        model.save(tmp_path / "dir.npz")
    assert info.value.filename == str(tmp_path / "dir.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["dir.npz"]


@pytest.mark.parametrize("batch_shape", [False, True])
def test_a_sequential_keeps_its_input_name_through_config_and_checkpoint(tmp_path, batch_shape):
    make = (lambda: sr.Input(batch_shape=(2, 5, 3), name="windows")) if batch_shape else (
        lambda: sr.Input((5, 3), name="windows"))
    model = sr.Sequential([make(), sr.layers.LSTM(2, seed=0)], name="m")
    again = sr.Sequential.from_config(model.get_config())
    assert again.inputs[0].name == "windows" and again.layers[0].name == model.layers[0].name
    model.save(tmp_path / "m.npz")
    loaded = sr.load_model(tmp_path / "m.npz")
    assert loaded.inputs[0].name == "windows"
    assert loaded.input_shape == model.input_shape


@pytest.mark.parametrize("units", [10 ** 9, 10 ** 15, 3])
def test_a_forged_config_asking_for_huge_layers_is_refused_before_allocating(tmp_path, units):
    """The layers may build no more weight entries than the file stores: a Dense of 10**9
    units (an 8 GB kernel, then its initialisation) is refused at once, without
    allocating, as is a wrong small size."""
    import tracemalloc

    def edit(config):
        config["config"]["layers"][0]["config"]["units"] = units
    path = forge(tmp_path / f"huge-{units}.npz", edit=edit)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            sr.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert str(path) in message and peak < 50 * 2 ** 20
    assert "weight entries the file still has" in message, message
    sr.load_model(forge(tmp_path / "intact.npz"))          # the same file unforged loads
