"""Two study tools: the vanishing-gradient picture, and one LSTM/GRU step printed gate by gate.

``scratchrnn gradients`` measures what no framework hands a learner: how large the
gradient of a loss at the end of a sequence still is at each earlier state.  For a loss
of the last state only, ``loss = Σ h_T ⊙ w``, backpropagation through time computes::

    ∂loss/∂h_T = w
    ∂loss/∂h_t = (∂loss/∂h_{t+1}) · ∂h_{t+1}/∂h_t        t = T-1, ..., 0

which is exactly the ``dh_prev`` that each cell's hand-written ``*_step_backward``
returns, step after step.  ``h_t`` is the state *entering* step t (``h_0`` the initial
state), so ``∂loss/∂h_t`` is ``T - t`` Jacobians away from the loss.  For the SimpleRNN
each Jacobian is ``diag(1 - h_{t+1}²) Uᵀ``, so the norm shrinks (or grows) geometrically
with the spectral radius of ``U``; the LSTM adds the cell path ``c_t = f ⊙ c_{t-1} + …``,
along which the gradient is only multiplied by the forget gate.  For the LSTM the
gradient reported is ``∂loss/∂h_t`` with ``c_t`` held (the partial derivative that BPTT
carries in ``dh``; ``dc`` travels beside it).

The initialisation, the same for the three cells (``I`` input features, ``H`` units, one
block of ``H`` columns per gate)::

    kernel            (I, gH)   N(0, scale² / I)
    recurrent_kernel  (H, gH)   N(0, scale² / H)     eigenvalues of a gate's block fill
                                                     the disc of radius ``scale``
    bias              zeros, but for the LSTM's forget block: 1 (Keras's unit_forget_bias)

with ``I = H = units``, one sequence of ``x ~ N(0, 1)`` and ``w ~ N(0, 1/H)``.

``scratchrnn trace`` runs one SimpleRNN, LSTM or GRU over a tiny input with small, round
weights and prints every intermediate value, each beside its equation.  The values are
those of the library's own step functions (:func:`scratchrnn.ops.lstm.lstm_step_forward`,
:func:`scratchrnn.ops.gru.gru_step_forward`, :func:`scratchrnn.ops.simple_rnn.
simple_rnn_step_forward` and their caches), and a check line compares the final state
with ``layers.SimpleRNN``/``LSTM``/``GRU`` given the same weights.

``trace(..., backward=True)`` (``scratchrnn trace --backward``) goes on with the backward
pass of the loss ``L = Σ_t g_t · h_t`` (``g_t`` small round numbers: the gradient each
output receives from the loss).  It runs the library's own backpropagation through time
(:func:`scratchrnn.ops.lstm.lstm_backward` and its siblings) and prints, step by step
from the last, every intermediate gradient of the cell's step backward (``dh, do, dc,
di, df, dg, dz, dc_prev, dh_prev`` for the LSTM; ``dĥ, dz, da_h, dr, du, ...`` for the
GRU; ``da`` for the SimpleRNN) beside its equation.  Those values are not recomputed
here: they are the step backward's own local variables, read as the function returns
(:func:`step_locals`), so the trace cannot drift from the code it shows.  The weight and
input gradients follow (one product each over all steps, as the library computes them),
and the last line checks ``dx``, the initial states' gradients and every weight gradient
against the layer's ``backward`` and ``get_gradients`` on the same input.
"""

import argparse
import importlib.util
import sys
from typing import NamedTuple

import numpy as np

from . import _checks, layers
from .ops import activations as act
from .ops import common, gru, lstm, simple_rnn

CELLS = ("simple_rnn", "lstm", "gru")
LAYER_NAMES = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
N_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def _cell(cell, choices=CELLS):
    if cell not in choices:
        raise ValueError(f"`cell` must be one of {choices}, got {cell!r}")
    return cell


def _positive_float(value, argument):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"`{argument}` must be a positive finite number, got {value!r}")
    return float(value)


# --- the gradient through time ----------------------------------------------------------

class GradientTask(NamedTuple):
    """One sequence, one cell's weights (in ``get_weights`` order) and the loss vector."""
    x: np.ndarray        # (1, T, I) the inputs
    weights: list        # [kernel, recurrent_kernel, bias]
    w: np.ndarray        # (1, H) loss = Σ h_T ⊙ w


