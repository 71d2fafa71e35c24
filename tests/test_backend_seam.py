"""The seam between the layers and the two backends: the same entry functions, with the same
keyword-only signatures, returning the same cache record (issue 15, part 5)."""

import inspect

import pytest

from scratchrnn import backend
from scratchrnn.ops import gru, lstm, simple_rnn

CELLS = {"lstm": (lstm, "LSTMCache"), "gru": (gru, "GRUCache"),
         "simple_rnn": (simple_rnn, "SimpleRNNCache")}


def _parameters(function):
    return {name: p.kind for name, p in inspect.signature(function).parameters.items()}


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_everything_after_bias_is_keyword_only(cell):
    module, _ = CELLS[cell]
    kinds = _parameters(getattr(module, f"{cell}_forward"))
    names = list(kinds)
    after_bias = names[names.index("bias") + 1:]
    assert after_bias and all(kinds[n] is inspect.Parameter.KEYWORD_ONLY for n in after_bias)
    assert "mask" in after_bias and "go_backwards" in after_bias


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_the_kernels_take_the_ops_arguments_plus_a_workspace_and_share_the_cache(cell):
    pytest.importorskip("numba")
    module, cache_name = CELLS[cell]
    compiled = backend.cell_module("numba", cell)
    assert backend.cell_module("numpy", cell) is module
    for part in ("forward", "backward"):
        ops_kinds = _parameters(getattr(module, f"{cell}_{part}"))
        kernel_kinds = _parameters(getattr(compiled, f"{cell}_{part}"))
        assert kernel_kinds == {**ops_kinds, "workspace": inspect.Parameter.KEYWORD_ONLY}
    assert getattr(compiled, cache_name) is getattr(module, cache_name)
