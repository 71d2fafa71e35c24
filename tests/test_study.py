"""The study tools: ``scratchrnn gradients`` (|dloss/dh_t| by BPTT) and ``scratchrnn trace``.

The gradients are checked twice, independently of the step-backward loop that computes
them: against central finite differences of the loss with respect to ``h_t`` (the forward
layer run over the suffix ``x[t:]`` from a perturbed ``h_t``), and against the layer's own
``backward`` of that suffix run, which returns the gradient of its initial state.
"""

import sys

import numpy as np
import pytest

from scratchrnn import cli, layers, study

from .gradcheck import assert_gradients_match, numerical_gradient

STEPS, UNITS = 6, 3


def suffix_layer(cell, task):
    """The layer of ``cell`` with the task's weights, returning its final states."""
    cls = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
    layer = cls(UNITS, return_state=True, dtype="float64", backend="numpy")
    layer.set_weights(task.weights)
    return layer


def states_at(layer, task, t):
    """The states entering step ``t``: zeros, or the final states of a run over x[:, :t]."""
    if t == 0:
        return [np.zeros((1, UNITS)) for _ in layer.state_names]
    return [s.copy() for s in layer(task.x[:, :t])[1:]]


@pytest.mark.parametrize("cell", study.CELLS)
def test_state_gradients_equal_finite_differences(cell):
    """dloss/dh_t (c_t held for the LSTM) at every t, and the norms the command reports."""
    task = study.gradient_task(cell, STEPS, UNITS, scale=1.0, seed=3)
    analytic = study.state_gradients(cell, task)
    layer = suffix_layer(cell, task)
    numerical_norms = []
    for t in range(STEPS):
        states = states_at(layer, task, t)

        def loss(states=states, t=t):
            h_T = layer(task.x[:, t:], initial_state=states)[1]
            return float(np.sum(h_T * task.w))

        assert_gradients_match(loss, {f"h_{t}": states[0]}, {f"h_{t}": analytic[t]})
        numerical_norms.append(np.linalg.norm(numerical_gradient(loss, states[0])))
    norms = study.gradient_norms(cell, STEPS, UNITS, scale=1.0, seed=3)
    np.testing.assert_allclose(norms, numerical_norms, rtol=1e-7)


@pytest.mark.parametrize("cell", study.CELLS)
def test_state_gradients_equal_the_initial_state_gradient_of_suffix_runs(cell):
    """The O(T²) route: backward of the run over x[t:] started from (h_t, c_t)."""
    task = study.gradient_task(cell, STEPS, UNITS, scale=2.0, seed=4)
    analytic = study.state_gradients(cell, task)
    layer = suffix_layer(cell, task)
    for t in range(STEPS):
        states = states_at(layer, task, t)
        layer(task.x[:, t:], initial_state=states)
        _, d_states = layer.backward([None, task.w] + [None] * (len(states) - 1))
        np.testing.assert_allclose(d_states[0], analytic[t], rtol=1e-12, atol=1e-15)


def test_simple_rnn_vanishes_exponentially_and_faster_than_lstm():
    norms = {cell: study.gradient_norms(cell, steps=60, units=16, scale=0.5, seed=0)
             for cell in ("simple_rnn", "lstm")}
    slopes = {cell: study.decay_rate(n) for cell, n in norms.items()}
    assert slopes["simple_rnn"] < slopes["lstm"] < 0
    log_norm = np.log(norms["simple_rnn"])
    distance = 60 - np.arange(60)
    residual = log_norm - np.polyval(np.polyfit(distance, log_norm, 1), distance)
    r_squared = 1 - residual.var() / log_norm.var()
    assert r_squared > 0.98          # a straight line on a log scale: exponential decay


def test_decay_rate_of_a_geometric_sequence():
    norms = 0.5 ** (10 - np.arange(10))          # dloss/dh_t halves at every step back
    assert study.decay_rate(norms) == pytest.approx(np.log(0.5))
    assert study.decay_rate(np.concatenate([[0.0], norms])) == pytest.approx(np.log(0.5))
    assert np.isnan(study.decay_rate([0.0, 1.0]))


def test_gradient_norms_keep_the_dtype_and_the_task_is_shared():
    norms = study.gradient_norms("gru", steps=5, units=4, dtype="float32")
    assert norms.dtype == np.float32 and norms.shape == (5,)
    a, b = study.gradient_task("lstm", 5, 4), study.gradient_task("simple_rnn", 5, 4)
    np.testing.assert_array_equal(a.x, b.x)      # the same sequence and loss for every cell
    np.testing.assert_array_equal(a.w, b.w)
    assert a.weights[2][4:8].tolist() == [1.0] * 4   # LSTM forget bias, as Keras sets it