def initial_weights(cell, features, units, scale, rng, dtype):
    """``[kernel, recurrent_kernel, bias]`` drawn as the module docstring states."""
    gh = N_GATES[cell] * units
    kernel = rng.normal(0.0, scale / np.sqrt(features), (features, gh))
    recurrent_kernel = rng.normal(0.0, scale / np.sqrt(units), (units, gh))
    bias = np.zeros((2, gh) if cell == "gru" else gh)     # GRU: reset_after, two bias rows
    if cell == "lstm":
        bias[units:2 * units] = 1.0                          # the forget block, as Keras sets it
    return [np.ascontiguousarray(a, dtype=dtype) for a in (kernel, recurrent_kernel, bias)]


def gradient_task(cell, steps=150, units=32, scale=1.0, seed=0, dtype="float64"):
    """The task of :func:`gradient_norms`.  ``x`` and ``w`` depend on the seed only, so the
    three cells see the same sequence and the same loss."""
    cell = _cell(cell)
    steps = _checks.positive_int(steps, "steps")
    units = _checks.positive_int(units, "units")
    scale = _positive_float(scale, "scale")
    dtype = _checks.dtype(dtype)
    seed = _checks.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, steps, units)).astype(dtype)
    w = (rng.standard_normal((1, units)) / np.sqrt(units)).astype(dtype)
    weights = initial_weights(cell, units, units, scale, np.random.default_rng([seed, 1]),
                              dtype)
    return GradientTask(x, weights, w)


def state_gradients(cell, task):
    """``∂loss/∂h_t`` for t = 0..T-1, shape (T, B, H): the ``dh`` that BPTT carries back
    from ``∂loss/∂h_T = w`` through each step's hand-written backward (``c_t`` held for
    the LSTM)."""
    cell = _cell(cell)
    kernel, recurrent_kernel, bias = task.weights
    x = task.x
    B, T = x.shape[:2]
    h0 = np.zeros((B, recurrent_kernel.shape[0]), x.dtype)
    tanh, sigmoid = act.TANH, act.SIGMOID
    if cell == "simple_rnn":
        _, cache = simple_rnn.simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias)

        def back(dh, dc, step):
            _, dh = simple_rnn.simple_rnn_step_backward(dh, step, recurrent_kernel, None, tanh)
            return dh, dc
    elif cell == "lstm":
        _, cache = lstm.lstm_forward(x, h0, h0, kernel, recurrent_kernel, bias)

        def back(dh, dc, step):
            _, dh, dc = lstm.lstm_step_backward(dh, dc, step, recurrent_kernel, None, tanh,
                                                sigmoid)
            return dh, dc
    else:
        _, cache = gru.gru_forward(x, h0, kernel, recurrent_kernel, bias)

        def back(dh, dc, step):
            _, _, dh = gru.gru_step_backward(dh, step, recurrent_kernel, None, True, tanh,
                                             sigmoid)
            return dh, dc

    grads = np.empty((T, *h0.shape), x.dtype)
    dh, dc = np.broadcast_to(task.w, h0.shape).astype(x.dtype), np.zeros_like(h0)
    for t in reversed(range(T)):          # step t reads x_t and h_t, and makes h_{t+1}
        dh, dc = back(dh, dc, cache.step(t))
        grads[t] = dh
    return grads


def gradient_norms(cell, steps=150, units=32, scale=1.0, seed=0, dtype="float64"):
    """``||∂loss/∂h_t||`` for t = 0..T-1 (length ``steps``) on :func:`gradient_task`.

    cell: ``"simple_rnn"``, ``"lstm"`` or ``"gru"`` (reset_after, Keras's default).
    """
    grads = state_gradients(cell, gradient_task(cell, steps, units, scale, seed, dtype))
    return np.linalg.norm(grads.reshape(grads.shape[0], -1), axis=1)


def decay_rate(norms):
    """The least-squares slope of ``ln ||∂loss/∂h_t||`` against ``T - t``, the number of
    steps between ``h_t`` and the loss: about ``ln λ`` for a gradient that shrinks by a
    factor λ per step (negative: vanishing).  Norms that underflowed to 0 are left out;
    NaN when fewer than two remain."""
    norms = np.asarray(norms, dtype=np.float64)
    distance = norms.size - np.arange(norms.size)
    ok = np.isfinite(norms) & (norms > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(distance[ok], np.log(norms[ok]), 1)[0])


