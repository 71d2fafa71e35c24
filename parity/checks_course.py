"""The course's code blocks, scratchrnn against tf.keras: one row per block.

``course-NN-<name>`` runs block NN of the course (``../shared/seeds/000_a9e6916459d59478.txt``)
with only the names changed, once with ``K = scratchrnn`` and once with ``K = tf.keras``,
and compares (see ``tests/test_course.py``, where the blocks are written out):

- every number the block prints (shapes, parameter counts, padded arrays, token ids,
  vocabularies, masks, tf.data windows against ``utils.timeseries_dataset_from_array``),
  exactly, or within the float32 tolerance for floats;
- the exception, where tf.keras 3.15 itself stops in the block (group ``raises``);
- predictions of the block's layers and models with scratchrnn's weights copied into
  Keras's (groups ``callN``, ``predictN``), and, for the blocks that train, the history of
  two epochs of ``fit`` from copied weights, dropout off and no shuffling (``fitN_*``).

All in float32, Keras's default; tolerance 1e-5 relative (the parity suite's).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from .checks_functional import precision
from .components import Check, Comparison
from .harness import tf


def _course_module():
    """``tests/test_course.py``, where the blocks live (TensorFlow-free, so that the
    tests run the blocks without it)."""
    try:
        return importlib.import_module("tests.test_course")
    except ImportError:
        path = Path(__file__).resolve().parents[1] / "tests" / "test_course.py"
        spec = importlib.util.spec_from_file_location("_course_blocks", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module


course = _course_module()


def _check(block):
    def run(cmp: Comparison):
        # Keras's default precision, whatever a check before this one left behind: its
        # global dtype policy is made once, from floatx, by the first layer that asks.
        with precision("float32"):
            course.compare_block(cmp, block, tf)
    return run


CHECKS = [
    Check(f"course-{block.number:02d}-{block.name}", "course", "float32", _check(block),
          options=(block.run.__doc__ or "").split(".")[0].split(";")[0].strip()
          + (f" (Keras 3.15 raises {block.keras_raises.__name__})"
             if block.keras_raises else ""))
    for block in course.BLOCKS
]