def test_gradients_command_prints_the_table_and_writes_the_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "g.png"
    assert cli.main(["gradients", "--steps", "30", "--units", "8", "--out", str(png)]) == 0
    out = capsys.readouterr().out
    for heading in ("SimpleRNN", "LSTM", "GRU", "ln per step", "c_t held"):
        assert heading in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gradients_command_without_a_plot(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert study.gradients_main(["--steps", "3", "--units", "2", "--out", ""]) == 0
    assert "plot:" not in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_lstm_trace_names_every_gate_and_equals_the_layer():
    lines = study.trace("lstm", units=2, features=3, steps=3, seed=1)
    text = "\n".join(lines)
    for name in ("input gate", "forget gate", "candidate", "output gate", "c_3", "h_3",
                 "f ⊙ c_{t-1} + i ⊙ g", "o ⊙ tanh(c_t)"):
        assert name in text
    assert sum(line.startswith("step ") for line in lines) == 3
    assert lines[-1].startswith("check: layers.LSTM") and lines[-1].endswith(": equal")


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_trace_names_every_gate_and_equals_the_layer(reset_after):
    lines = study.trace("gru", units=3, features=2, steps=2, seed=2, reset_after=reset_after)
    text = "\n".join(lines)
    for name in ("update gate", "reset gate", "candidate", "z ⊙ h_{t-1} + (1 - z) ⊙ ĥ",
                 "zx_h + r ⊙ u" if reset_after else "zx_h + (r ⊙ h_{t-1}) U_h"):
        assert name in text
    assert f"reset_after={reset_after}" in lines[0]
    assert lines[-1].startswith("check: layers.GRU") and lines[-1].endswith(": equal")


def test_trace_prints_the_numbers_it_checks():
    """The last h_t line of the trace shows the numbers of the check line."""
    lines = study.trace("lstm")
    last_h = next(line for line in reversed(lines) if line.lstrip().startswith("h_2"))
    assert last_h.split("= ")[1] == lines[-1].split("= ")[1].split(":")[0]


def test_trace_command(capsys):
    assert cli.main(["trace", "--cell", "gru"]) == 0
    out = capsys.readouterr().out
    assert "update gate" in out and out.rstrip().endswith("equal")
    assert cli.main(["trace", "--cell", "gru", "--no-reset-after"]) == 0
    assert "reset_after=False" in capsys.readouterr().out


@pytest.mark.parametrize("argv, named", [
    (["trace", "--cell", "rnn"], "--cell"),
    (["trace", "--units", "two"], "--units"),
    (["trace", "--steps", "0"], "--steps"),
    (["gradients", "--steps", "-3"], "--steps"),
    (["gradients", "--scale", "0"], "--scale"),
    (["gradients", "--dtype", "float16"], "--dtype"),
    (["gradients", "--seed", "-1"], "--seed"),
])
def test_bad_arguments_are_argparse_errors(argv, named, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"scratchrnn {argv[0]}" in err and named in err


@pytest.mark.parametrize("call, named", [
    (lambda: study.gradient_norms("rnn", 5), "`cell`"),
    (lambda: study.gradient_norms("lstm", 0), "`steps`"),
    (lambda: study.gradient_norms("lstm", 5, scale=float("nan")), "`scale`"),
    (lambda: study.trace("rnn"), "`cell`"),
    (lambda: study.trace("lstm", backward="yes"), "`backward`"),
    (lambda: study.trace("gru", features=0), "`features`"),
])
def test_bad_arguments_of_the_functions(call, named):
    with pytest.raises((TypeError, ValueError), match=named):
        call()


# --- the backward in the trace -------------------------------------------------------------

#: The intermediate gradients each cell's backward trace names (the step backward's locals).
BACKWARD_NAMES = {
    "simple_rnn": ("da", "dh ⊙ (1 - h_t²)", "dh_prev  (dh_0)"),
    "lstm": ("do", "dc_t + dh ⊙ o ⊙ (1 - tanh²(c_t))", "di", "df", "dg", "dz_i", "dz_f",
             "dz_c", "dz_o", "dc_prev  (dc_0)", "dh_prev  (dh_0)", "dc in (dc_2)"),
    "gru": ("dhh (dĥ)", "dh ⊙ (h_{t-1} - ĥ)", "da_h", "dr", "du", "dh_in", "da_z", "da_r",
            "dzx (z|r|h)", "dh_prev  (dh_0)"),
}


def values(lines, name):
    """The numbers printed on the (first) line whose name column starts with ``name``."""
    line = next(line for line in lines if line.startswith(f"  {name}"))
    return np.array([float(v) for v in line.rsplit("= [", 1)[1].rstrip("]").replace("|", ",")
                     .split(",")])


@pytest.mark.parametrize("cell, reset_after", [("simple_rnn", True), ("simplernn", True),
                                               ("lstm", True), ("gru", True), ("gru", False)])
def test_backward_trace_names_every_gradient_and_equals_the_layer(cell, reset_after):
    lines = study.trace(cell, steps=2, backward=True, reset_after=reset_after)
    text = "\n".join(lines)
    for name in BACKWARD_NAMES[study.TRACE_CELLS[cell]] + ("g_2", "dW  kernel", "dx_1"):
        assert name in text, name
    assert sum(line.startswith("backward step ") for line in lines) == 2
    assert "backward step 2" in text.split("backward step 1")[0]       # the last step first
    layer = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}[study.TRACE_CELLS[cell]]
    forward_check = next(line for line in lines if line.startswith("check:"))
    assert forward_check.endswith(": equal")                           # the forward's, first
    assert lines[-1].startswith(f"check: layers.{layer}(return_sequences=True)")
    assert lines[-1].endswith(": equal")
    if cell == "gru":
        assert ("dzh (z|r|h)" in text) == reset_after


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_backward_trace_prints_the_gradient_of_the_loss(cell):
    """dh_0 and dx as printed (4 decimals) against finite differences of L = Σ g_t · h_t,
    computed by the layer's forward alone."""
    steps, units, features, seed = 3, 2, 3, 5
    lines = study.trace(cell, units, features, steps, seed, backward=True)
    weights = study.trace_weights(cell, units, features, seed)
    x = np.round(np.random.default_rng([seed, 1]).uniform(-1, 1, (1, steps, features)), 1)
    g = np.round(np.random.default_rng([seed, 2]).uniform(-1, 1, (1, steps, units)), 1)
    cls = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
    layer = cls(units, return_sequences=True, dtype="float64", backend="numpy")
    layer.set_weights(weights)
    h0 = np.zeros((1, units))
    states = [h0] + [np.zeros((1, units)) for _ in layer.state_names[1:]]

    def loss():
        return float(np.sum(layer(x, initial_state=states) * g))

    np.testing.assert_allclose(values(lines, "dh_prev  (dh_0)"), numerical_gradient(loss, h0)[0],
                               atol=6e-5)
    dx = numerical_gradient(loss, x)
    for k in range(1, steps + 1):
        np.testing.assert_allclose(values(lines, f"dx_{k}"), dx[0, k - 1], atol=6e-5)
    for k in range(1, steps):         # what reaches h_k: the loss's g_k and step k+1's dh_prev
        np.testing.assert_allclose(values(lines, f"dh    (dh_{k})"),
                                   values(lines, f"g_{k}") + values(lines, f"dh_prev  (dh_{k})"),
                                   atol=2e-4)


def test_backward_check_line_names_what_differs(monkeypatch):
    real = study._layer_gradients

    def off_by_a_little(*args):
        gradients = real(*args)
        gradients[-2] = gradients[-2] + 1e-9          # dU
        return gradients

    monkeypatch.setattr(study, "_layer_gradients", off_by_a_little)
    last = study.trace("lstm", backward=True)[-1]
    assert last.endswith("DIFFERENT (dU by 1.0e-09)")


def test_step_locals_reads_arguments_and_final_locals():
    def step(a, b):
        a = a + b
        c = a * 2
        return c

    previous = sys.getprofile()
    result, calls = study.step_locals(step, lambda: [step(1, 2), step(3, 4)])
    assert result == [6, 14]
    assert [arguments for arguments, _ in calls] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert [local["c"] for _, local in calls] == [6, 14]
    assert calls[0][1]["a"] == 3                      # a local as it stood at the return
    assert sys.getprofile() is previous


def test_trace_command_simplernn_and_backward(capsys):
    assert cli.main(["trace", "--cell", "simplernn"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SimpleRNN") and out.rstrip().endswith("equal")
    assert "backward" not in out
    assert cli.main(["trace", "--cell", "simple_rnn", "--backward", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "backward step 3" in out and "da Uᵀ" in out
    assert out.rstrip().splitlines()[-1].endswith(": equal")
    assert cli.main(["trace", "--cell", "gru", "--no-reset-after", "--backward"]) == 0
    assert "(r⊙h)ᵀ da_h" in capsys.readouterr().out


def test_gradients_command_without_matplotlib_prints_the_table(tmp_path, capsys, monkeypatch):
    """The light install (no matplotlib): the default --out gives the table and a note, exit
    0; an --out asked for explicitly is an error."""
    real = study.importlib.util.find_spec
    monkeypatch.setattr(study.importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    monkeypatch.chdir(tmp_path)
    assert study.gradients_main(["--steps", "4", "--units", "2"]) == 0
    out = capsys.readouterr().out
    assert "ln per step" in out and "no plot: matplotlib is not installed" in out
    assert list(tmp_path.iterdir()) == []