def gradient_table(norms):
    """The lines of the table: ``norms`` maps a cell to its :func:`gradient_norms`."""
    T = len(next(iter(norms.values())))
    rows = sorted({t for t in (T - 1, T - 2, T - 5, T - 10, T - 25, T - 50, T - 100, 0)
                   if t >= 0}, reverse=True)
    head = f"{'t':>5} {'T-t':>5}" + "".join(f"{LAYER_NAMES[c]:>12}" for c in norms)
    lines = [head, "-" * len(head)]
    for t in rows:
        lines.append(f"{t:>5} {T - t:>5}" + "".join(f"{n[t]:>12.3e}" for n in norms.values()))
    lines.append("-" * len(head))
    slopes = [decay_rate(n) for n in norms.values()]
    lines.append(f"{'ln per step':>11}" + "".join(f"{s:>12.4f}" for s in slopes))
    lines.append(f"{'x per step':>11}" + "".join(f"{np.exp(s):>12.4f}" for s in slopes))
    return lines


def plot_gradient_norms(norms, path, title):
    """A log-scale plot of each cell's norms against ``T - t``, written to ``path``."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError("the plot needs matplotlib: pip install matplotlib "
                          f"(or --out '' for the table alone) ({err})") from err
    matplotlib.use("Agg")    # files only: no display needed
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for cell, n in norms.items():
        distance = len(n) - np.arange(len(n))
        ax.semilogy(distance, n, label=f"{LAYER_NAMES[cell]} "
                                       f"(x{np.exp(decay_rate(n)):.3f} per step)")
    ax.set_xlabel("T - t: steps between h_t and the loss")
    ax.set_ylabel("||dloss / dh_t||")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _parsed(parser, argv, *checked):
    """Parse, then turn a ValueError/TypeError of our checks into argparse's error."""
    args = parser.parse_args(argv)
    for argument, check in checked:
        try:
            check(getattr(args, argument), f"--{argument.replace('_', '-')}")
        except (TypeError, ValueError) as err:
            parser.error(str(err))
    return args


