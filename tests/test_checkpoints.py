"""Checkpoints lose nothing: a save killed half-way leaves the previous file intact, and
ModelCheckpoint keeps the best epoch."""

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
        raise OSError("disk full")
    monkeypatch.setattr(saving.np, "savez", broken)
    model.set_weights([w + 1 for w in model.get_weights()])
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_load_refuses_unknown_layer_classes(tmp_path):
    model = models.Sequential([models.Input((3,)), L.Dense(2, dtype="float64", seed=0)])
    config, arrays = saving.model_state(model)
    config = config.replace('"Dense"', '"Evil"')
    np.savez(tmp_path / "evil.npz", **arrays, config=np.array(config),
             sha256=np.array(saving._digest(config, arrays)))
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
