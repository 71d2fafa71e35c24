"""Every Python block of the README runs as written, in order, in one namespace (the
tour builds on its earlier blocks, as a reader's session would)."""

import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_blocks():
    assert len(python_blocks()) >= 5


def test_every_python_block_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)             # the tour saves a checkpoint
    namespace = {"__name__": "readme"}
    for i, block in enumerate(python_blocks()):
        try:
            exec(compile(block, f"README.md block {i}", "exec"), namespace)
        except Exception as err:            # name the block that failed
            pytest.fail(f"README python block {i} failed: {type(err).__name__}: {err}\n{block}")
    # What the tour promises, checked on what it made.
    ns = namespace
    assert ns["result"].ok                                  # check_gradients of SineScale
    losses = ns["history"].history["loss"]
    assert len(losses) == 2 and np.isfinite(losses).all()
    assert ns["same"].count_params() == ns["model"].count_params() > 0
    assert ns["same"].optimizer.get_state()                 # optimizer state came back
    probs = ns["seq2seq"].predict([ns["source"], ns["teacher"]], verbose=0)
    assert probs.shape == (64, 10, 20)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)