def gradients_main(argv=None):
    """``scratchrnn gradients``: the table and the plot."""
    parser = argparse.ArgumentParser(
        prog="scratchrnn gradients",
        description="||dloss/dh_t|| through time for SimpleRNN, LSTM and GRU, computed by the "
                    "hand-written BPTT, loss = sum(h_T * w).  Weights N(0, scale^2/units), "
                    "biases 0 (LSTM forget bias 1).")
    parser.add_argument("--steps", type=int, default=150, help="sequence length T (150)")
    parser.add_argument("--units", type=int, default=32, help="units = input features (32)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="weight scale: N(0, scale^2/units) (1.0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of inputs and weights (0)")
    parser.add_argument("--out", default=None,
                        help="the PNG to write (default: gradients.png when matplotlib is "
                             "installed, else the table alone, with a note); '' for none")
    parser.add_argument("--dtype", choices=_checks.DTYPES, default="float64")
    args = _parsed(parser, argv, ("steps", _checks.positive_int),
                   ("units", _checks.positive_int), ("scale", _positive_float),
                   ("seed", _checks.non_negative_int))

    norms = {cell: gradient_norms(cell, args.steps, args.units, args.scale, args.seed,
                                  args.dtype) for cell in CELLS}
    print(f"||dloss/dh_t||, loss = sum(h_T * w); T={args.steps}, units={args.units}, "
          f"scale={args.scale}, seed={args.seed}, {args.dtype}; LSTM: c_t held")
    print("\n".join(gradient_table(norms)))
    if args.out is None:          # the default: a plot when matplotlib is there (the light
        args.out = "gradients.png"                     # install, `pip install -e .`, has none)
        if importlib.util.find_spec("matplotlib") is None:
            print("(no plot: matplotlib is not installed; pip install matplotlib, or "
                  "--out '' to say no plot)")
            return 0
    if args.out:
        title = (f"||dloss/dh_t||, T={args.steps}, units={args.units}, "
                 f"weights N(0, {args.scale:g}²/units)")
        try:
            plot_gradient_norms(norms, args.out, title)
        except ImportError as err:
            print(f"scratchrnn gradients: {err}", file=sys.stderr)
            return 1
        print(f"plot: {args.out}")
    return 0


# --- one step, every gate ---------------------------------------------------------------

#: The cell names :func:`trace` takes: the study's names, and Keras's class names lowercased.
TRACE_CELLS = {"simple_rnn": "simple_rnn", "simplernn": "simple_rnn", "lstm": "lstm",
               "gru": "gru"}
#: Width of the equation column: the forward's equations, the backward's (longer) ones.
FORWARD_WIDTH, BACKWARD_WIDTH = 27, 34


def _vec(a, blocks=1):
    """``[ 0.1234, -0.5678 | ...]``: 4 decimals, ``|`` between the gates' column blocks."""
    parts = np.split(np.ravel(a), blocks)
    return "[" + " | ".join(", ".join(f"{v:7.4f}" for v in p) for p in parts) + "]"


def _line(name, equation, value, blocks=1, width=FORWARD_WIDTH):
    return f"  {name:<22} {equation:<{width}} = {_vec(value, blocks)}"


def _matrix(name, a, blocks, equation=None, width=FORWARD_WIDTH):
    """A weight matrix (or bias, or their gradient) row by row, gate blocks separated;
    the equation column shows ``equation``, or the shape."""
    rows = a.reshape(-1, a.shape[-1])
    first = f"  {name:<22} {equation or str(a.shape):<{width}} = "
    return [(first if k == 0 else " " * len(first)) + _vec(row, blocks)
            for k, row in enumerate(rows)]


def trace_weights(cell, units, features, seed, reset_after=True):
    """Small round weights (two decimals, in [-0.5, 0.5]) and a bias in ``get_weights`` order."""
    rng = np.random.default_rng(seed)
    gh = N_GATES[cell] * units

    def draw(*shape):
        return np.round(rng.uniform(-0.5, 0.5, shape), 2)

    bias_shape = (2, gh) if (cell == "gru" and reset_after) else (gh,)
    return [draw(features, gh), draw(units, gh), draw(*bias_shape)]


def _simple_rnn_trace(x, weights, H):
    kernel, recurrent_kernel, bias = weights
    zx = common.input_projection(x[0][:, None], kernel, bias, None)   # (T, 1, H), as the op
    h = np.zeros((1, H))
    lines = []
    for t in range(zx.shape[0]):
        a = zx[t] + common.recurrent_projection(h, recurrent_kernel, None)
        h_new, cache = simple_rnn.simple_rnn_step_forward(zx[t], h, recurrent_kernel, None,
                                                          act.TANH)
        lines += [
            f"step {t + 1}",
            _line(f"x_{t + 1}", "input", x[0, t]),
            _line(f"h_{t}", "state entering", cache.h_prev),
            _line("a  pre-activation", "x_t W + h_{t-1} U + b", a),
            _line(f"h_{t + 1}", "tanh(a)", h_new),
        ]
        h = h_new
    return lines, h


def _lstm_trace(x, weights, H):
    kernel, recurrent_kernel, bias = weights
    zx = common.input_projection(x[0][:, None], kernel, bias, None)   # (T, 1, 4H), as the op
    h = c = np.zeros((1, H))
    lines = []
    for t in range(zx.shape[0]):
        z = zx[t] + common.recurrent_projection(h, recurrent_kernel, None)
        h_new, c_new, cache = lstm.lstm_step_forward(zx[t], h, c, recurrent_kernel, None,
                                                     act.TANH, act.SIGMOID)
        i, f, g, o = np.split(cache.gates, 4, axis=1)
        lines += [
            f"step {t + 1}",
            _line(f"x_{t + 1}", "input", x[0, t]),
            _line(f"h_{t}", "state entering", cache.h_prev),
            _line(f"c_{t}", "cell state entering", cache.c_prev),
            _line("z (i|f|c|o)", "x_t W + h_{t-1} U + b", z, 4),
            _line("i  input gate", "σ(z_i)", i),
            _line("f  forget gate", "σ(z_f)", f),
            _line("g  candidate (c block)", "tanh(z_c)", g),
            _line("o  output gate", "σ(z_o)", o),
            _line(f"c_{t + 1}", "f ⊙ c_{t-1} + i ⊙ g", c_new),
            _line(f"h_{t + 1}", "o ⊙ tanh(c_t)", h_new),
        ]
        h, c = h_new, c_new
    return lines, h


def _gru_trace(x, weights, H, reset_after):
    kernel, recurrent_kernel, bias = weights
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, None)
    b_in = "b_in" if reset_after else "b"
    zx = common.input_projection(x[0][:, None], kernel, input_bias, None)   # (T, 1, 3H)
    U_h = recurrent_kernel[:, 2 * H:]
    h = np.zeros((1, H))
    lines = []
    for t in range(zx.shape[0]):
        zh_zr = h @ recurrent_kernel[:, :2 * H]
        if recurrent_bias is not None:
            zh_zr = zh_zr + recurrent_bias[:2 * H]
        h_new, cache = gru.gru_step_forward(zx[t], h, recurrent_kernel, recurrent_bias, None,
                                            reset_after, act.TANH, act.SIGMOID)
        z, r, hh = np.split(cache.gates, 3, axis=1)
        if reset_after:
            candidate = [_line("u", "h_{t-1} U_h + b_rec_h", cache.u),
                         _line("a_h", "zx_h + r ⊙ u", zx[t][:, 2 * H:] + r * cache.u)]
        else:
            candidate = [_line("r ⊙ h_{t-1}", "reset before the product", cache.u),
                         _line("a_h", "zx_h + (r ⊙ h_{t-1}) U_h",
                               zx[t][:, 2 * H:] + cache.u @ U_h)]
        lines += [
            f"step {t + 1}",
            _line(f"x_{t + 1}", "input", x[0, t]),
            _line(f"h_{t}", "state entering", cache.h_prev),
            _line("zx (z|r|h)", f"x_t W + {b_in}", zx[t], 3),
            _line("zh (z|r)", "h_{t-1} U_zr" + (" + b_rec_zr" if reset_after else ""),
                  zh_zr, 2),
            _line("z  update gate", "σ(zx_z + zh_z)", z),
            _line("r  reset gate", "σ(zx_r + zh_r)", r),
            *candidate,
            _line("ĥ  candidate", "tanh(a_h)", hh),
            _line(f"h_{t + 1}", "z ⊙ h_{t-1} + (1 - z) ⊙ ĥ", h_new),
        ]
        h = h_new
    return lines, h


# --- the backward of the same steps -----------------------------------------------------

def step_locals(function, run):
    """Call ``run()``; return its result and, for every call of ``function`` made meanwhile
    (in call order), a pair ``(arguments, local_variables)``: the arguments as the call
    received them, and every local variable as it stood when the call returned.

    The backward trace reads the library's intermediate gradients this way instead of
    recomputing them: a profile hook (:func:`sys.setprofile`, this thread only, the
    previous hook restored) sees each frame of ``function`` begin and end.  ``function``
    must not call itself."""
    code = function.__code__
    calls = []

    def profile(frame, event, arg):
        if frame.f_code is code:
            if event == "call":
                calls.append((dict(frame.f_locals), None))
            elif event == "return":
                calls[-1] = (calls[-1][0], dict(frame.f_locals))

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = run()
    finally:
        sys.setprofile(previous)
    return result, calls


def _library_backward(cell, x, weights, g, reset_after):
    """The library's BPTT of ``L = Σ_t g_t · h_t`` from zero initial states: the sequence
    backward's result (``dx, dh_0, [dc_0,] dW, dU, db``) and, last step first, the
    ``(arguments, locals)`` of each call of the cell's step backward."""
    kernel, recurrent_kernel, bias = weights
    h0 = np.zeros((1, recurrent_kernel.shape[0]))
    if cell == "simple_rnn":
        _, cache = simple_rnn.simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias)
        return step_locals(simple_rnn.simple_rnn_step_backward, lambda: (
            simple_rnn.simple_rnn_backward(g, np.zeros_like(h0), cache, kernel,
                                           recurrent_kernel)))
    if cell == "lstm":
        _, cache = lstm.lstm_forward(x, h0, h0, kernel, recurrent_kernel, bias)
        return step_locals(lstm.lstm_step_backward, lambda: lstm.lstm_backward(
            g, np.zeros_like(h0), np.zeros_like(h0), cache, kernel, recurrent_kernel))
    _, cache = gru.gru_forward(x, h0, kernel, recurrent_kernel, bias, reset_after=reset_after)
    return step_locals(gru.gru_step_backward, lambda: gru.gru_backward(
        g, np.zeros_like(h0), cache, kernel, recurrent_kernel))


def _arriving(k, g_k, dh):
    """The first lines of backward step ``k``: what reaches ``h_k``."""
    return [f"backward step {k}",
            _line(f"g_{k}", "∂L/∂h_t from the loss", g_k, width=BACKWARD_WIDTH),
            _line(f"dh    (dh_{k})", "g_t + what step t+1 sends back", dh,
                  width=BACKWARD_WIDTH)]


def _simple_rnn_backward_lines(k, g_k, arguments, local):
    def line(name, equation, value):
        return _line(name, equation, value, width=BACKWARD_WIDTH)
    return _arriving(k, g_k, arguments["dh"]) + [
        line("da", "dh ⊙ (1 - h_t²)            (tanh')", local["da"]),
        line(f"dh_prev  (dh_{k - 1})", "da Uᵀ", local["dh_prev"]),
    ]


def _lstm_backward_lines(k, g_k, arguments, local):
    def line(name, equation, value):
        return _line(name, equation, value, width=BACKWARD_WIDTH)
    dz_i, dz_f, dz_c, dz_o = np.split(local["dz"], 4, axis=1)
    return _arriving(k, g_k, arguments["dh"]) + [
        line(f"dc in (dc_{k})", "what step t+1 sends back", arguments["dc"]),
        line("do", "dh ⊙ tanh(c_t)", local["do"]),
        line("dc", "dc_t + dh ⊙ o ⊙ (1 - tanh²(c_t))", local["dc"]),
        line("di", "dc ⊙ g", local["di"]),
        line("df", "dc ⊙ c_{t-1}", local["df"]),
        line("dg", "dc ⊙ i", local["dg"]),
        line("dz_i", "di ⊙ i (1 - i)        (σ')", dz_i),
        line("dz_f", "df ⊙ f (1 - f)", dz_f),
        line("dz_c", "dg ⊙ (1 - g²)         (tanh')", dz_c),
        line("dz_o", "do ⊙ o (1 - o)", dz_o),
        line(f"dc_prev  (dc_{k - 1})", "dc ⊙ f", local["dc_prev"]),
        line(f"dh_prev  (dh_{k - 1})", "dz Uᵀ,  dz = [dz_i|dz_f|dz_c|dz_o]", local["dh_prev"]),
    ]


def _gru_backward_lines(k, g_k, arguments, local, reset_after):
    def line(name, equation, value, blocks=1):
        return _line(name, equation, value, blocks, width=BACKWARD_WIDTH)
    if reset_after:
        candidate = [line("dr", "da_h ⊙ u", local["dr"]),
                     line("du", "da_h ⊙ r", local["du"]),
                     line("dh_in", "du U_hᵀ      (h through u)", local["dh_in"])]
    else:
        candidate = [line("du  (d(r ⊙ h_{t-1}))", "da_h U_hᵀ", local["du"]),
                     line("dr", "du ⊙ h_{t-1}", local["dr"]),
                     line("dh_in", "du ⊙ r       (h through r ⊙ h)", local["dh_in"])]
    lines = _arriving(k, g_k, arguments["dh"]) + [
        line("dhh (dĥ)", "dh ⊙ (1 - z)", local["dhh"]),
        line("dz", "dh ⊙ (h_{t-1} - ĥ)", local["dz"]),
        line("da_h", "dĥ ⊙ (1 - ĥ²)          (tanh')", local["da_h"]),
        *candidate,
        line("da_z", "dz ⊙ z (1 - z)         (σ')", local["da_z"]),
        line("da_r", "dr ⊙ r (1 - r)", local["da_r"]),
        line("dzx (z|r|h)", "[da_z | da_r | da_h]", local["dzx"], 3),
    ]
    if reset_after:
        lines.append(line("dzh (z|r|h)", "[da_z | da_r | du]  (meets U)", local["dzh"], 3))
    lines.append(line(f"dh_prev  (dh_{k - 1})", "dh ⊙ z + dh_in + [da_z|da_r] U_zrᵀ",
                      local["dh_prev"]))
    return lines


def _backward_trace(cell, x, weights, g, reset_after):
    """The lines of the backward section, and the library's results (``dx, dh_0, ...``)."""
    T = x.shape[1]
    results, calls = _library_backward(cell, x, weights, g, reset_after)
    lines = [f"backward of L = Σ_t g_t · h_t (g_t weighs the output h_t), step {T} down to 1:",
             f"the values are {cell}_step_backward's own variables in {cell}_backward's loop"]
    for n, (arguments, local) in enumerate(calls):
        k = T - n                                  # the library runs the steps last first
        if cell == "simple_rnn":
            lines += _simple_rnn_backward_lines(k, g[0, k - 1], arguments, local)
        elif cell == "lstm":
            lines += _lstm_backward_lines(k, g[0, k - 1], arguments, local)
        else:
            lines += _gru_backward_lines(k, g[0, k - 1], arguments, local, reset_after)
    dz = {"simple_rnn": "da", "lstm": "dz", "gru": "dzx"}[cell]
    dzh = "dzh" if cell == "gru" and reset_after else dz
    dx, dW, dU, db = results[0], *results[-3:]
    blocks = N_GATES[cell]
    lines.append(f"after the loop: one product each over the {T} steps' {dz} "
                 "(common.input_projection_backward, recurrent_kernel_gradient)")
    lines += _matrix("dW  kernel", dW, blocks, f"Σ_t x_tᵀ {dz}_t", BACKWARD_WIDTH)
    if cell == "gru" and not reset_after:
        equation = "[Σ h_{t-1}ᵀ da_zr | Σ (r⊙h)ᵀ da_h]"
    else:
        equation = f"Σ_t h_{{t-1}}ᵀ {dzh}_t"
    lines += _matrix("dU  recurrent_kernel", dU, blocks, equation, BACKWARD_WIDTH)
    lines += _matrix("db  bias", db, blocks,
                     "[Σ_t dzx_t ; Σ_t dzh_t]" if dzh != dz else f"Σ_t {dz}_t", BACKWARD_WIDTH)
    for k in range(1, T + 1):
        lines.append(_line(f"dx_{k}", f"{dz}_t Wᵀ", dx[0, k - 1], width=BACKWARD_WIDTH))
    return lines, results


def _layer_gradients(cell, units, x, weights, g, reset_after):
    """``[dx, dh_0, (dc_0,) dW, dU, db]`` from the layer: ``backward(g)`` after a call
    with zero initial states (so that their gradients come back), then ``get_gradients``."""
    cls = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
    extra = {"reset_after": reset_after} if cell == "gru" else {}
    layer = cls(units, return_sequences=True, dtype="float64", backend="numpy", **extra)
    layer.set_weights(weights)
    layer(x, initial_state=[np.zeros((1, units)) for _ in layer.state_names])
    dx, d_states = layer.backward(g)
    return [dx, *d_states, *layer.get_gradients()]


def trace(cell, units=2, features=3, steps=2, seed=0, reset_after=True, backward=False):
    """The lines of a step-by-step trace of ``cell`` (``"simple_rnn"`` or ``"simplernn"``,
    ``"lstm"``, ``"gru"``), float64, batch of one, with a check against the layer given the
    same weights; ``backward``: then the backward pass of ``L = Σ_t g_t · h_t``, every
    intermediate gradient of the library's step backward, and a last line checking the
    gradients against the layer's ``backward`` (see the module docstring)."""
    if cell not in TRACE_CELLS:
        raise ValueError(f"`cell` must be one of {tuple(TRACE_CELLS)}, got {cell!r}")
    cell = TRACE_CELLS[cell]
    units = _checks.positive_int(units, "units")
    features = _checks.positive_int(features, "features")
    steps = _checks.positive_int(steps, "steps")
    seed = _checks.non_negative_int(seed, "seed")
    reset_after = _checks.boolean(reset_after, "reset_after")
    backward = _checks.boolean(backward, "backward")
    weights = trace_weights(cell, units, features, seed, reset_after)
    x = np.round(np.random.default_rng([seed, 1]).uniform(-1, 1, (1, steps, features)), 1)

    if cell == "simple_rnn":
        layer = layers.SimpleRNN(units, dtype="float64", backend="numpy")
        header = (f"SimpleRNN, units={units}, features={features}, steps={steps}, "
                  f"seed={seed}: h_t = tanh(x_t W + h_{{t-1}} U + b)")
        body, h = _simple_rnn_trace(x, weights, units)
    elif cell == "lstm":
        layer = layers.LSTM(units, dtype="float64", backend="numpy")
        header = (f"LSTM, units={units}, features={features}, steps={steps}, seed={seed}: "
                  "gates in Keras's order i f c o; σ = sigmoid")
        body, h = _lstm_trace(x, weights, units)
    else:
        layer = layers.GRU(units, reset_after=reset_after, dtype="float64", backend="numpy")
        header = (f"GRU (reset_after={reset_after}), units={units}, features={features}, "
                  f"steps={steps}, seed={seed}: gates in Keras's order z r h; σ = sigmoid")
        body, h = _gru_trace(x, weights, units, reset_after)

    two_rows = cell == "gru" and reset_after
    names = ("W  kernel", "U  recurrent_kernel", "b  bias: b_in; b_rec" if two_rows else "b  bias")
    lines = [header]
    for name, array in zip(names, weights):
        lines += _matrix(name, array, N_GATES[cell])
    lines += body
    layer.set_weights(weights)
    theirs = layer(x)
    verdict = "equal" if np.array_equal(h, theirs) else \
        f"DIFFERENT (max |difference| {np.max(np.abs(h - theirs)):.1e})"
    lines.append(f"check: layers.{type(layer).__name__} with these weights gives "
                 f"h_{steps} = {_vec(theirs)}: {verdict}")
    if backward:
        g = np.round(np.random.default_rng([seed, 2]).uniform(-1, 1, (1, steps, units)), 1)
        back, ours = _backward_trace(cell, x, weights, g, reset_after)
        theirs = _layer_gradients(cell, units, x, weights, g, reset_after)
        names = ["dx", "dh_0", "dc_0"][:len(ours) - 3] + ["dW", "dU", "db"]
        differ = [f"{n} by {np.max(np.abs(a - b)):.1e}"
                  for n, a, b in zip(names, ours, theirs) if not np.array_equal(a, b)]
        verdict = f"DIFFERENT ({', '.join(differ)})" if differ else "equal"
        lines += back
        lines.append(f"check: layers.{type(layer).__name__}(return_sequences=True) with these "
                     f"weights, backward(g) and get_gradients() give {', '.join(names)}: "
                     f"{verdict}")
    return lines


def trace_main(argv=None):
    """``scratchrnn trace``: print :func:`trace`."""
    parser = argparse.ArgumentParser(
        prog="scratchrnn trace",
        description="Run a SimpleRNN, LSTM or GRU over a tiny input with small round weights "
                    "and print every pre-activation, gate and state, each with its equation; "
                    "--backward: then every gradient of the backward pass.")
    parser.add_argument("--cell", choices=("simplernn", "lstm", "gru"), default="lstm",
                        type=lambda name: "simplernn" if name == "simple_rnn" else name,
                        help="the cell (lstm; simple_rnn is accepted for simplernn)")
    parser.add_argument("--backward", action="store_true",
                        help="also the backward pass of L = sum_t g_t . h_t: every "
                             "intermediate gradient, checked against the layer's backward")
    parser.add_argument("--units", type=int, default=2, help="units H (2)")
    parser.add_argument("--features", type=int, default=3, help="input features (3)")
    parser.add_argument("--steps", type=int, default=2, help="timesteps (2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and inputs (0)")
    parser.add_argument("--reset-after", action=argparse.BooleanOptionalAction, default=True,
                        help="GRU: Keras's reset_after (default: on)")
    args = _parsed(parser, argv, ("units", _checks.positive_int),
                   ("features", _checks.positive_int), ("steps", _checks.positive_int),
                   ("seed", _checks.non_negative_int))
    print("\n".join(trace(args.cell, args.units, args.features, args.steps, args.seed,
                          args.reset_after, args.backward)))
    return 0
